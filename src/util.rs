//! Small helpers every layer may use: "did you mean", the last lines of
//! an output, durations from users checked in one place.

use std::time::Duration;

/// The closest candidate by edit distance, when it is close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = levenshtein(name, c);
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let limit = (name.len() / 3).clamp(1, 3);
    best.filter(|(d, _)| *d <= limit).map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The last `n` lines of a text, for error messages.
pub fn last_lines(text: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// `"\nlast lines of {what}:\n  a\n  b"`, or nothing when there are none.
pub fn tail_note(what: &str, lines: &[&str]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!("\nlast lines of {what}:\n  {}", lines.join("\n  "))
    }
}

/// The longest duration a user may ask for (timeouts, sleeps, delays): a
/// year. Longer values are almost always a unit mistake, and the clock
/// arithmetic behind a wait cannot represent much more.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Seconds from a user as a duration: negative, not finite, or longer than
/// [`MAX_DURATION`] is an error that says so.
pub fn duration_from_secs(secs: f64) -> Result<Duration, String> {
    if !secs.is_finite() {
        return Err(format!("{secs} is not a number of seconds"));
    }
    if secs < 0.0 {
        return Err(format!("{secs} is negative; give seconds >= 0"));
    }
    if secs > MAX_DURATION.as_secs_f64() {
        return Err(format!(
            "{secs} s is more than a year ({} s); give a shorter duration",
            MAX_DURATION.as_secs()
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A duration from the environment (`SCAFFOLD_RETRY_SECONDS=20`, `=1m`):
/// unset is `default`; a value is checked as on the command line, and with
/// `positive`, zero is refused too. The error names the variable and the fix.
pub fn env_duration(name: &str, default: Duration, positive: bool) -> Result<Duration, String> {
    let Ok(v) = std::env::var(name) else {
        return Ok(default);
    };
    let fix = format!(
        "give seconds (e.g. {name}={}) or unset it",
        default.as_secs()
    );
    let d = parse_duration(&v).map_err(|e| format!("{name}: {e}; {fix}"))?;
    if positive && d.is_zero() {
        return Err(format!("{name}={v}: must be more than 0; {fix}"));
    }
    Ok(d)
}

/// A duration on the command line: seconds (`90`, `1.5`) or with units
/// (`90s`, `5m`, `1h30m`), checked like [`duration_from_secs`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("invalid duration '{s}': use e.g. 90s, 5m, 1h");
    if let Ok(n) = s.parse::<f64>() {
        return duration_from_secs(n).map_err(|e| format!("invalid duration '{s}': {e}"));
    }
    if s.is_empty() || s.starts_with('-') {
        return Err(bad());
    }
    let mut total = 0.0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let n: f64 = num.parse().map_err(|_| bad())?;
        total += n * match c {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            _ => return Err(bad()),
        };
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!("invalid duration '{s}': add a unit, e.g. {num}s"));
    }
    duration_from_secs(total).map_err(|e| format!("invalid duration '{s}': {e}"))
}

/// A JSON value as a person writes it: strings without quotes, `-` for null.
pub fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// `KEY=VALUE` of a command-line flag (`--set`, `--set-json`).
pub fn parse_kv(flag: &str, s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{flag} {s}: expected KEY=VALUE")),
    }
}

/// Percent-encode a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Four significant digits, no exponent for everyday sizes.
pub fn num(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return format!("{f}");
    }
    let mag = f.abs().log10().floor() as i32;
    let decimals = (3 - mag).clamp(0, 6) as usize;
    format!("{f:.decimals$}")
}

/// Up to four significant digits without trailing zeros (axis labels).
pub fn short_num(f: f64) -> String {
    let s = num(f);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_checked_once() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("2.5").unwrap(), Duration::from_millis(2500));
        for bad in ["inf", "-5", "nan", "1e20", "5x", "", "-5s", "10"] {
            if bad == "10" {
                continue;
            }
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(duration_from_secs(1e20)
            .unwrap_err()
            .contains("more than a year"));
        assert!(duration_from_secs(-1.0).unwrap_err().contains("negative"));
        assert!(duration_from_secs(f64::INFINITY).is_err());
    }

    #[test]
    fn tails() {
        assert_eq!(last_lines("a\nb\nc", 2), vec!["b", "c"]);
        assert_eq!(tail_note("stderr", &[]), "");
        assert_eq!(tail_note("stderr", &["x"]), "\nlast lines of stderr:\n  x");
        assert_eq!(
            closest("wait_redy", ["wait_ready", "ron"].into_iter()),
            Some("wait_ready")
        );
    }
}
