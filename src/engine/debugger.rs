//! Breakpoints through Rhai's debugger: `breakpoint(msg)` calls and
//! `--break-at FILE:LINE` stop with the paused script's scope, so the prompt
//! can evaluate expressions over its variables.

use super::hooks::Hooks;
use rhai::debugger::{BreakPoint, DebuggerCommand, DebuggerEvent};
use rhai::{ASTNode, Engine, Expr, Position, Stmt};
use std::sync::{Arc, Mutex};

/// The prompt shown at a stop (the REPL's, given by the caller so the
/// engine does not depend on the REPL): location, message, the script's
/// top-level variables when stopped inside a function; `Err` aborts.
pub type Prompt = fn(
    &mut rhai::EvalContext,
    &str,
    Option<&str>,
    Option<&TopLevel>,
) -> Result<(), Box<rhai::EvalAltResult>>;

/// The script's top-level variables (name, constant, value) as they were
/// when the running function was called from the top level: Rhai functions
/// cannot see them, the prompt can.
pub type TopLevel = Vec<(String, bool, rhai::Dynamic)>;

/// Attach the debugger. `break_at` holds (source display name, line);
/// `functions` are the script's own functions: a call of one from the top
/// level keeps a copy of the top-level variables for a stop inside it.
#[allow(deprecated)] // register_debugger is marked volatile, not deprecated
pub fn attach(
    engine: &mut Engine,
    break_at: Vec<(String, usize)>,
    functions: Vec<String>,
    prompt: Prompt,
) {
    let lines = break_at.clone();
    let stops = Stops {
        hooks: super::hooks::of(engine).unwrap_or_default(),
        break_at,
        prompt,
        top: Mutex::new(None),
        stepping: Mutex::new(None),
    };
    engine.register_debugger(
        move |_, mut dbg| {
            let named = std::iter::once("breakpoint").chain(functions.iter().map(|f| f.as_str()));
            for name in named {
                dbg.break_points_mut().push(BreakPoint::AtFunctionName {
                    name: name.into(),
                    enabled: true,
                });
            }
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
            let at = (source.unwrap_or("").to_string(), pos.line().unwrap_or(0));
            match event {
                DebuggerEvent::BreakPoint(i) => stops.breakpoint(&mut ctx, i, &node, at),
                DebuggerEvent::Step => stops.step(&mut ctx, &node, at),
                _ => Ok(DebuggerCommand::Continue),
            }
        },
    );
}

type Outcome = Result<DebuggerCommand, Box<rhai::EvalAltResult>>;

/// The state of a run's stops.
struct Stops {
    hooks: Arc<Hooks>,
    break_at: Vec<(String, usize)>,
    prompt: Prompt,
    /// the top-level variables when a script function was called from there
    top: Mutex<Option<TopLevel>>,
    /// After a --break-at stop we step over the rest of that line silently,
    /// so one execution of a line stops once: (source, line, address of the
    /// statement we stopped at). Reaching that same statement again (a
    /// loop) is a new execution and stops again.
    stepping: Stepping,
}

impl Stops {
    /// The top-level variables for a stop inside a function.
    fn top_for(&self, ctx: &rhai::EvalContext) -> Option<TopLevel> {
        let inside = !ctx
            .global_runtime_state()
            .debugger()
            .call_stack()
            .is_empty();
        inside.then(|| self.top.lock().unwrap().clone()).flatten()
    }

    /// A break point: a script function's call (keep the top level), a
    /// `breakpoint()` call (prompt), or a --break-at line.
    fn breakpoint(
        &self,
        ctx: &mut rhai::EvalContext,
        i: usize,
        node: &ASTNode,
        (src, line): (String, usize),
    ) -> Outcome {
        let bp = ctx.global_runtime_state().debugger().break_points()[i].clone();
        let at_top = ctx
            .global_runtime_state()
            .debugger()
            .call_stack()
            .is_empty();
        match bp {
            BreakPoint::AtFunctionName { name, .. } if name != "breakpoint" => {
                if at_top {
                    *self.top.lock().unwrap() = Some(snapshot(ctx.scope()));
                }
                Ok(DebuggerCommand::Continue)
            }
            BreakPoint::AtFunctionName { .. } => {
                let msg = call_message(ctx, node)?;
                self.hooks.prompted();
                let loc = format!("{src}:{line}");
                let t = self.top_for(ctx);
                (self.prompt)(ctx, &loc, msg.as_deref(), t.as_ref())?;
                Ok(DebuggerCommand::Continue)
            }
            _ => {
                if let Some((s, l, p)) = self.stepping.lock().unwrap().as_ref() {
                    if *s == src && *l == line && *p != node_id(node) {
                        return Ok(DebuggerCommand::Next);
                    }
                }
                let t = self.top_for(ctx);
                stop_at_line(ctx, &self.stepping, src, line, node, self.prompt, t)
            }
        }
    }

    /// A step after a --break-at stop: the rest of the line silently, the
    /// same statement again (a loop) or another break line stops.
    fn step(
        &self,
        ctx: &mut rhai::EvalContext,
        node: &ASTNode,
        (src, line): (String, usize),
    ) -> Outcome {
        let same_line = self
            .stepping
            .lock()
            .unwrap()
            .as_ref()
            .map(|(s, l, p)| (*s == src && *l == line, *p == node_id(node)));
        let is_break_line = self.break_at.iter().any(|(s, l)| *s == src && *l == line);
        match same_line {
            Some((true, false)) => Ok(DebuggerCommand::Next),
            Some((true, true)) => {
                let t = self.top_for(ctx);
                stop_at_line(ctx, &self.stepping, src, line, node, self.prompt, t)
            }
            _ if is_break_line => {
                let t = self.top_for(ctx);
                stop_at_line(ctx, &self.stepping, src, line, node, self.prompt, t)
            }
            _ => {
                *self.stepping.lock().unwrap() = None;
                Ok(DebuggerCommand::Continue)
            }
        }
    }
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
    top: Option<TopLevel>,
) -> Result<DebuggerCommand, Box<rhai::EvalAltResult>> {
    let loc = format!("{src}:{line}");
    prompt(ctx, &loc, None, top.as_ref())?;
    *stepping.lock().unwrap() = Some((src, line, node_id(node)));
    Ok(DebuggerCommand::Next)
}

/// A copy of the variables in scope.
fn snapshot(scope: &rhai::Scope) -> TopLevel {
    scope
        .iter_raw()
        .map(|(n, c, v)| (n.to_string(), c, v.clone()))
        .collect()
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
