//! Commands other than `script`, `repl`, `check` and `docs`: thin layers
//! over the same functions scripts call.

pub mod apply;
pub mod lazyget;
pub mod ron;
pub mod verify;

use crate::k8s::client::{Cluster, Target};
use crate::k8s::kubeconfig::KubeOptions;

/// Connect to the cluster of the global flags.
pub async fn connect(opts: &KubeOptions) -> Result<Cluster, String> {
    let t = Target::resolve(opts)?;
    crate::k8s::client::connect(&t).await
}

/// `90s`, `5m`, `1h`, `1h30m`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<f64>() {
        return Ok(std::time::Duration::from_secs_f64(n.max(0.0)));
    }
    let mut total = 0.0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let n: f64 = num
            .parse()
            .map_err(|_| format!("invalid duration '{s}': use e.g. 90s, 5m, 1h"))?;
        total += n * match c {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            _ => return Err(format!("invalid duration '{s}': use e.g. 90s, 5m, 1h")),
        };
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!("invalid duration '{s}': add a unit, e.g. {num}s"));
    }
    Ok(std::time::Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("5m").unwrap().as_secs(), 300);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("12").unwrap().as_secs(), 12);
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("5m3").is_err());
    }
}
