//! The one kube client of a run, built lazily from the resolved kubeconfig.

use super::kubeconfig::{self, KubeOptions, KubeSource, Lookup};
use std::time::Duration;

/// Which cluster a run talks to, known without touching the network.
#[derive(Clone, Debug)]
pub struct Target {
    pub source: KubeSource,
    pub context: String,
    pub namespace: String,
}

impl Target {
    /// Resolve kubeconfig and context (reads files only).
    pub fn resolve(opts: &KubeOptions) -> Result<Target, String> {
        let source = kubeconfig::resolve(&Lookup::from_env(opts.kubeconfig.as_deref()))?;
        let context = kubeconfig::context_name(&source, opts.context.as_deref())?;
        let namespace = if source == KubeSource::InCluster {
            std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "default".into())
        } else {
            kubeconfig::context_namespace(&source, &context)
        };
        Ok(Target {
            source,
            context,
            namespace,
        })
    }
}

/// A connected client and what it points at.
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    pub target: Target,
    pub server_url: String,
}

/// Build the client. kube's own retry layer is turned off: ours is the only one
/// (docs/ARCHITECTURE.md "Retries and timeouts").
pub async fn connect(target: &Target) -> Result<Cluster, String> {
    let mut config = match &target.source {
        KubeSource::InCluster => {
            kube::Config::incluster().map_err(|e| format!("cannot load in-cluster config: {e}"))?
        }
        src => {
            let kc = kubeconfig::load(src)?;
            let opts = kube::config::KubeConfigOptions {
                context: Some(target.context.clone()),
                cluster: None,
                user: None,
            };
            kube::Config::from_custom_kubeconfig(kc, &opts)
                .await
                .map_err(|e| {
                    format!(
                        "cannot use context '{}' of kubeconfig {}: {e}",
                        target.context,
                        src.describe()
                    )
                })?
        }
    };
    config.connect_timeout = Some(Duration::from_secs(5));
    config.default_retry = false;
    let server_url = config.cluster_url.to_string();
    let client = kube::Client::try_from(config)
        .map_err(|e| format!("cannot create client for {server_url}: {e}"))?;
    Ok(Cluster {
        client,
        target: target.clone(),
        server_url,
    })
}
