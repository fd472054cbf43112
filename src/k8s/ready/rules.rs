//! The readiness rules of SPEC.md "Readiness rules", one function per kind:
//! the original's allow-list of conditions, pod phases (Succeeded is done,
//! Failed never becomes ready), completed containers (native sidecars
//! stopped after the main containers finished count as completed), and
//! rollouts judged as `kubectl rollout status` judges them.

use serde::Serialize;
use serde_json::Value;

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

/// The kinds readiness is checked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Node,
    Pod,
    Deployment,
    DaemonSet,
    StatefulSet,
}

/// Each kind with the names `kubectl api-resources` shows for it (plural,
/// singular, short names), its collection path and whether it is namespaced.
const KINDS: &[(Kind, &[&str], &str, bool)] = &[
    (Kind::Node, &["nodes", "node", "no"], "/api/v1/nodes", false),
    (Kind::Pod, &["pods", "pod", "po"], "/api/v1/pods", true),
    (
        Kind::Deployment,
        &["deployments", "deployment", "deploy"],
        "/apis/apps/v1/deployments",
        true,
    ),
    (
        Kind::DaemonSet,
        &["daemonsets", "daemonset", "ds"],
        "/apis/apps/v1/daemonsets",
        true,
    ),
    (
        Kind::StatefulSet,
        &["statefulsets", "statefulset", "sts"],
        "/apis/apps/v1/statefulsets",
        true,
    ),
];

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Node,
        Kind::Pod,
        Kind::Deployment,
        Kind::DaemonSet,
        Kind::StatefulSet,
    ];

    fn row(self) -> &'static (Kind, &'static [&'static str], &'static str, bool) {
        KINDS
            .iter()
            .find(|r| r.0 == self)
            .expect("every kind has a row")
    }

    /// `node`, `pod`, ... (the singular name).
    pub fn name(self) -> &'static str {
        self.row().1[1]
    }

    pub fn namespaced(self) -> bool {
        self.row().3
    }

    /// The collection path, all namespaces or one.
    pub fn path(self, namespace: Option<&str>) -> String {
        let all = self.row().2;
        match namespace.filter(|_| self.namespaced()) {
            None => all.to_string(),
            Some(ns) => {
                let (base, plural) = all.rsplit_once('/').expect("path has a plural");
                format!(
                    "{base}/namespaces/{}/{plural}",
                    super::super::http::urlencode(ns)
                )
            }
        }
    }

    /// A kind by any of its names (`nodes`, `Node`, `deploy`, `sts`, ...).
    pub fn parse(s: &str) -> Result<Kind, String> {
        let l = s.to_ascii_lowercase();
        KINDS
            .iter()
            .find(|(_, names, _, _)| names.contains(&l.as_str()))
            .map(|r| r.0)
            .ok_or_else(|| {
                format!(
                    "unknown kind '{s}'; readiness is checked for nodes (no), pods (po), deployments (deploy), daemonsets (ds), statefulsets (sts)"
                )
            })
    }
}

/// How a condition counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Judged {
    Ok,
    Bad,
    /// a condition type the rules do not know: shown, never blocking
    Unknown,
}

#[derive(Clone, Debug, Serialize)]
pub struct Condition {
    #[serde(rename = "type")]
    pub ctype: String,
    pub status: String,
    pub verdict: Judged,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip)]
    pub message: String,
}

impl Condition {
    fn text(&self) -> String {
        if self.reason.is_empty() {
            format!("{}={}", self.ctype, self.status)
        } else {
            format!("{}={} ({})", self.ctype, self.status, self.reason)
        }
    }
}

/// A container's state as readiness sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum State {
    #[serde(rename = "ready")]
    Ready,
    #[serde(rename = "completed")]
    Completed,
    #[serde(rename = "not ready")]
    NotReady,
}

#[derive(Clone, Debug, Serialize)]
pub struct Container {
    pub name: String,
    pub state: State,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The controller that owns a pod (for Failed pods: was it replaced?).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Owner {
    pub kind: String,
    pub name: String,
    pub uid: String,
}

/// The readiness of one resource.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    pub ready: bool,
    /// why it is not ready (empty when ready); why it does not block when
    /// a note is worth showing (a Failed pod that was replaced)
    pub reason: String,
    pub conditions: Vec<Condition>,
    pub containers: Vec<Container>,
    /// a pod in phase Failed: it will never become ready by itself
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    #[serde(skip)]
    pub owner: Option<Owner>,
    #[serde(skip)]
    pub uid: String,
    #[serde(skip)]
    pub created: String,
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
                    Judged::Unknown => format!("{}={}(unknown)", c.ctype, c.status),
                    _ => format!("{}={}", c.ctype, c.status),
                })
                .collect();
            s.push_str(&format!("  conditions: {}", c.join(" ")));
        }
        if !self.containers.is_empty() {
            let c: Vec<String> = self.containers.iter().map(container_text).collect();
            s.push_str(&format!("  containers: {}", c.join(" ")));
        }
        s
    }

    fn bad(&self) -> Vec<&Condition> {
        self.conditions
            .iter()
            .filter(|c| c.verdict == Judged::Bad)
            .collect()
    }
}

fn container_text(c: &Container) -> String {
    let state = match c.state {
        State::Ready => "ready",
        State::Completed => "completed",
        State::NotReady => "not ready",
    };
    if c.detail.is_empty() {
        format!("{}={state}", c.name)
    } else {
        format!("{}={state}({})", c.name, c.detail)
    }
}

fn judge(ctype: &str, status: &str) -> Judged {
    if MUST_BE_TRUE.contains(&ctype) {
        if status == "True" {
            Judged::Ok
        } else {
            Judged::Bad
        }
    } else if MUST_BE_FALSE.contains(&ctype) {
        if status == "False" {
            Judged::Ok
        } else {
            Judged::Bad
        }
    } else {
        Judged::Unknown
    }
}

fn conditions(obj: &Value) -> Vec<Condition> {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    obj["status"]["conditions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| Condition {
                    verdict: judge(
                        c["type"].as_str().unwrap_or(""),
                        c["status"].as_str().unwrap_or(""),
                    ),
                    ctype: s(&c["type"]),
                    status: s(&c["status"]),
                    reason: s(&c["reason"]),
                    message: s(&c["message"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Names of native sidecars: init containers with `restartPolicy: Always`.
fn sidecars(obj: &Value) -> Vec<&str> {
    obj["spec"]["initContainers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|c| c["restartPolicy"] == "Always")
                .filter_map(|c| c["name"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

fn container(c: &Value) -> Container {
    let name = c["name"].as_str().unwrap_or("").to_string();
    let term = &c["state"]["terminated"];
    let (state, detail) = if term.is_object() && term["reason"] == "Completed" {
        (State::Completed, String::new())
    } else if c["ready"] == true {
        (State::Ready, String::new())
    } else if let Some(r) = c["state"]["waiting"]["reason"].as_str() {
        (State::NotReady, r.to_string())
    } else if term.is_object() {
        let why = term["reason"].as_str().unwrap_or("terminated");
        (State::NotReady, format!("{why} exit {}", term["exitCode"]))
    } else {
        (State::NotReady, String::new())
    };
    Container {
        name,
        state,
        detail,
    }
}

/// Init and regular containers. A native sidecar that was stopped (any exit
/// code: the kubelet sends SIGTERM, 143) after every regular container
/// completed counts as completed, as the pod then has.
fn containers(obj: &Value) -> Vec<Container> {
    let st = &obj["status"];
    let list = |f: &str| st[f].as_array().cloned().unwrap_or_default();
    let init: Vec<Container> = list("initContainerStatuses")
        .iter()
        .map(container)
        .collect();
    let main: Vec<Container> = list("containerStatuses").iter().map(container).collect();
    let main_done = !main.is_empty() && main.iter().all(|c| c.state == State::Completed);
    let side = sidecars(obj);
    let init = init.into_iter().map(|mut c| {
        let stopped = c.detail.contains(" exit ") || c.state == State::Completed;
        if main_done && stopped && side.contains(&c.name.as_str()) {
            c.state = State::Completed;
            c.detail.clear();
        }
        c
    });
    init.chain(main).collect()
}

fn num(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn owner(obj: &Value) -> Option<Owner> {
    let refs = obj["metadata"]["ownerReferences"].as_array()?;
    let r = refs
        .iter()
        .find(|r| r["controller"] == true)
        .or_else(|| refs.first())?;
    Some(Owner {
        kind: r["kind"].as_str()?.to_string(),
        name: r["name"].as_str()?.to_string(),
        uid: r["uid"].as_str().unwrap_or("").to_string(),
    })
}

/// Apply the rules to one object.
pub fn evaluate(kind: Kind, obj: &Value) -> Verdict {
    let md = &obj["metadata"];
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let mut v = Verdict {
        kind,
        namespace: s(&md["namespace"]),
        name: s(&md["name"]),
        ready: true,
        reason: String::new(),
        conditions: conditions(obj),
        containers: vec![],
        failed: false,
        owner: owner(obj),
        uid: s(&md["uid"]),
        created: s(&md["creationTimestamp"]),
    };
    let problems = match kind {
        Kind::Node => node(&v),
        Kind::Pod => pod(&mut v, obj),
        Kind::Deployment => workload(&v, obj, deployment(obj)),
        Kind::DaemonSet => workload(&v, obj, daemonset(obj)),
        Kind::StatefulSet => workload(&v, obj, statefulset(obj)),
    };
    if !problems.is_empty() {
        v.ready = false;
        v.reason = problems.join("; ");
    }
    v
}

fn bad_text(v: &Verdict) -> String {
    v.bad()
        .iter()
        .map(|c| c.text())
        .collect::<Vec<_>>()
        .join(", ")
}

fn node(v: &Verdict) -> Vec<String> {
    let mut p = vec![];
    if !v.bad().is_empty() {
        p.push(format!("condition {}", bad_text(v)));
    }
    if v.conditions.is_empty() {
        p.push("no conditions reported yet".into());
    }
    p
}

fn pod(v: &mut Verdict, obj: &Value) -> Vec<String> {
    v.containers = containers(obj);
    let st = &obj["status"];
    match st["phase"].as_str().unwrap_or("Pending") {
        // done: whatever its conditions say (PodCompleted)
        "Succeeded" => vec![],
        "Failed" => {
            v.failed = true;
            let why = [st["reason"].as_str(), st["message"].as_str()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ");
            let why = if why.is_empty() {
                failed_containers(v)
            } else {
                why
            };
            vec![format!("phase Failed ({why}): it will never become ready")]
        }
        "Running" => running_pod(v),
        phase => vec![pending_pod(v, phase)],
    }
}

fn failed_containers(v: &Verdict) -> String {
    v.containers
        .iter()
        .filter(|c| c.state == State::NotReady)
        .map(container_text)
        .collect::<Vec<_>>()
        .join(", ")
}

fn pending_pod(v: &Verdict, phase: &str) -> String {
    let mut p = format!("phase {phase}");
    let sched = v
        .conditions
        .iter()
        .find(|c| c.ctype == "PodScheduled" && c.status == "False");
    let waiting: Vec<String> = v
        .containers
        .iter()
        .filter(|c| !c.detail.is_empty())
        .map(|c| format!("container {} {}", c.name, c.detail))
        .collect();
    if let Some(s) = sched {
        p.push_str(format!(": {} {}", s.reason, s.message).trim_end());
    } else if !waiting.is_empty() {
        p.push_str(&format!(": {}", waiting.join(", ")));
    }
    p
}

/// A running pod: its conditions must hold, except Ready/ContainersReady
/// of a pod whose containers all completed (a Job pod finishing).
fn running_pod(v: &Verdict) -> Vec<String> {
    let bad = v.bad();
    if bad.is_empty() {
        return vec![];
    }
    let only_readiness = bad
        .iter()
        .all(|c| c.ctype == "Ready" || c.ctype == "ContainersReady");
    let completed = !v.containers.is_empty()
        && v.containers
            .iter()
            .filter(|c| c.state != State::Ready)
            .all(|c| c.state == State::Completed);
    if only_readiness && completed {
        return vec![];
    }
    let not_ready = failed_containers(v);
    let mut p = format!("condition {}", bad_text(v));
    if !not_ready.is_empty() {
        p.push_str(&format!("; containers not ready: {not_ready}"));
    }
    vec![p]
}

/// Conditions and generation, then the kind's own rollout rule.
fn workload(v: &Verdict, obj: &Value, rollout: Option<String>) -> Vec<String> {
    let mut p = vec![];
    if !v.bad().is_empty() {
        p.push(format!("condition {}", bad_text(v)));
    }
    let generation = num(&obj["metadata"]["generation"]);
    let observed = num(&obj["status"]["observedGeneration"]);
    if observed < generation {
        p.push(format!(
            "generation {generation} not observed yet (observed {observed})"
        ));
    }
    p.extend(rollout);
    p
}

fn deployment(obj: &Value) -> Option<String> {
    let st = &obj["status"];
    let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
    let (cur, upd, avail) = (
        num(&st["replicas"]),
        num(&st["updatedReplicas"]),
        num(&st["availableReplicas"]),
    );
    (upd != want || avail != want || cur != want).then(|| {
        format!("rollout: {upd} updated, {avail} available, {cur} total of {want} replicas")
    })
}

fn daemonset(obj: &Value) -> Option<String> {
    let st = &obj["status"];
    let (want, ready, upd) = (
        num(&st["desiredNumberScheduled"]),
        num(&st["numberReady"]),
        num(&st["updatedNumberScheduled"]),
    );
    (ready != want || upd != want)
        .then(|| format!("rollout: {ready} ready, {upd} updated of {want} scheduled"))
}

/// As `kubectl rollout status`: every replica ready; with `OnDelete` pods
/// change only when deleted, so revisions are not compared; with a
/// `partition` only the replicas at or above it must be updated.
fn statefulset(obj: &Value) -> Option<String> {
    let st = &obj["status"];
    let strategy = &obj["spec"]["updateStrategy"];
    let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
    let ready = num(&st["readyReplicas"]);
    if ready < want {
        return Some(format!("rollout: {ready} of {want} replicas ready"));
    }
    if strategy["type"] == "OnDelete" {
        return None;
    }
    let partition = num(&strategy["rollingUpdate"]["partition"]);
    if partition > 0 {
        let updated = num(&st["updatedReplicas"]);
        return (updated < want - partition).then(|| {
            format!(
                "rollout: {updated} of {} replicas above partition {partition} updated",
                want - partition
            )
        });
    }
    (st["currentRevision"] != st["updateRevision"]).then(|| {
        format!(
            "rollout: revision {} is not {} yet",
            st["currentRevision"].as_str().unwrap_or("?"),
            st["updateRevision"].as_str().unwrap_or("?")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use serde_json::Value;

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
        assert_eq!(v.conditions[1].verdict, Judged::Unknown);
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
        assert_eq!(v.containers[0].state, State::Completed);
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
        assert_eq!(v.containers[0].state, State::Completed);
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

    #[test]
    fn succeeded_pod_is_done_whatever_its_conditions_say() {
        // what a real kubelet reports for a finished Job pod
        let done = json!([{"name": "main", "ready": false, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]);
        let mut p = pod(
            "Succeeded",
            &[
                ("PodReadyToStartContainers", "False"),
                ("Initialized", "True"),
                ("Ready", "False"),
                ("ContainersReady", "False"),
                ("PodScheduled", "True"),
            ],
            done,
        );
        p["status"]["conditions"][2]["reason"] = json!("PodCompleted");
        let v = evaluate(Kind::Pod, &p);
        assert!(v.ready, "{}", v.reason);
        assert!(!v.failed);
    }

    #[test]
    fn failed_pod_is_flagged_with_its_reason_and_owner() {
        let mut p = pod(
            "Failed",
            &[("Ready", "False")],
            json!([{"name": "main", "ready": false, "state": {"terminated": {"reason": "Error", "exitCode": 3}}}]),
        );
        p["metadata"]["ownerReferences"] =
            json!([{"kind": "Job", "name": "j", "uid": "u1", "controller": true}]);
        let v = evaluate(Kind::Pod, &p);
        assert!(!v.ready && v.failed);
        assert!(v.reason.contains("Error exit 3"), "{}", v.reason);
        assert_eq!(v.owner.as_ref().unwrap().kind, "Job");
        // evicted: the status says why
        let mut e = pod("Failed", &[], json!([]));
        e["status"]["reason"] = json!("Evicted");
        e["status"]["message"] = json!("The node was low on resource: memory.");
        let v = evaluate(Kind::Pod, &e);
        assert!(
            v.failed && v.reason.contains("Evicted: The node was low"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn native_sidecar_stopped_after_main_completed_is_complete() {
        let mut p = pod(
            "Running",
            &[
                ("Ready", "False"),
                ("ContainersReady", "False"),
                ("PodScheduled", "True"),
            ],
            json!([{"name": "main", "ready": false, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]),
        );
        p["spec"]["initContainers"] = json!([{"name": "proxy", "restartPolicy": "Always"}]);
        p["status"]["initContainerStatuses"] = json!([{"name": "proxy", "ready": false, "state": {"terminated": {"reason": "Error", "exitCode": 143}}}]);
        let v = evaluate(Kind::Pod, &p);
        assert!(v.ready, "{}", v.reason);
        assert_eq!(v.containers[0].state, State::Completed);
        // an ordinary init container that failed is not complete
        p["spec"]["initContainers"] = json!([{"name": "proxy"}]);
        assert!(!evaluate(Kind::Pod, &p).ready);
        // a sidecar that stopped while main still runs is not either
        let mut q = p.clone();
        q["spec"]["initContainers"] = json!([{"name": "proxy", "restartPolicy": "Always"}]);
        q["status"]["containerStatuses"] =
            json!([{"name": "main", "ready": false, "state": {"running": {}}}]);
        assert!(!evaluate(Kind::Pod, &q).ready);
    }

    #[test]
    fn statefulset_on_delete_and_partition_like_kubectl() {
        let sts = |strategy: Value, ready: i64, updated: i64| {
            json!({"metadata": {"name": "s", "namespace": "n", "generation": 2},
            "spec": {"replicas": 3, "updateStrategy": strategy},
            "status": {"observedGeneration": 2, "readyReplicas": ready, "updatedReplicas": updated, "currentRevision": "s-1", "updateRevision": "s-2"}})
        };
        // OnDelete: pods change only when deleted; revisions are not compared
        assert!(evaluate(Kind::StatefulSet, &sts(json!({"type": "OnDelete"}), 3, 0)).ready);
        assert!(!evaluate(Kind::StatefulSet, &sts(json!({"type": "OnDelete"}), 2, 0)).ready);
        // partition 2: only the replica above it must be updated
        let part = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 2}});
        assert!(evaluate(Kind::StatefulSet, &sts(part.clone(), 3, 1)).ready);
        assert!(!evaluate(Kind::StatefulSet, &sts(part, 3, 0)).ready);
        // plain rolling update: revisions must match
        assert!(
            !evaluate(
                Kind::StatefulSet,
                &sts(json!({"type": "RollingUpdate"}), 3, 3)
            )
            .ready
        );
    }

    #[test]
    fn kinds_by_every_name_kubectl_knows() {
        for (s, k) in [
            ("ds", Kind::DaemonSet),
            ("daemonsets", Kind::DaemonSet),
            ("DaemonSet", Kind::DaemonSet),
            ("sts", Kind::StatefulSet),
            ("deploy", Kind::Deployment),
            ("no", Kind::Node),
            ("Pods", Kind::Pod),
        ] {
            assert_eq!(Kind::parse(s), Ok(k), "{s}");
        }
        // no more trailing-s stripping: "d" and "podss" are not kinds
        assert!(Kind::parse("d").is_err());
        assert!(Kind::parse("podss").is_err());
        assert_eq!(Kind::Pod.path(Some("x")), "/api/v1/namespaces/x/pods");
        assert_eq!(Kind::Node.path(Some("x")), "/api/v1/nodes");
        assert_eq!(Kind::Deployment.path(None), "/apis/apps/v1/deployments");
    }
}
