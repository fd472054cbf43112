//! `scaffold script FILE`: the settings of a run from the command line
//! (parameters, breakpoints, where results go), then the engine's run.

use crate::cli::ScriptArgs;
use crate::exit::{fail, ExitCode};
use crate::host::Settings;
use crate::interrupt::Mode;
use crate::k8s::kubeconfig::KubeOptions;
use std::path::{Path, PathBuf};

/// `--break-at FILE:LINE`, each checked.
fn break_at(list: &[String]) -> Result<Vec<(String, usize)>, String> {
    list.iter()
        .map(|b| {
            b.rsplit_once(':')
                .and_then(|(f, l)| Some((f.to_string(), l.parse::<usize>().ok()?)))
                .filter(|(_, l)| *l > 0)
                .ok_or_else(|| format!("--break-at {b}: expected FILE:LINE, e.g. main.rhai:12"))
        })
        .collect()
}

/// `p` made absolute against the working directory.
fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    }
}

/// The run's settings, or a usage error.
fn settings(a: ScriptArgs, kube: KubeOptions, verbose: bool) -> Result<Settings, String> {
    if !a.file.is_file() {
        return Err(format!("script {} does not exist", a.file.display()));
    }
    let parsed = a.params.parse()?;
    let mut params = parsed.values;
    params.extend(
        parsed
            .secrets
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v))),
    );
    let break_at = break_at(&a.break_at)?;
    // checked now: a typo in the profile is a usage error, not a surprise
    // at the end of a long run
    if let Some(p) = &a.metrics_profile {
        crate::api::forward::read_profile(p).map_err(|e| format!("--metrics-profile: {e}"))?;
    }
    let abs = std::fs::canonicalize(&a.file).unwrap_or_else(|_| a.file.clone());
    let script_dir = abs.parent().unwrap_or(Path::new(".")).to_path_buf();
    let artifacts_parent = match &a.artifacts {
        Some(p) => absolute(p),
        None => script_dir.join("artifacts"),
    };
    Ok(Settings {
        script_display: a.file.display().to_string(),
        script_dir,
        params,
        args: a.args,
        artifacts_parent,
        verbose,
        breakpoints: !a.no_breakpoints && crate::ui::interactive(),
        break_at,
        kube,
        fixed_run_dir: a.run_dir.as_deref().map(absolute),
        metrics_profile: a.metrics_profile.as_deref().map(absolute),
        no_fingerprint: a.no_fingerprint,
    })
}

pub fn script(a: ScriptArgs, kube: KubeOptions, verbose: bool) -> ExitCode {
    let file = a.file.clone();
    let settings = match settings(a, kube, verbose) {
        Ok(s) => s,
        Err(e) => return fail(ExitCode::USAGE, e),
    };
    let (rt, interrupt) = super::runtime_with(Mode::Script);
    let code = crate::engine::run::run_script(
        &file,
        settings,
        rt.handle(),
        interrupt,
        crate::repl::breakpoint::prompt,
    );
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    code
}
