//! Native port-forward over the API's `pods/portforward` subresource, in
//! kubectl's terms: `TARGET [LOCAL:]REMOTE`, where TARGET is `pod/NAME`,
//! `svc/NAME` (a ready pod behind the Service; the Service port maps to
//! the container port) or `deploy/NAME` (a ready pod of the Deployment);
//! many connections per forward; a broken stream or a vanished pod makes
//! the next connection re-resolve.

use super::http::{self, K8sError};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// What to forward to.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Pod(String),
    Service(String),
    Deployment(String),
}

impl Target {
    /// `pod/NAME`, `svc/NAME`, `deploy/NAME` (and their long forms), or a
    /// bare pod name, as kubectl takes them.
    pub fn parse(s: &str) -> Result<Target, String> {
        let t = match s.split_once('/') {
            Some(("pod" | "pods" | "po", n)) => Target::Pod(n.into()),
            Some(("svc" | "service" | "services", n)) => Target::Service(n.into()),
            Some(("deploy" | "deployment" | "deployments", n)) => Target::Deployment(n.into()),
            None => Target::Pod(s.into()),
            Some((kind, _)) => {
                return Err(format!(
                "target '{s}': cannot forward to a {kind}; give pod/NAME, svc/NAME or deploy/NAME"
            ))
            }
        };
        let name = match &t {
            Target::Pod(n) | Target::Service(n) | Target::Deployment(n) => n,
        };
        http::check_name("target", name).map_err(|e| format!("target '{s}': {e}"))?;
        Ok(t)
    }
}

/// One `[LOCAL:]REMOTE` port pair; `local` None or 0: a free port.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ports {
    pub local: Option<u16>,
    pub remote: u16,
}

impl Ports {
    /// `8080` (local 8080 too, as kubectl), `18081:8080`, `:8080` (a free
    /// local port).
    pub fn parse(s: &str) -> Result<Ports, String> {
        let num = |p: &str, what: &str| -> Result<u16, String> {
            p.trim().parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(|| {
                format!("port '{s}': {what} '{p}' is not a port number (1-65535); use REMOTE, LOCAL:REMOTE or :REMOTE")
            })
        };
        match s.split_once(':') {
            None => {
                let r = num(s, "remote port")?;
                Ok(Ports {
                    local: Some(r),
                    remote: r,
                })
            }
            Some(("", r)) => Ok(Ports {
                local: None,
                remote: num(r, "remote port")?,
            }),
            Some((l, r)) => Ok(Ports {
                local: Some(num(l, "local port")?),
                remote: num(r, "remote port")?,
            }),
        }
    }
}

fn not_found(msg: String) -> K8sError {
    K8sError::Api {
        code: 404,
        reason: "NotFound".into(),
        message: msg,
    }
}

fn pod_ready(p: &Value) -> bool {
    p["status"]["phase"] == "Running"
        && p["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// A container port by name, in a pod.
fn named_port(pod: &Value, name: &str) -> Option<u16> {
    pod["spec"]["containers"].as_array()?.iter().find_map(|c| {
        c["ports"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["containerPort"].as_u64())
            .map(|p| p as u16)
    })
}

/// A ready pod selected by `selector` (a label map), or an error naming what was looked for.
async fn ready_pod(
    client: &kube::Client,
    ns: &str,
    selector: &serde_json::Map<String, Value>,
    what: &str,
) -> Result<Value, K8sError> {
    if selector.is_empty() {
        return Err(not_found(format!(
            "{what} has no selector, so no pod to forward to"
        )));
    }
    let sel: Vec<String> = selector
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    let (pods, _) = http::list_all(
        client,
        &format!("/api/v1/namespaces/{}/pods", http::urlencode(ns)),
        &format!("labelSelector={}", http::urlencode(&sel.join(","))),
    )
    .await?;
    pods.into_iter().find(pod_ready).ok_or_else(|| {
        not_found(format!(
            "{what} has no ready pod (selector {})",
            sel.join(",")
        ))
    })
}

fn pod_name(p: &Value) -> String {
    p["metadata"]["name"].as_str().unwrap_or("").to_string()
}

/// (pod name, pod port) for a Service and one of its ports.
async fn via_service(
    client: &kube::Client,
    ns: &str,
    s: &str,
    port: u16,
) -> Result<(String, u16), K8sError> {
    let svc = http::get_json(
        client,
        &http::item_path(
            &format!("/api/v1/namespaces/{}/services", http::urlencode(ns)),
            "service",
            s,
        )?,
    )
    .await?;
    let ports = svc["spec"]["ports"].as_array().cloned().unwrap_or_default();
    let sp = ports
        .iter()
        .find(|p| p["port"].as_u64() == Some(port as u64))
        .ok_or_else(|| {
            let have: Vec<String> = ports.iter().map(|p| p["port"].to_string()).collect();
            not_found(format!(
                "service {ns}/{s} has no port {port} (ports: {})",
                have.join(", ")
            ))
        })?;
    let selector = svc["spec"]["selector"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let pod = ready_pod(client, ns, &selector, &format!("service {ns}/{s}")).await?;
    let pod_port = match &sp["targetPort"] {
        Value::Number(n) => n.as_u64().unwrap_or(port as u64) as u16,
        Value::String(name) => named_port(&pod, name).ok_or_else(|| {
            not_found(format!(
                "pod {} has no container port named {name}",
                pod_name(&pod)
            ))
        })?,
        _ => port,
    };
    Ok((pod_name(&pod), pod_port))
}

/// (pod name, pod port) for a target and its port.
pub async fn resolve(
    client: &kube::Client,
    ns: &str,
    target: &Target,
    port: u16,
) -> Result<(String, u16), K8sError> {
    match target {
        Target::Pod(p) => Ok((p.clone(), port)),
        Target::Service(s) => via_service(client, ns, s, port).await,
        Target::Deployment(d) => {
            let coll = format!(
                "/apis/apps/v1/namespaces/{}/deployments",
                http::urlencode(ns)
            );
            let dep = http::get_json(client, &http::item_path(&coll, "deployment", d)?).await?;
            let selector = dep["spec"]["selector"]["matchLabels"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let pod = ready_pod(client, ns, &selector, &format!("deployment {ns}/{d}")).await?;
            Ok((pod_name(&pod), port))
        }
    }
}

/// A running forward.
pub struct Forward {
    pub local: SocketAddr,
    pub stop: CancellationToken,
    pub description: String,
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Where connections go: resolved once up front (a wrong target fails at
/// once), again when a connection to the cached pod fails.
#[derive(Clone)]
struct Route {
    client: kube::Client,
    ns: String,
    target: Target,
    port: u16,
    cached: Arc<Mutex<Option<(String, u16)>>>,
}

impl Route {
    async fn pod(&self, fresh: bool) -> Option<(String, u16)> {
        let known = self.cached.lock().unwrap().clone();
        match known {
            Some(x) if !fresh => Some(x),
            _ => match resolve(&self.client, &self.ns, &self.target, self.port).await {
                Ok(x) => {
                    *self.cached.lock().unwrap() = Some(x.clone());
                    Some(x)
                }
                Err(e) => {
                    tracing::warn!("port-forward: {e}");
                    None
                }
            },
        }
    }

    /// Carry one local connection to the pod: the cached pod first, a
    /// freshly resolved one if that fails.
    async fn carry(&self, sock: tokio::net::TcpStream, stop: CancellationToken) {
        for attempt in 0..2 {
            let Some((pod, pport)) = self.pod(attempt > 0).await else {
                return;
            };
            let opened = tokio::select! {
                r = tokio::time::timeout(http::READ_TIMEOUT, open(&self.client, &self.ns, &pod, pport)) => r,
                _ = stop.cancelled() => return,
            };
            let ws = match opened {
                Ok(Ok(ws)) => ws,
                Err(_) => {
                    crate::ui::warn(&format!(
                        "port-forward to pod/{pod}:{pport}: the API server did not open the stream within {} s; the connection is closed",
                        http::READ_TIMEOUT.as_secs()
                    ));
                    return;
                }
                Ok(Err(e)) => {
                    tracing::debug!("port-forward to {pod}:{pport} failed: {e}; re-resolving");
                    *self.cached.lock().unwrap() = None;
                    continue;
                }
            };
            tokio::select! {
                r = pipe(ws, sock) => match r {
                    // the pod refused (nothing listens there): say so, the
                    // client only sees its connection closed
                    Err(e) if e.starts_with("the pod's side") => {
                        crate::ui::warn(&format!("port-forward to pod/{pod}:{pport}: {e}"));
                    }
                    Err(e) => tracing::debug!("port-forward to {pod}:{pport}: {e}"),
                    Ok(()) => {}
                },
                _ = stop.cancelled() => {}
            }
            return;
        }
    }
}

pub type Ws = tokio_tungstenite::WebSocketStream<hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>>;

/// The pod's portforward subresource for one port, as a WebSocket
/// (channel protocol v4: channel 0 data, channel 1 errors).
pub async fn open(client: &kube::Client, ns: &str, pod: &str, port: u16) -> Result<Ws, K8sError> {
    let item = http::item_path(
        &format!("/api/v1/namespaces/{}/pods", http::urlencode(ns)),
        "pod",
        pod,
    )?;
    let req = ::http::Request::get(format!("{item}/portforward?ports={port}"))
        .body(vec![])
        .map_err(|e| K8sError::Invalid(e.to_string()))?;
    let conn = client
        .connect(req)
        .await
        .map_err(|e| K8sError::Transport(http::transport_message(&e)))?;
    Ok(conn.into_stream())
}

/// How much of the local connection goes into one WebSocket message.
const CHUNK: usize = 256 * 1024;

/// Carry one connection over the pod's WebSocket: what the pod sends is
/// written straight to the socket (no queue or pipe in between, which is
/// what keeps the throughput up), what the socket sends goes out in large
/// messages. The first message of each channel is the port number.
async fn pipe(ws: Ws, sock: tokio::net::TcpStream) -> Result<(), String> {
    use futures::{SinkExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::Message;
    let (mut sink, mut stream) = ws.split();
    let (mut rd, mut wr) = sock.into_split();
    let down = async {
        let mut seen = [false; 2];
        while let Some(m) = stream.next().await {
            let data = match m.map_err(|e| e.to_string())? {
                Message::Binary(b) if !b.is_empty() => b,
                Message::Close(_) => break,
                _ => continue,
            };
            let (ch, payload) = (data[0] as usize, &data[1..]);
            if ch > 1 || payload.is_empty() {
                continue;
            }
            if !std::mem::replace(&mut seen[ch], true) {
                continue; // the port number
            }
            if ch == 1 {
                return Err(format!(
                    "the pod's side: {}",
                    String::from_utf8_lossy(payload)
                ));
            }
            wr.write_all(payload).await.map_err(|e| e.to_string())?;
        }
        let _ = wr.shutdown().await;
        Ok::<_, String>(())
    };
    let up = async {
        let mut buf = vec![0u8; CHUNK + 1];
        loop {
            let n = rd.read(&mut buf[1..]).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            let mut msg = Vec::with_capacity(n + 1);
            msg.push(0u8);
            msg.extend_from_slice(&buf[1..=n]);
            sink.send(Message::binary(msg))
                .await
                .map_err(|e| e.to_string())?;
        }
        // no half-close in this protocol: the local side is done, so is the stream
        let _ = sink.send(Message::Close(None)).await;
        Ok::<_, String>(())
    };
    tokio::pin!(down, up);
    tokio::select! {
        // the pod's side ended (its error, or it closed): so does the local
        // connection (dropped on return), or a client waiting for an
        // answer would wait for its own timeout
        d = &mut down => d,
        u = &mut up => {
            let d = down.await;
            d.and(u)
        }
    }
}

const ACCEPT_BACKOFF_MIN: std::time::Duration = std::time::Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: std::time::Duration = std::time::Duration::from_secs(1);

/// What a failed accept means, and what to do about it.
fn accept_error(local: SocketAddr, e: &std::io::Error) -> String {
    let hint = match e.raw_os_error() {
        Some(libc::EMFILE) | Some(libc::ENFILE) => {
            ": scaffold has too many open files (each forwarded connection takes two); \
             use fewer concurrent connections or raise the limit (ulimit -n)"
        }
        _ => "",
    };
    format!(
        "port-forward on {local}: cannot accept connections: {e}{hint}; \
         new connections wait (retrying with back-off, said once)"
    )
}

/// Listen on `addr` and forward each connection to the target.
pub async fn start(
    client: kube::Client,
    ns: String,
    target: Target,
    port: u16,
    addr: SocketAddr,
) -> Result<Forward, String> {
    let first = resolve(&client, &ns, &target, port)
        .await
        .map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            format!(
                "local port {} is already in use; pick another with local_port",
                addr.port()
            )
        } else {
            format!("cannot listen on {addr}: {e}")
        }
    })?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let stop = CancellationToken::new();
    let description = format!("{ns}/{target:?}:{port} on {local}");
    let route = Route {
        client,
        ns,
        target,
        port,
        cached: Arc::new(Mutex::new(Some(first))),
    };
    let s2 = stop.clone();
    tokio::spawn(async move {
        let mut backoff = ACCEPT_BACKOFF_MIN;
        let mut warned = false;
        loop {
            let conn = tokio::select! {
                _ = s2.cancelled() => return,
                c = listener.accept() => c,
            };
            let sock = match conn {
                Ok((sock, _)) => {
                    backoff = ACCEPT_BACKOFF_MIN;
                    sock
                }
                // out of file descriptors (a `wrk -c 1000` through the
                // forward) or another accept error: it would fail again at
                // once, so wait, more each time, and say so once
                Err(e) => {
                    if !std::mem::replace(&mut warned, true) {
                        crate::ui::warn(&accept_error(local, &e));
                    }
                    tokio::select! {
                        _ = s2.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                    continue;
                }
            };
            let _ = sock.set_nodelay(true);
            let (route, s3) = (route.clone(), s2.clone());
            tokio::spawn(async move { route.carry(sock, s3).await });
        }
    });
    Ok(Forward {
        local,
        stop,
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            Target::parse("svc/grafana").unwrap(),
            Target::Service("grafana".into())
        );
        assert_eq!(Target::parse("pod/x").unwrap(), Target::Pod("x".into()));
        assert_eq!(Target::parse("x").unwrap(), Target::Pod("x".into()));
        assert_eq!(
            Target::parse("deploy/x").unwrap(),
            Target::Deployment("x".into())
        );
        assert!(Target::parse("job/x")
            .unwrap_err()
            .contains("pod/NAME, svc/NAME or deploy/NAME"));
        assert!(Target::parse("pod/").unwrap_err().contains("empty"));
        assert_eq!(
            Ports::parse("8080").unwrap(),
            Ports {
                local: Some(8080),
                remote: 8080
            }
        );
        assert_eq!(
            Ports::parse("18081:8080").unwrap(),
            Ports {
                local: Some(18081),
                remote: 8080
            }
        );
        assert_eq!(
            Ports::parse(":8080").unwrap(),
            Ports {
                local: None,
                remote: 8080
            }
        );
        assert!(Ports::parse("http")
            .unwrap_err()
            .contains("not a port number"));
        assert!(Ports::parse("0").is_err() && Ports::parse("70000").is_err());
    }
}
