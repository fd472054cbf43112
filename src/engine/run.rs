//! `scaffold script FILE`: compile, run, then always run on_exit handlers,
//! stop background processes and write results.json.

use crate::api::is_interrupt;
use crate::exit::{fail, ExitCode};
use crate::host::{Host, Settings};
use crate::interrupt::Interrupt;
use rhai::{Dynamic, EvalAltResult, Scope};
use std::path::Path;
use std::sync::Arc;

/// Run a script file to the end; returns the process exit code.
pub fn run_script(
    file: &Path,
    mut settings: Settings,
    rt: &tokio::runtime::Handle,
    interrupt: Arc<Interrupt>,
    prompt: super::debugger::Prompt,
) -> ExitCode {
    let display = super::resolver::display_path(file);
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            let msg = format!("cannot read script {}: {e}", file.display());
            return fail(ExitCode::USAGE, msg);
        }
    };
    super::errors::remember(&display, &text);
    settings.script_display = display.clone();
    let break_at = match resolve_break_at(&settings.break_at) {
        Ok(b) => b,
        Err(e) => return fail(ExitCode::USAGE, e),
    };
    // Timers and tasks created by host functions need the runtime context.
    let _rt_guard = rt.enter();
    let host = Host::new(rt.clone(), interrupt, settings);
    let (mut engine, resolver) = super::build(Some(host.clone()));
    let abs = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    resolver.add_origin(&display, super::resolver::Origin::File(abs));
    let mut scope = Scope::new();
    let (ast, result) = match engine.compile(&text) {
        Ok(mut ast) => {
            if host.settings().breakpoints {
                let functions = ast.iter_functions().map(|f| f.name.to_string()).collect();
                super::debugger::attach(&mut engine, break_at, functions, prompt);
            }
            ast.set_source(display.as_str());
            // a panic anywhere still ends the run in order: exit handlers,
            // teardown, results.json
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine.run_ast_with_scope(&mut scope, &ast)
            }))
            .unwrap_or_else(|p| Err(panicked(p)));
            (Some(ast), r)
        }
        Err(e) => (None, Err(Box::new(EvalAltResult::from(e)))),
    };

    let interrupted =
        host.interrupt().is_set() || result.as_ref().err().is_some_and(|e| is_interrupt(e));
    finish(&host, &engine, ast.as_ref(), result, interrupted, &display)
}

/// The end of every run (script or REPL): `on_exit` handlers, last
/// registered first, then the host's one teardown. Shielded: cleanup after
/// Ctrl-C is not cancelled itself.
pub fn end_of_run(host: &Host, engine: &rhai::Engine, ast: Option<&rhai::AST>, display: &str) {
    let handlers = super::hooks::of(engine)
        .map(|k| k.take_on_exit())
        .unwrap_or_default();
    host.interrupt().shielded(|| {
        if let Some(ast) = ast {
            for f in handlers {
                if let Err(e) = f.call::<Dynamic>(engine, ast, ()) {
                    crate::ui::warn(&format!(
                        "on_exit handler failed: {}",
                        super::errors::render(&e, display)
                    ));
                }
            }
        }
        host.teardown();
    });
}

/// A panic as a script error (the panic message was printed already).
fn panicked(p: Box<dyn std::any::Any + Send>) -> Box<EvalAltResult> {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    crate::api::error(format!(
        "internal error (a bug in scaffold, please report it): {msg}"
    ))
}

/// Map `--break-at FILE:LINE` to (source display name, line).
fn resolve_break_at(list: &[(String, usize)]) -> Result<Vec<(String, usize)>, String> {
    list.iter()
        .map(|(f, l)| {
            let p = Path::new(f);
            if !p.is_file() {
                return Err(format!("--break-at {f}:{l}: no such file {f}"));
            }
            Ok((super::resolver::display_path(p), *l))
        })
        .collect()
}

/// End of a run: exit handlers, background processes, results.json.
fn finish(
    host: &Arc<Host>,
    engine: &rhai::Engine,
    ast: Option<&rhai::AST>,
    result: Result<(), Box<EvalAltResult>>,
    interrupted: bool,
    display: &str,
) -> ExitCode {
    if let Err(e) = &result {
        crate::ui::err(super::errors::render(e, display));
    }
    // the metrics of the whole run, also of one that failed (not after
    // Ctrl-C: the user wants out), before teardown stops the forwards
    let mut alert = None;
    if let (Some(p), false) = (&host.settings().metrics_profile, interrupted) {
        alert = host
            .interrupt()
            .shielded(|| crate::api::forward::collect_at_end(host, p));
        if let Some(a) = &alert {
            crate::ui::err(format!("error: {a}"));
        }
    }
    end_of_run(host, engine, ast, display);
    underdelivery_warnings(host);

    let (outcome, error, code) = match &result {
        // an alert of severity error that fired fails a run that went well
        Ok(()) if !interrupted && alert.is_some() => ("error", alert, ExitCode::ERROR),
        Ok(()) if !interrupted => ("ok", None, ExitCode::OK),
        Ok(()) => (
            "interrupted",
            Some(crate::exit::Interrupted.to_string()),
            ExitCode::INTERRUPTED,
        ),
        Err(e) if interrupted || is_interrupt(e) => (
            "interrupted",
            Some(super::errors::message(e)),
            ExitCode::INTERRUPTED,
        ),
        Err(e) => ("error", Some(super::errors::message(e)), ExitCode::ERROR),
    };
    {
        let mut r = host.results();
        r.finish(outcome, error, host.started());
    }
    match write_results(host) {
        Ok(()) => code,
        Err(e) => {
            crate::ui::err(format!("error: {e}"));
            // the run's numbers are lost: never a success, whatever it did
            if code == ExitCode::OK {
                ExitCode::ERROR
            } else {
                code
            }
        }
    }
}

/// Loads that did not deliver their planned rate, said again as the run
/// ends (their numbers are not what was asked for).
fn underdelivery_warnings(host: &Host) {
    let r = host.results();
    for prefix in ["load", "churn"] {
        let Some(rec) = r.records.get(&format!("{prefix}_underdelivered")) else {
            continue;
        };
        let n = rec
            .iter_values()
            .filter(|v| v.as_f64() == Some(1.0))
            .count();
        if n == 0 {
            continue;
        }
        let windows = r
            .records
            .get(&format!("{prefix}_underdelivered_windows"))
            .map(|w| {
                w.iter_values()
                    .map(crate::util::plain)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        crate::ui::warn(&format!(
            "{n} {} underdelivered (windows {windows}): the rates it measured are \
             not the planned ones ({prefix}_achieved_per_second in results.json)",
            if prefix == "load" {
                "load(s)"
            } else {
                "churn(s)"
            }
        ));
    }
}

/// results.json in the run directory; the error says where and why.
fn write_results(host: &Host) -> Result<(), String> {
    let dir = host
        .run_dir()
        .map_err(|e| format!("cannot write results.json: {e}"))?;
    let path = dir.join("results.json");
    let r = host.results().clone();
    r.write(&path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    crate::ui::err(format!("results: {}", super::resolver::display_path(&path)));
    Ok(())
}
