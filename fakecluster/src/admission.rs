//! What the API server does to an object before storing it: PodSecurity
//! admission, pod defaults, Service cluster IPs and load-balancer IPs.

use crate::kinds::Kind;
use crate::shared::Shared;
use crate::store::ApiError;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

pub fn admit(sh: &Shared, kind: &Kind, ns: &str, mut obj: Value) -> Result<Value, ApiError> {
    match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "Pod") => {
            pod_security(sh, ns, &obj)?;
            if obj["spec"]["restartPolicy"].is_null() {
                obj["spec"]["restartPolicy"] = json!("Always");
            }
            if obj["spec"]["containers"]
                .as_array()
                .is_none_or(|c| c.is_empty())
            {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    format!(
                        "Pod \"{}\" is invalid: spec.containers: Required value",
                        obj["metadata"]["name"].as_str().unwrap_or("")
                    ),
                ));
            }
            if obj["status"]["phase"].is_null() {
                obj["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
            }
        }
        ("", "Service") => {
            if obj["spec"]["clusterIP"].is_null()
                && obj["spec"]["type"].as_str() != Some("ExternalName")
            {
                let n = sh.svc_ips.fetch_add(1, Ordering::SeqCst);
                let net = if sh.loopback_ips { "127.1" } else { "10.96" };
                let ip = format!("{net}.{}.{}", (n / 250) % 250, n % 250 + 2);
                obj["spec"]["clusterIP"] = json!(ip);
                obj["spec"]["clusterIPs"] = json!([ip]);
            }
            if obj["spec"]["type"].is_null() {
                obj["spec"]["type"] = json!("ClusterIP");
            }
            // a load balancer answers at once, like MetalLB or
            // cloud-provider-kind would
            if obj["spec"]["type"] == "LoadBalancer"
                && obj["status"]["loadBalancer"]["ingress"].is_null()
            {
                let n = sh.svc_ips.fetch_add(1, Ordering::SeqCst);
                let ip = if sh.loopback_ips {
                    format!("127.2.0.{}", n % 250 + 2)
                } else {
                    format!("172.18.255.{}", 200 + n % 50)
                };
                obj["status"]["loadBalancer"] = json!({"ingress": [{"ip": ip}]});
            }
        }
        _ => {}
    }
    Ok(obj)
}

/// Reject privileged pods in namespaces labelled
/// `pod-security.kubernetes.io/enforce=restricted` (or `baseline`), with the
/// real admission message.
fn pod_security(sh: &Shared, ns: &str, pod: &Value) -> Result<(), ApiError> {
    let nsk = sh.store.kind("", "Namespace").expect("namespace kind");
    let Some(n) = sh.store.get(&nsk, "", ns) else {
        return Ok(());
    };
    let level = n["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        .as_str()
        .unwrap_or("privileged");
    if level == "privileged" {
        return Ok(());
    }
    let mut problems = vec![];
    let spec = &pod["spec"];
    let mut hostns = vec![];
    if spec["hostNetwork"] == true {
        hostns.push("hostNetwork=true");
    }
    if spec["hostPID"] == true {
        hostns.push("hostPID=true");
    }
    if spec["hostIPC"] == true {
        hostns.push("hostIPC=true");
    }
    if !hostns.is_empty() {
        problems.push(format!("host namespaces ({})", hostns.join(", ")));
    }
    let containers: Vec<&Value> = spec["containers"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let privileged: Vec<String> = containers
        .iter()
        .filter(|c| c["securityContext"]["privileged"] == true)
        .map(|c| format!("\"{}\"", c["name"].as_str().unwrap_or("")))
        .collect();
    if !privileged.is_empty() {
        problems.push(format!(
            "privileged (container {} must not set securityContext.privileged=true)",
            privileged.join(", ")
        ));
    }
    let host_paths: Vec<String> = spec["volumes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|v| v["hostPath"].is_object())
                .map(|v| format!("\"{}\"", v["name"].as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    if !host_paths.is_empty() {
        problems.push(format!(
            "hostPath volumes (volume {})",
            host_paths.join(", ")
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        403,
        "Forbidden",
        format!(
            "pods \"{}\" is forbidden: violates PodSecurity \"{level}:latest\": {}",
            pod["metadata"]["name"].as_str().unwrap_or(""),
            problems.join(", ")
        ),
    ))
}
