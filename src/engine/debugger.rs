//! Breakpoints through Rhai's debugger: `breakpoint(msg)` calls and
//! `--break-at FILE:LINE` stop with the paused script's scope, so the prompt
//! can evaluate expressions over its variables.

use crate::host::Host;
use rhai::debugger::{BreakPoint, DebuggerCommand, DebuggerEvent};
use rhai::{ASTNode, Engine, Expr, Position, Stmt};
use std::sync::{Arc, Mutex};

/// Attach the debugger. `break_at` holds (source display name, line).
#[allow(deprecated)] // register_debugger is marked volatile, not deprecated
pub fn attach(engine: &mut Engine, host: Arc<Host>, break_at: Vec<(String, usize)>) {
    let lines = break_at.clone();
    // (source, line) we are stepping over after a --break-at stop, so one
    // execution of a line stops once.
    let stepping: Mutex<Option<(String, usize)>> = Mutex::new(None);
    engine.register_debugger(
        move |_, mut dbg| {
            dbg.break_points_mut().push(BreakPoint::AtFunctionName {
                name: "breakpoint".into(),
                enabled: true,
            });
            for (src, line) in &lines {
                dbg.break_points_mut().push(BreakPoint::AtPosition {
                    source: Some(src.as_str().into()),
                    pos: Position::new(*line as u16, 0),
                    enabled: true,
                });
            }
            dbg
        },
        move |mut ctx, event, node, source, pos| {
            let src = source.unwrap_or("").to_string();
            let line = pos.line().unwrap_or(0);
            let is_break_line =
                |s: &str, l: usize| break_at.iter().any(|(bs, bl)| bs == s && *bl == l);
            match event {
                DebuggerEvent::BreakPoint(i) => {
                    let bp = ctx.global_runtime_state().debugger().break_points()[i].clone();
                    match bp {
                        BreakPoint::AtFunctionName { .. } => {
                            let msg = call_message(&mut ctx, &node)?;
                            host.breakpoint_handled
                                .store(true, std::sync::atomic::Ordering::SeqCst);
                            let loc = format!("{src}:{line}");
                            crate::repl::breakpoint::prompt(&mut ctx, &host, &loc, msg.as_deref())?;
                            Ok(DebuggerCommand::Continue)
                        }
                        _ => {
                            let loc = format!("{src}:{line}");
                            crate::repl::breakpoint::prompt(&mut ctx, &host, &loc, None)?;
                            *stepping.lock().unwrap() = Some((src, line));
                            Ok(DebuggerCommand::Next)
                        }
                    }
                }
                DebuggerEvent::Step => {
                    let mut st = stepping.lock().unwrap();
                    if st.as_ref() == Some(&(src.clone(), line)) {
                        return Ok(DebuggerCommand::Next);
                    }
                    if is_break_line(&src, line) {
                        drop(st);
                        let loc = format!("{src}:{line}");
                        crate::repl::breakpoint::prompt(&mut ctx, &host, &loc, None)?;
                        *stepping.lock().unwrap() = Some((src, line));
                        return Ok(DebuggerCommand::Next);
                    }
                    *st = None;
                    Ok(DebuggerCommand::Continue)
                }
                _ => Ok(DebuggerCommand::Continue),
            }
        },
    );
}

/// Evaluate the message argument of a `breakpoint(msg)` call.
fn call_message(
    ctx: &mut rhai::EvalContext,
    node: &ASTNode,
) -> Result<Option<String>, Box<rhai::EvalAltResult>> {
    let call = match node {
        ASTNode::Expr(Expr::FnCall(x, ..)) | ASTNode::Stmt(Stmt::FnCall(x, ..)) => x,
        _ => return Ok(None),
    };
    match call.args.first() {
        Some(arg) => {
            let v = ctx.eval_expression_tree(&arg.into())?;
            Ok(Some(v.to_string()))
        }
        None => Ok(None),
    }
}
