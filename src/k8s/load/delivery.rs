//! Offered against achieved load (open loop, as wrk2 and k6's arrival-rate
//! executors see it): each request of `create_objects` and `churn` keeps
//! when the rate plan meant it to go, when it went, and when it was
//! answered. From those: the offered and achieved rate overall and per
//! 10 s window, how late requests went, requests never sent, and the
//! latency from sending and from the intended time (the latter corrected
//! for coordinated omission: a request held back by the client's own
//! backlog counts its wait).

use serde::Serialize;

/// Whether requests keep their three times: `SCAFFOLD_LOAD_TIMINGS=off`
/// turns the bookkeeping off, only to measure what it costs (the bench's
/// `load_bookkeeping`); loads then have no delivery figures.
pub fn timings_on() -> bool {
    std::env::var("SCAFFOLD_LOAD_TIMINGS").map_or(true, |v| v != "off")
}

/// Seconds per window of the offered/achieved comparison.
pub const WINDOW: f64 = 10.0;
/// A window delivers when it sent at least this share of what it offered.
pub const DELIVERED: f64 = 0.95;

/// One request's three times, seconds after the load started.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    /// its slot in the rate plan
    pub intended: f32,
    /// when its first attempt went out (none: never sent)
    pub sent: Option<f32>,
    /// when its final answer came (success or failure)
    pub answered: Option<f32>,
}

/// When request `k` of a plan at `qps` with `burst` is meant to go: the
/// first `burst` at once, then one every 1/qps seconds (the rate limit's
/// own plan).
pub fn slot(k: usize, qps: f64, burst: u32) -> f64 {
    let ahead = burst.max(1) as usize - 1;
    k.saturating_sub(ahead) as f64 / qps.max(0.001)
}

/// One window: [start, end) seconds after the load started, the requests
/// it was meant to send and did send, as rates.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Window {
    pub start: f64,
    pub end: f64,
    pub offered: f64,
    pub achieved: f64,
    pub underdelivered: bool,
}

/// p50, p99 and max of some seconds (zeros when there are none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub n: usize,
}

impl Spread {
    fn of(mut xs: Vec<f64>) -> Spread {
        if xs.is_empty() {
            return Spread::default();
        }
        xs.sort_by(|a, b| a.total_cmp(b));
        let p = |q: f64| crate::stats::percentile(&xs, q);
        Spread {
            p50: p(50.0),
            p99: p(99.0),
            max: xs[xs.len() - 1],
            n: xs.len(),
        }
    }
}

/// What a load delivered.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Delivery {
    pub requests: usize,
    /// requests per second the plan asked for, and that went out
    pub offered_rate: f64,
    pub achieved_rate: f64,
    pub windows: Vec<Window>,
    /// sent - intended
    pub lateness: Spread,
    /// planned, never sent (cut short)
    pub not_sent: usize,
    /// answered - sent
    pub latency: Spread,
    /// answered - intended (corrected for coordinated omission)
    pub latency_intended: Spread,
    /// a window sent under 95% of what it offered
    pub underdelivered: bool,
    /// those windows, as "10-20 s"
    pub underdelivered_windows: Vec<String>,
}

impl Delivery {
    /// The figures of a load's requests; `interval` is 1/qps (the plan's
    /// spacing, so a plan's last request still has its second).
    pub fn of(t: &[Timing], interval: f64) -> Delivery {
        let sent: Vec<f64> = t.iter().filter_map(|x| x.sent.map(f64::from)).collect();
        let plan_end = t.iter().map(|x| x.intended).fold(0.0f32, f32::max) as f64 + interval;
        let last_sent = sent.iter().copied().fold(0.0f64, f64::max);
        // the plan's span, or past it to the backlog's last send
        let end = if last_sent < plan_end {
            plan_end
        } else {
            last_sent + interval
        };
        let windows = windows(t, plan_end, end);
        let underdelivered_windows: Vec<String> = windows
            .iter()
            .filter(|w| w.underdelivered)
            .map(|w| format!("{}-{} s", w.start, w.end))
            .collect();
        let diff = |f: fn(&Timing) -> Option<(f32, f32)>| {
            Spread::of(
                t.iter()
                    .filter_map(f)
                    .map(|(a, b)| (a - b) as f64)
                    .collect(),
            )
        };
        Delivery {
            requests: t.len(),
            offered_rate: t.len() as f64 / plan_end,
            achieved_rate: sent.len() as f64 / end,
            lateness: diff(|x| Some((x.sent?, x.intended))),
            not_sent: t.len() - sent.len(),
            latency: diff(|x| Some((x.answered?, x.sent?))),
            latency_intended: diff(|x| Some((x.answered?, x.intended))),
            underdelivered: !underdelivered_windows.is_empty(),
            underdelivered_windows,
            windows,
        }
    }
}

/// The windows: 10 s steps from the start, the plan's end a boundary too
/// (sends after it, the backlog, fall in windows that offered nothing;
/// they never hide a stall inside the plan). A window underdelivers when
/// it sent fewer than 95% of the requests it offered, less one (a request
/// that slipped just past the window's end is not underdelivery).
fn windows(t: &[Timing], plan_end: f64, end: f64) -> Vec<Window> {
    let mut bounds: Vec<f64> = (0..)
        .map(|i| i as f64 * WINDOW)
        .take_while(|b| *b < end)
        .collect();
    bounds.push(end);
    if plan_end < end {
        bounds.push(plan_end);
    }
    bounds.sort_by(|a, b| a.total_cmp(b));
    bounds.dedup_by(|a, b| (*a - *b).abs() < 1e-6);
    let n = bounds.len().max(2) - 1;
    let mut offered = vec![0usize; n];
    let mut sent = vec![0usize; n];
    let at = |s: f32| {
        let s = s as f64;
        bounds[1..].iter().position(|b| s < *b).unwrap_or(n - 1)
    };
    for x in t {
        offered[at(x.intended)] += 1;
        if let Some(s) = x.sent {
            sent[at(s)] += 1;
        }
    }
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    (0..n)
        .map(|i| {
            let (start, stop) = (bounds[i], *bounds.get(i + 1).unwrap_or(&end));
            let len = (stop - start).max(1e-3);
            Window {
                start: round(start),
                end: round(stop),
                offered: offered[i] as f64 / len,
                achieved: sent[i] as f64 / len,
                underdelivered: offered[i] > 0
                    && (sent[i] as f64) < DELIVERED * offered[i] as f64 - 1.0,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(n: usize, qps: f64, sent: impl Fn(usize, f64) -> Option<f64>) -> Vec<Timing> {
        (0..n)
            .map(|k| {
                let i = slot(k, qps, 1);
                let s = sent(k, i);
                Timing {
                    intended: i as f32,
                    sent: s.map(|x| x as f32),
                    answered: s.map(|x| (x + 0.01) as f32),
                }
            })
            .collect()
    }

    #[test]
    fn a_plan_kept_delivers() {
        let d = Delivery::of(&plan(300, 10.0, |_, i| Some(i + 0.002)), 0.1);
        assert!(!d.underdelivered, "{d:?}");
        assert_eq!(d.windows.len(), 3, "{:?}", d.windows);
        assert!((d.offered_rate - 10.0).abs() < 0.01, "{}", d.offered_rate);
        assert!((d.achieved_rate - 10.0).abs() < 0.1, "{}", d.achieved_rate);
        assert!((d.lateness.max - 0.002).abs() < 1e-4);
        assert!((d.latency.p50 - 0.01).abs() < 1e-4);
        assert_eq!(d.not_sent, 0);
    }

    /// From 10 s on requests go at half the rate, late: the windows from
    /// there to the plan's end are named (not the backlog's); the latency from the intended time grows with the
    /// backlog while the latency from sending does not.
    #[test]
    fn a_stalled_window_is_named() {
        let t = plan(300, 10.0, |k, i| {
            Some(if (100..200).contains(&k) {
                10.0 + (k - 100) as f64 * 0.2
            } else if k >= 200 {
                i.max(30.0 + (k - 200) as f64 * 0.1)
            } else {
                i
            })
        });
        let d = Delivery::of(&t, 0.1);
        assert!(d.underdelivered);
        assert_eq!(
            d.underdelivered_windows,
            vec!["10-20 s".to_string(), "20-30 s".to_string()]
        );
        assert!(d.latency_intended.max > 9.0, "{:?}", d.latency_intended);
        assert!(d.latency.max < 0.02);
        assert!(d.lateness.p99 > 9.0);
    }

    #[test]
    fn never_sent_requests_are_counted() {
        let d = Delivery::of(&plan(50, 10.0, |k, i| (k < 40).then_some(i)), 0.1);
        assert_eq!(d.not_sent, 10);
        assert_eq!(d.latency.n, 40);
        // the window they were meant for sent too few
        assert_eq!(d.underdelivered_windows, vec!["0-5 s".to_string()]);
    }

    #[test]
    fn slots_follow_the_burst() {
        assert_eq!(slot(0, 10.0, 5), 0.0);
        assert_eq!(slot(4, 10.0, 5), 0.0);
        assert!((slot(5, 10.0, 5) - 0.1).abs() < 1e-9);
    }
}

#[cfg(test)]
mod window_tests {
    use super::*;

    /// A stall in the plan's last window stays visible although the
    /// backlog is sent after the plan's end.
    #[test]
    fn the_backlog_does_not_hide_a_stall() {
        let t: Vec<Timing> = (0..150)
            .map(|k| {
                let i = slot(k, 10.0, 1);
                let s = if k < 110 {
                    i
                } else {
                    11.0 + (k - 110) as f64 * 0.2
                };
                Timing {
                    intended: i as f32,
                    sent: Some(s as f32),
                    answered: Some(s as f32),
                }
            })
            .collect();
        let d = Delivery::of(&t, 0.1);
        assert_eq!(
            d.underdelivered_windows,
            vec!["10-15 s".to_string()],
            "{:?}",
            d.windows
        );
        let last = d.windows.last().unwrap();
        assert_eq!(last.offered, 0.0);
        assert!(last.achieved > 0.0);
    }
}
