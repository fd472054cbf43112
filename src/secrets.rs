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
        None => (s.to_string(), from_parent(s).or_else(|| std::env::var(s).ok()).ok_or_else(|| {
            format!("--set-secret {s}: no environment variable {s}; give KEY=VALUE or export {s}")
        })?),
    };
    if k.is_empty() {
        return Err(format!("--set-secret {s}: expected KEY=VALUE or KEY"));
    }
    if RESERVED.contains(&k.as_str()) {
        return Err(format!(
            "--set-secret {k}: {k} is a variable scaffold sets for the commands it runs; give the secret another name"
        ));
    }
    if v.len() < MIN_LEN {
        return Err(format!(
            "--set-secret {k}: the value is shorter than {MIN_LEN} characters; masking it would mangle other output, so pass it with --set"
        ));
    }
    register(&v);
    Ok((k, v))
}

/// Names a secret cannot have: the environment scaffold sets (or relies
/// on) for the commands it runs.
pub const RESERVED: &[&str] = &[
    "PATH",
    "HOME",
    "KUBECONFIG",
    "SCAFFOLD_CONTEXT",
    "REGISTRY",
    SECRETS_FILE,
];

/// The variable that names the file through which a sweep hands its
/// secrets to a run (never the secrets themselves: every command the run
/// starts would inherit them).
pub const SECRETS_FILE: &str = "SCAFFOLD_SECRETS_FILE";

/// Write `secrets` to a new private file (0600) for a child scaffold,
/// which reads it and removes it; the file goes when the path is dropped
/// if the child never read it.
pub fn handoff(secrets: &[(String, String)]) -> std::io::Result<tempfile::TempPath> {
    let f = tempfile::Builder::new()
        .prefix("scaffold-secrets-")
        .tempfile()?;
    let map: serde_json::Map<String, serde_json::Value> = secrets
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    std::fs::write(f.path(), serde_json::to_vec(&map)?)?;
    Ok(f.into_temp_path())
}

/// A secret handed over by the parent sweep (read once, file removed).
fn from_parent(key: &str) -> Option<String> {
    static HANDED: std::sync::OnceLock<serde_json::Map<String, serde_json::Value>> =
        std::sync::OnceLock::new();
    let m = HANDED.get_or_init(|| {
        let Ok(path) = std::env::var(SECRETS_FILE) else {
            return Default::default();
        };
        let text = std::fs::read(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        serde_json::from_slice(&text).unwrap_or_default()
    });
    m.get(key)?.as_str().map(str::to_string)
}

/// Remember a value to mask from now on, with the forms it travels in:
/// base64 (Kubernetes Secret data, basic auth) and percent-encoded (URLs).
pub fn register(value: &str) {
    if value.len() < MIN_LEN {
        return;
    }
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(value);
    let forms = [
        value.to_string(),
        b64.trim_end_matches('=').to_string(),
        b64.clone(),
        percent_encoded(value),
    ];
    let mut s = SECRETS.write().unwrap();
    for f in forms {
        if !s.contains(&f) {
            s.push(f);
        }
    }
    // longer first: a secret that contains another is masked whole
    s.sort_by_key(|v| std::cmp::Reverse(v.len()));
}

/// `value` as a URL component (RFC 3986 unreserved characters kept).
fn percent_encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
