//! API latency (`measure_api`), as ClusterLoader2's API responsiveness
//! measurement computes it: the API server's
//! `apiserver_request_duration_seconds` histogram read from `/metrics` at
//! the start and at the end, quantiles from the difference of the bucket
//! counts (linear interpolation inside a bucket, like Prometheus's
//! `histogram_quantile`), and `apiserver_request_total` by code for errors.
//! Two reads that cannot be subtracted (the API server restarted in
//! between, or another replica behind a load balancer answered: a counter
//! went down, or the process start time changed) make the measurement
//! invalid: said, never clamped into a plausible-looking verdict.

use std::collections::BTreeMap;

use crate::stats::{histogram_bucket, histogram_quantile};

/// One call kind: verb, resource (with `/subresource`), scope.
pub type Call = (String, String, String);

/// Requests per (verb, resource, code).
pub type Codes = BTreeMap<(String, String, String), f64>;

/// What one read of `/metrics` holds that we use.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// per call: bucket upper bound -> cumulative count (+Inf as f64::INFINITY)
    pub buckets: BTreeMap<Call, Vec<(f64, f64)>>,
    /// per call: the number of requests (`_count`)
    pub counts: BTreeMap<Call, f64>,
    /// per (verb, resource, code): requests
    pub totals: Codes,
    /// `process_start_time_seconds`: which API server process answered
    pub process_start: Option<f64>,
}

/// `name{a="x",b="y"} 12.5 [timestamp]` -> (name, labels, value)
fn parse_line(line: &str) -> Option<(&str, BTreeMap<&str, &str>, f64)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (name, labels, rest) = match line.find('{') {
        Some(p) => {
            let close = line.rfind('}')?;
            (&line[..p], &line[p + 1..close], &line[close + 1..])
        }
        None => {
            let (n, r) = line.split_once(char::is_whitespace)?;
            (n, "", r)
        }
    };
    let value: f64 = match rest.split_whitespace().next()? {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    let mut m = BTreeMap::new();
    let mut rest = labels;
    while let Some(eq) = rest.find("=\"") {
        let k = rest[..eq].trim_start_matches(',').trim();
        let after = &rest[eq + 2..];
        // the values of these metrics' labels hold no escaped quotes
        let end = after.find('"')?;
        m.insert(k, &after[..end]);
        rest = &after[end + 1..];
    }
    Some((name, m, value))
}

fn call(l: &BTreeMap<&str, &str>) -> Call {
    let res = match (l.get("resource"), l.get("subresource")) {
        (Some(r), Some(s)) if !s.is_empty() => format!("{r}/{s}"),
        (Some(r), _) => r.to_string(),
        _ => String::new(),
    };
    (
        l.get("verb").unwrap_or(&"").to_string(),
        res,
        l.get("scope").unwrap_or(&"").to_string(),
    )
}

/// Read the text of `/metrics`.
pub fn parse(text: &str) -> Snapshot {
    let mut s = Snapshot::default();
    for line in text.lines() {
        let Some((name, l, v)) = parse_line(line) else {
            continue;
        };
        match name {
            "apiserver_request_duration_seconds_bucket" => {
                let le = match l.get("le") {
                    Some(&"+Inf") => f64::INFINITY,
                    Some(x) => match x.parse() {
                        Ok(x) => x,
                        Err(_) => continue,
                    },
                    None => continue,
                };
                let b = s.buckets.entry(call(&l)).or_default();
                // several series (component, dry_run, group, version) per
                // call: summed per bound
                match b.iter_mut().find(|(x, _)| *x == le) {
                    Some(e) => e.1 += v,
                    None => b.push((le, v)),
                }
            }
            "apiserver_request_duration_seconds_count" => {
                *s.counts.entry(call(&l)).or_default() += v;
            }
            "process_start_time_seconds" => s.process_start = Some(v),
            "apiserver_request_total" => {
                let (verb, res, _) = call(&l);
                let code = l.get("code").unwrap_or(&"").to_string();
                *s.totals.entry((verb, res, code)).or_default() += v;
            }
            _ => {}
        }
    }
    for b in s.buckets.values_mut() {
        b.sort_by(|x, y| x.0.total_cmp(&y.0));
    }
    s
}

/// One call kind's latency over the measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct Latency {
    pub call: Call,
    pub count: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    /// the buckets the three lie in (the histogram's resolution)
    pub within: [(f64, f64); 3],
}

/// The SLO of a call (SIG Scalability): 1 s for single-object calls
/// (scope `resource`), 5 s for namespace-scoped lists, 30 s for
/// cluster-wide ones; WATCH and CONNECT are long-lived and have none.
pub fn slo(c: &Call) -> Option<f64> {
    match c.0.as_str() {
        "WATCH" | "WATCHLIST" | "CONNECT" => None,
        _ => match c.2.as_str() {
            "resource" => Some(1.0),
            "namespace" => Some(5.0),
            "cluster" => Some(30.0),
            _ => None,
        },
    }
}

/// Why two reads cannot be subtracted, if they cannot: another process
/// answered (its start time differs), or a counter went down.
pub fn mismatch(start: &Snapshot, end: &Snapshot) -> Option<String> {
    if let (Some(a), Some(b)) = (start.process_start, end.process_start) {
        if a != b {
            return Some(format!(
                "a different API server process answered the second read \
                 (process_start_time_seconds {a} then {b}): it restarted, or \
                 another replica behind a load balancer answered"
            ));
        }
    }
    let fell = |what: &str, was: f64, now: f64| {
        (now < was).then(|| {
            format!(
                "{what} went down from {was} to {now}: the API server restarted, or \
                 another replica behind a load balancer answered"
            )
        })
    };
    for (c, b) in &start.buckets {
        let now = end.buckets.get(c);
        for (le, was) in b {
            let n = now
                .and_then(|x| x.iter().find(|(l, _)| l == le))
                .map_or(0.0, |x| x.1);
            if let Some(why) = fell(
                &format!(
                    "apiserver_request_duration_seconds_bucket{{verb={},resource={},le={le}}}",
                    c.0, c.1
                ),
                *was,
                n,
            ) {
                return Some(why);
            }
        }
    }
    for (k, was) in &start.totals {
        let n = end.totals.get(k).copied().unwrap_or(0.0);
        if let Some(why) = fell(
            &format!(
                "apiserver_request_total{{verb={},resource={},code={}}}",
                k.0, k.1, k.2
            ),
            *was,
            n,
        ) {
            return Some(why);
        }
    }
    None
}

/// The difference `end - start`: per call, quantiles of the requests in
/// between; and the requests by code. Meaningful only without a
/// [`mismatch`].
pub fn delta(start: &Snapshot, end: &Snapshot) -> (Vec<Latency>, Codes) {
    let mut out = vec![];
    for (c, b) in &end.buckets {
        let before = start.buckets.get(c);
        let d: Vec<(f64, f64)> = b
            .iter()
            .map(|(le, n)| {
                let was = before
                    .and_then(|x| x.iter().find(|(l, _)| l == le))
                    .map_or(0.0, |x| x.1);
                (*le, n - was)
            })
            .collect();
        let count = d.last().map_or(0.0, |x| x.1);
        if count <= 0.0 {
            continue;
        }
        out.push(Latency {
            call: c.clone(),
            count,
            p50: histogram_quantile(0.5, &d).unwrap_or(0.0),
            p90: histogram_quantile(0.9, &d).unwrap_or(0.0),
            p99: histogram_quantile(0.99, &d).unwrap_or(0.0),
            within: [0.5, 0.9, 0.99].map(|q| histogram_bucket(q, &d).unwrap_or((0.0, 0.0))),
        });
    }
    let mut codes = BTreeMap::new();
    for (k, n) in &end.totals {
        let d = n - start.totals.get(k).copied().unwrap_or(0.0);
        if d > 0.0 {
            codes.insert(k.clone(), d);
        }
    }
    (out, codes)
}

/// Read the API server's `/metrics`.
pub async fn read(c: &kube::Client) -> Result<Snapshot, crate::k8s::http::K8sError> {
    let b = crate::k8s::http::request(c, "GET", "/metrics", None, vec![], true).await?;
    Ok(parse(&String::from_utf8_lossy(&b)))
}

/// One call's latency over a measurement, with its SLO.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CallReport {
    pub verb: String,
    pub resource: String,
    pub scope: String,
    /// a number of requests (Prometheus writes counts as floats)
    pub count: i64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    /// the histogram buckets p50, p90 and p99 lie in: the true value is
    /// anywhere in its bucket (`histogram_quantile` interpolates linearly)
    pub p50_within: [f64; 2],
    pub p90_within: [f64; 2],
    pub p99_within: [f64; 2],
    pub slo: Option<f64>,
    pub met: bool,
}

/// Requests of one call answered with one error code.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ErrorCall {
    pub verb: String,
    pub resource: String,
    pub code: String,
    pub count: i64,
}

/// Whether every call met its SLO, the ones that did not, and the worst
/// single-object mutating call's p99 (the SLO's figure).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SloReport {
    /// every call within its SLO, and the measurement valid
    pub met: bool,
    pub violations: Vec<String>,
    pub mutating_p99: Option<f64>,
}

/// What `measure_api(..).stop()` returns: per call latencies, errors by
/// code and by call, the SLO.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Report {
    /// what the latencies were measured from
    pub source: &'static str,
    /// false when the two reads cannot be subtracted (see `invalid`)
    pub valid: bool,
    /// why the measurement is invalid; then there are no calls or errors
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid: Option<String>,
    pub calls: Vec<CallReport>,
    pub errors: BTreeMap<String, i64>,
    pub error_calls: Vec<ErrorCall>,
    pub slo: SloReport,
}

/// What `measure_api`'s latencies come from.
pub const SOURCE: &str = "the API server's apiserver_request_duration_seconds histogram: \
    the difference of two reads, percentiles interpolated linearly within a bucket \
    (the true value lies anywhere in its bucket: p99_within)";

const MUTATING: [&str; 5] = ["POST", "PUT", "PATCH", "DELETE", "APPLY"];

impl Report {
    /// The report of what happened between two reads of `/metrics`.
    pub fn between(start: &Snapshot, end: &Snapshot) -> Report {
        if let Some(why) = mismatch(start, end) {
            return Report {
                source: SOURCE,
                valid: false,
                invalid: Some(why.clone()),
                calls: vec![],
                errors: BTreeMap::new(),
                error_calls: vec![],
                slo: SloReport {
                    met: false,
                    violations: vec![format!("the measurement is invalid: {why}")],
                    mutating_p99: None,
                },
            };
        }
        let (lat, codes) = delta(start, end);
        let calls: Vec<CallReport> = lat.iter().map(call_report).collect();
        let violations = calls
            .iter()
            .filter(|c| !c.met)
            .map(|c| {
                let slo = c.slo.unwrap_or(0.0);
                let (v, r, s, p99) = (&c.verb, &c.resource, &c.scope, c.p99);
                format!("{v} {r} ({s}): p99 {p99:.3} s > {slo} s")
            })
            .collect::<Vec<_>>();
        let mutating_p99 = calls
            .iter()
            .filter(|c| MUTATING.contains(&c.verb.as_str()) && c.scope == "resource")
            .map(|c| c.p99)
            .reduce(f64::max);
        let mut errors = BTreeMap::new();
        let mut error_calls = vec![];
        for ((verb, resource, code), n) in &codes {
            if code.parse::<u16>().is_ok_and(|c| c >= 400) {
                let count = n.round() as i64;
                *errors.entry(code.clone()).or_default() += count;
                error_calls.push(ErrorCall {
                    verb: verb.clone(),
                    resource: resource.clone(),
                    code: code.clone(),
                    count,
                });
            }
        }
        Report {
            source: SOURCE,
            valid: true,
            invalid: None,
            calls,
            errors,
            error_calls,
            slo: SloReport {
                met: violations.is_empty(),
                violations,
                mutating_p99,
            },
        }
    }
}

fn call_report(l: &Latency) -> CallReport {
    let slo = slo(&l.call);
    CallReport {
        verb: l.call.0.clone(),
        resource: l.call.1.clone(),
        scope: l.call.2.clone(),
        count: l.count.round() as i64,
        p50: l.p50,
        p90: l.p90,
        p99: l.p99,
        p50_within: [l.within[0].0, l.within[0].1],
        p90_within: [l.within[1].0, l.within[1].1],
        p99_within: [l.within[2].0, l.within[2].1],
        slo,
        met: slo.is_none_or(|s| l.p99 <= s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP apiserver_request_duration_seconds [STABLE] Response latency distribution
# TYPE apiserver_request_duration_seconds histogram
apiserver_request_duration_seconds_bucket{component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1",le="0.005"} 10
apiserver_request_duration_seconds_bucket{component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1",le="0.025"} 60
apiserver_request_duration_seconds_bucket{component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1",le="0.05"} 100
apiserver_request_duration_seconds_bucket{component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1",le="+Inf"} 100
apiserver_request_duration_seconds_count{component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1"} 100
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1"} 97
apiserver_request_total{code="429",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1"} 3
"#;

    #[test]
    fn histogram_quantiles_from_known_buckets() {
        let s = parse(TEXT);
        let c: Call = ("POST".into(), "pods".into(), "resource".into());
        let b = &s.buckets[&c];
        assert_eq!(b.len(), 4);
        // rank 50 of 100 lies in (0.005, 0.025] holding 10..60: 0.005 + 0.02 * 40/50
        assert!((histogram_quantile(0.5, b).unwrap() - 0.021).abs() < 1e-12);
        // rank 99 in (0.025, 0.05] holding 60..100: 0.025 + 0.025 * 39/40
        assert!((histogram_quantile(0.99, b).unwrap() - 0.049375).abs() < 1e-12);
        assert_eq!(s.totals[&("POST".into(), "pods".into(), "429".into())], 3.0);
    }

    #[test]
    fn deltas_count_only_what_happened_in_between() {
        let start = parse(TEXT);
        let end = parse(
            // 100 more requests, all in (0.025, 0.05]: the buckets from 0.05 up
            &TEXT
                .replace("} 100\n", "} 200\n")
                .replace("} 97", "} 190")
                .replace("} 3\n", "} 10\n"),
        );
        let (lat, codes) = delta(&start, &end);
        assert_eq!(lat.len(), 1);
        // the 100 new requests all fell in (0.025, 0.05]
        assert_eq!(lat[0].count, 100.0);
        assert!((lat[0].p50 - 0.0375).abs() < 1e-12, "{:?}", lat[0]);
        assert_eq!(codes[&("POST".into(), "pods".into(), "429".into())], 7.0);
        assert_eq!(codes[&("POST".into(), "pods".into(), "201".into())], 93.0);
    }

    #[test]
    fn slos() {
        assert_eq!(
            slo(&("POST".into(), "pods".into(), "resource".into())),
            Some(1.0)
        );
        assert_eq!(
            slo(&("LIST".into(), "pods".into(), "cluster".into())),
            Some(30.0)
        );
        assert_eq!(
            slo(&("WATCH".into(), "pods".into(), "cluster".into())),
            None
        );
    }

    #[test]
    fn report_of_a_measurement() {
        let r = Report::between(&Snapshot::default(), &parse(TEXT));
        assert_eq!(r.calls.len(), 1);
        let c = &r.calls[0];
        assert_eq!((c.count, c.slo, c.met), (100, Some(1.0), true));
        assert_eq!(r.errors.get("429"), Some(&3));
        assert_eq!(r.error_calls.len(), 1);
        assert_eq!(r.slo.mutating_p99, Some(c.p99));
        assert!(r.slo.met && r.slo.violations.is_empty());
    }

    /// 27.9: a restart or another replica between the reads makes the
    /// measurement invalid, never a clamped "met".
    #[test]
    fn counter_resets_and_other_replicas_make_it_invalid() {
        let start = parse(&format!("{TEXT}\nprocess_start_time_seconds 1000\n"));
        // the same process, counters grown: valid
        let grown = parse(&format!(
            "{}\nprocess_start_time_seconds 1000\n",
            TEXT.replace("} 100\n", "} 200\n")
        ));
        assert!(Report::between(&start, &grown).valid);
        // a restart: the counters start again from less
        let reset = parse(&format!(
            "{}\nprocess_start_time_seconds 1000\n",
            TEXT.replace("} 100\n", "} 50\n")
        ));
        let r = Report::between(&start, &reset);
        assert!(!r.valid && !r.slo.met, "{r:?}");
        assert!(r.invalid.unwrap().contains("went down from 100 to 50"));
        assert!(r.calls.is_empty());
        // another process answered, even with counters that grew
        let other = parse(&format!(
            "{}\nprocess_start_time_seconds 2000\n",
            TEXT.replace("} 100\n", "} 200\n")
        ));
        let r = Report::between(&start, &other);
        assert!(!r.valid && !r.slo.met);
        assert!(r.invalid.unwrap().contains("different API server process"));
    }
}
