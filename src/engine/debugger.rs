//! Breakpoints through Rhai's debugger: `breakpoint(msg)` calls and
//! `--break-at FILE:LINE` stop with the paused script's scope, so the prompt
//! can evaluate expressions over its variables.

use crate::host::Host;
use rhai::debugger::{BreakPoint, DebuggerCommand, DebuggerEvent};
use rhai::{ASTNode, Engine, Expr, Position, Stmt};
use std::sync::{Arc, Mutex};

/// The prompt shown at a stop (the REPL's, given by the caller so the
/// engine does not depend on the REPL): location, message; `Err` aborts.
pub type Prompt =
    fn(&mut rhai::EvalContext, &str, Option<&str>) -> Result<(), Box<rhai::EvalAltResult>>;

/// Attach the debugger. `break_at` holds (source display name, line).
#[allow(deprecated)] // register_debugger is marked volatile, not deprecated
pub fn attach(
    engine: &mut Engine,
    host: Arc<Host>,
    break_at: Vec<(String, usize)>,
    prompt: Prompt,
) {
    let lines = break_at.clone();
    // After a --break-at stop we step over the rest of that line silently, so
    // one execution of a line stops once: (source, line, address of the
    // statement we stopped at). Reaching that same statement again (a loop)
    // is a new execution and stops again.
    let stepping: Mutex<Option<(String, usize, usize)>> = Mutex::new(None);
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
                            prompt(&mut ctx, &loc, msg.as_deref())?;
                            Ok(DebuggerCommand::Continue)
                        }
                        _ => {
                            if let Some((s, l, p)) = stepping.lock().unwrap().as_ref() {
                                if *s == src && *l == line && *p != node_id(&node) {
                                    return Ok(DebuggerCommand::Next);
                                }
                            }
                            stop_at_line(&mut ctx, &stepping, src, line, &node, prompt)
                        }
                    }
                }
                DebuggerEvent::Step => {
                    let same_line = stepping
                        .lock()
                        .unwrap()
                        .as_ref()
                        .map(|(s, l, p)| (*s == src && *l == line, *p == node_id(&node)));
                    match same_line {
                        Some((true, false)) => Ok(DebuggerCommand::Next),
                        Some((true, true)) => {
                            stop_at_line(&mut ctx, &stepping, src, line, &node, prompt)
                        }
                        _ if is_break_line(&src, line) => {
                            stop_at_line(&mut ctx, &stepping, src, line, &node, prompt)
                        }
                        _ => {
                            *stepping.lock().unwrap() = None;
                            Ok(DebuggerCommand::Continue)
                        }
                    }
                }
                _ => Ok(DebuggerCommand::Continue),
            }
        },
    );
}

type Stepping = Mutex<Option<(String, usize, usize)>>;

/// Identity of an AST node (stable while the AST lives).
fn node_id(node: &ASTNode) -> usize {
    match node {
        ASTNode::Stmt(s) => *s as *const Stmt as usize,
        ASTNode::Expr(e) => *e as *const Expr as usize,
        #[allow(unreachable_patterns)]
        _ => 0,
    }
}

fn stop_at_line(
    ctx: &mut rhai::EvalContext,
    stepping: &Stepping,
    src: String,
    line: usize,
    node: &ASTNode,
    prompt: Prompt,
) -> Result<DebuggerCommand, Box<rhai::EvalAltResult>> {
    let loc = format!("{src}:{line}");
    prompt(ctx, &loc, None)?;
    *stepping.lock().unwrap() = Some((src, line, node_id(node)));
    Ok(DebuggerCommand::Next)
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
