//! Process groups and signals, in one place: every command scaffold starts
//! leads a process group of its own, signalled whole (a shell's
//! grandchildren go with it); the groups still running are tracked for the
//! second Ctrl-C; and Ctrl-C and SIGTERM arrive as one stream.

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

/// The signals scaffold sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C: a run cleans up
    Int,
    /// terminate, with a grace period
    Term,
    /// no grace
    Kill,
}

impl Signal {
    fn number(self) -> i32 {
        match self {
            Signal::Int => libc::SIGINT,
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        }
    }
}

/// Signal the process group led by `pid` (a command we started).
pub fn signal_group(pid: u32, sig: Signal) {
    if pid == 0 {
        return;
    }
    // SAFETY: kill(2) with a negative pid signals the process group we created.
    unsafe {
        libc::kill(-(pid as i32), sig.number());
    }
}

/// Signal one process we started and still wait for.
pub fn signal_process(pid: u32, sig: Signal) {
    if pid == 0 {
        return;
    }
    // SAFETY: kill(2) on a child we started and have not reaped.
    unsafe {
        libc::kill(pid as i32, sig.number());
    }
}

/// Process groups of commands still running (for the emergency path).
fn live_groups() -> &'static Mutex<BTreeSet<u32>> {
    static LIVE: OnceLock<Mutex<BTreeSet<u32>>> = OnceLock::new();
    LIVE.get_or_init(Default::default)
}

/// SIGKILL every process group of a command still running (the second
/// Ctrl-C: no time for SIGTERM and a grace period).
pub fn kill_all_groups() {
    for pid in live_groups().lock().unwrap().iter() {
        signal_group(*pid, Signal::Kill);
    }
}

/// Tracks a command's process group while it runs, and kills the whole
/// group if the run is dropped before the command ended (killing the
/// child alone would leave its grandchildren). `disarm` once it ended.
pub struct GroupGuard {
    pid: u32,
    armed: bool,
}

impl GroupGuard {
    pub fn new(pid: u32) -> GroupGuard {
        if pid != 0 {
            live_groups().lock().unwrap().insert(pid);
        }
        GroupGuard {
            pid,
            armed: pid != 0,
        }
    }

    /// The command ended: nothing to kill when the guard goes.
    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        live_groups().lock().unwrap().remove(&self.pid);
        if self.armed {
            signal_group(self.pid, Signal::Kill);
        }
    }
}

/// Ctrl-C (SIGINT), SIGTERM, SIGHUP (the ssh session or terminal went
/// away) and SIGQUIT as one stream: each means "stop and clean up".
/// Created inside a runtime; from then on the signals no longer end the
/// process by themselves.
pub struct Interrupts {
    signals: Vec<tokio::signal::unix::Signal>,
}

impl Interrupts {
    pub fn new() -> Result<Interrupts, String> {
        use tokio::signal::unix::{signal, SignalKind};
        let kinds = [
            SignalKind::interrupt(),
            SignalKind::terminate(),
            SignalKind::hangup(),
            SignalKind::quit(),
        ];
        let signals = kinds
            .into_iter()
            .map(|k| signal(k).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        Ok(Interrupts { signals })
    }

    /// The next Ctrl-C, SIGTERM, SIGHUP or SIGQUIT.
    pub async fn recv(&mut self) {
        let next = self.signals.iter_mut().map(|s| Box::pin(s.recv()));
        futures::future::select_all(next).await;
    }
}

/// Is a process with this id alive (and not a zombie)? For runs a sweep
/// started, whose ids sweep.json records.
pub fn alive(pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // the state is the field after the command's closing parenthesis
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Run `f` (a line editor's setup, which installs its own SIGINT handler)
/// and put our SIGINT handler back, so Ctrl-C during a running call
/// interrupts it. (At the prompt the terminal is raw and Ctrl-C arrives as
/// a key, not a signal.)
pub fn keep_sigint<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: plain sigaction(2) calls saving and restoring one disposition.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old);
        let r = f();
        libc::sigaction(libc::SIGINT, &old, std::ptr::null_mut());
        r
    }
}
