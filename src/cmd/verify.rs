//! `scaffold verify k8s-ready`: the original's readiness check, one line per
//! resource (not ready first), `-o json` for machines, `--wait` to watch.

use crate::cli::{K8sReadyArgs, OutputFormat};
use crate::k8s::kubeconfig::KubeOptions;
use crate::k8s::ready::{self, Kind, Scope};

pub fn k8s_ready(
    a: &K8sReadyArgs,
    kube: &KubeOptions,
    rt: &tokio::runtime::Runtime,
    interrupt: &crate::interrupt::Interrupt,
) -> i32 {
    let usage = |m: String| {
        crate::ui::err(format!("error: {m}"));
        2
    };
    let timeout = match super::parse_duration(&a.timeout) {
        Ok(t) => t,
        Err(e) => return usage(format!("--timeout: {e}")),
    };
    let mut scope = Scope {
        namespaces: a.namespaces.clone(),
        ..Default::default()
    };
    if !a.kinds.is_empty() {
        match a
            .kinds
            .iter()
            .map(|k| Kind::parse(k))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(k) => scope.kinds = k,
            Err(e) => return usage(format!("--kind: {e}")),
        }
    }
    let token = interrupt.token();
    let r = rt.block_on(async {
        let c = super::connect(kube).await?;
        let work = async {
            if a.wait {
                let p = crate::ui::Progress::start("waiting for /readyz");
                ready::wait(&c.client, &scope, timeout, |n, total| {
                    p.set(&ready::pending_text(n, total))
                })
                .await
                .map_err(|e| e.to_string())
            } else {
                ready::verify(&c.client, &scope)
                    .await
                    .map_err(|e| format!("cannot list resources from {}: {e}", c.describe_server()))
            }
        };
        tokio::select! {
            r = work => r,
            _ = token.cancelled() => Err("interrupted".to_string()),
        }
    });
    let report = match r {
        Ok(r) => r,
        Err(e) if e == "interrupted" => return 130,
        Err(e) => {
            crate::ui::err(format!("error: verify k8s-ready: {e}"));
            return 1;
        }
    };
    match a.output {
        OutputFormat::Json => {
            crate::ui::out(serde_json::to_string_pretty(&report).unwrap_or_default())
        }
        OutputFormat::Text => {
            for v in &report.resources {
                crate::ui::out(v.line());
            }
            let bad = report.not_ready().count();
            if bad == 0 {
                crate::ui::err(format!("all {} resources ready", report.resources.len()));
            } else {
                crate::ui::err(format!(
                    "{bad} of {} resources not ready",
                    report.resources.len()
                ));
            }
        }
    }
    if report.ready {
        0
    } else {
        1
    }
}
