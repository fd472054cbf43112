//! The scheduler: a pod goes to a node that is ready, schedulable, matches
//! its selector and whose taints it tolerates, round robin; its claims
//! must exist, Immediate ones be bound (WaitForFirstConsumer ones are
//! bound now, on that node). The binding sets `spec.nodeName` and
//! `PodScheduled=True` in one write, with a `Scheduled` event; a pod that
//! fits nowhere is Unschedulable with a `FailedScheduling` event worded
//! like the scheduler's.

use super::common::{kind, name_of};
use super::volumes;
use crate::errors::ApiError;
use crate::events::{self, Source};
use crate::kubelet::is_manual;
use crate::shared::Shared;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn tolerates(tolerations: &Value, taint: &Value) -> bool {
    let effect = taint["effect"].as_str().unwrap_or("");
    if effect == "PreferNoSchedule" {
        return true;
    }
    tolerations.as_array().is_some_and(|ts| {
        ts.iter().any(|t| {
            let op = t["operator"].as_str().unwrap_or("Equal");
            let key_ok = match t["key"].as_str() {
                None | Some("") => op == "Exists",
                Some(k) => k == taint["key"].as_str().unwrap_or(""),
            };
            let val_ok = op == "Exists"
                || t["value"] == taint["value"]
                || (t["value"].is_null() && taint["value"].is_null());
            let eff_ok = t["effect"]
                .as_str()
                .is_none_or(|e| e.is_empty() || e == effect);
            key_ok && val_ok && eff_ok
        })
    })
}

/// Whether a pod spec fits a node: ready, schedulable, selector, taints.
pub fn fits(spec: &Value, node: &Value) -> Result<(), &'static str> {
    let ready = node["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    });
    if !ready {
        return Err("node(s) were not ready");
    }
    if node["spec"]["unschedulable"] == true {
        return Err("node(s) were unschedulable");
    }
    if let Some(sel) = spec["nodeSelector"].as_object() {
        for (k, v) in sel {
            if node["metadata"]["labels"].get(k) != Some(v) {
                return Err("node(s) didn't match Pod's node affinity/selector");
            }
        }
    }
    for t in node["spec"]["taints"].as_array().into_iter().flatten() {
        if !tolerates(&spec["tolerations"], t) {
            return Err("node(s) had untolerated taint");
        }
    }
    Ok(())
}

/// Schedule a new pod now, or after the injected scheduling delay.
pub(super) fn schedule_soon(sh: &Arc<Shared>, o: &Value) {
    let d = sh.faults.schedule_delay();
    if d.is_zero() {
        return schedule(sh, o);
    }
    let (sh, o) = (sh.clone(), o.clone());
    tokio::spawn(async move {
        tokio::time::sleep(d).await;
        let (ns, name) = name_of(&o);
        if let Some(now) = sh.store.get(&kind(&sh, "", "Pod"), ns, name) {
            if now["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
                schedule(&sh, &now);
            }
        }
    });
}

pub(super) fn retry_pending(sh: &Arc<Shared>) {
    for p in sh.store.list(&kind(sh, "", "Pod"), None).0 {
        let unbound = p["spec"]["nodeName"].as_str().unwrap_or("").is_empty();
        if unbound && !is_manual(&p) && !p["metadata"]["deletionTimestamp"].is_string() {
            schedule(sh, &p);
        }
    }
}

/// Mark a pod Unschedulable with `msg` and a FailedScheduling event (once
/// per distinct message).
fn unschedulable(sh: &Shared, pod: &Value, msg: String) {
    let already = pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "PodScheduled" && c["message"] == msg.as_str())
    });
    if already {
        return;
    }
    let (ns, name) = name_of(pod);
    let m2 = msg.clone();
    let _ = sh.store.modify(&kind(sh, "", "Pod"), ns, name, true, "kube-scheduler", |o| {
        o["status"]["phase"] = json!("Pending");
        o["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": m2, "lastProbeTime": null, "lastTransitionTime": crate::store::now()}]);
    });
    events::record(
        &sh.store,
        pod,
        "Warning",
        "FailedScheduling",
        &msg,
        Source::Scheduler {
            node: "",
            action: "Scheduling",
        },
        None,
    );
}

/// Why the pod's claims keep it from any node, if they do.
fn claims_problem(sh: &Shared, pod: &Value, n: usize) -> Option<String> {
    let (ns, _) = name_of(pod);
    let pvck = kind(sh, "", "PersistentVolumeClaim");
    let tail = format!(
        "preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling."
    );
    for claim in pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
    {
        match sh.store.get(&pvck, ns, claim) {
            None => return Some(format!("0/{n} nodes are available: persistentvolumeclaim \"{claim}\" not found. {tail}")),
            Some(c) if c["status"]["phase"] != "Bound" && !is_manual(&c) && !volumes::waits_for_consumer(sh, &c) => {
                return Some(format!("0/{n} nodes are available: pod has unbound immediate PersistentVolumeClaims. {tail}"))
            }
            _ => {}
        }
    }
    None
}

static NEXT_NODE: AtomicUsize = AtomicUsize::new(0);

fn schedule(sh: &Arc<Shared>, pod: &Value) {
    let nodes = sh.store.list(&kind(sh, "", "Node"), None).0;
    if let Some(msg) = claims_problem(sh, pod, nodes.len()) {
        return unschedulable(sh, pod, msg);
    }
    let mut reasons: Vec<&str> = vec![];
    let eligible: Vec<&Value> = nodes
        .iter()
        .filter(|n| match fits(&pod["spec"], n) {
            Ok(()) => true,
            Err(r) => {
                reasons.push(r);
                false
            }
        })
        .collect();
    if eligible.is_empty() {
        reasons.sort();
        let mut uniq = reasons.clone();
        uniq.dedup();
        let parts: Vec<String> = uniq
            .iter()
            .map(|r| format!(" {} {r}", reasons.iter().filter(|x| x == &r).count()))
            .collect();
        let msg = format!(
            "0/{} nodes are available:{}. preemption: 0/0 nodes are available.",
            nodes.len(),
            parts.join(",")
        );
        return unschedulable(sh, pod, msg);
    }
    let node = eligible[NEXT_NODE.fetch_add(1, Ordering::Relaxed) % eligible.len()];
    let node_name = node["metadata"]["name"].as_str().unwrap_or("").to_string();
    volumes::bind_for_consumer(sh, pod, &node_name);
    let (ns, name) = name_of(pod);
    let _ = bind(sh, ns, name, &node_name);
}

/// Bind a pod to a node: nodeName and PodScheduled=True in one write,
/// then the scheduler's `Scheduled` event.
pub fn bind(sh: &Shared, ns: &str, name: &str, node: &str) -> Result<(), ApiError> {
    let pk = kind(sh, "", "Pod");
    let n = node.to_string();
    let p = sh.store.modify_whole(&pk, ns, name, "kube-scheduler", |o| {
        o["spec"]["nodeName"] = json!(n);
        let conds = vec![json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": crate::store::now()})];
        o["status"]["conditions"] = json!(conds);
    })?;
    let msg = format!("Successfully assigned {ns}/{name} to {node}");
    events::record(
        &sh.store,
        &p.value,
        "Normal",
        "Scheduled",
        &msg,
        Source::Scheduler {
            node,
            action: "Binding",
        },
        None,
    );
    Ok(())
}
