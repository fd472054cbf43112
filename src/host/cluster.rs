//! The cluster a run talks to, found and connected once: the target
//! (kubeconfig and context), the client, the server's kinds, and the
//! environment that points child processes at the same cluster.

use super::run::Run;
use crate::exit::Failure;
use crate::k8s::client::{Cluster, Target};
use crate::k8s::discovery::Discovery;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Default)]
pub struct ClusterCache {
    target: Mutex<Option<Result<Target, String>>>,
    cluster: Mutex<Option<Cluster>>,
    /// The server's kinds, discovered once per run (refreshed after CRDs).
    discovery: Mutex<Option<Arc<Discovery>>>,
    context_overlay: OnceLock<Option<tempfile::TempPath>>,
}

impl ClusterCache {
    /// Where the kubeconfig and context are (files only, no network).
    pub fn target(&self, run: &Run) -> Result<Target, String> {
        self.target
            .lock()
            .unwrap()
            .get_or_insert_with(|| Target::resolve(&run.settings().kube))
            .clone()
    }

    /// Point the run at another cluster (after `kind_create`): later calls
    /// and child processes use this kubeconfig and context.
    pub fn switch(&self, kubeconfig: std::path::PathBuf, context: &str) {
        let source = crate::k8s::kubeconfig::KubeSource::Flag(kubeconfig);
        let namespace = crate::k8s::kubeconfig::context_namespace(&source, context);
        *self.target.lock().unwrap() = Some(Ok(Target {
            source,
            context: context.to_string(),
            namespace,
        }));
        *self.cluster.lock().unwrap() = None;
        *self.discovery.lock().unwrap() = None;
    }

    /// The client if one is connected already (no network).
    pub fn connected(&self) -> Option<Cluster> {
        self.cluster.lock().unwrap().clone()
    }

    /// The cluster client, connected on first use; what results.json tells
    /// about the cluster is filled in then.
    pub fn client(&self, run: &Run) -> Result<Cluster, Failure> {
        let target = self.target(run)?;
        let mut slot = self.cluster.lock().unwrap();
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = run
            .block_on(async {
                let c = crate::k8s::client::connect(&target).await?;
                let _t = run.trace("connect", || {
                    format!("{}, context {}", c.describe_server(), target.context)
                });
                describe(run, &c, &target).await;
                Ok::<_, String>(c)
            })
            .map_err(Failure::from)??;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// The server's kinds, if discovered since the last change.
    pub fn discovery(&self) -> Option<Arc<Discovery>> {
        self.discovery.lock().unwrap().clone()
    }

    /// Keep (or with `None`, forget) what discovery found.
    pub fn set_discovery(&self, d: Option<Arc<Discovery>>) {
        *self.discovery.lock().unwrap() = d;
    }

    /// `KUBECONFIG` and `SCAFFOLD_CONTEXT` for child processes: the same
    /// cluster and context as the script.
    pub fn env(&self, run: &Run) -> Vec<(String, String)> {
        let Ok(target) = self.target(run) else {
            return vec![];
        };
        let Some(kc) = target.source.env_value() else {
            return vec![];
        };
        let mut env = vec![("SCAFFOLD_CONTEXT".to_string(), target.context.clone())];
        // kubectl has no context variable: when --context differs from the
        // file's current-context, put a one-line overlay first in KUBECONFIG
        // (the first file that sets current-context wins; no secrets copied).
        let kube = &run.settings().kube;
        let overlay = self.context_overlay.get_or_init(|| {
            kube.context.as_ref()?;
            context_overlay(&target.context)
        });
        // after kind_create the run uses the new cluster's own kubeconfig
        let ours = kube.context.as_deref() == Some(target.context.as_str());
        let value = match overlay {
            Some(p) if ours => format!("{}:{kc}", p.display()),
            _ => kc,
        };
        env.push(("KUBECONFIG".to_string(), value));
        env
    }
}

/// A kubeconfig file that only sets current-context.
fn context_overlay(context: &str) -> Option<tempfile::TempPath> {
    let f = tempfile::Builder::new()
        .prefix("scaffold-context-")
        .suffix(".yaml")
        .tempfile()
        .ok()?;
    std::fs::write(
        f.path(),
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {}\n",
            serde_json::Value::String(context.to_string())
        ),
    )
    .ok()?;
    Some(f.into_temp_path())
}

/// What results.json tells about the cluster: best effort, one quick try,
/// so an unreachable server is reported by the call itself.
async fn describe(run: &Run, c: &Cluster, target: &Target) {
    let quick = std::time::Duration::from_secs(2);
    let version = crate::k8s::facts::server_version_once(&c.client, quick).await;
    let nodes = match version {
        Some(_) => tokio::time::timeout(quick, crate::k8s::facts::nodes(&c.client))
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_default(),
        None => vec![],
    };
    let mut r = run.results();
    r.environment.kube_context = Some(target.context.clone());
    r.environment.server_url = Some(c.server_url.clone());
    r.environment.server_version = version;
    r.environment.nodes = nodes
        .into_iter()
        .map(|n| crate::results::NodeInfo {
            name: n.name,
            os_image: n.os_image,
            kernel: n.kernel,
            container_runtime: n.container_runtime,
            kubelet: n.kubelet,
        })
        .collect();
}
