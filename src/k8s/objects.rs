//! Objects: manifests parsed and resolved before anything is sent,
//! server-side apply (or create-or-replace) under a client-side rate limit,
//! get/list/delete, watching one object, exec and logs.

use super::discovery::{Discovery, Resource};
use super::http::{self, K8sError};
use super::ratelimit::RateLimit;
use serde_json::{json, Value};
use std::sync::Arc;

/// One document of a manifest, resolved to its resource.
#[derive(Clone, Debug)]
pub struct Doc {
    /// 1-based index in the input
    pub index: usize,
    /// first line of the document in its text
    pub line: usize,
    pub obj: Value,
}

impl Doc {
    pub fn kind(&self) -> &str {
        self.obj["kind"].as_str().unwrap_or("")
    }
    pub fn api_version(&self) -> &str {
        self.obj["apiVersion"].as_str().unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.obj["metadata"]["name"].as_str().unwrap_or("")
    }
    pub fn where_(&self, source: &str) -> String {
        format!("{source}: document {} (line {})", self.index, self.line)
    }
}

/// Split multi-document YAML and parse each document, keeping its index and
/// line; `kind: List` documents are expanded. A bad document is an error that
/// names it.
pub fn parse_manifest(text: &str, source: &str) -> Result<Vec<Doc>, String> {
    let mut chunks: Vec<(usize, String)> = vec![];
    let mut cur = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("---") && (line.len() == 3 || line[3..].starts_with([' ', '\t'])) {
            chunks.push((start, std::mem::take(&mut cur)));
            start = i + 2;
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    chunks.push((start, cur));
    let mut docs = vec![];
    let mut index = 0;
    for (line, chunk) in chunks {
        if chunk
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        index += 1;
        let v = crate::yaml::parse_docs(&chunk)
            .map_err(|e| format!("{source}: document {index} (line {line}): invalid YAML: {e}"))?
            .into_iter()
            .next()
            .unwrap_or(Value::Null);
        if !v.is_object() {
            return Err(format!("{source}: document {index} (line {line}): expected a Kubernetes object (a map with apiVersion and kind)"));
        }
        if v["kind"].as_str().is_some_and(|k| k.ends_with("List")) && v["items"].is_array() {
            for item in v["items"].as_array().cloned().unwrap_or_default() {
                docs.push(Doc {
                    index,
                    line,
                    obj: item,
                });
            }
        } else {
            docs.push(Doc {
                index,
                line,
                obj: v,
            });
        }
    }
    for d in &docs {
        if d.api_version().is_empty() || d.kind().is_empty() {
            return Err(format!("{}: missing apiVersion or kind", d.where_(source)));
        }
        if d.name().is_empty() && d.obj["metadata"]["generateName"].as_str().is_none() {
            return Err(format!(
                "{}: {} has no metadata.name",
                d.where_(source),
                d.kind()
            ));
        }
    }
    Ok(docs)
}

/// How to apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    pub namespace: String,
    pub create_or_replace: bool,
    pub force: bool,
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
    /// `created`, `configured` (server-side apply) or `replaced`
    pub action: &'static str,
}

fn is_crd(d: &Doc) -> bool {
    d.kind() == "CustomResourceDefinition" && d.api_version().starts_with("apiextensions.k8s.io/")
}

fn is_ns(d: &Doc) -> bool {
    d.kind() == "Namespace" && d.api_version() == "v1"
}

/// Resolve every document; kinds that a CRD of this manifest defines may
/// resolve later (`pending`). Unknown kinds are errors naming the document.
fn resolve_all<'a>(
    disc: &Discovery,
    docs: &'a [Doc],
    source: &str,
) -> Result<Vec<(&'a Doc, Option<Resource>)>, String> {
    let crd_kinds: Vec<(String, String)> = docs
        .iter()
        .filter(|d| is_crd(d))
        .map(|d| {
            (
                d.obj["spec"]["group"].as_str().unwrap_or("").to_string(),
                d.obj["spec"]["names"]["kind"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    docs.iter()
        .map(|d| match disc.by_gvk(d.api_version(), d.kind()) {
            Some(r) => Ok((d, Some(r.clone()))),
            None => {
                let group = d
                    .api_version()
                    .rsplit_once('/')
                    .map(|(g, _)| g)
                    .unwrap_or("");
                if crd_kinds.iter().any(|(g, k)| g == group && k == d.kind()) {
                    Ok((d, None))
                } else {
                    Err(format!(
                        "{}: the server has no kind {} in {} (is its CRD installed?)",
                        d.where_(source),
                        d.kind(),
                        d.api_version()
                    ))
                }
            }
        })
        .collect()
}

/// Apply one object.
async fn apply_one(
    client: &kube::Client,
    r: &Resource,
    d: &Doc,
    o: &ApplyOptions,
) -> Result<Applied, K8sError> {
    let mut obj = d.obj.clone();
    let ns = if r.namespaced {
        obj["metadata"]["namespace"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| o.namespace.clone())
    } else {
        String::new()
    };
    if r.namespaced {
        obj["metadata"]["namespace"] = json!(ns);
    }
    let name = d.name().to_string();
    let body = serde_json::to_vec(&obj).unwrap_or_default();
    let action = if o.create_or_replace {
        // the original's `kubectl create || kubectl replace`
        match http::request(
            client,
            "POST",
            &r.collection(Some(&ns)),
            Some("application/json"),
            body.clone(),
            false,
        )
        .await
        {
            Ok(_) => "created",
            Err(e) if e.code() == Some(409) => {
                let cur = http::get_json(client, &r.item(&ns, &name)).await?;
                obj["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"].clone();
                let body = serde_json::to_vec(&obj).unwrap_or_default();
                http::request(
                    client,
                    "PUT",
                    &r.item(&ns, &name),
                    Some("application/json"),
                    body,
                    false,
                )
                .await?;
                "replaced"
            }
            Err(e) => return Err(e),
        }
    } else {
        let path = format!(
            "{}?fieldManager=scaffold&force={}",
            r.item(&ns, &name),
            o.force
        );
        http::request(
            client,
            "PATCH",
            &path,
            Some("application/apply-patch+yaml"),
            body,
            true,
        )
        .await?;
        "configured"
    };
    Ok(Applied {
        api_version: r.api_version(),
        kind: r.kind.clone(),
        namespace: ns,
        name,
        action,
    })
}

/// Wait until a CRD is Established (watching it).
async fn wait_established(
    client: &kube::Client,
    name: &str,
    timeout: std::time::Duration,
) -> Result<(), K8sError> {
    let path = format!(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{}",
        http::urlencode(name)
    );
    let established = |v: &Value| {
        v["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        })
    };
    let r = tokio::time::timeout(timeout, async {
        loop {
            match watch_object(client, &path).await {
                Ok(mut rx) => {
                    while let Some(ev) = rx.recv().await {
                        if ev.as_ref().is_some_and(&established) {
                            return Ok(());
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
    })
    .await;
    match r {
        Ok(x) => x,
        Err(_) => Err(K8sError::Transport(format!(
            "CRD {name} was not Established within {}s",
            timeout.as_secs()
        ))),
    }
}

/// Apply documents: all resolved before the first request; Namespaces and
/// CRDs first (CRDs waited for, then discovery refreshed); the rest
/// concurrently under the rate limit.
pub async fn apply(
    client: &kube::Client,
    disc: &mut Arc<Discovery>,
    docs: &[Doc],
    source: &str,
    o: &ApplyOptions,
) -> Result<Vec<Applied>, String> {
    let resolved = resolve_all(disc, docs, source)?;
    let limit = Arc::new(RateLimit::new(o.qps, o.burst));
    let mut applied = vec![];
    // 1. namespaces and CRDs
    let first: Vec<_> = resolved
        .iter()
        .filter(|(d, _)| is_ns(d) || is_crd(d))
        .collect();
    for (d, r) in &first {
        let r = r.as_ref().expect("namespaces and CRDs are built-in");
        limit.acquire().await;
        applied.push(apply_one(client, r, d, o).await.map_err(|e| {
            format!(
                "{}: cannot apply {} '{}': {e}",
                d.where_(source),
                d.kind(),
                d.name()
            )
        })?);
    }
    let crds: Vec<&Doc> = first
        .iter()
        .filter(|(d, _)| is_crd(d))
        .map(|(d, _)| *d)
        .collect();
    if !crds.is_empty() {
        for d in &crds {
            wait_established(client, d.name(), std::time::Duration::from_secs(60))
                .await
                .map_err(|e| format!("{}: {e}", d.where_(source)))?;
        }
        *disc = Arc::new(
            Discovery::run(client)
                .await
                .map_err(|e| format!("discovery after installing CRDs: {e}"))?,
        );
    }
    // 2. everything else, concurrently
    let rest: Vec<(Doc, Resource)> = resolved
        .iter()
        .filter(|(d, _)| !is_ns(d) && !is_crd(d))
        .map(|(d, r)| {
            let r = match r {
                Some(r) => r.clone(),
                None => disc
                    .by_gvk(d.api_version(), d.kind())
                    .cloned()
                    .ok_or_else(|| {
                        format!(
                            "{}: kind {} is still unknown after its CRD was Established",
                            d.where_(source),
                            d.kind()
                        )
                    })?,
            };
            Ok(((*d).clone(), r))
        })
        .collect::<Result<_, String>>()?;
    let results = futures::future::join_all(rest.iter().map(|(d, r)| {
        let limit = limit.clone();
        async move {
            limit.acquire().await;
            apply_one(client, r, d, o).await.map_err(|e| {
                format!(
                    "{}: cannot apply {} '{}': {e}",
                    d.where_(source),
                    d.kind(),
                    d.name()
                )
            })
        }
    }))
    .await;
    let mut errors = vec![];
    for r in results {
        match r {
            Ok(a) => applied.push(a),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(format!(
            "{} of {} objects failed:\n  {}",
            errors.len(),
            docs.len(),
            errors.join("\n  ")
        ));
    }
    Ok(applied)
}

/// Watch one object by its item URL: `Some(obj)` on each change (the current
/// state first), `None` when it is deleted. Ends when the watch ends.
pub async fn watch_object(
    client: &kube::Client,
    item_path: &str,
) -> Result<tokio::sync::mpsc::Receiver<Option<Value>>, K8sError> {
    use futures::StreamExt;
    let (coll, name) = item_path.rsplit_once('/').expect("item path");
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let current = match http::get_json(client, item_path).await {
        Ok(v) => Some(v),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
    };
    let rv = current
        .as_ref()
        .and_then(|v| {
            v["metadata"]["resourceVersion"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_default();
    let _ = tx.send(current).await;
    let path = format!(
        "{coll}?watch=1&fieldSelector=metadata.name%3D{name}&allowWatchBookmarks=true&timeoutSeconds=290{}",
        if rv.is_empty() { String::new() } else { format!("&resourceVersion={rv}") }
    );
    let client = client.clone();
    tokio::spawn(async move {
        let req = ::http::Request::get(path)
            .body(vec![])
            .expect("watch request");
        let Ok(stream) = client.request_events::<Value>(req).await else {
            return;
        };
        futures::pin_mut!(stream);
        while let Some(ev) = stream.next().await {
            use kube::api::WatchEvent as W;
            let m = match ev {
                Ok(W::Added(o)) | Ok(W::Modified(o)) => Some(o),
                Ok(W::Deleted(_)) => None,
                Ok(W::Bookmark(_)) => continue,
                _ => return,
            };
            if tx.send(m).await.is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// Result of an exec.
#[derive(Clone, Debug, Default)]
pub struct ExecOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Exec in a pod's container over WebSocket; stdin (if any) is written and closed.
pub async fn exec(
    client: &kube::Client,
    ns: &str,
    pod: &str,
    container: Option<&str>,
    cmd: Vec<String>,
    stdin: Option<Vec<u8>>,
) -> Result<ExecOutput, K8sError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let api: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client.clone(), ns);
    let mut ap = kube::api::AttachParams::default()
        .stdin(stdin.is_some())
        .stdout(true)
        .stderr(true);
    if let Some(c) = container {
        ap = ap.container(c);
    }
    let mut p = api.exec(pod, cmd, &ap).await.map_err(|e| match e {
        kube::Error::Api(s) => K8sError::Api {
            code: s.code,
            reason: s.reason.clone(),
            message: s.message.clone(),
        },
        other => K8sError::Transport(other.to_string()),
    })?;
    if let (Some(data), Some(mut w)) = (stdin, p.stdin()) {
        let _ = w.write_all(&data).await;
        let _ = w.shutdown().await;
    }
    let mut out = p.stdout().expect("stdout");
    let mut err = p.stderr().expect("stderr");
    let (mut o, mut e) = (Vec::new(), Vec::new());
    let (r1, r2) = tokio::join!(out.read_to_end(&mut o), err.read_to_end(&mut e));
    let _ = (r1, r2);
    let status = p.take_status().expect("status").await;
    let code = match &status {
        Some(s) if s.status.as_deref() == Some("Success") => 0,
        Some(s) => s
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .and_then(|c| c.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
            .and_then(|c| c.message.as_ref())
            .and_then(|m| m.parse().ok())
            .unwrap_or(1),
        None => 0,
    };
    Ok(ExecOutput {
        code,
        stdout: String::from_utf8_lossy(&o).into_owned(),
        stderr: String::from_utf8_lossy(&e).into_owned(),
    })
}
