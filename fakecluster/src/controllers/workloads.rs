//! Deployments (through ReplicaSets, as the real controller does),
//! ReplicaSets, DaemonSets and StatefulSets. The Deployment and
//! ReplicaSet statuses go through the recorded sequence
//! (tests/traces/deployment-rollout.json), one write per step: zero
//! counters absent, `Progressing` from NewReplicaSetCreated through
//! ReplicaSetUpdated to NewReplicaSetAvailable, `Available` by
//! maxUnavailable (25%, rounded down), ready counts moving one pod at a
//! time as a kubelet reports pods one after another.

use super::common::{
    cond, controller_ref, create_pod, delete_pod, kind, name_of, owned, pod_ready, set_status,
};
use crate::kubelet::is_manual;
use crate::shared::Shared;
use serde_json::{json, Map, Value};

fn hash(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    crate::store::suffix(h).repeat(2)[..10].to_string()
}

fn live(p: &Value) -> bool {
    !p["metadata"]["deletionTimestamp"].is_string()
        && !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
}

/// A pod from a workload's template.
fn new_pod(owner: &Value, name: &str, extra_labels: &[(&str, String)]) -> Value {
    let tpl = &owner["spec"]["template"];
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": tpl["metadata"]["labels"].clone(), "ownerReferences": [controller_ref(owner)]},
        "spec": tpl["spec"].clone(),
    });
    if tpl["metadata"]["annotations"].is_object() {
        pod["metadata"]["annotations"] = tpl["metadata"]["annotations"].clone();
    }
    if !pod["metadata"]["labels"].is_object() {
        pod["metadata"]["labels"] = json!({});
    }
    for (k, v) in extra_labels {
        pod["metadata"]["labels"][*k] = json!(v);
    }
    pod
}

/// A status with the zero counters left out (the Go types' omitempty).
fn counters(pairs: &[(&str, i64)]) -> Map<String, Value> {
    pairs
        .iter()
        .filter(|(_, n)| *n != 0)
        .map(|(k, n)| (k.to_string(), json!(n)))
        .collect()
}

/// One step of `have` toward `want`.
fn step(have: i64, want: i64) -> i64 {
    have + (want - have).signum()
}

pub(super) fn replicaset(sh: &Shared, ns: &str, name: &str) {
    let rk = kind(sh, "apps", "ReplicaSet");
    let Some(rs) = sh.store.get(&rk, ns, name) else {
        return;
    };
    if is_manual(&rs) || rs["metadata"]["deletionTimestamp"].is_string() {
        return;
    }
    let st = &rs["status"];
    let generation = rs["metadata"]["generation"].as_i64().unwrap_or(1);
    if st["observedGeneration"].as_i64() != Some(generation) {
        let mut s = st.clone();
        s["observedGeneration"] = json!(generation);
        return set_status(sh, &rk, ns, name, s);
    }
    let want = rs["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
    let uid = rs["metadata"]["uid"].as_str().unwrap_or("");
    let pods: Vec<Value> = owned(sh, &kind(sh, "", "Pod"), ns, uid)
        .into_iter()
        .filter(live)
        .collect();
    for _ in pods.len()..want {
        let pname = format!("{name}-{}", crate::store::suffix(sh.next_id()));
        create_pod(sh, &rs, new_pod(&rs, &pname, &[]), "replicaset-controller");
    }
    for p in pods.iter().skip(want) {
        delete_pod(sh, p);
    }
    let pods: Vec<Value> = owned(sh, &kind(sh, "", "Pod"), ns, uid)
        .into_iter()
        .filter(live)
        .collect();
    let ready = pods.iter().filter(|p| pod_ready(p)).count() as i64;
    let ready = step(st["readyReplicas"].as_i64().unwrap_or(0), ready);
    let mut s = counters(&[
        ("fullyLabeledReplicas", pods.len() as i64),
        ("readyReplicas", ready),
        ("availableReplicas", ready),
        ("observedGeneration", generation),
    ]);
    s.insert("replicas".into(), json!(pods.len()));
    if Value::Object(s.clone()) != *st {
        set_status(sh, &rk, ns, name, Value::Object(s));
    }
}

/// The Deployment's new ReplicaSet, created when there is none for its template.
fn new_replicaset(sh: &Shared, d: &Value, h: &str) -> Option<Value> {
    let (ns, name) = name_of(d);
    let rk = kind(sh, "apps", "ReplicaSet");
    let uid = d["metadata"]["uid"].as_str().unwrap_or("");
    let rss = owned(sh, &rk, ns, uid);
    if let Some(rs) = rss
        .iter()
        .find(|r| r["metadata"]["labels"]["pod-template-hash"] == h)
    {
        return Some(rs.clone());
    }
    let revision = rss.len() + 1;
    let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let mut tpl = d["spec"]["template"].clone();
    tpl["metadata"]["labels"]["pod-template-hash"] = json!(h);
    let mut sel = d["spec"]["selector"].clone();
    sel["matchLabels"]["pod-template-hash"] = json!(h);
    let rs = json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": format!("{name}-{h}"), "labels": tpl["metadata"]["labels"].clone(),
            "annotations": {"deployment.kubernetes.io/revision": revision.to_string(), "deployment.kubernetes.io/desired-replicas": replicas.to_string(), "deployment.kubernetes.io/max-replicas": (replicas + (replicas + 3) / 4).to_string()},
            "ownerReferences": [controller_ref(d)]},
        "spec": {"replicas": replicas, "selector": sel, "template": tpl},
    });
    let rs = crate::admission::admit(sh, &rk, ns, rs).ok()?;
    sh.store
        .create(
            &rk,
            ns,
            rs,
            crate::store::Track::By("kube-controller-manager"),
        )
        .ok()?;
    // the revision annotation and the condition in one write, as the
    // controller's status update carries both
    let dk = kind(sh, "apps", "Deployment");
    let c = cond(
        "Progressing",
        true,
        "NewReplicaSetCreated",
        &format!("Created new replica set \"{name}-{h}\""),
    );
    let _ = sh
        .store
        .modify_whole(&dk, ns, name, "kube-controller-manager", |o| {
            o["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                json!(revision.to_string());
            if !o["status"].is_object() {
                o["status"] = json!({});
            }
            o["status"]["conditions"] = json!([c.clone()]);
        });
    None
}

pub(super) fn deployment(sh: &Shared, ns: &str, name: &str) {
    let dk = kind(sh, "apps", "Deployment");
    let Some(d) = sh.store.get(&dk, ns, name) else {
        return;
    };
    if is_manual(&d) || d["metadata"]["deletionTimestamp"].is_string() {
        return;
    }
    let h = hash(&d["spec"]["template"]);
    let Some(new_rs) = new_replicaset(sh, &d, &h) else {
        return;
    };
    let rk = kind(sh, "apps", "ReplicaSet");
    let want = d["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
    let all = owned(sh, &rk, ns, d["metadata"]["uid"].as_str().unwrap_or(""));
    for rs in &all {
        let target = if rs["metadata"]["name"] == new_rs["metadata"]["name"] {
            want
        } else {
            0
        };
        if rs["spec"]["replicas"].as_i64() != Some(target) {
            let (_, rn) = name_of(rs);
            let _ = sh
                .store
                .modify(&rk, ns, rn, false, "kube-controller-manager", |o| {
                    o["spec"]["replicas"] = json!(target)
                });
        }
    }
    let all = owned(sh, &rk, ns, d["metadata"]["uid"].as_str().unwrap_or(""));
    if let Some(s) = next_status(&d, &new_rs, &all) {
        set_status(sh, &dk, ns, name, s);
    }
}

/// `Available` against the spec: at most 25% (rounded down) unavailable.
fn available_cond(spec: i64, available: i64) -> Value {
    let max_unavailable = spec / 4;
    if available >= spec - max_unavailable {
        cond(
            "Available",
            true,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        cond(
            "Available",
            false,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    }
}

fn with_cond(status: &mut Value, c: Value) {
    if !status["conditions"].is_array() {
        status["conditions"] = json!([]);
    }
    let list = status["conditions"].as_array_mut().expect("conditions");
    match list.iter_mut().find(|x| x["type"] == c["type"]) {
        Some(x) => *x = c,
        None => list.push(c),
    }
}

fn progressing_reason(s: &Value) -> String {
    s["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Progressing"))
        .and_then(|c| c["reason"].as_str())
        .unwrap_or("")
        .to_string()
}

/// The Deployment's next status, one step of the recorded sequence at a
/// time; None when it is where it should be.
fn next_status(d: &Value, new_rs: &Value, all: &[Value]) -> Option<Value> {
    let c = if d["status"].is_object() {
        d["status"].clone()
    } else {
        json!({})
    };
    let spec = d["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
    let generation = d["metadata"]["generation"].as_i64().unwrap_or(1);
    let sum = |f: &str| {
        all.iter()
            .map(|r| r["status"][f].as_i64().unwrap_or(0))
            .sum::<i64>()
    };
    let (replicas, available) = (sum("replicas"), sum("availableReplicas"));
    let updated = new_rs["status"]["replicas"].as_i64().unwrap_or(0);
    let get = |f: &str| c[f].as_i64().unwrap_or(0);
    let unavailable = (spec - available).max(0);
    let rs_name = new_rs["metadata"]["name"].as_str().unwrap_or("");
    let mut s = c.clone();
    let set = |s: &mut Value, f: &str, n: i64| {
        if n == 0 {
            s.as_object_mut().map(|m| m.remove(f));
        } else {
            s[f] = json!(n);
        }
    };
    if c["observedGeneration"].as_i64() != Some(generation) {
        if c.get("observedGeneration").is_none() {
            set(&mut s, "unavailableReplicas", unavailable);
        }
        s["observedGeneration"] = json!(generation);
        with_cond(&mut s, available_cond(spec, get("availableReplicas")));
    } else if get("unavailableReplicas") != unavailable && get("availableReplicas") == available {
        set(&mut s, "unavailableReplicas", unavailable);
    } else if get("replicas") != replicas || get("updatedReplicas") != updated {
        set(&mut s, "replicas", replicas);
        set(&mut s, "updatedReplicas", updated);
        if progressing_reason(&c) == "NewReplicaSetCreated" {
            with_cond(
                &mut s,
                cond(
                    "Progressing",
                    true,
                    "ReplicaSetUpdated",
                    &format!("ReplicaSet \"{rs_name}\" is progressing."),
                ),
            );
        }
    } else {
        let ready = step(get("readyReplicas"), sum("readyReplicas"));
        let avail = step(get("availableReplicas"), available);
        set(&mut s, "readyReplicas", ready);
        set(&mut s, "availableReplicas", avail);
        set(&mut s, "unavailableReplicas", (spec - avail).max(0));
        with_cond(&mut s, available_cond(spec, avail));
        if avail == spec && updated == spec && replicas == spec {
            with_cond(
                &mut s,
                cond(
                    "Progressing",
                    true,
                    "NewReplicaSetAvailable",
                    &format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
                ),
            );
        }
    }
    (s != c).then_some(s)
}

pub(super) fn daemonset(sh: &Shared, ns: &str, name: &str) {
    let dk = kind(sh, "apps", "DaemonSet");
    let Some(d) = sh.store.get(&dk, ns, name) else {
        return;
    };
    if is_manual(&d) || d["metadata"]["deletionTimestamp"].is_string() {
        return;
    }
    let h = hash(&d["spec"]["template"]);
    let uid = d["metadata"]["uid"].as_str().unwrap_or("");
    let pk = kind(sh, "", "Pod");
    let nodes: Vec<Value> = sh
        .store
        .list(&kind(sh, "", "Node"), None)
        .0
        .into_iter()
        .filter(|n| super::scheduler::fits(&d["spec"]["template"]["spec"], n).is_ok())
        .collect();
    for p in owned(sh, &pk, ns, uid).iter().filter(|p| live(p)) {
        let on = p["spec"]["nodeName"].as_str().unwrap_or("");
        if p["metadata"]["labels"]["controller-revision-hash"] != h.as_str()
            || !nodes.iter().any(|n| n["metadata"]["name"] == on)
        {
            delete_pod(sh, p);
        }
    }
    let pods: Vec<Value> = owned(sh, &pk, ns, uid).into_iter().filter(live).collect();
    for n in &nodes {
        let nn = n["metadata"]["name"].as_str().unwrap_or("");
        if !pods.iter().any(|p| p["spec"]["nodeName"] == nn) {
            let mut pod = new_pod(
                &d,
                &format!("{name}-{}", crate::store::suffix(sh.next_id())),
                &[("controller-revision-hash", h.clone())],
            );
            pod["spec"]["nodeName"] = json!(nn);
            create_pod(sh, &d, pod, "daemonset-controller");
        }
    }
    let pods: Vec<Value> = owned(sh, &pk, ns, uid).into_iter().filter(live).collect();
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    let mut s = json!({
        "currentNumberScheduled": pods.len(), "numberMisscheduled": 0, "desiredNumberScheduled": nodes.len(),
        "numberReady": ready, "observedGeneration": d["metadata"]["generation"], "updatedNumberScheduled": pods.len(),
        "numberAvailable": ready,
    });
    if nodes.len() > ready {
        s["numberUnavailable"] = json!(nodes.len() - ready);
    }
    if s != d["status"] {
        set_status(sh, &dk, ns, name, s);
    }
}

pub(super) fn statefulset(sh: &Shared, ns: &str, name: &str) {
    let sk = kind(sh, "apps", "StatefulSet");
    let Some(s) = sh.store.get(&sk, ns, name) else {
        return;
    };
    if is_manual(&s) || s["metadata"]["deletionTimestamp"].is_string() {
        return;
    }
    let replicas = s["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
    let rev = format!("{name}-{}", hash(&s["spec"]["template"]));
    let uid = s["metadata"]["uid"].as_str().unwrap_or("");
    let pk = kind(sh, "", "Pod");
    for p in owned(sh, &pk, ns, uid).iter().filter(|p| live(p)) {
        let idx: Option<usize> = p["metadata"]["name"]
            .as_str()
            .and_then(|n| n.rsplit('-').next()?.parse().ok());
        if p["metadata"]["labels"]["controller-revision-hash"] != rev.as_str()
            || idx.is_none_or(|i| i >= replicas)
        {
            delete_pod(sh, p);
        }
    }
    let pods = owned(sh, &pk, ns, uid);
    for i in 0..replicas {
        let pname = format!("{name}-{i}");
        if !pods.iter().any(|p| p["metadata"]["name"] == pname.as_str()) {
            let mut pod = new_pod(
                &s,
                &pname,
                &[
                    ("controller-revision-hash", rev.clone()),
                    ("statefulset.kubernetes.io/pod-name", pname.clone()),
                ],
            );
            // volumeClaimTemplates become per-pod scratch volumes
            for t in s["spec"]["volumeClaimTemplates"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if !pod["spec"]["volumes"].is_array() {
                    pod["spec"]["volumes"] = json!([]);
                }
                pod["spec"]["volumes"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": t["metadata"]["name"], "emptyDir": {}}));
            }
            create_pod(sh, &s, pod, "statefulset-controller");
        }
    }
    let pods: Vec<Value> = owned(sh, &pk, ns, uid).into_iter().filter(live).collect();
    let ready = pods.iter().filter(|p| pod_ready(p)).count() as i64;
    let mut st = Value::Object(counters(&[
        ("readyReplicas", ready),
        ("availableReplicas", ready),
        ("currentReplicas", pods.len() as i64),
        ("updatedReplicas", pods.len() as i64),
        (
            "observedGeneration",
            s["metadata"]["generation"].as_i64().unwrap_or(1),
        ),
    ]));
    st["replicas"] = json!(pods.len());
    st["currentRevision"] = json!(rev);
    st["updateRevision"] = json!(rev);
    st["collisionCount"] = json!(0);
    if st != s["status"] {
        set_status(sh, &sk, ns, name, st);
    }
}
