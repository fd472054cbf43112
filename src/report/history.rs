//! `scaffold report --history DIR...`: many runs of one scenario (nightly
//! runs) in time order, one value per run and metric, and the runs where a
//! metric's level changed, with what differs in their environments.
//!
//! The method: binary segmentation with a permutation test, in the spirit
//! of E-divisive (Orion, MongoDB's signal processing) but on the mean. In a
//! stretch of runs, the split with the largest standardised shift of the
//! mean, |mean(left) - mean(right)| * sqrt(nl * nr / n), is the candidate;
//! the stretch's values are shuffled 999 times (fixed seed) and the
//! candidate stands when fewer than 1% of the shuffles give as large a
//! largest shift (p < 0.01). Both sides are then searched again. Each
//! side of a change holds at least 4 runs.

use super::{numbers, sweep::run_value, Run};
use crate::results::Results;
use crate::stats::Rng;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;

/// Shuffles per test.
pub const PERMUTATIONS: usize = 999;
/// A change stands below this p.
pub const ALPHA: f64 = 0.01;
/// Runs each side of a change needs at least.
pub const MIN_SIDE: usize = 4;

/// A change of level between `index - 1` and `index`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// the first value at the new level
    pub index: usize,
    /// means of the stretches before and after (up to the next change)
    pub before: f64,
    pub after: f64,
    pub p: f64,
}

/// The largest standardised mean shift of `xs` and where: (split, stat).
fn best_split(xs: &[f64], min_side: usize) -> Option<(usize, f64)> {
    let n = xs.len();
    if n < 2 * min_side {
        return None;
    }
    let total: f64 = xs.iter().sum();
    let mut left = 0.0;
    let mut best: Option<(usize, f64)> = None;
    for (k, x) in xs.iter().enumerate().take(n - min_side) {
        left += x;
        let nl = k + 1;
        if nl < min_side {
            continue;
        }
        let nr = n - nl;
        let d = (left / nl as f64 - (total - left) / nr as f64).abs();
        let stat = d * ((nl * nr) as f64 / n as f64).sqrt();
        if best.is_none_or(|(_, b)| stat > b) {
            best = Some((nl, stat));
        }
    }
    best
}

/// The change points of `xs`, in order (see the module's method).
pub fn change_points(xs: &[f64]) -> Vec<Change> {
    let mut rng = Rng::new(0xC4A_96E5);
    let mut found: Vec<(usize, f64)> = vec![];
    let mut todo = vec![(0usize, xs.len())];
    let mut shuffled = vec![];
    while let Some((a, b)) = todo.pop() {
        let seg = &xs[a..b];
        let Some((k, stat)) = best_split(seg, MIN_SIDE) else {
            continue;
        };
        shuffled.clear();
        shuffled.extend_from_slice(seg);
        let mut as_large = 0usize;
        for _ in 0..PERMUTATIONS {
            // Fisher-Yates
            for i in (1..shuffled.len()).rev() {
                shuffled.swap(i, rng.below(i + 1));
            }
            if best_split(&shuffled, MIN_SIDE).is_some_and(|(_, s)| s >= stat) {
                as_large += 1;
            }
        }
        let p = (as_large + 1) as f64 / (PERMUTATIONS + 1) as f64;
        if p < ALPHA {
            found.push((a + k, p));
            todo.push((a, a + k));
            todo.push((a + k, b));
        }
    }
    found.sort_by_key(|(i, _)| *i);
    let bounds: Vec<usize> = std::iter::once(0)
        .chain(found.iter().map(|(i, _)| *i))
        .chain(std::iter::once(xs.len()))
        .collect();
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len().max(1) as f64;
    found
        .iter()
        .enumerate()
        .map(|(j, (i, p))| Change {
            index: *i,
            before: mean(&xs[bounds[j]..bounds[j + 1]]),
            after: mean(&xs[bounds[j + 1]..bounds[j + 2]]),
            p: *p,
        })
        .collect()
}

/// One metric's history: the runs that have it (indices into the runs),
/// their values, and the changes (indices into those values).
pub struct Metric {
    pub name: String,
    pub unit: Option<String>,
    pub runs: Vec<usize>,
    pub values: Vec<f64>,
    pub changes: Vec<Change>,
}

/// The runs in the order they started, and every numeric metric's history
/// (`only`: these metrics); `stat` turns a run's series into its value.
pub fn analyse(runs: &mut [Run], only: &[String], stat: &str) -> Vec<Metric> {
    runs.sort_by(|a, b| a.results.start.cmp(&b.results.start));
    let mut out = vec![];
    for name in super::metric_names(runs) {
        if !super::is_numeric(runs, &name) || (!only.is_empty() && !only.contains(&name)) {
            continue;
        }
        let mut m = Metric {
            unit: None,
            runs: vec![],
            values: vec![],
            changes: vec![],
            name,
        };
        for (i, r) in runs.iter().enumerate() {
            let Some(rec) = r.results.records.get(&m.name) else {
                continue;
            };
            if let Some(v) = run_value(&numbers(rec), stat) {
                m.unit = m.unit.or(rec.unit.clone());
                m.runs.push(i);
                m.values.push(v);
            }
        }
        m.changes = change_points(&m.values);
        out.push(m);
    }
    out
}

/// The environment fields that differ between two runs: (field, a, b).
pub fn env_diff(a: &Results, b: &Results) -> Vec<(String, String, String)> {
    let (ea, eb) = (super::flat_environment(a), super::flat_environment(b));
    let mut keys: Vec<&String> = ea.iter().chain(&eb).map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    let get = |e: &[(String, String)], k: &str| {
        e.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or("-".into())
    };
    keys.into_iter()
        .map(|k| (k.clone(), get(&ea, k), get(&eb, k)))
        .filter(|(_, x, y)| x != y)
        .collect()
}

/// The text report.
pub fn render(runs: &[Run], metrics: &[Metric], stat: &str) -> String {
    let mut out = String::new();
    let span = match (runs.first(), runs.last()) {
        (Some(a), Some(b)) => format!("{} – {}", a.results.start, b.results.start),
        _ => "-".into(),
    };
    let _ = writeln!(
        out,
        "history of {} runs, {span} (one value per run: its {stat})\n\
         method: binary segmentation, permutation test of the largest mean shift \
         ({PERMUTATIONS} shuffles, p < {ALPHA}, at least {MIN_SIDE} runs a side)",
        runs.len()
    );
    for m in metrics {
        let unit = m
            .unit
            .as_ref()
            .map(|u| format!(" ({u})"))
            .unwrap_or_default();
        if m.changes.is_empty() {
            let _ = writeln!(
                out,
                "\n{}{unit}: no change in {} runs",
                m.name,
                m.values.len()
            );
            continue;
        }
        let _ = writeln!(
            out,
            "\n{}{unit}: {} change(s) in {} runs",
            m.name,
            m.changes.len(),
            m.values.len()
        );
        for c in &m.changes {
            let (prev, at) = (&runs[m.runs[c.index - 1]], &runs[m.runs[c.index]]);
            let _ = writeln!(
                out,
                "  at {} (run {} of {}, {}): mean {} -> {} ({}), p {:.3}",
                name_of(at),
                c.index + 1,
                m.values.len(),
                at.results.start,
                super::num(c.before),
                super::num(c.after),
                pct(c.before, c.after),
                c.p
            );
            let diff = env_diff(&prev.results, &at.results);
            if diff.is_empty() {
                let _ = writeln!(out, "    environment as the run before");
            }
            for (k, a, b) in diff {
                let _ = writeln!(out, "    {k}: {a} -> {b}");
            }
        }
    }
    out
}

/// A run by its directory's name (its label when it has none).
fn name_of(r: &Run) -> String {
    super::run_dir_name(&r.path).unwrap_or_else(|| r.label.clone())
}

fn pct(a: f64, b: f64) -> String {
    if a == 0.0 {
        return "-".into();
    }
    format!("{:+.1}%", (b - a) / a.abs() * 100.0)
}

/// `-o json`.
pub fn to_json(runs: &[Run], metrics: &[Metric], stat: &str) -> Value {
    let mut ms = serde_json::Map::new();
    for m in metrics {
        let changes: Vec<Value> = m
            .changes
            .iter()
            .map(|c| {
                let (prev, at) = (&runs[m.runs[c.index - 1]], &runs[m.runs[c.index]]);
                let env: serde_json::Map<String, Value> = env_diff(&prev.results, &at.results)
                    .into_iter()
                    .map(|(k, a, b)| (k, serde_json::json!([a, b])))
                    .collect();
                serde_json::json!({"run": name_of(at), "path": at.path.display().to_string(),
                    "start": at.results.start, "index": c.index, "before": c.before,
                    "after": c.after, "p": c.p, "environment": env})
            })
            .collect();
        ms.insert(
            m.name.clone(),
            serde_json::json!({"unit": m.unit, "n": m.values.len(), "values": m.values, "changes": changes}),
        );
    }
    serde_json::json!({"runs": runs.len(), "stat": stat, "method": {
        "name": "binary segmentation, permutation test of the largest standardised mean shift",
        "permutations": PERMUTATIONS, "alpha": ALPHA, "min_side": MIN_SIDE}, "metrics": ms})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seeded noise around a level.
    fn noise(n: usize, level: f64, seed: u64) -> Vec<f64> {
        let mut r = Rng::new(seed);
        (0..n)
            .map(|_| level + (r.below(1000) as f64 / 1000.0 - 0.5) * 0.2)
            .collect()
    }

    #[test]
    fn a_step_is_found_where_it_is() {
        let mut xs = noise(60, 10.0, 1);
        xs.extend(noise(40, 9.5, 2));
        let c = change_points(&xs);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].index, 60);
        assert!((c[0].before - 10.0).abs() < 0.05 && (c[0].after - 9.5).abs() < 0.05);
        assert!(c[0].p < ALPHA);
    }

    #[test]
    fn two_steps_are_both_found() {
        let mut xs = noise(30, 10.0, 3);
        xs.extend(noise(30, 11.0, 4));
        xs.extend(noise(30, 10.0, 5));
        let idx: Vec<usize> = change_points(&xs).iter().map(|c| c.index).collect();
        assert_eq!(idx, vec![30, 60]);
    }

    /// Without a step, no change over many seeded histories but the
    /// test's own false-positive rate (about 1% each).
    #[test]
    fn noise_alone_is_no_change() {
        let flagged = (0..50)
            .filter(|s| !change_points(&noise(80, 10.0, 100 + s)).is_empty())
            .count();
        assert!(flagged <= 3, "{flagged} of 50 flat histories flagged");
    }

    #[test]
    fn short_histories_have_none() {
        assert!(change_points(&[1.0, 5.0, 1.0, 5.0, 9.0]).is_empty());
    }
}
