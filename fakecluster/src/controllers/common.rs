//! What the controllers share: kinds and names, owned objects, conditions
//! and statuses as controllers write them, pods created and deleted for an
//! owner.

use crate::kinds::Kind;
use crate::shared::Shared;
use serde_json::{json, Value};

pub fn kind(sh: &Shared, group: &str, k: &str) -> Kind {
    sh.store.kind(group, k).expect("built-in kind")
}

pub fn name_of(o: &Value) -> (&str, &str) {
    (
        o["metadata"]["namespace"].as_str().unwrap_or(""),
        o["metadata"]["name"].as_str().unwrap_or(""),
    )
}

/// Objects of `kind` in `ns` that `uid` owns.
pub fn owned(sh: &Shared, kind: &Kind, ns: &str, uid: &str) -> Vec<Value> {
    sh.store
        .list(kind, Some(ns))
        .0
        .into_iter()
        .filter(|p| {
            p["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|a| a.iter().any(|r| r["uid"] == uid))
        })
        .collect()
}

/// A condition as the workload controllers write them.
pub fn cond(t: &str, ok: bool, reason: &str, message: &str) -> Value {
    let now = crate::store::now();
    json!({"type": t, "status": if ok { "True" } else { "False" }, "lastUpdateTime": now, "lastTransitionTime": now, "reason": reason, "message": message})
}

/// A condition with a transition time only (namespaces, volumes).
pub fn cond_plain(t: &str, ok: bool, reason: &str, message: &str) -> Value {
    json!({"type": t, "status": if ok { "True" } else { "False" }, "lastTransitionTime": crate::store::now(), "reason": reason, "message": message})
}

/// A pod's Ready condition is True.
pub fn pod_ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// Write a status, keeping the times of conditions that did not change.
pub fn set_status(sh: &Shared, k: &Kind, ns: &str, name: &str, status: Value) {
    let _ = sh
        .store
        .modify(k, ns, name, true, "kube-controller-manager", |o| {
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
                        if oc["reason"] == c["reason"] {
                            c["lastUpdateTime"] = oc["lastUpdateTime"].clone();
                        }
                    }
                }
            }
            o["status"] = s;
        });
}

/// The controller owner reference to put on what `owner` creates.
pub fn controller_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true,
    })
}

/// Create a pod (admitted like an API create) for `owner`; a failure is
/// the owner's FailedCreate event.
pub fn create_pod(sh: &Shared, owner: &Value, pod: Value, component: &str) -> Option<Value> {
    let (ns, _) = name_of(owner);
    let pk = kind(sh, "", "Pod");
    let r = crate::admission::admit(sh, &pk, ns, pod).and_then(|p| {
        sh.store.create(
            &pk,
            ns,
            p,
            crate::store::Track::By("kube-controller-manager"),
        )
    });
    match r {
        Ok(p) => Some(p),
        Err(e) => {
            if e.code != 409 {
                let msg = format!("Error creating: {}", e.message);
                crate::events::record(
                    &sh.store,
                    owner,
                    "Warning",
                    "FailedCreate",
                    &msg,
                    crate::events::Source::Controller(component),
                    None,
                );
            }
            None
        }
    }
}

/// Delete a pod as a controller does (the API's DELETE, grace and all).
pub fn delete_pod(sh: &Shared, p: &Value) {
    let pk = kind(sh, "", "Pod");
    let (ns, name) = name_of(p);
    let _ = sh.store.delete_request(&pk, ns, name, &Default::default());
}
