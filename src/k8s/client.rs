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
    let client =
        build_client(config).map_err(|e| format!("cannot create client for {server_url}: {e}"))?;
    Ok(Cluster {
        client,
        target: target.clone(),
        server_url,
    })
}

/// kube's own client stack with one change: TCP_NODELAY on its connections,
/// as Go clients (kubectl) have by default. Without it a small exec or
/// port-forward write can wait for a delayed ACK (~40 ms on Linux), which
/// made about one node-session command in thirty take 44 ms instead of 0.5.
/// With a proxy configured, kube's own builder (and its proxy support) is used.
pub fn build_client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    use kube::client::ConfigExt;
    if config.proxy_url.is_some() {
        return kube::Client::try_from(config);
    }
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let https = config.rustls_https_connector_with_connector(http)?;
    let mut connector = hyper_timeout::TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    let http_client: hyper_util::client::legacy::Client<_, kube::client::Body> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        .service(http_client);
    Ok(kube::Client::new(service, config.default_namespace))
}
