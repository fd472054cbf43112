//! Cluster facts and readiness.

use crate::api::call::{block_on, client, error, k8s_error, RResult};
use crate::host::Host;
use crate::k8s::ready::{self, Kind, Report, Scope};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};

/// `#{ready, total, not_ready: [#{kind, namespace, name, reason}]}`
pub fn report_map(r: &Report) -> Map {
    let mut m = Map::new();
    m.insert("ready".into(), Dynamic::from(r.ready));
    m.insert("total".into(), Dynamic::from(r.resources.len() as i64));
    let not_ready: Array = r
        .not_ready()
        .map(|v| {
            let mut x = Map::new();
            x.insert("kind".into(), Dynamic::from(v.kind.name().to_string()));
            x.insert("namespace".into(), Dynamic::from(v.namespace.clone()));
            x.insert("name".into(), Dynamic::from(v.name.clone()));
            x.insert("reason".into(), Dynamic::from(v.reason.clone()));
            Dynamic::from_map(x)
        })
        .collect();
    m.insert("not_ready".into(), Dynamic::from_array(not_ready));
    m
}

fn scope(func: &str, o: &crate::api::opts::Opts) -> RResult<Scope> {
    let mut s = Scope::default();
    if let Some(kinds) = o.strings("kinds")? {
        s.kinds = kinds
            .iter()
            .map(|k| Kind::parse(k).map_err(|e| error(format!("{func}: {e}"))))
            .collect::<RResult<Vec<_>>>()?;
    }
    if let Some(ns) = o.strings("namespaces")? {
        s.namespaces = ns;
    }
    Ok(s)
}

/// Wait until every resource is ready; the map of `verify_ready`.
pub fn wait_ready_with(h: &Host, s: &Scope, timeout: std::time::Duration) -> RResult<Map> {
    let c = client(h, "wait_ready")?;
    let _t = h.trace("wait_ready", || {
        format!("timeout {}s", timeout.as_secs_f64())
    });
    let p = crate::ui::Progress::start("wait_ready: waiting for /readyz");
    let r = block_on(
        h,
        ready::wait(&c, s, timeout, |n, total| {
            p.set(&format!("wait_ready: {}", ready::pending_text(n, total)))
        }),
    )?;
    drop(p);
    r.map(|r| report_map(&r))
        .map_err(|e| error(format!("wait_ready: {e}")))
}

#[export_module]
pub mod cluster_api {
    use super::*;
    use crate::api::call::{failure, host};
    use crate::api::opts::Opts;
    use rhai::{EvalAltResult, NativeCallContext};

    /// Name of the kubeconfig context the script uses (`--context`, else the
    /// kubeconfig's current-context). Reads files only; no request is made.
    #[rhai_fn(return_raw)]
    pub fn current_context(ctx: NativeCallContext) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("current_context", String::new);
        h.target()
            .map(|t| t.context)
            .map_err(|e| error(format!("current_context: {e}")))
    }

    /// Check once whether nodes, pods (all namespaces), deployments,
    /// daemonsets and statefulsets are ready (SPEC.md rules). Returns
    /// `#{ready, total, not_ready: [#{kind, namespace, name, reason}]}`.
    ///
    /// ```rhai
    /// let r = verify_ready();
    /// for x in r.not_ready { warn(x.kind + " " + x.name + ": " + x.reason); }
    /// ```
    #[rhai_fn(name = "verify_ready", return_raw)]
    pub fn verify_ready(ctx: NativeCallContext) -> Result<Map, Box<EvalAltResult>> {
        verify_ready_opts(ctx, Map::new())
    }

    /// `verify_ready` with options `kinds` (e.g. `["pods", "deployments"]`)
    /// and `namespaces` (default: all).
    #[rhai_fn(name = "verify_ready", return_raw)]
    pub fn verify_ready_opts(
        ctx: NativeCallContext,
        options: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("verify_ready", options, &["kinds", "namespaces"])?;
        let s = scope("verify_ready", &o)?;
        let c = client(&h, "verify_ready")?;
        let _t = h.trace("verify_ready", String::new);
        let r = block_on(&h, ready::verify(&c, &s))?
            .map_err(|e| k8s_error(&h, "verify_ready", "cannot list resources: ", &e))?;
        Ok(report_map(&r))
    }

    /// Wait until `/readyz` passes and every resource is ready, watching
    /// (one watch per kind) instead of polling; returns the map of
    /// `verify_ready`. On timeout (default 300 s) the error names each
    /// resource still not ready and why.
    #[rhai_fn(name = "wait_ready", return_raw)]
    pub fn wait_ready(ctx: NativeCallContext) -> Result<Map, Box<EvalAltResult>> {
        wait_ready_opts(ctx, Map::new())
    }

    /// `wait_ready` with options `timeout` (seconds), `kinds`, `namespaces`.
    ///
    /// ```rhai
    /// wait_ready(#{timeout: 600, namespaces: ["monitoring", "kube-system"]});
    /// ```
    #[rhai_fn(name = "wait_ready", return_raw)]
    pub fn wait_ready_opts(
        ctx: NativeCallContext,
        options: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("wait_ready", options, &["timeout", "kinds", "namespaces"])?;
        let s = scope("wait_ready", &o)?;
        let timeout = o
            .duration("timeout")?
            .unwrap_or(std::time::Duration::from_secs(300));
        wait_ready_with(&h, &s, timeout)
    }

    /// `/readyz?verbose` of the API server, with the kubeconfig's
    /// credentials and CA: `#{ok, checks: [#{name, ok}]}`.
    #[rhai_fn(return_raw)]
    pub fn apiserver_readyz(ctx: NativeCallContext) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let c = client(&h, "apiserver_readyz")?;
        let _t = h.trace("apiserver_readyz", String::new);
        let r = block_on(&h, crate::k8s::facts::readyz(&c))?
            .map_err(|e| k8s_error(&h, "apiserver_readyz", "", &e))?;
        let mut m = Map::new();
        m.insert("ok".into(), Dynamic::from(r.ok));
        let checks: Array = r
            .checks
            .iter()
            .map(|(n, ok)| {
                let mut x = Map::new();
                x.insert("name".into(), Dynamic::from(n.clone()));
                x.insert("ok".into(), Dynamic::from(*ok));
                Dynamic::from_map(x)
            })
            .collect();
        m.insert("checks".into(), Dynamic::from_array(checks));
        Ok(m)
    }

    /// `ip:port` of the API server (IPv6 as `[ip]:port`): from its
    /// `kube-apiserver-*` pod in kube-system (host IP and readiness-probe
    /// port) when there is one, else the `kubernetes` EndpointSlice /
    /// Endpoints of `default`, else the kubeconfig's server; `-v` says
    /// which was used.
    #[rhai_fn(return_raw)]
    pub fn apiserver_url(ctx: NativeCallContext) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let c = h.cluster().map_err(|e| failure("apiserver_url", e))?;
        let mut t = h.trace("apiserver_url", String::new);
        let r = block_on(
            &h,
            crate::k8s::facts::apiserver_url(&c.client, &c.server_url),
        )?
        .map_err(|e| k8s_error(&h, "apiserver_url", "", &e))?;
        t.note(format!("{} (from the {})", r.value, r.source));
        Ok(r.value)
    }

    /// Every node: `#{name, internal_ip, labels, roles, ready}`.
    #[rhai_fn(return_raw)]
    pub fn nodes(ctx: NativeCallContext) -> Result<Array, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let c = client(&h, "nodes")?;
        let _t = h.trace("nodes", String::new);
        let ns = block_on(&h, crate::k8s::facts::nodes(&c))?
            .map_err(|e| k8s_error(&h, "nodes", "cannot list nodes: ", &e))?;
        Ok(ns
            .iter()
            .map(|n| {
                let mut m = Map::new();
                m.insert("name".into(), Dynamic::from(n.name.clone()));
                m.insert("internal_ip".into(), Dynamic::from(n.internal_ip.clone()));
                m.insert(
                    "labels".into(),
                    crate::api::call::from_json(&serde_json::Value::Object(n.labels.clone())),
                );
                m.insert(
                    "roles".into(),
                    Dynamic::from_array(n.roles.iter().map(|r| Dynamic::from(r.clone())).collect()),
                );
                m.insert("ready".into(), Dynamic::from(n.ready));
                Dynamic::from_map(m)
            })
            .collect())
    }

    /// The node's `InternalIP` address.
    #[rhai_fn(return_raw)]
    pub fn node_internal_ip(
        ctx: NativeCallContext,
        name: &str,
    ) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let c = client(&h, "node_internal_ip")?;
        let _t = h.trace("node_internal_ip", || name.to_string());
        block_on(&h, crate::k8s::facts::node_internal_ip(&c, name))?.map_err(|e| {
            k8s_error(
                &h,
                "node_internal_ip",
                &format!("cannot get node '{name}': "),
                &e,
            )
        })
    }

    /// Set labels on a node; a `()` value removes that label.
    ///
    /// ```rhai
    /// label_node("minikube-m03", #{"role.scaffolding/lb": "true", "old": ()});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn label_node(
        ctx: NativeCallContext,
        name: &str,
        labels: Map,
    ) -> Result<(), Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let c = client(&h, "label_node")?;
        let l = label_values("label_node", labels)?;
        let _t = h.trace("label_node", || format!("{name}, {l:?}"));
        block_on(&h, crate::k8s::facts::label_node(&c, name, &l))?.map_err(|e| {
            k8s_error(
                &h,
                "label_node",
                &format!("cannot label node '{name}': "),
                &e,
            )
        })
    }

    /// Label every node matching a label selector (`"all"` or `""`: every
    /// node); returns the names labelled.
    ///
    /// ```rhai
    /// label_nodes("all", #{"role.scaffolding/monitored": "true"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn label_nodes(
        ctx: NativeCallContext,
        selector: &str,
        labels: Map,
    ) -> Result<Array, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let c = client(&h, "label_nodes")?;
        let l = label_values("label_nodes", labels)?;
        let _t = h.trace("label_nodes", || format!("{selector:?}, {l:?}"));
        let names =
            block_on(&h, crate::k8s::facts::label_nodes(&c, selector, &l))?.map_err(|e| {
                k8s_error(
                    &h,
                    "label_nodes",
                    &format!("cannot label nodes '{selector}': "),
                    &e,
                )
            })?;
        Ok(names.into_iter().map(Dynamic::from).collect())
    }

    /// The cluster's pod CIDR, where clusters keep it: the
    /// controller-manager's `--cluster-cidr`, the `kubeadm-config`
    /// ConfigMap's `podSubnet`, the `kube-proxy` ConfigMap's `clusterCIDR`;
    /// only then the nodes' `spec.podCIDRs` (comma-separated), which are
    /// each node's range, not the cluster's: `-v` says which was used, and
    /// `cluster_cidr_info()` returns it with the answer.
    #[rhai_fn(return_raw)]
    pub fn cluster_cidr(ctx: NativeCallContext) -> Result<String, Box<EvalAltResult>> {
        cluster_cidr_info(ctx).map(|m| m["cidr"].to_string())
    }

    /// `#{cidr, source}`: the answer of `cluster_cidr()` and where it came
    /// from (`"kube-controller-manager --cluster-cidr"`, `"kubeadm-config
    /// podSubnet"`, `"kube-proxy clusterCIDR"`, or `"nodes' podCIDRs (...)"`).
    #[rhai_fn(return_raw)]
    pub fn cluster_cidr_info(ctx: NativeCallContext) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let c = client(&h, "cluster_cidr")?;
        let mut t = h.trace("cluster_cidr", String::new);
        let r = block_on(&h, crate::k8s::facts::cluster_cidr(&c))?
            .map_err(|e| k8s_error(&h, "cluster_cidr", "", &e))?;
        t.note(format!("{} (from the {})", r.value, r.source));
        let mut m = Map::new();
        m.insert("cidr".into(), Dynamic::from(r.value));
        m.insert("source".into(), Dynamic::from(r.source.to_string()));
        Ok(m)
    }
}

/// Label values: strings (numbers and bools become strings), `()` removes.
fn label_values(func: &str, labels: Map) -> RResult<serde_json::Map<String, serde_json::Value>> {
    let mut out = serde_json::Map::new();
    for (k, v) in labels {
        let val = if v.is_unit() {
            serde_json::Value::Null
        } else if v.is_string() || v.is_int() || v.is_bool() || v.is_float() {
            serde_json::Value::String(v.to_string())
        } else {
            return Err(error(format!(
                "{func}: label '{k}' must be a string or () to remove it, got {}",
                v.type_name()
            )));
        };
        out.insert(k.to_string(), val);
    }
    Ok(out)
}
