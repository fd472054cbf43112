//! The environment a run measured, as flat `field = value` pairs
//! (`fingerprint()`, results.json `environment.fingerprint`): the cluster
//! (server version, node count), each node read through a session
//! (kernel, CPU model and count, CPU governor, interface MTUs, NIC
//! offloads, sysctls), and the CNI's configuration (`cilium-config`,
//! kube-proxy's mode). A field that cannot be read is kept as
//! `unknown: <why>`. Read-only: nothing on a node changes.

use super::http;
use super::session::{Options, Session};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Sessions opened at once.
const AT_ONCE: usize = 32;

/// The offloads kept of `ethtool -k` (the ones that change packet costs).
const OFFLOADS: &[&str] = &[
    "rx-checksumming",
    "tx-checksumming",
    "tcp-segmentation-offload",
    "generic-segmentation-offload",
    "generic-receive-offload",
    "large-receive-offload",
    "rx-gro-hw",
];

/// The shell script that prints a node's fields, one `key=value` a line.
/// Shell builtins wherever they do (`read`, `case`): a node of a big
/// cluster pays a handful of processes, not one per field.
pub fn node_script(sysctls: &[String]) -> String {
    let mut s = String::from(
        "read k < /proc/sys/kernel/osrelease; echo \"kernel=$k\"\n\
         m=; c=0; while IFS= read -r l; do case \"$l\" in 'model name'*) [ -z \"$m\" ] && m=${l#*: };; processor*) c=$((c+1));; esac; done < /proc/cpuinfo\n\
         echo \"cpu_model=${m:-unknown: no model name in /proc/cpuinfo}\"; echo \"cpus=$c\"\n\
         g=; f=/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor; [ -r $f ] && read g < $f; echo \"governor=${g:-unknown: no cpufreq on the node}\"\n\
         for i in /sys/class/net/*; do n=${i##*/}; [ \"$n\" = lo ] && continue; read mtu < $i/mtu; echo \"mtu.$n=$mtu\"; done\n\
         if command -v ethtool >/dev/null 2>&1; then\n\
           for i in /sys/class/net/*; do n=${i##*/}; [ \"$n\" = lo ] && continue;\n\
             ethtool -k \"$n\" 2>/dev/null | while IFS=': ' read k v rest; do\n\
               case ' OFFLOADS ' in *\" $k \"*) echo \"offload.$n.$k=$v\";; esac; done; done\n\
         else echo 'offload=unknown: ethtool is not on the node'; fi\n",
    );
    s = s.replace("OFFLOADS", &OFFLOADS.join(" "));
    for k in sysctls {
        // names are checked by the caller: letters, digits, . _ - /
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        s.push_str(&format!(
            "v=; [ -r {path} ] && read v < {path}; echo \"sysctl.{k}=${{v:-unknown: no such sysctl}}\"\n"
        ));
    }
    s
}

/// A sysctl name as `fingerprint` takes it (no shell in it).
pub fn valid_sysctl(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
}

/// `key=value` lines as fields under `node.<name>.`.
pub fn parse_node(node: &str, out: &str, into: &mut BTreeMap<String, String>) {
    for l in out.lines() {
        if let Some((k, v)) = l.split_once('=') {
            into.insert(
                format!("node.{node}.{}", k.trim()),
                v.trim().replace('\t', " "),
            );
        }
    }
}

/// Each node's fields through a session of its own (opened `AT_ONCE` at
/// a time, each handed to `opened` so the run can close it whatever
/// happens, and closed here): the fields, and a field per node that
/// could not be read.
pub async fn nodes(
    client: &kube::Client,
    opts: Vec<Options>,
    script: &str,
    opened: &(dyn Fn(Arc<Session>) + Sync),
) -> BTreeMap<String, String> {
    use futures::StreamExt;
    let cmd = crate::shell::Cmd::Shell(script.to_string());
    let results: Vec<(String, Result<String, String>)> = futures::stream::iter(opts)
        .map(|o| {
            let cmd = &cmd;
            async move {
                let created = Session::created_for(&o);
                let s = match Session::open(client, &o, &created).await {
                    Ok(s) => Arc::new(s),
                    Err(e) => {
                        let done = created.lock().unwrap().clone();
                        let policy = super::ron::Cleanup::All;
                        super::ron::cleanup(client, &done, &policy, false).await;
                        return (o.node, Err(format!("no session: {e}")));
                    }
                };
                opened(s.clone());
                let r = s.exec(cmd, Duration::from_secs(60)).await;
                s.close().await;
                let r = match r {
                    Ok(x) if x.code == 0 => Ok(x.stdout),
                    Ok(x) => Err(format!("exit {}: {}", x.code, x.stderr.trim())),
                    Err(e) => Err(e.to_string()),
                };
                (o.node, r)
            }
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    let mut f = BTreeMap::new();
    for (node, r) in results {
        match r {
            Ok(out) => parse_node(&node, &out, &mut f),
            Err(e) => {
                f.insert(format!("node.{node}"), format!("unknown: {e}"));
            }
        }
    }
    f
}

/// The CNI's configuration: every key of `kube-system/cilium-config`, and
/// kube-proxy's mode from its ConfigMap.
pub async fn cni(client: &kube::Client) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    let get = |name: &str| {
        let p = format!("/api/v1/namespaces/kube-system/configmaps/{name}");
        async move { http::get_json(client, &p).await }
    };
    match get("cilium-config").await {
        Ok(cm) => {
            for (k, v) in cm["data"].as_object().into_iter().flatten() {
                let v = v.as_str().unwrap_or("").trim();
                if v.len() <= 200 {
                    f.insert(format!("cni.cilium.{k}"), v.to_string());
                }
            }
        }
        Err(e) if e.is_not_found() => {
            f.insert("cni.cilium".into(), "absent".into());
        }
        Err(e) => {
            f.insert("cni.cilium".into(), format!("unknown: {e}"));
        }
    }
    match get("kube-proxy").await {
        Ok(cm) => {
            let conf = cm["data"]["config.conf"].as_str().unwrap_or("");
            let mode = conf
                .lines()
                .find_map(|l| l.trim().strip_prefix("mode:"))
                .map(|m| m.trim().trim_matches('"').to_string())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "iptables (the default)".into());
            f.insert("cni.kube-proxy.mode".into(), mode);
        }
        Err(e) if e.is_not_found() => {
            f.insert("cni.kube-proxy".into(), "absent".into());
        }
        Err(e) => {
            f.insert("cni.kube-proxy".into(), format!("unknown: {e}"));
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The script runs in a plain shell and prints what it says.
    #[test]
    fn the_node_script_prints_fields() {
        let s = node_script(&["net.core.somaxconn".into(), "no.such.key".into()]);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&s)
            .output()
            .unwrap();
        let mut f = BTreeMap::new();
        parse_node("n1", &String::from_utf8_lossy(&out.stdout), &mut f);
        assert!(f["node.n1.kernel"].contains('.'), "{f:?}");
        assert!(f["node.n1.cpus"].parse::<u32>().unwrap() >= 1, "{f:?}");
        assert!(f.contains_key("node.n1.governor"));
        assert!(f["node.n1.sysctl.no.such.key"].starts_with("unknown:"));
        assert!(f.keys().any(|k| k.starts_with("node.n1.mtu.")), "{f:?}");
        assert!(valid_sysctl("net.core.rmem_max") && !valid_sysctl("a;rm -rf /"));
    }
}
