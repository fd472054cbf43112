//! The control plane's controllers for the kinds that need behaviour, one
//! task reacting to store events: the scheduler (`scheduler.rs`),
//! Deployments and ReplicaSets, DaemonSets and StatefulSets
//! (`workloads.rs`), Jobs (`jobs.rs`), the garbage collector (`gc.rs`),
//! namespaces (`namespaces.rs`: deletion, the root CA ConfigMap, the
//! default service account), volumes (`volumes.rs`), CRDs. Each writes
//! the states the real controller writes, in the recorded order
//! (tests/traces).

mod common;
mod gc;
mod jobs;
mod namespaces;
mod scheduler;
mod volumes;
mod workloads;

use crate::kubelet::is_manual;
use crate::shared::Shared;
use crate::store::Event;
use common::{cond, kind, name_of};
use serde_json::{json, Value};
use std::sync::Arc;

pub use namespaces::namespace_finalized;
pub use scheduler::{bind, fits};
pub use volumes::{ensure_default_class, PROVISIONER};

/// React to store events. `rx` is subscribed by the caller before anything
/// is written, so no event is missed.
pub async fn run(sh: Arc<Shared>, mut rx: tokio::sync::broadcast::Receiver<Arc<Event>>) {
    volumes::ensure_default_class(&sh);
    namespaces::publish_all(&sh);
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

fn handle(sh: &Arc<Shared>, ev: &Event) {
    let o = &ev.object.value;
    gc::on_event(sh, ev);
    namespaces::on_event(sh, ev);
    match ev.res.as_str() {
        "pods" => pod(sh, ev),
        "replicasets.apps" if ev.etype != "DELETED" => {
            let (ns, name) = name_of(o);
            workloads::replicaset(sh, ns, name);
            owner_changed(sh, o);
        }
        "deployments.apps" if ev.etype != "DELETED" => {
            let (ns, name) = name_of(o);
            workloads::deployment(sh, ns, name);
        }
        "daemonsets.apps" if ev.etype != "DELETED" => {
            let (ns, name) = name_of(o);
            workloads::daemonset(sh, ns, name);
        }
        "statefulsets.apps" if ev.etype != "DELETED" => {
            let (ns, name) = name_of(o);
            workloads::statefulset(sh, ns, name);
        }
        "jobs.batch" if ev.etype != "DELETED" => {
            let (ns, name) = name_of(o);
            jobs::job(sh, ns, name);
        }
        "nodes" => {
            for d in sh.store.list(&kind(sh, "apps", "DaemonSet"), None).0 {
                let (ns, name) = name_of(&d);
                workloads::daemonset(sh, ns, name);
            }
            scheduler::retry_pending(sh);
        }
        "persistentvolumeclaims" | "persistentvolumes" if volumes::on_event(sh, ev) => {
            scheduler::retry_pending(sh);
        }
        "customresourcedefinitions.apiextensions.k8s.io" if ev.etype != "DELETED" => {
            establish_crd(sh, o)
        }
        _ => {}
    }
}

fn pod(sh: &Arc<Shared>, ev: &Event) {
    let o = &ev.object.value;
    if ev.etype == "DELETED"
        || matches!(o["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
    {
        volumes::pod_done(sh, o);
    }
    if ev.etype == "DELETED" {
        sh.kubelet.stop(o);
    } else if o["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
        if ev.etype == "ADDED" && !is_manual(o) {
            scheduler::schedule_soon(sh, o);
        }
    } else {
        sh.kubelet.ensure(o);
    }
    owner_changed(sh, o);
}

/// Reconcile the controller that owns `o`.
fn owner_changed(sh: &Shared, o: &Value) {
    let Some(owner) = o["metadata"]["ownerReferences"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["controller"] == true).or(a.first()))
    else {
        return;
    };
    let (ns, _) = name_of(o);
    let name = owner["name"].as_str().unwrap_or("");
    match owner["kind"].as_str().unwrap_or("") {
        "ReplicaSet" => workloads::replicaset(sh, ns, name),
        "Deployment" => workloads::deployment(sh, ns, name),
        "DaemonSet" => workloads::daemonset(sh, ns, name),
        "StatefulSet" => workloads::statefulset(sh, ns, name),
        "Job" => jobs::job(sh, ns, name),
        _ => {}
    }
}

fn resync(sh: &Arc<Shared>) {
    for (g, k) in [
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "DaemonSet"),
        ("apps", "StatefulSet"),
        ("batch", "Job"),
    ] {
        let kk = kind(sh, g, k);
        for o in sh.store.list(&kk, None).0 {
            let (ns, name) = name_of(&o);
            match k {
                "Deployment" => workloads::deployment(sh, ns, name),
                "ReplicaSet" => workloads::replicaset(sh, ns, name),
                "DaemonSet" => workloads::daemonset(sh, ns, name),
                "StatefulSet" => workloads::statefulset(sh, ns, name),
                _ => jobs::job(sh, ns, name),
            }
        }
    }
    for p in sh.store.list(&kind(sh, "", "Pod"), None).0 {
        sh.kubelet.ensure(&p);
    }
    scheduler::retry_pending(sh);
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
    let _ = sh.store.modify(&k, "", name, true, "kube-apiserver", |o| {
        o["status"] = json!({
            "acceptedNames": o["spec"]["names"].clone(),
            "storedVersions": o["spec"]["versions"].as_array().map(|v| v.iter().filter(|x| x["storage"] == true).map(|x| x["name"].clone()).collect::<Vec<_>>()).unwrap_or_default(),
            "conditions": [cond("NamesAccepted", true, "NoConflicts", "no conflicts found"), cond("Established", true, "InitialNamesAccepted", "the initial names have been accepted")],
        });
    });
}
