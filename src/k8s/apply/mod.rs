//! Applying manifests, the one entry of `apply()` and `scaffold apply`
//! (`run`): writing them (write.rs: every document resolved before the
//! first request, Namespaces and CRDs first, the rest concurrently under a
//! client-side rate limit, server-side apply or create-or-replace) or
//! previewing them (preview.rs: a server-side dry run, with a diff), then
//! waiting for the applied workloads.

pub mod preview;
pub mod write;

pub use write::{apply, Applied, ApplyOptions, DEFAULT_BURST, DEFAULT_QPS};

use crate::k8s::discovery::Discovery;
use crate::k8s::manifest::Doc;
use std::sync::Arc;
use std::time::Duration;

/// What `apply()` and `scaffold apply` do with a manifest's documents.
#[derive(Clone, Debug)]
pub struct Request {
    pub options: ApplyOptions,
    /// a server-side dry run of every object: nothing changes
    pub dry_run: bool,
    /// a dry run with the unified diff of each live object
    pub diff: bool,
    /// wait this long for the applied workloads to be ready
    pub wait: Option<Duration>,
}

/// The one entry of `apply()` and `scaffold apply`: a preview (dry run or
/// diff), or apply and then, with `wait`, wait until the applied workloads
/// are ready (`progress` as `ready::wait` calls it).
pub async fn run(
    client: &kube::Client,
    disc: &mut Arc<Discovery>,
    docs: &[Doc],
    source: &str,
    req: &Request,
    progress: impl FnMut(&[crate::k8s::ready::Verdict], usize),
) -> Result<Vec<Applied>, String> {
    if req.dry_run || req.diff {
        return preview::preview(client, disc, docs, source, &req.options, req.diff).await;
    }
    let applied = apply(client, disc, docs, source, &req.options).await?;
    if let Some(timeout) = req.wait {
        if let Some(scope) = workloads(&applied) {
            crate::k8s::ready::wait(client, &scope, timeout, progress)
                .await
                .map_err(|e| format!("waiting for the applied workloads: {e}"))?;
        }
    }
    Ok(applied)
}

/// The kinds with a readiness rule that were applied, in their namespaces.
fn workloads(applied: &[Applied]) -> Option<crate::k8s::ready::Scope> {
    use crate::k8s::ready::Kind;
    let kinds: std::collections::BTreeSet<Kind> = applied
        .iter()
        .filter_map(|a| Kind::parse(&a.kind).ok())
        .filter(|k| *k != Kind::Node)
        .collect();
    if kinds.is_empty() {
        return None;
    }
    let namespaces: std::collections::BTreeSet<String> = applied
        .iter()
        .map(|a| a.namespace.clone())
        .filter(|n| !n.is_empty())
        .collect();
    Some(crate::k8s::ready::Scope {
        kinds: kinds.into_iter().collect(),
        namespaces: namespaces.into_iter().collect(),
    })
}
