//! `scaffold report`: read results.json files, summarise their records side
//! by side (series as mean, p50, p90, p95, p99, min, max, 95% CI, n), show the change
//! between runs, check `--fail-if` thresholds and draw plots (plot.rs).

pub mod history;
pub mod html;
pub mod plot;
pub mod remote_write;
pub mod svg;
pub mod sweep;
pub mod validity;

use crate::results::{Record, Results};
use crate::stats::Summary;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One run read from disk.
pub struct Run {
    /// Short name shown in tables and plots.
    pub label: String,
    pub path: PathBuf,
    pub results: Results,
}

/// Find the results.json files behind the arguments: a results.json, a run
/// directory, or an artifacts directory holding run directories.
pub fn find_results(args: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = vec![];
    for a in args {
        if a.is_file() {
            out.push(a.clone());
            continue;
        }
        if !a.is_dir() {
            return Err(format!(
                "{}: no such file or directory; give results.json files or run directories (artifacts/<timestamp>/)",
                a.display()
            ));
        }
        let direct = a.join("results.json");
        if direct.is_file() {
            out.push(direct);
            continue;
        }
        let mut runs: Vec<PathBuf> = std::fs::read_dir(a)
            .map_err(|e| format!("cannot read {}: {e}", a.display()))?
            .filter_map(|e| e.ok())
            // `latest` is a link to one of the others
            .filter(|e| e.file_name() != "latest")
            .map(|e| e.path().join("results.json"))
            .filter(|p| p.is_file())
            .collect();
        if runs.is_empty() {
            return Err(format!(
                "{}: no results.json in it or in its subdirectories; is it a run directory (artifacts/<timestamp>/)?",
                a.display()
            ));
        }
        runs.sort();
        out.extend(runs);
    }
    Ok(out)
}

/// Read runs and give each a label: the parameters that differ between the
/// runs (`mode=xdp`), else the run directory's name.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Run>, String> {
    let mut runs = vec![];
    for p in paths {
        let results = Results::read(p)?;
        runs.push(Run {
            label: String::new(),
            path: p.clone(),
            results,
        });
    }
    let mut keys: Vec<String> = vec![];
    for r in &runs {
        for k in r.results.params.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    let differing: Vec<&String> = keys
        .iter()
        .filter(|k| {
            let first = runs[0].results.params.get(*k);
            runs.iter().any(|r| r.results.params.get(*k) != first)
        })
        .collect();
    for (i, r) in runs.iter_mut().enumerate() {
        let by_params: Vec<String> = differing
            .iter()
            .map(|k| {
                format!(
                    "{k}={}",
                    plain(r.results.params.get(*k).unwrap_or(&Value::Null))
                )
            })
            .collect();
        r.label = if !by_params.is_empty() {
            by_params.join(",")
        } else {
            run_dir_name(&r.path).unwrap_or_else(|| format!("run {}", i + 1))
        };
    }
    // the same label twice (two runs with the same params): number them
    let labels: Vec<String> = runs.iter().map(|r| r.label.clone()).collect();
    for (i, r) in runs.iter_mut().enumerate() {
        if labels.iter().filter(|l| **l == labels[i]).count() > 1 {
            r.label = format!("{} #{}", labels[i], i + 1);
        }
    }
    Ok(runs)
}

pub fn run_dir_name(p: &Path) -> Option<String> {
    let parent = p.parent()?;
    let name = parent.file_name()?.to_string_lossy().to_string();
    (!name.is_empty()).then_some(name)
}

pub use crate::util::{num, plain, short_num};

/// The numbers of a record (non-numbers dropped).
pub fn numbers(r: &Record) -> Vec<f64> {
    r.iter_values().filter_map(Value::as_f64).collect()
}

/// Record names over all runs, in first-seen order (BTreeMap: sorted per run).
pub fn metric_names(runs: &[Run]) -> Vec<String> {
    let mut names: Vec<String> = vec![];
    for r in runs {
        for k in r.results.records.keys() {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    names
}

fn unit_of(runs: &[Run], name: &str) -> Option<String> {
    runs.iter()
        .filter_map(|r| r.results.records.get(name))
        .find_map(|r| r.unit.clone())
}

/// Is this record numeric in every run that has it?
pub fn is_numeric(runs: &[Run], name: &str) -> bool {
    runs.iter()
        .filter_map(|r| r.results.records.get(name))
        .all(|r| !r.values().is_empty() && r.values().iter().all(|v| v.is_number()))
}

/// Shown as a series (a row of statistics per run): numeric, and recorded
/// more than once in some run. Everything else is a single value per run.
fn is_series(runs: &[Run], name: &str) -> bool {
    is_numeric(runs, name)
        && runs
            .iter()
            .filter_map(|r| r.results.records.get(name))
            .any(|r| r.samples.is_some())
}

/// The runs: one row each, and the first line of each error.
fn render_runs(runs: &[Run], out: &mut String) {
    let mut t = Table::new(&[
        "#", "run", "script", "outcome", "duration", "steps", "start",
    ]);
    for (i, r) in runs.iter().enumerate() {
        let res = &r.results;
        let failed = res.steps.iter().filter(|s| s.outcome != "ok").count();
        t.row(vec![
            (i + 1).to_string(),
            r.label.clone(),
            res.script.clone(),
            res.outcome.clone(),
            res.duration
                .map(|d| format!("{d:.1} s"))
                .unwrap_or("-".into()),
            if failed > 0 {
                format!("{} ({} failed)", res.steps.len(), failed)
            } else {
                res.steps.len().to_string()
            },
            res.start.clone(),
        ]);
    }
    out.push_str("runs\n");
    out.push_str(&t.render());
    for r in runs.iter().filter(|r| r.results.error.is_some()) {
        let first = r
            .results
            .error
            .as_deref()
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("");
        let _ = writeln!(out, "  {}: {first}", r.label);
    }
}

/// Facts: one value (or text) per run, side by side.
fn render_facts(runs: &[Run], facts: &[&String], out: &mut String) {
    let mut head: Vec<String> = vec!["record".into(), "unit".into()];
    head.extend(runs.iter().map(|r| r.label.clone()));
    if runs.len() > 1 {
        head.push("change".into());
    }
    let mut t = Table::new_owned(head);
    for n in facts {
        let mut row = vec![n.to_string(), unit_of(runs, n).unwrap_or_default()];
        let vals: Vec<Option<&Record>> = runs.iter().map(|r| r.results.records.get(*n)).collect();
        for v in &vals {
            row.push(match v {
                Some(r) => r
                    .values()
                    .iter()
                    .map(fmt_value)
                    .collect::<Vec<_>>()
                    .join(", "),
                None => "-".into(),
            });
        }
        if runs.len() > 1 {
            let first_number =
                |v: &Option<&Record>| v.map(numbers).and_then(|n| n.first().copied());
            row.push(change(
                vals.first().and_then(first_number),
                vals.last().and_then(first_number),
            ));
        }
        t.row(row);
    }
    out.push_str("\nvalues\n");
    out.push_str(&t.render());
}

/// One series: a row per run with its statistics.
fn render_series(runs: &[Run], n: &str, out: &mut String) {
    let unit = unit_of(runs, n);
    let _ = writeln!(
        out,
        "\n{n}{}",
        unit.as_ref().map(|u| format!(" ({u})")).unwrap_or_default()
    );
    let cols = [
        "run", "n", "mean", "p50", "p90", "p95", "p99", "min", "max", "95% CI", "change",
    ];
    let mut t = Table::new(
        &cols[..if runs.len() > 1 {
            cols.len()
        } else {
            cols.len() - 1
        }],
    );
    let mut base: Option<f64> = None;
    for (i, r) in runs.iter().enumerate() {
        let Some(rec) = r.results.records.get(n) else {
            let mut row = vec![r.label.clone(), "0".into()];
            row.extend(std::iter::repeat_n("-".to_string(), cols.len() - 3));
            t.row(row);
            continue;
        };
        let Some(s) = Summary::of(&numbers(rec)) else {
            continue;
        };
        if i == 0 {
            base = Some(s.mean);
        }
        let mut row = vec![r.label.clone(), s.n.to_string()];
        row.extend([s.mean, s.p50, s.p90, s.p95, s.p99, s.min, s.max].map(num));
        row.push(s.ci95.map(|c| format!("±{}", num(c))).unwrap_or("-".into()));
        if runs.len() > 1 {
            row.push(if i == 0 {
                String::new()
            } else {
                change(base, Some(s.mean))
            });
        }
        t.row(row);
    }
    out.push_str(&t.render());
    precision_lines(runs, n, out);
}

/// For a series measured with a known uncertainty (`uncertainty_seconds`
/// tag: `measure_pods`' watch lag, the API's whole seconds), each run's
/// percentiles with it, `p99 4.21 s ± 0.01`, and those it blurs (over 10%).
fn precision_lines(runs: &[Run], n: &str, out: &mut String) {
    for r in runs {
        let Some(rec) = r.results.records.get(n) else {
            continue;
        };
        let Some(u) = rec.tags.get("uncertainty_seconds").and_then(Value::as_f64) else {
            continue;
        };
        let Some(s) = Summary::of(&numbers(rec)) else {
            continue;
        };
        // the value to the uncertainty's order, the uncertainty to its
        // first digit: 4.21 s ± 0.008, 4 s ± 0.5
        let d = (-u.log10()).round().clamp(0.0, 6.0) as usize;
        let du = (-u.log10()).ceil().clamp(0.0, 6.0) as usize;
        let pm = format!("{u:.du$}");
        let unit = rec.unit.as_deref().unwrap_or("s");
        let blurred: Vec<&str> = [("p50", s.p50), ("p90", s.p90), ("p99", s.p99)]
            .iter()
            .filter(|(_, v)| u > 0.1 * v.abs())
            .map(|(k, _)| *k)
            .collect();
        let source = rec.tags.get("source").map(plain).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}: p50 {:.d$} {unit} ± {pm}, p90 {:.d$} {unit} ± {pm}, p99 {:.d$} {unit} ± {pm} ({source}){}",
            r.label,
            s.p50,
            s.p90,
            s.p99,
            if blurred.is_empty() {
                String::new()
            } else {
                format!("; the uncertainty is over 10% of {}", blurred.join(", "))
            }
        );
    }
}

/// The whole text report.
pub fn render(runs: &[Run]) -> String {
    let mut out = String::new();
    render_runs(runs, &mut out);
    let names = metric_names(runs);
    // facts: one value per run, or text; series: one block per metric
    let (series, facts): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|n| is_series(runs, n));
    if !facts.is_empty() {
        render_facts(runs, &facts, &mut out);
    }
    for n in series {
        render_series(runs, n, &mut out);
    }
    if runs.len() > 1 {
        let _ = writeln!(
            out,
            "\nchange: of the mean, against the first run ({})",
            runs[0].label
        );
    }
    out
}

/// Percent change from `a` to `b`.
fn change(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a != 0.0 => format!("{:+.1}%", (b - a) / a.abs() * 100.0),
        _ => "-".into(),
    }
}

fn fmt_value(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if !v.is_i64() && !v.is_u64() => num(f),
        _ => plain(v),
    }
}

/// A left-aligned text table with two spaces between columns.
struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(head: &[&str]) -> Table {
        Table::new_owned(head.iter().map(|s| s.to_string()).collect())
    }
    fn new_owned(head: Vec<String>) -> Table {
        Table { head, rows: vec![] }
    }
    fn row(&mut self, r: Vec<String>) {
        self.rows.push(r);
    }
    fn render(&self) -> String {
        let mut w: Vec<usize> = self.head.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                if i < w.len() {
                    w[i] = w[i].max(c.chars().count());
                }
            }
        }
        let line = |cells: &Vec<String>| {
            let mut s = String::from(" ");
            for (i, c) in cells.iter().enumerate() {
                let pad = w.get(i).copied().unwrap_or(0);
                let _ = write!(s, " {c:<pad$} ");
            }
            s.trim_end().to_string() + "\n"
        };
        let mut out = line(&self.head);
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out
    }
}

/// `mode=nkpr` or `mode=nkpr,size=64` as a point.
pub fn parse_point(s: &str) -> Result<serde_json::Map<String, Value>, String> {
    let mut m = serde_json::Map::new();
    for part in s.split(',') {
        let (k, v) = part
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| format!("'{s}': expected KEY=VALUE[,KEY=VALUE], e.g. mode=nkpr"))?;
        m.insert(k.trim().to_string(), Value::String(v.trim().to_string()));
    }
    Ok(m)
}

/// `--fail-if 'throughput < 9'`, `'latency.p95 >= 200'`: the condition that
/// fails the report (exit 1) when it holds for any run.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub text: String,
    pub metric: String,
    pub stat: String,
    /// the statistic was written out (else the default: mean of a run's
    /// series, median of a sweep group's runs)
    pub stat_given: bool,
    /// `METRIC[mode=xdp]`: the sweep groups it applies to
    pub group: Option<String>,
    pub op: String,
    pub value: f64,
}

pub const STATS: &[&str] = &[
    "mean", "median", "p50", "p90", "p95", "p99", "min", "max", "n", "last",
];

impl Threshold {
    pub fn parse(s: &str) -> Result<Threshold, String> {
        let usage = "write it as 'METRIC OP NUMBER', e.g. 'throughput < 9' or 'latency.p95 >= 200', for a sweep group 'throughput[mode=xdp].median < 10' (OP: < <= > >= == !=; stats: mean median p50 p90 p95 p99 min max n last)";
        let ops = ["<=", ">=", "==", "!=", "<", ">"];
        let (pos, op) = ops
            .iter()
            .filter_map(|op| s.find(op).map(|p| (p, *op)))
            .min_by_key(|(p, op)| (*p, std::cmp::Reverse(op.len())))
            .ok_or_else(|| format!("--fail-if '{s}': no comparison; {usage}"))?;
        let left = s[..pos].trim();
        let right = s[pos + op.len()..].trim();
        if left.is_empty() {
            return Err(format!("--fail-if '{s}': no metric name; {usage}"));
        }
        let value: f64 = right
            .parse()
            .map_err(|_| format!("--fail-if '{s}': '{right}' is not a number; {usage}"))?;
        let (metric, stat, stat_given) = match left.rsplit_once('.') {
            Some((m, st)) if STATS.contains(&st) => (m.to_string(), st.to_string(), true),
            _ => (left.to_string(), "mean".to_string(), false),
        };
        // METRIC[mode=xdp]: a sweep group
        let (metric, group) = match metric.split_once('[') {
            Some((m, rest)) => {
                let sel = rest.strip_suffix(']').filter(|g| !g.trim().is_empty()).ok_or_else(|| {
                    format!("--fail-if '{s}': write a group as METRIC[KEY=VALUE], e.g. 'throughput[mode=xdp].median < 10'")
                })?;
                parse_point(sel).map_err(|e| format!("--fail-if '{s}': {e}"))?;
                (m.trim().to_string(), Some(sel.to_string()))
            }
            None => (metric, None),
        };
        Ok(Threshold {
            text: s.trim().to_string(),
            metric,
            stat,
            stat_given,
            group,
            op: op.to_string(),
            value,
        })
    }

    pub fn holds(&self, x: f64) -> bool {
        match self.op.as_str() {
            "<" => x < self.value,
            "<=" => x <= self.value,
            ">" => x > self.value,
            ">=" => x >= self.value,
            "==" => x == self.value,
            _ => x != self.value,
        }
    }
}

/// One statistic (a name of [`STATS`]) of the numbers `xs` summarised in
/// `s`; an unknown name is the mean.
pub fn stat_value(s: &Summary, xs: &[f64], stat: &str) -> f64 {
    match stat {
        "p50" | "median" => s.p50,
        "p90" => s.p90,
        "p95" => s.p95,
        "p99" => s.p99,
        "min" => s.min,
        "max" => s.max,
        "n" => s.n as f64,
        "last" => *xs.last().unwrap_or(&f64::NAN),
        _ => s.mean,
    }
}

/// Check thresholds; one line per (threshold, run), and whether any failed.
/// A metric no run recorded is an error (a typo must not pass silently).
pub fn check(runs: &[Run], thresholds: &[Threshold]) -> Result<(String, bool), String> {
    let mut out = String::new();
    let mut failed = false;
    for t in thresholds {
        if t.group.is_some() {
            return Err(format!(
                "--fail-if '{}': [..] selects groups of a sweep; give the sweep directory (scaffold report SWEEP_DIR)",
                t.text
            ));
        }
        let mut seen = false;
        let known = runs
            .iter()
            .any(|r| r.results.records.contains_key(&t.metric));
        for r in runs {
            let Some(rec) = r.results.records.get(&t.metric) else {
                if known {
                    // a run without the value (it failed first) fails the gate
                    failed = true;
                    let _ = writeln!(
                        out,
                        "FAIL {}: {} has no value ({})",
                        t.text, t.metric, r.label
                    );
                }
                continue;
            };
            let xs = numbers(rec);
            let Some(s) = Summary::of(&xs) else {
                return Err(format!(
                    "--fail-if '{}': {} is not numeric in {}",
                    t.text, t.metric, r.label
                ));
            };
            seen = true;
            let x = stat_value(&s, &xs, &t.stat);
            let hit = t.holds(x);
            failed |= hit;
            let _ = writeln!(
                out,
                "{} {}: {}.{} = {} ({})",
                if hit { "FAIL" } else { "ok  " },
                t.text,
                t.metric,
                t.stat,
                num(x),
                r.label
            );
        }
        if !seen {
            let known: BTreeMap<&String, ()> = runs
                .iter()
                .flat_map(|r| r.results.records.keys())
                .map(|k| (k, ()))
                .collect();
            return Err(format!(
                "--fail-if '{}': no run recorded '{}'; recorded: {}",
                t.text,
                t.metric,
                known
                    .keys()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok((out, failed))
}

/// A run's environment as `field -> text` (`nodes[0].kernel`,
/// `nodes.count`), nulls left out.
pub fn flat_environment(r: &Results) -> Vec<(String, String)> {
    let mut out = vec![];
    let v = serde_json::to_value(&r.environment).unwrap_or_default();
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    walk(
                        &format!("{prefix}{}{k}", if prefix.is_empty() { "" } else { "." }),
                        x,
                        out,
                    );
                }
            }
            Value::Array(a) => {
                out.push((format!("{prefix}.count"), a.len().to_string()));
                for (i, x) in a.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), x, out);
                }
            }
            Value::Null => {}
            x => out.push((prefix.to_string(), crate::util::plain(x))),
        }
    }
    walk("", &v, &mut out);
    out
}

/// JSON form of the report (`-o json`): per run, per metric, the summary.
pub fn to_json(runs: &[Run]) -> Value {
    let mut out = vec![];
    for r in runs {
        let mut metrics = serde_json::Map::new();
        for (name, rec) in &r.results.records {
            let xs = numbers(rec);
            let v = match Summary::of(&xs) {
                Some(s) if xs.len() == rec.values().len() => serde_json::json!({
                    "unit": rec.unit, "n": s.n, "mean": s.mean, "p50": s.p50, "p90": s.p90, "p95": s.p95, "p99": s.p99,
                    "min": s.min, "max": s.max, "ci95": s.ci95,
                }),
                _ => serde_json::json!({"unit": rec.unit, "values": rec.values()}),
            };
            metrics.insert(name.clone(), v);
        }
        out.push(serde_json::json!({
            "label": r.label, "path": r.path.display().to_string(),
            "script": r.results.script, "outcome": r.results.outcome,
            "params": r.results.params, "metrics": metrics,
        }));
    }
    Value::Array(out)
}
