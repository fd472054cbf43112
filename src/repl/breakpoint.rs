//! The breakpoint prompt: `:c`, `:q`, `:vars`, `:where`, or an expression
//! evaluated over the paused script's variables.

use crate::engine::debugger::TopLevel;
use rhai::{Dynamic, EvalAltResult, EvalContext, Scope};

const HELP: &str =
    "Enter or :c continue, :q abort (on_exit handlers still run), :vars variables, :where call stack, or a Rhai expression";

/// `:vars`: the variables in scope, then the top level's as of the call.
fn show_vars(ctx: &EvalContext, top: Option<&TopLevel>) {
    super::print_vars(ctx.scope());
    if let Some(t) = top {
        let outer = outer_scope(t, ctx.scope());
        if !outer.is_empty() {
            crate::ui::out("  top level (as of the call):");
            super::print_vars(&outer);
        }
    }
}

/// `:where`: the stop and the calls that led there.
fn show_where(ctx: &EvalContext, location: &str) {
    crate::ui::out(format!("  at {location}"));
    let stack = ctx.global_runtime_state().debugger().call_stack();
    for f in stack.iter().rev() {
        crate::ui::out(format!(
            "  in {}() called at {}",
            f.fn_name,
            crate::engine::errors::location(f.source.as_deref(), f.pos)
        ));
    }
}

/// An expression over the paused script's variables, its result or error
/// printed (with a "did you mean" for a misspelt name).
fn evaluate(ctx: &mut EvalContext, top: Option<&TopLevel>, expr: &str) {
    let r = match top {
        Some(t) => eval_with_top(ctx, t, expr),
        None => ctx
            .engine()
            .eval_with_scope::<Dynamic>(ctx.scope_mut(), expr),
    };
    let names = with_top(top, ctx.scope());
    let hint = r
        .as_ref()
        .err()
        .and_then(|e| super::did_you_mean(e, &names, &rhai::AST::empty()));
    super::show_result(r, "<breakpoint>");
    if let Some(h) = hint {
        crate::ui::err(h);
    }
}

/// Prompt until the user continues (Ok) or aborts (Err, ends the script).
pub fn prompt(
    ctx: &mut EvalContext,
    location: &str,
    message: Option<&str>,
    top: Option<&TopLevel>,
) -> Result<(), Box<EvalAltResult>> {
    let msg = message
        .filter(|m| !m.is_empty())
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    crate::ui::err(format!("\n[breakpoint] {location}{msg}\n  {HELP}"));
    if top.is_some() {
        crate::ui::err(
            "  inside a function: its variables first, then the script's top-level ones as they were when it was called from the top level (read-only)",
        );
    }
    let mut editor = match super::editor(false) {
        Ok(e) => e,
        Err(e) => {
            crate::ui::warn(&format!("cannot open a prompt ({e}); continuing"));
            return Ok(());
        }
    };
    super::refresh_names(&editor, ctx.scope(), None);
    loop {
        // what was printed so far goes out before the prompt
        crate::ui::flush(std::time::Duration::from_secs(2));
        match editor.readline("(breakpoint) ") {
            Ok(line) => {
                let input = line.trim();
                let _ = editor.add_history_entry(input);
                match input {
                    "" | ":c" | ":continue" => return Ok(()),
                    ":q" | ":quit" | ":abort" => {
                        return Err(EvalAltResult::ErrorTerminated(
                            Dynamic::from("aborted at breakpoint (:q)"),
                            rhai::Position::NONE,
                        )
                        .into())
                    }
                    ":vars" => show_vars(ctx, top),
                    ":where" => show_where(ctx, location),
                    ":help" | ":h" | "?" => crate::ui::out(HELP),
                    expr => {
                        evaluate(ctx, top, expr);
                        super::refresh_names(&editor, ctx.scope(), None);
                    }
                }
            }
            Err(rustyline::error::ReadlineError::Eof) => return Ok(()),
            Err(rustyline::error::ReadlineError::Interrupted) => {
                return Err(EvalAltResult::ErrorTerminated(
                    Dynamic::from("aborted at breakpoint (Ctrl-C)"),
                    rhai::Position::NONE,
                )
                .into())
            }
            Err(e) => {
                crate::ui::warn(&format!("prompt failed ({e}); continuing"));
                return Ok(());
            }
        }
    }
}

/// The top-level variables a function's own do not shadow.
fn outer_scope(top: &TopLevel, local: &Scope) -> Scope<'static> {
    let mut s = Scope::new();
    for (name, constant, v) in top {
        if local.contains(name) {
            continue;
        }
        if *constant {
            s.push_constant_dynamic(name.clone(), v.clone());
        } else {
            s.push_dynamic(name.clone(), v.clone());
        }
    }
    s
}

/// The top-level variables, then the function's (which shadow them).
fn with_top(top: Option<&TopLevel>, local: &Scope) -> Scope<'static> {
    let mut all = top.map(|t| outer_scope(t, local)).unwrap_or_default();
    for (name, constant, v) in local.iter_raw() {
        if constant {
            all.push_constant_dynamic(name.to_string(), v.clone());
        } else {
            all.push_dynamic(name.to_string(), v.clone());
        }
    }
    all
}

/// Evaluate over the function's variables with the top-level ones behind
/// them; changes to the function's variables are kept.
fn eval_with_top(
    ctx: &mut EvalContext,
    top: &TopLevel,
    expr: &str,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let mut all = with_top(Some(top), ctx.scope());
    let r = ctx.engine().eval_with_scope::<Dynamic>(&mut all, expr);
    let names: Vec<String> = ctx
        .scope()
        .iter_raw()
        .map(|(n, ..)| n.to_string())
        .collect();
    for name in names {
        // the innermost variable of that name, in both scopes
        if let (Some(v), Some(slot)) = (all.get(&name).cloned(), ctx.scope_mut().get_mut(&name)) {
            *slot = v;
        }
    }
    r
}
