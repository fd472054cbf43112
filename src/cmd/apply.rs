//! `scaffold apply` and `scaffold port-forward`: the same functions scripts
//! call, from the command line.

use crate::cli::{ApplyArgs, ApplyMode, PortForwardArgs};
use crate::host::{Host, Settings};
use crate::k8s::kubeconfig::KubeOptions;
use rhai::{Dynamic, Map, Scope};
use std::sync::Arc;

/// Run `apply(path, opts)` through the engine, so the command behaves exactly
/// like the script function.
pub fn apply(
    a: &ApplyArgs,
    kube: KubeOptions,
    verbose: bool,
    rt: &tokio::runtime::Runtime,
    interrupt: Arc<crate::interrupt::Interrupt>,
) -> i32 {
    let timeout = match super::parse_duration(&a.timeout) {
        Ok(t) => t,
        Err(e) => {
            crate::ui::err(format!("error: --timeout: {e}"));
            return 2;
        }
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let settings = Settings {
        script_display: "scaffold apply".into(),
        script_dir: cwd.clone(),
        artifacts_parent: cwd,
        verbose,
        kube,
        ..Default::default()
    };
    let _g = rt.enter();
    let host = Host::new(rt.handle().clone(), interrupt, settings);
    let (engine, _) = crate::engine::build(Some(host));
    let mut opts = Map::new();
    if let Some(ns) = &a.namespace {
        opts.insert("namespace".into(), Dynamic::from(ns.clone()));
    }
    if a.mode == ApplyMode::CreateOrReplace {
        opts.insert(
            "mode".into(),
            Dynamic::from("create_or_replace".to_string()),
        );
    }
    opts.insert("force".into(), Dynamic::from(!a.no_force));
    opts.insert("wait".into(), Dynamic::from(a.wait));
    opts.insert("timeout".into(), Dynamic::from(timeout.as_secs_f64()));
    opts.insert("dry_run".into(), Dynamic::from(a.dry_run));
    opts.insert("diff".into(), Dynamic::from(a.diff));
    let mut scope = Scope::new();
    scope.push("path", a.path.display().to_string());
    scope.push("opts", opts);
    match engine.eval_with_scope::<rhai::Array>(&mut scope, "apply(path, opts)") {
        Ok(refs) => {
            let mut differs = false;
            for r in refs {
                let m = r.cast::<Map>();
                if let Some(d) = m.get("diff") {
                    // like kubectl diff: the diffs only, exit 1 when any
                    let d = d.to_string();
                    differs |= !d.is_empty();
                    if !d.is_empty() {
                        crate::ui::out(d.trim_end());
                    }
                    continue;
                }
                let get = |k: &str| m.get(k).map(|v| v.to_string()).unwrap_or_default();
                let api = get("apiVersion");
                let group = api
                    .rsplit_once('/')
                    .map(|(g, _)| format!(".{g}"))
                    .unwrap_or_default();
                crate::ui::out(format!(
                    "{}{group}/{} {}",
                    get("kind").to_lowercase(),
                    get("name"),
                    get("action")
                ));
            }
            i32::from(differs)
        }
        Err(e) if crate::api::is_interrupt(&e) => 130,
        Err(e) => {
            crate::ui::err(format!("error: {}", crate::engine::errors::message(&e)));
            1
        }
    }
}

/// The ports of the command line; `--local-port` fills in a single
/// plain port.
fn forward_ports(a: &PortForwardArgs) -> Result<Vec<crate::k8s::portforward::Ports>, String> {
    let mut ports = a
        .ports
        .iter()
        .map(|p| crate::k8s::portforward::Ports::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(lp) = a.local_port {
        match ports.as_mut_slice() {
            [one] if !a.ports[0].contains(':') => one.local = Some(lp),
            _ => {
                return Err(
                    "--local-port goes with one REMOTE port; give LOCAL:REMOTE for several".into(),
                )
            }
        }
    }
    Ok(ports)
}

/// Forward until Ctrl-C, every port of the command line.
pub fn port_forward(
    a: &PortForwardArgs,
    kube: &KubeOptions,
    rt: &tokio::runtime::Runtime,
    interrupt: &crate::interrupt::Interrupt,
) -> i32 {
    let parsed =
        crate::k8s::portforward::Target::parse(&a.target).and_then(|t| Ok((t, forward_ports(a)?)));
    let ip = a
        .address
        .parse::<std::net::IpAddr>()
        .map_err(|_| format!("--address {} is not an IP address", a.address));
    let ((target, ports), ip) = match (parsed, ip) {
        (Ok(x), Ok(ip)) => (x, ip),
        (Err(e), _) | (_, Err(e)) => {
            crate::ui::err(format!("error: {e}"));
            return 2;
        }
    };
    let token = interrupt.token();
    let r = rt.block_on(async {
        let c = super::connect(kube).await?;
        let ns = a
            .namespace
            .clone()
            .unwrap_or_else(|| c.target.namespace.clone());
        let mut open = vec![];
        for p in ports {
            let addr = std::net::SocketAddr::new(ip, p.local.unwrap_or(0));
            let f = crate::k8s::portforward::start(
                c.client.clone(),
                ns.clone(),
                target.clone(),
                p.remote,
                addr,
            )
            .await?;
            crate::ui::out(format!(
                "Forwarding from {} -> {ns} {}:{}",
                f.local, a.target, p.remote
            ));
            open.push(f);
        }
        crate::ui::err("(Ctrl-C stops)");
        token.cancelled().await;
        drop(open);
        Ok::<_, String>(())
    });
    match r {
        Ok(()) => 0,
        Err(e) => {
            crate::ui::err(format!("error: port-forward: {e}"));
            1
        }
    }
}
