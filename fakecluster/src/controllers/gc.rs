//! The garbage collector: what an owner owns goes with it (background),
//! or first (`foregroundDeletion`), or stays without its owner reference
//! (`orphan`), as the DELETE's propagation policy asked
//! (tests/traces/job-lifecycle.json: a Job deleted with the orphan
//! finalizer loses it once its pod no longer names it).

use super::common::{name_of, owned};
use crate::kinds::Kind;
use crate::shared::Shared;
use crate::store::Event;
use serde_json::Value;

/// Kinds whose objects own others.
fn can_own(kind: &Kind) -> bool {
    kind.custom
        || matches!(
            (kind.group.as_str(), kind.kind.as_str()),
            ("apps", _) | ("batch", _) | ("", "Service")
        )
}

/// What `owner` owns, across the namespaced kinds of its namespace.
fn dependents(sh: &Shared, owner: &Value) -> Vec<(Kind, Value)> {
    let (ns, _) = name_of(owner);
    let uid = owner["metadata"]["uid"].as_str().unwrap_or("");
    if ns.is_empty() || uid.is_empty() {
        return vec![];
    }
    let mut out = vec![];
    for k in sh
        .store
        .kinds()
        .into_iter()
        .filter(|k| k.namespaced && !k.virtual_only() && k.group != "events.k8s.io")
    {
        for o in owned(sh, &k, ns, uid) {
            out.push((k.clone(), o));
        }
    }
    out
}

fn has_finalizer(o: &Value, f: &str) -> bool {
    o["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x == f))
}

fn remove_finalizer(sh: &Shared, kind: &Kind, o: &Value, f: &'static str) {
    let (ns, name) = name_of(o);
    let _ = sh
        .store
        .modify_whole(kind, ns, name, "kube-controller-manager", |x| {
            if let Some(a) = x["metadata"]["finalizers"].as_array_mut() {
                a.retain(|v| v != f);
            }
        });
}

pub(super) fn on_event(sh: &Shared, ev: &Event) {
    let o = &ev.object.value;
    let Some(kind) = sh.store.kind_of(
        o["apiVersion"].as_str().unwrap_or(""),
        o["kind"].as_str().unwrap_or(""),
    ) else {
        return;
    };
    if ev.etype == "DELETED" {
        if can_own(&kind) {
            for (k, d) in dependents(sh, o) {
                let (ns, name) = name_of(&d);
                let _ = sh.store.delete_request(&k, ns, name, &Default::default());
            }
        }
        foreground_owner_check(sh, o);
        return;
    }
    if !o["metadata"]["deletionTimestamp"].is_string() {
        return;
    }
    if has_finalizer(o, "orphan") {
        orphan(sh, o);
        remove_finalizer(sh, &kind, o, "orphan");
    } else if has_finalizer(o, "foregroundDeletion") {
        let deps = dependents(sh, o);
        for (k, d) in &deps {
            if !d["metadata"]["deletionTimestamp"].is_string() {
                let (ns, name) = name_of(d);
                let opts = crate::store::DeleteOptions {
                    propagation: Some("Foreground".into()),
                    ..Default::default()
                };
                let _ = sh.store.delete_request(k, ns, name, &opts);
            }
        }
        if deps.is_empty() {
            remove_finalizer(sh, &kind, o, "foregroundDeletion");
        }
    }
}

/// A dependent is gone: an owner waiting for its dependents may go too.
fn foreground_owner_check(sh: &Shared, dependent: &Value) {
    let (ns, _) = name_of(dependent);
    for r in dependent["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(k) = sh.store.kind_of(
            r["apiVersion"].as_str().unwrap_or(""),
            r["kind"].as_str().unwrap_or(""),
        ) else {
            continue;
        };
        let Some(owner) = sh.store.get(&k, ns, r["name"].as_str().unwrap_or("")) else {
            continue;
        };
        if owner["metadata"]["uid"] == r["uid"]
            && has_finalizer(&owner, "foregroundDeletion")
            && dependents(sh, &owner).is_empty()
        {
            remove_finalizer(sh, &k, &owner, "foregroundDeletion");
        }
    }
}

/// Remove the owner's reference from what it owns (DELETE with Orphan),
/// so the collector leaves it.
pub fn orphan(sh: &Shared, owner: &Value) {
    let uid = owner["metadata"]["uid"].as_str().unwrap_or("").to_string();
    for (k, d) in dependents(sh, owner) {
        let (ns, name) = name_of(&d);
        let _ = sh
            .store
            .modify(&k, ns, name, false, "kube-controller-manager", |o| {
                if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
                    refs.retain(|r| r["uid"] != uid.as_str());
                    if refs.is_empty() {
                        o["metadata"]
                            .as_object_mut()
                            .map(|m| m.remove("ownerReferences"));
                    }
                }
            });
    }
}
