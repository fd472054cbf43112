//! Namespaces: every one gets the `kube-root-ca.crt` ConfigMap and the
//! `default` ServiceAccount (recreated if deleted, as their controllers
//! do); a deleted one is Terminating, refuses new content (the API's 403),
//! has its content deleted (pods within their grace periods), reports the
//! five deletion conditions while content remains, and goes once it is
//! empty (tests/traces/namespace-delete.json).

use super::common::{cond_plain, kind, name_of};
use crate::shared::Shared;
use crate::store::{Event, Track};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const ROOT_CA: &str = "kube-root-ca.crt";
const REPORT_AFTER: Duration = Duration::from_millis(550);
const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

fn live_namespace(sh: &Shared, ns: &str) -> bool {
    sh.store
        .get(&kind(sh, "", "Namespace"), "", ns)
        .is_some_and(|n| !n["metadata"]["deletionTimestamp"].is_string())
}

/// What every namespace has (at start: those made before the controllers ran).
pub(super) fn publish_all(sh: &Shared) {
    for n in sh.store.list(&kind(sh, "", "Namespace"), None).0 {
        if !n["metadata"]["deletionTimestamp"].is_string() {
            publish(sh, name_of(&n).1);
        }
    }
}

fn publish(sh: &Shared, ns: &str) {
    let _ = sh.store.create(
        &kind(sh, "", "ConfigMap"),
        ns,
        json!({"metadata": {"name": ROOT_CA, "annotations": {"kubernetes.io/description": DESCRIPTION}}, "data": {"ca.crt": sh.ca_pem}}),
        Track::By("kube-controller-manager"),
    );
    let _ = sh.store.create(
        &kind(sh, "", "ServiceAccount"),
        ns,
        json!({"metadata": {"name": "default"}}),
        Track::By("kube-controller-manager"),
    );
}

pub(super) fn on_event(sh: &Arc<Shared>, ev: &Event) {
    let o = &ev.object.value;
    match (ev.res.as_str(), ev.etype) {
        ("namespaces", "ADDED") => publish(sh, name_of(o).1),
        ("namespaces", "MODIFIED") if o["metadata"]["deletionTimestamp"].is_string() => {
            terminate(sh, o)
        }
        ("configmaps", "DELETED") if name_of(o).1 == ROOT_CA && live_namespace(sh, &ev.ns) => {
            publish(sh, &ev.ns)
        }
        ("serviceaccounts", "DELETED")
            if name_of(o).1 == "default" && live_namespace(sh, &ev.ns) =>
        {
            publish(sh, &ev.ns)
        }
        _ => {}
    }
}

/// Start deleting a namespace's content, once per namespace.
fn terminate(sh: &Arc<Shared>, ns_obj: &Value) {
    let name = name_of(ns_obj).1.to_string();
    let uid = ns_obj["metadata"]["uid"].as_str().unwrap_or("").to_string();
    if !sh.terminating.lock().unwrap().insert(uid.clone()) {
        return;
    }
    let sh = sh.clone();
    tokio::spawn(async move {
        delete_content(&sh, &name);
        let started = std::time::Instant::now();
        let mut reported = false;
        loop {
            let left = remaining(&sh, &name);
            if left.is_empty() {
                break;
            }
            // the controller says so once a pass has left content behind
            // (about 5.5 s in the recording, scaled down like back-offs)
            if !reported && started.elapsed() >= REPORT_AFTER {
                report(&sh, &name, &left);
                reported = true;
            }
            tokio::select! {
                _ = sh.shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
        let nk = kind(&sh, "", "Namespace");
        let _ = sh
            .store
            .modify(&nk, "", &name, false, "kube-controller-manager", |o| {
                o["spec"]["finalizers"] = json!([])
            });
        namespace_finalized(&sh, &name);
        sh.terminating.lock().unwrap().remove(&uid);
    });
}

/// Delete every object in the namespace as a DELETE of each would.
fn delete_content(sh: &Shared, ns: &str) {
    for k in sh
        .store
        .kinds()
        .into_iter()
        .filter(|k| k.namespaced && !k.virtual_only() && k.group != "events.k8s.io")
    {
        for o in sh.store.list(&k, Some(ns)).0 {
            let (_, n) = name_of(&o);
            let _ = sh.store.delete_request(&k, ns, n, &Default::default());
        }
    }
}

/// What is still in the namespace: (resource, count).
fn remaining(sh: &Shared, ns: &str) -> Vec<(String, usize)> {
    sh.store
        .kinds()
        .into_iter()
        .filter(|k| k.namespaced && !k.virtual_only() && k.group != "events.k8s.io")
        .map(|k| (k.clone(), sh.store.list_stored(&k, Some(ns)).0.len()))
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.key(), n))
        .collect()
}

/// The namespace controller's conditions while content remains.
fn report(sh: &Shared, ns: &str, left: &[(String, usize)]) {
    let gvrs: Vec<String> = left
        .iter()
        .map(|(res, _)| match res.split_once('.') {
            Some((r, g)) => format!("{g}/v1, Resource={r}"),
            None => format!("/v1, Resource={res}"),
        })
        .collect();
    // a group resource as the controller prints it: `pods.`, `deployments.apps`
    let counts: Vec<String> = left
        .iter()
        .map(|(r, n)| {
            format!(
                "{r}{} has {n} resource instances",
                if r.contains('.') { "" } else { "." }
            )
        })
        .collect();
    let conditions = json!([
        cond_plain("NamespaceDeletionDiscoveryFailure", false, "ResourcesDiscovered", "All resources successfully discovered"),
        cond_plain("NamespaceDeletionGroupVersionParsingFailure", false, "ParsedGroupVersions", "All legacy kube types successfully parsed"),
        cond_plain("NamespaceDeletionContentFailure", true, "ContentDeletionFailed", &format!("Failed to delete all resource types, {} remaining: unexpected items still remain in namespace: {ns} for gvr: {}", left.len(), gvrs.join(", "))),
        cond_plain("NamespaceContentRemaining", true, "SomeResourcesRemain", &format!("Some resources are remaining: {}", counts.join(", "))),
        cond_plain("NamespaceFinalizersRemaining", false, "ContentHasNoFinalizers", "All content-preserving finalizers finished"),
    ]);
    let _ = sh.store.modify(
        &kind(sh, "", "Namespace"),
        "",
        ns,
        true,
        "kube-controller-manager",
        |o| {
            o["status"]["conditions"] = conditions.clone();
        },
    );
}

/// A namespace being deleted whose spec.finalizers are gone goes, once
/// its metadata.finalizers are gone too (whoever holds one removes it).
pub fn namespace_finalized(sh: &Shared, name: &str) {
    let nk = kind(sh, "", "Namespace");
    if let Some(n) = sh.store.get(&nk, "", name) {
        let none = n["spec"]["finalizers"]
            .as_array()
            .is_none_or(|f| f.is_empty());
        let held = n["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if none && !held && n["metadata"]["deletionTimestamp"].is_string() {
            let _ = sh.store.delete(&nk, "", name);
        }
    }
}
