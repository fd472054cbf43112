//! What the API server does to an object before storing it: defaults (a
//! pod's, a template's, a Deployment's, a Job's labels and selector, a
//! Service's, a claim's default class), the status a new object starts
//! with (the Go types' zero values: a ReplicaSet's `replicas: 0`, a pod's
//! Pending), a pod's service account and its token volume, PodSecurity
//! admission, Service cluster and load-balancer IPs. The defaults are the
//! ones the recorded objects show (tests/traces).

use crate::kinds::Kind;
use crate::shared::Shared;
use crate::store::ApiError;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

pub fn admit(sh: &Shared, kind: &Kind, ns: &str, mut obj: Value) -> Result<Value, ApiError> {
    if kind.status {
        obj["status"] = zero_status(kind);
    }
    match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "Pod") => {
            pod_security(sh, ns, &obj)?;
            pod_spec(&mut obj["spec"]);
            service_account(&mut obj["spec"], sh);
        }
        ("", "Service") => service(sh, &mut obj),
        ("", "PersistentVolumeClaim") => {
            default_class(sh, &mut obj);
            protect(&mut obj, "kubernetes.io/pvc-protection");
        }
        ("", "PersistentVolume") => {
            protect(&mut obj, "kubernetes.io/pv-protection");
            obj["status"]["lastPhaseTransitionTime"] = json!(crate::store::now());
        }
        ("apps", "Deployment") => {
            defaults(
                &mut obj["spec"],
                &[
                    ("replicas", json!(1)),
                    ("revisionHistoryLimit", json!(10)),
                    ("progressDeadlineSeconds", json!(600)),
                ],
            );
            defaults(
                &mut obj["spec"],
                &[(
                    "strategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
                )],
            );
            template(&mut obj["spec"]["template"]);
        }
        ("apps", "ReplicaSet" | "StatefulSet") => {
            defaults(&mut obj["spec"], &[("replicas", json!(1))]);
            template(&mut obj["spec"]["template"]);
        }
        ("apps", "DaemonSet") => {
            // apps/v1 SetDefaults_DaemonSet (what `kubectl rollout status`
            // needs to see: it refuses any other strategy)
            defaults(
                &mut obj["spec"],
                &[
                    ("revisionHistoryLimit", json!(10)),
                    (
                        "updateStrategy",
                        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
                    ),
                ],
            );
            template(&mut obj["spec"]["template"]);
        }
        ("batch", "Job") => job(sh, &mut obj),
        _ => {}
    }
    Ok(obj)
}

/// The status a new object of `kind` has: the zero value of its Go type.
fn zero_status(kind: &Kind) -> Value {
    match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "Pod") => json!({"phase": "Pending", "qosClass": "BestEffort"}),
        ("", "PersistentVolumeClaim" | "PersistentVolume") => json!({"phase": "Pending"}),
        ("", "Service") => json!({"loadBalancer": {}}),
        ("", "Namespace") => json!({"phase": "Active"}),
        ("apps", "ReplicaSet" | "StatefulSet") | ("", "ReplicationController") => {
            json!({"replicas": 0})
        }
        ("apps", "DaemonSet") => {
            json!({"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0})
        }
        _ => json!({}),
    }
}

fn defaults(target: &mut Value, pairs: &[(&str, Value)]) {
    if !target.is_object() {
        *target = json!({});
    }
    for (k, v) in pairs {
        if target.get(*k).is_none() {
            target[*k] = v.clone();
        }
    }
}

/// `imagePullPolicy`: Always for `:latest` or no tag, else IfNotPresent.
fn pull_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains('@') || (last.contains(':') && !last.ends_with(":latest")) {
        "IfNotPresent"
    } else {
        "Always"
    }
}

fn container(c: &mut Value) {
    let image = c["image"].as_str().unwrap_or("").to_string();
    defaults(
        c,
        &[
            ("resources", json!({})),
            ("terminationMessagePath", json!("/dev/termination-log")),
            ("terminationMessagePolicy", json!("File")),
            ("imagePullPolicy", json!(pull_policy(&image))),
        ],
    );
    for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
        if c[probe].is_object() {
            defaults(
                &mut c[probe],
                &[
                    ("timeoutSeconds", json!(1)),
                    ("periodSeconds", json!(10)),
                    ("successThreshold", json!(1)),
                    ("failureThreshold", json!(3)),
                ],
            );
        }
    }
}

/// The defaults of a pod spec that a template carries too.
fn template_spec(spec: &mut Value) {
    defaults(
        spec,
        &[
            ("restartPolicy", json!("Always")),
            ("terminationGracePeriodSeconds", json!(30)),
            ("dnsPolicy", json!("ClusterFirst")),
            ("securityContext", json!({})),
            ("schedulerName", json!("default-scheduler")),
        ],
    );
    for list in ["containers", "initContainers"] {
        for c in spec[list].as_array_mut().into_iter().flatten() {
            container(c);
        }
    }
}

fn template(t: &mut Value) {
    if !t.is_object() {
        return;
    }
    if !t["metadata"].is_object() {
        t["metadata"] = json!({});
    }
    t["metadata"]["creationTimestamp"] = Value::Null;
    template_spec(&mut t["spec"]);
}

/// A pod's defaults beyond its template's.
fn pod_spec(spec: &mut Value) {
    template_spec(spec);
    defaults(
        spec,
        &[
            (
                "tolerations",
                json!([
                    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                ]),
            ),
            ("priority", json!(0)),
            ("enableServiceLinks", json!(true)),
            ("preemptionPolicy", json!("PreemptLowerPriority")),
        ],
    );
}

/// The service account and, unless turned off, its token volume mounted
/// in every container (the ServiceAccount admission plugin's).
fn service_account(spec: &mut Value, sh: &Shared) {
    let sa = spec["serviceAccountName"]
        .as_str()
        .or(spec["serviceAccount"].as_str())
        .unwrap_or("default")
        .to_string();
    spec["serviceAccountName"] = json!(sa);
    spec["serviceAccount"] = json!(sa);
    if spec["automountServiceAccountToken"] == false {
        return;
    }
    let vol = format!("kube-api-access-{}", crate::store::suffix(sh.next_id()));
    let projected = json!({"name": vol, "projected": {"sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ], "defaultMode": 420}});
    if !spec["volumes"].is_array() {
        spec["volumes"] = json!([]);
    }
    spec["volumes"]
        .as_array_mut()
        .expect("volumes")
        .push(projected);
    for c in spec["containers"].as_array_mut().into_iter().flatten() {
        if !c["volumeMounts"].is_array() {
            c["volumeMounts"] = json!([]);
        }
        c["volumeMounts"].as_array_mut().expect("mounts").push(json!({"name": vol, "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}));
    }
}

/// A Job's labels and selector from its uid (reserved now, kept by the
/// store), and its defaults.
fn job(sh: &Shared, obj: &mut Value) {
    let uid = sh.store.reserve_uid();
    obj["metadata"]["uid"] = json!(uid);
    let name = obj["metadata"]["name"].clone();
    let labels = json!({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name, "controller-uid": uid, "job-name": name});
    let add = |target: &mut Value| {
        if !target.is_object() {
            *target = json!({});
        }
        for (k, v) in labels.as_object().expect("labels") {
            target[k] = v.clone();
        }
    };
    add(&mut obj["metadata"]["labels"]);
    add(&mut obj["spec"]["template"]["metadata"]["labels"]);
    defaults(
        &mut obj["spec"],
        &[
            ("parallelism", json!(1)),
            ("completions", json!(1)),
            ("backoffLimit", json!(6)),
            (
                "selector",
                json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
            ),
            ("manualSelector", json!(false)),
            ("completionMode", json!("NonIndexed")),
            ("suspend", json!(false)),
            ("podReplacementPolicy", json!("TerminatingOrFailed")),
        ],
    );
    template(&mut obj["spec"]["template"]);
}

fn service(sh: &Shared, obj: &mut Value) {
    let external_name = obj["spec"]["type"].as_str() == Some("ExternalName");
    if obj["spec"]["clusterIP"].is_null() && !external_name {
        let n = sh.svc_ips.fetch_add(1, Ordering::SeqCst);
        let net = if sh.loopback_ips { "127.1" } else { "10.96" };
        let ip = format!("{net}.{}.{}", (n / 250) % 250, n % 250 + 2);
        obj["spec"]["clusterIP"] = json!(ip);
        obj["spec"]["clusterIPs"] = json!([ip]);
    }
    defaults(
        &mut obj["spec"],
        &[
            ("type", json!("ClusterIP")),
            ("sessionAffinity", json!("None")),
        ],
    );
    if !external_name {
        defaults(
            &mut obj["spec"],
            &[
                ("ipFamilies", json!(["IPv4"])),
                ("ipFamilyPolicy", json!("SingleStack")),
                ("internalTrafficPolicy", json!("Cluster")),
            ],
        );
    }
    for p in obj["spec"]["ports"].as_array_mut().into_iter().flatten() {
        let port = p["port"].clone();
        defaults(p, &[("protocol", json!("TCP")), ("targetPort", port)]);
    }
    // a load balancer answers at once, like MetalLB or
    // cloud-provider-kind would
    if obj["spec"]["type"] == "LoadBalancer" {
        let n = sh.svc_ips.fetch_add(1, Ordering::SeqCst);
        let ip = if sh.loopback_ips {
            format!("127.2.0.{}", n % 250 + 2)
        } else {
            format!("172.18.255.{}", 200 + n % 50)
        };
        obj["status"]["loadBalancer"] = json!({"ingress": [{"ip": ip, "ipMode": "VIP"}]});
        defaults(
            &mut obj["spec"],
            &[
                ("externalTrafficPolicy", json!("Cluster")),
                ("allocateLoadBalancerNodePorts", json!(true)),
            ],
        );
    }
}

/// The storage-object-in-use protection finalizer.
fn protect(obj: &mut Value, finalizer: &str) {
    if !obj["metadata"]["finalizers"].is_array() {
        obj["metadata"]["finalizers"] = json!([]);
    }
    let f = obj["metadata"]["finalizers"]
        .as_array_mut()
        .expect("finalizers");
    if !f.iter().any(|x| x == finalizer) {
        f.push(json!(finalizer));
    }
}

/// The DefaultStorageClass admission: a claim without a class gets the
/// default one.
fn default_class(sh: &Shared, obj: &mut Value) {
    if obj["spec"].get("storageClassName").is_some() {
        return;
    }
    let k = sh
        .store
        .kind("storage.k8s.io", "StorageClass")
        .expect("storage classes");
    let default = sh.store.list(&k, None).0.into_iter().find(|c| {
        c["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    });
    if let Some(c) = default {
        obj["spec"]["storageClassName"] = c["metadata"]["name"].clone();
    }
    defaults(&mut obj["spec"], &[("volumeMode", json!("Filesystem"))]);
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
    let spec = &pod["spec"];
    let mut problems = vec![];
    let hostns: Vec<&str> = [
        ("hostNetwork", "hostNetwork=true"),
        ("hostPID", "hostPID=true"),
        ("hostIPC", "hostIPC=true"),
    ]
    .iter()
    .filter(|(f, _)| spec[*f] == true)
    .map(|(_, s)| *s)
    .collect();
    if !hostns.is_empty() {
        problems.push(format!("host namespaces ({})", hostns.join(", ")));
    }
    let privileged: Vec<String> = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
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
        .into_iter()
        .flatten()
        .filter(|v| v["hostPath"].is_object())
        .map(|v| format!("\"{}\"", v["name"].as_str().unwrap_or("")))
        .collect();
    if !host_paths.is_empty() {
        problems.push(format!(
            "hostPath volumes (volume {})",
            host_paths.join(", ")
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    Err(ApiError::new(
        403,
        "Forbidden",
        format!(
            "pods \"{name}\" is forbidden: violates PodSecurity \"{level}:latest\": {}",
            problems.join(", ")
        ),
    )
    .with_details(json!({"name": name, "kind": "pods"})))
}
