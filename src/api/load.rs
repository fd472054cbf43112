//! Control-plane load and its measurements from scripts, in the manner of
//! kube-burner and ClusterLoader2: `create_objects` (with `churn`),
//! `measure_pods` (pod startup latency), `measure_api` (API latency).

use crate::api::call::{block_on, client, default_ns, error, secs, to_json, RResult};
use crate::api::opts::Opts;
use crate::host::{Host, Owned};
use crate::k8s::apimetrics::{self, Snapshot};
use crate::k8s::load::churn::Churn;
use crate::k8s::load::delivery::Delivery;
use crate::k8s::load::{self, Item, Load, Rate};
use crate::k8s::podlatency::{self, Measure, PodTimes};
use crate::k8s::watchlag::{self, Lag};
use rhai::plugin::*;
use rhai::{Array, Dynamic, FnPtr, Map, NativeCallContext};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Script handle of a load.
#[derive(Clone)]
pub struct LoadHandle(pub Arc<Load>, pub Rate);

/// Script handle of a pod startup measurement.
#[derive(Clone)]
pub struct PodMeasure(
    pub Arc<Mutex<Option<Measure>>>,
    pub bool,
    pub Arc<(kube::Client, Vec<String>, String)>,
    /// the watch's lag, timed as the measurement started
    pub Option<Lag>,
);

/// Script handle of an API latency measurement.
#[derive(Clone)]
pub struct ApiMeasure(pub Arc<(kube::Client, Snapshot, bool)>);

const CREATE_OPTS: &[&str] = &[
    "count",
    "qps",
    "burst",
    "concurrency",
    "namespace",
    "namespaces",
    "namespace_prefix",
    "set_labels",
    "keep",
    "timeout",
    "vars",
];

/// The objects of a load: the template (a file or YAML text) or the
/// closure's object for each i, named, namespaced and labelled.
fn build_items(
    ctx: &NativeCallContext,
    h: &Host,
    template: &Dynamic,
    o: &Opts,
    count: usize,
    id: &str,
    namespaces: &[String],
) -> RResult<Vec<Item>> {
    let f = "create_objects";
    let disc = crate::api::objects::discovery(h, f)?;
    let vars = o
        .map("vars")?
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let labels = o
        .map("set_labels")?
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let spec = load::items::Spec {
        run_id: h.run_id(),
        load_id: id,
        count,
        default_ns: o.string("namespace")?.unwrap_or_else(|| default_ns(h)),
        namespaces,
        vars,
        labels,
    };
    let source = source(ctx, h, template, count)?;
    Load::items(&source, &spec, &disc).map_err(|e| error(format!("{f}: {e}")))
}

/// A template file or text, or the closure called for each i.
fn source(
    ctx: &NativeCallContext,
    h: &Host,
    template: &Dynamic,
    count: usize,
) -> RResult<load::items::Source> {
    let f = "create_objects";
    if template.is_string() {
        let t = template.to_string();
        let p = h.resolve_path(&t);
        if !t.contains('\n') && p.is_file() {
            return std::fs::read_to_string(&p)
                .map(load::items::Source::Template)
                .map_err(|e| error(format!("{f}: cannot read {}: {e}", p.display())));
        }
        return Ok(load::items::Source::Template(t));
    }
    let Some(fp) = template.clone().try_cast::<FnPtr>() else {
        return Err(error(format!(
            "{f}: the template must be YAML text, a file, or a closure |i| #{{...}}; got {}",
            template.type_name()
        )));
    };
    let mut objs = Vec::with_capacity(count);
    for i in 0..count {
        let v: Dynamic = fp.call_within_context(ctx, (i as i64,))?;
        if !v.is_map() {
            return Err(error(format!(
                "{f}: the closure returned {}, not an object map",
                v.type_name()
            )));
        }
        objs.push(to_json(&v));
    }
    Ok(load::items::Source::Objects(objs))
}

fn rate(o: &Opts) -> RResult<Rate> {
    let qps = o.float("qps")?.unwrap_or(20.0);
    if !(qps > 0.0 && qps.is_finite()) {
        return Err(error(format!(
            "create_objects: qps {qps} must be a positive number"
        )));
    }
    let burst = o.int("burst")?.unwrap_or(qps.ceil() as i64);
    let conc = o.int("concurrency")?.unwrap_or(32);
    if burst < 1 || conc < 1 {
        return Err(error(
            "create_objects: burst and concurrency must be at least 1",
        ));
    }
    Ok(Rate {
        qps,
        burst: burst.min(u32::MAX as i64) as u32,
        concurrency: conc as usize,
    })
}

/// A typed result as the map a script reads.
fn to_map<T: serde::Serialize>(v: &T) -> RResult<Map> {
    rhai::serde::to_dynamic(v)?
        .try_cast::<Map>()
        .ok_or_else(|| error("internal error: a result is not a map"))
}

/// What `measure_pods(..).stop()` returns, and records (`record`).
fn pod_summary(h: &Host, pods: &[PodTimes], record: bool, lag: Option<Lag>) -> RResult<Map> {
    let s = podlatency::Summary::of(pods);
    let watch = podlatency::Precision::of(
        "watch arrival (client clock)",
        &s.phases,
        lag.map(|l| l.p99),
    );
    let api = podlatency::Precision::of(
        "API timestamps (whole seconds)",
        &s.api,
        Some(podlatency::API_RESOLUTION),
    );
    if record {
        let series = [
            (
                "pod_latency",
                "watch",
                podlatency::watch_series(pods),
                watch.uncertainty,
            ),
            (
                "pod_latency_api",
                "api",
                podlatency::api_series(pods),
                api.uncertainty,
            ),
        ];
        for (prefix, source, all, u) in series {
            for (name, xs) in all {
                if xs.is_empty() {
                    continue;
                }
                let mut tags = serde_json::Map::new();
                tags.insert("source".into(), Value::String(source.into()));
                if let Some(u) = u {
                    tags.insert("uncertainty_seconds".into(), serde_json::json!(u));
                }
                h.results().record_many(
                    &format!("{prefix}_{name}_seconds"),
                    xs.iter().map(|x| serde_json::json!(x)).collect(),
                    Some("s".into()),
                    tags,
                );
            }
        }
    }
    if !watch.imprecise.is_empty() {
        crate::ui::warn(&format!(
            "measure_pods: the watch's lag (±{1:.3} s) is over 10% of {0}: too short to measure through a watch",
            watch.imprecise.join(", "),
            watch.uncertainty.unwrap_or(0.0)
        ));
    }
    let mut m = to_map(&s)?;
    m.insert(
        "watch_lag".into(),
        lag.map(|l| to_map(&l).map(Dynamic::from_map))
            .transpose()?
            .unwrap_or(Dynamic::UNIT),
    );
    m.insert(
        "phases_precision".into(),
        Dynamic::from_map(to_map(&watch)?),
    );
    m.insert("api_precision".into(), Dynamic::from_map(to_map(&api)?));
    Ok(m)
}

/// The watch's lag through a canary ConfigMap in the script's namespace
/// (watchlag.rs); none, with a warning, when it cannot be timed.
fn watch_lag(h: &Arc<Host>, c: &kube::Client) -> RResult<Option<Lag>> {
    let ns = default_ns(h);
    let name = format!("scaffold-canary-{}-{}", h.run_id(), h.next_session());
    let labels = crate::k8s::labels::labels(h.run_id());
    let r = block_on(
        h,
        watchlag::calibrate(c, &ns, &name, labels, watchlag::PATCHES),
    )?;
    match r {
        Ok(l) => Ok(Some(l)),
        Err(e) => {
            crate::ui::warn(&format!(
                "measure_pods: cannot time the watch's lag with a ConfigMap in {ns} ({e}); \
                 the watch figures carry no uncertainty"
            ));
            Ok(None)
        }
    }
}

/// A load's delivery into the run's results, tagged with the load:
/// `<prefix>_offered_per_second` and `_achieved_per_second` (one sample
/// per 10 s window, at its start), `_offered_overall_per_second` and
/// `_achieved_overall_per_second`, `_lateness_{p50,p99,max}_seconds`,
/// `_latency_{p50,p99}_seconds` (from sending),
/// `_latency_intended_{p50,p99}_seconds` (from the intended time),
/// `_not_sent`, `_underdelivered` (0 or 1) and `_underdelivered_windows`.
/// Underdelivery is also a warning now (and again as the run ends).
fn delivered(
    h: &Host,
    f: &str,
    prefix: &str,
    id: &str,
    d: &Delivery,
    started: std::time::SystemTime,
) {
    let mut tags = serde_json::Map::new();
    tags.insert("load".into(), Value::String(id.to_string()));
    let t0 = crate::results::unix_ms(started);
    let s = |u: &str| Some(u.to_string());
    {
        let mut r = h.results();
        let mut one = |name: &str, v: Value, unit: Option<String>| {
            r.record(&format!("{prefix}_{name}"), v, unit, tags.clone())
        };
        for (name, x) in [
            ("lateness_p50_seconds", d.lateness.p50),
            ("lateness_p99_seconds", d.lateness.p99),
            ("lateness_max_seconds", d.lateness.max),
            ("latency_p50_seconds", d.latency.p50),
            ("latency_p99_seconds", d.latency.p99),
            ("latency_intended_p50_seconds", d.latency_intended.p50),
            ("latency_intended_p99_seconds", d.latency_intended.p99),
        ] {
            one(name, serde_json::json!(x), s("s"));
        }
        one(
            "offered_overall_per_second",
            serde_json::json!(d.offered_rate),
            s("1/s"),
        );
        one(
            "achieved_overall_per_second",
            serde_json::json!(d.achieved_rate),
            s("1/s"),
        );
        one("not_sent", serde_json::json!(d.not_sent), None);
        one(
            "underdelivered",
            serde_json::json!(d.underdelivered as u8),
            None,
        );
        if d.underdelivered {
            one(
                "underdelivered_windows",
                serde_json::json!(d.underdelivered_windows.join(", ")),
                None,
            );
        }
        let at = |w: &load::delivery::Window| t0 + (w.start * 1000.0) as i64;
        let offered = d
            .windows
            .iter()
            .map(|w| (at(w), serde_json::json!(w.offered)));
        r.record_timed(
            &format!("{prefix}_offered_per_second"),
            offered.collect(),
            s("1/s"),
            tags.clone(),
        );
        let achieved = d
            .windows
            .iter()
            .map(|w| (at(w), serde_json::json!(w.achieved)));
        r.record_timed(
            &format!("{prefix}_achieved_per_second"),
            achieved.collect(),
            s("1/s"),
            tags.clone(),
        );
    }
    if d.underdelivered {
        crate::ui::warn(&format!("{f}: {}", underdelivery(d)));
    }
}

/// What an underdelivered load did, and what to change.
pub fn underdelivery(d: &Delivery) -> String {
    format!(
        "underdelivered: the windows {} sent under 95% of the planned {:.1}/s \
         (achieved {:.1}/s overall, requests up to {:.2} s late{}); raise concurrency, \
         lower qps, or look at what slowed the API server",
        d.underdelivered_windows.join(", "),
        d.offered_rate,
        d.achieved_rate,
        d.lateness.max,
        if d.not_sent > 0 {
            format!(", {} never sent", d.not_sent)
        } else {
            String::new()
        }
    )
}

/// `/metrics` of the API server, read; a 403 says what access it needs.
fn read_metrics(h: &Host, c: &kube::Client, func: &str) -> RResult<Snapshot> {
    match block_on(h, apimetrics::read(c))? {
        Ok(s) => Ok(s),
        Err(e) if e.code() == Some(403) => Err(error(format!(
            "{func}: reading the API server's /metrics is forbidden for this user ({e}); it needs get on the nonResourceURL /metrics (for example the ClusterRole system:monitoring bound to the user), or measure without measure_api"
        ))),
        Err(e) => Err(error(format!("{func}: cannot read /metrics: {e}"))),
    }
}

#[export_module]
pub mod load_api {
    use super::*;
    use crate::api::call::host;
    use rhai::EvalAltResult;

    /// Create `count` objects from a template at a rate, like kube-burner:
    /// the template is YAML text or a file with `{{i}}`, `{{namespace}}`,
    /// `{{run_id}}` and your `vars` substituted, or a closure `|i| #{...}`
    /// returning the object. Options: `count` (required), `qps` (20),
    /// `burst` (= qps), `concurrency` (requests in flight, 32), `namespace`
    /// (default: the context's), `namespaces` (N: spread over N namespaces
    /// it creates, `<namespace_prefix>-<k>`), `namespace_prefix`
    /// (`load-<run id>`), `set_labels` (a map), `vars`, `keep` (false),
    /// `timeout` (seconds one object may be throttled, 300).
    /// Every object carries the run's labels and `scaffold.load/id`; 429s
    /// are waited out, retried and counted, for up to `timeout`. A
    /// namespace or object of that name that is not this run's is never
    /// adopted: the namespace is an error, the object counts as failed; a
    /// namespace still being deleted is waited for. What it made is
    /// deleted at the end of the run unless `keep: true` (`scaffold
    /// cleanup` finds it).
    /// The handle has `.created`, `.failed`, `.throttled`,
    /// `.throttled_seconds`, `.delivery` (offered against achieved load,
    /// recorded as `load_*`: docs/results.md), `.duration`,
    /// `.rate` (created per second), `.errors`, `.namespaces`,
    /// `.wait_ready(#{timeout})` and `.delete(#{wait})`.
    ///
    /// ```rhai
    /// let load = create_objects(`
    /// apiVersion: v1
    /// kind: Pod
    /// metadata: {name: "pod-{{i}}"}
    /// spec: {containers: [{name: c, image: "{{image}}"}]}
    /// `, #{count: 100, qps: 20, namespaces: 2, vars: #{image: "registry.k8s.io/pause:3.10"}});
    /// load.wait_ready(#{timeout: 300});
    /// ```
    #[rhai_fn(name = "create_objects", return_raw)]
    pub fn create_objects(
        ctx: NativeCallContext,
        template: Dynamic,
        options: Map,
    ) -> Result<LoadHandle, Box<EvalAltResult>> {
        let f = "create_objects";
        let h = host(&ctx)?;
        let o = Opts::new(f, options, CREATE_OPTS)?;
        let count = o.int("count")?.ok_or_else(|| {
            error(format!(
                "{f}: give count, the number of objects (count: 100)"
            ))
        })?;
        if !(1..=1_000_000).contains(&count) {
            return Err(error(format!(
                "{f}: count {count} must be between 1 and 1000000"
            )));
        }
        let rate = rate(&o)?;
        let c = client(&h, f)?;
        let id = format!("{}-{}", h.run_id(), h.next_load());
        let n_ns = o.int("namespaces")?.unwrap_or(0);
        if !(0..=10_000).contains(&n_ns) {
            return Err(error(format!(
                "{f}: namespaces {n_ns} must be between 0 and 10000"
            )));
        }
        let prefix = o
            .string("namespace_prefix")?
            .unwrap_or_else(|| format!("load-{}", h.run_id()));
        let namespaces: Vec<String> = (0..n_ns).map(|k| format!("{prefix}-{k}")).collect();
        let items = build_items(&ctx, &h, &template, &o, count as usize, &id, &namespaces)?;
        for it in &items {
            if !it.ns.is_empty() {
                h.uses_namespace(&it.ns);
            }
        }
        let keep = o.bool("keep", false)?;
        let mut l = Load::new(c, id, items, namespaces, keep);
        if let Some(t) = o.duration("timeout")? {
            l.timeout = t;
        }
        let l = Arc::new(l);
        h.own(Owned::Load(l.clone()));
        let _t = h.trace(f, || format!("{count} objects at {} qps", rate.qps));
        block_on(&h, l.make_namespaces(h.run_id()))?.map_err(|e| error(format!("{f}: {e}")))?;
        let all: Vec<usize> = (0..l.items.len()).collect();
        let started = std::time::SystemTime::now();
        let timings = block_on(&h, l.create(&all, rate))?;
        if !timings.is_empty() {
            let d = Delivery::of(&timings, 1.0 / rate.qps);
            delivered(&h, f, "load", &l.id, &d, started);
            *l.delivery.lock().unwrap() = d;
        }
        let throttled = l.throttled.load(std::sync::atomic::Ordering::Relaxed);
        if throttled > 0 {
            let secs = l.throttled_ms.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1000.0;
            crate::ui::info(&format!(
                "{f}: the API server throttled {throttled} request(s) (429); {secs:.1} s spent waiting them out"
            ));
        }
        let failed = l.failed.load(std::sync::atomic::Ordering::Relaxed);
        if failed > 0 {
            crate::ui::warn(&format!(
                "{f}: {failed} of {count} objects failed: {}",
                l.errors.lock().unwrap().join("; ")
            ));
        }
        Ok(LoadHandle(l, rate))
    }

    /// Objects created (and still there).
    #[rhai_fn(get = "created")]
    pub fn created(l: &mut LoadHandle) -> i64 {
        l.0.created_count() as i64
    }
    /// Objects that could not be created.
    #[rhai_fn(get = "failed")]
    pub fn failed(l: &mut LoadHandle) -> i64 {
        l.0.failed.load(std::sync::atomic::Ordering::Relaxed) as i64
    }
    /// 429 answers waited out and retried.
    #[rhai_fn(get = "throttled")]
    pub fn throttled(l: &mut LoadHandle) -> i64 {
        l.0.throttled.load(std::sync::atomic::Ordering::Relaxed) as i64
    }
    /// Seconds spent waiting out 429s, summed over requests.
    #[rhai_fn(get = "throttled_seconds")]
    pub fn throttled_seconds(l: &mut LoadHandle) -> f64 {
        l.0.throttled_ms.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1000.0
    }
    /// Offered against achieved load of the creation (open loop): each
    /// request's slot in the rate plan, when it went and when it was
    /// answered, as `#{requests, offered_rate, achieved_rate, windows:
    /// [#{start, end, offered, achieved, underdelivered}], lateness:
    /// #{p50, p99, max, n}, not_sent, latency, latency_intended,
    /// underdelivered, underdelivered_windows}` (rates per second, times in
    /// seconds; `latency` from sending, `latency_intended` from the
    /// intended time, which counts the client's own backlog). A 10 s
    /// window that sent under 95% of its planned requests (less one) is
    /// underdelivered.
    #[rhai_fn(get = "delivery", return_raw)]
    pub fn delivery(l: &mut LoadHandle) -> Result<Map, Box<EvalAltResult>> {
        to_map(&*l.0.delivery.lock().unwrap())
    }
    /// Seconds the creation took.
    #[rhai_fn(get = "duration")]
    pub fn duration(l: &mut LoadHandle) -> f64 {
        *l.0.duration.lock().unwrap()
    }
    /// Objects created per second.
    #[rhai_fn(get = "rate")]
    pub fn rate_of(l: &mut LoadHandle) -> f64 {
        let d = *l.0.duration.lock().unwrap();
        if d > 0.0 {
            l.0.created_count() as f64 / d
        } else {
            0.0
        }
    }
    /// The first errors, for messages.
    #[rhai_fn(get = "errors")]
    pub fn errors(l: &mut LoadHandle) -> Array {
        l.0.errors
            .lock()
            .unwrap()
            .iter()
            .map(|e| Dynamic::from(e.clone()))
            .collect()
    }
    /// The namespaces the load made.
    #[rhai_fn(get = "namespaces")]
    pub fn namespaces(l: &mut LoadHandle) -> Array {
        l.0.namespaces
            .iter()
            .map(|n| Dynamic::from(n.clone()))
            .collect()
    }

    /// Wait until every created pod, Deployment, DaemonSet and StatefulSet
    /// of the load is ready (other kinds are ready once created); a failed
    /// pod is an error at once. Shows how many are ready as it goes; a
    /// timeout names what is not ready and why, with the reasons of a
    /// workload's pods (an image that cannot be pulled, say). Option:
    /// `timeout` (seconds, 300). Returns how many were waited for.
    #[rhai_fn(name = "wait_ready", return_raw)]
    pub fn wait_ready(
        ctx: NativeCallContext,
        l: &mut LoadHandle,
        options: Map,
    ) -> Result<i64, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("wait_ready", options, &["timeout"])?;
        let t = o.duration("timeout")?.unwrap_or(Duration::from_secs(300));
        let _t = h.trace("load.wait_ready", String::new);
        let id = &l.0.id;
        let progress = crate::ui::Progress::start(&format!("wait_ready: load {id}"));
        // a spinner follows every change; a log gets a line every 5 s
        let tty = crate::ui::stderr_is_tty();
        let mut shown = Instant::now();
        let n = block_on(
            &h,
            l.0.wait_ready(t, |ready, total| {
                if tty || ready == total || shown.elapsed() >= Duration::from_secs(5) {
                    shown = Instant::now();
                    progress.set(&format!("wait_ready: load {id}: {ready} of {total} ready"));
                }
            }),
        )?
        .map_err(|e| error(format!("wait_ready: load {id}: {e}")))?;
        Ok(n as i64)
    }

    /// Delete the load (its namespaces when it made them, else its objects
    /// by label). Option: `wait` (true: until everything is gone, at most
    /// `timeout` seconds, 300).
    #[rhai_fn(name = "delete", return_raw)]
    pub fn delete_load(
        ctx: NativeCallContext,
        l: &mut LoadHandle,
        options: Map,
    ) -> Result<(), Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("delete", options, &["wait", "timeout"])?;
        let t = o.duration("timeout")?.unwrap_or(Duration::from_secs(300));
        let wait = o.bool("wait", true)?.then_some(t);
        let _t = h.trace("load.delete", String::new);
        let left = h
            .interrupt()
            .shielded(|| h.rt().block_on(l.0.delete_all(wait)));
        if !left.is_empty() {
            return Err(error(format!(
                "delete: load {}: {}",
                l.0.id,
                left.join("; ")
            )));
        }
        Ok(())
    }

    /// `delete` with `wait: true`.
    #[rhai_fn(name = "delete", return_raw)]
    pub fn delete_load1(
        ctx: NativeCallContext,
        l: &mut LoadHandle,
    ) -> Result<(), Box<EvalAltResult>> {
        delete_load(ctx, l, Map::new())
    }

    /// `wait_ready` with a 300 s timeout.
    #[rhai_fn(name = "wait_ready", return_raw)]
    pub fn wait_ready1(
        ctx: NativeCallContext,
        l: &mut LoadHandle,
    ) -> Result<i64, Box<EvalAltResult>> {
        wait_ready(ctx, l, Map::new())
    }

    /// Text of a load.
    #[rhai_fn(name = "to_string", name = "to_debug")]
    pub fn load_string(l: &mut LoadHandle) -> String {
        format!(
            "Load({}: {} created, {} failed)",
            l.0.id,
            l.0.created_count(),
            l.0.failed.load(std::sync::atomic::Ordering::Relaxed)
        )
    }

    /// Churn a load as kube-burner does: `cycles` times, delete `percent`
    /// of its objects (waiting until they are gone), create them again at
    /// the load's rate, wait until they are ready, then pause `interval`
    /// seconds. Options: `percent` (10), `interval` (10), `cycles` (1),
    /// `timeout` (per wait, 300). Returns `#{deleted, created, failed,
    /// delivery}`, `delivery` as the load's `.delivery` over every cycle's
    /// creates (times from the churn's start), recorded as `churn_*`.
    #[rhai_fn(name = "churn", return_raw)]
    pub fn churn(
        ctx: NativeCallContext,
        l: LoadHandle,
        options: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new(
            "churn",
            options,
            &["percent", "interval", "cycles", "timeout"],
        )?;
        let c = Churn {
            percent: o.float("percent")?.unwrap_or(10.0),
            interval: match o.raw("interval") {
                Some(v) => secs("churn: interval", v)?,
                None => Duration::from_secs(10),
            },
            cycles: o.int("cycles")?.unwrap_or(1).max(0) as usize,
            timeout: o.duration("timeout")?.unwrap_or(Duration::from_secs(300)),
        };
        // each cycle's -v trace line ends as the next one starts
        let mut cycle_trace = None;
        let churn = l.0.churn(c, l.1, |cycle, k| {
            cycle_trace.take();
            cycle_trace = Some(h.trace("churn", || format!("cycle {}: {k} objects", cycle + 1)));
        });
        let started = std::time::SystemTime::now();
        let done = block_on(&h, churn)?.map_err(|e| error(format!("churn: {e}")))?;
        delivered(&h, "churn", "churn", &l.0.id, &done.delivery, started);
        to_map(&done)
    }

    /// Start measuring pod startup latency, as ClusterLoader2 does: a watch
    /// (started now, before the load) sees each pod's PodScheduled,
    /// Initialized, all containers started and Ready, and the time of each
    /// is when the watch saw it. Options: `namespace` or `namespaces` (an
    /// array; default all namespaces), `selector` (labels, a string or a
    /// map), `record` (true: `.stop()` records the series
    /// `pod_latency_{scheduled,initialized,started,ready}_seconds`).
    /// `.stop()` returns `#{pods, phases, api, slo, excluded, per_pod}`:
    /// per phase p50/p90/p99/max/n from the watch's times (`api`: the same
    /// from the API's one-second timestamps), the pod startup SLO (p99 of
    /// creation to all containers started <= 5 s, over every pod created
    /// meanwhile: one that never started counts as over, so `slo` also
    /// has `pods` and `not_started`), and the pods left out (failed,
    /// restarted, existing before, not ready, and `late`: first seen in a
    /// re-list after the watch broke, so their watch times are the
    /// re-list's; their API times still count).
    /// Every figure says what it was measured from and how precisely:
    /// `watch_lag` (`#{p50, p99, max, samples}`: a canary ConfigMap in the
    /// script's namespace, patched 10 times as the measurement starts,
    /// each timed to its watch event), `phases_precision` (`#{source:
    /// "watch arrival (client clock)", uncertainty: the lag's p99,
    /// imprecise}`) and `api_precision` (API timestamps: whole seconds,
    /// ±0.5 s); `imprecise` names the percentiles whose uncertainty is
    /// over 10% of their value (`started.p50`), and a warning says it for
    /// the watch. Recorded series carry `source` and
    /// `uncertainty_seconds` tags; `pod_latency_api_{phase}_seconds` holds
    /// the API timestamps' latencies (late-observed pods too).
    ///
    /// ```rhai
    /// let m = measure_pods(#{namespace: "load"});
    /// create_objects("pod.yaml", #{count: 30, namespace: "load"}).wait_ready();
    /// let r = m.stop();
    /// print(`started p99 ${r.phases.started.p99} s, SLO met: ${r.slo.met}`);
    /// ```
    #[rhai_fn(name = "measure_pods", return_raw)]
    pub fn measure_pods(
        ctx: NativeCallContext,
        options: Map,
    ) -> Result<PodMeasure, Box<EvalAltResult>> {
        let f = "measure_pods";
        let h = host(&ctx)?;
        let o = Opts::new(
            f,
            options,
            &["namespace", "namespaces", "selector", "record"],
        )?;
        let mut nss = o.strings("namespaces")?.unwrap_or_default();
        if let Some(ns) = o.string("namespace")? {
            nss.push(ns);
        }
        let paths = podlatency::watch_paths(&nss);
        let q = crate::k8s::objects::selector_query(&o.selector("selector")?, "");
        let c = client(&h, f)?;
        let record = o.bool("record", true)?;
        let _t = h.trace(f, || paths.join(", "));
        let mut m = {
            let _g = h.rt().enter();
            Measure::start(&c, &paths, &q)
        };
        block_on(&h, m.started())?.map_err(|e| error(format!("{f}: cannot watch pods: {e}")))?;
        let lag = watch_lag(&h, &c)?;
        Ok(PodMeasure(
            Arc::new(Mutex::new(Some(m))),
            record,
            Arc::new((c, paths, q)),
            lag,
        ))
    }

    /// `measure_pods` over all namespaces.
    #[rhai_fn(name = "measure_pods", return_raw)]
    pub fn measure_pods0(ctx: NativeCallContext) -> Result<PodMeasure, Box<EvalAltResult>> {
        measure_pods(ctx, Map::new())
    }

    /// Stop a pod measurement: the latencies (see `measure_pods`).
    #[rhai_fn(name = "stop", return_raw)]
    pub fn stop_pods(
        ctx: NativeCallContext,
        m: &mut PodMeasure,
    ) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let Some(meas) = m.0.lock().unwrap().take() else {
            return Err(error("stop: this measurement was stopped already"));
        };
        if let Some(e) = meas.error.lock().unwrap().clone() {
            return Err(error(format!("measure_pods: the watch failed: {e}")));
        }
        let (c, paths, q) = &*m.2;
        block_on(&h, meas.settle(c, paths, q, Duration::from_secs(3)))?;
        let pods = meas.stop();
        pod_summary(&h, &pods, m.1, m.3)
    }

    /// Start measuring API latency as ClusterLoader2 does: read the API
    /// server's `/metrics` now; `.stop()` reads it again and returns, per
    /// call (verb, resource, scope), the request count and p50/p90/p99 from
    /// the difference of the `apiserver_request_duration_seconds` buckets,
    /// its SLO (1 s for single objects, 5 s for namespace lists, 30 s for
    /// cluster lists) and whether it was met, plus the requests answered
    /// with an error (`apiserver_request_total`): `errors` counts them by
    /// code (`#{"404": 2}`), `error_calls` by call
    /// (`[#{verb, resource, code, count}]`). Records
    /// Latencies come from the histogram (`source`): each call's
    /// `p50_within`, `p90_within`, `p99_within` are the buckets they lie
    /// in, the histogram's resolution; the record is tagged with half the
    /// p99's bucket as its uncertainty.
    /// `api_mutating_p99_seconds` (the worst single-object mutating call,
    /// the SLO's figure). Needs get on the nonResourceURL `/metrics`.
    /// When the two reads cannot be subtracted (the API server restarted,
    /// or another replica behind a load balancer answered: a counter went
    /// down or the process start time changed), `.stop()` warns and says
    /// `valid: false` with the reason in `invalid`, no calls, `slo.met`
    /// false, and records nothing. Option: `record` (true).
    #[rhai_fn(name = "measure_api", return_raw)]
    pub fn measure_api(
        ctx: NativeCallContext,
        options: Map,
    ) -> Result<ApiMeasure, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("measure_api", options, &["record"])?;
        let c = client(&h, "measure_api")?;
        let s = read_metrics(&h, &c, "measure_api")?;
        Ok(ApiMeasure(Arc::new((c, s, o.bool("record", true)?))))
    }

    /// `measure_api` with default options.
    #[rhai_fn(name = "measure_api", return_raw)]
    pub fn measure_api0(ctx: NativeCallContext) -> Result<ApiMeasure, Box<EvalAltResult>> {
        measure_api(ctx, Map::new())
    }

    /// Stop an API measurement: `#{valid, calls, errors, error_calls, slo}`
    /// (and `invalid`, the reason, when it is not valid; see `measure_api`).
    #[rhai_fn(name = "stop", return_raw)]
    pub fn stop_api(ctx: NativeCallContext, m: &mut ApiMeasure) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let end = read_metrics(&h, &m.0 .0, "measure_api")?;
        let r = apimetrics::Report::between(&m.0 .1, &end);
        if let Some(why) = &r.invalid {
            crate::ui::warn(&format!(
                "measure_api: the measurement is invalid (nothing recorded, slo.met false): {why}; \
                 measure against one API server (its own address, not a load balancer) and \
                 rerun if it restarted"
            ));
        }
        if let (true, Some(w)) = (m.0 .2, r.slo.mutating_p99) {
            // ± half the bucket the worst call's p99 lies in
            let within = r
                .calls
                .iter()
                .find(|c| c.p99 == w)
                .map(|c| c.p99_within)
                .filter(|b| b[1].is_finite());
            let mut tags = serde_json::Map::new();
            tags.insert("source".into(), Value::String("apiserver histogram".into()));
            if let Some(b) = within {
                tags.insert(
                    "uncertainty_seconds".into(),
                    serde_json::json!((b[1] - b[0]) / 2.0),
                );
            }
            h.results().record(
                "api_mutating_p99_seconds",
                serde_json::json!(w),
                Some("s".into()),
                tags,
            );
        }
        to_map(&r)
    }
}
