//! `scaffold report ... --html FILE`: one self-contained HTML page of a run
//! set or a sweep: a header with the verdict and the `--fail-if` badges, a
//! sortable comparison table per series, box-and-strip charts per group
//! and each run's series over time, the runs (steps as a waterfall,
//! parameters, errors, environments side by side with the differences
//! marked) and, for pod latencies, the CDFs against the SLO.
//!
//! The numbers come from the text and JSON report's own functions
//! (`to_json`, `Summary`, the sweep's comparisons): no second statistics
//! path. Charts are inline SVG (svg.rs); the page fetches nothing.

use super::svg::{self, esc, BoxGroup};
use super::sweep::Sweep;
use super::{num, Run};
use crate::results::Results;
use crate::stats::Summary;
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// Points per raw line chart: per bucket its min and max (svg::downsample).
const LINE_BUCKETS: usize = 150;
/// Points per group in a strip (evenly spaced over the run's samples).
const STRIP_POINTS: usize = 200;

const STYLE: &str = include_str!("html.css");
const SCRIPT: &str = include_str!("html.js");

/// A run as the page shows it.
pub struct RunView<'a> {
    pub id: String,
    /// its group's index (a sweep's grid point; a run set: the run itself)
    pub group: usize,
    pub results: &'a Results,
}

/// A table cell: its text and, for numbers, the value it sorts by.
struct Cell(String, Option<f64>);

fn cell(text: impl Into<String>) -> Cell {
    Cell(text.into(), None)
}

fn num_cell(x: Option<f64>, unit: &str) -> Cell {
    match x {
        Some(v) if v.is_finite() => Cell(with_unit(&num(v), unit), Some(v)),
        _ => Cell("-".into(), None),
    }
}

/// A count: an integer, right-aligned.
fn count_cell(x: Option<f64>) -> Cell {
    match x {
        Some(v) if v.is_finite() => Cell(format!("{}", v as u64), Some(v)),
        _ => Cell("-".into(), None),
    }
}

fn with_unit(s: &str, unit: &str) -> String {
    if unit.is_empty() {
        s.to_string()
    } else {
        format!("{s} {unit}")
    }
}

/// One series' comparison table: (key, header) columns and rows.
struct Table {
    metric: String,
    cols: Vec<(&'static str, &'static str)>,
    rows: Vec<Vec<Cell>>,
    /// a line under the table
    note: Option<String>,
}

/// What a page holds before it is written out.
struct Doc {
    title: String,
    verdict: Vec<String>,
    badges: Vec<(String, bool)>,
    tables: Vec<Table>,
    groups: Vec<String>,
    /// a sweep's statistic that turns a run's series into its one value
    stat: Option<String>,
}

/// The page of a run set (`scaffold report DIR... --html`).
pub fn runs_page(runs: &[Run], checked: Option<&(String, bool)>) -> String {
    let json = super::to_json(runs);
    let views: Vec<RunView> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| RunView {
            id: r.label.clone(),
            group: i,
            results: &r.results,
        })
        .collect();
    let mut tables = vec![];
    let mut verdict = vec![format!(
        "{} runs, {} ok",
        runs.len(),
        runs.iter().filter(|r| r.results.outcome == "ok").count()
    )];
    for m in super::metric_names(runs) {
        if !super::is_numeric(runs, &m) {
            continue;
        }
        let t = run_table(&json, &m);
        if let Some(line) = highest(&t, "mean") {
            verdict.push(line);
        }
        tables.push(t);
    }
    let doc = Doc {
        title: title(&views),
        verdict,
        badges: badges(checked),
        tables,
        groups: runs.iter().map(|r| r.label.clone()).collect(),
        stat: None,
    };
    write(&doc, &views)
}

/// Per run: n, mean, p50, p90, p99, the 95% CI of the mean, the change of
/// the mean against the first run (the text report's numbers).
fn run_table(json: &Value, m: &str) -> Table {
    let runs = json.as_array().map(Vec::as_slice).unwrap_or_default();
    let stat = |r: &Value, k: &str| r["metrics"][m][k].as_f64();
    let unit = runs
        .iter()
        .find_map(|r| r["metrics"][m]["unit"].as_str())
        .unwrap_or("")
        .to_string();
    let base = runs.first().and_then(|r| stat(r, "mean"));
    let mut rows = vec![];
    for r in runs {
        if r["metrics"][m].is_null() {
            continue;
        }
        let mean = stat(r, "mean");
        let change = match (base, mean) {
            (Some(a), Some(b)) if a != 0.0 => Some((b - a) / a.abs()),
            _ => None,
        };
        let mut row = vec![
            cell(r["label"].as_str().unwrap_or("")),
            count_cell(stat(r, "n")),
        ];
        for k in ["mean", "p50", "p90", "p99"] {
            row.push(num_cell(stat(r, k), &unit));
        }
        row.push(match stat(r, "ci95") {
            Some(c) => Cell(format!("±{}", with_unit(&num(c), &unit)), Some(c)),
            None => cell("-"),
        });
        row.push(pct_cell(change));
        rows.push(row);
    }
    Table {
        metric: m.to_string(),
        cols: vec![
            ("run", "run"),
            ("n", "n"),
            ("mean", "mean"),
            ("p50", "p50"),
            ("p90", "p90"),
            ("p99", "p99"),
            ("ci", "95% CI of the mean"),
            ("change", "change of the mean"),
        ],
        rows,
        note: runs
            .first()
            .and_then(|r| r["label"].as_str())
            .map(|l| format!("change: against {l}")),
    }
}

fn pct_cell(x: Option<f64>) -> Cell {
    match x {
        Some(v) if v.is_finite() => Cell(format!("{:+.1}%", v * 100.0), Some(v * 100.0)),
        _ => cell("-"),
    }
}

/// "series: highest <stat> <who> (<value>)" from a table's rows.
fn highest(t: &Table, key: &str) -> Option<String> {
    let col = t.cols.iter().position(|(k, _)| *k == key)?;
    let best = t
        .rows
        .iter()
        .filter_map(|r| Some((r[0].0.as_str(), r[col].1?, r[col].0.as_str())))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    (t.rows.len() > 1).then(|| format!("{}: highest {key} {} ({})", t.metric, best.0, best.2))
}

/// The page of a sweep (`scaffold report SWEEP_DIR --html`).
pub fn sweep_page(
    s: &Sweep,
    baseline: Option<&Map<String, Value>>,
    checked: Option<&(String, bool)>,
) -> Result<String, String> {
    let json = super::sweep::to_json(s, baseline)?;
    let views: Vec<RunView> = s
        .groups
        .iter()
        .enumerate()
        .flat_map(|(gi, g)| {
            g.runs.iter().map(move |(dir, r)| RunView {
                id: dir.clone(),
                group: gi,
                results: r,
            })
        })
        .collect();
    let mut tables = vec![];
    let mut verdict = vec![format!(
        "{} runs in {} groups; one value per run: its {}; groups compared with the Mann-Whitney U test (alpha 0.05)",
        views.len(),
        s.groups.len(),
        s.stat
    )];
    for m in s.metrics() {
        let t = group_table(&json["metrics"][&m], &m);
        let cmps = json["metrics"][&m]["comparisons"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let sig = cmps.iter().filter(|c| c["significant"] == true).count();
        if let Some(line) = highest(&t, "median") {
            verdict.push(format!(
                "{line}; {sig} of {} differences significant",
                cmps.len()
            ));
        }
        tables.push(t);
    }
    let doc = Doc {
        title: title(&views),
        verdict,
        badges: badges(checked),
        tables,
        groups: s.groups.iter().map(|g| g.label.clone()).collect(),
        stat: Some(s.stat.clone()),
    };
    Ok(write(&doc, &views))
}

/// Per group: n, median, p50/p90/p99 of the runs' values, the median's
/// interval, and the change against the group it is compared with.
fn group_table(m: &Value, name: &str) -> Table {
    let unit = m["unit"].as_str().unwrap_or("").to_string();
    let cmps = m["comparisons"].as_array().cloned().unwrap_or_default();
    let mut rows = vec![];
    for g in m["groups"].as_array().into_iter().flatten() {
        let label = g["group"].as_str().unwrap_or("");
        let xs: Vec<f64> = g["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .collect();
        let sum = Summary::of(&xs);
        let q = |f: fn(&Summary) -> f64| sum.as_ref().map(f);
        let ci = g["ci"]
            .as_array()
            .and_then(|c| Some((c.first()?.as_f64()?, c.get(1)?.as_f64()?)));
        // the first comparison of this group against another
        let cmp = cmps.iter().find(|c| c["other"] == label);
        let mut row = vec![
            cell(label),
            count_cell(g["n"].as_f64()),
            num_cell(g["median"].as_f64(), &unit),
        ];
        row.push(num_cell(q(|s| s.p90), &unit));
        row.push(num_cell(q(|s| s.p99), &unit));
        row.push(match ci {
            Some((lo, hi)) => Cell(
                format!("[{}, {}]", num(lo), with_unit(&num(hi), &unit)),
                Some(lo),
            ),
            None => cell("-"),
        });
        row.extend(change_cells(cmp));
        rows.push(row);
    }
    let mut bases: Vec<&str> = cmps.iter().filter_map(|c| c["base"].as_str()).collect();
    bases.dedup();
    Table {
        metric: name.to_string(),
        cols: vec![
            ("group", "group"),
            ("n", "n"),
            ("median", "median"),
            ("p90", "p90"),
            ("p99", "p99"),
            ("ci", "95% CI of the median"),
            ("change", "change of the median [95% CI]"),
            ("p", "p"),
            ("verdict", "verdict"),
            ("detectable", "detectable (80% power)"),
        ],
        rows,
        note: (!bases.is_empty()).then(|| format!("change: against {}", bases.join(", "))),
    }
}

/// The change of the median with its interval, p and the verdict of a
/// group's comparison (empty cells for a group compared with none).
fn change_cells(cmp: Option<&Value>) -> Vec<Cell> {
    let Some(c) = cmp else {
        return (0..4).map(|_| cell("")).collect();
    };
    let mut ch = pct_cell(c["change"].as_f64());
    if let Some(a) = c["ci"].as_array() {
        let pct = |v: &Value| v.as_f64().unwrap_or(f64::NAN) * 100.0;
        ch.0 = format!("{} [{:+.1}, {:+.1}]", ch.0, pct(&a[0]), pct(&a[1]));
    }
    let p = match c["p"].as_f64() {
        Some(p) => Cell(format!("{p:.3}"), Some(p)),
        None => cell("-"),
    };
    let det = match c["detectable"].as_f64() {
        Some(d) => Cell(format!("±{:.1}%", d * 100.0), Some(d * 100.0)),
        None => cell("-"),
    };
    vec![ch, p, cell(c["verdict"].as_str().unwrap_or("")), det]
}

/// `--fail-if` lines as badges (ok / FAIL).
fn badges(checked: Option<&(String, bool)>) -> Vec<(String, bool)> {
    checked
        .map(|(lines, _)| {
            lines
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let fail = l.starts_with("FAIL");
                    (
                        l.trim_start_matches("FAIL")
                            .trim_start_matches("ok")
                            .trim()
                            .to_string(),
                        !fail,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// "xdp · 2026-12-01 10:15 – 2026-12-01 11:40 UTC"
fn title(runs: &[RunView]) -> String {
    let mut names: Vec<String> = runs
        .iter()
        .map(|r| super::remote_write::scenario(&r.results.script))
        .collect();
    names.dedup();
    names.sort();
    names.dedup();
    let short = |s: &str| s.get(..16).unwrap_or(s).replace('T', " ");
    let first = runs
        .iter()
        .map(|r| r.results.start.as_str())
        .min()
        .unwrap_or("");
    let last = runs
        .iter()
        .map(|r| r.results.end.as_deref().unwrap_or(&r.results.start))
        .max()
        .unwrap_or("");
    format!(
        "{} · {} – {} UTC",
        names.join(", "),
        short(first),
        short(last)
    )
}

/// The whole page.
fn write(doc: &Doc, runs: &[RunView]) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(&doc.title)
    );
    header(&mut out, doc);
    out.push_str("<section id=\"comparison\"><h2>Comparison</h2>");
    for t in &doc.tables {
        table(&mut out, t);
    }
    out.push_str("</section>\n<section id=\"series\"><h2>Series</h2>");
    for t in &doc.tables {
        series(&mut out, &t.metric, runs, doc);
    }
    out.push_str("</section>\n");
    latencies(&mut out, runs);
    runs_section(&mut out, runs, &doc.groups);
    let _ = writeln!(
        out,
        "<footer>scaffold {} · {} runs</footer><script>{SCRIPT}</script></body></html>",
        env!("CARGO_PKG_VERSION"),
        runs.len()
    );
    out
}

fn header(out: &mut String, doc: &Doc) {
    let _ = write!(
        out,
        "<header><h1>{}</h1><ul class=\"verdict\">",
        esc(&doc.title)
    );
    for v in &doc.verdict {
        let _ = write!(out, "<li>{}</li>", esc(v));
    }
    out.push_str("</ul>");
    if !doc.badges.is_empty() {
        out.push_str("<div class=\"badges\">");
        for (text, ok) in &doc.badges {
            let _ = write!(
                out,
                "<span class=\"badge {}\">{} {}</span>",
                if *ok { "pass" } else { "fail" },
                if *ok { "pass" } else { "FAIL" },
                esc(text)
            );
        }
        out.push_str("</div>");
    }
    out.push_str("</header>\n");
}

fn table(out: &mut String, t: &Table) {
    let _ = write!(
        out,
        "<h3 id=\"t-{}\">{}</h3><div class=\"wide\"><table class=\"sortable\" data-metric=\"{}\"><thead><tr>",
        esc(&t.metric),
        esc(&t.metric),
        esc(&t.metric)
    );
    for (k, h) in &t.cols {
        let _ = write!(out, "<th data-key=\"{k}\" title=\"sort\">{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        out.push_str("<tr>");
        for c in r {
            match c.1 {
                Some(v) => {
                    let _ = write!(out, "<td class=\"num\" data-v=\"{v}\">{}</td>", esc(&c.0));
                }
                None => {
                    let _ = write!(out, "<td>{}</td>", esc(&c.0));
                }
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>\n");
    if let Some(n) = &t.note {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(n));
    }
}

/// A run's numeric values of a record, with the time each stands for:
/// seconds after the run's start when the file has times, else the index.
fn timed(r: &Results, metric: &str) -> (Vec<(f64, f64)>, &'static str) {
    let Some(rec) = r.records.get(metric) else {
        return (vec![], "");
    };
    let start = r
        .start
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond());
    // values recorded within one millisecond have no time course: by index
    let spread = rec
        .times
        .iter()
        .max()
        .zip(rec.times.iter().min())
        .is_some_and(|(a, b)| a > b);
    match (rec.timed_values().filter(|_| spread), start) {
        (Some(it), Some(s)) => (
            it.filter_map(|(t, v)| Some(((t - s) as f64 / 1000.0, v.as_f64()?)))
                .collect(),
            "s after the run's start",
        ),
        _ => (
            rec.iter_values()
                .filter_map(Value::as_f64)
                .enumerate()
                .map(|(i, v)| (i as f64, v))
                .collect(),
            "sample",
        ),
    }
}

/// One series: the box-and-strip chart per group, and a line chart per
/// run of its samples over time (one shown, picked from a list).
fn series(out: &mut String, metric: &str, runs: &[RunView], doc: &Doc) {
    let unit = runs
        .iter()
        .find_map(|r| r.results.records.get(metric)?.unit.clone())
        .unwrap_or_default();
    let _ = write!(out, "<div class=\"series\"><h3>{}</h3>", esc(metric));
    let mut boxes: Vec<BoxGroup> = doc
        .groups
        .iter()
        .map(|g| BoxGroup {
            label: g,
            values: vec![],
            titles: vec![],
        })
        .collect();
    for r in runs {
        let Some(rec) = r.results.records.get(metric) else {
            continue;
        };
        let xs = super::numbers(rec);
        let b = &mut boxes[r.group];
        if let Some(stat) = &doc.stat {
            // a sweep: the run's one value
            if let Some(v) = super::sweep::run_value(&xs, stat) {
                b.titles.push(format!(
                    "{} ({}): {}",
                    r.id,
                    params(r.results),
                    with_unit(&num(v), &unit)
                ));
                b.values.push(v);
            }
        } else {
            let step = xs.len().div_ceil(STRIP_POINTS).max(1);
            for (i, v) in xs.iter().enumerate().step_by(step) {
                b.titles.push(format!(
                    "{} sample {}: {}",
                    r.id,
                    i + 1,
                    with_unit(&num(*v), &unit)
                ));
                b.values.push(*v);
            }
        }
    }
    out.push_str(&svg::box_strip(metric, &unit, &boxes));
    over_time(out, metric, &unit, runs);
    out.push_str("</div>\n");
}

/// A line chart per run of a series' samples over time, one shown at a
/// time (picked from a list; the first without scripts).
fn over_time(out: &mut String, metric: &str, unit: &str, runs: &[RunView]) {
    let lines: Vec<(usize, String)> = runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let (pts, x_label) = timed(r.results, metric);
            (pts.len() > 1).then(|| {
                let pts = svg::downsample(&pts, LINE_BUCKETS);
                (
                    i,
                    svg::line(
                        metric,
                        unit,
                        x_label,
                        &pts,
                        svg::PALETTE[r.group % svg::PALETTE.len()],
                    ),
                )
            })
        })
        .collect();
    if !lines.is_empty() {
        out.push_str(
            "<div class=\"over-time\"><label>samples over time of <select class=\"run-pick\">",
        );
        for (i, _) in &lines {
            let _ = write!(out, "<option value=\"{i}\">{}</option>", esc(&runs[*i].id));
        }
        out.push_str("</select></label>");
        for (k, (i, chart)) in lines.iter().enumerate() {
            let _ = write!(
                out,
                "<div data-run=\"{i}\"{}>{chart}</div>",
                if k == 0 { "" } else { " hidden" }
            );
        }
        out.push_str("</div>");
    }
}

/// `k=v, k=v` of a run's parameters.
fn params(r: &Results) -> String {
    r.params
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::util::plain(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Pod latency CDFs (`measure_pods`' `pod_latency_<phase>_seconds`), one
/// line per run, against the pod startup SLO; `measure_api`'s mutating p99
/// against its SLO.
fn latencies(out: &mut String, runs: &[RunView]) {
    let mut names: Vec<&String> = runs
        .iter()
        .flat_map(|r| r.results.records.keys())
        .filter(|k| k.starts_with("pod_latency_") && k.ends_with("_seconds"))
        .collect();
    names.sort();
    names.dedup();
    let api: Vec<(String, f64)> = runs
        .iter()
        .filter_map(|r| {
            let v = r.results.records.get("api_mutating_p99_seconds")?;
            Some((r.id.clone(), super::numbers(v).first().copied()?))
        })
        .collect();
    if names.is_empty() && api.is_empty() {
        return;
    }
    out.push_str("<section id=\"latency\"><h2>Latency</h2>");
    let slo = crate::k8s::podlatency::POD_STARTUP_SLO;
    for n in names {
        let lines: Vec<(String, Vec<f64>)> = runs
            .iter()
            .filter_map(|r| {
                let mut xs = super::numbers(r.results.records.get(n)?);
                xs.sort_by(|a, b| a.total_cmp(b));
                Some((r.id.clone(), xs))
            })
            .collect();
        let _ = write!(
            out,
            "<div class=\"series\"><h3>{} <small>CDF, one line per run; SLO {} s (p99 of pod startup), line at the 99th percentile</small></h3>{}</div>",
            esc(n),
            super::short_num(slo),
            svg::cdf(n, "s", &lines, Some(slo))
        );
    }
    if !api.is_empty() {
        out.push_str("<h3>api_mutating_p99_seconds <small>SLO 1 s</small></h3><table><tbody>");
        for (id, v) in api {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"num {}\">{} s</td></tr>",
                esc(&id),
                if v <= 1.0 { "pass" } else { "fail" },
                num(v)
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>\n");
}

/// The runs: outcome, parameters, error, steps as a waterfall; then the
/// environments side by side, fields that differ between runs marked.
fn runs_section(out: &mut String, runs: &[RunView], groups: &[String]) {
    out.push_str("<section id=\"runs\"><h2>Runs</h2>");
    for r in runs {
        let res = r.results;
        let start = res.start.parse::<jiff::Timestamp>().ok();
        let steps: Vec<(String, f64, f64, bool)> = res
            .steps
            .iter()
            .map(|s| {
                let at = match (start, s.start.parse::<jiff::Timestamp>()) {
                    (Some(a), Ok(b)) => (b.as_millisecond() - a.as_millisecond()) as f64 / 1000.0,
                    _ => 0.0,
                };
                (s.name.clone(), at.max(0.0), s.duration, s.outcome == "ok")
            })
            .collect();
        let _ = write!(
            out,
            "<details class=\"run\"><summary><span class=\"badge {}\">{}</span> {} <small>{} · {} · {}</small></summary>",
            if res.outcome == "ok" { "pass" } else { "fail" },
            esc(&res.outcome),
            esc(&r.id),
            esc(&groups[r.group]),
            res.duration.map(|d| format!("{} s", num(d))).unwrap_or("-".into()),
            esc(&res.start)
        );
        let _ = write!(out, "<p>parameters: {}</p>", esc(&params(res)));
        if let Some(e) = &res.error {
            let _ = write!(out, "<pre class=\"error\">{}</pre>", esc(e));
        }
        if !steps.is_empty() {
            out.push_str(&svg::waterfall(&steps));
        }
        out.push_str("</details>\n");
    }
    environments(out, runs);
    out.push_str("</section>\n");
}

fn environments(out: &mut String, runs: &[RunView]) {
    let envs: Vec<Vec<(String, String)>> = runs
        .iter()
        .map(|r| super::flat_environment(r.results))
        .collect();
    let mut fields: Vec<String> = envs.iter().flatten().map(|(k, _)| k.clone()).collect();
    fields.sort();
    fields.dedup();
    let get = |e: &Vec<(String, String)>, f: &str| {
        e.iter()
            .find(|(k, _)| k == f)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let differs = |f: &str| envs.iter().any(|e| get(e, f) != get(&envs[0], f));
    // the fields that differ first
    fields.sort_by_key(|f| !differs(f));
    let n_diff = fields.iter().filter(|f| differs(f)).count();
    let _ = write!(
        out,
        "<h3>Environment <small>{n_diff} field{} differ between runs (marked)</small></h3><div class=\"wide\"><table class=\"env\"><thead><tr><th>field</th>",
        if n_diff == 1 { "" } else { "s" }
    );
    for r in runs {
        let _ = write!(out, "<th>{}</th>", esc(&r.id));
    }
    out.push_str("</tr></thead><tbody>");
    for f in &fields {
        let d = differs(f);
        let _ = write!(
            out,
            "<tr{}><td>{}</td>",
            if d { " class=\"diff\"" } else { "" },
            esc(f)
        );
        for e in &envs {
            let v = get(e, f);
            let odd = d && v != get(&envs[0], f);
            let _ = write!(
                out,
                "<td{}>{}</td>",
                if odd { " class=\"odd\"" } else { "" },
                esc(&v)
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}
