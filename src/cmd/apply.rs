//! `scaffold apply`: k8s/apply/mod.rs's one entry (apply, dry run, diff, wait),
//! the same `apply()` scripts call, from the command line.

use crate::cli::{ApplyArgs, ApplyMode};
use crate::exit::{fail, ExitCode, Failure};
use crate::interrupt::Interrupt;
use crate::k8s::apply::{self, Applied, ApplyOptions, Request, DEFAULT_BURST, DEFAULT_QPS};
use crate::k8s::discovery::Discovery;
use crate::k8s::kubeconfig::KubeOptions;
use std::sync::Arc;

/// What the command line asks for; the namespace default is the context's.
fn request(a: &ApplyArgs, kube: &KubeOptions, namespace: String) -> Result<Request, String> {
    let timeout = super::parse_duration(&a.timeout).map_err(|e| format!("--timeout: {e}"))?;
    Ok(Request {
        options: ApplyOptions {
            namespace: a.namespace.clone().unwrap_or(namespace),
            create_or_replace: a.mode == ApplyMode::CreateOrReplace,
            force: !a.no_force,
            field_manager: "scaffold".into(),
            qps: kube.qps.unwrap_or(DEFAULT_QPS),
            burst: kube.burst.unwrap_or(DEFAULT_BURST),
        },
        dry_run: a.dry_run,
        diff: a.diff,
        wait: a.wait.then_some(timeout),
    })
}

/// One line per object (`kind.group/name action`), or with --diff only the
/// diffs; true when a diff shows a difference.
fn print(applied: &[Applied]) -> bool {
    let mut differs = false;
    for r in applied {
        if let Some(d) = &r.diff {
            // like kubectl diff: the diffs only, exit 1 when any
            differs |= !d.is_empty();
            if !d.is_empty() {
                crate::ui::out(d.trim_end());
            }
            continue;
        }
        let group = r
            .api_version
            .rsplit_once('/')
            .map(|(g, _)| format!(".{g}"))
            .unwrap_or_default();
        let kind = r.kind.to_lowercase();
        crate::ui::out(format!("{kind}{group}/{} {}", r.name, r.action));
    }
    differs
}

pub fn apply(
    a: &ApplyArgs,
    kube: &KubeOptions,
    rt: &tokio::runtime::Runtime,
    interrupt: &Interrupt,
) -> ExitCode {
    let target = match crate::k8s::client::Target::resolve(kube) {
        Ok(t) => t,
        Err(e) => return fail(ExitCode::ERROR, format!("apply: {e}")),
    };
    let req = match request(a, kube, target.namespace.clone()) {
        Ok(r) => r,
        Err(e) => return fail(ExitCode::USAGE, e),
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let path = a.path.display().to_string();
    let token = interrupt.token();
    let work = async {
        let c = crate::k8s::client::connect(&target).await?;
        let (docs, source) = crate::k8s::manifest::docs(&path, &cwd, token.clone()).await?;
        let disc = Discovery::run(&c.client)
            .await
            .map_err(|e| format!("discovery: {e}"))?;
        let p = req
            .wait
            .map(|_| crate::ui::Progress::start("apply: waiting for /readyz"));
        let show = |n: &[crate::k8s::ready::Verdict], total: usize| {
            if let Some(p) = &p {
                p.set(&format!(
                    "apply: {}",
                    crate::k8s::ready::pending_text(n, total)
                ))
            }
        };
        let mut disc = Arc::new(disc);
        Ok::<_, Failure>(apply::run(&c.client, &mut disc, &docs, &source, &req, show).await?)
    };
    let r = rt.block_on(async {
        tokio::select! {
            r = work => r,
            _ = token.cancelled() => Err(Failure::Interrupted),
        }
    });
    match r {
        Ok(applied) => ExitCode::failed_if(print(&applied)),
        Err(Failure::Interrupted) => ExitCode::INTERRUPTED,
        Err(e) => fail(ExitCode::ERROR, format!("apply: {e}")),
    }
}
