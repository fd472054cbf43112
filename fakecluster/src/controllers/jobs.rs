//! Jobs, as the job controller tracks them with the
//! `batch.kubernetes.io/job-tracking` finalizer (tests/traces/
//! job-lifecycle.json): pods created with the finalizer and the Job's
//! labels (`active`, `ready`, `terminating`, `startTime`), a finished pod
//! first counted in `uncountedTerminatedPods` (with `SuccessCriteriaMet`
//! once enough succeeded), then its finalizer removed, then moved into
//! `succeeded` or `failed` (with `completionTime` and `Complete`, or
//! `Failed` once the back-off limit is passed). One write per step.

use super::common::{
    cond, controller_ref, create_pod, kind, name_of, owned, pod_ready, set_status,
};
use crate::events::{self, Source};
use crate::kubelet::is_manual;
use crate::shared::Shared;
use serde_json::{json, Value};

const TRACKING: &str = "batch.kubernetes.io/job-tracking";

fn phase(p: &Value) -> &str {
    p["status"]["phase"].as_str().unwrap_or("")
}

fn tracked(p: &Value) -> bool {
    p["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == TRACKING))
}

fn uncounted(st: &Value, which: &str) -> Vec<String> {
    st["uncountedTerminatedPods"][which]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(str::to_string))
        .collect()
}

pub(super) fn job(sh: &Shared, ns: &str, name: &str) {
    let jk = kind(sh, "batch", "Job");
    let Some(j) = sh.store.get(&jk, ns, name) else {
        return;
    };
    if is_manual(&j) || j["metadata"]["deletionTimestamp"].is_string() {
        return;
    }
    let st = if j["status"].is_object() {
        j["status"].clone()
    } else {
        json!({})
    };
    let pods = owned(
        sh,
        &kind(sh, "", "Pod"),
        ns,
        j["metadata"]["uid"].as_str().unwrap_or(""),
    );
    if let Some(s) = count_finished(&j, &st, &pods) {
        return set_status(sh, &jk, ns, name, s);
    }
    if release_counted(sh, &st, &pods) {
        return;
    }
    if let Some(s) = settle(sh, &j, &st, &pods) {
        return set_status(sh, &jk, ns, name, s);
    }
    if finished(&st) {
        return;
    }
    start_pods(sh, &j, &st, &pods);
}

fn finished(st: &Value) -> bool {
    st["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
    })
}

fn spec_n(j: &Value, f: &str, default: i64) -> i64 {
    j["spec"][f].as_i64().unwrap_or(default)
}

/// Pods that finished and still carry the finalizer go into
/// `uncountedTerminatedPods`; `SuccessCriteriaMet` once enough succeeded.
fn count_finished(j: &Value, st: &Value, pods: &[Value]) -> Option<Value> {
    let (mut ok, mut bad) = (uncounted(st, "succeeded"), uncounted(st, "failed"));
    let mut changed = false;
    for p in pods.iter().filter(|p| tracked(p)) {
        let uid = p["metadata"]["uid"].as_str().unwrap_or("").to_string();
        let list = match phase(p) {
            "Succeeded" => &mut ok,
            "Failed" => &mut bad,
            _ => continue,
        };
        if !list.contains(&uid) {
            list.push(uid);
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    let mut s = st.clone();
    let mut u = json!({});
    if !ok.is_empty() {
        u["succeeded"] = json!(ok);
    }
    if !bad.is_empty() {
        u["failed"] = json!(bad);
    }
    s["uncountedTerminatedPods"] = u;
    let active = pods
        .iter()
        .filter(|p| !matches!(phase(p), "Succeeded" | "Failed"))
        .count() as i64;
    set_counter(&mut s, "active", active);
    let succeeded = st["succeeded"].as_i64().unwrap_or(0) + ok.len() as i64;
    if succeeded >= spec_n(j, "completions", 1) {
        s["conditions"] = json!([cond(
            "SuccessCriteriaMet",
            true,
            "CompletionsReached",
            "Reached expected number of succeeded pods"
        )]);
    }
    Some(s)
}

fn set_counter(s: &mut Value, f: &str, n: i64) {
    if n == 0 {
        s.as_object_mut().map(|m| m.remove(f));
    } else {
        s[f] = json!(n);
    }
}

/// Remove the finalizer of pods already counted; true if any was.
fn release_counted(sh: &Shared, st: &Value, pods: &[Value]) -> bool {
    let counted: Vec<String> = [uncounted(st, "succeeded"), uncounted(st, "failed")].concat();
    let pk = kind(sh, "", "Pod");
    let mut any = false;
    for p in pods.iter().filter(|p| tracked(p)) {
        if counted.iter().any(|u| p["metadata"]["uid"] == u.as_str()) {
            let (ns, name) = name_of(p);
            let _ = sh
                .store
                .modify(&pk, ns, name, false, "kube-controller-manager", |o| {
                    if let Some(f) = o["metadata"]["finalizers"].as_array_mut() {
                        f.retain(|x| x != TRACKING);
                    }
                });
            any = true;
        }
    }
    any
}

/// Counted pods move into `succeeded`/`failed`; the Job completes or fails.
fn settle(sh: &Shared, j: &Value, st: &Value, pods: &[Value]) -> Option<Value> {
    let (ok, bad) = (uncounted(st, "succeeded"), uncounted(st, "failed"));
    if ok.is_empty() && bad.is_empty() {
        return None;
    }
    let mut s = st.clone();
    let succeeded = st["succeeded"].as_i64().unwrap_or(0) + ok.len() as i64;
    let failed = st["failed"].as_i64().unwrap_or(0) + bad.len() as i64;
    set_counter(&mut s, "succeeded", succeeded);
    set_counter(&mut s, "failed", failed);
    s["uncountedTerminatedPods"] = json!({});
    let active = pods
        .iter()
        .filter(|p| !matches!(phase(p), "Succeeded" | "Failed"))
        .count() as i64;
    set_counter(&mut s, "active", active);
    if succeeded >= spec_n(j, "completions", 1) {
        s["completionTime"] = json!(crate::store::now());
        s["conditions"] = json!([
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
            ),
        ]);
        events::record(
            &sh.store,
            j,
            "Normal",
            "Completed",
            "Job completed",
            Source::Controller("job-controller"),
            None,
        );
    } else if failed > spec_n(j, "backoffLimit", 6) {
        s["conditions"] = json!([
            cond(
                "FailureTarget",
                true,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit"
            ),
            cond(
                "Failed",
                true,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit"
            ),
        ]);
        events::record(
            &sh.store,
            j,
            "Warning",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
            Source::Controller("job-controller"),
            None,
        );
    }
    Some(s)
}

/// Create the pods still needed (parallelism, completions left), then
/// report them active.
fn start_pods(sh: &Shared, j: &Value, st: &Value, pods: &[Value]) {
    let (ns, name) = name_of(j);
    let active = pods
        .iter()
        .filter(|p| {
            !matches!(phase(p), "Succeeded" | "Failed")
                && !p["metadata"]["deletionTimestamp"].is_string()
        })
        .count() as i64;
    let succeeded = st["succeeded"].as_i64().unwrap_or(0);
    let want = spec_n(j, "parallelism", 1)
        .min(spec_n(j, "completions", 1) - succeeded)
        .max(0);
    let mut created = 0;
    for _ in active..want {
        let pname = format!("{name}-{}", crate::store::suffix(sh.next_id()));
        let tpl = &j["spec"]["template"];
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pname, "labels": tpl["metadata"]["labels"], "finalizers": [TRACKING], "ownerReferences": [controller_ref(j)]},
            "spec": tpl["spec"],
        });
        if create_pod(sh, j, pod, "job-controller").is_some() {
            events::record(
                &sh.store,
                j,
                "Normal",
                "SuccessfulCreate",
                &format!("Created pod: {pname}"),
                Source::Controller("job-controller"),
                None,
            );
            created += 1;
        }
    }
    let mut s = st.clone();
    set_counter(&mut s, "active", active + created);
    s["ready"] = json!(pods.iter().filter(|p| pod_ready(p)).count());
    s["terminating"] = json!(pods
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_string())
        .count());
    if s.get("startTime").is_none() {
        s["startTime"] = json!(crate::store::now());
    }
    if s.get("uncountedTerminatedPods").is_none() {
        s["uncountedTerminatedPods"] = json!({});
    }
    if s != *st {
        set_status(sh, &kind(sh, "batch", "Job"), ns, name, s);
    }
}
