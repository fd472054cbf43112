//! A simulated Service dataplane, for the loopback addresses of
//! `Options::loopback_ips` (on with `Options::service_dataplane`). It is a
//! simulation, not kube-proxy: it listens on each Service's cluster IP and
//! TCP ports and forwards a connection to one of the Service's backends
//! (ready pods of its selector with an IP, not terminating: what its
//! EndpointSlices would hold, in turn per node, as IPVS's `rr`), as each
//! node sees them: every
//! change of a Service's backends reaches a node only after that node's
//! programming delay (`FakeCluster::set_programming_delay`, else
//! `Options::programming_delay`).
//!
//! On one machine every node shares the loopback, so a connection says
//! which node it comes from with an `X-Probe-Node: NAME` header in its
//! first bytes (the service-churn probe sends one; a real dataplane needs
//! none, each node programs its own). A connection without one sees the
//! current backends. A node that has no backend for the port (or no
//! Service yet) has its connection reset, as a REJECT rule does. UDP is
//! not simulated.

use crate::store::Store;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// Backends per Service port: port → [(pod, address)].
type Backends = BTreeMap<u16, Vec<(String, SocketAddr)>>;

/// One Service's history: (when, its backends or none when it was gone).
#[derive(Default)]
struct History {
    changes: Vec<(Instant, Option<Backends>)>,
    /// round robin per node (as IPVS's `rr` on each node): a node's
    /// connections take the backends in turn
    next: HashMap<String, usize>,
}

impl History {
    /// What a node with `delay` sees now.
    fn view(&self, delay: Duration) -> Option<&Backends> {
        let now = Instant::now();
        self.changes
            .iter()
            .rev()
            .find(|(t, _)| *t + delay <= now)
            .and_then(|(_, b)| b.as_ref())
    }
}

/// The dataplane's state: delays, and per cluster IP its Service's history.
pub struct Dataplane {
    default_delay: Duration,
    delays: Mutex<HashMap<String, Duration>>,
    /// by "ns/name"
    services: Mutex<HashMap<String, Arc<Mutex<History>>>>,
    /// listeners started, by (ip, port)
    listening: Mutex<HashMap<(String, u16), ()>>,
    stop: CancellationToken,
}

impl Dataplane {
    pub fn new(default_delay: Duration, stop: CancellationToken) -> Arc<Dataplane> {
        Arc::new(Dataplane {
            default_delay,
            delays: Mutex::default(),
            services: Mutex::default(),
            listening: Mutex::default(),
            stop,
        })
    }

    pub fn set_delay(&self, node: &str, d: Duration) {
        self.delays.lock().unwrap().insert(node.to_string(), d);
    }

    fn delay(&self, node: Option<&str>) -> Duration {
        match node {
            Some(n) => *self
                .delays
                .lock()
                .unwrap()
                .get(n)
                .unwrap_or(&self.default_delay),
            None => Duration::ZERO,
        }
    }

    /// Follow the store: every Service or pod event re-reads the Services.
    pub async fn run(self: Arc<Self>, store: Arc<Store>) {
        let mut rx = store.subscribe();
        self.sync(&store);
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return,
                ev = rx.recv() => match ev {
                    Ok(ev) if ev.res == "services" || ev.res == "pods" => self.sync(&store),
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => self.sync(&store),
                    Err(_) => return,
                }
            }
        }
    }

    fn sync(self: &Arc<Self>, store: &Store) {
        let (Some(sk), Some(pk)) = (store.kind("", "Service"), store.kind("", "Pod")) else {
            return;
        };
        let services = store.list(&sk, None).0;
        let pods = store.list(&pk, None).0;
        let mut seen = vec![];
        for s in &services {
            let ip = s["spec"]["clusterIP"].as_str().unwrap_or("");
            if !ip.starts_with("127.") || !s["spec"]["selector"].is_object() {
                continue;
            }
            let key = format!(
                "{}/{}",
                s["metadata"]["namespace"].as_str().unwrap_or(""),
                s["metadata"]["name"].as_str().unwrap_or("")
            );
            seen.push(key.clone());
            let b = backends(s, &pods);
            let h = self.history(&key);
            let mut h = h.lock().unwrap();
            if h.changes.last().map(|(_, x)| x.as_ref()) != Some(Some(&b)) {
                h.changes.push((Instant::now(), Some(b)));
            }
            drop(h);
            for p in s["spec"]["ports"].as_array().into_iter().flatten() {
                if p["protocol"].as_str().unwrap_or("TCP") == "TCP" {
                    if let Some(port) = p["port"].as_u64() {
                        self.listen(ip, port as u16, &key);
                    }
                }
            }
        }
        for (key, h) in self.services.lock().unwrap().iter() {
            if !seen.contains(key) {
                let mut h = h.lock().unwrap();
                if h.changes.last().is_some_and(|(_, b)| b.is_some()) {
                    h.changes.push((Instant::now(), None));
                }
            }
        }
    }

    fn history(&self, key: &str) -> Arc<Mutex<History>> {
        self.services
            .lock()
            .unwrap()
            .entry(key.to_string())
            .or_default()
            .clone()
    }

    /// Listen on ip:port for the Service `key` (once; the listener stays
    /// when the Service goes, answering with resets, and serves it again
    /// when a Service of that name comes back with the address).
    fn listen(self: &Arc<Self>, ip: &str, port: u16, key: &str) {
        if self
            .listening
            .lock()
            .unwrap()
            .insert((ip.to_string(), port), ())
            .is_some()
        {
            return;
        }
        let (me, ip, key) = (self.clone(), ip.to_string(), key.to_string());
        tokio::spawn(async move {
            let l = match listener(&ip, port) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("fakecluster dataplane: cannot listen on {ip}:{port}: {e}");
                    return;
                }
            };
            loop {
                let conn = tokio::select! {
                    _ = me.stop.cancelled() => return,
                    c = l.accept() => c,
                };
                let Ok((sock, _)) = conn else { continue };
                let (me, key) = (me.clone(), key.clone());
                tokio::spawn(async move { me.forward(sock, &key, port).await });
            }
        });
    }

    async fn forward(&self, mut sock: tokio::net::TcpStream, key: &str, port: u16) {
        // the first bytes (an HTTP request's whole head), and the node
        // they name
        let mut first = vec![];
        let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
        let mut buf = [0u8; 4096];
        loop {
            let n = match tokio::time::timeout_at(deadline, sock.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => n,
                _ => break,
            };
            first.extend_from_slice(&buf[..n]);
            let http = [&b"GET "[..], b"HEAD ", b"POST ", b"PUT "]
                .iter()
                .any(|m| first.starts_with(m));
            if !http || first.windows(4).any(|w| w == b"\r\n\r\n") || first.len() > 16384 {
                break;
            }
        }
        let node = probe_node(&first);
        let delay = self.delay(node.as_deref());
        let target = {
            let h = self.history(key);
            let mut h = h.lock().unwrap();
            let list = h.view(delay).and_then(|b| b.get(&port)).cloned();
            list.filter(|l| !l.is_empty()).map(|l| {
                let k = h.next.entry(node.clone().unwrap_or_default()).or_default();
                *k = k.wrapping_add(1);
                l[*k % l.len()].1
            })
        };
        let Some(addr) = target else {
            return reset(sock);
        };
        let Ok(Ok(mut up)) =
            tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr))
                .await
        else {
            return reset(sock);
        };
        if up.write_all(&first).await.is_ok() {
            let _ = tokio::io::copy_bidirectional(&mut sock, &mut up).await;
        }
    }
}

/// A listener on ip:port beside servers of pods that listen on every
/// address of the port (reuse-port on both, as the tests' servers set it):
/// the more specific address takes the cluster IP's connections.
fn listener(ip: &str, port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let addr: SocketAddr = format!("{ip}:{port}")
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?;
    let s = tokio::net::TcpSocket::new_v4()?;
    s.set_reuseaddr(true)?;
    s.set_reuseport(true)?;
    s.bind(addr)?;
    s.listen(1024)
}

/// Close with a reset, as a REJECT rule answers. (A zero linger never
/// blocks on drop: the deprecation is about a positive one.)
#[allow(deprecated)]
fn reset(sock: tokio::net::TcpStream) {
    let _ = sock.set_linger(Some(Duration::ZERO));
}

/// The node an `X-Probe-Node:` header names in the first bytes.
fn probe_node(first: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(first).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("x-probe-node")
            .then(|| v.trim().to_string())
    })
}

/// A Service's backends from the pods: ready, with an IP, not being
/// deleted, matching its selector, per port (a named targetPort looked up
/// in the pod's container ports).
fn backends(svc: &Value, pods: &[Value]) -> Backends {
    let sel = svc["spec"]["selector"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let ns = &svc["metadata"]["namespace"];
    let mut out = Backends::new();
    let ready = |p: &Value| {
        p["metadata"]["deletionTimestamp"].is_null()
            && p["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
    };
    for port in svc["spec"]["ports"].as_array().into_iter().flatten() {
        let Some(sp) = port["port"].as_u64() else {
            continue;
        };
        let list = out.entry(sp as u16).or_default();
        for p in pods {
            let matches = &p["metadata"]["namespace"] == ns
                && sel.iter().all(|(k, v)| &p["metadata"]["labels"][k] == v);
            let Some(ip) = p["status"]["podIP"].as_str().filter(|s| !s.is_empty()) else {
                continue;
            };
            if !matches || !ready(p) {
                continue;
            }
            let target = match &port["targetPort"] {
                Value::Number(n) => n.as_u64(),
                Value::String(name) => p["spec"]["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|c| c["ports"].as_array().into_iter().flatten())
                    .find(|cp| &cp["name"] == name)
                    .and_then(|cp| cp["containerPort"].as_u64()),
                _ => Some(sp),
            };
            if let (Some(t), Ok(ip)) = (target, ip.parse()) {
                let name = p["metadata"]["name"].as_str().unwrap_or("").to_string();
                list.push((name, SocketAddr::new(ip, t as u16)));
            }
        }
        list.sort();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_probe_header() {
        let req = b"GET /hostname HTTP/1.0\r\nHost: x\r\nX-Probe-Node: kind-worker2\r\n\r\n";
        assert_eq!(probe_node(req).as_deref(), Some("kind-worker2"));
        assert_eq!(probe_node(b"\x00\x01binary"), None);
    }

    #[test]
    fn a_node_sees_a_change_after_its_delay() {
        let mut h = History::default();
        let t0 = Instant::now() - Duration::from_millis(500);
        let b = |p: &str| {
            let mut m = Backends::new();
            m.insert(80, vec![(p.to_string(), "127.0.0.9:8080".parse().unwrap())]);
            Some(m)
        };
        h.changes.push((t0, b("a")));
        h.changes.push((t0 + Duration::from_millis(300), b("b")));
        let who = |d: u64| {
            h.view(Duration::from_millis(d))
                .map(|m| m[&80][0].0.clone())
        };
        assert_eq!(who(0).as_deref(), Some("b"));
        assert_eq!(who(250).as_deref(), Some("a"));
        assert_eq!(who(600), None);
    }
}
