//! `scaffold verify k8s-ready`: the original's readiness check, one line per
//! resource (not ready first), `-o json` for machines, `--wait` to watch.

use crate::cli::{K8sReadyArgs, OutputFormat};
use crate::exit::{fail, ExitCode, Failure};
use crate::k8s::kubeconfig::KubeOptions;
use crate::k8s::ready::{self, Kind, Scope};

/// The scope of the flags.
fn scope(a: &K8sReadyArgs) -> Result<Scope, String> {
    let mut scope = Scope {
        namespaces: a.namespaces.clone(),
        ..Default::default()
    };
    if !a.kinds.is_empty() {
        scope.kinds = a
            .kinds
            .iter()
            .map(|k| Kind::parse(k))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("--kind: {e}"))?;
    }
    Ok(scope)
}

/// One line per resource (not ready first) and a count, or JSON.
fn print(report: &ready::Report, output: OutputFormat) {
    match output {
        OutputFormat::Json => {
            crate::ui::out(serde_json::to_string_pretty(report).unwrap_or_default())
        }
        OutputFormat::Text => {
            for v in &report.resources {
                crate::ui::out(v.line());
            }
            let (bad, all) = (report.not_ready().count(), report.resources.len());
            if bad == 0 {
                crate::ui::err(format!("all {all} resources ready"));
            } else {
                crate::ui::err(format!("{bad} of {all} resources not ready"));
            }
        }
    }
}

pub fn k8s_ready(
    a: &K8sReadyArgs,
    kube: &KubeOptions,
    rt: &tokio::runtime::Runtime,
    interrupt: &crate::interrupt::Interrupt,
) -> ExitCode {
    let args = super::parse_duration(&a.timeout)
        .map_err(|e| format!("--timeout: {e}"))
        .and_then(|t| Ok((t, scope(a)?)));
    let (timeout, scope) = match args {
        Ok(x) => x,
        Err(e) => return fail(ExitCode::USAGE, e),
    };
    let token = interrupt.token();
    let r = rt.block_on(async {
        let c = super::connect(kube).await.map_err(Failure::Error)?;
        let work = async {
            if a.wait {
                let p = crate::ui::Progress::start("waiting for /readyz");
                ready::wait(&c.client, &scope, timeout, |n, total| {
                    p.set(&ready::pending_text(n, total))
                })
                .await
                .map_err(|e| Failure::Error(e.to_string()))
            } else {
                ready::verify(&c.client, &scope).await.map_err(|e| {
                    Failure::Error(format!(
                        "cannot list resources from {}: {e}",
                        c.describe_server()
                    ))
                })
            }
        };
        tokio::select! {
            r = work => r,
            _ = token.cancelled() => Err(Failure::Interrupted),
        }
    });
    match r {
        Ok(report) => {
            print(&report, a.output);
            ExitCode::failed_if(!report.ready)
        }
        Err(Failure::Interrupted) => ExitCode::INTERRUPTED,
        Err(e) => fail(ExitCode::ERROR, format!("verify k8s-ready: {e}")),
    }
}
