//! fakecluster: an in-process fake Kubernetes API server for scaffold's
//! tests, benchmark harness and offline scenario development.
//!
//! It speaks the real wire protocol (HTTPS with a self-signed CA, bearer
//! token or client certificate, discovery, JSON, chunked watches,
//! WebSocket exec/attach/port-forward), stores any kind generically, and
//! runs a small kubelet: containers of runnable images (`alpine*`,
//! `busybox*`) are real local processes, everything else is simulated.
//!
//! ```no_run
//! let fc = fakecluster::FakeCluster::start(fakecluster::Options { nodes: 3, ..Default::default() });
//! println!("KUBECONFIG={}", fc.kubeconfig().display());
//! ```

pub mod admission;
pub mod clock;
pub mod controllers;
pub mod dataplane;
pub mod discovery;
pub mod errors;
pub mod events;
pub mod faults;
pub mod fields;
pub mod gojson;
pub mod http;
pub mod kinds;
pub mod kubelet;
pub mod metrics;
pub mod patch;
pub mod protobuf;
pub mod proxy;
pub mod rest;
pub mod select;
pub mod server;
pub mod shared;
pub mod store;
pub mod streams;
pub mod table;
pub mod tls;
pub mod validate;

use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

pub use faults::Faults;

/// How the helpers below write: as kubectl would, under one field manager.
const SEED: store::Track = store::Track::By("fakecluster");
pub use kubelet::MANUAL;
pub use shared::Shared;
pub use store::{ApiError, Store};

/// How the kubeconfig authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Auth {
    #[default]
    Token,
    ClientCert,
}

#[derive(Clone, Debug)]
pub struct Options {
    /// Ready nodes named like a kind cluster's (`kind-control-plane`,
    /// `kind-worker`, `kind-worker2`, ...); 0 for none.
    pub nodes: usize,
    /// Name prefix of the nodes and the kubeconfig context (`kind`).
    pub cluster_name: String,
    pub auth: Auth,
    /// Image name prefixes whose containers run as local processes.
    pub runnable: Vec<String>,
    /// Image name parts that cannot be pulled (ErrImagePull).
    pub unpullable: Vec<String>,
    /// Also create kube-system control-plane pods (apiserver, controller-manager).
    pub control_plane_pods: bool,
    /// Use IPv6 node addresses.
    pub ipv6: bool,
    /// Listen on this port (0: any free port).
    pub port: u16,
    /// Pod IPs in 127.0.0.0/16 and Service IPs in 127.1.0.0/16, so
    /// processes of runnable pods reach each other over loopback (a
    /// server listening on 0.0.0.0 answers on every such address).
    pub loopback_ips: bool,
    /// A directory put on every container's PATH right after the nsenter
    /// shim: stands in for the tools of an image or a node (tests put stub
    /// executables there).
    pub image_bin: Option<std::path::PathBuf>,
    /// Images run as a program of this machine: (image repository without
    /// tag, program on PATH). The container runs the program with its
    /// `args` (the image's entrypoint is that program). See
    /// [`MONITORING_PROGRAMS`] for the monitoring stack's images.
    pub image_programs: Vec<(String, String)>,
    /// With `loopback_ips`: simulate a Service dataplane (see
    /// [`dataplane`]): cluster IPs answer on TCP, forwarded to ready
    /// backends as each node sees them after its programming delay.
    pub service_dataplane: bool,
    /// The programming delay of a node without one of its own
    /// ([`FakeCluster::set_programming_delay`]).
    pub programming_delay: std::time::Duration,
}

/// The monitoring tree's images and the Debian packages' programs that
/// stand in for them (`prometheus`, `prometheus-pushgateway`,
/// `prometheus-node-exporter`): with these in [`Options::image_programs`]
/// the stack runs for real on the fake.
pub const MONITORING_PROGRAMS: &[(&str, &str)] = &[
    ("quay.io/prometheus/prometheus", "prometheus"),
    ("quay.io/prometheus/pushgateway", "prometheus-pushgateway"),
    (
        "quay.io/prometheus/node-exporter",
        "prometheus-node-exporter",
    ),
    ("prom/prometheus", "prometheus"),
    ("prom/pushgateway", "prometheus-pushgateway"),
    ("prom/node-exporter", "prometheus-node-exporter"),
];

impl Options {
    /// [`MONITORING_PROGRAMS`] as `image_programs`.
    pub fn monitoring_programs() -> Vec<(String, String)> {
        MONITORING_PROGRAMS
            .iter()
            .map(|(i, p)| (i.to_string(), p.to_string()))
            .collect()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            nodes: 1,
            cluster_name: "kind".into(),
            auth: Auth::Token,
            runnable: vec!["alpine".into(), "busybox".into()],
            unpullable: vec![
                "does-not-exist".into(),
                "nonexistent".into(),
                "unpullable".into(),
                "no-such-image".into(),
            ],
            control_plane_pods: true,
            ipv6: false,
            port: 0,
            loopback_ips: false,
            image_bin: None,
            image_programs: vec![],
            service_dataplane: false,
            programming_delay: std::time::Duration::ZERO,
        }
    }
}

/// A running fake cluster. Dropping it shuts everything down and kills pod processes.
pub struct FakeCluster {
    pub shared: Arc<Shared>,
    rt: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
    listener_stop: Mutex<CancellationToken>,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    opts: Options,
    dataplane: Option<Arc<dataplane::Dataplane>>,
}

impl FakeCluster {
    /// Start on 127.0.0.1 with its own runtime; returns when it is serving.
    pub fn start(opts: Options) -> FakeCluster {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fakecluster")
            .enable_all()
            .build()
            .expect("fakecluster runtime");
        let dir = tempfile::Builder::new()
            .prefix("fakecluster-")
            .tempdir()
            .expect("temp dir");
        let pki = tls::generate();
        let store = Arc::new(Store::new());
        let kubelet = Arc::new(kubelet::Kubelet::new(
            store.clone(),
            dir.path().join("kubelet"),
            opts.runnable.clone(),
            opts.unpullable.clone(),
        ));
        kubelet.set_loopback_ips(opts.loopback_ips);
        kubelet.set_image_bin(opts.image_bin.clone());
        kubelet.set_image_programs(opts.image_programs.clone());
        let shared = Arc::new(Shared {
            store,
            faults: Faults::default(),
            kubelet,
            token: format!("fake-token-{}", std::process::id()),
            tls: tls::server_config(&pki),
            shutdown: CancellationToken::new(),
            svc_ips: AtomicU32::new(0),
            loopback_ips: opts.loopback_ips,
            requests: Mutex::new(HashMap::new()),
            ids: AtomicU64::new(1),
            metrics: Default::default(),
            ca_pem: pki.ca_pem.clone(),
            terminating: Default::default(),
        });
        let listener = rt
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", opts.port)))
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        rt.spawn(server::serve(shared.clone(), listener, stop.clone()));
        let events = shared.store.subscribe();
        rt.spawn(controllers::run(shared.clone(), events));
        let dataplane = (opts.service_dataplane && opts.loopback_ips).then(|| {
            let d = dataplane::Dataplane::new(opts.programming_delay, shared.shutdown.clone());
            rt.spawn(d.clone().run(shared.store.clone()));
            d
        });
        let kubeconfig = dir.path().join("kubeconfig");
        let fc = FakeCluster {
            shared,
            rt: Some(rt),
            addr,
            listener_stop: Mutex::new(stop),
            dir,
            kubeconfig,
            opts,
            dataplane,
        };
        fc.write_kubeconfig(&fc.kubeconfig, &pki);
        fc.seed_nodes();
        fc
    }

    fn write_kubeconfig(&self, path: &Path, pki: &tls::Pki) {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let name = &self.opts.cluster_name;
        let user = match self.opts.auth {
            Auth::Token => json!({"token": self.shared.token}),
            Auth::ClientCert => {
                json!({"client-certificate-data": b64(&pki.client_cert_pem), "client-key-data": b64(&pki.client_key_pem)})
            }
        };
        let kc = json!({
            "apiVersion": "v1", "kind": "Config", "current-context": format!("kind-{name}"),
            "clusters": [{"name": format!("kind-{name}"), "cluster": {"server": self.url(), "certificate-authority-data": b64(&pki.ca_pem)}}],
            "contexts": [{"name": format!("kind-{name}"), "context": {"cluster": format!("kind-{name}"), "user": format!("kind-{name}")}}],
            "users": [{"name": format!("kind-{name}"), "user": user}],
            "preferences": {},
        });
        std::fs::write(path, serde_json::to_string_pretty(&kc).unwrap()).expect("write kubeconfig");
    }

    /// How long `node` takes to program a Service change into its
    /// simulated dataplane (`Options::service_dataplane`).
    pub fn set_programming_delay(&self, node: &str, d: std::time::Duration) {
        if let Some(dp) = &self.dataplane {
            dp.set_delay(node, d);
        }
    }

    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Path of the kubeconfig (in a temp dir that lives as long as this handle).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A kubeconfig that names this server `https://{host}:PORT`: with a
    /// host only a proxy such as [`proxy::Proxy`] "resolves" (it tunnels to
    /// 127.0.0.1), the certificate checked for `localhost` (one of its
    /// names), and the cluster's `proxy-url` when given.
    pub fn write_kubeconfig_via(
        &self,
        path: &Path,
        host: &str,
        proxy_url: Option<&str>,
    ) -> std::io::Result<()> {
        let mut kc: Value = serde_json::from_str(&std::fs::read_to_string(&self.kubeconfig)?)?;
        let cluster = &mut kc["clusters"][0]["cluster"];
        cluster["server"] = format!("https://{host}:{}", self.addr.port()).into();
        cluster["tls-server-name"] = "localhost".into();
        if let Some(u) = proxy_url {
            cluster["proxy-url"] = u.into();
        }
        std::fs::write(path, kc.to_string())
    }

    /// Copy the kubeconfig somewhere else.
    pub fn write_kubeconfig_to(&self, path: &Path) -> std::io::Result<()> {
        std::fs::copy(&self.kubeconfig, path).map(|_| ())
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.shared.store
    }

    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().expect("runtime")
    }

    /// Requests seen, by verb and resource (`("watch", "pods")`).
    pub fn requests(&self, verb: &str, res: &str) -> u64 {
        self.shared
            .requests
            .lock()
            .unwrap()
            .get(&format!("{verb} {res}"))
            .copied()
            .unwrap_or(0)
    }

    /// Fail the next `n` pulls of images named with `image` like a
    /// throttling registry (429); the kubelet retries each a second later.
    pub fn fail_next_pulls(&self, image: &str, n: u32) {
        self.shared.kubelet.fail_next_pulls(image, n);
    }

    /// Delays of every new pod's start, so its conditions flip at known,
    /// distinct times: before Initialized, before its containers start,
    /// before Ready. Scheduling is delayed with `faults().set_schedule_delay`.
    pub fn set_phase_delays(
        &self,
        init: std::time::Duration,
        start: std::time::Duration,
        ready: std::time::Duration,
    ) {
        self.shared.kubelet.set_phase_delays(init, start, ready);
    }

    /// All request counts (`"verb resource" -> n`).
    pub fn request_counts(&self) -> HashMap<String, u64> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn reset_request_counts(&self) {
        self.shared.requests.lock().unwrap().clear();
    }

    /// `/metrics` as after an API server restart: counters from zero, a
    /// later `process_start_time_seconds`.
    pub fn restart_metrics(&self) {
        self.shared.metrics.restart();
    }

    /// Stop listening and close open connections (clients see a dead server).
    pub fn stop_listening(&self) {
        self.listener_stop.lock().unwrap().cancel();
    }

    /// Listen again on the same port.
    pub fn resume_listening(&self) {
        let rt = self.runtime();
        let listener = rt.block_on(async {
            for _ in 0..50 {
                if let Ok(l) = tokio::net::TcpListener::bind(self.addr).await {
                    return l;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("cannot listen on {} again", self.addr)
        });
        let stop = CancellationToken::new();
        *self.listener_stop.lock().unwrap() = stop.clone();
        rt.spawn(server::serve(self.shared.clone(), listener, stop));
    }

    /// Create objects from (multi-document) YAML or JSON through the store,
    /// with the same admission as the API. Returns the created objects.
    pub fn seed_yaml(&self, yaml: &str) -> Result<Vec<Value>, String> {
        let docs: Vec<Value> = serde_saphyr::from_multiple(yaml).map_err(|e| e.to_string())?;
        let mut out = vec![];
        for d in docs.into_iter().filter(|d| !d.is_null()) {
            out.push(self.seed(d)?);
        }
        Ok(out)
    }

    /// Create one object (a JSON value with apiVersion and kind).
    pub fn seed(&self, obj: Value) -> Result<Value, String> {
        let av = obj["apiVersion"].as_str().unwrap_or("v1").to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let k = self
            .store()
            .kind_of(&av, &kind)
            .ok_or_else(|| format!("unknown kind {av}/{kind}"))?;
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        if k.namespaced && self.get("v1", "Namespace", "", &ns).is_none() {
            let nk = self.store().kind("", "Namespace").unwrap();
            let _ = self
                .store()
                .create(&nk, "", json!({"metadata": {"name": ns}}), SEED);
        }
        let status = obj.get("status").cloned();
        let o = admission::admit(&self.shared, &k, &ns, obj).map_err(|e| e.message)?;
        let created = self
            .store()
            .create(&k, &ns, o, SEED)
            .map_err(|e| e.message)?;
        match status {
            Some(s) if k.status && !s.is_null() => {
                let name = created["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                self.store()
                    .modify(&k, &ns, &name, true, "fakecluster", |o| {
                        o["status"] = s.clone()
                    })
                    .map(|s| s.value.clone())
                    .map_err(|e| e.message)
            }
            _ => Ok(created),
        }
    }

    /// Read an object from the store.
    pub fn get(&self, api_version: &str, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let k = self.store().kind_of(api_version, kind)?;
        self.store().get(&k, ns, name)
    }

    /// Objects of a kind in the store (all namespaces).
    pub fn list(&self, api_version: &str, kind: &str) -> Vec<Value> {
        match self.store().kind_of(api_version, kind) {
            Some(k) => self.store().list(&k, None).0,
            None => vec![],
        }
    }

    /// Change the status of a core/v1 object (`"Pod"`, `(ns, name)`) with a
    /// closure (tests flip conditions with this).
    pub fn update_status(
        &self,
        kind: &str,
        at: (&str, &str),
        f: impl Fn(&mut Value),
    ) -> Result<Value, String> {
        self.modify("v1", kind, at, true, |o| f(&mut o["status"]))
    }

    /// Change an object (not its status) with a closure.
    pub fn update(
        &self,
        api_version: &str,
        kind: &str,
        ns: &str,
        name: &str,
        f: impl Fn(&mut Value),
    ) -> Result<Value, String> {
        self.modify(api_version, kind, (ns, name), false, f)
    }

    /// Change an object or (`status`) its status subresource.
    fn modify(
        &self,
        api_version: &str,
        kind: &str,
        (ns, name): (&str, &str),
        status: bool,
        f: impl Fn(&mut Value),
    ) -> Result<Value, String> {
        let k = self
            .store()
            .kind_of(api_version, kind)
            .ok_or("unknown kind")?;
        self.store()
            .modify(&k, ns, name, status, "fakecluster", f)
            .map(|s| s.value.clone())
            .map_err(|e| e.message)
    }

    pub fn delete(
        &self,
        api_version: &str,
        kind: &str,
        ns: &str,
        name: &str,
    ) -> Result<Value, String> {
        let k = self
            .store()
            .kind_of(api_version, kind)
            .ok_or("unknown kind")?;
        self.store().delete(&k, ns, name).map_err(|e| e.message)
    }

    /// Delete an object as a DELETE request would (finalizers, grace
    /// periods, controllers); `delete` removes it at once.
    pub fn delete_gracefully(
        &self,
        api_version: &str,
        kind: &str,
        ns: &str,
        name: &str,
    ) -> Result<(), String> {
        let k = self
            .store()
            .kind_of(api_version, kind)
            .ok_or("unknown kind")?;
        self.store()
            .delete_request(&k, ns, name, &Default::default())
            .map(|_| ())
            .map_err(|e| e.message)
    }

    /// Set a condition of a node or pod (`"Ready"`, `"False"`).
    pub fn set_condition(
        &self,
        kind: &str,
        ns: &str,
        name: &str,
        ctype: &str,
        status: &str,
    ) -> Result<Value, String> {
        let (ctype, status) = (ctype.to_string(), status.to_string());
        self.update_status(kind, (ns, name), move |s| {
            if !s["conditions"].is_array() {
                s["conditions"] = json!([]);
            }
            let conds = s["conditions"].as_array_mut().unwrap();
            match conds.iter_mut().find(|c| c["type"] == ctype.as_str()) {
                Some(c) => {
                    c["status"] = json!(status);
                    c["lastTransitionTime"] = json!(store::now());
                }
                None => conds.push(
                    json!({"type": ctype, "status": status, "lastTransitionTime": store::now()}),
                ),
            }
        })
    }

    fn node_ip(&self, i: usize) -> String {
        if self.opts.ipv6 {
            format!("fc00:f853:ccd:e793::{:x}", i + 2)
        } else {
            format!("172.18.0.{}", i + 2)
        }
    }

    /// Add a Ready node. `control_plane` nodes get the control-plane role
    /// label (and its NoSchedule taint when `tainted`).
    pub fn add_node(&self, name: &str, control_plane: bool, tainted: bool) -> Value {
        let i = self.list("v1", "Node").len();
        let ip = self.node_ip(i);
        let mut labels = json!({
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
        });
        if control_plane {
            labels["node-role.kubernetes.io/control-plane"] = json!("");
        }
        let taints = if control_plane && tainted {
            json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
        } else {
            json!([])
        };
        let now = store::now();
        let cond = |t: &str, s: &str, r: &str| json!({"type": t, "status": s, "reason": r, "message": "", "lastHeartbeatTime": now, "lastTransitionTime": now});
        let cidr = format!("10.244.{i}.0/24");
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "6.8.0".into());
        self.seed(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "spec": {"podCIDR": cidr, "podCIDRs": [cidr], "taints": taints, "providerID": format!("kind://docker/kind/{name}")},
            "status": {
                "conditions": [
                    cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                    cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                    cond("PIDPressure", "False", "KubeletHasSufficientPID"),
                    cond("Ready", "True", "KubeletReady"),
                ],
                "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                "nodeInfo": {
                    "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": kernel, "operatingSystem": "linux",
                    "architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.24",
                    "kubeletVersion": discovery::GIT_VERSION, "kubeProxyVersion": discovery::GIT_VERSION,
                },
                "capacity": {"cpu": "2", "memory": "24Gi", "pods": "110"},
                "allocatable": {"cpu": "2", "memory": "24Gi", "pods": "110"},
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            },
        }))
        .expect("seed node")
    }

    fn seed_nodes(&self) {
        let name = self.opts.cluster_name.clone();
        for i in 0..self.opts.nodes {
            let node = match i {
                0 => format!("{name}-control-plane"),
                1 => format!("{name}-worker"),
                n => format!("{name}-worker{n}"),
            };
            self.add_node(&node, i == 0, self.opts.nodes > 1);
        }
        if self.opts.nodes > 0 {
            self.seed_kubernetes_service();
        }
        if self.opts.nodes > 0 && self.opts.control_plane_pods {
            let cp = format!("{name}-control-plane");
            let ip = self.node_ip(0);
            let tol = json!([{"operator": "Exists", "effect": "NoExecute"}, {"operator": "Exists", "effect": "NoSchedule"}]);
            let _ = self.seed(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("kube-apiserver-{cp}"), "namespace": "kube-system", "labels": {"component": "kube-apiserver", "tier": "control-plane"}},
                "spec": {"nodeName": cp, "hostNetwork": true, "priorityClassName": "system-node-critical", "tolerations": tol,
                         "containers": [{"name": "kube-apiserver", "image": format!("registry.k8s.io/kube-apiserver:{}", discovery::GIT_VERSION),
                                         "command": ["kube-apiserver", format!("--advertise-address={ip}"), "--secure-port=6443", "--service-cluster-ip-range=10.96.0.0/16"],
                                         "readinessProbe": {"httpGet": {"host": ip, "path": "/readyz", "port": 6443, "scheme": "HTTPS"}}}]},
            }));
            let _ = self.seed(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("kube-controller-manager-{cp}"), "namespace": "kube-system", "labels": {"component": "kube-controller-manager", "tier": "control-plane"}},
                "spec": {"nodeName": cp, "hostNetwork": true, "tolerations": tol,
                         "containers": [{"name": "kube-controller-manager", "image": format!("registry.k8s.io/kube-controller-manager:{}", discovery::GIT_VERSION),
                                         "command": ["kube-controller-manager", "--allocate-node-cidrs=true", "--cluster-cidr=10.244.0.0/16", "--cluster-name=kind"]}]},
            }));
        }
    }

    /// The `kubernetes` Service of `default` and its endpoints, as every
    /// real cluster has them (the API server's address).
    fn seed_kubernetes_service(&self) {
        let ip = self.node_ip(0);
        let _ = self.seed(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}], "type": "ClusterIP"}}));
        let _ = self.seed(json!({"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]}));
        let _ = self.seed(json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": if ip.contains(':') { "IPv6" } else { "IPv4" },
            "endpoints": [{"addresses": [ip], "conditions": {"ready": true}}],
            "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}));
    }

    /// Seed `pods` simulated, Running and Ready pods spread over `nodes` new
    /// nodes (`node-0`...), fast (straight into the store; no processes).
    pub fn seed_ready_pods(&self, pods: usize, nodes: usize, ns: &str) {
        for n in 0..nodes {
            self.add_node(&format!("node-{n}"), false, false);
        }
        let k = self.store().kind("", "Pod").unwrap();
        let nk = self.store().kind("", "Namespace").unwrap();
        let _ = self
            .store()
            .create(&nk, "", json!({"metadata": {"name": ns}}), SEED);
        let now = store::now();
        let cond = |t: &str| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
        for i in 0..pods {
            let node = format!("node-{}", i % nodes.max(1));
            let name = format!("pod-{i}");
            let _ = self.store().create(&k, ns, json!({
                "metadata": {"name": name, "labels": {"app": "seeded"}, "annotations": {MANUAL: "true"}},
                "spec": {"nodeName": node, "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]},
                "status": {
                    "phase": "Running", "podIP": format!("10.244.{}.{}", (i / 250) % 250, i % 250 + 2),
                    "conditions": [cond("PodReadyToStartContainers"), cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")],
                    "containerStatuses": [{"name": "main", "ready": true, "started": true, "restartCount": 0, "image": "registry.k8s.io/pause:3.10", "imageID": "", "state": {"running": {"startedAt": now}}}],
                },
            }), SEED);
        }
    }

    /// Seed `n` rolled-out Deployments (no pods; statuses set, controllers
    /// keep away) in `ns`, fast.
    pub fn seed_ready_deployments(&self, n: usize, ns: &str) {
        let k = self.store().kind("apps", "Deployment").unwrap();
        let nk = self.store().kind("", "Namespace").unwrap();
        let _ = self
            .store()
            .create(&nk, "", json!({"metadata": {"name": ns}}), SEED);
        let now = store::now();
        for i in 0..n {
            let _ = self.store().create(&k, ns, json!({
                "metadata": {"name": format!("deploy-{i}"), "annotations": {MANUAL: "true"}},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"d": i.to_string()}},
                         "template": {"metadata": {"labels": {"d": i.to_string()}}, "spec": {"containers": [{"name": "c", "image": "pause"}]}}},
                "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                           "conditions": [{"type": "Available", "status": "True", "lastTransitionTime": now}, {"type": "Progressing", "status": "True", "lastTransitionTime": now}]},
            }), SEED);
        }
    }

    /// Processes currently running for pods.
    pub fn running_processes(&self) -> usize {
        self.shared.kubelet.running_processes()
    }

    /// Stop everything and kill pod processes.
    pub fn shutdown(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        self.shared.shutdown.cancel();
        self.listener_stop.lock().unwrap().cancel();
        self.shared.kubelet.stop_all();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(std::time::Duration::from_millis(500));
        }
    }
}

impl Drop for FakeCluster {
    fn drop(&mut self) {
        self.stop_inner();
    }
}
