//! What a ron or a session created, recorded before each create request
//! (so a Ctrl-C during the request, or an answer that was lost, still
//! leaves a name to clean up), and deleting it: only objects that carry
//! this run's label, by uid, then waiting until they are gone.

use crate::k8s::http::{self, K8sError};
use crate::k8s::labels::RUN_ID;
use std::time::Duration;

/// The kinds a ron creates, in the order they are deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Made {
    Pod,
    ConfigMap,
    Pvc,
}

impl Made {
    pub fn plural(self) -> &'static str {
        match self {
            Made::Pod => "pods",
            Made::ConfigMap => "configmaps",
            Made::Pvc => "persistentvolumeclaims",
        }
    }

    pub fn item(self, ns: &str, name: &str) -> Result<String, K8sError> {
        http::item_path(
            &format!(
                "/api/v1/namespaces/{}/{}",
                http::urlencode(ns),
                self.plural()
            ),
            self.plural().trim_end_matches('s'),
            name,
        )
    }
}

/// Names of what a run may have created (filled before each create).
#[derive(Default, Debug, Clone)]
pub struct Created {
    pub namespace: String,
    pub run_id: String,
    pub pod: Option<String>,
    pub configmap: Option<String>,
    pub pvc: Option<String>,
}

/// What to delete at the end.
#[derive(Clone, Debug, PartialEq)]
pub enum Cleanup {
    All,
    Pod,
    Pvc,
    None,
}

impl Cleanup {
    pub fn parse(s: &str) -> Result<Cleanup, String> {
        match s {
            "all" => Ok(Cleanup::All),
            "pod" => Ok(Cleanup::Pod),
            "pvc" => Ok(Cleanup::Pvc),
            "none" => Ok(Cleanup::None),
            other => Err(format!(
                "cleanup must be \"all\", \"pod\", \"pvc\" or \"none\", got \"{other}\""
            )),
        }
    }
}

/// How long deleting one object may take before it is reported as left.
const GONE_WITHIN: Duration = Duration::from_secs(60);

/// Delete one object if it is this run's: GET, check the run label, DELETE
/// by uid (so a replacement someone else made meanwhile is never hit),
/// wait until gone. `Ok(false)` when there was nothing of ours.
pub async fn delete_ours(
    client: &kube::Client,
    made: Made,
    ns: &str,
    name: &str,
    run_id: &str,
) -> Result<bool, K8sError> {
    let item = made.item(ns, name)?;
    let obj = match http::get_json(client, &item).await {
        Ok(o) => o,
        Err(e) if e.is_not_found() => return Ok(false),
        Err(e) => return Err(e),
    };
    if obj["metadata"]["labels"][RUN_ID] != run_id {
        return Ok(false);
    }
    let uid = obj["metadata"]["uid"].as_str().unwrap_or("");
    let body = serde_json::json!({"apiVersion": "v1", "kind": "DeleteOptions",
        "gracePeriodSeconds": 0, "propagationPolicy": "Background", "preconditions": {"uid": uid}});
    let body = serde_json::to_vec(&body).unwrap_or_default();
    match http::request(
        client,
        "DELETE",
        &item,
        Some("application/json"),
        body,
        true,
    )
    .await
    {
        Ok(_) => {}
        Err(e) if matches!(e.code(), Some(404 | 409)) => return Ok(false),
        Err(e) => return Err(e),
    }
    // a claim a pod still uses is held by its protection finalizer until
    // that pod is gone (as on any cluster): it goes with the pod
    if made == Made::Pvc && claim_in_use(client, ns, name).await {
        return Ok(true);
    }
    crate::k8s::watch::wait_gone(client, &item, GONE_WITHIN).await?;
    Ok(true)
}

/// Whether a pod that is not being deleted mounts the claim.
async fn claim_in_use(client: &kube::Client, ns: &str, claim: &str) -> bool {
    let path = format!("/api/v1/namespaces/{}/pods", http::urlencode(ns));
    let Ok((pods, _)) = http::list_all(client, &path, "").await else {
        return false;
    };
    pods.iter().any(|p| {
        !p["metadata"]["deletionTimestamp"].is_string()
            && p["spec"]["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|v| v["persistentVolumeClaim"]["claimName"] == claim)
    })
}

/// Delete what a run created, per the policy (the PVC only if managed).
/// Returns one line per object that could not be deleted.
pub async fn cleanup(
    client: &kube::Client,
    created: &Created,
    policy: &Cleanup,
    manage_pvc: bool,
) -> Vec<String> {
    let mut jobs: Vec<(Made, &String)> = vec![];
    if matches!(policy, Cleanup::All | Cleanup::Pod) {
        jobs.extend(created.pod.iter().map(|p| (Made::Pod, p)));
    }
    if matches!(policy, Cleanup::All) {
        jobs.extend(created.configmap.iter().map(|c| (Made::ConfigMap, c)));
    }
    if matches!(policy, Cleanup::All | Cleanup::Pvc) && manage_pvc {
        jobs.extend(created.pvc.iter().map(|p| (Made::Pvc, p)));
    }
    let ns = &created.namespace;
    let mut errors = vec![];
    for (made, name) in jobs {
        if let Err(e) = delete_ours(client, made, ns, name, &created.run_id).await {
            errors.push(format!("{} {ns}/{name}: {e}", made.plural()));
        }
    }
    errors
}
