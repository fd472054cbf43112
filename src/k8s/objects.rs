//! Objects by kind and name: get, list with selectors, delete with a
//! propagation policy (Background by default, as kubectl: the API's own
//! default orphans a Job's pods), wait until gone.

use super::discovery::Resource;
use super::http::{self, K8sError};
use serde_json::Value;
use std::time::Duration;

/// What happens to the objects a deleted object owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Propagation {
    /// dependents deleted by the garbage collector after the owner (kubectl's default)
    #[default]
    Background,
    /// the owner stays until its dependents are gone
    Foreground,
    /// dependents are left behind
    Orphan,
}

impl Propagation {
    pub fn parse(s: &str) -> Result<Propagation, String> {
        match s.to_ascii_lowercase().as_str() {
            "background" => Ok(Propagation::Background),
            "foreground" => Ok(Propagation::Foreground),
            "orphan" => Ok(Propagation::Orphan),
            _ => Err(format!(
                "propagation must be \"background\", \"foreground\" or \"orphan\", got \"{s}\""
            )),
        }
    }

    fn api(self) -> &'static str {
        match self {
            Propagation::Background => "Background",
            Propagation::Foreground => "Foreground",
            Propagation::Orphan => "Orphan",
        }
    }
}

/// One object, `None` when it does not exist.
pub async fn get(
    client: &kube::Client,
    r: &Resource,
    ns: &str,
    name: &str,
) -> Result<Option<Value>, K8sError> {
    match http::get_json(client, &r.item(ns, name)?).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// `labelSelector=...&fieldSelector=...` (either may be empty).
pub fn selector_query(labels: &str, fields: &str) -> String {
    let mut q = vec![];
    if !labels.is_empty() {
        q.push(format!("labelSelector={}", http::urlencode(labels)));
    }
    if !fields.is_empty() {
        q.push(format!("fieldSelector={}", http::urlencode(fields)));
    }
    q.join("&")
}

/// Objects of a kind (`ns` None: all namespaces), paginated.
pub async fn list(
    client: &kube::Client,
    r: &Resource,
    ns: Option<&str>,
    query: &str,
) -> Result<Vec<Value>, K8sError> {
    Ok(http::list_all(client, &r.collection(ns), query).await?.0)
}

/// Delete one object; `false` when it did not exist.
pub async fn delete(
    client: &kube::Client,
    r: &Resource,
    ns: &str,
    name: &str,
    p: Propagation,
) -> Result<bool, K8sError> {
    delete_path(client, &r.item(ns, name)?, p).await
}

/// DELETE an item path with a propagation policy; `false` when it was not there.
pub async fn delete_path(
    client: &kube::Client,
    item: &str,
    p: Propagation,
) -> Result<bool, K8sError> {
    let path = format!("{item}?propagationPolicy={}", p.api());
    match http::request(client, "DELETE", &path, None, vec![], true).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Delete and wait until the object is gone (finalizers done).
pub async fn delete_and_wait(
    client: &kube::Client,
    item: &str,
    p: Propagation,
    timeout: Duration,
) -> Result<bool, K8sError> {
    if !delete_path(client, item, p).await? {
        return Ok(false);
    }
    super::watch::wait_gone(client, item, timeout).await?;
    Ok(true)
}
