//! Inline SVG charts of the HTML report (html.rs): box-and-strip per
//! group, a line over time, CDFs with SLO lines, a step waterfall. Plain
//! strings, no fonts to embed: the browser draws the text. Every mark a
//! reader may point at carries a `<title>` (the browser's hover text).

use std::fmt::Write as _;

/// Colours of groups / runs, in order (repeating).
pub const PALETTE: &[&str] = &[
    "#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5",
];

const W: f64 = 640.0;
const PAD_L: f64 = 64.0;
const PAD_R: f64 = 16.0;
const PAD_T: f64 = 22.0;

/// Text for HTML and SVG: `& < > " '` escaped.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A linear map from values to pixels.
#[derive(Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    p0: f64,
    p1: f64,
}

impl Scale {
    /// Over the values (a little room around them; a flat set gets ±1).
    fn of(lo: f64, hi: f64, p0: f64, p1: f64) -> Scale {
        let (lo, hi) = if !lo.is_finite() || !hi.is_finite() {
            (0.0, 1.0)
        } else if hi - lo < f64::EPSILON * lo.abs().max(1.0) {
            (lo - lo.abs().max(1.0) * 0.05, hi + hi.abs().max(1.0) * 0.05)
        } else {
            let m = (hi - lo) * 0.05;
            (lo - m, hi + m)
        };
        Scale { lo, hi, p0, p1 }
    }

    fn at(&self, v: f64) -> f64 {
        self.p0 + (v - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0)
    }

    /// Tick labels: as many decimals as the step between ticks needs.
    fn labels(&self) -> Vec<(f64, String)> {
        let t = self.ticks();
        let step = if t.len() > 1 { t[1] - t[0] } else { 1.0 };
        let decimals = (-step.log10().floor()).clamp(0.0, 9.0) as usize;
        t.into_iter()
            .map(|v| {
                let text = if v.abs() >= 1e6 || (v != 0.0 && v.abs() < 1e-4) {
                    super::short_num(v)
                } else {
                    format!("{v:.decimals$}")
                };
                (v, text)
            })
            .collect()
    }

    /// About five round tick values inside the range.
    fn ticks(&self) -> Vec<f64> {
        let span = self.hi - self.lo;
        let raw = span / 5.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| span / s <= 6.0)
            .unwrap_or(10.0 * mag);
        let mut t = (self.lo / step).ceil() * step;
        let mut out = vec![];
        while t <= self.hi && out.len() < 12 {
            out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
            t += step;
        }
        out
    }
}

fn open(h: f64, label: &str) -> String {
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"{}\">",
        esc(label)
    )
}

/// Horizontal grid lines and labels of a value axis (y).
fn y_axis(out: &mut String, y: &Scale, unit: &str) {
    for (t, text) in y.labels() {
        let py = y.at(t);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{PAD_L}\" x2=\"{}\" y1=\"{py:.1}\" y2=\"{py:.1}\"/><text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - PAD_R,
            PAD_L - 6.0,
            py + 4.0,
            esc(&text)
        );
    }
    if !unit.is_empty() {
        let _ = write!(
            out,
            "<text class=\"unit\" x=\"4\" y=\"{}\">{}</text>",
            PAD_T - 10.0,
            esc(unit)
        );
    }
}

/// Labels of a value axis along the bottom (x), at pixel row `py`.
fn x_axis(out: &mut String, x: &Scale, py: f64) {
    for (t, text) in x.labels() {
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{py:.1}\" text-anchor=\"middle\">{}</text>",
            x.at(t),
            esc(&text)
        );
    }
}

/// One group of a box-and-strip chart: its name, values, and a hover text
/// per value (the run it came from).
pub struct BoxGroup<'a> {
    pub label: &'a str,
    pub values: Vec<f64>,
    pub titles: Vec<String>,
}

/// A box (quartiles, median, whiskers at min and max) per group, with
/// every value drawn as a point beside it.
pub fn box_strip(name: &str, unit: &str, groups: &[BoxGroup]) -> String {
    let h = 240.0;
    let all = groups.iter().flat_map(|g| g.values.iter().copied());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    let y = Scale::of(lo, hi, h - 28.0, PAD_T);
    let mut out = open(h, name);
    y_axis(&mut out, &y, unit);
    let slot = (W - PAD_L - PAD_R) / groups.len().max(1) as f64;
    for (i, g) in groups.iter().enumerate() {
        let cx = PAD_L + slot * (i as f64 + 0.5);
        let color = PALETTE[i % PALETTE.len()];
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{cx:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            h - 8.0,
            esc(g.label)
        );
        let mut s = g.values.clone();
        s.sort_by(|a, b| a.total_cmp(b));
        if s.is_empty() {
            continue;
        }
        let q = |p: f64| crate::stats::percentile(&s, p);
        let bw = (slot * 0.28).min(40.0);
        let bx = cx - bw - 2.0;
        let (q1, med, q3) = (y.at(q(25.0)), y.at(q(50.0)), y.at(q(75.0)));
        let _ = write!(
            out,
            "<g class=\"box\"><title>{}: median {}, quartiles {} – {}, n={}</title>\
             <line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{color}\"/>\
             <rect x=\"{bx:.1}\" y=\"{q3:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"{color}\" fill-opacity=\"0.25\" stroke=\"{color}\"/>\
             <line x1=\"{bx:.1}\" x2=\"{:.1}\" y1=\"{med:.1}\" y2=\"{med:.1}\" stroke=\"{color}\" stroke-width=\"2\"/></g>",
            esc(g.label),
            super::num(q(50.0)),
            super::num(q(25.0)),
            super::num(q(75.0)),
            s.len(),
            y.at(s[0]),
            y.at(s[s.len() - 1]),
            (q1 - q3).max(1.0),
            bx + bw,
            x = bx + bw / 2.0,
        );
        // the strip: one point per value, spread a little sideways
        for (k, (v, t)) in g.values.iter().zip(&g.titles).enumerate() {
            let jitter = ((k * 37) % 11) as f64 / 10.0 * (bw * 0.8);
            let _ = write!(
                out,
                "<circle class=\"pt\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"><title>{}</title></circle>",
                cx + 4.0 + jitter,
                y.at(*v),
                esc(t)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// One line over time: `(x, y)` points in order; `x_label` says what x is.
pub fn line(name: &str, unit: &str, x_label: &str, pts: &[(f64, f64)], color: &str) -> String {
    let h = 200.0;
    let fold = |f: fn(&(f64, f64)) -> f64| {
        pts.iter()
            .map(f)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            })
    };
    let (x0, x1) = fold(|p| p.0);
    let (y0, y1) = fold(|p| p.1);
    let x = Scale::of(x0, x1, PAD_L, W - PAD_R);
    let y = Scale::of(y0, y1, h - 24.0, PAD_T);
    let mut out = open(h + 14.0, name);
    y_axis(&mut out, &y, unit);
    x_axis(&mut out, &x, h - 8.0);
    let _ = write!(
        out,
        "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        W - PAD_R,
        h + 8.0,
        esc(x_label)
    );
    let mut d = String::new();
    for (i, (a, b)) in pts.iter().enumerate() {
        let _ = write!(
            d,
            "{}{:.1},{:.1}",
            if i == 0 { "M" } else { "L" },
            x.at(*a),
            y.at(*b)
        );
    }
    let _ = write!(
        out,
        "<path class=\"series\" d=\"{d}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"/></svg>"
    );
    out
}

/// Cumulative distributions, one line per `(label, sorted values)`, with
/// the SLO as a vertical line and the 99th percentile as a horizontal one.
pub fn cdf(name: &str, unit: &str, lines: &[(String, Vec<f64>)], slo: Option<f64>) -> String {
    let h = 240.0;
    let hi = lines
        .iter()
        .filter_map(|(_, s)| s.last().copied())
        .chain(slo)
        .fold(0.0f64, f64::max);
    let x = Scale::of(0.0, hi, PAD_L, W - PAD_R);
    let y = Scale::of(0.0, 1.0, h - 24.0, PAD_T);
    let mut out = open(h + 14.0, name);
    y_axis(&mut out, &y, "fraction");
    x_axis(&mut out, &x, h - 8.0);
    let _ = write!(
        out,
        "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        W - PAD_R,
        h + 8.0,
        esc(unit)
    );
    let p99 = y.at(0.99);
    let _ = write!(
        out,
        "<line class=\"slo\" x1=\"{PAD_L}\" x2=\"{}\" y1=\"{p99:.1}\" y2=\"{p99:.1}\"><title>99th percentile</title></line>",
        W - PAD_R
    );
    if let Some(s) = slo {
        let px = x.at(s);
        let _ = write!(
            out,
            "<line class=\"slo\" x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{PAD_T}\" y2=\"{}\"><title>SLO {} {}</title></line>",
            h - 24.0,
            super::short_num(s),
            esc(unit)
        );
    }
    for (i, (label, s)) in lines.iter().enumerate() {
        let n = s.len();
        if n == 0 {
            continue;
        }
        // at most 200 points: the values at evenly spaced fractions
        let k = n.min(200);
        let mut d = String::new();
        for j in 0..k {
            let idx = if k == n {
                j
            } else {
                j * (n - 1) / (k - 1).max(1)
            };
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if j == 0 { "M" } else { "L" },
                x.at(s[idx]),
                y.at((idx + 1) as f64 / n as f64)
            );
        }
        let _ = write!(
            out,
            "<path class=\"series\" d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"><title>{}</title></path>",
            PALETTE[i % PALETTE.len()],
            esc(label)
        );
    }
    out.push_str("</svg>");
    out
}

/// Steps as bars from their start (seconds after the run's start) for
/// their duration; failed steps marked.
pub fn waterfall(steps: &[(String, f64, f64, bool)]) -> String {
    let row = 18.0;
    let h = PAD_T + row * steps.len() as f64 + 20.0;
    let end = steps.iter().map(|s| s.1 + s.2).fold(0.0f64, f64::max);
    let left = 200.0;
    let x = Scale::of(0.0, end, left, W - PAD_R);
    let mut out = open(h, "steps");
    for (i, (name, start, dur, ok)) in steps.iter().enumerate() {
        let y0 = PAD_T + row * i as f64;
        let (a, b) = (x.at(*start), x.at(start + dur));
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"{}\" x=\"{a:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}: {} s{}</title></rect>",
            left - 6.0,
            y0 + 12.0,
            esc(name),
            if *ok { "step" } else { "step failed" },
            y0 + 2.0,
            (b - a).max(1.5),
            row - 4.0,
            esc(name),
            super::short_num(*dur),
            if *ok { "" } else { ", failed" }
        );
    }
    let _ = write!(
        out,
        "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{} s</text></svg>",
        W - PAD_R,
        h - 4.0,
        super::short_num(end)
    );
    out
}

/// At most about `2 * buckets` points of a long series: per bucket of
/// consecutive samples its minimum and maximum, in time order, so spikes
/// survive (a mean would hide them).
pub fn downsample(pts: &[(f64, f64)], buckets: usize) -> Vec<(f64, f64)> {
    if pts.len() <= 2 * buckets {
        return pts.to_vec();
    }
    let size = pts.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(2 * buckets);
    for chunk in pts.chunks(size) {
        let lo = chunk.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
        let hi = chunk.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
        if lo.0 <= hi.0 {
            out.extend([*lo, *hi]);
        } else {
            out.extend([*hi, *lo]);
        }
    }
    out.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsampling_keeps_spikes_and_order() {
        let mut pts: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, 1.0)).collect();
        pts[4321].1 = 50.0;
        let d = downsample(&pts, 100);
        assert!(d.len() <= 200, "{}", d.len());
        assert!(d.contains(&(4321.0, 50.0)));
        assert!(d.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(downsample(&pts[..10], 100).len(), 10);
    }

    #[test]
    fn charts_escape_their_text_and_carry_hover_titles() {
        let g = BoxGroup {
            label: "mode=<xdp>",
            values: vec![1.0, 2.0, 3.0],
            titles: vec!["run-001".into(), "run-002".into(), "run-003".into()],
        };
        let s = box_strip("t", "Gbit/s", &[g]);
        assert!(s.contains("mode=&lt;xdp&gt;") && !s.contains("<xdp>"));
        assert_eq!(s.matches("<circle").count(), 3);
        assert!(s.contains("<title>run-002</title>"));
        let c = cdf("c", "s", &[("r".into(), vec![1.0, 2.0])], Some(5.0));
        assert!(c.contains("SLO 5 s"), "{c}");
    }

    #[test]
    fn ticks_are_round() {
        let s = Scale {
            lo: 0.0,
            hi: 9.7,
            p0: 0.0,
            p1: 1.0,
        };
        assert_eq!(s.ticks(), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
    }
}
