//! A long-lived shell in a pod: many commands over one exec stream, each
//! ended by a marker line carrying its exit code. Node sessions use it so a
//! command costs a round trip, not a new WebSocket connection.

use super::exec::ExecOutput;
use crate::capture::{Capture, SpillDir};
use std::pin::Pin;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

type Reader = BufReader<Pin<Box<dyn AsyncRead + Send>>>;

pub struct ShellConn {
    stdin: Pin<Box<dyn AsyncWrite + Send>>,
    out: Reader,
    err: Reader,
    _proc: kube::api::AttachedProcess,
    marker: String,
    /// set while a command runs: a command abandoned half-way (Ctrl-C)
    /// leaves unread output, so the connection is not reused
    busy: bool,
}

impl ShellConn {
    /// Start `prefix... sh` in the pod's container (the prefix is the
    /// session's nsenter, so the shell and every command it forks already
    /// live in the node's namespaces).
    pub async fn open(
        client: &kube::Client,
        ns: &str,
        pod: &str,
        container: &str,
        prefix: &[String],
        marker: &str,
    ) -> Result<ShellConn, String> {
        let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
            kube::Api::namespaced(client.clone(), ns);
        let ap = kube::api::AttachParams::default()
            .container(container)
            .stdin(true)
            .stdout(true)
            .stderr(true);
        let mut argv: Vec<String> = prefix.to_vec();
        argv.push("sh".into());
        let mut p = api.exec(pod, argv, &ap).await.map_err(|e| e.to_string())?;
        let stdin = p.stdin().ok_or("no stdin")?;
        let out = p.stdout().ok_or("no stdout")?;
        let err = p.stderr().ok_or("no stderr")?;
        Ok(ShellConn {
            stdin: Box::pin(stdin),
            out: BufReader::with_capacity(64 * 1024, Box::pin(out)),
            err: BufReader::with_capacity(64 * 1024, Box::pin(err)),
            _proc: p,
            marker: marker.to_string(),
            busy: false,
        })
    }

    /// Run one shell command line in a subshell (so `cd`, variables and
    /// `exit` do not leak into the next command); its stdin is empty. The
    /// command reaches the shell as one quoted word, checked with `sh -n`
    /// and given to `eval`: an unbalanced quote or heredoc is refused
    /// (`Malformed`, nothing ran), never a shell waiting for more input.
    pub async fn run(
        &mut self,
        command: &str,
        spill: Option<SpillDir>,
    ) -> Result<ExecOutput, RunError> {
        if self.busy {
            return Err(RunError::Broken(
                "the shell was left in the middle of a command".into(),
            ));
        }
        self.busy = true;
        let m = &self.marker;
        let quoted = command.replace('\'', "'\\''");
        // checked with `sh -n` first: a command the shell cannot parse is
        // not run at all, and says so
        let line = format!(
            "if sh -n -c '{quoted}'; then ( eval '{quoted}' ) </dev/null; printf '\\n{m} %d\\n' $?; else printf '\\n{m} syntax\\n'; fi; printf '\\n{m}\\n' >&2\n"
        );
        let broken = |e: std::io::Error| RunError::Broken(e.to_string());
        self.stdin
            .write_all(line.as_bytes())
            .await
            .map_err(broken)?;
        self.stdin.flush().await.map_err(broken)?;
        let marker = self.marker.clone();
        let (out, err) = tokio::join!(
            read_to_marker(
                &mut self.out,
                &marker,
                Capture::new("session-stdout", spill.clone())
            ),
            read_to_marker(
                &mut self.err,
                &marker,
                Capture::new("session-stderr", spill)
            )
        );
        let (stdout, status) = out.map_err(RunError::Broken)?;
        let (stderr, _) = err.map_err(RunError::Broken)?;
        self.busy = false;
        let code = match status.as_str() {
            "syntax" => {
                return Err(RunError::Malformed(format!(
                    "malformed command, not run: the shell cannot parse it ({}); check quotes, heredocs and brackets",
                    stderr.lines().last().unwrap_or("syntax error").trim()
                )))
            }
            s => s.parse().map_err(|_| {
                RunError::Broken(format!("the shell reported no exit status ({s:?})"))
            })?,
        };
        Ok(ExecOutput {
            code,
            stdout,
            stderr,
            notes: vec![],
        })
    }
}

/// Why a command did not give an exit code.
#[derive(Debug)]
pub enum RunError {
    /// the shell cannot parse it: nothing ran, the shell is fine
    Malformed(String),
    /// the shell or its connection broke: the command may have run
    Broken(String),
}

/// Read until a line `MARKER[ status]`; the output and the status word.
/// The newline written before the marker is dropped.
async fn read_to_marker(
    r: &mut Reader,
    marker: &str,
    mut all: Capture,
) -> Result<(String, String), String> {
    let mut line = Vec::new();
    // the line before the marker, held back: its newline belongs to the marker
    let mut held: Option<Vec<u8>> = None;
    loop {
        line.clear();
        let n = r
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the shell ended".into());
        }
        let text = String::from_utf8_lossy(&line);
        let t = text.trim_end_matches('\n');
        if let Some(rest) = t.strip_prefix(marker) {
            if rest.is_empty() || rest.starts_with(' ') {
                if let Some(mut h) = held.take() {
                    if h.last() == Some(&b'\n') {
                        h.pop();
                    }
                    all.push(&h);
                }
                return Ok((all.finish().text, rest.trim().to_string()));
            }
        }
        if let Some(h) = held.replace(line.clone()) {
            all.push(&h);
        }
    }
}
