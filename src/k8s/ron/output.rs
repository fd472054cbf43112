//! A ron's output: from an attach to `main` when the pod was made to wait
//! for one (the command's output then arrives the moment it is written,
//! and its exit code with the exit marker), else from the log stream,
//! which the API serves only once the kubelet's status knows the container
//! (about a second after it started).
//!
//! The gate: `main` first runs `timeout GATE cat` on its stdin (stdinOnce),
//! then prints the start marker and runs the command. The attach closes
//! stdin, so the command starts only once its output is being read; the
//! first stdout line of the attach is then the start marker. An attach
//! that cannot be made (no `pods/attach` right) or that comes too late
//! (the gate timed out, the first line is something else) reads nothing:
//! the log stream, which holds everything, is read instead.

use super::spec::{Spec, GATE_SECS};
use crate::capture::Capture;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;

/// Where output lines go (the terminal, with a node prefix for `ron_all`).
pub type Out = Arc<dyn Fn(&str) + Send + Sync>;

/// How often an attach is tried while `main` is not running yet.
const RETRY: Duration = Duration::from_millis(50);

/// How long output may trail the exit marker.
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// Where the pod is, as `follow` sees it from the watch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stage {
    Pending,
    OnNode,
    /// the kubelet reported `main` running at that moment
    Running(Instant),
    Ended,
}

/// Output lines: printed, kept, with the markers taken out.
pub struct Lines {
    pub s: Spec,
    pub logs: Arc<Mutex<Capture>>,
    pub out: Out,
    pub count: usize,
}

impl Lines {
    /// Take a line; the exit code when it carries the exit marker.
    pub fn line(&mut self, l: &str) -> Option<i32> {
        if self.s.gate && l == self.s.start_marker() {
            return None;
        }
        self.count += 1;
        let marker = self.s.exit_marker();
        // the marker ends the last line, or stands on a line of its own
        let (text, exit) = match marker
            .as_deref()
            .and_then(|m| l.find(m).map(|i| (i, m.len())))
        {
            Some((i, n)) => (&l[..i], l[i + n..].trim().parse().ok()),
            None => (l, None),
        };
        if exit.is_none() || !text.is_empty() {
            (self.out)(&format!("{}{text}", self.s.prefix));
            self.logs.lock().unwrap().line(text);
        }
        exit
    }
}

/// How an attach went.
pub enum Attached {
    /// all the output was read; the exit code if the marker came
    Read(Option<i32>),
    /// nothing was read: use the log stream
    Missed,
}

/// Attach to the gated `main` as soon as it runs, release it, and read its
/// output to the end.
pub async fn attach(
    client: &kube::Client,
    lines: &mut Lines,
    stage: &mut tokio::sync::watch::Receiver<Stage>,
) -> Attached {
    if stage.wait_for(|st| *st != Stage::Pending).await.is_err() {
        return Attached::Missed;
    }
    let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(client.clone(), &lines.s.namespace);
    let params = kube::api::AttachParams::default()
        .container("main")
        .stdin(true)
        .stdout(true)
        .stderr(true);
    let start = lines.s.start_marker();
    loop {
        // the gate opened by itself (or the command ended): too late
        match *stage.borrow() {
            Stage::Ended => return Attached::Missed,
            Stage::Running(t) if t.elapsed() >= Duration::from_secs(GATE_SECS - 1) => {
                return Attached::Missed
            }
            _ => {}
        }
        let mut p = match api.attach(&lines.s.pod_name, &params).await {
            Ok(p) => p,
            // not allowed: the gate opens by itself, the logs tell
            Err(e) if refused(&e) => return Attached::Missed,
            // not running yet (created, starting): again shortly
            Err(_) => {
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        // closing stdin ends the gate's `cat`
        drop(p.stdin());
        let (Some(out), Some(err)) = (p.stdout(), p.stderr()) else {
            return Attached::Missed;
        };
        let mut out = tokio::io::BufReader::new(out).lines();
        match out.next_line().await {
            Ok(Some(l)) if l == start => return read(out, err, lines).await,
            // the kubelet found no running container (the API server
            // answers the upgrade first, the kubelet's error comes in the
            // stream): again shortly
            Ok(None) => tokio::time::sleep(RETRY).await,
            _ => return Attached::Missed,
        }
    }
}

/// The token may not attach (401/403): retrying will not help.
fn refused(e: &kube::Error) -> bool {
    use kube::client::UpgradeConnectionError::ProtocolSwitch;
    match e {
        kube::Error::Api(s) => matches!(s.code, 401 | 403),
        kube::Error::UpgradeConnection(ProtocolSwitch(c)) => matches!(c.as_u16(), 401 | 403),
        _ => false,
    }
}

/// Read both streams of a released `main` to their end (it exited).
async fn read(
    mut out: tokio::io::Lines<impl tokio::io::AsyncBufRead + Unpin>,
    err: impl tokio::io::AsyncRead + Unpin,
    lines: &mut Lines,
) -> Attached {
    let mut err = tokio::io::BufReader::new(err).lines();
    let (mut out_open, mut err_open, mut code) = (true, true, None);
    // after the exit marker only what the command wrote just before it is
    // still to come: a background process keeping the streams open is
    // not waited for
    let mut after_exit = std::pin::pin!(tokio::time::sleep(Duration::MAX));
    while out_open || err_open {
        let (l, from_out) = tokio::select! {
            l = out.next_line(), if out_open => (l, true),
            l = err.next_line(), if err_open => (l, false),
            _ = &mut after_exit => break,
        };
        match l {
            Ok(Some(l)) => {
                if let Some(c) = lines.line(&l) {
                    code = Some(c);
                    after_exit
                        .as_mut()
                        .reset(tokio::time::Instant::now() + EXIT_GRACE);
                }
            }
            // the stream ended (or broke: what was read stands, the
            // pod's status gives the code if the marker did not come)
            _ if from_out => out_open = false,
            _ => err_open = false,
        }
    }
    Attached::Read(code)
}
