//! Raw requests over the kube client with our one retry layer: idempotent
//! requests (GET, LIST, WATCH setup, PATCH of labels, DELETE) are retried on
//! 429/500/502/503/504 and transport errors, with backoff and `Retry-After`,
//! within a bounded time. A plain create is never retried here.

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Errors talking to the API server.
#[derive(Debug, Clone, thiserror::Error)]
pub enum K8sError {
    /// The server answered with a Status error.
    #[error("{message} ({code} {reason})")]
    Api {
        code: u16,
        reason: String,
        message: String,
    },
    /// The request did not get an answer.
    #[error("{0}")]
    Transport(String),
    /// The request was refused before it was sent (an empty name, ...).
    #[error("{0}")]
    Invalid(String),
    /// The API answered, but what ran behind it failed (a session's shell
    /// broke, a command outlived its timeout or could not be parsed).
    #[error("{0}")]
    Command(String),
}

impl K8sError {
    pub fn code(&self) -> Option<u16> {
        match self {
            K8sError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }
}

/// A name that goes into a request path: empty or blank names are refused
/// before any request, because `.../configmaps/` is the whole collection
/// (a DELETE there deletes every object in the namespace).
pub fn check_name<'a>(what: &str, name: &'a str) -> Result<&'a str, K8sError> {
    if name.trim().is_empty() {
        return Err(K8sError::Invalid(format!(
            "the {what} name is empty; refusing to send a request that would address every {what} (check the value passed as the name, e.g. the output of a command that printed nothing)"
        )));
    }
    if name.contains('/') {
        return Err(K8sError::Invalid(format!(
            "the {what} name '{name}' contains '/'; give the name only"
        )));
    }
    Ok(name)
}

/// The path of one object in a collection (the name checked).
pub fn item_path(collection: &str, what: &str, name: &str) -> Result<String, K8sError> {
    Ok(format!(
        "{collection}/{}",
        urlencode(check_name(what, name)?)
    ))
}

/// How long one non-streaming request may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long retries of one request may go on: 8 s, or
/// `SCAFFOLD_RETRY_SECONDS`, so an unreachable server is an error within 10 s.
pub fn retry_budget() -> Duration {
    retry_budget_checked().unwrap_or(DEFAULT_RETRY_BUDGET)
}

const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(8);

/// [`retry_budget`], or why `SCAFFOLD_RETRY_SECONDS` is not a duration
/// (every command checks it first).
pub fn retry_budget_checked() -> Result<Duration, String> {
    crate::util::env_duration("SCAFFOLD_RETRY_SECONDS", DEFAULT_RETRY_BUDGET, false)
}

fn transient(code: u16) -> bool {
    matches!(code, 429 | 500 | 502 | 503 | 504)
}

/// An error answer as a [`K8sError`] (the Status message when the body is one).
pub fn api_error(code: u16, body: &[u8]) -> K8sError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let message = v["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            String::from_utf8_lossy(body)
                .trim()
                .chars()
                .take(300)
                .collect()
        });
    K8sError::Api {
        code,
        reason: v["reason"].as_str().unwrap_or("").to_string(),
        message: if message.is_empty() {
            format!("HTTP {code}")
        } else {
            message
        },
    }
}

/// One request, no retries: status, `Retry-After` seconds, body.
pub async fn send_once(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<(u16, Option<u64>, Bytes), K8sError> {
    let bare = path.split('?').next().unwrap_or(path);
    if bare.ends_with('/') || bare.contains("//") {
        return Err(K8sError::Invalid(format!(
            "refusing {method} {bare}: an empty name in the path"
        )));
    }
    let mut b = http::Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    b = b.header("accept", "application/json");
    let req = b
        .body(kube::client::Body::from(body))
        .map_err(|e| K8sError::Transport(format!("bad request {path}: {e}")))?;
    let fut = async {
        let res = client
            .send(req)
            .await
            .map_err(|e| K8sError::Transport(transport_message(&e)))?;
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let bytes = res
            .into_body()
            .collect()
            .await
            .map_err(|e| K8sError::Transport(format!("reading the answer: {e}")))?
            .to_bytes();
        Ok((status, retry_after, bytes))
    };
    tokio::time::timeout(READ_TIMEOUT, fut)
        .await
        .map_err(|_| K8sError::Transport(format!("no answer within {}s", READ_TIMEOUT.as_secs())))?
}

/// A client error with its causes, for messages.
pub fn transport_message(e: &kube::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(x) = src {
        let t = x.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = x.source();
    }
    s
}

/// A request with retries for transient failures. `retry` says whether the
/// request is idempotent.
pub async fn request(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    retry: bool,
) -> Result<Bytes, K8sError> {
    let start = Instant::now();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let r = send_once(client, method, path, content_type, body.clone()).await;
        let (delay, err) = match r {
            Ok((code, _, b)) if code < 300 => return Ok(b),
            Ok((code, ra, b)) if transient(code) => (
                ra.map(Duration::from_secs)
                    .unwrap_or_else(|| Duration::from_millis(100 << attempt.min(4))),
                api_error(code, &b),
            ),
            Ok((code, _, b)) => return Err(api_error(code, &b)),
            Err(e) => (Duration::from_millis(200 << attempt.min(3)), e),
        };
        let delay = delay.min(Duration::from_secs(2));
        if !retry || start.elapsed() + delay > retry_budget() {
            return Err(match err {
                K8sError::Transport(m) if attempt > 1 => {
                    K8sError::Transport(format!("{m} (after {attempt} attempts)"))
                }
                other => other,
            });
        }
        tracing::debug!("retrying {method} {path} in {delay:?}: {err}");
        tokio::time::sleep(delay).await;
    }
}

/// GET a JSON document (retried).
pub async fn get_json(client: &kube::Client, path: &str) -> Result<Value, K8sError> {
    let b = request(client, "GET", path, None, vec![], true).await?;
    serde_json::from_slice(&b)
        .map_err(|e| K8sError::Transport(format!("invalid JSON from {path}: {e}")))
}

/// A merge patch (retried: patching labels is idempotent).
pub async fn merge_patch(
    client: &kube::Client,
    path: &str,
    patch: &Value,
) -> Result<Value, K8sError> {
    let body = serde_json::to_vec(patch).unwrap_or_default();
    let b = request(
        client,
        "PATCH",
        path,
        Some("application/merge-patch+json"),
        body,
        true,
    )
    .await?;
    serde_json::from_slice(&b)
        .map_err(|e| K8sError::Transport(format!("invalid JSON from {path}: {e}")))
}

/// LIST with pagination (`limit=500`); returns items and the list's resourceVersion.
pub async fn list_all(
    client: &kube::Client,
    path: &str,
    query: &str,
) -> Result<(Vec<Value>, String), K8sError> {
    list_all_as(client, path, query).await
}

/// [`list_all`] with the items read as `T` (a type that reads only the
/// fields it needs parses a large list several times faster).
pub async fn list_all_as<T: serde::de::DeserializeOwned>(
    client: &kube::Client,
    path: &str,
    query: &str,
) -> Result<(Vec<T>, String), K8sError> {
    let mut items = vec![];
    let rv = list_pages(client, path, query, |page| items.extend(page)).await?;
    Ok((items, rv))
}

/// One page of a list.
#[derive(serde::Deserialize)]
struct Page<T> {
    #[serde(default = "Option::default")]
    metadata: Option<ListMeta>,
    #[serde(default = "Option::default")]
    items: Option<Vec<T>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListMeta {
    #[serde(default)]
    resource_version: Option<String>,
    #[serde(default, rename = "continue")]
    cont: Option<String>,
}

/// LIST with pagination, handing each page of items to `f` (so a large list
/// is never held whole); returns the list's resourceVersion.
pub async fn list_pages<T: serde::de::DeserializeOwned>(
    client: &kube::Client,
    path: &str,
    query: &str,
    mut f: impl FnMut(Vec<T>),
) -> Result<String, K8sError> {
    let mut cont = String::new();
    // the list's resourceVersion is the first page's: every later page
    // belongs to that snapshot (a server that reports a newer one on later
    // pages would make a watch from it skip the changes in between)
    let mut first_rv: Option<String> = None;
    loop {
        let mut q = format!(
            "limit=500{}{query}",
            if query.is_empty() { "" } else { "&" }
        );
        if !cont.is_empty() {
            q.push_str("&continue=");
            q.push_str(&urlencode(&cont));
        }
        let page = format!("{path}?{q}");
        let b = request(client, "GET", &page, None, vec![], true).await?;
        let v: Page<T> = serde_json::from_slice(&b)
            .map_err(|e| K8sError::Transport(format!("invalid list from {page}: {e}")))?;
        if let Some(items) = v.items {
            f(items);
        }
        let md = v.metadata.unwrap_or(ListMeta {
            resource_version: None,
            cont: None,
        });
        let rv = md.resource_version.unwrap_or_default();
        let rv = first_rv.get_or_insert(rv).clone();
        cont = md.cont.unwrap_or_default();
        if cont.is_empty() {
            return Ok(rv);
        }
    }
}

pub use crate::util::urlencode;
