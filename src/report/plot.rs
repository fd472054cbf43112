//! `scaffold report --plot FILE.svg|png`: one panel per numeric record, a
//! bar (or point on a line) per run at the mean, with the 95% confidence
//! interval as error bars (min..max when a run has one sample).

use super::{numbers, Run};
use crate::stats::Summary;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

static FONT: &[u8] = include_bytes!("../../data/fonts/DejaVuSans.ttf");

pub use crate::cli::PlotStyle as Style;

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// One panel: a metric's summary per run.
struct Panel {
    title: String,
    unit: String,
    /// (run label, summary) for runs that recorded it
    points: Vec<(usize, Summary)>,
}

fn panels(runs: &[Run], only: &[String]) -> Result<Vec<Panel>, String> {
    let mut out = vec![];
    for name in super::metric_names(runs) {
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        if !super::is_numeric(runs, &name) {
            continue;
        }
        let mut points = vec![];
        let mut unit = String::new();
        for (i, r) in runs.iter().enumerate() {
            if let Some(rec) = r.results.records.get(&name) {
                if let Some(s) = Summary::of(&numbers(rec)) {
                    points.push((i, s));
                }
                if let Some(u) = &rec.unit {
                    unit = u.clone();
                }
            }
        }
        if !points.is_empty() {
            out.push(Panel {
                title: name,
                unit,
                points,
            });
        }
    }
    for m in only {
        if !out.iter().any(|p| &p.title == m) {
            return Err(format!(
                "--metric {m}: no run recorded a number under that name; recorded: {}",
                super::metric_names(runs).join(", ")
            ));
        }
    }
    if out.is_empty() {
        return Err(
            "nothing to plot: the runs recorded no numbers (record(name, number) in the script)"
                .into(),
        );
    }
    Ok(out)
}

/// Draw to `path`; the format follows its extension (.svg or .png).
pub fn draw(runs: &[Run], path: &Path, style: Style, only: &[String]) -> Result<(), String> {
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    let panels = panels(runs, only)?;
    let labels: Vec<String> = runs.iter().map(|r| r.label.clone()).collect();
    let width = (220 + 140 * runs.len() as u32).clamp(640, 1600);
    let height = 360 * panels.len() as u32;
    let chart = Chart::Bars {
        panels: &panels,
        labels: &labels,
        style,
    };
    render(path, (width, height), &chart)
}

/// Error bar ends per point: the 95% CI, or min..max for one sample.
fn bars(p: &Panel) -> Vec<(usize, f64, f64, f64)> {
    p.points
        .iter()
        .map(|(i, s)| match s.ci95 {
            Some(c) => (*i, s.mean - c, s.mean, s.mean + c),
            None => (*i, s.min, s.mean, s.max),
        })
        .collect()
}

/// A chart with one slot per label along x (a run or a sweep group) and the
/// metric along `y`, its axes and grid drawn.
fn labelled_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    unit: &str,
    labels: &[String],
    y: std::ops::Range<f64>,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String>
where
    DB::ErrorType: 'static,
{
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    let n = labels.len();
    let caption = if unit.is_empty() {
        title.to_string()
    } else {
        format!("{title} ({unit})")
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y)
        .map_err(e)?;
    let fmt = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
            labels[i as usize].clone()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n.max(2) * 2 + 1)
        .x_label_formatter(&fmt)
        .y_desc(unit)
        .y_label_formatter(&|y| super::short_num(*y))
        .draw()
        .map_err(e)?;
    Ok(chart)
}

/// One metric's chart: bars or a line of the means, with error bars.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    labels: &[String],
    style: Style,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    let bars = bars(p);
    let lo = bars.iter().map(|b| b.1).fold(0f64, f64::min);
    let hi = bars.iter().map(|b| b.3).fold(0f64, f64::max);
    let pad = ((hi - lo) * 0.1).max(1e-9);
    let y0 = if lo < 0.0 { lo - pad } else { 0.0 };
    let mut chart = labelled_chart(area, &p.title, &p.unit, labels, y0..(hi + pad))?;
    match style {
        Style::Bar => {
            chart
                .draw_series(bars.iter().map(|(i, _, m, _)| {
                    let x = *i as f64;
                    Rectangle::new(
                        [(x - 0.3, 0.0), (x + 0.3, *m)],
                        COLORS[i % COLORS.len()].mix(0.8).filled(),
                    )
                }))
                .map_err(e)?;
        }
        Style::Line => {
            chart
                .draw_series(LineSeries::new(
                    bars.iter().map(|(i, _, m, _)| (*i as f64, *m)),
                    COLORS[0].stroke_width(2),
                ))
                .map_err(e)?;
            chart
                .draw_series(
                    bars.iter()
                        .map(|(i, _, m, _)| Circle::new((*i as f64, *m), 4, COLORS[0].filled())),
                )
                .map_err(e)?;
        }
    }
    chart
        .draw_series(bars.iter().map(|(i, l, m, h)| {
            ErrorBar::new_vertical(*i as f64, *l, *m, *h, BLACK.stroke_width(2), 12)
        }))
        .map_err(e)?;
    Ok(())
}

/// One metric of a sweep: each group's per-run values.
struct GroupPanel {
    title: String,
    unit: String,
    groups: Vec<Vec<f64>>,
}

/// `scaffold report SWEEP_DIR --plot FILE`: per metric, a box per group
/// (quartiles of the runs' values, whiskers min..max, a line at the
/// median) with every run's value as a point beside it.
pub fn draw_sweep(s: &super::sweep::Sweep, path: &Path, only: &[String]) -> Result<(), String> {
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    let metrics = s.metrics();
    for m in only {
        if !metrics.contains(m) {
            return Err(format!(
                "--metric {m}: no run of the sweep recorded a number under that name; recorded: {}",
                metrics.join(", ")
            ));
        }
    }
    let panels: Vec<GroupPanel> = metrics
        .iter()
        .filter(|m| only.is_empty() || only.contains(m))
        .map(|m| GroupPanel {
            title: m.clone(),
            unit: s
                .groups
                .iter()
                .flat_map(|g| &g.runs)
                .filter_map(|(_, r)| r.records.get(m))
                .find_map(|r| r.unit.clone())
                .unwrap_or_default(),
            groups: (0..s.groups.len()).map(|gi| s.values(gi, m)).collect(),
        })
        .collect();
    if panels.is_empty() {
        return Err("nothing to plot: the sweep's runs recorded no numbers".into());
    }
    let labels: Vec<String> = s.groups.iter().map(|g| g.label.clone()).collect();
    let width = (220 + 160 * labels.len() as u32).clamp(640, 1800);
    let height = 360 * panels.len() as u32;
    let chart = Chart::Boxes {
        panels: &panels,
        labels: &labels,
    };
    render(path, (width, height), &chart)
}

/// A chart: panels one above the other, drawn on any backend (SVG or PNG).
enum Chart<'a> {
    /// the bars (or lines) of runs
    Bars {
        panels: &'a [Panel],
        labels: &'a [String],
        style: Style,
    },
    /// the box plots of a sweep's groups
    Boxes {
        panels: &'a [GroupPanel],
        labels: &'a [String],
    },
}

impl Chart<'_> {
    fn panels(&self) -> usize {
        match self {
            Chart::Bars { panels, .. } => panels.len(),
            Chart::Boxes { panels, .. } => panels.len(),
        }
    }

    fn paint<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        i: usize,
    ) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        match self {
            Chart::Bars {
                panels,
                labels,
                style,
            } => draw_panel(area, &panels[i], labels, *style),
            Chart::Boxes { panels, labels } => box_panel(area, &panels[i], labels),
        }
    }
}

/// Every panel of `chart` on `root`, one above the other.
fn paint_all<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|x| x.to_string())?;
    let areas = root.split_evenly((chart.panels(), 1));
    for (i, area) in areas.iter().enumerate() {
        chart.paint(area, i)?;
    }
    Ok(())
}

/// Draw to `path`, SVG or PNG by its extension.
fn render(path: &Path, size: (u32, u32), chart: &Chart) -> Result<(), String> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let err = |e: String| format!("cannot draw {}: {e}", path.display());
    match ext.as_str() {
        "svg" => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            paint_all(&root, chart).map_err(err)?;
            root.present().map_err(|e| err(e.to_string()))
        }
        "png" => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            paint_all(&root, chart).map_err(err)?;
            root.present().map_err(|e| err(e.to_string()))
        }
        _ => Err(format!(
            "--plot {}: unknown image format; end the name with .svg or .png",
            path.display()
        )),
    }
}

fn box_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &GroupPanel,
    labels: &[String],
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    use crate::stats::percentile;
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    let all: Vec<f64> = p.groups.iter().flatten().copied().collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if all.is_empty() { (0.0, 1.0) } else { (lo, hi) };
    let pad = ((hi - lo) * 0.1).max(hi.abs() * 0.01).max(1e-9);
    let mut chart = labelled_chart(area, &p.title, &p.unit, labels, (lo - pad)..(hi + pad))?;
    for (i, xs) in p.groups.iter().enumerate() {
        if xs.is_empty() {
            continue;
        }
        let mut v = xs.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        let (q1, med, q3) = (
            percentile(&v, 25.0),
            percentile(&v, 50.0),
            percentile(&v, 75.0),
        );
        let x = i as f64;
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x - 0.25, q1), (x + 0.05, q3)],
                color.mix(0.35).filled(),
            )))
            .map_err(e)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x - 0.25, med), (x + 0.05, med)],
                BLACK.stroke_width(2),
            )))
            .map_err(e)?;
        chart
            .draw_series(std::iter::once(ErrorBar::new_vertical(
                x - 0.1,
                v[0],
                med,
                v[v.len() - 1],
                color.stroke_width(1),
                10,
            )))
            .map_err(e)?;
        // the runs themselves, spread a little sideways
        chart
            .draw_series(v.iter().enumerate().map(|(k, y)| {
                let dx = 0.15 + 0.12 * (k % 4) as f64 / 4.0;
                Circle::new((x + dx, *y), 3, color.filled())
            }))
            .map_err(e)?;
    }
    Ok(())
}
