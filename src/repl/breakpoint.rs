//! The breakpoint prompt: `:c`, `:q`, `:vars`, `:where`, or an expression
//! evaluated over the paused script's variables.

use rhai::{Dynamic, EvalAltResult, EvalContext};

const HELP: &str =
    "Enter or :c continue, :q abort (on_exit handlers still run), :vars variables, :where call stack, or a Rhai expression";

/// Prompt until the user continues (Ok) or aborts (Err, ends the script).
pub fn prompt(
    ctx: &mut EvalContext,
    location: &str,
    message: Option<&str>,
) -> Result<(), Box<EvalAltResult>> {
    let msg = message
        .filter(|m| !m.is_empty())
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    crate::ui::err(format!("\n[breakpoint] {location}{msg}\n  {HELP}"));
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
                    ":vars" => super::print_vars(ctx.scope()),
                    ":where" => {
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
                    ":help" | ":h" | "?" => crate::ui::out(HELP),
                    expr => {
                        let engine = ctx.engine();
                        let r = engine.eval_with_scope::<Dynamic>(ctx.scope_mut(), expr);
                        super::show_result(r, "<breakpoint>");
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
