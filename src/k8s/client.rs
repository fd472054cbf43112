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
    /// `http://proxy:3128 (from HTTPS_PROXY)` when requests go through a proxy
    pub proxy: Option<String>,
}

impl Cluster {
    /// The server URL, and the proxy when there is one (for messages).
    pub fn describe_server(&self) -> String {
        match &self.proxy {
            Some(p) => format!("{} through proxy {p}", self.server_url),
            None => self.server_url.clone(),
        }
    }
}

/// Build the client. kube's own retry layer is turned off: ours is the only one
/// (docs/ARCHITECTURE.md "Retries and timeouts").
pub async fn connect(target: &Target) -> Result<Cluster, String> {
    let (mut config, kubeconfig_proxy) = match &target.source {
        KubeSource::InCluster => (
            kube::Config::incluster().map_err(|e| format!("cannot load in-cluster config: {e}"))?,
            None,
        ),
        src => {
            let kc = kubeconfig::load(src)?;
            let proxy = cluster_proxy_url(&kc, &target.context);
            let opts = kube::config::KubeConfigOptions {
                context: Some(target.context.clone()),
                cluster: None,
                user: None,
            };
            let config = kube::Config::from_custom_kubeconfig(kc, &opts)
                .await
                .map_err(|e| {
                    format!(
                        "cannot use context '{}' of kubeconfig {}: {e}",
                        target.context,
                        src.describe()
                    )
                })?;
            (config, proxy)
        }
    };
    config.connect_timeout = Some(Duration::from_secs(5));
    config.default_retry = false;
    let server_url = config.cluster_url.to_string();
    let env = |n: &str| std::env::var(n).ok();
    let proxy = crate::net::proxy::choose(kubeconfig_proxy.as_deref(), &config.cluster_url, &env)
        .map_err(|e| format!("cannot reach {server_url}: {e}"))?;
    config.proxy_url = proxy.as_ref().map(|p| p.url.clone());
    let client =
        build_client(config).map_err(|e| format!("cannot create client for {server_url}: {e}"))?;
    Ok(Cluster {
        client,
        target: target.clone(),
        server_url,
        proxy: proxy.map(|p| p.describe()),
    })
}

/// `proxy-url` of the cluster the context points at.
fn cluster_proxy_url(kc: &kube::config::Kubeconfig, context: &str) -> Option<String> {
    let cluster = kc
        .contexts
        .iter()
        .find(|c| c.name == context)?
        .context
        .as_ref()?
        .cluster
        .clone();
    kc.clusters
        .iter()
        .find(|c| c.name == cluster)?
        .cluster
        .as_ref()?
        .proxy_url
        .clone()
}

/// kube's own client stack with one change: TCP_NODELAY on its connections,
/// as Go clients (kubectl) have by default. Without it a small exec or
/// port-forward write can wait for a delayed ACK (~40 ms on Linux), which
/// made about one node-session command in thirty take 44 ms instead of 0.5.
/// `config.proxy_url` (chosen by [`crate::net::proxy::choose`]) is honoured:
/// http and https proxies through CONNECT, socks5 with the proxy resolving
/// names (as kubectl's socks5 does); credentials in the URL are sent as
/// proxy authentication.
pub fn build_client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    use hyper_util::client::legacy::connect::proxy::SocksV5;
    use kube::client::ConfigExt;
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    // watches have no read timeout: keepalive notices a peer that vanished
    http.set_keepalive(Some(Duration::from_secs(30)));
    let Some(url) = config.proxy_url.clone() else {
        return finish(http, config);
    };
    let unsupported = || kube::Error::ProxyProtocolUnsupported {
        proxy_url: url.clone(),
    };
    let icpt = crate::net::proxy::intercept(&url).ok_or_else(unsupported)?;
    match url.scheme_str() {
        Some("http") => finish(tunnel(&icpt, http), config),
        Some("https") => {
            let tls = config.rustls_https_connector_with_connector(http)?;
            finish(tunnel(&icpt, tls), config)
        }
        Some("socks5" | "socks5h") => {
            let mut s = SocksV5::new(icpt.uri().clone(), http).local_dns(false);
            if let Some((user, pass)) = icpt.raw_auth() {
                s = s.with_auth(user.to_string(), pass.to_string());
            }
            finish(s, config)
        }
        _ => Err(unsupported()),
    }
}

/// A CONNECT tunnel through the proxy, with its Basic credentials if any.
fn tunnel<C>(
    icpt: &hyper_util::client::proxy::matcher::Intercept,
    connector: C,
) -> hyper_util::client::legacy::connect::proxy::Tunnel<C> {
    let t = hyper_util::client::legacy::connect::proxy::Tunnel::new(icpt.uri().clone(), connector);
    match icpt.basic_auth() {
        Some(auth) => t.with_auth(auth.clone()),
        None => t,
    }
}

/// TLS, timeouts, base URI, auth and extra headers over a connector.
fn finish<C>(connector: C, config: kube::Config) -> Result<kube::Client, kube::Error>
where
    C: tower::Service<http::Uri> + Clone + Send + Sync + 'static,
    C::Response: hyper::rt::Read
        + hyper::rt::Write
        + hyper_util::client::legacy::connect::Connection
        + Send
        + Unpin
        + 'static,
    C::Future: Send + 'static,
    C::Error: std::error::Error + Send + Sync + 'static,
{
    use kube::client::ConfigExt;
    let https = config.rustls_https_connector_with_connector(connector)?;
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
