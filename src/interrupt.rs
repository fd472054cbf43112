//! Ctrl-C handling: one shared flag + cancellation token that every long
//! host call races against (see docs/ARCHITECTURE.md "The async bridge").
//! Cleanup runs shielded: a Ctrl-C while it runs is held back until it is
//! done, so a delete is never cancelled half-way. In a script run the
//! second Ctrl-C takes the emergency path (kill process groups, delete the
//! run's labelled objects, a few seconds at most) and exits.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// What a second Ctrl-C does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// `scaffold script`: first Ctrl-C cancels and cleans up, second exits
    /// after the emergency path.
    Script,
    /// `scaffold repl`: every Ctrl-C cancels the running call only.
    Repl,
}

type Emergency = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Interrupt state shared by the signal task, the engine's progress hook and
/// every blocking host call.
#[derive(Default)]
pub struct Interrupt {
    flag: AtomicBool,
    count: AtomicUsize,
    token: Mutex<CancellationToken>,
    /// shielded sections running (cleanup): trips wait for them
    shield: AtomicUsize,
    /// a Ctrl-C arrived during a shielded section
    held: AtomicBool,
    emergency: Mutex<Option<Emergency>>,
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

    /// Trip the flag and cancel every call racing the current token; during
    /// a shielded section the trip is held back until it ends.
    pub fn trip(&self) {
        if self.shield.load(Ordering::SeqCst) > 0 {
            self.held.store(true, Ordering::SeqCst);
            return;
        }
        self.flag.store(true, Ordering::SeqCst);
        self.token.lock().unwrap().cancel();
    }

    /// Clear the interrupt after it was handled (the REPL does this after each input).
    pub fn reset(&self) {
        self.flag.store(false, Ordering::SeqCst);
        self.count.store(0, Ordering::SeqCst);
        self.held.store(false, Ordering::SeqCst);
        *self.token.lock().unwrap() = CancellationToken::new();
    }

    /// Run `f` with a fresh token that no Ctrl-C cancels, so cleanup after
    /// an interrupt can still make calls and finishes (deleting pods after
    /// Ctrl-C must not be cancelled itself). A Ctrl-C meanwhile takes
    /// effect when `f` returns.
    pub fn shielded<T>(&self, f: impl FnOnce() -> T) -> T {
        self.shield.fetch_add(1, Ordering::SeqCst);
        let saved = {
            let mut t = self.token.lock().unwrap();
            std::mem::replace(&mut *t, CancellationToken::new())
        };
        let was = self.flag.swap(false, Ordering::SeqCst);
        let out = f();
        *self.token.lock().unwrap() = saved;
        self.flag.store(was, Ordering::SeqCst);
        if self.shield.fetch_sub(1, Ordering::SeqCst) == 1
            && self.held.swap(false, Ordering::SeqCst)
        {
            self.trip();
        }
        out
    }

    /// What the second Ctrl-C of a script run does before exiting.
    pub fn set_emergency(&self, f: Emergency) {
        *self.emergency.lock().unwrap() = Some(f);
    }

    /// Install SIGINT/SIGTERM handlers on the runtime.
    pub fn install(self: &Arc<Self>, rt: &tokio::runtime::Handle, mode: Mode) {
        let me = self.clone();
        // Register synchronously, so the handler exists before anything
        // (the REPL's line editor) looks at SIGINT.
        let _g = rt.enter();
        let Ok(mut signals) = crate::signals::Interrupts::new() else {
            crate::ui::warn("cannot install the Ctrl-C handler");
            return;
        };
        rt.spawn(async move {
            loop {
                signals.recv().await;
                let n = me.count.fetch_add(1, Ordering::SeqCst) + 1;
                if mode == Mode::Script && n >= 2 {
                    me.exit_now().await;
                }
                if mode == Mode::Script {
                    // an output nobody reads must not hold up the cleanup
                    crate::ui::never_block();
                    crate::ui::err("interrupted: stopping, running on_exit handlers and cleanup (Ctrl-C again to exit now)");
                } else if me.shield.load(Ordering::SeqCst) > 0 {
                    crate::ui::err("cleanup in progress: it finishes first");
                }
                me.trip();
            }
        });
    }

    async fn exit_now(&self) -> ! {
        crate::ui::err("interrupted again: killing processes and deleting this run's objects (at most a few seconds), then exiting");
        let f = self.emergency.lock().unwrap().clone();
        if let Some(f) = f {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(6), f()).await;
        }
        crate::signals::kill_all_groups();
        crate::ui::flush(std::time::Duration::from_millis(500));
        std::process::exit(130);
    }
}
