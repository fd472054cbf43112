//! `scaffold report --remote-write URL`: the runs' records as Prometheus
//! time series. Each record becomes `scaffold_<record>` (its samples at
//! the times they were recorded) and `scaffold_<record>_summary{stat=..}`
//! (n, mean, min, p50, p90, p99, max at the run's end), labelled with the
//! run, the scenario, the run's parameters and the record's tags. The wire
//! format is net/remote_write.rs; docs/metrics.md says how to read it back.

use crate::net::remote_write::Series;
use crate::results::{Record, Results};
use crate::stats::Summary;
use serde_json::Value;

/// Labels scaffold sets itself: a parameter or tag of the same name is
/// written as `param_<name>` / `tag_<name>`.
const OWN_LABELS: &[&str] = &["run", "scenario", "stat", "unit"];

/// Summary statistics written per record.
const STATS: &[&str] = &["n", "mean", "min", "p50", "p90", "p99", "max"];

/// A Prometheus metric or label name: `[a-zA-Z_][a-zA-Z0-9_]*` (other
/// characters become `_`).
pub fn label_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// `--label k=v` pairs, checked: valid names, none that scaffold sets.
pub fn parse_labels(args: &[String]) -> Result<Vec<(String, String)>, String> {
    args.iter()
        .map(|a| {
            let (k, v) = a
                .split_once('=')
                .ok_or_else(|| format!("--label {a}: expected NAME=VALUE"))?;
            if label_name(k) != k || k.starts_with("__") {
                return Err(format!(
                    "--label {a}: '{k}' is not a Prometheus label name; use letters, digits and _ (not leading __)"
                ));
            }
            if OWN_LABELS.contains(&k) {
                return Err(format!(
                    "--label {a}: scaffold sets '{k}' itself; choose another name"
                ));
            }
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

/// The scenario's name: the script's file name, or its directory's for
/// `main.rhai` (`scenarios/xdp/main.rhai` is `xdp`).
pub fn scenario(script: &str) -> String {
    let p = std::path::Path::new(script);
    let stem = p.file_stem().map(|s| s.to_string_lossy().to_string());
    match (stem.as_deref(), p.parent().and_then(|d| d.file_name())) {
        (Some("main"), Some(dir)) => dir.to_string_lossy().to_string(),
        (Some(s), _) => s.to_string(),
        _ => script.to_string(),
    }
}

/// A run's labels: run id, scenario, its parameters and the extra labels.
fn run_labels(run: &str, r: &Results, extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut l = vec![
        ("run".to_string(), run.to_string()),
        ("scenario".to_string(), scenario(&r.script)),
    ];
    for (k, v) in &r.params {
        let mut name = label_name(k);
        if OWN_LABELS.contains(&name.as_str()) || name.starts_with("__") {
            name = format!("param_{}", name.trim_start_matches('_'));
        }
        l.push((name, crate::util::plain(v)));
    }
    l.extend(extra.iter().cloned());
    l
}

/// Add a label unless one of that name is there (then as `tag_<name>`).
fn add_tag(labels: &mut Vec<(String, String)>, k: &str, v: &Value) {
    let mut name = label_name(k);
    if labels.iter().any(|(n, _)| *n == name) || name.starts_with("__") {
        name = format!("tag_{}", name.trim_start_matches('_'));
    }
    labels.push((name, crate::util::plain(v)));
}

/// Unix milliseconds of the run's end (start + duration for a run that
/// never wrote its end; its start when it has neither).
pub fn end_ms(r: &Results) -> Option<i64> {
    let ms = |s: &str| {
        s.parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond())
    };
    if let Some(e) = r.end.as_deref().and_then(ms) {
        return Some(e);
    }
    let start = ms(&r.start)?;
    Some(start + (r.duration.unwrap_or(0.0) * 1000.0) as i64)
}

/// A record's numeric samples at their recorded times (all at `end` when
/// the file has no times), sorted by time; samples recorded at the same
/// millisecond are spread 1 ms apart in recording order, since Prometheus
/// keeps one value per series and millisecond.
fn timed_samples(rec: &Record, end: i64) -> Vec<(i64, f64)> {
    let mut xs: Vec<(i64, f64)> = match rec.timed_values() {
        Some(it) => it.filter_map(|(t, v)| Some((t, v.as_f64()?))).collect(),
        None => rec
            .iter_values()
            .filter_map(|v| Some((end, v.as_f64()?)))
            .collect(),
    };
    xs.sort_by_key(|(t, _)| *t);
    for i in 1..xs.len() {
        if xs[i].0 <= xs[i - 1].0 {
            xs[i].0 = xs[i - 1].0 + 1;
        }
    }
    xs
}

/// The series of one run: per numeric record, its samples and summary.
pub fn run_series(run: &str, r: &Results, extra: &[(String, String)]) -> Vec<Series> {
    let base = run_labels(run, r, extra);
    let Some(end) = end_ms(r) else {
        return vec![];
    };
    let mut out = vec![];
    for (name, rec) in &r.records {
        let samples = timed_samples(rec, end);
        if samples.is_empty() {
            continue;
        }
        let metric = format!("scaffold_{}", label_name(name));
        let mut labels = base.clone();
        if let Some(u) = &rec.unit {
            labels.push(("unit".into(), u.clone()));
        }
        for (k, v) in &rec.tags {
            add_tag(&mut labels, k, v);
        }
        let xs: Vec<f64> = samples.iter().map(|(_, x)| *x).collect();
        let with_name = |n: &str, more: Option<(&str, &str)>| {
            let mut l = vec![("__name__".to_string(), n.to_string())];
            l.extend(labels.iter().cloned());
            l.extend(more.map(|(k, v)| (k.to_string(), v.to_string())));
            l
        };
        // the summary stands at the run's end, or just after its last sample
        let at = end.max(samples[samples.len() - 1].0);
        out.push(Series {
            labels: with_name(&metric, None),
            samples,
        });
        if let Some(s) = Summary::of(&xs) {
            let values = [s.n as f64, s.mean, s.min, s.p50, s.p90, s.p99, s.max];
            for (stat, v) in STATS.iter().zip(values) {
                out.push(Series {
                    labels: with_name(&format!("{metric}_summary"), Some(("stat", stat))),
                    samples: vec![(at, v)],
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run() -> Results {
        let mut r = Results::new("scenarios/xdp/main.rhai", Default::default(), vec![]);
        r.params.insert("mode".into(), json!("xdp"));
        r.params.insert("run".into(), json!(3));
        r.end = Some("2026-12-01T10:00:00Z".into());
        r
    }

    fn label<'a>(s: &'a Series, k: &str) -> Option<&'a str> {
        s.labels
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn records_become_named_labelled_series_with_summaries() {
        let mut r = run();
        let mut tags = serde_json::Map::new();
        tags.insert("instance".into(), json!("n1:9100"));
        tags.insert("mode".into(), json!("x"));
        r.record_timed(
            "rr.latency",
            vec![(1000, json!(2.0)), (1000, json!(4.0)), (3000, json!("n/a"))],
            Some("us".into()),
            tags,
        );
        let s = run_series("r1", &r, &[("site".into(), "lab".into())]);
        assert_eq!(s.len(), 1 + STATS.len());
        let raw = &s[0];
        assert_eq!(label(raw, "__name__"), Some("scaffold_rr_latency"));
        assert_eq!(label(raw, "scenario"), Some("xdp"));
        assert_eq!(label(raw, "run"), Some("r1"));
        assert_eq!(label(raw, "param_run"), Some("3"));
        assert_eq!(label(raw, "mode"), Some("xdp"));
        assert_eq!(label(raw, "tag_mode"), Some("x"));
        assert_eq!(label(raw, "instance"), Some("n1:9100"));
        assert_eq!(label(raw, "unit"), Some("us"));
        assert_eq!(label(raw, "site"), Some("lab"));
        // same millisecond: 1 ms apart; the string is not a number
        assert_eq!(raw.samples, vec![(1000, 2.0), (1001, 4.0)]);
        let p99 = s.iter().find(|x| label(x, "stat") == Some("p99")).unwrap();
        assert_eq!(label(p99, "__name__"), Some("scaffold_rr_latency_summary"));
        let end = end_ms(&r).unwrap();
        assert_eq!(p99.samples[0].0, end);
        assert!((p99.samples[0].1 - 3.98).abs() < 1e-9);
    }

    #[test]
    fn files_without_times_stand_at_the_runs_end() {
        let mut r = run();
        r.records.insert(
            "x".into(),
            Record {
                samples: Some(vec![json!(1), json!(2)]),
                ..Default::default()
            },
        );
        let s = run_series("r", &r, &[]);
        let end = end_ms(&r).unwrap();
        assert_eq!(s[0].samples, vec![(end, 1.0), (end + 1, 2.0)]);
    }

    #[test]
    fn names_and_labels_are_checked() {
        assert_eq!(label_name("pod-latency.p99"), "pod_latency_p99");
        assert_eq!(label_name("9x"), "_9x");
        assert_eq!(scenario("bench/pods.rhai"), "pods");
        assert!(parse_labels(&["run=1".into()])
            .unwrap_err()
            .contains("itself"));
        assert!(parse_labels(&["a-b=1".into()])
            .unwrap_err()
            .contains("label name"));
        assert!(parse_labels(&["nolabel".into()])
            .unwrap_err()
            .contains("NAME=VALUE"));
        assert_eq!(
            parse_labels(&["site=lab".into()]).unwrap(),
            vec![("site".into(), "lab".into())]
        );
    }
}
