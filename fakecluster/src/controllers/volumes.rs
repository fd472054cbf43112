//! Volumes as the persistent-volume controller, a provisioner and the
//! scheduler's volume binding handle them (tests/traces/
//! pvc-wait-for-first-consumer.json): the default StorageClass `standard`
//! (Immediate, a provisioner of the fake's own); an Immediate claim is
//! annotated with its provisioner, gets a provisioned PV, is bound (its
//! volumeName and the bind annotations, still Pending) and then Bound; a
//! WaitForFirstConsumer claim waits (a `WaitForFirstConsumer` event,
//! repeated) until a pod that uses it is scheduled, then binds a matching
//! static PV on that node or has one provisioned. A released PV is
//! Released (Retain) or deleted (Delete).

use super::common::{kind, name_of};
use crate::events::{self, Source};
use crate::kubelet::is_manual;
use crate::shared::Shared;
use crate::store::{Event, Track};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// The provisioner of the fake's default StorageClass.
pub const PROVISIONER: &str = "fakecluster.scaffold.dev/hostpath";
const BY: &str = "kube-controller-manager";
/// How often a claim that waits for its first consumer says so again.
const WAITING_EVERY: Duration = Duration::from_secs(3);

/// The default StorageClass, as a cluster's installer makes it.
pub fn ensure_default_class(sh: &Shared) {
    let k = kind(sh, "storage.k8s.io", "StorageClass");
    if sh.store.get(&k, "", "standard").is_none() {
        let _ = sh.store.create(&k, "", json!({
            "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": PROVISIONER, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate",
        }), Track::By("kubectl-create"));
    }
}

fn class_of(sh: &Shared, pvc: &Value) -> Option<Value> {
    let name = pvc["spec"]["storageClassName"]
        .as_str()
        .filter(|n| !n.is_empty())?;
    sh.store
        .get(&kind(sh, "storage.k8s.io", "StorageClass"), "", name)
}

/// A claim whose class binds only when a pod uses it, not bound yet.
pub fn waits_for_consumer(sh: &Shared, pvc: &Value) -> bool {
    pvc["spec"]["volumeName"].as_str().unwrap_or("").is_empty()
        && class_of(sh, pvc).is_some_and(|c| c["volumeBindingMode"] == "WaitForFirstConsumer")
}

fn provisioner(class: &Value) -> Option<String> {
    class["provisioner"]
        .as_str()
        .filter(|p| *p != "kubernetes.io/no-provisioner")
        .map(str::to_string)
}

/// React to a claim's or a volume's change; true when a claim became
/// Bound (pods waiting for it may be scheduled now).
pub(super) fn on_event(sh: &Arc<Shared>, ev: &Event) -> bool {
    let o = &ev.object.value;
    if is_manual(o) {
        return false;
    }
    match (ev.res.as_str(), ev.etype) {
        ("persistentvolumeclaims", "ADDED") => claim_added(sh, o),
        ("persistentvolumeclaims", "MODIFIED") | ("persistentvolumes", "MODIFIED")
            if o["metadata"]["deletionTimestamp"].is_string() =>
        {
            unprotect(sh, ev)
        }
        ("persistentvolumeclaims", "MODIFIED") if o["status"]["phase"] == "Bound" => return true,
        ("persistentvolumeclaims", "DELETED") => release(sh, o),
        ("persistentvolumes", "ADDED")
            if o["status"]["phase"] == "Pending" && !o["spec"]["claimRef"].is_object() =>
        {
            set_pv_phase(sh, name_of(o).1, "Available");
        }
        _ => {}
    }
    false
}

fn claim_added(sh: &Arc<Shared>, pvc: &Value) {
    let Some(class) = class_of(sh, pvc) else {
        return bind_static(sh, pvc, None).unwrap_or(());
    };
    if class["volumeBindingMode"] == "WaitForFirstConsumer" {
        return keep_saying_waiting(sh, pvc);
    }
    match provisioner(&class) {
        Some(p) => provision(sh, pvc, &class, &p, None),
        None => bind_static(sh, pvc, None).unwrap_or(()),
    }
}

/// `WaitForFirstConsumer` now and again, while the claim waits.
fn keep_saying_waiting(sh: &Arc<Shared>, pvc: &Value) {
    let (sh, pvc) = (sh.clone(), pvc.clone());
    tokio::spawn(async move {
        let (ns, name) = name_of(&pvc);
        let k = kind(&sh, "", "PersistentVolumeClaim");
        loop {
            match sh.store.get(&k, ns, name) {
                Some(now)
                    if now["metadata"]["uid"] == pvc["metadata"]["uid"]
                        && waits_for_consumer(&sh, &now) =>
                {
                    events::record(
                        &sh.store,
                        &now,
                        "Normal",
                        "WaitForFirstConsumer",
                        "waiting for first consumer to be created before binding",
                        Source::Controller("persistentvolume-controller"),
                        None,
                    );
                }
                _ => return,
            }
            tokio::select! {
                _ = sh.shutdown.cancelled() => return,
                _ = tokio::time::sleep(WAITING_EVERY) => {}
            }
        }
    });
}

/// An external provisioner's work: the claim annotated, a PV made for it
/// (after the injected delay), the claim bound.
fn provision(sh: &Arc<Shared>, pvc: &Value, class: &Value, prov: &str, node: Option<&str>) {
    let (ns, name) = name_of(pvc);
    let k = kind(sh, "", "PersistentVolumeClaim");
    let p = prov.to_string();
    let n = node.map(str::to_string);
    let Ok(pvc) = sh.store.modify(&k, ns, name, false, BY, |o| {
        o["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] = json!(p);
        o["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-provisioner"] = json!(p);
        if let Some(n) = &n {
            o["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] = json!(n);
        }
    }) else {
        return;
    };
    let pvc = pvc.value.clone();
    let msg = format!("Waiting for a volume to be created either by the external provisioner '{prov}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.");
    events::record(
        &sh.store,
        &pvc,
        "Normal",
        "ExternalProvisioning",
        &msg,
        Source::Controller("persistentvolume-controller"),
        None,
    );
    let (sh, class) = (sh.clone(), class.clone());
    tokio::spawn(async move {
        tokio::time::sleep(sh.faults.pvc_bind_delay()).await;
        let (ns, name) = name_of(&pvc);
        let Some(now) = sh
            .store
            .get(&kind(&sh, "", "PersistentVolumeClaim"), ns, name)
        else {
            return;
        };
        let pv = format!("pvc-{}", now["metadata"]["uid"].as_str().unwrap_or(""));
        sh.kubelet.pvc_dir(ns, name);
        let _ = sh.store.create(&kind(&sh, "", "PersistentVolume"), "", json!({
            "metadata": {"name": pv, "annotations": {"pv.kubernetes.io/provisioned-by": class["provisioner"]}},
            "spec": {"capacity": {"storage": now["spec"]["resources"]["requests"]["storage"]}, "accessModes": now["spec"]["accessModes"],
                     "persistentVolumeReclaimPolicy": class["reclaimPolicy"].as_str().unwrap_or("Delete"), "storageClassName": now["spec"]["storageClassName"],
                     "hostPath": {"path": format!("/var/local-path-provisioner/{pv}"), "type": "DirectoryOrCreate"},
                     "claimRef": claim_ref(&now), "volumeMode": "Filesystem"},
        }), Track::By("fakecluster-provisioner"));
        bind(&sh, &now, &pv);
    });
}

fn claim_ref(pvc: &Value) -> Value {
    json!({"kind": "PersistentVolumeClaim", "namespace": pvc["metadata"]["namespace"], "name": pvc["metadata"]["name"],
           "uid": pvc["metadata"]["uid"], "apiVersion": "v1", "resourceVersion": pvc["metadata"]["resourceVersion"]})
}

/// The controller's binding: the claim names its volume (still Pending),
/// then both are Bound.
fn bind(sh: &Shared, pvc: &Value, pv_name: &str) {
    let (ns, name) = name_of(pvc);
    let (ck, vk) = (
        kind(sh, "", "PersistentVolumeClaim"),
        kind(sh, "", "PersistentVolume"),
    );
    let r = claim_ref(pvc);
    let _ = sh.store.modify(&vk, "", pv_name, false, BY, |o| {
        o["spec"]["claimRef"] = r.clone();
        o["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] = json!("yes");
    });
    set_pv_phase(sh, pv_name, "Bound");
    let v = pv_name.to_string();
    let Ok(bound) = sh.store.modify(&ck, ns, name, false, BY, |o| {
        o["spec"]["volumeName"] = json!(v);
        if o["spec"]["storageClassName"].is_null() {
            o["spec"]["storageClassName"] = json!("");
        }
        o["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] = json!("yes");
        o["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] = json!("yes");
    }) else {
        return;
    };
    let pv = sh.store.get(&vk, "", pv_name).unwrap_or_default();
    let modes = bound.value["spec"]["accessModes"].clone();
    let _ = sh.store.modify(&ck, ns, name, true, BY, |o| {
        o["status"] =
            json!({"phase": "Bound", "accessModes": modes, "capacity": pv["spec"]["capacity"]});
    });
}

/// A static PV that fits the claim (class, size, access modes, the
/// node when one is chosen), bound to it; Err when none does.
fn bind_static(sh: &Shared, pvc: &Value, node: Option<&str>) -> Result<(), ()> {
    let vk = kind(sh, "", "PersistentVolume");
    let class = pvc["spec"]["storageClassName"].as_str().unwrap_or("");
    let fits = |pv: &Value| {
        pv["status"]["phase"] == "Available"
            && pv["spec"]["storageClassName"].as_str().unwrap_or("") == class
            && node.is_none_or(|n| node_affinity_allows(pv, n))
    };
    let pv = sh
        .store
        .list(&vk, None)
        .0
        .into_iter()
        .find(|pv| fits(pv))
        .ok_or(())?;
    bind(sh, pvc, name_of(&pv).1);
    Ok(())
}

fn node_affinity_allows(pv: &Value, node: &str) -> bool {
    let terms = &pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"];
    let Some(terms) = terms.as_array() else {
        return true;
    };
    terms.iter().any(|t| {
        t["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| {
                e["key"] != "kubernetes.io/hostname"
                    || e["values"]
                        .as_array()
                        .is_some_and(|v| v.iter().any(|x| x == node))
            })
    })
}

/// The scheduler chose `node` for `pod`: its waiting claims bind there.
pub fn bind_for_consumer(sh: &Arc<Shared>, pod: &Value, node: &str) {
    let (ns, _) = name_of(pod);
    let ck = kind(sh, "", "PersistentVolumeClaim");
    for claim in pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
    {
        let Some(pvc) = sh.store.get(&ck, ns, claim) else {
            continue;
        };
        if !waits_for_consumer(sh, &pvc) {
            continue;
        }
        if bind_static(sh, &pvc, Some(node)).is_err() {
            if let Some(class) = class_of(sh, &pvc) {
                if let Some(p) = provisioner(&class) {
                    provision(sh, &pvc, &class, &p, Some(node));
                }
            }
        }
    }
}

/// A claim is gone: its volume is Released (Retain) or deleted (Delete).
fn release(sh: &Shared, pvc: &Value) {
    let Some(pv_name) = pvc["spec"]["volumeName"].as_str().filter(|v| !v.is_empty()) else {
        return;
    };
    let vk = kind(sh, "", "PersistentVolume");
    let Some(pv) = sh.store.get(&vk, "", pv_name) else {
        return;
    };
    if pv["spec"]["claimRef"]["uid"] != pvc["metadata"]["uid"] {
        return;
    }
    if pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete" {
        let _ = sh.store.delete(&vk, "", pv_name);
    } else {
        set_pv_phase(sh, pv_name, "Released");
    }
}

/// A pod is gone or done: the claims it used that wait to be deleted may go.
pub fn pod_done(sh: &Arc<Shared>, pod: &Value) {
    let (ns, _) = name_of(pod);
    let k = kind(sh, "", "PersistentVolumeClaim");
    for claim in pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
    {
        if let Some(s) = sh.store.get_stored(&k, ns, claim) {
            if s.value["metadata"]["deletionTimestamp"].is_string() {
                let ev = Event {
                    rv: 0,
                    res: k.key(),
                    ns: ns.to_string(),
                    etype: "MODIFIED",
                    typed: s.typed(),
                    object: s,
                    prev: None,
                };
                unprotect(sh, &ev);
            }
        }
    }
}

/// A volume's phase, with the time of the change.
fn set_pv_phase(sh: &Shared, name: &str, phase: &str) {
    let p = phase.to_string();
    let _ = sh
        .store
        .modify(&kind(sh, "", "PersistentVolume"), "", name, true, BY, |v| {
            v["status"]["phase"] = json!(p);
            v["status"]["lastPhaseTransitionTime"] = json!(crate::store::now());
        });
}

/// The protection finalizer of a claim no pod uses any more, or of a
/// volume no claim is bound to, comes off: the object goes.
fn unprotect(sh: &Arc<Shared>, ev: &Event) {
    let o = &ev.object.value;
    let (ns, name) = name_of(o);
    let (k, finalizer) = if ev.res == "persistentvolumes" {
        if o["status"]["phase"] == "Bound" {
            return;
        }
        (
            kind(sh, "", "PersistentVolume"),
            "kubernetes.io/pv-protection",
        )
    } else {
        let used = sh
            .store
            .list(&kind(sh, "", "Pod"), Some(ns))
            .0
            .iter()
            .any(|p| {
                !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
                    && p["spec"]["volumes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|v| v["persistentVolumeClaim"]["claimName"] == name)
            });
        if used {
            // checked again when the pods using it are done (pod_done)
            return;
        }
        (
            kind(sh, "", "PersistentVolumeClaim"),
            "kubernetes.io/pvc-protection",
        )
    };
    let _ = sh.store.modify_whole(&k, ns, name, BY, |x| {
        if let Some(f) = x["metadata"]["finalizers"].as_array_mut() {
            f.retain(|v| v != finalizer);
        }
    });
}
