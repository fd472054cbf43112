//! `scaffold report`: a table of runs (or of a sweep's grid points,
//! compared), a plot, and `--fail-if` thresholds for CI.

use crate::cli::{ReportArgs, ReportFormat};
use crate::exit::{fail, ExitCode};
use crate::report::validity::{self, Compared};
use crate::report::{self, sweep, Threshold};

pub fn report(a: &ReportArgs) -> ExitCode {
    let thresholds = match a
        .fail_if
        .iter()
        .map(|t| Threshold::parse(t))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(t) => t,
        Err(e) => return fail(ExitCode::USAGE, e),
    };
    let labels = match report::remote_write::parse_labels(&a.labels) {
        Ok(l) => l,
        Err(e) => return fail(ExitCode::USAGE, e),
    };
    if a.history {
        return report_history(a);
    }
    if a.results.iter().any(|d| sweep::is_sweep(d)) {
        return report_sweep(a, &thresholds, &labels);
    }
    let runs = match report::find_results(&a.results).and_then(|p| report::load(&p)) {
        Ok(r) => r,
        Err(e) => return fail(ExitCode::ERROR, e),
    };
    if let Some(url) = &a.remote_write {
        let ids = runs.iter().map(|r| {
            let id = report::run_dir_name(&r.path).unwrap_or_else(|| r.results.start.clone());
            (id, &r.results)
        });
        if let Err(e) = remote_write(url, ids, &labels) {
            return fail(ExitCode::ERROR, e);
        }
    }
    match a.output {
        ReportFormat::Text => print!("{}", report::render(&runs)),
        ReportFormat::Json => crate::ui::out(
            serde_json::to_string_pretty(&report::to_json(&runs)).unwrap_or_default(),
        ),
    }
    if let Some(p) = &a.plot {
        if let Err(e) = report::plot::draw(&runs, p, a.plot_style, &a.metrics) {
            return fail(ExitCode::ERROR, e);
        }
        crate::ui::err(format!("plot: {}", p.display()));
    }
    let checked = (!thresholds.is_empty()).then(|| report::check(&runs, &thresholds));
    // runs with the same parameters are one group
    let mut labels: Vec<&serde_json::Map<String, serde_json::Value>> = vec![];
    let compared: Vec<Compared> = runs
        .iter()
        .map(|r| {
            let group = labels
                .iter()
                .position(|p| **p == r.results.params)
                .unwrap_or_else(|| {
                    labels.push(&r.results.params);
                    labels.len() - 1
                });
            Compared {
                name: r.label.clone(),
                group,
                results: &r.results,
            }
        })
        .collect();
    let refused = validity::refusal(&validity::differences(&compared, &a.allow_different));
    if let Some(p) = &a.html {
        let gates = gates(checked.as_ref(), refused.as_deref());
        let page = report::html::runs_page(&runs, gates.as_ref());
        if let Err(e) = write_html(p, &page) {
            return fail(ExitCode::ERROR, e);
        }
    }
    verdict_end(checked, refused)
}

/// The --fail-if lines and the fingerprint refusal as the page's badges.
fn gates(
    checked: Option<&Result<(String, bool), String>>,
    refused: Option<&str>,
) -> Option<(String, bool)> {
    let mut lines = match checked {
        Some(Ok((l, failed))) => (l.clone(), *failed),
        _ => (String::new(), false),
    };
    if let Some(r) = refused {
        let fields: Vec<&str> = r
            .lines()
            .skip(1)
            .filter_map(|l| l.trim().split(':').next())
            .collect();
        lines.0.push_str(&format!(
            "FAIL fingerprints differ: {}\n",
            fields.join(", ")
        ));
        lines.1 = true;
    }
    (!lines.0.is_empty()).then_some(lines)
}

/// The exit: a refused comparison is 1 (said after the thresholds).
fn verdict_end(
    checked: Option<Result<(String, bool), String>>,
    refused: Option<String>,
) -> ExitCode {
    let code = match checked {
        Some(c) => thresholds_end(c),
        None => ExitCode::OK,
    };
    match refused {
        Some(r) if code == ExitCode::OK || code == ExitCode::ERROR => fail(ExitCode::ERROR, r),
        _ => code,
    }
}

/// Write the HTML page and say where (and how big).
fn write_html(path: &std::path::Path, page: &str) -> Result<(), String> {
    std::fs::write(path, page).map_err(|e| format!("--html {}: {e}", path.display()))?;
    crate::ui::err(format!(
        "html: {} ({} KiB)",
        path.display(),
        page.len().div_ceil(1024)
    ));
    Ok(())
}

/// The thresholds' lines, and 1 when one holds (2 when one cannot be read).
fn thresholds_end(checked: Result<(String, bool), String>) -> ExitCode {
    match checked {
        Ok((lines, failed)) => {
            eprint!("\nthresholds\n{lines}");
            if failed {
                fail(ExitCode::ERROR, "a --fail-if condition holds")
            } else {
                ExitCode::OK
            }
        }
        Err(e) => fail(ExitCode::USAGE, e),
    }
}

/// `--remote-write`: every run's series to the receiver, and one line on
/// what was written.
fn remote_write<'a>(
    url: &str,
    runs: impl Iterator<Item = (String, &'a crate::results::Results)>,
    labels: &[(String, String)],
) -> Result<(), String> {
    let mut series = vec![];
    let mut n = 0;
    for (id, r) in runs {
        series.extend(report::remote_write::run_series(&id, r, labels));
        n += 1;
    }
    let count = series.len();
    let samples = crate::net::remote_write::push(url, series)?;
    crate::ui::err(format!(
        "remote write: {samples} samples in {count} series of {n} run{} to {}",
        if n == 1 { "" } else { "s" },
        crate::net::redact_url(url)
    ));
    Ok(())
}

/// `scaffold report SWEEP_DIR`: groups by grid point, compared.
fn report_sweep(a: &ReportArgs, thresholds: &[Threshold], labels: &[(String, String)]) -> ExitCode {
    if a.results.len() != 1 {
        return fail(
            ExitCode::USAGE,
            "report one sweep directory at a time (its runs are grouped by grid point)",
        );
    }
    let baseline = match a.baseline.as_deref().map(sweep::parse_point).transpose() {
        Ok(b) => b,
        Err(e) => return fail(ExitCode::USAGE, format!("--baseline {e}")),
    };
    let s = match sweep::load(&a.results[0], &a.stat) {
        Ok(s) => s,
        Err(e) => return fail(ExitCode::ERROR, e),
    };
    let shown = match a.output {
        ReportFormat::Text => sweep::render(&s, baseline.as_ref()).map(|t| print!("{t}")),
        ReportFormat::Json => sweep::to_json(&s, baseline.as_ref())
            .map(|v| crate::ui::out(serde_json::to_string_pretty(&v).unwrap_or_default())),
    };
    if let Err(e) = shown {
        return fail(ExitCode::USAGE, e);
    }
    if let Some(url) = &a.remote_write {
        // a sweep's runs are run-001...: named within their sweep
        let name = s.dir.file_name().unwrap_or_default().to_string_lossy();
        let ids = s
            .groups
            .iter()
            .flat_map(|g| g.runs.iter().map(|(dir, r)| (format!("{name}/{dir}"), r)));
        if let Err(e) = remote_write(url, ids, labels) {
            return fail(ExitCode::ERROR, e);
        }
    }
    if let Some(p) = &a.plot {
        if let Err(e) = report::plot::draw_sweep(&s, p, &a.metrics) {
            return fail(ExitCode::ERROR, e);
        }
        crate::ui::err(format!("plot: {}", p.display()));
    }
    let checked = (!thresholds.is_empty()).then(|| sweep::check(&s, thresholds));
    let compared: Vec<Compared> = s
        .groups
        .iter()
        .enumerate()
        .flat_map(|(gi, g)| {
            g.runs.iter().map(move |(dir, r)| Compared {
                name: dir.clone(),
                group: gi,
                results: r,
            })
        })
        .collect();
    let refused = validity::refusal(&validity::differences(&compared, &a.allow_different));
    if let Some(p) = &a.html {
        let gates = gates(checked.as_ref(), refused.as_deref());
        let page = report::html::sweep_page(&s, baseline.as_ref(), gates.as_ref());
        if let Err(e) = page.and_then(|page| write_html(p, &page)) {
            return fail(ExitCode::ERROR, e);
        }
    }
    verdict_end(checked, refused)
}

/// `scaffold report --history DIR...`: change points per metric.
fn report_history(a: &ReportArgs) -> ExitCode {
    if !sweep::RUN_STATS.contains(&a.stat.as_str()) {
        return fail(
            ExitCode::USAGE,
            format!(
                "--stat {}: unknown; use one of {}",
                a.stat,
                sweep::RUN_STATS.join(", ")
            ),
        );
    }
    let mut runs = match report::find_results(&a.results).and_then(|p| report::load(&p)) {
        Ok(r) => r,
        Err(e) => return fail(ExitCode::ERROR, e),
    };
    let metrics = report::history::analyse(&mut runs, &a.metrics, &a.stat);
    match a.output {
        ReportFormat::Text => print!("{}", report::history::render(&runs, &metrics, &a.stat)),
        ReportFormat::Json => crate::ui::out(
            serde_json::to_string_pretty(&report::history::to_json(&runs, &metrics, &a.stat))
                .unwrap_or_default(),
        ),
    }
    ExitCode::OK
}
