//! The objects a ron creates (pod, ConfigMap, PVC) and how to read the
//! pod's state: running, finished, failed for good, or still waiting for
//! something that normally resolves (a claim being bound, an image pull
//! being retried).

use super::spec::Spec;
use crate::k8s::labels::labels;
use serde_json::{json, Value};

/// The pod: `main` runs the command (behind nsenter when asked), `sleep`
/// keeps a PVC pod alive for the copy-out.
pub fn pod_manifest(s: &Spec) -> Value {
    let mut argv = vec![];
    if s.nsenter {
        argv.push(s.nsenter_binary.clone());
        argv.extend(s.nsenter_opts.split_whitespace().map(str::to_string));
    }
    argv.extend(s.argv.iter().cloned());
    if let Some(m) = s.exit_marker() {
        // the command as it was, then its exit code on a line of its own
        let mut wrap = format!("\"$@\"; c=$?; printf '{m}%d\\n' $c; exit $c");
        if s.gate {
            // wait for the attach to close stdin (or give up), then start
            // the command with no stdin, as an ungated one has
            wrap = format!(
                "(timeout {} cat >/dev/null) 2>/dev/null; echo {}; exec </dev/null; {wrap}",
                super::spec::GATE_SECS,
                s.start_marker()
            );
        }
        argv = [vec!["sh".to_string(), "-c".into(), wrap, "sh".into()], argv].concat();
    }
    let mut mounts = vec![];
    let mut volumes = vec![];
    if !s.files.is_empty() {
        mounts.push(json!({"name": "configs", "mountPath": "/configs"}));
        volumes.push(json!({"name": "configs", "configMap": {"name": s.configmap_name}}));
    }
    if s.pvc {
        mounts.push(json!({"name": "store", "mountPath": "/store"}));
        volumes.push(json!({"name": "store", "persistentVolumeClaim": {"claimName": s.pvc_name}}));
    }
    // a pull only when the node lacks the image (not `Always`, the default
    // of an untagged image): one registry round trip less per ron
    let mut containers = vec![json!({
        "name": "main", "image": s.image, "command": argv, "imagePullPolicy": "IfNotPresent",
        "securityContext": {"privileged": true}, "volumeMounts": mounts,
        "stdin": s.gate, "stdinOnce": s.gate,
    })];
    if s.pvc {
        containers.push(json!({
            "name": "sleep", "image": s.image, "command": ["sleep", "infinity"], "imagePullPolicy": "IfNotPresent",
            "volumeMounts": [{"name": "store", "mountPath": "/store"}],
        }));
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": s.pod_name, "namespace": s.namespace, "labels": labels(&s.run_id)},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": s.node},
            "tolerations": [{"operator": "Exists"}],
            "hostPID": true, "hostNetwork": true, "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            // no API token to request and mount, no service variables to
            // compute: the pod starts sooner and carries no credentials
            "automountServiceAccountToken": false, "enableServiceLinks": false,
            "containers": containers, "volumes": volumes,
        },
    })
}

/// The ConfigMap with the mounted files (binary files as binaryData).
pub fn configmap_manifest(s: &Spec) -> Value {
    use base64::Engine;
    let mut data = serde_json::Map::new();
    let mut binary = serde_json::Map::new();
    for (k, v) in &s.files {
        match std::str::from_utf8(v) {
            Ok(t) => data.insert(k.clone(), json!(t)),
            Err(_) => binary.insert(
                k.clone(),
                json!(base64::engine::general_purpose::STANDARD.encode(v)),
            ),
        };
    }
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": s.configmap_name, "namespace": s.namespace, "labels": labels(&s.run_id)},
        "data": data, "binaryData": binary})
}

pub fn pvc_manifest(s: &Spec) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": s.pvc_name, "namespace": s.namespace, "labels": labels(&s.run_id)},
        "spec": {"accessModes": [s.pvc_access_mode], "resources": {"requests": {"storage": s.pvc_size}}}})
}

/// What the pod's state says.
#[derive(Debug, PartialEq)]
pub enum PodState {
    /// nothing to do yet (being created, scheduled, pulled)
    Starting,
    /// waiting for something that normally resolves by itself; the text
    /// says what (shown once, and in the error if it never resolves)
    Waiting(String),
    /// waiting on an image pull error the kubelet retries
    PullRetrying(String),
    /// it cannot run; the cluster says why
    Fatal(String),
    /// `main` runs
    Running,
    /// `main` ended with this code
    Exited(i32),
}

/// Pull errors that no retry will fix.
fn permanent_pull_error(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    [
        "not found",
        "manifest unknown",
        "unauthorized",
        "denied",
        "invalid reference",
        "no such host",
    ]
    .iter()
    .any(|p| m.contains(p))
}

fn waiting_reason(pod: &Value) -> Option<PodState> {
    let statuses = pod["status"]["containerStatuses"].as_array()?;
    for cs in statuses {
        let w = &cs["state"]["waiting"];
        let Some(r) = w["reason"].as_str() else {
            continue;
        };
        let msg = format!(
            "container {} {r}: {}",
            cs["name"].as_str().unwrap_or(""),
            w["message"].as_str().unwrap_or("")
        );
        match r {
            "ErrImagePull" | "ImagePullBackOff" if !permanent_pull_error(&msg) => {
                return Some(PodState::PullRetrying(msg))
            }
            "ErrImagePull"
            | "ImagePullBackOff"
            | "InvalidImageName"
            | "ErrImageNeverPull"
            | "CreateContainerConfigError"
            | "CreateContainerError"
            | "RunContainerError" => return Some(PodState::Fatal(msg)),
            _ => {}
        }
    }
    None
}

/// Unschedulable because claims are not bound yet is normal for the
/// moment a provisioner needs; any other reason is final.
fn scheduling(pod: &Value) -> Option<PodState> {
    let c = pod["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "PodScheduled" && c["status"] == "False")?;
    if c["reason"] != "Unschedulable" {
        return None;
    }
    let msg = c["message"].as_str().unwrap_or("");
    let only_claims = msg.contains("unbound immediate PersistentVolumeClaims")
        && !msg.contains("didn't match")
        && !msg.contains("untolerated taint")
        && !msg.contains("Insufficient");
    let claims: Vec<&str> = pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
        .collect();
    Some(if only_claims {
        PodState::Waiting(format!(
            "PersistentVolumeClaim {} to be bound ({msg})",
            claims.join(", ")
        ))
    } else {
        PodState::Fatal(format!("Unschedulable: {msg}"))
    })
}

/// Read the pod's state.
pub fn state(pod: &Value) -> PodState {
    if let Some(s) = waiting_reason(pod).or_else(|| scheduling(pod)) {
        return s;
    }
    let main = pod["status"]["containerStatuses"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "main"));
    if let Some(code) = main.and_then(|m| m["state"]["terminated"]["exitCode"].as_i64()) {
        return PodState::Exited(code as i32);
    }
    if main.is_some_and(|m| m["state"]["running"].is_object()) {
        return PodState::Running;
    }
    if pod["status"]["phase"] == "Failed" {
        return PodState::Fatal(format!(
            "pod failed: {}",
            pod["status"]["message"].as_str().unwrap_or("")
        ));
    }
    PodState::Starting
}

/// Whether the named container is running.
pub fn container_running(pod: &Value, name: &str) -> bool {
    pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["name"] == name && c["state"]["running"].is_object())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unschedulable(msg: &str) -> Value {
        json!({"status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg}]}})
    }

    fn pulling(reason: &str, msg: &str) -> Value {
        json!({"status": {"phase": "Pending", "containerStatuses": [{"name": "main", "state": {"waiting": {"reason": reason, "message": msg}}}]}})
    }

    #[test]
    fn unbound_claims_wait_other_reasons_fail() {
        // what kube-scheduler 1.32 says while the provisioner works
        let s = state(&unschedulable("0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."));
        assert!(
            matches!(s, PodState::Waiting(ref w) if w.contains("PersistentVolumeClaim")),
            "{s:?}"
        );
        let s = state(&unschedulable(
            "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
        ));
        assert!(
            matches!(s, PodState::Fatal(ref w) if w.contains("didn't match")),
            "{s:?}"
        );
        let s = state(&unschedulable("0/2 nodes are available: 1 node(s) had untolerated taint {x: y}, 1 pod has unbound immediate PersistentVolumeClaims."));
        assert!(matches!(s, PodState::Fatal(_)), "{s:?}");
    }

    #[test]
    fn pull_errors_retried_unless_permanent() {
        let s = state(&pulling(
            "ErrImagePull",
            "failed to pull: 429 Too Many Requests",
        ));
        assert!(matches!(s, PodState::PullRetrying(_)), "{s:?}");
        let s = state(&pulling("ImagePullBackOff", "Back-off pulling image \"x\""));
        assert!(matches!(s, PodState::PullRetrying(_)), "{s:?}");
        let s = state(&pulling(
            "ErrImagePull",
            "rpc error: ... docker.io/library/nope:1: not found",
        ));
        assert!(matches!(s, PodState::Fatal(_)), "{s:?}");
        let s = state(&pulling("InvalidImageName", "bad"));
        assert!(matches!(s, PodState::Fatal(_)), "{s:?}");
    }

    #[test]
    fn running_and_exited() {
        let p = json!({"status": {"phase": "Running", "containerStatuses": [{"name": "main", "state": {"running": {}}}]}});
        assert_eq!(state(&p), PodState::Running);
        let p = json!({"status": {"phase": "Failed", "containerStatuses": [{"name": "main", "state": {"terminated": {"exitCode": 3}}}]}});
        assert_eq!(state(&p), PodState::Exited(3));
        assert_eq!(state(&json!({})), PodState::Starting);
    }
}
