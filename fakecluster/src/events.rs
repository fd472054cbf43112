//! Events as each component of a real cluster writes them (tests/traces):
//! the scheduler through events.k8s.io (no count, an eventTime, action
//! `Binding`), the kubelet and the controllers through the core API
//! (`source`, first and last timestamps, a count that grows when the same
//! event repeats: one Event updated, as client-go's recorder does). Names
//! are the involved object's name and a hex clock, so a list sorts them by
//! object, then by time.

use crate::store::{Store, Track};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// Who reports an event.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    Scheduler { node: &'a str, action: &'a str },
    Kubelet { node: &'a str },
    Controller(&'a str),
}

impl Source<'_> {
    fn manager(&self) -> &'static str {
        match self {
            Source::Scheduler { .. } => "kube-scheduler",
            Source::Kubelet { .. } => "kubelet",
            Source::Controller(_) => "kube-controller-manager",
        }
    }
    fn component(&self) -> &str {
        match self {
            Source::Scheduler { .. } => "default-scheduler",
            Source::Kubelet { .. } => "kubelet",
            Source::Controller(c) => c,
        }
    }
}

static CLOCK: AtomicU64 = AtomicU64::new(0);

/// `NAME.18ee0f985307a75a`: unix nanoseconds in hex, never repeating.
fn event_name(obj_name: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let t = CLOCK
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| Some(now.max(c + 1)))
        .map_or(now, |c| now.max(c + 1));
    format!("{obj_name}.{t:x}")
}

fn micro_time() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let base = crate::store::rfc3339(
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(d.as_secs()),
    );
    format!("{}.{:06}Z", base.trim_end_matches('Z'), d.subsec_micros())
}

fn involved(obj: &Value, field_path: Option<&str>) -> Value {
    let md = &obj["metadata"];
    let mut o = json!({
        "kind": obj["kind"], "namespace": md["namespace"], "name": md["name"], "uid": md["uid"],
        "apiVersion": obj["apiVersion"], "resourceVersion": md["resourceVersion"],
    });
    if let Some(f) = field_path {
        o["fieldPath"] = json!(f);
    }
    o
}

/// Record an event about `obj` (in its namespace, or `default`);
/// `field_path` names a container (`spec.containers{main}`).
pub fn record(
    store: &Store,
    obj: &Value,
    etype: &str,
    reason: &str,
    message: &str,
    source: Source,
    field_path: Option<&str>,
) {
    let Some(k) = store.kind("", "Event") else {
        return;
    };
    let ns = obj["metadata"]["namespace"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    // the scheduler's events.k8s.io events are never counted up
    let counted = !matches!(source, Source::Scheduler { .. });
    let key = format!(
        "{ns}\u{0}{}\u{0}{etype}\u{0}{reason}\u{0}{message}\u{0}{}",
        obj["metadata"]["uid"].as_str().unwrap_or(""),
        source.component()
    );
    if counted && repeat(store, &k, ns, &key, source) {
        return;
    }
    let now = crate::store::now();
    let mut e = json!({
        "metadata": {"name": event_name(name)},
        "involvedObject": involved(obj, field_path),
        "reason": reason, "message": message, "type": etype,
        "reportingComponent": source.component(),
    });
    match source {
        Source::Scheduler { node, action } => {
            e["source"] = json!({});
            e["firstTimestamp"] = Value::Null;
            e["lastTimestamp"] = Value::Null;
            e["eventTime"] = json!(micro_time());
            e["action"] = json!(action);
            e["reportingInstance"] = json!(if node.is_empty() {
                "default-scheduler".to_string()
            } else {
                format!("default-scheduler-{node}")
            });
        }
        Source::Kubelet { node } => {
            e["source"] = json!({"component": "kubelet", "host": node});
            e["firstTimestamp"] = json!(now);
            e["lastTimestamp"] = json!(now);
            e["count"] = json!(1);
            e["eventTime"] = Value::Null;
            e["reportingInstance"] = json!(node);
        }
        Source::Controller(c) => {
            e["source"] = json!({"component": c});
            e["firstTimestamp"] = json!(now);
            e["lastTimestamp"] = json!(now);
            e["count"] = json!(1);
            e["eventTime"] = Value::Null;
            e["reportingInstance"] = json!("");
        }
    }
    let ename = e["metadata"]["name"].as_str().unwrap_or("").to_string();
    if store.create(&k, ns, e, Track::By(source.manager())).is_ok() && counted {
        store.events.0.lock().unwrap().insert(key, ename);
    }
}

/// The same event about the same object again: its count and last time
/// go up, one MODIFIED.
/// `key`: namespace, object, type, reason, message and source.
fn repeat(store: &Store, k: &crate::kinds::Kind, ns: &str, key: &str, source: Source) -> bool {
    let Some(name) = store.events.0.lock().unwrap().get(key).cloned() else {
        return false;
    };
    let now = crate::store::now();
    store
        .modify(k, ns, &name, false, source.manager(), |o| {
            o["count"] = json!(o["count"].as_i64().unwrap_or(1) + 1);
            o["lastTimestamp"] = json!(now.clone());
        })
        .is_ok()
}
