//! Readiness (SPEC.md "Readiness rules"): the original's allow-list of
//! conditions, pod phases and completed containers, plus rollout checks for
//! Deployments, DaemonSets and StatefulSets. `verify` checks once;
//! `wait` watches (one watch per kind) until everything holds.

use super::http::{self, K8sError};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

/// Conditions that must be True.
pub const MUST_BE_TRUE: &[&str] = &[
    "Ready",
    "Initialized",
    "ContainersReady",
    "PodScheduled",
    "PodReadyToStartContainers",
    "Progressing",
    "Available",
];
/// Conditions that must be False.
pub const MUST_BE_FALSE: &[&str] = &[
    "MemoryPressure",
    "DiskPressure",
    "PIDPressure",
    "NetworkUnavailable",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Node,
    Pod,
    Deployment,
    DaemonSet,
    StatefulSet,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Node,
        Kind::Pod,
        Kind::Deployment,
        Kind::DaemonSet,
        Kind::StatefulSet,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Node => "node",
            Kind::Pod => "pod",
            Kind::Deployment => "deployment",
            Kind::DaemonSet => "daemonset",
            Kind::StatefulSet => "statefulset",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Kind::Node => "/api/v1/nodes",
            Kind::Pod => "/api/v1/pods",
            Kind::Deployment => "/apis/apps/v1/deployments",
            Kind::DaemonSet => "/apis/apps/v1/daemonsets",
            Kind::StatefulSet => "/apis/apps/v1/statefulsets",
        }
    }

    /// `nodes`, `Node`, `node`, `deploy`, ...
    pub fn parse(s: &str) -> Result<Kind, String> {
        let l = s.to_ascii_lowercase();
        Ok(match l.trim_end_matches('s') {
            "node" | "no" => Kind::Node,
            "pod" | "po" => Kind::Pod,
            "deployment" | "deploy" => Kind::Deployment,
            "daemonset" | "d" => Kind::DaemonSet,
            "statefulset" | "st" => Kind::StatefulSet,
            _ => {
                return Err(format!(
                    "unknown kind '{s}'; readiness is checked for nodes, pods, deployments, daemonsets, statefulsets"
                ))
            }
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Condition {
    #[serde(rename = "type")]
    pub ctype: String,
    pub status: String,
    /// `ok`, `bad` or `unknown` (a type the rules do not know)
    pub verdict: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Container {
    pub name: String,
    /// `ready`, `completed` or `not ready`
    pub state: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The readiness of one resource.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    pub ready: bool,
    /// why it is not ready (empty when ready)
    pub reason: String,
    pub conditions: Vec<Condition>,
    pub containers: Vec<Container>,
}

impl Verdict {
    pub fn id(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }

    /// One line like the original's output.
    pub fn line(&self) -> String {
        let mut s = format!(
            "{:<9} {:<11} {}",
            if self.ready { "ready" } else { "NOT READY" },
            self.kind.name(),
            self.id()
        );
        if !self.reason.is_empty() {
            s.push_str(&format!("  [{}]", self.reason));
        }
        if !self.conditions.is_empty() {
            let c: Vec<String> = self
                .conditions
                .iter()
                .map(|c| match c.verdict {
                    "unknown" => format!("{}={}(unknown)", c.ctype, c.status),
                    _ => format!("{}={}", c.ctype, c.status),
                })
                .collect();
            s.push_str(&format!("  conditions: {}", c.join(" ")));
        }
        if !self.containers.is_empty() {
            let c: Vec<String> = self
                .containers
                .iter()
                .map(|c| {
                    if c.detail.is_empty() {
                        format!("{}={}", c.name, c.state)
                    } else {
                        format!("{}={}({})", c.name, c.state, c.detail)
                    }
                })
                .collect();
            s.push_str(&format!("  containers: {}", c.join(" ")));
        }
        s
    }
}

fn conditions(obj: &Value) -> Vec<Condition> {
    obj["status"]["conditions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    let t = c["type"].as_str().unwrap_or("").to_string();
                    let st = c["status"].as_str().unwrap_or("").to_string();
                    let verdict = if MUST_BE_TRUE.contains(&t.as_str()) {
                        if st == "True" {
                            "ok"
                        } else {
                            "bad"
                        }
                    } else if MUST_BE_FALSE.contains(&t.as_str()) {
                        if st == "False" {
                            "ok"
                        } else {
                            "bad"
                        }
                    } else {
                        "unknown"
                    };
                    Condition {
                        ctype: t,
                        status: st,
                        verdict,
                        reason: c["reason"].as_str().unwrap_or("").to_string(),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn containers(obj: &Value) -> Vec<Container> {
    let mut out = vec![];
    for field in ["initContainerStatuses", "containerStatuses"] {
        for c in obj["status"][field].as_array().cloned().unwrap_or_default() {
            let name = c["name"].as_str().unwrap_or("").to_string();
            let term = &c["state"]["terminated"];
            let (state, detail) = if term.is_object() && term["reason"] == "Completed" {
                ("completed", String::new())
            } else if c["ready"] == true {
                ("ready", String::new())
            } else if let Some(r) = c["state"]["waiting"]["reason"].as_str() {
                ("not ready", r.to_string())
            } else if term.is_object() {
                (
                    "not ready",
                    format!(
                        "{} exit {}",
                        term["reason"].as_str().unwrap_or("terminated"),
                        term["exitCode"]
                    ),
                )
            } else {
                ("not ready", String::new())
            };
            out.push(Container {
                name,
                state,
                detail,
            });
        }
    }
    out
}

fn num(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// Apply the rules to one object.
pub fn evaluate(kind: Kind, obj: &Value) -> Verdict {
    let md = &obj["metadata"];
    let mut v = Verdict {
        kind,
        namespace: md["namespace"].as_str().unwrap_or("").to_string(),
        name: md["name"].as_str().unwrap_or("").to_string(),
        ready: true,
        reason: String::new(),
        conditions: conditions(obj),
        containers: if kind == Kind::Pod {
            containers(obj)
        } else {
            vec![]
        },
    };
    let bad: Vec<&Condition> = v.conditions.iter().filter(|c| c.verdict == "bad").collect();
    let bad_names: Vec<String> = bad
        .iter()
        .map(|c| {
            if c.reason.is_empty() {
                format!("{}={}", c.ctype, c.status)
            } else {
                format!("{}={} ({})", c.ctype, c.status, c.reason)
            }
        })
        .collect();
    let st = &obj["status"];
    let mut problems: Vec<String> = vec![];
    match kind {
        Kind::Node => {
            if !bad.is_empty() {
                problems.push(format!("condition {}", bad_names.join(", ")));
            }
            if v.conditions.is_empty() {
                problems.push("no conditions reported yet".into());
            }
        }
        Kind::Pod => {
            let phase = st["phase"].as_str().unwrap_or("Pending");
            if phase != "Running" && phase != "Succeeded" {
                let waiting: Vec<String> = v
                    .containers
                    .iter()
                    .filter(|c| !c.detail.is_empty())
                    .map(|c| format!("container {} {}", c.name, c.detail))
                    .collect();
                let sched = v
                    .conditions
                    .iter()
                    .find(|c| c.ctype == "PodScheduled" && c.status == "False");
                let mut p = format!("phase {phase}");
                if let Some(s) = sched {
                    let msg = obj["status"]["conditions"]
                        .as_array()
                        .and_then(|a| a.iter().find(|c| c["type"] == "PodScheduled"))
                        .and_then(|c| c["message"].as_str())
                        .unwrap_or("");
                    p.push_str(format!(": {} {}", s.reason, msg).trim_end());
                } else if !waiting.is_empty() {
                    p.push_str(&format!(": {}", waiting.join(", ")));
                }
                problems.push(p);
            } else if !bad.is_empty() {
                // Job pods: only Ready/ContainersReady false because containers completed
                let only_readiness = bad
                    .iter()
                    .all(|c| c.ctype == "Ready" || c.ctype == "ContainersReady");
                let completed = phase == "Succeeded"
                    || (!v.containers.is_empty()
                        && v.containers
                            .iter()
                            .filter(|c| c.state != "ready")
                            .all(|c| c.state == "completed"));
                if !(only_readiness && completed) {
                    let not_ready: Vec<String> = v
                        .containers
                        .iter()
                        .filter(|c| c.state == "not ready")
                        .map(|c| {
                            if c.detail.is_empty() {
                                c.name.clone()
                            } else {
                                format!("{} {}", c.name, c.detail)
                            }
                        })
                        .collect();
                    let mut p = format!("condition {}", bad_names.join(", "));
                    if !not_ready.is_empty() {
                        p.push_str(&format!("; containers not ready: {}", not_ready.join(", ")));
                    }
                    problems.push(p);
                }
            }
        }
        Kind::Deployment | Kind::DaemonSet | Kind::StatefulSet => {
            if !bad.is_empty() {
                problems.push(format!("condition {}", bad_names.join(", ")));
            }
            let generation = num(&md["generation"]);
            let observed = num(&st["observedGeneration"]);
            if observed < generation {
                problems.push(format!(
                    "generation {generation} not observed yet (observed {observed})"
                ));
            }
            match kind {
                Kind::Deployment => {
                    let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
                    let (cur, upd, avail) = (
                        num(&st["replicas"]),
                        num(&st["updatedReplicas"]),
                        num(&st["availableReplicas"]),
                    );
                    if upd != want || avail != want || cur != want {
                        problems.push(format!("rollout: {upd} updated, {avail} available, {cur} total of {want} replicas"));
                    }
                }
                Kind::DaemonSet => {
                    let (want, ready, upd) = (
                        num(&st["desiredNumberScheduled"]),
                        num(&st["numberReady"]),
                        num(&st["updatedNumberScheduled"]),
                    );
                    if ready != want || upd != want {
                        problems.push(format!(
                            "rollout: {ready} ready, {upd} updated of {want} scheduled"
                        ));
                    }
                }
                _ => {
                    let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
                    let ready = num(&st["readyReplicas"]);
                    if ready != want {
                        problems.push(format!("rollout: {ready} of {want} replicas ready"));
                    }
                    if st["currentRevision"] != st["updateRevision"] {
                        problems.push(format!(
                            "rollout: revision {} is not {} yet",
                            st["currentRevision"].as_str().unwrap_or("?"),
                            st["updateRevision"].as_str().unwrap_or("?")
                        ));
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        v.ready = false;
        v.reason = problems.join("; ");
    }
    v
}

/// Which resources to check.
#[derive(Clone, Debug)]
pub struct Scope {
    pub kinds: Vec<Kind>,
    /// empty: all namespaces
    pub namespaces: Vec<String>,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            kinds: Kind::ALL.to_vec(),
            namespaces: vec![],
        }
    }
}

impl Scope {
    fn wants(&self, v: &Verdict) -> bool {
        v.namespace.is_empty()
            || self.namespaces.is_empty()
            || self.namespaces.contains(&v.namespace)
    }
}

/// The result of a check: not-ready resources first.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub ready: bool,
    pub resources: Vec<Verdict>,
}

impl Report {
    fn new(mut resources: Vec<Verdict>) -> Report {
        resources.sort_by(|a, b| {
            (a.ready, a.kind, &a.namespace, &a.name).cmp(&(b.ready, b.kind, &b.namespace, &b.name))
        });
        Report {
            ready: resources.iter().all(|v| v.ready),
            resources,
        }
    }

    pub fn not_ready(&self) -> impl Iterator<Item = &Verdict> {
        self.resources.iter().filter(|v| !v.ready)
    }
}

/// One-shot check (paginated lists, all kinds concurrently).
pub async fn verify(client: &kube::Client, scope: &Scope) -> Result<Report, K8sError> {
    let lists = futures::future::join_all(scope.kinds.iter().map(|k| async move {
        let mut out = vec![];
        http::list_pages(client, k.path(), "", |page| {
            out.extend(page.iter().map(|o| evaluate(*k, o)))
        })
        .await?;
        Ok::<_, K8sError>(out)
    }))
    .await;
    let mut all = vec![];
    for l in lists {
        all.extend(l?.into_iter().filter(|v| scope.wants(v)));
    }
    Ok(Report::new(all))
}

/// Why `wait` gave up.
#[derive(Debug)]
pub enum WaitError {
    Timeout {
        waited: Duration,
        not_ready: Vec<Verdict>,
        readyz: Option<String>,
    },
    Api(K8sError),
}

impl std::fmt::Display for WaitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WaitError::Api(e) => write!(f, "{e}"),
            WaitError::Timeout {
                waited,
                readyz: Some(r),
                ..
            } => {
                write!(
                    f,
                    "timed out after {:.0}s waiting for the API server's /readyz: {r}",
                    waited.as_secs_f64()
                )
            }
            WaitError::Timeout {
                waited, not_ready, ..
            } => {
                write!(
                    f,
                    "timed out after {:.0}s; {} resource(s) not ready:",
                    waited.as_secs_f64(),
                    not_ready.len()
                )?;
                for v in not_ready.iter().take(50) {
                    write!(f, "\n  {} {}: {}", v.kind.name(), v.id(), v.reason)?;
                }
                if not_ready.len() > 50 {
                    write!(f, "\n  ... and {} more", not_ready.len() - 50)?;
                }
                Ok(())
            }
        }
    }
}

enum Update {
    Snapshot(Kind, Vec<Verdict>),
    Upsert(Verdict),
    Delete(Kind, String, String),
}

/// Wait for `/readyz`, then watch every kind until all resources are ready.
/// `progress(not_ready, total)` is called when the count changes.
pub async fn wait(
    client: &kube::Client,
    scope: &Scope,
    timeout: Duration,
    mut progress: impl FnMut(usize, usize),
) -> Result<Report, WaitError> {
    let start = Instant::now();
    let deadline = start + timeout;
    // 1. /readyz, as the original's wait_ready did first
    let mut last_readyz: Option<String>;
    loop {
        match super::facts::readyz(client).await {
            Ok(r) if r.ok => break,
            Ok(r) => last_readyz = Some(r.failing().join(", ")),
            Err(e) => last_readyz = Some(e.to_string()),
        }
        if Instant::now() >= deadline {
            return Err(WaitError::Timeout {
                waited: start.elapsed(),
                not_ready: vec![],
                readyz: last_readyz,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // 2. one list + watch per kind
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Result<Update, K8sError>>();
    let mut tasks = vec![];
    for k in scope.kinds.clone() {
        let tx = tx.clone();
        let client = client.clone();
        tasks.push(tokio::spawn(async move { watch_kind(client, k, tx).await }));
    }
    drop(tx);
    let mut state: BTreeMap<(Kind, String, String), Verdict> = BTreeMap::new();
    let mut seen: HashSet<Kind> = HashSet::new();
    let mut last_count = usize::MAX;
    let result = loop {
        let first = match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
            Err(_) => {
                let not_ready: Vec<Verdict> =
                    state.values().filter(|v| !v.ready).cloned().collect();
                break Err(WaitError::Timeout {
                    waited: start.elapsed(),
                    not_ready,
                    readyz: None,
                });
            }
            Ok(None) => {
                break Err(WaitError::Api(K8sError::Transport(
                    "all watches ended".into(),
                )))
            }
            Ok(Some(u)) => u,
        };
        let mut batch = vec![first];
        while let Ok(u) = rx.try_recv() {
            batch.push(u);
        }
        let mut failed = None;
        for u in batch {
            match u {
                Err(e) => failed = Some(e),
                Ok(Update::Snapshot(k, items)) => {
                    seen.insert(k);
                    state.retain(|(kk, _, _), _| *kk != k);
                    for v in items.into_iter().filter(|v| scope.wants(v)) {
                        state.insert((k, v.namespace.clone(), v.name.clone()), v);
                    }
                }
                Ok(Update::Upsert(v)) => {
                    if scope.wants(&v) {
                        state.insert((v.kind, v.namespace.clone(), v.name.clone()), v);
                    }
                }
                Ok(Update::Delete(k, ns, n)) => {
                    state.remove(&(k, ns, n));
                }
            }
        }
        if let Some(e) = failed {
            break Err(WaitError::Api(e));
        }
        let not_ready = state.values().filter(|v| !v.ready).count();
        if not_ready != last_count {
            last_count = not_ready;
            progress(not_ready, state.len());
        }
        if seen.len() == scope.kinds.len() && not_ready == 0 {
            break Ok(Report::new(state.values().cloned().collect()));
        }
    };
    for t in tasks {
        t.abort();
    }
    result
}

/// List, then watch from the list's resourceVersion; resume dropped watches
/// from the last seen version, re-list on 410 Gone.
async fn watch_kind(
    client: kube::Client,
    k: Kind,
    tx: tokio::sync::mpsc::UnboundedSender<Result<Update, K8sError>>,
) {
    use futures::StreamExt;
    'relist: loop {
        let mut snapshot = vec![];
        let listed = http::list_pages(&client, k.path(), "", |page| {
            snapshot.extend(page.iter().map(|o| evaluate(k, o)))
        })
        .await;
        let mut rv = match listed {
            Ok(rv) => rv,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        if tx.send(Ok(Update::Snapshot(k, snapshot))).is_err() {
            return;
        }
        let mut failures = 0;
        loop {
            let path = format!(
                "{}?watch=1&allowWatchBookmarks=true&timeoutSeconds=290&resourceVersion={}",
                k.path(),
                http::urlencode(&rv)
            );
            let req = ::http::Request::get(path)
                .body(vec![])
                .expect("watch request");
            let stream = match client.request_events::<Value>(req).await {
                Ok(s) => s,
                Err(e) => {
                    failures += 1;
                    if failures > 50 {
                        let _ = tx.send(Err(K8sError::Transport(format!(
                            "watching {}s: {e}",
                            k.name()
                        ))));
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            failures = 0;
            futures::pin_mut!(stream);
            while let Some(ev) = stream.next().await {
                use kube::api::WatchEvent as W;
                let (obj, deleted) = match ev {
                    Ok(W::Added(o)) | Ok(W::Modified(o)) => (o, false),
                    Ok(W::Deleted(o)) => (o, true),
                    Ok(W::Bookmark(b)) => {
                        rv = b.metadata.resource_version;
                        continue;
                    }
                    Ok(W::Error(e)) if e.code == 410 => continue 'relist,
                    Ok(W::Error(_)) | Err(_) => break,
                };
                if let Some(r) = obj["metadata"]["resourceVersion"].as_str() {
                    rv = r.to_string();
                }
                let u = if deleted {
                    Update::Delete(
                        k,
                        obj["metadata"]["namespace"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                        obj["metadata"]["name"].as_str().unwrap_or("").to_string(),
                    )
                } else {
                    Update::Upsert(evaluate(k, &obj))
                };
                if tx.send(Ok(u)).is_err() {
                    return;
                }
            }
            // the watch ended (timeout, dropped connection): resume from rv
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(phase: &str, conds: &[(&str, &str)], containers: Value) -> Value {
        let c: Vec<Value> = conds
            .iter()
            .map(|(t, s)| json!({"type": t, "status": s}))
            .collect();
        json!({"metadata": {"name": "p", "namespace": "ns"}, "status": {"phase": phase, "conditions": c, "containerStatuses": containers}})
    }

    #[test]
    fn each_true_condition() {
        for t in MUST_BE_TRUE {
            let ok = evaluate(
                Kind::Node,
                &json!({"metadata": {"name": "n"}, "status": {"conditions": [{"type": t, "status": "True"}]}}),
            );
            assert!(ok.ready, "{t}=True");
            let bad = evaluate(
                Kind::Node,
                &json!({"metadata": {"name": "n"}, "status": {"conditions": [{"type": t, "status": "False"}]}}),
            );
            assert!(!bad.ready, "{t}=False");
            assert!(bad.reason.contains(t));
        }
    }

    #[test]
    fn each_false_condition() {
        for t in MUST_BE_FALSE {
            let ok = evaluate(
                Kind::Node,
                &json!({"metadata": {"name": "n"}, "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": t, "status": "False"}]}}),
            );
            assert!(ok.ready, "{t}=False");
            let bad = evaluate(
                Kind::Node,
                &json!({"metadata": {"name": "n"}, "status": {"conditions": [{"type": t, "status": "True"}]}}),
            );
            assert!(!bad.ready, "{t}=True");
        }
    }

    #[test]
    fn unknown_condition_is_shown_not_blocking() {
        let v = evaluate(
            Kind::Pod,
            &pod(
                "Running",
                &[("Ready", "True"), ("SomethingNew", "False")],
                json!([]),
            ),
        );
        assert!(v.ready);
        assert_eq!(v.conditions[1].verdict, "unknown");
        assert!(v.line().contains("SomethingNew=False(unknown)"));
    }

    #[test]
    fn phases() {
        for (phase, ready) in [
            ("Running", true),
            ("Succeeded", true),
            ("Pending", false),
            ("Failed", false),
            ("Unknown", false),
        ] {
            assert_eq!(
                evaluate(Kind::Pod, &pod(phase, &[], json!([]))).ready,
                ready,
                "{phase}"
            );
        }
    }

    #[test]
    fn completed_job_containers_count_as_ready() {
        let done = json!([{"name": "main", "ready": false, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]);
        let v = evaluate(
            Kind::Pod,
            &pod(
                "Running",
                &[
                    ("Ready", "False"),
                    ("ContainersReady", "False"),
                    ("PodScheduled", "True"),
                ],
                done,
            ),
        );
        assert!(v.ready, "{}", v.reason);
        assert_eq!(v.containers[0].state, "completed");
        let failed = json!([{"name": "main", "ready": false, "state": {"terminated": {"reason": "Error", "exitCode": 2}}}]);
        let v = evaluate(
            Kind::Pod,
            &pod(
                "Running",
                &[("Ready", "False"), ("ContainersReady", "False")],
                failed,
            ),
        );
        assert!(!v.ready);
        assert!(v.reason.contains("Error exit 2"), "{}", v.reason);
        // completed init container next to a ready main container
        let mut p = pod(
            "Running",
            &[("Ready", "True")],
            json!([{"name": "main", "ready": true, "state": {"running": {}}}]),
        );
        p["status"]["initContainerStatuses"] = json!([{"name": "init", "ready": false, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]);
        let v = evaluate(Kind::Pod, &p);
        assert!(v.ready);
        assert_eq!(v.containers[0].state, "completed");
    }

    #[test]
    fn pending_pod_says_why() {
        let w = json!([{"name": "main", "ready": false, "state": {"waiting": {"reason": "ImagePullBackOff"}}}]);
        let v = evaluate(Kind::Pod, &pod("Pending", &[("PodScheduled", "True")], w));
        assert!(
            v.reason
                .contains("phase Pending: container main ImagePullBackOff"),
            "{}",
            v.reason
        );
    }

    fn deploy(gen: i64, observed: i64, want: i64, cur: i64, upd: i64, avail: i64) -> Value {
        json!({"metadata": {"name": "d", "namespace": "ns", "generation": gen}, "spec": {"replicas": want},
               "status": {"observedGeneration": observed, "replicas": cur, "updatedReplicas": upd, "availableReplicas": avail,
                          "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True"}]}})
    }

    #[test]
    fn deployment_rollout() {
        assert!(evaluate(Kind::Deployment, &deploy(2, 2, 3, 3, 3, 3)).ready);
        // mid-rollout: Available already True, but not all replicas updated
        let v = evaluate(Kind::Deployment, &deploy(2, 2, 3, 4, 1, 3));
        assert!(!v.ready);
        assert!(v.reason.contains("1 updated"), "{}", v.reason);
        // new generation not observed yet
        assert!(!evaluate(Kind::Deployment, &deploy(3, 2, 3, 3, 3, 3)).ready);
    }

    #[test]
    fn daemonset_and_statefulset_rollout() {
        let ds = |ready: i64| json!({"metadata": {"name": "ds", "namespace": "n", "generation": 1}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "numberReady": ready, "updatedNumberScheduled": 3}});
        assert!(evaluate(Kind::DaemonSet, &ds(3)).ready);
        assert!(!evaluate(Kind::DaemonSet, &ds(2)).ready);
        let sts = |cur: &str| json!({"metadata": {"name": "s", "namespace": "n", "generation": 1}, "spec": {"replicas": 2}, "status": {"observedGeneration": 1, "readyReplicas": 2, "currentRevision": cur, "updateRevision": "s-2"}});
        assert!(evaluate(Kind::StatefulSet, &sts("s-2")).ready);
        assert!(!evaluate(Kind::StatefulSet, &sts("s-1")).ready);
    }
}
