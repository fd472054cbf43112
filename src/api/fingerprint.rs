//! `fingerprint()`: what a run measured on, into results.json, so that
//! `scaffold report` can refuse to compare runs that differ in more than
//! their parameters. The work is `k8s/fingerprint.rs`.

use crate::api::call::{block_on, client, default_ns, error, RResult};
use crate::api::opts::Opts;
use crate::host::{Host, Owned};
use crate::k8s::fingerprint as fp;
use crate::k8s::session;
use rhai::plugin::*;
use rhai::{Dynamic, Map};
use std::collections::BTreeMap;
use std::sync::Arc;

/// This machine's part: scaffold's version, the host, its CPUs.
fn client_fields(f: &mut BTreeMap<String, String>) {
    f.insert(
        "client.scaffold_version".into(),
        env!("CARGO_PKG_VERSION").into(),
    );
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("unknown: {e}"));
    f.insert("client.host".into(), host);
    let cpus = std::thread::available_parallelism()
        .map(|n| n.to_string())
        .unwrap_or_else(|e| format!("unknown: {e}"));
    f.insert("client.cpus".into(), cpus);
}

/// The cluster's part: version, nodes (all, or `only`) and each node's
/// fields through a session, the CNI's configuration.
fn cluster_fields(
    h: &Arc<Host>,
    only: Option<Vec<String>>,
    sysctls: &[String],
) -> RResult<BTreeMap<String, String>> {
    let c = client(h, "fingerprint")?;
    let mut f = BTreeMap::new();
    let version = block_on(h, crate::k8s::facts::server_version(&c))?;
    f.insert(
        "cluster.server_version".into(),
        version.unwrap_or_else(|e| format!("unknown: {e}")),
    );
    let all = block_on(h, crate::k8s::facts::nodes(&c))?
        .map_err(|e| error(format!("fingerprint: cannot list nodes: {e}")))?;
    f.insert("cluster.nodes".into(), all.len().to_string());
    let names: Vec<String> = match only {
        Some(n) => n,
        None => all.into_iter().map(|n| n.name).collect(),
    };
    let ns = default_ns(h);
    h.uses_namespace(&ns);
    let opts = crate::api::nodes::session_options(h, &names, &ns);
    let script = fp::node_script(sysctls);
    let hh = h.clone();
    let opened = move |s: Arc<session::Session>| hh.own(Owned::Session(s));
    f.extend(block_on(h, fp::nodes(&c, opts, &script, &opened))?);
    f.extend(block_on(h, fp::cni(&c))?);
    Ok(f)
}

#[export_module]
pub mod fingerprint_api {
    /// Read what the run measures on into results.json
    /// (`environment.fingerprint`, docs/results.md), read-only: this
    /// machine (scaffold's version, host, CPUs), the cluster (server
    /// version, node count), each node through a node session of its own
    /// (kernel, CPU model and count, CPU governor, each interface's MTU,
    /// NIC offloads from `ethtool -k` where the node has it, the `sysctls`
    /// you name) and the CNI (every key of `kube-system/cilium-config`,
    /// kube-proxy's mode). A field that cannot be read is `unknown: <why>`.
    /// Options: `nodes` (names; default every node), `sysctls` (names,
    /// e.g. `["net.core.rmem_max"]`). `scaffold report` refuses to compare
    /// runs whose fingerprints differ in more than their parameters'
    /// doing. Skipped under `scaffold script --no-fingerprint`. Returns
    /// the fields.
    ///
    /// ```rhai
    /// fingerprint(#{sysctls: ["net.core.rmem_max", "net.core.netdev_max_backlog"]});
    /// ```
    #[rhai_fn(name = "fingerprint", return_raw)]
    pub fn fingerprint(ctx: NativeCallContext, options: Map) -> Result<Map, Box<EvalAltResult>> {
        let h = crate::api::call::host(&ctx)?;
        let o = Opts::new("fingerprint", options, &["nodes", "sysctls"])?;
        if h.settings().no_fingerprint {
            crate::ui::info("fingerprint: skipped (--no-fingerprint)");
            return Ok(Map::new());
        }
        let sysctls = o.strings("sysctls")?.unwrap_or_default();
        if let Some(bad) = sysctls.iter().find(|k| !fp::valid_sysctl(k)) {
            return Err(error(format!(
                "fingerprint: sysctl {bad:?} is not a sysctl name (letters, digits, . _ - /)"
            )));
        }
        let _t = h.trace("fingerprint", String::new);
        let mut f = BTreeMap::new();
        client_fields(&mut f);
        f.extend(cluster_fields(&h, o.strings("nodes")?, &sysctls)?);
        h.results().environment.fingerprint.extend(f.clone());
        Ok(f.into_iter()
            .map(|(k, v)| (k.into(), Dynamic::from(v)))
            .collect())
    }

    /// `fingerprint` of every node, with no sysctls.
    #[rhai_fn(name = "fingerprint", return_raw)]
    pub fn fingerprint0(ctx: NativeCallContext) -> Result<Map, Box<EvalAltResult>> {
        fingerprint(ctx, Map::new())
    }
}
