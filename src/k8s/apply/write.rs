//! Writing manifests: every document resolved before the first request;
//! Namespaces and CRDs first (CRDs waited for until Established, then
//! discovery refreshed); the rest concurrently under a client-side rate
//! limit; server-side apply (field manager `scaffold`) or the original's
//! create-or-replace.

use crate::k8s::discovery::{Discovery, Resource};
use crate::k8s::http::{self, K8sError};
use crate::k8s::manifest::Doc;
use crate::k8s::ratelimit::RateLimit;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Client-side rate limit of apply: a manifest of up to 200 objects goes
/// at once (the API server's priority and fairness queues protect it),
/// larger ones at 100 requests a second.
pub const DEFAULT_QPS: f64 = 100.0;
pub const DEFAULT_BURST: u32 = 200;

/// How to apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    pub namespace: String,
    pub create_or_replace: bool,
    pub force: bool,
    /// server-side apply's field manager (`scaffold`): what one manager
    /// stops applying the server removes, so separate owners of parts of
    /// one object need separate managers
    pub field_manager: String,
    pub qps: f64,
    pub burst: u32,
}

/// What was applied.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Applied {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `created`, `configured` (server-side apply) or `replaced`; for a
    /// preview `would create`, `would change` or `unchanged`
    pub action: &'static str,
    /// a preview's unified diff of the live object against the result
    /// (empty when unchanged), when asked for
    pub diff: Option<String>,
}

pub fn is_crd(d: &Doc) -> bool {
    d.kind() == "CustomResourceDefinition" && d.api_version().starts_with("apiextensions.k8s.io/")
}

pub fn is_namespace(d: &Doc) -> bool {
    d.kind() == "Namespace" && d.api_version() == "v1"
}

/// (group, kind) of every CRD in the manifest.
fn crd_kinds(docs: &[Doc]) -> Vec<(String, String)> {
    docs.iter()
        .filter(|d| is_crd(d))
        .map(|d| {
            let spec = &d.obj["spec"];
            let s = |v: &Value| v.as_str().unwrap_or("").to_string();
            (s(&spec["group"]), s(&spec["names"]["kind"]))
        })
        .collect()
}

/// Resolve every document; kinds that a CRD of this manifest defines may
/// resolve later (`None`). Unknown kinds are errors naming the document.
pub fn resolve_all<'a>(
    disc: &Discovery,
    docs: &'a [Doc],
    source: &str,
) -> Result<Vec<(&'a Doc, Option<Resource>)>, String> {
    let crds = crd_kinds(docs);
    docs.iter()
        .map(|d| {
            if let Some(r) = disc.by_gvk(d.api_version(), d.kind()) {
                return Ok((d, Some(r.clone())));
            }
            let group = d
                .api_version()
                .rsplit_once('/')
                .map(|(g, _)| g)
                .unwrap_or("");
            if crds.iter().any(|(g, k)| g == group && k == d.kind()) {
                return Ok((d, None));
            }
            Err(format!(
                "{}: the server has no kind {} in {} (is its CRD installed?)",
                d.where_(source),
                d.kind(),
                d.api_version()
            ))
        })
        .collect()
}

/// The object as it will be sent: its namespace filled in for namespaced kinds.
pub(crate) fn placed(r: &Resource, d: &Doc, default_ns: &str) -> (Value, String) {
    let mut obj = d.obj.clone();
    if !r.namespaced {
        return (obj, String::new());
    }
    let ns = obj["metadata"]["namespace"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| default_ns.to_string());
    obj["metadata"]["namespace"] = json!(ns);
    (obj, ns)
}

/// The original's `kubectl create || kubectl replace`.
async fn create_or_replace(
    client: &kube::Client,
    r: &Resource,
    ns: &str,
    mut obj: Value,
) -> Result<(&'static str, String), K8sError> {
    let body = serde_json::to_vec(&obj).unwrap_or_default();
    let coll = r.collection(Some(ns));
    match http::request(client, "POST", &coll, Some("application/json"), body, false).await {
        Ok(b) => {
            let made: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
            let name = made["metadata"]["name"].as_str().unwrap_or("").to_string();
            Ok(("created", name))
        }
        Err(e) if e.code() == Some(409) => {
            let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
            let item = r.item(ns, &name)?;
            let cur = http::get_json(client, &item).await?;
            obj["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"].clone();
            let body = serde_json::to_vec(&obj).unwrap_or_default();
            http::request(client, "PUT", &item, Some("application/json"), body, false).await?;
            Ok(("replaced", name))
        }
        Err(e) => Err(e),
    }
}

/// Apply one object.
async fn apply_one(
    client: &kube::Client,
    r: &Resource,
    d: &Doc,
    o: &ApplyOptions,
) -> Result<Applied, K8sError> {
    let (obj, ns) = placed(r, d, &o.namespace);
    let (action, name) = if o.create_or_replace {
        create_or_replace(client, r, &ns, obj).await?
    } else {
        let path = format!(
            "{}?fieldManager={}&force={}",
            r.item(&ns, d.name())?,
            http::urlencode(&o.field_manager),
            o.force
        );
        let body = serde_json::to_vec(&obj).unwrap_or_default();
        let ct = Some("application/apply-patch+yaml");
        http::request(client, "PATCH", &path, ct, body, true).await?;
        ("configured", d.name().to_string())
    };
    Ok(Applied {
        api_version: r.api_version(),
        kind: r.kind.clone(),
        namespace: ns,
        name,
        action,
        diff: None,
    })
}

/// Wait until a CRD is Established (watching it).
async fn wait_established(
    client: &kube::Client,
    name: &str,
    timeout: Duration,
) -> Result<(), K8sError> {
    let path = http::item_path(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        "CustomResourceDefinition",
        name,
    )?;
    let established = |v: Option<&Value>| {
        v.and_then(|v| v["status"]["conditions"].as_array())
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Established" && c["status"] == "True")
            })
            .then_some(())
    };
    let mut w = crate::k8s::watch::ObjectWatch::new(client, &path);
    tokio::time::timeout(timeout, w.until(established))
        .await
        .map_err(|_| {
            K8sError::Transport(format!(
                "CRD {name} was not Established within {}s",
                timeout.as_secs()
            ))
        })?
}

pub(crate) fn cannot(source: &str, d: &Doc, e: K8sError) -> String {
    format!(
        "{}: cannot apply {} '{}': {e}",
        d.where_(source),
        d.kind(),
        d.name()
    )
}

/// Namespaces and CRDs, one at a time; then the CRDs waited for and
/// discovery refreshed.
async fn apply_first(
    client: &kube::Client,
    disc: &mut Arc<Discovery>,
    first: &[(&Doc, Option<Resource>)],
    source: &str,
    o: &ApplyOptions,
    limit: &RateLimit,
) -> Result<Vec<Applied>, String> {
    let mut applied = vec![];
    for (d, r) in first {
        let r = r.as_ref().expect("namespaces and CRDs are built-in");
        limit.acquire().await;
        applied.push(
            apply_one(client, r, d, o)
                .await
                .map_err(|e| cannot(source, d, e))?,
        );
    }
    let crds: Vec<&Doc> = first
        .iter()
        .map(|(d, _)| *d)
        .filter(|d| is_crd(d))
        .collect();
    if crds.is_empty() {
        return Ok(applied);
    }
    for d in &crds {
        wait_established(client, d.name(), Duration::from_secs(60))
            .await
            .map_err(|e| format!("{}: {e}", d.where_(source)))?;
    }
    *disc = Arc::new(
        Discovery::run(client)
            .await
            .map_err(|e| format!("discovery after installing CRDs: {e}"))?,
    );
    Ok(applied)
}

/// Names are needed for server-side apply: checked for every document
/// before the first request.
pub(crate) fn check_names(docs: &[Doc], source: &str, o: &ApplyOptions) -> Result<(), String> {
    if o.create_or_replace {
        return Ok(());
    }
    match docs.iter().find(|d| d.name().trim().is_empty()) {
        Some(d) => Err(format!(
            "{}: {} has only metadata.generateName; server-side apply needs a name (give one, or apply with mode: \"create_or_replace\")",
            d.where_(source),
            d.kind()
        )),
        None => Ok(()),
    }
}

/// Apply documents: all resolved before the first request; Namespaces and
/// CRDs first; the rest concurrently under the rate limit.
pub async fn apply(
    client: &kube::Client,
    disc: &mut Arc<Discovery>,
    docs: &[Doc],
    source: &str,
    o: &ApplyOptions,
) -> Result<Vec<Applied>, String> {
    check_names(docs, source, o)?;
    let resolved = resolve_all(disc, docs, source)?;
    let limit = Arc::new(RateLimit::new(o.qps, o.burst));
    let (first, rest): (Vec<_>, Vec<_>) = resolved
        .into_iter()
        .partition(|(d, _)| is_namespace(d) || is_crd(d));
    let mut applied = apply_first(client, disc, &first, source, o, &limit).await?;
    let rest: Vec<(&Doc, Resource)> = rest
        .into_iter()
        .map(
            |(d, r)| match r.or_else(|| disc.by_gvk(d.api_version(), d.kind()).cloned()) {
                Some(r) => Ok((d, r)),
                None => Err(format!(
                    "{}: kind {} is still unknown after its CRD was Established",
                    d.where_(source),
                    d.kind()
                )),
            },
        )
        .collect::<Result<_, String>>()?;
    let results = futures::future::join_all(rest.iter().map(|(d, r)| {
        let limit = limit.clone();
        async move {
            limit.acquire().await;
            apply_one(client, r, d, o)
                .await
                .map_err(|e| cannot(source, d, e))
        }
    }))
    .await;
    let (ok, errors): (Vec<_>, Vec<_>) = results.into_iter().partition(|r| r.is_ok());
    applied.extend(ok.into_iter().flatten());
    if !errors.is_empty() {
        let errors: Vec<String> = errors.into_iter().filter_map(|r| r.err()).collect();
        return Err(format!(
            "{} of {} objects failed:\n  {}",
            errors.len(),
            docs.len(),
            errors.join("\n  ")
        ));
    }
    Ok(applied)
}
