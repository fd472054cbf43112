//! Secret parameters (`--set-secret`): their values are replaced by
//! `<secret>` in everything scaffold writes: terminal lines (command
//! output, `-v` traces, errors), results.json and spilled output files.
//! Scripts still read the real value with `param()`.

use std::sync::RwLock;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// What a secret is shown as.
pub const MASK: &str = "<secret>";

/// Values shorter than this are not masked (masking `1` or `on` would
/// mangle every line); `--set-secret` refuses them.
pub const MIN_LEN: usize = 4;

/// One `--set-secret` argument: `KEY=VALUE`, or `KEY` alone for the value
/// of the environment variable KEY. The value is registered (masked from
/// now on); an empty key, a missing variable or a value too short to mask
/// are errors that say what to do.
pub fn parse_arg(s: &str) -> Result<(String, String), String> {
    let (k, v) = match s.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => (
            s.to_string(),
            std::env::var(s).map_err(|_| {
                format!(
                    "--set-secret {s}: no environment variable {s}; give KEY=VALUE or export {s}"
                )
            })?,
        ),
    };
    if k.is_empty() {
        return Err(format!("--set-secret {s}: expected KEY=VALUE or KEY"));
    }
    if v.len() < MIN_LEN {
        return Err(format!(
            "--set-secret {k}: the value is shorter than {MIN_LEN} characters; masking it would mangle other output, so pass it with --set"
        ));
    }
    register(&v);
    Ok((k, v))
}

/// Remember a value to mask from now on.
pub fn register(value: &str) {
    if value.len() >= MIN_LEN {
        let mut s = SECRETS.write().unwrap();
        if !s.iter().any(|v| v == value) {
            s.push(value.to_string());
            // longer first: a secret that contains another is masked whole
            s.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }
}

/// `text` with every registered secret masked.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let s = SECRETS.read().unwrap();
    if s.is_empty() || !s.iter().any(|v| text.contains(v.as_str())) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for v in s.iter() {
        out = out.replace(v.as_str(), MASK);
    }
    std::borrow::Cow::Owned(out)
}

/// Every string in a JSON value masked.
pub fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            if let std::borrow::Cow::Owned(r) = redact(s) {
                *s = r;
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact_json),
        serde_json::Value::Object(m) => m.values_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_masked_everywhere() {
        register("s3cr3t-token");
        register("ab"); // too short to mask
        assert_eq!(
            redact("curl -H 'Authorization: Bearer s3cr3t-token' x"),
            "curl -H 'Authorization: Bearer <secret>' x"
        );
        assert_eq!(redact("ab cd"), "ab cd");
        let mut j = serde_json::json!({"steps": [{"error": "failed: s3cr3t-token"}], "n": 1});
        redact_json(&mut j);
        assert_eq!(j["steps"][0]["error"], "failed: <secret>");
    }
}
