//! The Rhai engine: construction, module resolution, error rendering,
//! breakpoints and `on_exit` (hooks), `check` and `docs`.

pub mod check;
pub mod debugger;
pub mod docs;
pub mod errors;
pub mod hooks;
pub mod resolver;
pub mod run;

use crate::host::Host;
use rhai::{Dynamic, Engine};
use std::path::PathBuf;
use std::sync::Arc;

/// An engine with every host function. With a host, functions can run; without
/// one (check, docs) they are only known.
pub fn build(host: Option<Arc<Host>>) -> (Engine, Arc<resolver::Resolver>) {
    let mut engine = Engine::new();
    engine.set_max_expr_depths(256, 256);
    engine.set_max_call_levels(256);
    crate::api::register(&mut engine);
    engine.register_global_module(rhai::exported_module!(hooks::hooks_api).into());
    engine.on_print(|s| crate::ui::out(s));
    engine.on_debug(|s, src, pos| {
        crate::ui::err(format!("[debug] {}: {s}", errors::location(src, pos)))
    });
    let dir = match &host {
        Some(h) => h.settings().script_dir.clone(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    let resolver = Arc::new(resolver::Resolver::new(dir));
    engine.set_module_resolver(SharedResolver(resolver.clone()));
    if let Some(h) = host {
        let hp = h.clone();
        engine.on_progress(move |_| {
            if hp.interrupt().is_set() {
                Some(Dynamic::from(crate::exit::Interrupted.to_string()))
            } else {
                None
            }
        });
        engine.set_default_tag(hooks::tag(h, Default::default()));
    }
    (engine, resolver)
}

/// The resolver is shared with `check` and error rendering.
struct SharedResolver(Arc<resolver::Resolver>);

impl rhai::ModuleResolver for SharedResolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: rhai::Position,
    ) -> Result<rhai::Shared<rhai::Module>, Box<rhai::EvalAltResult>> {
        self.0.resolve(engine, source, path, pos)
    }
}
