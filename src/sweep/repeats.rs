//! `scaffold sweep --detect 5%`: how many runs per point a sweep needs. A
//! pilot (the first `--pilot` runs of every point, or the runs a resumed
//! sweep already has) gives each series' spread between runs; the plan is
//! the fewest runs per point with which the report's U test finds a change
//! of that size with 80% power (stats/power.rs), capped by
//! `--max-repeat`. The plan uses the spread only, never the difference
//! between points, and is fixed before the rest of the runs start;
//! nothing stops early (stopping once a difference looks significant
//! would call differences that are not there). The pilot's runs count
//! among the planned ones.

use super::{plan, Detect, PlanMetric, RepeatPlan, SweepFile};
use crate::results::Results;
use crate::stats::power::{pooled_sd, runs_needed};
use std::path::Path;

/// The fewest runs per point that can show a difference at all (the U
/// test's smallest p with 3 a point is 0.1).
pub const MIN_REPEAT: u32 = 4;

/// `--detect 5%` or `--detect 0.05`: the change as a fraction.
pub fn parse_change(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, pct) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("--detect {s}: give a change like 5% (or 0.05)"))?;
    let v = if pct { v / 100.0 } else { v };
    if !(v > 0.0 && v < 10.0) {
        return Err(format!(
            "--detect {s}: the change must be above 0 (e.g. 5%)"
        ));
    }
    Ok(v)
}

/// Per series, per point, the values of its runs.
type PerPoint = Vec<(String, Vec<Vec<f64>>)>;

/// Per series, per point: the median of each finished run's samples; and
/// how many runs gave them.
fn pilot_values(dir: &Path, f: &SweepFile) -> (PerPoint, usize) {
    let points = super::points(&f.grid);
    let mut out: PerPoint = vec![];
    let mut used = 0;
    for r in f.runs.iter().filter(|r| r.status == "ok") {
        let Ok(res) = Results::read(&dir.join(&r.dir).join("results.json")) else {
            continue;
        };
        let Some(pi) = points.iter().position(|p| *p == r.point) else {
            continue;
        };
        used += 1;
        for (name, rec) in &res.records {
            let xs = rec
                .iter_values()
                .filter_map(serde_json::Value::as_f64)
                .collect::<Vec<f64>>();
            if xs.is_empty() || xs.len() != rec.iter_values().count() {
                continue;
            }
            let i = match out.iter().position(|(n, _)| n == name) {
                Some(i) => i,
                None => {
                    out.push((name.clone(), vec![vec![]; points.len()]));
                    out.len() - 1
                }
            };
            out[i].1[pi].push(crate::stats::median(&xs));
        }
    }
    (out, used)
}

/// The plan from the finished runs of the sweep in `dir`.
pub fn make_plan(dir: &Path, f: &SweepFile, d: &Detect) -> Result<RepeatPlan, String> {
    let (values, used) = pilot_values(dir, f);
    let mut metrics = vec![];
    for (name, groups) in values {
        if !d.metrics.is_empty() && !d.metrics.contains(&name) {
            continue;
        }
        let all: Vec<f64> = groups.iter().flatten().copied().collect();
        let Some(sd) = pooled_sd(&groups) else {
            continue;
        };
        let level = crate::stats::median(&all);
        let spreads = if sd > 0.0 {
            d.change * level.abs() / sd
        } else {
            f64::INFINITY
        };
        let needed = if spreads.is_infinite() {
            Some(MIN_REPEAT)
        } else {
            runs_needed(spreads, d.max_repeat as usize).map(|n| n as u32)
        };
        metrics.push(PlanMetric {
            name,
            level,
            sd,
            spreads,
            needed,
        });
    }
    if metrics.is_empty() {
        return Err(format!(
            "cannot plan the repeats: no {} recorded by 2 or more finished runs of a point \
             ({used} pilot run(s) finished); look at the pilot runs, or give --repeat instead",
            if d.metrics.is_empty() {
                "numeric series".to_string()
            } else {
                d.metrics.join(", ")
            }
        ));
    }
    let capped = metrics.iter().any(|m| m.needed.is_none());
    let most = metrics
        .iter()
        .map(|m| m.needed.unwrap_or(d.max_repeat))
        .max()
        .unwrap_or(MIN_REPEAT);
    let repeat = most
        .max(MIN_REPEAT)
        .max(d.pilot)
        .min(d.max_repeat.max(d.pilot));
    let reasoning = reasoning(&metrics, d, repeat, used);
    Ok(RepeatPlan {
        repeat,
        capped,
        from_runs: used,
        metrics,
        reasoning,
    })
}

fn reasoning(metrics: &[PlanMetric], d: &Detect, repeat: u32, used: usize) -> String {
    let mut lines = vec![format!(
        "from {used} pilot run(s): to find a change of {}% with 80% power (U test, alpha 0.05)",
        crate::util::short_num(d.change * 100.0)
    )];
    for m in metrics {
        let need = match m.needed {
            Some(n) => format!("{n} runs a point"),
            None => format!("more than {} runs a point (--max-repeat)", d.max_repeat),
        };
        lines.push(format!(
            "  {}: level {}, spread {} between runs: the change is {} spreads: {need}",
            m.name,
            crate::util::num(m.level),
            crate::util::num(m.sd),
            if m.spreads.is_finite() {
                crate::util::num(m.spreads)
            } else {
                "many".into()
            }
        ));
    }
    lines.push(format!(
        "plan: {repeat} runs a point (the most any series needs, at least {MIN_REPEAT}), fixed \
         now; the pilot's runs count among them; nothing stops early"
    ));
    lines.join("\n")
}

/// Add the runs of repeats up to `n` of every point, in the sweep's order.
pub fn extend(f: &mut SweepFile, n: u32) {
    let have = f.repeat;
    let start = f.runs.len();
    let more = plan(&f.grid, n, f.order, f.seed)
        .into_iter()
        .filter(|r| r.repeat > have)
        .enumerate()
        .map(|(i, mut r)| {
            r.index = start + i + 1;
            r.dir = format!("run-{:03}", start + i + 1);
            r
        });
    f.runs.extend(more);
    f.repeat = f.repeat.max(n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_parse() {
        assert_eq!(parse_change("5%").unwrap(), 0.05);
        assert_eq!(parse_change("0.05").unwrap(), 0.05);
        assert!(parse_change("five").unwrap_err().contains("5%"));
        assert!(parse_change("0%").is_err());
    }

    #[test]
    fn extending_continues_the_order() {
        let grid = vec![super::super::parse_axis("m=a,b").unwrap()];
        let mut f: SweepFile = serde_json::from_value(serde_json::json!({
            "schema": 1, "script": "s", "created": "x", "grid": grid, "repeat": 3,
            "order": "interleaved", "seed": 1, "params": {}, "args": [], "runs": []}))
        .unwrap();
        f.runs = plan(&f.grid, 3, f.order, f.seed);
        extend(&mut f, 5);
        assert_eq!(f.repeat, 5);
        assert_eq!(f.runs.len(), 10);
        let tail: Vec<String> = f.runs[6..]
            .iter()
            .map(|r| format!("{}#{}@{}", super::super::label(&r.point), r.repeat, r.dir))
            .collect();
        assert_eq!(
            tail,
            [
                "m=a#4@run-007",
                "m=b#4@run-008",
                "m=a#5@run-009",
                "m=b#5@run-010"
            ]
        );
    }
}
