//! `scaffold report SWEEP_DIR`: the runs of a sweep grouped by grid point.
//! As benchstat does, each run gives one value per metric (the run's median
//! of that series, or `--stat`), so samples of different runs are never
//! pooled into one test; per group: n (runs), median and its 95% interval;
//! per pair of groups (or against `--baseline`): the change of the median
//! with a bootstrap interval and the Mann–Whitney U test's p-value
//! (stats/compare.rs).

pub use super::parse_point;
use super::{num, numbers, Threshold};
use crate::results::Results;
use crate::stats::compare::{change_ci, mann_whitney, UTest, ALPHA};
use crate::stats::Summary;
use crate::stats::{median_ci, MedianCi};
use crate::sweep::{label, SweepFile};
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Statistics that turn a run's series into its one value.
pub const RUN_STATS: &[&str] = &["median", "mean", "p90", "p95", "p99", "min", "max", "last"];

/// A grid point and the runs that finished there.
pub struct Group {
    pub point: Map<String, Value>,
    pub label: String,
    pub runs: Vec<(String, Results)>,
}

/// A sweep read from disk.
pub struct Sweep {
    pub dir: PathBuf,
    pub file: SweepFile,
    pub groups: Vec<Group>,
    /// runs left out: (run dir, status)
    pub excluded: Vec<(String, String)>,
    /// the statistic of each run's series
    pub stat: String,
    /// metric -> per group, the one value of each run (computed once)
    per_run: std::collections::HashMap<String, Vec<Vec<f64>>>,
    names: Vec<String>,
}

/// Is `dir` a sweep directory?
pub fn is_sweep(dir: &Path) -> bool {
    dir.is_dir() && SweepFile::path(dir).is_file()
}

pub fn load(dir: &Path, stat: &str) -> Result<Sweep, String> {
    if !RUN_STATS.contains(&stat) {
        return Err(format!(
            "--stat {stat}: unknown; use one of {}",
            RUN_STATS.join(", ")
        ));
    }
    let file = SweepFile::read(dir)?;
    let mut groups: Vec<Group> = crate::sweep::points(&file.grid)
        .into_iter()
        .map(|p| Group {
            label: label(&p),
            point: p,
            runs: vec![],
        })
        .collect();
    let mut excluded = vec![];
    for r in &file.runs {
        if r.status != "ok" {
            excluded.push((r.dir.clone(), r.status.clone()));
            continue;
        }
        let path = dir.join(&r.dir).join("results.json");
        match Results::read(&path) {
            Ok(res) => {
                if let Some(g) = groups.iter_mut().find(|g| g.point == r.point) {
                    g.runs.push((r.dir.clone(), res));
                }
            }
            Err(_) => excluded.push((r.dir.clone(), "no results.json".into())),
        }
    }
    let mut s = Sweep {
        dir: dir.to_path_buf(),
        file,
        groups,
        excluded,
        stat: stat.to_string(),
        per_run: Default::default(),
        names: vec![],
    };
    s.names = s.scan_metrics();
    for m in s.metrics() {
        let v: Vec<Vec<f64>> = s
            .groups
            .iter()
            .map(|g| {
                g.runs
                    .iter()
                    .filter_map(|(_, r)| r.records.get(&m))
                    .filter_map(|rec| run_value(&numbers(rec), stat))
                    .collect()
            })
            .collect();
        s.per_run.insert(m, v);
    }
    Ok(s)
}

/// The one value of a run's record.
pub(crate) fn run_value(xs: &[f64], stat: &str) -> Option<f64> {
    Some(super::stat_value(&Summary::of(xs)?, xs, stat))
}

impl Sweep {
    /// Numeric records, in first-seen order.
    pub fn metrics(&self) -> Vec<String> {
        self.names.clone()
    }

    fn scan_metrics(&self) -> Vec<String> {
        let mut names: Vec<String> = vec![];
        for g in &self.groups {
            for (_, r) in &g.runs {
                for (k, rec) in &r.records {
                    let numeric = rec.iter_values().next().is_some()
                        && rec.iter_values().all(Value::is_number);
                    if numeric && !names.contains(k) {
                        names.push(k.clone());
                    }
                }
            }
        }
        names
    }

    fn unit(&self, metric: &str) -> Option<String> {
        self.groups
            .iter()
            .flat_map(|g| &g.runs)
            .filter_map(|(_, r)| r.records.get(metric))
            .find_map(|r| r.unit.clone())
    }

    /// One value per run of group `gi` that recorded `metric`.
    pub fn values(&self, gi: usize, metric: &str) -> Vec<f64> {
        self.per_run
            .get(metric)
            .and_then(|v| v.get(gi))
            .cloned()
            .unwrap_or_default()
    }

    /// The pairs to compare: each group against its baseline (the group at
    /// the same point with the baseline's values), else every pair.
    pub fn pairs(
        &self,
        baseline: Option<&Map<String, Value>>,
    ) -> Result<Vec<(usize, usize)>, String> {
        let n = self.groups.len();
        let Some(b) = baseline else {
            return Ok((0..n)
                .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
                .collect());
        };
        for (k, v) in b {
            let axis = self.file.grid.iter().find(|a| &a.key == k).ok_or_else(|| {
                format!(
                    "--baseline {k}=...: {k} is not a grid parameter of this sweep ({})",
                    self.file
                        .grid
                        .iter()
                        .map(|a| a.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            let v = super::plain(v);
            if !axis.values.contains(&v) {
                return Err(format!(
                    "--baseline {k}={v}: not one of the sweep's values ({})",
                    axis.values.join(", ")
                ));
            }
        }
        let mut out = vec![];
        for (j, g) in self.groups.iter().enumerate() {
            if b.iter().all(|(k, v)| g.point.get(k) == Some(v)) {
                continue; // a baseline itself
            }
            let mut want = g.point.clone();
            for (k, v) in b {
                want.insert(k.clone(), v.clone());
            }
            if let Some(i) = self.groups.iter().position(|x| x.point == want) {
                out.push((i, j));
            }
        }
        Ok(out)
    }
}

/// One comparison of two groups for a metric.
struct Cmp {
    base: usize,
    other: usize,
    change: Option<(f64, f64, f64)>,
    test: Option<UTest>,
    /// the smallest change (a fraction of the base's median) these runs
    /// find with 80% power, from their pooled spread (stats/power.rs)
    detectable: Option<f64>,
}

/// The smallest change of the median, as a fraction of the base's, that
/// groups of these runs find with 80% power (infinite: never).
fn detectable(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let sd = crate::stats::power::pooled_sd(&[a.to_vec(), b.to_vec()])?;
    let base = crate::stats::median(a);
    (base != 0.0).then(|| crate::stats::power::detectable(a.len().min(b.len())) * sd / base.abs())
}

impl Cmp {
    fn verdict(&self) -> &'static str {
        match &self.test {
            None => "not recorded in both",
            Some(t) if !t.can_tell() => "too few runs to tell",
            Some(t) if t.p >= ALPHA => "no significant difference",
            Some(_) => "significant",
        }
    }
}

fn compare(s: &Sweep, metric: &str, pairs: &[(usize, usize)]) -> Vec<Cmp> {
    pairs
        .iter()
        .map(|&(i, j)| {
            let a = s.values(i, metric);
            let b = s.values(j, metric);
            Cmp {
                base: i,
                other: j,
                change: change_ci(&a, &b),
                test: mann_whitney(&a, &b),
                detectable: detectable(&a, &b),
            }
        })
        .collect()
}

fn pct(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}

fn ci_text(m: &MedianCi) -> String {
    let mut s = format!("[{}, {}]", num(m.lo), num(m.hi));
    if m.level < 0.95 {
        let _ = write!(s, " ({:.1}%)", m.level * 100.0);
    }
    s
}

/// The text report of a sweep.
pub fn render(s: &Sweep, baseline: Option<&Map<String, Value>>) -> Result<String, String> {
    let pairs = s.pairs(baseline)?;
    let mut out = header(s);
    let metrics = s.metrics();
    if metrics.is_empty() {
        out.push_str("\nno numbers recorded (record(name, number) in the script)\n");
        return Ok(out);
    }
    for m in &metrics {
        let unit = s.unit(m);
        let _ = writeln!(
            out,
            "\n{m}{}",
            unit.map(|u| format!(" ({u})")).unwrap_or_default()
        );
        out.push_str(&groups_table(s, m).render());
        let cmps = compare(s, m, &pairs);
        if !cmps.is_empty() {
            out.push_str(&comparisons_table(s, &cmps).render());
        }
    }
    let _ = writeln!(
        out,
        "\nchange: of the median, with a bootstrap 95% interval; a 95% interval needs 6 runs per group (fewer show their coverage); a difference can show from 4 runs per group\n\
         detectable: the smallest change these runs would find 4 times in 5 (80% power), from their spread; more runs find smaller ones (scaffold sweep --detect)"
    );
    Ok(out)
}

/// What the sweep was: its script, runs, grid, order, and the runs left out.
fn header(s: &Sweep) -> String {
    let mut out = String::new();
    let f = &s.file;
    let ok: usize = s.groups.iter().map(|g| g.runs.len()).sum();
    let grid = if f.grid.is_empty() {
        "-".to_string()
    } else {
        f.grid
            .iter()
            .map(|a| format!("{}={}", a.key, a.values.join(",")))
            .collect::<Vec<_>>()
            .join(" × ")
    };
    let order = serde_json::to_value(f.order)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = writeln!(out, "sweep {}", s.dir.display());
    let _ = writeln!(
        out,
        "  script {}; {} runs ({ok} ok); grid {grid}; {} repeat(s), {order} order",
        f.script,
        f.runs.len(),
        f.repeat,
    );
    let _ = writeln!(
        out,
        "  one value per run: the run's {} of each series; groups compared with the Mann-Whitney U test (two-sided, alpha 0.05)",
        s.stat
    );
    for (dir, status) in &s.excluded {
        let _ = writeln!(out, "  left out: {dir} ({status})");
    }
    out
}

/// Per group: n, the median with its interval, min and max of metric `m`.
fn groups_table(s: &Sweep, m: &str) -> super::Table {
    let mut t = super::Table::new(&["group", "n", "median", "95% CI of the median", "min", "max"]);
    for (gi, g) in s.groups.iter().enumerate() {
        let xs = s.values(gi, m);
        let Some(mc) = median_ci(&xs) else {
            let mut row = vec![g.label.clone(), "0".into()];
            row.extend(std::iter::repeat_n("-".to_string(), 4));
            t.row(row);
            continue;
        };
        let (lo, hi) = xs
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                (a.min(*x), b.max(*x))
            });
        let ci = if xs.len() > 1 {
            ci_text(&mc)
        } else {
            "-".into()
        };
        t.row(vec![
            g.label.clone(),
            xs.len().to_string(),
            num(mc.median),
            ci,
            num(lo),
            num(hi),
        ]);
    }
    t
}

/// Per pair of groups: the change of the median, its interval, p, verdict.
fn comparisons_table(s: &Sweep, cmps: &[Cmp]) -> super::Table {
    let mut t = super::Table::new(&[
        "comparison",
        "change",
        "95% CI",
        "p",
        "",
        "detectable (80% power)",
    ]);
    for c in cmps {
        t.row(vec![
            format!("{} vs {}", s.groups[c.other].label, s.groups[c.base].label),
            c.change.map(|x| pct(x.0)).unwrap_or("-".into()),
            c.change
                .map(|x| format!("[{}, {}]", pct(x.1), pct(x.2)))
                .unwrap_or("-".into()),
            c.test
                .as_ref()
                .map(|t| format!("{:.3}", t.p))
                .unwrap_or("-".into()),
            c.verdict().to_string(),
            detectable_text(c.detectable),
        ]);
    }
    t
}

fn detectable_text(d: Option<f64>) -> String {
    match d {
        Some(x) if x.is_finite() => format!("±{:.1}%", x * 100.0),
        Some(_) => "never (< 4 runs)".into(),
        None => "-".into(),
    }
}

/// `-o json`
pub fn to_json(s: &Sweep, baseline: Option<&Map<String, Value>>) -> Result<Value, String> {
    let pairs = s.pairs(baseline)?;
    let mut metrics = Map::new();
    for m in s.metrics() {
        let groups: Vec<Value> = s
            .groups
            .iter()
            .enumerate()
            .map(|(gi, g)| {
                let xs = s.values(gi, &m);
                let mc = median_ci(&xs);
                json!({
                    "group": g.label, "point": g.point, "n": xs.len(), "values": xs,
                    "median": mc.as_ref().map(|x| x.median),
                    "ci": mc.as_ref().filter(|_| xs.len() > 1).map(|x| [x.lo, x.hi]),
                    "ci_level": mc.as_ref().filter(|_| xs.len() > 1).map(|x| x.level),
                })
            })
            .collect();
        let cmps: Vec<Value> = compare(s, &m, &pairs)
            .iter()
            .map(|c| {
                json!({
                    "base": s.groups[c.base].label, "other": s.groups[c.other].label,
                    "change": c.change.map(|x| x.0),
                    "ci": c.change.map(|x| [x.1, x.2]),
                    "u": c.test.as_ref().map(|t| t.u),
                    "p": c.test.as_ref().map(|t| t.p),
                    "method": c.test.as_ref().map(|t| t.method),
                    "can_tell": c.test.as_ref().map(|t| t.can_tell()),
                    "significant": c.test.as_ref().map(|t| t.significant()),
                    "verdict": c.verdict(),
                    "detectable": c.detectable.filter(|d| d.is_finite()),
                })
            })
            .collect();
        metrics.insert(
            m.clone(),
            json!({"unit": s.unit(&m), "groups": groups, "comparisons": cmps}),
        );
    }
    Ok(json!({
        "sweep": s.dir.display().to_string(),
        "script": s.file.script,
        "stat": s.stat,
        "grid": s.file.grid,
        "runs": s.file.runs,
        "excluded": s.excluded.iter().map(|(d, st)| json!({"dir": d, "status": st})).collect::<Vec<_>>(),
        "metrics": metrics,
    }))
}

/// A group statistic of `--fail-if` over the per-run values.
fn group_stat(xs: &[f64], stat: &str) -> f64 {
    Summary::of(xs).map_or(f64::NAN, |s| super::stat_value(&s, xs, stat))
}

/// `--fail-if` per group: `METRIC[mode=xdp].median < 10` checks one group,
/// `METRIC.median < 10` every group. The statistic is over the per-run
/// values (default: median).
pub fn check(s: &Sweep, thresholds: &[Threshold]) -> Result<(String, bool), String> {
    let mut out = String::new();
    let mut failed = false;
    for t in thresholds {
        let sel = t.group.as_deref().map(parse_point).transpose()?;
        let known = s.metrics().contains(&t.metric);
        let mut selected = 0;
        for (gi, g) in s.groups.iter().enumerate() {
            if let Some(sel) = &sel {
                if !sel.iter().all(|(k, v)| g.point.get(k) == Some(v)) {
                    continue;
                }
            }
            selected += 1;
            if !known {
                continue;
            }
            let xs = s.values(gi, &t.metric);
            failed |= group_line(&mut out, t, &g.label, &xs);
        }
        if !known || selected == 0 {
            return Err(format!(
                "--fail-if '{}': no group{} of the sweep recorded '{}'; recorded: {}",
                t.text,
                t.group
                    .as_deref()
                    .map(|g| format!(" [{g}]"))
                    .unwrap_or_default(),
                t.metric,
                s.metrics().join(", ")
            ));
        }
    }
    Ok((out, failed))
}

/// One group's line of a threshold; true when it fails. A group without a
/// value (every run failed, or none recorded it) fails: a gate that cannot
/// be judged does not pass.
fn group_line(out: &mut String, t: &Threshold, label: &str, xs: &[f64]) -> bool {
    let stat = if t.stat_given {
        t.stat.as_str()
    } else {
        "median"
    };
    if xs.is_empty() {
        let _ = writeln!(
            out,
            "FAIL {}: {}[{label}] has no values (n=0: its runs failed or did not record it)",
            t.text, t.metric
        );
        return true;
    }
    let x = group_stat(xs, stat);
    let hit = t.holds(x);
    let _ = writeln!(
        out,
        "{} {}: {}[{label}].{stat} = {} (n={})",
        if hit { "FAIL" } else { "ok  " },
        t.text,
        t.metric,
        num(x),
        xs.len()
    );
    hit
}
