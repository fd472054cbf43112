//! Controllers for the kinds that need behaviour: scheduling, Deployments,
//! DaemonSets, StatefulSets, Jobs, PVC binding, CRD establishment, garbage
//! collection. One task reacts to store events.

use crate::kinds::Kind;
use crate::kubelet::{is_manual, record_event};
use crate::shared::Shared;
use crate::store::Event;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// React to store events. `rx` is subscribed by the caller before anything
/// is written, so no event is missed.
pub async fn run(sh: Arc<Shared>, mut rx: tokio::sync::broadcast::Receiver<Arc<Event>>) {
    resync(&sh);
    loop {
        tokio::select! {
            _ = sh.shutdown.cancelled() => return,
            ev = rx.recv() => match ev {
                Ok(ev) => handle(&sh, &ev),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => resync(&sh),
                Err(_) => return,
            }
        }
    }
}

fn kind(sh: &Shared, group: &str, k: &str) -> Kind {
    sh.store.kind(group, k).expect("built-in kind")
}

fn name_of(o: &Value) -> (&str, &str) {
    (
        o["metadata"]["namespace"].as_str().unwrap_or(""),
        o["metadata"]["name"].as_str().unwrap_or(""),
    )
}

fn handle(sh: &Arc<Shared>, ev: &Event) {
    let o = &ev.object.value;
    match ev.res.as_str() {
        "pods" => {
            if ev.etype == "DELETED" {
                sh.kubelet.stop(o);
            } else if o["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
                if ev.etype == "ADDED" && !is_manual(o) {
                    let d = sh.faults.schedule_delay();
                    if d.is_zero() {
                        schedule(sh, o);
                    } else {
                        let (sh, o) = (sh.clone(), o.clone());
                        tokio::spawn(async move {
                            tokio::time::sleep(d).await;
                            let pk = kind(&sh, "", "Pod");
                            let (ns, name) = name_of(&o);
                            if let Some(now) = sh.store.get(&pk, ns, name) {
                                if now["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
                                    schedule(&sh, &now);
                                }
                            }
                        });
                    }
                }
            } else {
                sh.kubelet.ensure(o);
            }
            if let Some(owner) = o["metadata"]["ownerReferences"]
                .as_array()
                .and_then(|a| a.first())
            {
                let (ns, _) = name_of(o);
                let name = owner["name"].as_str().unwrap_or("");
                match owner["kind"].as_str().unwrap_or("") {
                    "Deployment" => deployment(sh, ns, name),
                    "DaemonSet" => daemonset(sh, ns, name),
                    "StatefulSet" => statefulset(sh, ns, name),
                    "Job" => job(sh, ns, name),
                    _ => {}
                }
            }
        }
        "deployments.apps" | "daemonsets.apps" | "statefulsets.apps" | "jobs.batch" => {
            let (ns, name) = name_of(o);
            if ev.etype == "DELETED" {
                collect_garbage(sh, o);
                return;
            }
            match ev.res.as_str() {
                "deployments.apps" => deployment(sh, ns, name),
                "daemonsets.apps" => daemonset(sh, ns, name),
                "statefulsets.apps" => statefulset(sh, ns, name),
                _ => job(sh, ns, name),
            }
        }
        "nodes" => {
            let dk = kind(sh, "apps", "DaemonSet");
            for d in sh.store.list(&dk, None).0 {
                let (ns, name) = name_of(&d);
                daemonset(sh, ns, name);
            }
            retry_pending(sh);
        }
        "persistentvolumeclaims" if ev.etype == "ADDED" => {
            let delay = sh.faults.pvc_bind_delay();
            if delay.is_zero() {
                bind_pvc(sh, o);
                // pods that waited for this claim can be scheduled now
                retry_pending(sh);
            } else {
                // pods that come meanwhile see an unbound claim
                retry_pending(sh);
                let (sh, o) = (sh.clone(), o.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let k = kind(&sh, "", "PersistentVolumeClaim");
                    let (ns, name) = name_of(&o);
                    if let Some(now) = sh.store.get(&k, ns, name) {
                        bind_pvc(&sh, &now);
                        retry_pending(&sh);
                    }
                });
            }
        }
        "customresourcedefinitions.apiextensions.k8s.io" if ev.etype != "DELETED" => {
            establish_crd(sh, o)
        }
        _ => {}
    }
}

fn resync(sh: &Arc<Shared>) {
    for (g, k) in [
        ("apps", "Deployment"),
        ("apps", "DaemonSet"),
        ("apps", "StatefulSet"),
        ("batch", "Job"),
    ] {
        let kk = kind(sh, g, k);
        for o in sh.store.list_stored(&kk, None).0 {
            handle(
                sh,
                &Event {
                    rv: 0,
                    res: kk.key(),
                    ns: String::new(),
                    etype: "MODIFIED",
                    object: o,
                },
            );
        }
    }
    let pk = kind(sh, "", "Pod");
    for p in sh.store.list(&pk, None).0 {
        sh.kubelet.ensure(&p);
    }
    retry_pending(sh);
}

fn retry_pending(sh: &Arc<Shared>) {
    let pk = kind(sh, "", "Pod");
    for p in sh.store.list(&pk, None).0 {
        if p["spec"]["nodeName"].as_str().unwrap_or("").is_empty() && !is_manual(&p) {
            schedule(sh, &p);
        }
    }
}

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
    for t in node["spec"]["taints"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        if !tolerates(&spec["tolerations"], &t) {
            return Err("node(s) had untolerated taint");
        }
    }
    Ok(())
}

/// Mark a pod Pending/Unschedulable with `msg` and a FailedScheduling
/// event (once per distinct message).
fn unschedulable(sh: &Arc<Shared>, pod: &Value, msg: String) {
    let pk = kind(sh, "", "Pod");
    let (ns, name) = name_of(pod);
    let already = pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "PodScheduled" && c["message"] == msg.as_str())
    });
    if already {
        return;
    }
    let m2 = msg.clone();
    let _ = sh.store.modify(&pk, ns, name, true, |o| {
        o["status"]["phase"] = json!("Pending");
        o["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": m2, "lastProbeTime": null, "lastTransitionTime": crate::store::now()}]);
    });
    record_event(
        &sh.store,
        pod,
        "Warning",
        "FailedScheduling",
        &msg,
        "default-scheduler",
    );
}

static NEXT_NODE: AtomicUsize = AtomicUsize::new(0);

fn schedule(sh: &Arc<Shared>, pod: &Value) {
    let nk = kind(sh, "", "Node");
    let pk = kind(sh, "", "Pod");
    let (ns, name) = name_of(pod);
    let nodes = sh.store.list(&nk, None).0;
    // like the scheduler: a claim that does not exist keeps the pod pending
    let pvck = kind(sh, "", "PersistentVolumeClaim");
    let missing = pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
        .find(|c| sh.store.get(&pvck, ns, c).is_none());
    if let Some(claim) = missing {
        let n = nodes.len();
        let msg = format!("0/{n} nodes are available: persistentvolumeclaim \"{claim}\" not found. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling.");
        unschedulable(sh, pod, msg);
        return;
    }
    // and one that is not bound yet (an Immediate claim the provisioner
    // is still working on)
    let unbound = pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
        .filter_map(|c| sh.store.get(&pvck, ns, c))
        .any(|c| c["status"]["phase"] != "Bound" && !is_manual(&c));
    if unbound {
        let n = nodes.len();
        let msg = format!("0/{n} nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling.");
        unschedulable(sh, pod, msg);
        return;
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
        let mut msg = format!("0/{} nodes are available:", nodes.len());
        let mut uniq = reasons.clone();
        uniq.dedup();
        let parts: Vec<String> = uniq
            .iter()
            .map(|r| format!(" {} {r}", reasons.iter().filter(|x| x == &r).count()))
            .collect();
        msg.push_str(&parts.join(","));
        msg.push_str(". preemption: 0/0 nodes are available.");
        unschedulable(sh, pod, msg);
        return;
    }
    let node = eligible[NEXT_NODE.fetch_add(1, Ordering::Relaxed) % eligible.len()];
    let node_name = node["metadata"]["name"].as_str().unwrap_or("").to_string();
    let nn = node_name.clone();
    if let Ok(p) = sh
        .store
        .modify(&pk, ns, name, false, |o| o["spec"]["nodeName"] = json!(nn))
    {
        record_event(
            &sh.store,
            &p.value,
            "Normal",
            "Scheduled",
            &format!("Successfully assigned {ns}/{name} to {node_name}"),
            "default-scheduler",
        );
    }
}

fn hash(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    crate::store::suffix(h).repeat(2)[..10].to_string()
}

fn owned_pods(sh: &Shared, ns: &str, uid: &str) -> Vec<Value> {
    let pk = kind(sh, "", "Pod");
    sh.store
        .list(&pk, Some(ns))
        .0
        .into_iter()
        .filter(|p| {
            p["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|a| a.iter().any(|r| r["uid"] == uid))
        })
        .collect()
}

fn pod_ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// A pod from a workload's template.
fn new_pod(owner: &Value, name: &str, extra_labels: &[(&str, String)]) -> Value {
    let tpl = &owner["spec"]["template"];
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": tpl["metadata"]["labels"].clone(),
            "annotations": tpl["metadata"]["annotations"].clone(),
            "ownerReferences": [{
                "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": tpl["spec"].clone(),
    });
    if !pod["metadata"]["labels"].is_object() {
        pod["metadata"]["labels"] = json!({});
    }
    if pod["metadata"]["annotations"].is_null() {
        pod["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("annotations");
    }
    for (k, v) in extra_labels {
        pod["metadata"]["labels"][*k] = json!(v);
    }
    pod
}

fn create_pod(sh: &Shared, owner: &Value, pod: Value) {
    let (ns, _) = name_of(owner);
    let pk = kind(sh, "", "Pod");
    let r = crate::admission::admit(sh, &pk, ns, pod).and_then(|p| sh.store.create(&pk, ns, p));
    if let Err(e) = r {
        let msg = format!("Error creating: {}", e.message);
        let dup = e.code == 409;
        if !dup {
            record_event(
                &sh.store,
                owner,
                "Warning",
                "FailedCreate",
                &msg,
                "controller-manager",
            );
        }
    }
}

fn delete_pod(sh: &Shared, p: &Value) {
    let pk = kind(sh, "", "Pod");
    let (ns, name) = name_of(p);
    let _ = sh.store.delete(&pk, ns, name);
}

fn set_status(sh: &Shared, k: &Kind, ns: &str, name: &str, status: Value) {
    let _ = sh.store.modify(k, ns, name, true, |o| {
        let mut s = status.clone();
        if let (Some(old), Some(new)) = (
            o["status"]["conditions"].as_array(),
            s["conditions"].as_array_mut(),
        ) {
            for c in new {
                if let Some(oc) = old
                    .iter()
                    .find(|x| x["type"] == c["type"] && x["status"] == c["status"])
                {
                    c["lastTransitionTime"] = oc["lastTransitionTime"].clone();
                    c["lastUpdateTime"] = oc["lastUpdateTime"].clone();
                }
            }
        }
        o["status"] = s;
    });
}

fn cond(t: &str, ok: bool, reason: &str, message: &str) -> Value {
    let now = crate::store::now();
    json!({"type": t, "status": if ok { "True" } else { "False" }, "reason": reason, "message": message, "lastTransitionTime": now, "lastUpdateTime": now})
}

fn deployment(sh: &Shared, ns: &str, name: &str) {
    let dk = kind(sh, "apps", "Deployment");
    let Some(d) = sh.store.get(&dk, ns, name) else {
        return;
    };
    if is_manual(&d) {
        return;
    }
    let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
    let h = hash(&d["spec"]["template"]);
    let uid = d["metadata"]["uid"].as_str().unwrap_or("");
    let pods = owned_pods(sh, ns, uid);
    let (cur, old): (Vec<Value>, Vec<Value>) = pods
        .into_iter()
        .partition(|p| p["metadata"]["labels"]["pod-template-hash"] == h.as_str());
    for p in &old {
        delete_pod(sh, p);
    }
    if cur.len() < replicas {
        for i in cur.len()..replicas {
            let _ = i;
            let pname = format!("{name}-{h}-{}", crate::store::suffix(sh.next_id()));
            create_pod(
                sh,
                &d,
                new_pod(&d, &pname, &[("pod-template-hash", h.clone())]),
            );
        }
    } else {
        for p in cur.iter().skip(replicas) {
            delete_pod(sh, p);
        }
    }
    let cur = owned_pods(sh, ns, uid);
    let ready = cur.iter().filter(|p| pod_ready(p)).count();
    let total = cur.len();
    let available = ready >= replicas;
    let done = available && total == replicas;
    set_status(
        sh,
        &dk,
        ns,
        name,
        json!({
            "observedGeneration": d["metadata"]["generation"],
            "replicas": total, "updatedReplicas": total, "readyReplicas": ready, "availableReplicas": ready,
            "unavailableReplicas": replicas.saturating_sub(ready),
            "conditions": [
                if available { cond("Available", true, "MinimumReplicasAvailable", "Deployment has minimum availability.") }
                else { cond("Available", false, "MinimumReplicasUnavailable", "Deployment does not have minimum availability.") },
                if done { cond("Progressing", true, "NewReplicaSetAvailable", &format!("ReplicaSet \"{name}-{h}\" has successfully progressed.")) }
                else { cond("Progressing", true, "ReplicaSetUpdated", &format!("ReplicaSet \"{name}-{h}\" is progressing.")) },
            ],
        }),
    );
}

fn daemonset(sh: &Shared, ns: &str, name: &str) {
    let dk = kind(sh, "apps", "DaemonSet");
    let Some(d) = sh.store.get(&dk, ns, name) else {
        return;
    };
    if is_manual(&d) {
        return;
    }
    let nk = kind(sh, "", "Node");
    let h = hash(&d["spec"]["template"]);
    let uid = d["metadata"]["uid"].as_str().unwrap_or("");
    let pods = owned_pods(sh, ns, uid);
    let nodes: Vec<Value> = sh
        .store
        .list(&nk, None)
        .0
        .into_iter()
        .filter(|n| fits(&d["spec"]["template"]["spec"], n).is_ok())
        .collect();
    for p in &pods {
        let on = p["spec"]["nodeName"].as_str().unwrap_or("");
        if p["metadata"]["labels"]["controller-revision-hash"] != h.as_str()
            || !nodes.iter().any(|n| n["metadata"]["name"] == on)
        {
            delete_pod(sh, p);
        }
    }
    let pods: Vec<Value> = owned_pods(sh, ns, uid);
    for n in &nodes {
        let nn = n["metadata"]["name"].as_str().unwrap_or("");
        if !pods.iter().any(|p| p["spec"]["nodeName"] == nn) {
            let mut pod = new_pod(
                &d,
                &format!("{name}-{}", crate::store::suffix(sh.next_id())),
                &[("controller-revision-hash", h.clone())],
            );
            pod["spec"]["nodeName"] = json!(nn);
            create_pod(sh, &d, pod);
        }
    }
    let pods = owned_pods(sh, ns, uid);
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    set_status(
        sh,
        &dk,
        ns,
        name,
        json!({
            "observedGeneration": d["metadata"]["generation"],
            "desiredNumberScheduled": nodes.len(), "currentNumberScheduled": pods.len(),
            "updatedNumberScheduled": pods.len(), "numberReady": ready, "numberAvailable": ready,
            "numberUnavailable": nodes.len().saturating_sub(ready), "numberMisscheduled": 0,
        }),
    );
}

fn statefulset(sh: &Shared, ns: &str, name: &str) {
    let sk = kind(sh, "apps", "StatefulSet");
    let Some(s) = sh.store.get(&sk, ns, name) else {
        return;
    };
    if is_manual(&s) {
        return;
    }
    let replicas = s["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
    let rev = format!("{name}-{}", hash(&s["spec"]["template"]));
    let uid = s["metadata"]["uid"].as_str().unwrap_or("");
    for p in owned_pods(sh, ns, uid) {
        let idx: Option<usize> = p["metadata"]["name"]
            .as_str()
            .and_then(|n| n.rsplit('-').next()?.parse().ok());
        if p["metadata"]["labels"]["controller-revision-hash"] != rev.as_str()
            || idx.is_none_or(|i| i >= replicas)
        {
            delete_pod(sh, &p);
        }
    }
    let pods = owned_pods(sh, ns, uid);
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
                .cloned()
                .unwrap_or_default()
            {
                if !pod["spec"]["volumes"].is_array() {
                    pod["spec"]["volumes"] = json!([]);
                }
                pod["spec"]["volumes"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": t["metadata"]["name"], "emptyDir": {}}));
            }
            create_pod(sh, &s, pod);
        }
    }
    let pods = owned_pods(sh, ns, uid);
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    set_status(
        sh,
        &sk,
        ns,
        name,
        json!({
            "observedGeneration": s["metadata"]["generation"], "replicas": pods.len(), "readyReplicas": ready,
            "availableReplicas": ready, "currentReplicas": pods.len(), "updatedReplicas": pods.len(),
            "currentRevision": rev, "updateRevision": rev, "collisionCount": 0,
        }),
    );
}

fn job(sh: &Shared, ns: &str, name: &str) {
    let jk = kind(sh, "batch", "Job");
    let Some(j) = sh.store.get(&jk, ns, name) else {
        return;
    };
    if is_manual(&j) {
        return;
    }
    let completions = j["spec"]["completions"].as_i64().unwrap_or(1).max(1) as usize;
    let parallelism = j["spec"]["parallelism"].as_i64().unwrap_or(1).max(1) as usize;
    let backoff = j["spec"]["backoffLimit"].as_i64().unwrap_or(6).max(0) as usize;
    let uid = j["metadata"]["uid"].as_str().unwrap_or("");
    let pods = owned_pods(sh, ns, uid);
    let phase = |p: &Value| p["status"]["phase"].as_str().unwrap_or("").to_string();
    let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count();
    let failed = pods.iter().filter(|p| phase(p) == "Failed").count();
    let active = pods.len() - succeeded - failed;
    let complete = succeeded >= completions;
    let gave_up = failed > backoff;
    if !complete && !gave_up {
        let want = parallelism.min(completions - succeeded);
        for _ in active..want {
            let pname = format!("{name}-{}", crate::store::suffix(sh.next_id()));
            let mut pod = new_pod(
                &j,
                &pname,
                &[
                    ("job-name", name.to_string()),
                    ("batch.kubernetes.io/job-name", name.to_string()),
                ],
            );
            if pod["spec"]["restartPolicy"].is_null() || pod["spec"]["restartPolicy"] == "Always" {
                pod["spec"]["restartPolicy"] = json!("Never");
            }
            create_pod(sh, &j, pod);
        }
    }
    let mut status = json!({"active": if complete || gave_up { 0 } else { active }, "succeeded": succeeded, "failed": failed, "startTime": j["status"]["startTime"].as_str().map(str::to_string).unwrap_or_else(crate::store::now)});
    if complete {
        status["completionTime"] = json!(crate::store::now());
        status["conditions"] = json!([
            cond(
                "SuccessCriteriaMet",
                true,
                "CompletionsReached",
                "Reached expected number of succeeded pods"
            ),
            cond(
                "Complete",
                true,
                "CompletionsReached",
                "Reached expected number of succeeded pods"
            )
        ]);
    } else if gave_up {
        status["conditions"] = json!([cond(
            "Failed",
            true,
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit"
        )]);
    }
    set_status(sh, &jk, ns, name, status);
}

/// Remove the owner's reference from its pods (DELETE with Orphan), so the
/// garbage collector leaves them.
pub fn orphan_dependents(sh: &Shared, owner: &Value) {
    let (ns, _) = name_of(owner);
    let uid = owner["metadata"]["uid"].as_str().unwrap_or("").to_string();
    let pk = kind(sh, "", "Pod");
    for p in owned_pods(sh, ns, &uid) {
        let (pns, pname) = name_of(&p);
        let _ = sh.store.modify(&pk, pns, pname, false, |o| {
            if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
                refs.retain(|r| r["uid"] != uid.as_str());
            }
        });
    }
}

fn collect_garbage(sh: &Shared, owner: &Value) {
    let (ns, _) = name_of(owner);
    for p in owned_pods(sh, ns, owner["metadata"]["uid"].as_str().unwrap_or("")) {
        delete_pod(sh, &p);
    }
}

fn bind_pvc(sh: &Shared, pvc: &Value) {
    if is_manual(pvc) || pvc["status"]["phase"] == "Bound" {
        return;
    }
    let k = kind(sh, "", "PersistentVolumeClaim");
    let (ns, name) = name_of(pvc);
    let volume = format!("pvc-{}", pvc["metadata"]["uid"].as_str().unwrap_or(""));
    sh.kubelet.pvc_dir(ns, name);
    let v2 = volume.clone();
    let _ = sh.store.modify(&k, ns, name, false, |o| {
        o["spec"]["volumeName"] = json!(v2);
        if o["spec"]["storageClassName"].is_null() {
            o["spec"]["storageClassName"] = json!("standard");
        }
    });
    let _ = sh.store.modify(&k, ns, name, true, |o| {
        o["status"] = json!({"phase": "Bound", "accessModes": o["spec"]["accessModes"].clone(), "capacity": {"storage": o["spec"]["resources"]["requests"]["storage"].clone()}});
    });
}

fn establish_crd(sh: &Shared, crd: &Value) {
    let established = crd["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
    });
    sh.store.register_crd(crd);
    if established {
        return;
    }
    let k = kind(sh, "apiextensions.k8s.io", "CustomResourceDefinition");
    let (_, name) = name_of(crd);
    let _ = sh.store.modify(&k, "", name, true, |o| {
        o["status"] = json!({
            "acceptedNames": o["spec"]["names"].clone(),
            "storedVersions": o["spec"]["versions"].as_array().map(|v| v.iter().filter(|x| x["storage"] == true).map(|x| x["name"].clone()).collect::<Vec<_>>()).unwrap_or_default(),
            "conditions": [cond("NamesAccepted", true, "NoConflicts", "no conflicts found"), cond("Established", true, "InitialNamesAccepted", "the initial names have been accepted")],
        });
    });
}
