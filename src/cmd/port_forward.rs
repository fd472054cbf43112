//! `scaffold port-forward`: kubectl's port-forward over WebSocket, the
//! same forwarding `port_forward()` gives scripts, until Ctrl-C.

use crate::cli::PortForwardArgs;
use crate::exit::{fail, ExitCode};
use crate::k8s::kubeconfig::KubeOptions;

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
) -> ExitCode {
    let parsed =
        crate::k8s::portforward::Target::parse(&a.target).and_then(|t| Ok((t, forward_ports(a)?)));
    let ip = a
        .address
        .parse::<std::net::IpAddr>()
        .map_err(|_| format!("--address {} is not an IP address", a.address));
    let ((target, ports), ip) = match (parsed, ip) {
        (Ok(x), Ok(ip)) => (x, ip),
        (Err(e), _) | (_, Err(e)) => return fail(ExitCode::USAGE, e),
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
        Ok(()) => ExitCode::OK,
        Err(e) => fail(ExitCode::ERROR, format!("port-forward: {e}")),
    }
}
