//! `Accept: ...;as=Table` answers, so `kubectl get` prints the columns a
//! real cluster gives (READY, STATUS, RESTARTS, AGE, ...).

use serde_json::{json, Value};

/// A map of labels as `k=v,k2=v2` (a selector's text; empty if none).
pub fn pairs(m: &Value) -> String {
    m.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// `2026-11-25T03:31:14Z` as whole seconds since the epoch.
fn parse_time(s: &str) -> Option<u64> {
    let t: jiff::Timestamp = s.parse().ok()?;
    u64::try_from(t.as_second()).ok()
}

/// kubectl's short age: `45s`, `3m12s`, `5h`, `2d`.
pub fn age(ts: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let Some(t) = parse_time(ts) else {
        return "<unknown>".into();
    };
    let s = now.saturating_sub(t);
    match s {
        0..=119 => format!("{s}s"),
        120..=599 => format!("{}m{}s", s / 60, s % 60),
        600..=10_799 => format!("{}m", s / 60),
        10_800..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

fn col(name: &str, t: &str) -> Value {
    json!({"name": name, "type": t, "format": if name == "Name" { "name" } else { "" }, "description": "", "priority": 0})
}

fn cond_true(o: &Value, t: &str) -> bool {
    o["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == t && c["status"] == "True"))
}

fn pod_status(o: &Value) -> String {
    for cs in o["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        if let Some(r) = cs["state"]["waiting"]["reason"].as_str() {
            if r != "ContainerCreating" || o["status"]["phase"] == "Pending" {
                return r.to_string();
            }
        }
    }
    if o["metadata"]["deletionTimestamp"].is_string() {
        return "Terminating".into();
    }
    let phase = o["status"]["phase"].as_str().unwrap_or("Pending");
    if phase == "Succeeded" {
        return "Completed".into();
    }
    if phase == "Failed" {
        return "Error".into();
    }
    phase.to_string()
}

fn row(kind: &str, o: &Value) -> Vec<Value> {
    let name = json!(o["metadata"]["name"]);
    let a = json!(age(o["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap_or("")));
    let st = &o["status"];
    match kind {
        "Pod" => pod_row(o, name, a),
        "Node" => node_row(o, name, a),
        "Deployment" => {
            let want = o["spec"]["replicas"].as_i64().unwrap_or(1);
            let n = |k: &str| st[k].as_i64().unwrap_or(0);
            vec![
                name,
                json!(format!("{}/{want}", n("readyReplicas"))),
                json!(n("updatedReplicas")),
                json!(n("availableReplicas")),
                a,
            ]
        }
        "StatefulSet" => {
            let want = o["spec"]["replicas"].as_i64().unwrap_or(1);
            vec![
                name,
                json!(format!(
                    "{}/{want}",
                    st["readyReplicas"].as_i64().unwrap_or(0)
                )),
                a,
            ]
        }
        "DaemonSet" => daemonset_row(o, name, a),
        "Service" => service_row(o, name, a),
        "Namespace" => vec![name, json!(st["phase"].as_str().unwrap_or("Active")), a],
        "PersistentVolumeClaim" => vec![
            name,
            json!(st["phase"].as_str().unwrap_or("Pending")),
            json!(o["spec"]["volumeName"].as_str().unwrap_or("")),
            a,
        ],
        "Job" => job_row(o, name, a),
        "Event" => event_row(o, name),
        "ReplicaSet" => {
            let n = |k: &str| json!(st[k].as_i64().unwrap_or(0));
            vec![
                name,
                json!(o["spec"]["replicas"].as_i64().unwrap_or(1)),
                n("replicas"),
                n("readyReplicas"),
                a,
            ]
        }
        "ConfigMap" => {
            let n = o["data"].as_object().map_or(0, |m| m.len())
                + o["binaryData"].as_object().map_or(0, |m| m.len());
            vec![name, json!(n), a]
        }
        _ => vec![name, a],
    }
}

/// kubectl's columns of a Pod.
fn pod_row(o: &Value, name: Value, a: Value) -> Vec<Value> {
    let st = &o["status"];
    let cs = st["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let total = o["spec"]["containers"]
        .as_array()
        .map(|c| c.len())
        .unwrap_or(0);
    let ready = cs.iter().filter(|c| c["ready"] == true).count();
    let restarts: i64 = cs
        .iter()
        .map(|c| c["restartCount"].as_i64().unwrap_or(0))
        .sum();
    vec![
        name,
        json!(format!("{ready}/{total}")),
        json!(pod_status(o)),
        json!(restarts),
        a,
    ]
}

/// kubectl's columns of a Node.
fn node_row(o: &Value, name: Value, a: Value) -> Vec<Value> {
    let st = &o["status"];
    let mut s = if cond_true(o, "Ready") {
        "Ready".to_string()
    } else {
        "NotReady".to_string()
    };
    if o["spec"]["unschedulable"] == true {
        s.push_str(",SchedulingDisabled");
    }
    let roles: Vec<String> = o["metadata"]["labels"]
        .as_object()
        .map(|l| {
            l.keys()
                .filter_map(|k| {
                    k.strip_prefix("node-role.kubernetes.io/")
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.join(",")
    };
    vec![
        name,
        json!(s),
        json!(roles),
        a,
        json!(st["nodeInfo"]["kubeletVersion"]),
    ]
}

/// kubectl's columns of a DaemonSet.
fn daemonset_row(o: &Value, name: Value, a: Value) -> Vec<Value> {
    let st = &o["status"];
    let n = |k: &str| json!(st[k].as_i64().unwrap_or(0));
    let sel = Some(pairs(&o["spec"]["template"]["spec"]["nodeSelector"]))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "<none>".into());
    vec![
        name,
        n("desiredNumberScheduled"),
        n("currentNumberScheduled"),
        n("numberReady"),
        n("updatedNumberScheduled"),
        n("numberAvailable"),
        json!(sel),
        a,
    ]
}

/// kubectl's columns of a Service.
fn service_row(o: &Value, name: Value, a: Value) -> Vec<Value> {
    let st = &o["status"];
    let ports: Vec<String> = o["spec"]["ports"]
        .as_array()
        .map(|p| {
            p.iter()
                .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")))
                .collect()
        })
        .unwrap_or_default();
    let ext = st["loadBalancer"]["ingress"][0]["ip"].as_str().unwrap_or(
        if o["spec"]["type"] == "LoadBalancer" {
            "<pending>"
        } else {
            "<none>"
        },
    );
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    vec![
        name,
        json!(o["spec"]["type"]),
        json!(o["spec"]["clusterIP"]),
        json!(ext),
        json!(ports),
        a,
    ]
}

/// kubectl's columns of a Job.
fn job_row(o: &Value, name: Value, a: Value) -> Vec<Value> {
    let st = &o["status"];
    let want = o["spec"]["completions"].as_i64().unwrap_or(1);
    let s = if cond_true(o, "Complete") {
        "Complete"
    } else if cond_true(o, "Failed") {
        "Failed"
    } else {
        "Running"
    };
    vec![
        name,
        json!(s),
        json!(format!("{}/{want}", st["succeeded"].as_i64().unwrap_or(0))),
        a,
    ]
}

/// kubectl's columns of a Event.
fn event_row(o: &Value, name: Value) -> Vec<Value> {
    let last = o["lastTimestamp"]
        .as_str()
        .or(o["eventTime"].as_str())
        .or(o["metadata"]["creationTimestamp"].as_str())
        .unwrap_or("");
    let first = o["firstTimestamp"]
        .as_str()
        .or(o["eventTime"].as_str())
        .unwrap_or(last);
    let io = &o["involvedObject"];
    // the reporting controller where the event came through the
    // events.k8s.io API (the scheduler's), as kubectl's printer
    let (comp, host) = match o["source"]["component"].as_str() {
        Some(c) if !c.is_empty() => (c, o["source"]["host"].as_str().unwrap_or("")),
        _ => (
            o["reportingComponent"].as_str().unwrap_or(""),
            o["reportingInstance"].as_str().unwrap_or(""),
        ),
    };
    let source = [comp, host]
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        json!(age(last)),
        json!(o["type"]),
        json!(o["reason"]),
        json!(format!(
            "{}/{}",
            io["kind"].as_str().unwrap_or("").to_lowercase(),
            io["name"].as_str().unwrap_or("")
        )),
        json!(io["fieldPath"].as_str().unwrap_or("")),
        json!(source),
        json!(o["message"].as_str().unwrap_or("").trim()),
        json!(age(first)),
        json!(o["count"].as_i64().unwrap_or(1)),
        name,
    ]
}

fn columns(kind: &str) -> Vec<Value> {
    let names: &[&str] = match kind {
        "Pod" => &["Name", "Ready", "Status", "Restarts", "Age"],
        "Node" => &["Name", "Status", "Roles", "Age", "Version"],
        "Deployment" => &["Name", "Ready", "Up-to-date", "Available", "Age"],
        "StatefulSet" => &["Name", "Ready", "Age"],
        "DaemonSet" => &[
            "Name",
            "Desired",
            "Current",
            "Ready",
            "Up-to-date",
            "Available",
            "Node Selector",
            "Age",
        ],
        "Service" => &[
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age",
        ],
        "Namespace" => &["Name", "Status", "Age"],
        "PersistentVolumeClaim" => &["Name", "Status", "Volume", "Age"],
        "Job" => &["Name", "Status", "Completions", "Age"],
        "Event" => &[
            "Last Seen",
            "Type",
            "Reason",
            "Object",
            "Subobject",
            "Source",
            "Message",
            "First Seen",
            "Count",
            "Name",
        ],
        "ReplicaSet" => &["Name", "Desired", "Current", "Ready", "Age"],
        "ConfigMap" => &["Name", "Data", "Age"],
        _ => &["Name", "Age"],
    };
    // the columns `kubectl get -o wide` adds (priority 1)
    let wide: &[&str] = match kind {
        "Event" => &["Subobject", "Source", "First Seen", "Count", "Name"],
        _ => &[],
    };
    names
        .iter()
        .map(|n| {
            let t = if ["Restarts", "Count", "Desired", "Current", "Ready", "Data"].contains(n)
                && kind != "Pod"
                && kind != "Deployment"
                && kind != "StatefulSet"
                || *n == "Restarts"
            {
                "integer"
            } else {
                "string"
            };
            let mut c = col(n, t);
            if wide.contains(n) {
                c["priority"] = json!(1);
            }
            c
        })
        .collect()
}

/// A Table of objects of one kind.
pub fn table(kind: &str, items: &[Value], meta: &Value) -> Value {
    let rows: Vec<Value> = items
        .iter()
        .map(|o| json!({"cells": row(kind, o), "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}}))
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": columns(kind), "rows": rows})
}

/// Whether the client asked for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"))
}
