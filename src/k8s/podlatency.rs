//! Pod startup latency (`measure_pods`), measured as ClusterLoader2 does:
//! a watch started before the load sees each pod's transitions, and the
//! time of each is the moment the watch saw it. The API's own timestamps
//! (one-second resolution) are kept next to them.
//!
//! Phases, from the pod's creation (the watch's first sight of it, or the
//! API's creationTimestamp):
//! - `scheduled`: condition PodScheduled=True (kube-burner: PodScheduled)
//! - `initialized`: condition Initialized=True (kube-burner: Initialized)
//! - `started`: every container reports `state.running.startedAt` (the
//!   SIG Scalability pod startup SLI; kube-burner's ContainersReady is the
//!   nearest, but includes readiness probes)
//! - `ready`: condition Ready=True (kube-burner: Ready)

use super::http::K8sError;
use super::watch::{Event, Item, Watcher};
use crate::stats::Quantiles;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

pub const PHASES: [&str; 4] = ["scheduled", "initialized", "started", "ready"];

/// What was seen of one pod: per phase, (watch time, API time), as seconds
/// since the Unix epoch.
#[derive(Clone, Debug, Default)]
pub struct PodTimes {
    pub namespace: String,
    pub name: String,
    /// the watch's first sight (ADDED, or the first list)
    pub seen: Option<f64>,
    /// the API's creationTimestamp
    pub created: Option<f64>,
    pub watch: [Option<f64>; 4],
    pub api: [Option<f64>; 4],
    pub failed: bool,
    pub restarted: bool,
    /// it existed before the measurement started (its creation was not seen)
    pub before: bool,
    /// first seen in a re-list after the watch broke (410 Gone): its
    /// watch times are those of the re-list, not of its phases
    pub late: bool,
}

/// How a pod came into view.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sight {
    /// the first list, before the measurement starts
    FirstList,
    /// a re-list after the watch broke
    Relist,
    /// a watch event
    Event,
}

impl PodTimes {
    /// Watch-observed latency of phase `k` (from the watch's first sight).
    pub fn watch_latency(&self, k: usize) -> Option<f64> {
        Some(self.watch[k]? - self.seen?)
    }
    /// API-timestamp latency of phase `k` (whole seconds).
    pub fn api_latency(&self, k: usize) -> Option<f64> {
        Some(self.api[k]? - self.created?)
    }
    /// Counted (watch-based figures): seen being created in time, never
    /// failed or restarted.
    pub fn counted(&self) -> bool {
        self.counted_api() && !self.late
    }
    /// Counted in the API-timestamp figures: those do not depend on when
    /// the watch saw the pod, so a pod observed late counts there.
    pub fn counted_api(&self) -> bool {
        !self.before && !self.failed && !self.restarted
    }
    /// In the startup SLO's population: created during the measurement
    /// and seen in time (whatever became of it).
    pub fn in_slo(&self) -> bool {
        !self.before && !self.late
    }
}

/// `2026-12-01T10:00:01Z` as seconds since the epoch.
pub fn parse_time(ts: &str) -> Option<f64> {
    let t: jiff::Timestamp = ts.parse().ok()?;
    Some(t.as_second() as f64 + f64::from(t.subsec_nanosecond()) / 1e9)
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The part of a pod the measurement reads: the watch parses only these
/// fields (a pod's full JSON, managedFields and all, is several times more
/// work to parse, and the watch sees every update of every pod), and reads
/// times, condition types and states straight into numbers and flags, so an
/// update costs a handful of allocations.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PodState {
    #[serde(default)]
    metadata: Option<PodMeta>,
    #[serde(default)]
    spec: Option<PodSpec>,
    #[serde(default)]
    status: Option<PodStatus>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodMeta {
    #[serde(default)]
    uid: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default, deserialize_with = "time")]
    creation_timestamp: Option<f64>,
    #[serde(default)]
    resource_version: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct PodSpec {
    /// only their number is needed
    #[serde(default)]
    containers: Option<Vec<serde::de::IgnoredAny>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodStatus {
    #[serde(default, rename = "phase", deserialize_with = "is_failed")]
    failed: bool,
    #[serde(default)]
    conditions: Option<Vec<Condition>>,
    #[serde(default)]
    container_statuses: Option<Vec<ContainerStatus>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Condition {
    /// the index in [`PHASES`] of the phase this condition marks
    #[serde(default, rename = "type", deserialize_with = "phase_of")]
    phase: Option<usize>,
    #[serde(default, rename = "status", deserialize_with = "is_true")]
    met: bool,
    #[serde(default, deserialize_with = "time")]
    last_transition_time: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContainerStatus {
    #[serde(default)]
    restart_count: Option<i64>,
    #[serde(default)]
    state: Option<ContainerState>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct ContainerState {
    #[serde(default)]
    running: Option<Running>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Running {
    #[serde(default, deserialize_with = "time")]
    started_at: Option<f64>,
}

/// Reads a string field (or null) through `f` without keeping the string.
struct StrWith<T>(fn(&str) -> Option<T>);

impl<T> serde::de::Visitor<'_> for StrWith<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string or null")
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Option<T>, E> {
        Ok((self.0)(s))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }
}

fn time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_any(StrWith(parse_time))
}

fn phase_of<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    d.deserialize_any(StrWith(|s| match s {
        "PodScheduled" => Some(0),
        "Initialized" => Some(1),
        "Ready" => Some(3),
        _ => None,
    }))
}

fn is_true<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(d.deserialize_any(StrWith(|s| Some(s == "True")))?
        .unwrap_or(false))
}

fn is_failed<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(d.deserialize_any(StrWith(|s| Some(s == "Failed")))?
        .unwrap_or(false))
}

impl Item for PodState {
    fn resource_version(&self) -> Option<&str> {
        self.metadata.as_ref()?.resource_version.as_deref()
    }
}

impl PodState {
    fn uid(&self) -> &str {
        self.metadata
            .as_ref()
            .and_then(|m| m.uid.as_deref())
            .unwrap_or("")
    }
    fn container_statuses(&self) -> &[ContainerStatus] {
        self.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or(&[])
    }
}

/// The phases reached in this state of the pod: (reached, API time).
fn reached(pod: &PodState) -> [Option<Option<f64>>; 4] {
    let mut r = [None; 4];
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_deref());
    for c in conditions.unwrap_or(&[]) {
        if let (Some(k), true) = (c.phase, c.met) {
            r[k] = Some(c.last_transition_time);
        }
    }
    let containers = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.as_ref())
        .map_or(0, Vec::len);
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref());
    r[2] = statuses.and_then(|s| {
        if s.len() < containers || containers == 0 {
            return None;
        }
        let mut latest: Option<f64> = None;
        for c in s {
            let t = c.state.as_ref()?.running.as_ref()?.started_at;
            latest = match (latest, t) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (None, b) => b,
                (a, None) => a,
            };
        }
        Some(latest)
    });
    r
}

/// Record what one watch event (or list item) shows of a pod, at time `at`.
pub fn observe(all: &mut HashMap<String, PodTimes>, pod: &PodState, at: f64, sight: Sight) {
    let uid = pod.uid();
    if !all.contains_key(uid) {
        let md = pod.metadata.clone().unwrap_or_default();
        let first = PodTimes {
            namespace: md.namespace.unwrap_or_default(),
            name: md.name.unwrap_or_default(),
            seen: Some(at),
            created: md.creation_timestamp,
            before: sight == Sight::FirstList,
            late: sight == Sight::Relist,
            ..Default::default()
        };
        all.insert(uid.to_string(), first);
    }
    let Some(p) = all.get_mut(uid) else { return };
    for (k, r) in reached(pod).into_iter().enumerate() {
        if let Some(api) = r {
            if p.watch[k].is_none() {
                p.watch[k] = Some(at);
                p.api[k] = api;
            }
        }
    }
    if pod.status.as_ref().is_some_and(|s| s.failed) {
        p.failed = true;
    }
    let restarts = pod
        .container_statuses()
        .iter()
        .any(|c| c.restart_count.unwrap_or(0) > 0);
    if restarts {
        p.restarted = true;
    }
}

/// A running measurement: one watch per namespace (or one cluster-wide).
pub struct Measure {
    pub pods: Arc<Mutex<HashMap<String, PodTimes>>>,
    pub error: Arc<Mutex<Option<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// the first lists are in (the measurement sees what comes next)
    ready: Vec<tokio::sync::oneshot::Receiver<()>>,
}

impl Measure {
    /// Start watching pods at `paths` (collection paths) with `query`.
    pub fn start(client: &kube::Client, paths: &[String], query: &str) -> Measure {
        let pods = Arc::new(Mutex::new(HashMap::new()));
        let error = Arc::new(Mutex::new(None));
        let mut tasks = vec![];
        let mut ready = vec![];
        for path in paths {
            let (tx, rx) = tokio::sync::oneshot::channel();
            ready.push(rx);
            let mut w: Watcher<PodState> = Watcher::new(client, path, query);
            let (pods, error) = (pods.clone(), error.clone());
            tasks.push(tokio::spawn(async move {
                let mut tx = Some(tx);
                let mut first = true;
                loop {
                    match w.next().await {
                        Ok(Event::Restarted(items)) => {
                            let at = now();
                            let mut all = pods.lock().unwrap();
                            let sight = if first {
                                Sight::FirstList
                            } else {
                                Sight::Relist
                            };
                            for o in &items {
                                observe(&mut all, o, at, sight);
                            }
                            first = false;
                            if let Some(tx) = tx.take() {
                                let _ = tx.send(());
                            }
                        }
                        Ok(Event::Applied(o)) => {
                            observe(&mut pods.lock().unwrap(), &o, now(), Sight::Event)
                        }
                        Ok(Event::Deleted(_)) => {}
                        Err(e) => {
                            *error.lock().unwrap() = Some(e.to_string());
                            return;
                        }
                    }
                }
            }));
        }
        Measure {
            pods,
            error,
            tasks,
            ready,
        }
    }

    /// Wait for the first lists, so nothing created after this is missed.
    pub async fn started(&mut self) -> Result<(), K8sError> {
        for rx in self.ready.drain(..) {
            if rx.await.is_err() {
                let e = self.error.lock().unwrap().clone().unwrap_or_default();
                return Err(K8sError::Transport(e));
            }
        }
        Ok(())
    }

    /// Let the watch catch up with what the API shows now (at most `max`):
    /// a script that stops right after its own wait saw the last pod
    /// ready must not lose that pod's last transition to the watch's lag.
    pub async fn settle(
        &self,
        client: &kube::Client,
        paths: &[String],
        query: &str,
        max: std::time::Duration,
    ) {
        let deadline = std::time::Instant::now() + max;
        let mut want: Vec<(String, usize)> = vec![];
        for p in paths {
            if let Ok((items, _)) = super::http::list_all_as::<PodState>(client, p, query).await {
                for o in &items {
                    let uid = o.uid().to_string();
                    for (k, r) in reached(o).iter().enumerate() {
                        if r.is_some() {
                            want.push((uid.clone(), k));
                        }
                    }
                }
            }
        }
        while std::time::Instant::now() < deadline {
            let done = {
                let all = self.pods.lock().unwrap();
                want.iter()
                    .all(|(u, k)| all.get(u).is_some_and(|p| p.watch[*k].is_some()))
            };
            if done || self.error.lock().unwrap().is_some() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Stop watching; everything seen.
    pub fn stop(&self) -> Vec<PodTimes> {
        for t in &self.tasks {
            t.abort();
        }
        let mut v: Vec<PodTimes> = self.pods.lock().unwrap().values().cloned().collect();
        v.sort_by(|a, b| {
            (a.seen, &a.namespace, &a.name)
                .partial_cmp(&(b.seen, &b.namespace, &b.name))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        v
    }
}

impl Drop for Measure {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The collection paths to watch: one per namespace, or every namespace's
/// pods when none is given.
pub fn watch_paths(namespaces: &[String]) -> Vec<String> {
    if namespaces.is_empty() {
        return vec!["/api/v1/pods".into()];
    }
    namespaces
        .iter()
        .map(|n| format!("/api/v1/namespaces/{}/pods", super::http::urlencode(n)))
        .collect()
}

/// The pod startup SLO (SIG Scalability): p99 of creation to all
/// containers started, watch-observed, at most 5 s.
pub const POD_STARTUP_SLO: f64 = 5.0;

/// The pod startup SLO of a measurement, as ClusterLoader2 judges it:
/// over every pod created during the measurement and seen in time, a pod
/// that never started (an image that cannot be pulled, say) counts as
/// over the threshold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Slo {
    pub name: &'static str,
    pub threshold: f64,
    /// none when there were no pods, or when the pods that never started
    /// reach the 99th percentile (it is beyond any threshold then)
    pub p99: Option<f64>,
    pub met: bool,
    /// the pods judged
    pub pods: usize,
    /// of those, never started
    pub not_started: usize,
}

impl Slo {
    fn of(pods: &[PodTimes]) -> Slo {
        const STARTED: usize = 2;
        let mut xs: Vec<f64> = pods
            .iter()
            .filter(|p| p.in_slo())
            .map(|p| p.watch_latency(STARTED).unwrap_or(f64::INFINITY))
            .collect();
        xs.sort_by(f64::total_cmp);
        let not_started = xs.iter().filter(|x| x.is_infinite()).count();
        let p99 = match xs.len() {
            0 => None,
            n => {
                let hi = (0.99 * (n - 1) as f64).ceil() as usize;
                // the two ranks it lies between are finite (sorted): the
                // same p99 as the phases' when every pod started
                xs[hi]
                    .is_finite()
                    .then(|| crate::stats::percentile(&xs, 99.0))
            }
        };
        Slo {
            name: "pod startup: p99 of creation to all containers started (watch) <= 5 s; a pod that never started counts as over",
            threshold: POD_STARTUP_SLO,
            p99,
            met: p99.is_some_and(|x| x <= POD_STARTUP_SLO),
            pods: xs.len(),
            not_started,
        }
    }
}

/// The pods a measurement leaves out, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Excluded {
    pub failed: usize,
    pub restarted: usize,
    /// there before the measurement started
    pub existing: usize,
    /// counted pods that never became ready
    pub not_ready: usize,
    /// first seen in a re-list after the watch broke: their watch times
    /// are the re-list's, so they stay out of the watch figures
    pub late: usize,
}

/// One counted pod: its times, per phase the latency (`started`), the watch
/// time (`started_at`) and the API time (`started_api`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PerPod {
    pub namespace: String,
    pub name: String,
    #[serde(flatten)]
    pub times: BTreeMap<String, Option<f64>>,
}

/// What `measure_pods(..).stop()` returns: per phase the quantiles of the
/// watch's latencies (`phases`) and the API timestamps' (`api`), the SLO,
/// the pods left out, and each counted pod.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub pods: usize,
    pub phases: BTreeMap<&'static str, Quantiles>,
    pub api: BTreeMap<&'static str, Quantiles>,
    pub slo: Slo,
    pub excluded: Excluded,
    pub per_pod: Vec<PerPod>,
}

/// Per phase, the latencies from the API's one-second timestamps of the
/// pods they count (late-observed pods among them).
pub fn api_series(pods: &[PodTimes]) -> Vec<(&'static str, Vec<f64>)> {
    let counted: Vec<&PodTimes> = pods.iter().filter(|p| p.counted_api()).collect();
    PHASES
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let a = counted.iter().filter_map(|p| p.api_latency(k)).collect();
            (*name, a)
        })
        .collect()
}

/// The uncertainty of a latency from API timestamps: they have whole
/// seconds.
pub const API_RESOLUTION: f64 = 0.5;

/// What a set of latencies was measured from, and how precisely.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Precision {
    pub source: &'static str,
    /// ± seconds of every value (none: the watch's lag could not be timed)
    pub uncertainty: Option<f64>,
    /// the percentiles whose uncertainty is over 10% of their value
    /// (`started.p50`)
    pub imprecise: Vec<String>,
}

impl Precision {
    pub fn of(
        source: &'static str,
        q: &BTreeMap<&'static str, Quantiles>,
        u: Option<f64>,
    ) -> Precision {
        let mut imprecise = vec![];
        if let Some(u) = u {
            for (phase, x) in q {
                for (name, v) in [("p50", x.p50), ("p90", x.p90), ("p99", x.p99)] {
                    if v.is_some_and(|v| u > 0.1 * v.abs()) {
                        imprecise.push(format!("{phase}.{name}"));
                    }
                }
            }
        }
        Precision {
            source,
            uncertainty: u,
            imprecise,
        }
    }
}

/// Per phase, the watch-observed latencies of the counted pods.
pub fn watch_series(pods: &[PodTimes]) -> Vec<(&'static str, Vec<f64>)> {
    let counted: Vec<&PodTimes> = pods.iter().filter(|p| p.counted()).collect();
    PHASES
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let w = counted.iter().filter_map(|p| p.watch_latency(k)).collect();
            (*name, w)
        })
        .collect()
}

impl Summary {
    pub fn of(pods: &[PodTimes]) -> Summary {
        let counted: Vec<&PodTimes> = pods.iter().filter(|p| p.counted()).collect();
        let series = |of: &[&PodTimes], f: &dyn Fn(&PodTimes, usize) -> Option<f64>| {
            PHASES
                .iter()
                .enumerate()
                .map(|(k, name)| {
                    let xs: Vec<f64> = of.iter().filter_map(|p| f(p, k)).collect();
                    (*name, Quantiles::of(&xs))
                })
                .collect::<BTreeMap<_, _>>()
        };
        let phases = series(&counted, &|p, k| p.watch_latency(k));
        let count = |f: &dyn Fn(&PodTimes) -> bool| pods.iter().filter(|p| f(p)).count();
        let api_pods: Vec<&PodTimes> = pods.iter().filter(|p| p.counted_api()).collect();
        Summary {
            pods: counted.len(),
            api: series(&api_pods, &|p, k| p.api_latency(k)),
            slo: Slo::of(pods),
            excluded: Excluded {
                failed: count(&|p| p.failed),
                restarted: count(&|p| p.restarted && !p.failed),
                existing: count(&|p| p.before),
                not_ready: counted.len() - phases["ready"].n,
                late: count(&|p| p.late && !p.before),
            },
            per_pod: counted.iter().map(|p| per_pod(p)).collect(),
            phases,
        }
    }
}

fn per_pod(p: &PodTimes) -> PerPod {
    let mut times = BTreeMap::new();
    times.insert("created".to_string(), p.created);
    times.insert("seen".to_string(), p.seen);
    for (k, name) in PHASES.iter().enumerate() {
        times.insert(name.to_string(), p.watch_latency(k));
        times.insert(format!("{name}_at"), p.watch[k]);
        times.insert(format!("{name}_api"), p.api[k]);
    }
    PerPod {
        namespace: p.namespace.clone(),
        name: p.name.clone(),
        times,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn observe(all: &mut HashMap<String, PodTimes>, pod: &Value, at: f64, first_list: bool) {
        let sight = if first_list {
            Sight::FirstList
        } else {
            Sight::Event
        };
        let pod: PodState = serde_json::from_value(pod.clone()).unwrap();
        super::observe(all, &pod, at, sight)
    }

    #[test]
    fn times_parse_with_and_without_fractions() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Some(1.0));
        assert_eq!(parse_time("2026-12-01T00:00:00Z"), Some(1_796_083_200.0));
        assert!((parse_time("1970-01-01T00:00:01.250Z").unwrap() - 1.25).abs() < 1e-9);
        assert_eq!(parse_time("nonsense"), None);
    }

    /// A scripted sequence of watch events with known times: each phase's
    /// latency is the time the watch saw it, from the first sight.
    #[test]
    fn phases_from_a_sequence_of_flips() {
        let mut all = HashMap::new();
        let pod = |conds: Value, started: bool| {
            json!({"metadata": {"uid": "u1", "name": "p", "namespace": "n", "creationTimestamp": "1970-01-01T00:00:10Z"},
                "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
                "status": {"phase": "Pending", "conditions": conds,
                  "containerStatuses": if started {
                      json!([{"name": "a", "restartCount": 0, "state": {"running": {"startedAt": "1970-01-01T00:00:12Z"}}},
                             {"name": "b", "restartCount": 0, "state": {"running": {"startedAt": "1970-01-01T00:00:13Z"}}}])
                  } else { json!([]) }}})
        };
        let c = |t: &str, at: &str| json!({"type": t, "status": "True", "lastTransitionTime": at});
        observe(&mut all, &pod(json!([]), false), 100.0, false);
        observe(
            &mut all,
            &pod(json!([c("PodScheduled", "1970-01-01T00:00:10Z")]), false),
            100.25,
            false,
        );
        observe(
            &mut all,
            &pod(
                json!([
                    c("PodScheduled", "1970-01-01T00:00:10Z"),
                    c("Initialized", "1970-01-01T00:00:11Z")
                ]),
                false,
            ),
            100.5,
            false,
        );
        let full = json!([
            c("PodScheduled", "1970-01-01T00:00:10Z"),
            c("Initialized", "1970-01-01T00:00:11Z"),
            c("Ready", "1970-01-01T00:00:14Z")
        ]);
        observe(&mut all, &pod(full.clone(), true), 103.0, false);
        observe(&mut all, &pod(full, true), 105.0, false); // repeated: first sight counts
        let p = &all["u1"];
        let w: Vec<Option<f64>> = (0..4).map(|k| p.watch_latency(k)).collect();
        assert_eq!(w, [Some(0.25), Some(0.5), Some(3.0), Some(3.0)]);
        let a: Vec<Option<f64>> = (0..4).map(|k| p.api_latency(k)).collect();
        assert_eq!(a, [Some(0.0), Some(1.0), Some(3.0), Some(4.0)]);
        assert!(p.counted());
    }

    /// The pod as the API server sends it: fields the measurement does not
    /// read are skipped, nulls are absent values.
    #[test]
    fn pod_state_reads_a_full_pod() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "n", "uid": "u", "resourceVersion": "42",
                "creationTimestamp": null, "labels": {"a": "b"},
                "managedFields": [{"manager": "kubelet", "fieldsV1": {"f:status": {}}}]},
            "spec": {"containers": [{"name": "a", "image": "x", "resources": {}}], "nodeName": "n1"},
            "status": {"phase": "Running", "conditions": null, "podIP": "10.0.0.1",
                "containerStatuses": [{"name": "a", "restartCount": 0, "ready": true,
                    "state": {"running": {"startedAt": "1970-01-01T00:00:05Z"}}, "lastState": {}}]}});
        let p: PodState = serde_json::from_value(pod).unwrap();
        assert_eq!(p.resource_version(), Some("42"));
        assert_eq!(p.uid(), "u");
        let r = reached(&p);
        assert_eq!(r[2], Some(Some(5.0)));
        assert_eq!(r[0], None);
        let bare: PodState = serde_json::from_value(json!({"metadata": null})).unwrap();
        assert_eq!(reached(&bare), [None, None, None, None]);
    }

    #[test]
    fn failed_restarted_and_earlier_pods_are_not_counted() {
        let mut all = HashMap::new();
        let mk = |uid: &str, phase: &str, restarts: i64| {
            json!({"metadata": {"uid": uid, "name": uid, "namespace": "n"},
                "spec": {"containers": [{"name": "a"}]},
                "status": {"phase": phase, "containerStatuses": [{"name": "a", "restartCount": restarts, "state": {}}]}})
        };
        observe(&mut all, &mk("f", "Failed", 0), 1.0, false);
        observe(&mut all, &mk("r", "Running", 2), 1.0, false);
        observe(&mut all, &mk("b", "Running", 0), 1.0, true);
        assert!(all.values().all(|p| !p.counted()));
    }

    /// 27.8: a pod first seen in a re-list (after a 410) stays out of the
    /// watch figures and is counted as observed late; its API times count.
    #[test]
    fn pods_first_seen_in_a_relist_are_late_not_fast() {
        let mut all = HashMap::new();
        let running = |uid: &str| {
            json!({"metadata": {"uid": uid, "name": uid, "namespace": "n",
                    "creationTimestamp": "1970-01-01T00:00:10Z"},
                "spec": {"containers": [{"name": "a"}]},
                "status": {"phase": "Running", "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": "1970-01-01T00:00:10Z"},
                    {"type": "Ready", "status": "True", "lastTransitionTime": "1970-01-01T00:00:13Z"}],
                  "containerStatuses": [{"name": "a", "restartCount": 0,
                    "state": {"running": {"startedAt": "1970-01-01T00:00:12Z"}}}]}})
        };
        let pending = json!({"metadata": {"uid": "early", "name": "early", "namespace": "n"},
            "spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Pending"}});
        observe(&mut all, &pending, 100.0, false);
        let late: PodState = serde_json::from_value(running("late")).unwrap();
        super::observe(&mut all, &late, 104.0, Sight::Relist);
        let early: PodState = serde_json::from_value(running("early")).unwrap();
        super::observe(&mut all, &early, 104.0, Sight::Relist);
        let pods: Vec<PodTimes> = all.values().cloned().collect();
        let s = Summary::of(&pods);
        assert_eq!(s.excluded.late, 1);
        assert_eq!(s.pods, 1, "only the pod seen in time");
        assert_eq!(s.phases["started"].p99, Some(4.0));
        assert_eq!(s.api["started"].n, 1, "the late pod's API times count");
        assert_eq!(s.slo.pods, 1);
    }

    /// 27.8: a pod that never started counts against the startup SLO.
    #[test]
    fn pods_that_never_started_fail_the_slo() {
        let mk = |i: usize, started: Option<f64>| PodTimes {
            name: format!("p{i}"),
            seen: Some(0.0),
            watch: [Some(0.1), Some(0.2), started, started],
            ..Default::default()
        };
        let mut pods: Vec<PodTimes> = (0..90).map(|i| mk(i, Some(1.0))).collect();
        let s = Summary::of(&pods);
        assert!(s.slo.met && s.slo.p99 == Some(1.0) && s.slo.not_started == 0);
        pods.extend((90..100).map(|i| mk(i, None)));
        let s = Summary::of(&pods);
        assert!(!s.slo.met, "{:?}", s.slo);
        assert_eq!((s.slo.pods, s.slo.not_started, s.slo.p99), (100, 10, None));
        assert_eq!(
            s.phases["started"].p99,
            Some(1.0),
            "the phases keep the started pods"
        );
        // one in a thousand that never started stays under p99
        let mut many: Vec<PodTimes> = (0..999).map(|i| mk(i, Some(1.0))).collect();
        many.push(mk(999, None));
        let s = Summary::of(&many);
        assert!(s.slo.met && s.slo.not_started == 1, "{:?}", s.slo);
    }
}
