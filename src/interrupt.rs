//! Ctrl-C handling: one shared flag + cancellation token that every long
//! host call races against (see docs/ARCHITECTURE.md "The async bridge").

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// What a second Ctrl-C does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// `scaffold script`: first Ctrl-C cancels and cleans up, second exits at once.
    Script,
    /// `scaffold repl`: every Ctrl-C cancels the running call only.
    Repl,
}

/// Interrupt state shared by the signal task, the engine's progress hook and
/// every blocking host call.
#[derive(Default)]
pub struct Interrupt {
    flag: AtomicBool,
    count: AtomicUsize,
    token: Mutex<CancellationToken>,
}

impl Interrupt {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// True once Ctrl-C was pressed (until `reset`).
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// The token the current call should race against.
    pub fn token(&self) -> CancellationToken {
        self.token.lock().unwrap().clone()
    }

    /// Trip the flag and cancel every call racing the current token.
    pub fn trip(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.token.lock().unwrap().cancel();
    }

    /// Clear the interrupt after it was handled (the REPL does this after each input).
    pub fn reset(&self) {
        self.flag.store(false, Ordering::SeqCst);
        self.count.store(0, Ordering::SeqCst);
        *self.token.lock().unwrap() = CancellationToken::new();
    }

    /// Run `f` with a fresh token so that cleanup after an interrupt can still
    /// make calls (deleting pods after Ctrl-C must not be cancelled itself).
    pub fn shielded<T>(&self, f: impl FnOnce() -> T) -> T {
        let saved = {
            let mut t = self.token.lock().unwrap();
            std::mem::replace(&mut *t, CancellationToken::new())
        };
        let was = self.flag.swap(false, Ordering::SeqCst);
        let out = f();
        *self.token.lock().unwrap() = saved;
        self.flag
            .store(was || self.flag.load(Ordering::SeqCst), Ordering::SeqCst);
        out
    }

    /// Install SIGINT/SIGTERM handlers on the runtime.
    pub fn install(self: &Arc<Self>, rt: &tokio::runtime::Handle, mode: Mode) {
        use tokio::signal::unix::{signal, SignalKind};
        let me = self.clone();
        // Register synchronously, so the handler exists before anything
        // (the REPL's line editor) looks at SIGINT.
        let _g = rt.enter();
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            crate::ui::warn("cannot install the Ctrl-C handler");
            return;
        };
        rt.spawn(async move {
            loop {
                tokio::select! {
                    _ = int.recv() => {},
                    _ = term.recv() => {},
                }
                let n = me.count.fetch_add(1, Ordering::SeqCst) + 1;
                if mode == Mode::Script && n >= 2 {
                    crate::ui::err("interrupted again: exiting now without cleanup");
                    std::process::exit(130);
                }
                if mode == Mode::Script {
                    crate::ui::err("interrupted: stopping, running on_exit handlers and cleanup (Ctrl-C again to exit now)");
                }
                me.trip();
            }
        });
    }
}
