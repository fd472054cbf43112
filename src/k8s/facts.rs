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

/// An answer and where it came from (for `-v` and the caller).
#[derive(Clone, Debug, PartialEq)]
pub struct Sourced {
    pub value: String,
    pub source: &'static str,
}

fn not_found(message: String) -> K8sError {
    K8sError::Api {
        code: 404,
        reason: "NotFound".into(),
        message,
    }
}

/// The API server from its `kube-apiserver-*` pod in kube-system (the
/// original's way): `status.hostIP` + the first container's readiness
/// probe port. `Ok(None)` when there is no such pod.
async fn apiserver_from_pod(client: &kube::Client) -> Result<Option<String>, K8sError> {
    let (pods, _) = http::list_all(client, "/api/v1/namespaces/kube-system/pods", "").await?;
    let Some(pod) = pods.iter().find(|p| {
        p["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("kube-apiserver"))
    }) else {
        return Ok(None);
    };
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    let ip = pod["status"]["hostIP"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| not_found(format!("pod kube-system/{name} has no status.hostIP yet")))?;
    let port = match &pod["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => {
            return Err(not_found(format!(
                "pod kube-system/{name} has no readinessProbe.httpGet.port on its first container"
            )))
        }
    };
    Ok(Some(host_port(ip, &port)))
}

/// The `kubernetes` Service's endpoints in `default` (EndpointSlice, else
/// Endpoints): where the API server really listens.
async fn apiserver_from_endpoints(client: &kube::Client) -> Result<Option<String>, K8sError> {
    let q = format!(
        "labelSelector={}",
        http::urlencode("kubernetes.io/service-name=kubernetes")
    );
    if let Ok((slices, _)) = http::list_all(
        client,
        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
        &q,
    )
    .await
    {
        for s in &slices {
            let ip = s["endpoints"][0]["addresses"][0].as_str();
            let port = s["ports"]
                .as_array()
                .and_then(|p| p.iter().find(|p| p["name"] == "https").or(p.first()))
                .and_then(|p| p["port"].as_u64());
            if let (Some(ip), Some(port)) = (ip, port) {
                return Ok(Some(host_port(ip, &port.to_string())));
            }
        }
    }
    let ep = match http::get_json(client, "/api/v1/namespaces/default/endpoints/kubernetes").await {
        Ok(e) => e,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let sub = &ep["subsets"][0];
    Ok(
        match (
            sub["addresses"][0]["ip"].as_str(),
            sub["ports"][0]["port"].as_u64(),
        ) {
            (Some(ip), Some(port)) => Some(host_port(ip, &port.to_string())),
            _ => None,
        },
    )
}

/// `ip:port` (IPv6 as `[ip]:port`) of the API server: its pod when there
/// is one (as the original did), else the `kubernetes` endpoints, else the
/// kubeconfig's server.
pub async fn apiserver_url(client: &kube::Client, server_url: &str) -> Result<Sourced, K8sError> {
    if let Some(v) = apiserver_from_pod(client).await? {
        return Ok(Sourced {
            value: v,
            source: "kube-apiserver pod",
        });
    }
    if let Some(v) = apiserver_from_endpoints(client).await? {
        return Ok(Sourced {
            value: v,
            source: "kubernetes endpoints",
        });
    }
    let uri: ::http::Uri = server_url.parse().map_err(|_| {
        not_found(format!(
            "the kubeconfig's server '{server_url}' is not a URL"
        ))
    })?;
    let host = uri
        .host()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("http") {
            80
        } else {
            443
        });
    Ok(Sourced {
        value: host_port(host, &port.to_string()),
        source: "kubeconfig server",
    })
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

/// `--cluster-cidr=` of the kube-controller-manager pod, if there is one.
async fn cidr_from_controller_manager(client: &kube::Client) -> Result<Option<String>, K8sError> {
    let (pods, _) = http::list_all(client, "/api/v1/namespaces/kube-system/pods", "").await?;
    let cm = pods.iter().filter(|p| {
        p["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("kube-controller-manager"))
    });
    for p in cm {
        for c in p["spec"]["containers"].as_array().into_iter().flatten() {
            let words = ["command", "args"]
                .into_iter()
                .flat_map(|f| c[f].as_array().cloned().unwrap_or_default());
            for a in words {
                if let Some(v) = a.as_str().and_then(|s| s.strip_prefix("--cluster-cidr=")) {
                    return Ok(Some(v.to_string()));
                }
            }
        }
    }
    Ok(None)
}

/// A value from a kube-system ConfigMap's YAML document: `podSubnet` of
/// `kubeadm-config`'s ClusterConfiguration, `clusterCIDR` of `kube-proxy`'s
/// config.conf.
async fn cidr_from_configmap(
    client: &kube::Client,
    name: &str,
    key: &str,
    field: &str,
) -> Result<Option<String>, K8sError> {
    let cm = match http::get_json(
        client,
        &format!("/api/v1/namespaces/kube-system/configmaps/{name}"),
    )
    .await
    {
        Ok(cm) => cm,
        Err(e) if matches!(e.code(), Some(403 | 404)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(text) = cm["data"][key].as_str() else {
        return Ok(None);
    };
    let doc = crate::yaml::parse_docs(text)
        .ok()
        .and_then(|d| d.into_iter().next())
        .unwrap_or(Value::Null);
    let v = doc["networking"][field]
        .as_str()
        .or(doc[field].as_str())
        .filter(|s| !s.trim().is_empty());
    Ok(v.map(str::to_string))
}

/// The nodes' `spec.podCIDRs`: each node's own range, not the cluster's.
async fn cidr_from_nodes(client: &kube::Client) -> Result<Option<String>, K8sError> {
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
    Ok((!cidrs.is_empty()).then(|| cidrs.join(",")))
}

/// The cluster's pod CIDR, where real clusters keep it, in this order:
/// the controller-manager's `--cluster-cidr`, the `kubeadm-config`
/// ConfigMap's `podSubnet`, the `kube-proxy` ConfigMap's `clusterCIDR`;
/// then the nodes' podCIDRs, with `source` saying that these are the
/// nodes' ranges, not the cluster's.
pub async fn cluster_cidr(client: &kube::Client) -> Result<Sourced, K8sError> {
    if let Some(v) = cidr_from_controller_manager(client).await? {
        return Ok(Sourced {
            value: v,
            source: "kube-controller-manager --cluster-cidr",
        });
    }
    if let Some(v) = cidr_from_configmap(
        client,
        "kubeadm-config",
        "ClusterConfiguration",
        "podSubnet",
    )
    .await?
    {
        return Ok(Sourced {
            value: v,
            source: "kubeadm-config podSubnet",
        });
    }
    if let Some(v) = cidr_from_configmap(client, "kube-proxy", "config.conf", "clusterCIDR").await?
    {
        return Ok(Sourced {
            value: v,
            source: "kube-proxy clusterCIDR",
        });
    }
    if let Some(v) = cidr_from_nodes(client).await? {
        return Ok(Sourced {
            value: v,
            source: "nodes' podCIDRs (each node's range, not the cluster's)",
        });
    }
    Err(not_found("no cluster CIDR: no kube-controller-manager --cluster-cidr, no kubeadm-config podSubnet, no kube-proxy clusterCIDR, and no node has spec.podCIDRs (the CNI may manage pod addresses itself; pass the CIDR as a parameter)".into()))
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

/// The labels of the image registry's Service (SPEC.md).
pub const REGISTRY_SELECTOR: &str =
    "app.kubernetes.io/part-of=scaffolding,app.kubernetes.io/name=registry";

/// The Services that carry the registry's labels, in any namespace:
/// (namespace, name).
pub async fn registry_services(
    client: &kube::Client,
) -> Result<Vec<(String, String)>, super::http::K8sError> {
    let q = super::objects::selector_query(REGISTRY_SELECTOR, "");
    let (svcs, _) = super::http::list_all(client, "/api/v1/services", &q).await?;
    Ok(svcs
        .iter()
        .map(|s| {
            let m = &s["metadata"];
            let field = |k: &str| m[k].as_str().unwrap_or("").to_string();
            (field("namespace"), field("name"))
        })
        .collect())
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
