//! Local child processes for `sh`, `sh_output` and `sh_bg`: live output,
//! captured output, a stderr tail for error messages, timeouts, and killing
//! the whole process group on interrupt.

pub mod background;

use crate::signals::{self, GroupGuard, Signal};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

/// A command: a string runs through `sh -c`, argv runs without a shell.
#[derive(Clone, Debug)]
pub enum Cmd {
    Shell(String),
    Argv(Vec<String>),
}

impl Cmd {
    /// How the command is shown in traces and errors.
    pub fn display(&self) -> String {
        match self {
            Cmd::Shell(s) => s.clone(),
            Cmd::Argv(v) => v
                .iter()
                .map(|a| shell_quote(a))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// The command as argv: a shell string becomes `sh -c STRING`.
    pub fn argv(self) -> Vec<String> {
        match self {
            Cmd::Shell(s) => vec!["sh".into(), "-c".into(), s],
            Cmd::Argv(v) => v,
        }
    }
}

/// Quote one word for a POSIX shell, only when needed.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[derive(Clone, Default)]
pub struct Opts {
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    /// do not echo output to the terminal
    pub quiet: bool,
    /// keep stdout/stderr in the result
    pub capture: bool,
    /// text fed to stdin (stdin is empty otherwise)
    pub stdin: Option<String>,
    /// prefix for echoed lines (e.g. `[node-1] `)
    pub prefix: String,
    /// where a captured output larger than [`crate::capture::LIMIT`] is
    /// written in full
    pub spill: Option<crate::capture::SpillDir>,
}

#[derive(Clone, Debug, Default)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub stderr_tail: Vec<String>,
    pub duration: Duration,
    pub timed_out: bool,
    pub interrupted: bool,
    /// when stdout or stderr is only the tail of a larger output, why
    pub notes: Vec<String>,
}

const TAIL: usize = 20;

/// What a pump read: the capture, the last lines (stderr), and whether the
/// pipe was still open when reading stopped.
type Read = (crate::capture::Captured, VecDeque<String>, bool);

/// Read a pipe to its end, or until `stop` (a grandchild that keeps the
/// pipe open after the command exited): what was read is kept either way.
async fn pump(
    r: impl AsyncRead + Unpin,
    to_stderr: bool,
    opts: &Opts,
    stop: CancellationToken,
) -> Read {
    let mut reader = BufReader::new(r);
    let mut buf = Vec::new();
    let name = if to_stderr { "stderr" } else { "stdout" };
    let mut all = crate::capture::Capture::new(name, opts.spill.clone());
    let mut tail = VecDeque::new();
    let mut open = false;
    loop {
        buf.clear();
        let read = tokio::select! {
            r = reader.read_until(b'\n', &mut buf) => r,
            // a partial line read so far is in `buf`
            _ = stop.cancelled() => { open = true; Ok(buf.len()) }
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => line(&buf, to_stderr, opts, &mut all, &mut tail),
        }
        if open {
            break;
        }
    }
    (all.finish(), tail, open)
}

/// One line of output: shown (unless quiet), captured, and for stderr
/// kept among the last lines.
fn line(
    buf: &[u8],
    to_stderr: bool,
    opts: &Opts,
    all: &mut crate::capture::Capture,
    tail: &mut VecDeque<String>,
) {
    let line = String::from_utf8_lossy(buf);
    let trimmed = line.trim_end_matches(['\n', '\r']);
    if !opts.quiet {
        let shown = format!("{}{trimmed}", opts.prefix);
        if to_stderr {
            crate::ui::err(shown);
        } else {
            crate::ui::out(shown);
        }
    }
    if opts.capture {
        all.push(buf);
    }
    if to_stderr {
        if tail.len() == TAIL {
            tail.pop_front();
        }
        tail.push_back(trimmed.to_string());
    }
}

/// The child process of a command: its own process group, piped output,
/// stdin only when there is text for it.
fn command(cmd: &Cmd, opts: &Opts) -> Result<Command, String> {
    let mut c = match cmd {
        Cmd::Shell(s) => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(s);
            c
        }
        Cmd::Argv(v) => {
            let Some((prog, rest)) = v.split_first() else {
                return Err("empty command: give at least the program name".into());
            };
            let mut c = Command::new(prog);
            c.args(rest);
            c
        }
    };
    if let Some(d) = &opts.cwd {
        c.current_dir(d);
    }
    for (k, v) in &opts.env {
        c.env(k, v);
    }
    let stdin = if opts.stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    c.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    Ok(c)
}

type Pumped = tokio::task::JoinHandle<Read>;

/// What a pump read, waiting at most `grace` for the end of the pipe (a
/// grandchild may keep it open after the command exits); then reading
/// stops and what was read is kept, with a note that says why it may be
/// short.
async fn collected(
    mut t: Pumped,
    grace: Duration,
    stop: &CancellationToken,
) -> (crate::capture::Captured, VecDeque<String>, Option<String>) {
    let r = match tokio::time::timeout(grace, &mut t).await {
        Ok(r) => r,
        Err(_) => {
            stop.cancel();
            t.await
        }
    };
    let (c, tail, open) = r.unwrap_or_default();
    let note = open.then(|| {
        "the output pipe stayed open after the command exited (a background child holds it): \
         kept what was read; redirect the child's output (`cmd > file 2>&1 &`) or use sh_bg"
            .to_string()
    });
    (c, tail, note)
}

/// Run a command to completion, or until the timeout or the cancel token.
pub async fn run(cmd: &Cmd, opts: &Opts, cancel: CancellationToken) -> Result<Output, String> {
    let started = Instant::now();
    let mut child = command(cmd, opts)?.spawn().map_err(|e| match cmd {
        Cmd::Argv(v) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("cannot run '{}': not found on PATH", v[0])
        }
        _ => format!("cannot start '{}': {e}", cmd.display()),
    })?;
    let pid = child.id().unwrap_or(0);
    let mut guard = GroupGuard::new(pid);
    if let (Some(input), Some(mut w)) = (opts.stdin.clone(), child.stdin.take()) {
        tokio::spawn(async move {
            let _ = w.write_all(input.as_bytes()).await;
            let _ = w.shutdown().await;
        });
    }
    let (out, err) = (
        child.stdout.take().expect("piped stdout"),
        child.stderr.take().expect("piped stderr"),
    );
    let (o2, o3) = (opts.clone(), opts.clone());
    let stop = CancellationToken::new();
    let (s2, s3) = (stop.clone(), stop.clone());
    let out_task = tokio::spawn(async move { pump(out, false, &o2, s2).await });
    let err_task = tokio::spawn(async move { pump(err, true, &o3, s3).await });
    let deadline = async {
        match opts.timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let (mut timed_out, mut interrupted) = (false, false);
    let status = tokio::select! {
        s = child.wait() => s,
        _ = deadline => { timed_out = true; terminate(&mut child, pid).await }
        _ = cancel.cancelled() => { interrupted = true; terminate(&mut child, pid).await }
    }
    .map_err(|e| format!("waiting for '{}': {e}", cmd.display()))?;
    guard.disarm();
    let grace = Duration::from_millis(if timed_out || interrupted { 200 } else { 2000 });
    let (out, _, out_open) = collected(out_task, grace, &stop).await;
    let (err, tail, err_open) = collected(err_task, grace, &stop).await;
    use std::os::unix::process::ExitStatusExt;
    Ok(Output {
        code: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        notes: [
            out.note(),
            err.note(),
            out_open.or(err_open).filter(|_| !interrupted),
        ]
        .into_iter()
        .flatten()
        .collect(),
        stdout: out.text,
        stderr: err.text,
        stderr_tail: tail.into_iter().collect(),
        duration: started.elapsed(),
        timed_out,
        interrupted,
    })
}

async fn terminate(
    child: &mut tokio::process::Child,
    pid: u32,
) -> std::io::Result<std::process::ExitStatus> {
    if pid != 0 {
        signals::signal_group(pid, Signal::Term);
    }
    match tokio::time::timeout(Duration::from_secs(2), child.wait()).await {
        Ok(s) => s,
        Err(_) => {
            if pid != 0 {
                signals::signal_group(pid, Signal::Kill);
            }
            child.wait().await
        }
    }
}

/// Full path of an executable on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let is_exec = |p: &std::path::Path| {
        p.is_file()
            && p.metadata()
                .map(|m| m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_exec(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_exec(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("abc-1.2"), "abc-1.2");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// Run quietly, capturing the output.
    fn captured(cmd: Cmd) -> Output {
        let opts = Opts {
            quiet: true,
            capture: true,
            ..Default::default()
        };
        rt().block_on(run(&cmd, &opts, CancellationToken::new()))
            .unwrap()
    }

    #[test]
    fn captures_code_and_tail() {
        let o = captured(Cmd::Shell(
            "echo out; echo e1 >&2; echo e2 >&2; exit 3".into(),
        ));
        assert_eq!(o.code, 3);
        assert_eq!(o.stdout, "out\n");
        assert_eq!(o.stderr_tail, vec!["e1", "e2"]);
    }

    #[test]
    fn argv_is_not_shell_interpreted() {
        let o = captured(Cmd::Argv(vec!["echo".into(), "$HOME; rm -rf /".into()]));
        assert_eq!(o.stdout, "$HOME; rm -rf /\n");
    }

    #[test]
    fn timeout_kills_the_group() {
        let t = Instant::now();
        let o = rt()
            .block_on(run(
                &Cmd::Shell("sleep 30 & sleep 30; wait".into()),
                &Opts {
                    quiet: true,
                    timeout: Some(Duration::from_millis(200)),
                    ..Default::default()
                },
                CancellationToken::new(),
            ))
            .unwrap();
        assert!(o.timed_out);
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn stdin_is_fed() {
        let o = rt()
            .block_on(run(
                &Cmd::Argv(vec!["cat".into()]),
                &Opts {
                    quiet: true,
                    capture: true,
                    stdin: Some("hello".into()),
                    ..Default::default()
                },
                CancellationToken::new(),
            ))
            .unwrap();
        assert_eq!(o.stdout, "hello");
    }
}
