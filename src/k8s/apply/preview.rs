//! What an apply would change, without changing anything: every object is
//! sent as a server-side apply with `dryRun=All` (the server runs defaulting,
//! admission and validation) and the answer is compared with the live
//! object, as `kubectl diff` does. Objects the server cannot dry-run yet
//! (a custom resource whose CRD comes with the same manifest, an object in
//! a namespace the manifest creates) are shown as new.

use super::write::{cannot, check_names, placed, resolve_all, Applied, ApplyOptions};
use crate::k8s::discovery::{Discovery, Resource};
use crate::k8s::http::{self, K8sError};
use crate::k8s::manifest::Doc;
use crate::k8s::ratelimit::RateLimit;
use serde_json::Value;
use std::sync::Arc;

/// Preview every document; with `diff` each result carries its diff.
pub async fn preview(
    client: &kube::Client,
    disc: &Discovery,
    docs: &[Doc],
    source: &str,
    o: &ApplyOptions,
    diff: bool,
) -> Result<Vec<Applied>, String> {
    check_names(docs, source, o)?;
    let resolved = resolve_all(disc, docs, source)?;
    let new_namespaces: Vec<&str> = docs
        .iter()
        .filter(|d| super::write::is_namespace(d))
        .map(|d| d.name())
        .collect();
    let limit = Arc::new(RateLimit::new(o.qps, o.burst));
    let results = futures::future::join_all(resolved.iter().map(|(d, r)| {
        let limit = limit.clone();
        let new_namespaces = &new_namespaces;
        async move {
            limit.acquire().await;
            one(client, r.as_ref(), d, o, new_namespaces, diff)
                .await
                .map_err(|e| cannot(source, d, e))
        }
    }))
    .await;
    let errors: Vec<String> = results.iter().filter_map(|r| r.clone().err()).collect();
    if !errors.is_empty() {
        return Err(format!(
            "{} of {} objects failed the dry run:\n  {}",
            errors.len(),
            docs.len(),
            errors.join("\n  ")
        ));
    }
    Ok(results.into_iter().flatten().collect())
}

async fn one(
    client: &kube::Client,
    r: Option<&Resource>,
    d: &Doc,
    o: &ApplyOptions,
    new_namespaces: &[&str],
    diff: bool,
) -> Result<Applied, K8sError> {
    let Some(r) = r else {
        // its CRD is in this manifest: the server does not know the kind yet
        let ns = d.obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or(&o.namespace);
        return Ok(result(d, d.api_version(), ns, None, d.obj.clone(), diff));
    };
    let (obj, ns) = placed(r, d, &o.namespace);
    let item = r.item(&ns, d.name())?;
    let live = match http::get_json(client, &item).await {
        Ok(v) => Some(v),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
    };
    let in_new_ns = r.namespaced && live.is_none() && new_namespaces.contains(&ns.as_str());
    let merged = if in_new_ns {
        obj
    } else {
        let path = format!(
            "{item}?fieldManager={}&force={}&dryRun=All",
            http::urlencode(&o.field_manager),
            o.force
        );
        let body = serde_json::to_vec(&obj).unwrap_or_default();
        let ct = Some("application/apply-patch+yaml");
        let b = http::request(client, "PATCH", &path, ct, body, true).await?;
        serde_json::from_slice(&b)
            .map_err(|e| K8sError::Transport(format!("invalid JSON from {path}: {e}")))?
    };
    Ok(result(d, &r.api_version(), &ns, live, merged, diff))
}

fn result(
    d: &Doc,
    api_version: &str,
    ns: &str,
    live: Option<Value>,
    merged: Value,
    diff: bool,
) -> Applied {
    let before = live.map(|v| yaml(&normalized(v))).unwrap_or_default();
    let after = yaml(&normalized(merged));
    let action = if before.is_empty() {
        "would create"
    } else if before == after {
        "unchanged"
    } else {
        "would change"
    };
    let diff = diff.then(|| {
        let what = format!("{}/{}", d.kind().to_lowercase(), d.name());
        let what = if ns.is_empty() {
            what
        } else {
            format!("{ns}/{what}")
        };
        unified(&before, &after, &what)
    });
    Applied {
        api_version: api_version.to_string(),
        kind: d.kind().to_string(),
        namespace: ns.to_string(),
        name: d.name().to_string(),
        action,
        diff,
    }
}

/// Without the fields every write changes (or a dry run invents).
fn normalized(mut v: Value) -> Value {
    if let Some(m) = v["metadata"].as_object_mut() {
        for k in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
            "selfLink",
        ] {
            m.remove(k);
        }
    }
    v
}

fn yaml(v: &Value) -> String {
    crate::yaml::to_string(v).unwrap_or_else(|_| v.to_string())
}

/// `diff -u` of two texts, `live/WHAT` against `merged/WHAT` as
/// `kubectl diff` names them; empty when equal.
pub fn unified(before: &str, after: &str, what: &str) -> String {
    if before == after {
        return String::new();
    }
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{what}"), &format!("merged/{what}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_both_sides_and_is_empty_when_equal() {
        let d = unified("a: 1\nb: 2\n", "a: 1\nb: 3\n", "ns/configmap/x");
        assert!(
            d.starts_with("--- live/ns/configmap/x\n+++ merged/ns/configmap/x\n"),
            "{d}"
        );
        assert!(d.contains("-b: 2\n+b: 3\n"), "{d}");
        assert_eq!(unified("a: 1\n", "a: 1\n", "x"), "");
    }

    #[test]
    fn volatile_metadata_is_ignored() {
        let a = serde_json::json!({"metadata": {"name": "x", "uid": "1", "resourceVersion": "5", "managedFields": [1]}, "data": {"k": "v"}});
        let b = serde_json::json!({"metadata": {"name": "x", "uid": "2", "resourceVersion": "6"}, "data": {"k": "v"}});
        assert_eq!(normalized(a), normalized(b));
    }
}
