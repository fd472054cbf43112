//! `/metrics`: the API server's request metrics from the fake's own request
//! handling, under the real names (`apiserver_request_duration_seconds`,
//! `apiserver_request_total`) and buckets, so `measure_api` can be
//! developed offline.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// kube-apiserver's buckets of apiserver_request_duration_seconds (1.32).
pub const BUCKETS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// (verb, group, version, resource, subresource, scope)
pub type Key = (String, String, String, String, String, String);

#[derive(Default)]
struct Hist {
    /// per bucket (not cumulative), then the rest (+Inf)
    counts: [u64; 24],
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    hists: Mutex<BTreeMap<Key, Hist>>,
    totals: Mutex<BTreeMap<(Key, u16), u64>>,
}

impl Metrics {
    pub fn observe(&self, key: Key, code: u16, secs: f64) {
        {
            let mut h = self.hists.lock().unwrap();
            let e = h.entry(key.clone()).or_default();
            let i = BUCKETS
                .iter()
                .position(|b| secs <= *b)
                .unwrap_or(BUCKETS.len());
            e.counts[i] += 1;
            e.sum += secs;
        }
        *self.totals.lock().unwrap().entry((key, code)).or_default() += 1;
    }

    /// The Prometheus text format.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let labels = |k: &Key| {
            format!(
                "component=\"apiserver\",dry_run=\"\",group=\"{}\",resource=\"{}\",scope=\"{}\",subresource=\"{}\",verb=\"{}\",version=\"{}\"",
                k.1, k.3, k.5, k.4, k.0, k.2
            )
        };
        let mut out = String::from("# HELP apiserver_request_duration_seconds [STABLE] Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.\n# TYPE apiserver_request_duration_seconds histogram\n");
        for (k, h) in self.hists.lock().unwrap().iter() {
            let l = labels(k);
            let mut cum = 0;
            for (i, b) in BUCKETS.iter().enumerate() {
                cum += h.counts[i];
                let _ = writeln!(
                    out,
                    "apiserver_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {cum}"
                );
            }
            cum += h.counts[BUCKETS.len()];
            let _ = writeln!(
                out,
                "apiserver_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {cum}"
            );
            let _ = writeln!(
                out,
                "apiserver_request_duration_seconds_sum{{{l}}} {}",
                h.sum
            );
            let _ = writeln!(out, "apiserver_request_duration_seconds_count{{{l}}} {cum}");
        }
        out.push_str("# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.\n# TYPE apiserver_request_total counter\n");
        for ((k, code), n) in self.totals.lock().unwrap().iter() {
            let _ = writeln!(
                out,
                "apiserver_request_total{{code=\"{code}\",{}}} {n}",
                labels(k)
            );
        }
        out
    }
}
