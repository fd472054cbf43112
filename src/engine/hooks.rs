//! What the engine keeps for a run besides the host: the `on_exit`
//! handlers, and the note by which a breakpoint prompt tells `breakpoint()`
//! that it has stopped there already; with the Rhai functions that use them.
//! The engine's tag carries both the host (for `api/`) and these hooks.

use crate::api::{error, host, RResult};
use crate::host::Host;
use rhai::plugin::*;
use rhai::{Dynamic, FnPtr, Map};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Hooks {
    on_exit: Mutex<Vec<FnPtr>>,
    /// set by the debugger when its prompt already handled a `breakpoint()` call
    prompted: AtomicBool,
}

impl Hooks {
    pub fn on_exit(&self, f: FnPtr) {
        self.on_exit.lock().unwrap().push(f);
    }

    /// The `on_exit` handlers, last registered first (and forgotten).
    pub fn take_on_exit(&self) -> Vec<FnPtr> {
        self.on_exit.lock().unwrap().drain(..).rev().collect()
    }

    /// The debugger's prompt handled the `breakpoint()` call about to run.
    pub fn prompted(&self) {
        self.prompted.store(true, Ordering::SeqCst);
    }

    fn take_prompted(&self) -> bool {
        self.prompted.swap(false, Ordering::SeqCst)
    }
}

/// The engine's tag: the host for host functions, the hooks for the engine.
pub fn tag(host: Arc<Host>, hooks: Arc<Hooks>) -> Dynamic {
    let mut m = Map::new();
    m.insert(crate::api::HOST_TAG.into(), Dynamic::from(host));
    m.insert("hooks".into(), Dynamic::from(hooks));
    Dynamic::from_map(m)
}

/// The hooks of an engine built with a host.
pub fn of(engine: &rhai::Engine) -> Option<Arc<Hooks>> {
    from_tag(engine.default_tag())
}

fn from_tag(t: &Dynamic) -> Option<Arc<Hooks>> {
    t.read_lock::<Map>()?
        .get("hooks")?
        .clone()
        .try_cast::<Arc<Hooks>>()
}

fn hooks(ctx: &NativeCallContext) -> RResult<Arc<Hooks>> {
    ctx.tag()
        .and_then(from_tag)
        .ok_or_else(|| error("this function needs a running scaffold host"))
}

#[export_module]
pub mod hooks_api {
    /// Register `f` to run when the script ends: normally, on error and on
    /// Ctrl-C. Handlers run last registered first.
    ///
    /// ```rhai
    /// on_exit(|| sh("kind delete cluster --name demo"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn on_exit(ctx: NativeCallContext, f: FnPtr) -> Result<(), Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("on_exit", String::new);
        hooks(&ctx)?.on_exit(f);
        Ok(())
    }

    /// Pause for the user: shows where the script is and prompts. At the
    /// prompt Enter or `:c` continues, `:q` aborts (on_exit handlers still
    /// run), `:vars` lists variables, `:where` shows the call stack, anything
    /// else is evaluated as an expression that sees the script's variables.
    /// Logged and skipped when not interactive or with `--no-breakpoints`.
    #[rhai_fn(name = "breakpoint", return_raw)]
    pub fn breakpoint(ctx: NativeCallContext) -> Result<(), Box<EvalAltResult>> {
        breakpoint_msg(ctx, "")
    }

    /// `breakpoint()` with a message shown at the prompt.
    ///
    /// ```rhai
    /// breakpoint("open Grafana at http://localhost:3000, then continue");
    /// ```
    #[rhai_fn(name = "breakpoint", return_raw)]
    pub fn breakpoint_msg(ctx: NativeCallContext, msg: &str) -> Result<(), Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("breakpoint", || format!("{msg:?}"));
        if hooks(&ctx)?.take_prompted() {
            return Ok(());
        }
        let loc = crate::api::errors::location(ctx.call_source(), ctx.call_position());
        let why = if crate::ui::interactive() {
            "--no-breakpoints"
        } else {
            "not interactive"
        };
        let msg = if msg.is_empty() {
            String::new()
        } else {
            format!(": {msg}")
        };
        crate::ui::err(format!("[breakpoint] {loc}{msg} (skipped: {why})"));
        Ok(())
    }
}
