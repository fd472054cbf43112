//! The state the server, controllers and kubelet share.

use crate::faults::Faults;
use crate::kubelet::Kubelet;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// State shared by the server, controllers and kubelet.
pub struct Shared {
    pub store: Arc<Store>,
    pub faults: Faults,
    pub kubelet: Arc<Kubelet>,
    pub token: String,
    pub tls: Arc<rustls::ServerConfig>,
    pub shutdown: CancellationToken,
    pub svc_ips: AtomicU32,
    pub loopback_ips: bool,
    pub(crate) requests: Mutex<HashMap<String, u64>>,
    pub(crate) ids: AtomicU64,
    /// request metrics for `/metrics`
    pub metrics: crate::metrics::Metrics,
    /// the cluster CA, as `kube-root-ca.crt` publishes it
    pub ca_pem: String,
    /// namespaces whose content is being deleted (by uid)
    pub(crate) terminating: Mutex<std::collections::HashSet<String>>,
}

impl Shared {
    pub fn count(&self, verb: &str, res: &str) {
        *self
            .requests
            .lock()
            .unwrap()
            .entry(format!("{verb} {res}"))
            .or_default() += 1;
    }
    pub fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::SeqCst)
    }
}
