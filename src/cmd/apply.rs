//! `scaffold apply`: the same function scripts call, from the command line.

use crate::cli::{ApplyArgs, ApplyMode};
use crate::exit::{fail, ExitCode};
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
) -> ExitCode {
    let timeout = match super::parse_duration(&a.timeout) {
        Ok(t) => t,
        Err(e) => return fail(ExitCode::USAGE, format!("--timeout: {e}")),
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
            ExitCode::failed_if(differs)
        }
        Err(e) if crate::api::is_interrupt(&e) => ExitCode::INTERRUPTED,
        Err(e) => fail(ExitCode::ERROR, crate::engine::errors::message(&e)),
    }
}
