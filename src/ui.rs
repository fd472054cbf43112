//! Terminal output: plain lines that never tear a running spinner, step
//! spinners on a TTY, plain start/end lines otherwise.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::time::Duration;

fn multi() -> &'static MultiProgress {
    static M: OnceLock<MultiProgress> = OnceLock::new();
    M.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

/// True when stderr is a terminal (spinners are drawn only then).
pub fn stderr_is_tty() -> bool {
    static T: OnceLock<bool> = OnceLock::new();
    *T.get_or_init(|| std::io::stderr().is_terminal())
}

/// True when both stdin and stdout are terminals: prompts may be shown.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// A line for the terminal writer.
enum Line {
    Out(String),
    Err(String),
    Flush(std::sync::mpsc::SyncSender<()>),
}

thread_local! {
    static WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Mark the current thread as a runtime worker: its output lines are never
/// written with a blocking write (the runtime's `on_thread_start`).
pub fn mark_worker() {
    WORKER.with(|w| w.set(true));
}

/// Lines a worker thread could not hand over because nobody reads the output.
static DROPPED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One thread writes every line, in order. Runtime workers hand lines over
/// without blocking (a full queue drops the line and counts it), so a slow
/// or unread stdout pipe never stalls the runtime, the Ctrl-C handler
/// included; other threads wait for room.
fn writer() -> &'static std::sync::mpsc::SyncSender<Line> {
    static W: OnceLock<std::sync::mpsc::SyncSender<Line>> = OnceLock::new();
    W.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Line>(8192);
        std::thread::Builder::new()
            .name("scaffold-output".into())
            .spawn(move || {
                for l in rx {
                    write_line(l);
                }
            })
            .expect("output thread");
        tx
    })
}

fn write_line(l: Line) {
    let dropped = DROPPED.swap(0, std::sync::atomic::Ordering::SeqCst);
    multi().suspend(|| {
        if dropped > 0 {
            let _ = writeln!(
                std::io::stderr().lock(),
                "[warn] {dropped} output line(s) dropped: the output was not being read"
            );
        }
        match l {
            Line::Out(s) => {
                let mut o = std::io::stdout().lock();
                let _ = writeln!(o, "{}", crate::secrets::redact(&s));
                let _ = o.flush();
            }
            Line::Err(s) => {
                let _ = writeln!(std::io::stderr().lock(), "{}", crate::secrets::redact(&s));
            }
            Line::Flush(ack) => {
                let _ = ack.send(());
            }
        }
    });
}

/// Set after Ctrl-C: from then on no thread waits for the output to be
/// read (a line that finds the queue full is dropped and counted).
static NEVER_BLOCK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Stop waiting for the output to be read, on every thread (the run is
/// being stopped: its cleanup must not wait for a reader that never comes).
pub fn never_block() {
    NEVER_BLOCK.store(true, std::sync::atomic::Ordering::SeqCst);
}

fn send(l: Line) {
    if WORKER.with(|w| w.get()) || NEVER_BLOCK.load(std::sync::atomic::Ordering::SeqCst) {
        if let Err(std::sync::mpsc::TrySendError::Full(_)) = writer().try_send(l) {
            DROPPED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    } else {
        let _ = writer().send(l);
    }
}

/// Wait until every line handed over so far is written (at most `limit`).
pub fn flush(limit: Duration) {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    if writer().try_send(Line::Flush(tx)).is_ok() {
        let _ = rx.recv_timeout(limit);
    }
}

/// Print a line to stdout.
pub fn out(line: impl AsRef<str>) {
    send(Line::Out(line.as_ref().to_string()));
}

/// Print a line to stderr.
pub fn err(line: impl AsRef<str>) {
    send(Line::Err(line.as_ref().to_string()));
}

pub fn info(msg: &str) {
    err(format!("[info] {msg}"));
}

pub fn warn(msg: &str) {
    err(format!("[warn] {msg}"));
}

/// A step's progress display: a spinner with elapsed time on a TTY, plain
/// lines otherwise.
pub struct StepDisplay {
    bar: Option<ProgressBar>,
    name: String,
}

impl StepDisplay {
    pub fn start(name: &str) -> Self {
        if stderr_is_tty() {
            let bar = multi().add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(crate::secrets::redact(name).into_owned());
            bar.enable_steady_tick(Duration::from_millis(100));
            Self {
                bar: Some(bar),
                name: name.to_string(),
            }
        } else {
            err(format!("==> step '{name}' started"));
            Self {
                bar: None,
                name: name.to_string(),
            }
        }
    }

    pub fn finish(self, secs: f64, error: Option<&str>) {
        let line = match error {
            None => format!("==> step '{}' ok ({})", self.name, human_secs(secs)),
            Some(e) => format!(
                "==> step '{}' FAILED after {}: {}",
                self.name,
                human_secs(secs),
                first_line(e)
            ),
        };
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
            multi().remove(&bar);
        }
        err(line);
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// `1.23s`, `450ms`, `2m03s`.
pub fn human_secs(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0}ms", secs * 1000.0)
    } else if secs < 60.0 {
        format!("{secs:.2}s")
    } else {
        let m = (secs / 60.0).floor();
        format!("{}m{:02.0}s", m as u64, secs - m * 60.0)
    }
}

/// A progress line for long waits: a spinner with a changing message on a
/// TTY; otherwise a plain line each time the message changes.
pub struct Progress {
    bar: Option<ProgressBar>,
    last: std::sync::Mutex<(std::time::Instant, String)>,
}

impl Progress {
    pub fn start(msg: &str) -> Self {
        let bar = stderr_is_tty().then(|| {
            let bar = multi().add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(crate::secrets::redact(msg).into_owned());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        if bar.is_none() {
            err(msg);
        }
        Progress {
            bar,
            last: std::sync::Mutex::new((std::time::Instant::now(), msg.to_string())),
        }
    }

    pub fn set(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.set_message(crate::secrets::redact(msg).into_owned()),
            None => {
                let mut l = self.last.lock().unwrap();
                if l.1 != msg {
                    *l = (std::time::Instant::now(), msg.to_string());
                    err(msg);
                }
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
            multi().remove(&b);
        }
    }
}

/// A writer that hands whole lines to the output thread, where secrets are
/// masked like every other line: `tracing` (`-v`, `SCAFFOLD_LOG`) writes
/// through it, never straight to stderr.
#[derive(Default)]
pub struct ErrLines(Vec<u8>);

impl std::io::Write for ErrLines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        while let Some(i) = self.0.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.0.drain(..=i).collect();
            err(String::from_utf8_lossy(&line[..i]));
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ErrLines {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            err(String::from_utf8_lossy(&self.0));
        }
    }
}
