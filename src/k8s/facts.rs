//! Cluster facts (SPEC.md "Cluster facts"): `/readyz`, the API server's
//! address, nodes and their addresses, node labels, the cluster CIDR.

use super::http::{self, K8sError};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// `/readyz?verbose`, parsed.
#[derive(Clone, Debug, Serialize)]
pub struct Readyz {
    pub ok: bool,
    pub checks: Vec<(String, bool)>,
    pub text: String,
}

impl Readyz {
    pub fn failing(&self) -> Vec<String> {
        let f: Vec<String> = self
            .checks
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(n, _)| n.clone())
            .collect();
        if f.is_empty() && !self.ok {
            vec![self.text.lines().last().unwrap_or("not ready").to_string()]
        } else {
            f
        }
    }
}

/// Parse the verbose readyz text: `[+]etcd ok`, `[-]etcd failed: reason withheld`.
pub fn parse_readyz(code: u16, text: &str) -> Readyz {
    let checks = text
        .lines()
        .filter_map(|l| {
            let (ok, rest) = if let Some(r) = l.strip_prefix("[+]") {
                (true, r)
            } else {
                (false, l.strip_prefix("[-]")?)
            };
            Some((rest.split_whitespace().next().unwrap_or("").to_string(), ok))
        })
        .collect();
    Readyz {
        ok: code == 200,
        checks,
        text: text.to_string(),
    }
}

/// GET `/readyz?verbose` with the kubeconfig's credentials and CA (no retries:
/// a failing check is an answer).
pub async fn readyz(client: &kube::Client) -> Result<Readyz, K8sError> {
    let (code, _, body) = http::send_once(client, "GET", "/readyz?verbose", None, vec![]).await?;
    if code == 401 || code == 403 {
        return Err(K8sError::Api {
            code,
            reason: "Unauthorized".into(),
            message: String::from_utf8_lossy(&body).trim().to_string(),
        });
    }
    Ok(parse_readyz(code, &String::from_utf8_lossy(&body)))
}

/// `ip:port`, with IPv6 addresses in brackets.
pub fn host_port(ip: &str, port: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// The pod whose name starts with `kube-apiserver` in kube-system:
/// `status.hostIP` + the first container's readinessProbe httpGet port.
pub async fn apiserver_url(client: &kube::Client) -> Result<String, K8sError> {
    let (pods, _) = http::list_all(client, "/api/v1/namespaces/kube-system/pods", "").await?;
    let pod = pods
        .iter()
        .find(|p| p["metadata"]["name"].as_str().is_some_and(|n| n.starts_with("kube-apiserver")))
        .ok_or_else(|| K8sError::Api {
            code: 404,
            reason: "NotFound".into(),
            message: "no pod named kube-apiserver* in kube-system (managed control planes do not show one; use the kubeconfig's server instead)".into(),
        })?;
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    let ip = pod["status"]["hostIP"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| K8sError::Api {
            code: 404,
            reason: "NotFound".into(),
            message: format!("pod kube-system/{name} has no status.hostIP yet"),
        })?;
    let port = &pod["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"];
    let port = match port {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => {
            return Err(K8sError::Api {
                code: 404,
                reason: "NotFound".into(),
                message: format!(
                "pod kube-system/{name} has no readinessProbe.httpGet.port on its first container"
            ),
            })
        }
    };
    Ok(host_port(ip, &port))
}

/// What `nodes()` tells about a node.
#[derive(Clone, Debug, Serialize)]
pub struct NodeFact {
    pub name: String,
    pub internal_ip: String,
    pub labels: Map<String, Value>,
    pub roles: Vec<String>,
    pub ready: bool,
    pub os_image: String,
    pub kernel: String,
    pub container_runtime: String,
    pub kubelet: String,
}

pub fn node_fact(n: &Value) -> NodeFact {
    let labels = n["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let roles = labels
        .keys()
        .filter_map(|k| {
            k.strip_prefix("node-role.kubernetes.io/")
                .map(str::to_string)
        })
        .collect();
    let info = &n["status"]["nodeInfo"];
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    NodeFact {
        name: s(&n["metadata"]["name"]),
        internal_ip: internal_ip(n).unwrap_or_default(),
        labels,
        roles,
        ready: n["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        }),
        os_image: s(&info["osImage"]),
        kernel: s(&info["kernelVersion"]),
        container_runtime: s(&info["containerRuntimeVersion"]),
        kubelet: s(&info["kubeletVersion"]),
    }
}

fn internal_ip(n: &Value) -> Option<String> {
    n["status"]["addresses"]
        .as_array()?
        .iter()
        .find(|a| a["type"] == "InternalIP")
        .and_then(|a| a["address"].as_str().map(str::to_string))
}

pub async fn nodes(client: &kube::Client) -> Result<Vec<NodeFact>, K8sError> {
    let (items, _) = http::list_all(client, "/api/v1/nodes", "").await?;
    Ok(items.iter().map(node_fact).collect())
}

pub async fn node_internal_ip(client: &kube::Client, name: &str) -> Result<String, K8sError> {
    let n = http::get_json(client, &format!("/api/v1/nodes/{}", http::urlencode(name))).await?;
    internal_ip(&n).ok_or_else(|| K8sError::Api {
        code: 404,
        reason: "NotFound".into(),
        message: format!("node {name} has no InternalIP address"),
    })
}

/// Set labels (`None` removes one) on one node.
pub async fn label_node(
    client: &kube::Client,
    name: &str,
    labels: &Map<String, Value>,
) -> Result<(), K8sError> {
    let patch = json!({"metadata": {"labels": labels}});
    http::merge_patch(
        client,
        &format!("/api/v1/nodes/{}", http::urlencode(name)),
        &patch,
    )
    .await
    .map(|_| ())
}

/// Label every node matching a label selector (`""` or `"all"`: every node).
/// Returns the names of the labelled nodes.
pub async fn label_nodes(
    client: &kube::Client,
    selector: &str,
    labels: &Map<String, Value>,
) -> Result<Vec<String>, K8sError> {
    let q = if selector.is_empty() || selector == "all" {
        String::new()
    } else {
        format!("labelSelector={}", http::urlencode(selector))
    };
    let (items, _) = http::list_all(client, "/api/v1/nodes", &q).await?;
    let names: Vec<String> = items
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    let results =
        futures::future::join_all(names.iter().map(|n| label_node(client, n, labels))).await;
    for r in results {
        r?;
    }
    Ok(names)
}

/// The controller-manager's `--cluster-cidr`, else the nodes' podCIDRs.
pub async fn cluster_cidr(client: &kube::Client) -> Result<String, K8sError> {
    let (pods, _) = http::list_all(client, "/api/v1/namespaces/kube-system/pods", "").await?;
    for p in pods.iter().filter(|p| {
        p["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("kube-controller-manager"))
    }) {
        for c in p["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            for field in ["command", "args"] {
                for a in c[field].as_array().cloned().unwrap_or_default() {
                    if let Some(v) = a.as_str().and_then(|s| s.strip_prefix("--cluster-cidr=")) {
                        return Ok(v.to_string());
                    }
                }
            }
        }
    }
    let (nodes, _) = http::list_all(client, "/api/v1/nodes", "").await?;
    let mut cidrs: Vec<String> = vec![];
    for n in &nodes {
        let list = n["spec"]["podCIDRs"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![n["spec"]["podCIDR"].clone()]);
        for c in list.iter().filter_map(|c| c.as_str()) {
            if !cidrs.iter().any(|x| x == c) {
                cidrs.push(c.to_string());
            }
        }
    }
    if cidrs.is_empty() {
        return Err(K8sError::Api {
            code: 404,
            reason: "NotFound".into(),
            message: "no cluster CIDR: kube-controller-manager has no --cluster-cidr and no node has spec.podCIDRs (the CNI may manage pod addresses itself; pass the CIDR as a parameter)".into(),
        });
    }
    Ok(cidrs.join(","))
}

/// Server version, one try within `limit` (`None` when there is no answer).
pub async fn server_version_once(
    client: &kube::Client,
    limit: std::time::Duration,
) -> Option<String> {
    let r = tokio::time::timeout(
        limit,
        http::send_once(client, "GET", "/version", None, vec![]),
    )
    .await;
    match r {
        Ok(Ok((200, _, b))) => serde_json::from_slice::<Value>(&b).ok()?["gitVersion"]
            .as_str()
            .map(str::to_string),
        _ => None,
    }
}

/// Server version (`v1.33.4`).
pub async fn server_version(client: &kube::Client) -> Result<String, K8sError> {
    let v = http::get_json(client, "/version").await?;
    Ok(v["gitVersion"].as_str().unwrap_or("").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readyz_parsing_and_ipv6() {
        let r = parse_readyz(
            500,
            "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n",
        );
        assert!(!r.ok);
        assert_eq!(
            r.checks,
            vec![("ping".to_string(), true), ("etcd".to_string(), false)]
        );
        assert_eq!(r.failing(), vec!["etcd"]);
        assert_eq!(host_port("fc00::2", "6443"), "[fc00::2]:6443");
        assert_eq!(host_port("10.0.0.1", "6443"), "10.0.0.1:6443");
    }
}
