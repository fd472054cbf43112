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

pub struct Metrics {
    hists: Mutex<BTreeMap<Key, Hist>>,
    totals: Mutex<BTreeMap<(Key, u16), u64>>,
    /// when this server started (`process_start_time_seconds`, and the
    /// `Process-Start-Time-Unix` header of /metrics, as the API server's)
    started: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            hists: Default::default(),
            totals: Default::default(),
            started: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs(),
        }
    }
}

/// The `/metrics` answer.
pub fn response(m: &Metrics) -> crate::http::Response {
    hyper::Response::builder()
        .status(200)
        .header(
            "content-type",
            "text/plain; version=0.0.4; charset=utf-8; escaping=values",
        )
        .header("process-start-time-unix", m.started.to_string())
        .body(crate::http::full(m.render()))
        .expect("metrics")
}

/// etcd's operation for a request verb.
fn etcd_op(verb: &str) -> Option<&'static str> {
    Some(match verb {
        "GET" => "get",
        "LIST" => "listWithCount",
        "POST" => "create",
        "PUT" | "PATCH" | "APPLY" => "update",
        "DELETE" | "DELETECOLLECTION" => "delete",
        _ => return None,
    })
}

impl Metrics {
    /// etcd_request_duration_seconds: the store's time per operation and
    /// type (the fake's store is memory: its sums are the requests' own).
    fn render_etcd(&self, out: &mut String) {
        use std::fmt::Write;
        out.push_str("# HELP etcd_request_duration_seconds [ALPHA] Etcd request latency in seconds for each operation and object type.\n# TYPE etcd_request_duration_seconds histogram\n");
        let mut per: BTreeMap<(&'static str, String), (u64, f64)> = BTreeMap::new();
        for (k, h) in self.hists.lock().unwrap().iter() {
            let Some(op) = etcd_op(&k.0) else { continue };
            let ty = if k.1.is_empty() {
                k.3.clone()
            } else {
                format!("{}.{}", k.3, k.1)
            };
            let e = per.entry((op, ty)).or_default();
            e.0 += h.counts.iter().sum::<u64>();
            e.1 += h.sum;
        }
        for ((op, ty), (n, sum)) in per {
            let _ = writeln!(out, "etcd_request_duration_seconds_bucket{{operation=\"{op}\",type=\"{ty}\",le=\"+Inf\"}} {n}");
            let _ = writeln!(
                out,
                "etcd_request_duration_seconds_sum{{operation=\"{op}\",type=\"{ty}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "etcd_request_duration_seconds_count{{operation=\"{op}\",type=\"{ty}\"}} {n}"
            );
        }
    }

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
        self.render_etcd(&mut out);
        let _ = writeln!(out, "# HELP process_start_time_seconds [ALPHA] Start time of the process since unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds {}", self.started);
        out.push_str("# HELP apiserver_flowcontrol_current_executing_requests [BETA] Number of requests in initial (for a WATCH) or any (for a non-WATCH) execution stage in the API Priority and Fairness subsystem\n# TYPE apiserver_flowcontrol_current_executing_requests gauge\napiserver_flowcontrol_current_executing_requests{flow_schema=\"exempt\",priority_level=\"exempt\"} 1\n");
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
