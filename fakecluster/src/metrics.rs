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
    started: std::sync::atomic::AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            hists: Default::default(),
            totals: Default::default(),
            started: std::sync::atomic::AtomicU64::new(now_secs()),
        }
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl Metrics {
    fn started(&self) -> u64 {
        self.started.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// As if the API server process restarted: counters from zero and a
    /// later start time (what a second read after a restart, or from
    /// another replica, shows).
    pub fn restart(&self) {
        self.hists.lock().unwrap().clear();
        self.totals.lock().unwrap().clear();
        let later = now_secs().max(self.started() + 1);
        self.started
            .store(later, std::sync::atomic::Ordering::SeqCst);
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
        .header("process-start-time-unix", m.started().to_string())
        .body(crate::http::full(m.render()))
        .expect("metrics")
}

/// API Priority and Fairness: the families a 1.32 API server exports
/// (tests/traces/discovery-health.json), one sample each for the exempt
/// and global-default levels. The fake does no queueing: nothing waits,
/// every limit is the default configuration's.
fn flowcontrol() -> String {
    let mut out = String::new();
    let pl = |l: &str| format!("priority_level=\"{l}\"");
    let fs = |f: &str, l: &str| format!("flow_schema=\"{f}\",priority_level=\"{l}\"");
    let gauges: [(&str, String, &str); 19] = [
        ("current_executing_requests", fs("exempt", "exempt"), "0"),
        ("current_executing_seats", fs("exempt", "exempt"), "0"),
        (
            "current_inqueue_requests",
            fs("global-default", "global-default"),
            "0",
        ),
        (
            "current_inqueue_seats",
            fs("global-default", "global-default"),
            "0",
        ),
        ("current_limit_seats", pl("global-default"), "49"),
        ("current_r", pl("global-default"), "0"),
        ("demand_seats_average", pl("global-default"), "0"),
        ("demand_seats_high_watermark", pl("global-default"), "0"),
        ("demand_seats_smoothed", pl("global-default"), "0"),
        ("demand_seats_stdev", pl("global-default"), "0"),
        ("dispatch_r", pl("global-default"), "0"),
        ("latest_s", pl("global-default"), "0"),
        ("lower_limit_seats", pl("global-default"), "13"),
        (
            "next_discounted_s_bounds",
            format!("bound=\"max\",{}", pl("global-default")),
            "0",
        ),
        (
            "next_s_bounds",
            format!("bound=\"max\",{}", pl("global-default")),
            "0",
        ),
        ("nominal_limit_seats", pl("global-default"), "49"),
        ("target_seats", pl("global-default"), "49"),
        ("upper_limit_seats", pl("global-default"), "613"),
        ("seat_fair_frac", String::new(), "1"),
    ];
    for (name, labels, v) in gauges {
        let sample = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        out.push_str(&format!("# HELP apiserver_flowcontrol_{name} [ALPHA] (fake) API Priority and Fairness {name}\n# TYPE apiserver_flowcontrol_{name} gauge\napiserver_flowcontrol_{name}{sample} {v}\n"));
    }
    out.push_str(&format!("# HELP apiserver_flowcontrol_dispatched_requests_total [BETA] (fake) Number of requests executed by API Priority and Fairness subsystem\n# TYPE apiserver_flowcontrol_dispatched_requests_total counter\napiserver_flowcontrol_dispatched_requests_total{{{}}} 0\n", fs("exempt", "exempt")));
    let histograms: [(&str, String); 9] = [
        ("demand_seats", pl("global-default")),
        (
            "priority_level_request_utilization",
            format!("phase=\"executing\",{}", pl("global-default")),
        ),
        (
            "priority_level_seat_utilization",
            format!("phase=\"executing\",{}", pl("global-default")),
        ),
        (
            "read_vs_write_current_requests",
            "phase=\"executing\",request_kind=\"readOnly\"".to_string(),
        ),
        (
            "request_execution_seconds",
            format!("{},type=\"regular\"", fs("exempt", "exempt")),
        ),
        (
            "request_queue_length_after_enqueue",
            fs("global-default", "global-default"),
        ),
        (
            "request_wait_duration_seconds",
            format!("execute=\"true\",{}", fs("exempt", "exempt")),
        ),
        (
            "watch_count_samples",
            fs("global-default", "global-default"),
        ),
        ("work_estimated_seats", fs("exempt", "exempt")),
    ];
    for (name, labels) in &histograms {
        out.push_str(&format!("# HELP apiserver_flowcontrol_{name} [ALPHA] (fake) API Priority and Fairness {name}\n# TYPE apiserver_flowcontrol_{name} histogram\napiserver_flowcontrol_{name}_bucket{{{labels},le=\"+Inf\"}} 0\napiserver_flowcontrol_{name}_sum{{{labels}}} 0\napiserver_flowcontrol_{name}_count{{{labels}}} 0\n"));
    }
    out
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
        let _ = writeln!(out, "# HELP process_start_time_seconds [ALPHA] Start time of the process since unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds {}", self.started());
        out.push_str(&flowcontrol());
        out.push_str("# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.\n# TYPE apiserver_request_total counter\n");
        for ((k, code), n) in self.totals.lock().unwrap().iter() {
            let _ = writeln!(
                out,
                "apiserver_request_total{{code=\"{code}\",{}}} {n}",
                labels(k).replace(",verb=", ",system_client=\"\",verb=")
            );
        }
        out
    }
}
