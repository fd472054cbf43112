//! The pod status a kubelet reports from its containers' states: the
//! phase, the five conditions with their reasons, the container statuses.
//! As the recording shows: before the sandbox exists
//! PodReadyToStartContainers is False; containers that all stopped give
//! the conditions of the phase they lead to (Succeeded: PodCompleted;
//! Failed: PodFailed) while the reported phase stays the last one until
//! the sandbox is gone; then the phase is terminal and
//! PodReadyToStartContainers False again.

use super::state::{
    CState, ContainerRt, Kubelet, PodRt, PROBE, SANDBOX_GONE, SANDBOX_NONE, SANDBOX_READY,
};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What the containers add up to.
#[derive(Default)]
struct Counts {
    waiting: usize,
    running: usize,
    ok: usize,
    failed: usize,
    ready: usize,
}

/// The runtime's ID of a container's run: each restart is a new container.
fn container_id(rt: &PodRt, c: &ContainerRt, run: u32) -> String {
    if run == 0 {
        format!("containerd://{}-{}", rt.uid, c.name)
    } else {
        format!("containerd://{}-{}-{run}", rt.uid, c.name)
    }
}

/// A terminated state as the API shows it.
fn terminated(code: i32, reason: &str, started: &str, finished: &str, id: String) -> Value {
    json!({"terminated": {"exitCode": code, "reason": reason, "startedAt": started, "finishedAt": finished, "containerID": id}})
}

fn container_status(rt: &PodRt, c: &ContainerRt, counts: &mut Counts) -> Value {
    let st = c.state.lock().unwrap().clone();
    let restarts = c.restarts.load(Ordering::SeqCst);
    let (state, ready, started) = match &st {
        CState::Waiting { reason, message } => {
            // the kubelet's getPhase: a container waiting to restart has
            // stopped (it is not pending)
            if c.last_state.lock().unwrap().is_some() {
                counts.failed += 1;
            } else {
                counts.waiting += 1;
            }
            let mut w = json!({"reason": reason});
            if !message.is_empty() {
                w["message"] = json!(message);
            }
            (json!({"waiting": w}), false, false)
        }
        CState::Running { started } => {
            counts.running += 1;
            let ready = c.probe_ok.load(Ordering::SeqCst) && rt.ready_gate.load(Ordering::SeqCst);
            (json!({"running": {"startedAt": started}}), ready, true)
        }
        CState::Terminated {
            code,
            reason,
            started,
            finished,
        } => {
            if *code == 0 {
                counts.ok += 1;
            } else {
                counts.failed += 1;
            }
            (
                terminated(
                    *code,
                    reason,
                    started,
                    finished,
                    container_id(rt, c, restarts),
                ),
                false,
                false,
            )
        }
    };
    if ready {
        counts.ready += 1;
    }
    let created = !matches!(&st, CState::Waiting { .. }) || restarts > 0;
    // the run before this one, once the container restarted: the previous
    // run is the one before `restarts` (or before the waiting one)
    let last = match c.last_state.lock().unwrap().clone() {
        Some(CState::Terminated {
            code,
            reason,
            started,
            finished,
        }) => {
            let run = if matches!(st, CState::Waiting { .. }) {
                restarts
            } else {
                restarts.saturating_sub(1)
            };
            terminated(code, &reason, &started, &finished, container_id(rt, c, run))
        }
        _ => json!({}),
    };
    let mut s = json!({
        "name": c.name, "state": state, "lastState": last, "ready": ready,
        "restartCount": restarts, "image": c.image,
        "imageID": if created { format!("docker.io/library/{}@sha256:fake", c.image) } else { String::new() },
        "started": started,
    });
    if created {
        s["containerID"] = json!(container_id(rt, c, restarts));
    }
    s
}

/// The phase the containers lead to (the kubelet's getPhase).
fn phase_of(rt: &PodRt, n: usize, k: &Counts, deleting: bool) -> &'static str {
    let stopped = k.ok + k.failed;
    if n == 0 || k.waiting > 0 && k.running == 0 && stopped == 0 {
        return "Pending";
    }
    if stopped < n {
        return if k.running > 0 || rt.ever_running.load(Ordering::SeqCst) {
            "Running"
        } else {
            "Pending"
        };
    }
    match (rt.restart_policy.as_str(), deleting) {
        (_, true) | ("Never", _) => {
            if k.failed > 0 {
                "Failed"
            } else {
                "Succeeded"
            }
        }
        ("OnFailure", _) if k.failed == 0 => "Succeeded",
        _ => "Running",
    }
}

fn condition(t: &str, ok: bool, reason: Option<&str>, message: Option<String>, now: &str) -> Value {
    let mut c = json!({"type": t, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": now});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

/// The status to report.
fn status(rt: &PodRt, containers: &[std::sync::Arc<ContainerRt>]) -> Value {
    let mut k = Counts::default();
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| container_status(rt, c, &mut k))
        .collect();
    let n = containers.len();
    let sandbox = rt.sandbox.load(Ordering::SeqCst);
    let deleting = rt.terminate.is_cancelled();
    let leads_to = phase_of(rt, n, &k, deleting);
    let terminal = sandbox == SANDBOX_GONE;
    let phase = if terminal || !matches!(leads_to, "Succeeded" | "Failed") {
        leads_to.to_string()
    } else {
        rt.phase.lock().unwrap().clone()
    };
    *rt.phase.lock().unwrap() = phase.clone();
    let now = crate::store::now();
    let all_ready = n > 0 && k.ready == n;
    let unready: Vec<&str> = containers
        .iter()
        .zip(&statuses)
        .filter(|(_, s)| s["ready"] != true)
        .map(|(c, _)| c.name.as_str())
        .collect();
    let why = format!("containers with unready status: [{}]", unready.join(" "));
    let (ready_reason, ready_msg) = match leads_to {
        "Succeeded" => (Some("PodCompleted"), None),
        "Failed" => (Some("PodFailed"), None),
        _ if all_ready => (None, None),
        _ => (Some("ContainersNotReady"), Some(why)),
    };
    let initialized = rt.initialized.load(Ordering::SeqCst);
    let init_reason = if !initialized {
        Some("ContainersNotInitialized")
    } else if leads_to == "Succeeded" {
        Some("PodCompleted")
    } else {
        None
    };
    let ok = all_ready && ready_reason.is_none();
    let conditions = json!([
        condition(
            "PodReadyToStartContainers",
            sandbox == SANDBOX_READY,
            None,
            None,
            &now
        ),
        condition("Initialized", initialized, init_reason, None, &now),
        condition("Ready", ok, ready_reason, ready_msg.clone(), &now),
        condition("ContainersReady", ok, ready_reason, ready_msg, &now),
        condition("PodScheduled", true, None, None, &now),
    ]);
    let mut s = json!({
        "phase": phase, "conditions": conditions, "hostIP": rt.host_ip, "hostIPs": [{"ip": rt.host_ip}],
        "startTime": now, "containerStatuses": statuses, "qosClass": "BestEffort",
    });
    if sandbox != SANDBOX_NONE {
        s["podIP"] = json!(rt.pod_ip);
        s["podIPs"] = json!([{"ip": rt.pod_ip}]);
    }
    s
}

/// Keep the transition times (and the start time) of what did not change.
fn keep_times(new: &mut Value, old: &Value) {
    if let Some(prev) = old["conditions"].as_array() {
        for c in new["conditions"].as_array_mut().into_iter().flatten() {
            if let Some(oc) = prev
                .iter()
                .find(|x| x["type"] == c["type"] && x["status"] == c["status"])
            {
                c["lastTransitionTime"] = oc["lastTransitionTime"].clone();
            }
        }
    }
    if let Some(st) = old["startTime"].as_str() {
        new["startTime"] = json!(st);
    }
}

impl Kubelet {
    /// A readiness probe's first success, reported.
    pub(super) async fn probe(&self, rt: &PodRt, c: &ContainerRt) {
        if c.probe_ok.load(Ordering::SeqCst) {
            return;
        }
        let delay = Duration::from_secs(
            c.spec["readinessProbe"]["initialDelaySeconds"]
                .as_u64()
                .unwrap_or(0),
        ) + PROBE;
        if self.pause(rt, delay).await && matches!(*c.state.lock().unwrap(), CState::Running { .. })
        {
            c.probe_ok.store(true, Ordering::SeqCst);
            self.sync(rt).await;
        }
    }

    /// Write the pod's status from its containers' states.
    pub async fn sync(&self, rt: &PodRt) {
        let containers = rt.containers.lock().unwrap().clone();
        let k = self.store.kind("", "Pod").unwrap();
        let uid = rt.uid.clone();
        let st = status(rt, &containers);
        let _ = self
            .store
            .modify(&k, &rt.ns, &rt.name, true, "kubelet", |o| {
                if o["metadata"]["uid"] != uid.as_str() {
                    return;
                }
                let mut s = st.clone();
                keep_times(&mut s, &o["status"]);
                o["status"] = s;
            });
    }
}
