//! Native port-forward over the API's `pods/portforward` subresource:
//! `svc/NAME` resolves to a ready pod behind the Service and maps the
//! Service port to the container port; many connections per forward; a
//! broken stream or a vanished pod makes the next connection re-resolve.

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
}

impl Target {
    /// `pod/NAME`, `svc/NAME`, `service/NAME`, or a bare pod name.
    pub fn parse(s: &str) -> Result<Target, String> {
        match s.split_once('/') {
            Some(("pod" | "pods" | "po", n)) if !n.is_empty() => Ok(Target::Pod(n.into())),
            Some(("svc" | "service" | "services", n)) if !n.is_empty() => {
                Ok(Target::Service(n.into()))
            }
            None if !s.is_empty() => Ok(Target::Pod(s.into())),
            _ => Err(format!("target '{s}' must be pod/NAME or svc/NAME")),
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

/// (pod name, pod port) for a target and its port.
pub async fn resolve(
    client: &kube::Client,
    ns: &str,
    target: &Target,
    port: u16,
) -> Result<(String, u16), K8sError> {
    match target {
        Target::Pod(p) => Ok((p.clone(), port)),
        Target::Service(s) => {
            let svc = http::get_json(
                client,
                &format!(
                    "/api/v1/namespaces/{}/services/{}",
                    http::urlencode(ns),
                    http::urlencode(s)
                ),
            )
            .await?;
            let ports = svc["spec"]["ports"].as_array().cloned().unwrap_or_default();
            let sp = ports
                .iter()
                .find(|p| p["port"].as_u64() == Some(port as u64))
                .ok_or_else(|| {
                    not_found(format!(
                        "service {ns}/{s} has no port {port} (ports: {})",
                        ports
                            .iter()
                            .map(|p| p["port"].to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            let selector = svc["spec"]["selector"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            if selector.is_empty() {
                return Err(not_found(format!(
                    "service {ns}/{s} has no selector, so no pod to forward to"
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
            let pod = pods.iter().find(|p| pod_ready(p)).ok_or_else(|| {
                not_found(format!(
                    "service {ns}/{s} has no ready pod ({} selected by {})",
                    pods.len(),
                    sel.join(",")
                ))
            })?;
            let pod_port = match &sp["targetPort"] {
                Value::Number(n) => n.as_u64().unwrap_or(port as u64) as u16,
                Value::String(name) => named_port(pod, name).ok_or_else(|| {
                    not_found(format!(
                        "pod {} has no container port named {name}",
                        pod["metadata"]["name"]
                    ))
                })?,
                _ => port,
            };
            Ok((
                pod["metadata"]["name"].as_str().unwrap_or("").to_string(),
                pod_port,
            ))
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

/// Listen on `addr` and forward each connection to the target.
pub async fn start(
    client: kube::Client,
    ns: String,
    target: Target,
    port: u16,
    addr: SocketAddr,
) -> Result<Forward, String> {
    // resolve once up front, so a wrong target fails at once
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
    let cached = Arc::new(Mutex::new(Some(first)));
    let s2 = stop.clone();
    let description = format!("{ns}/{target:?}:{port} on {local}");
    tokio::spawn(async move {
        loop {
            let conn = tokio::select! {
                _ = s2.cancelled() => return,
                c = listener.accept() => c,
            };
            let Ok((mut sock, _)) = conn else { continue };
            let _ = sock.set_nodelay(true);
            let (client, ns, target, cached, s3) = (
                client.clone(),
                ns.clone(),
                target.clone(),
                cached.clone(),
                s2.clone(),
            );
            tokio::spawn(async move {
                let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
                    kube::Api::namespaced(client.clone(), &ns);
                for attempt in 0..2 {
                    let known = cached.lock().unwrap().clone();
                    let (pod, pport) = match known {
                        Some(x) if attempt == 0 => x,
                        _ => match resolve(&client, &ns, &target, port).await {
                            Ok(x) => {
                                *cached.lock().unwrap() = Some(x.clone());
                                x
                            }
                            Err(e) => {
                                tracing::warn!("port-forward: {e}");
                                return;
                            }
                        },
                    };
                    let mut pf = match api.portforward(&pod, &[pport]).await {
                        Ok(pf) => pf,
                        Err(e) => {
                            tracing::debug!(
                                "port-forward to {pod}:{pport} failed: {e}; re-resolving"
                            );
                            *cached.lock().unwrap() = None;
                            continue;
                        }
                    };
                    let Some(mut up) = pf.take_stream(pport) else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut sock, &mut up) => {}
                        _ = s3.cancelled() => {}
                    }
                    drop(up);
                    let _ = pf.join().await;
                    return;
                }
            });
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
        assert!(Target::parse("deploy/x").is_err());
    }
}
