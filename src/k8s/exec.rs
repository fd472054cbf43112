//! Exec in a container over the API: stdin written while stdout and stderr
//! are read (a command that reads and writes a lot never deadlocks), and
//! the exit code taken from the status frame; a stream that ends without
//! one is an error, never a success. `copy_tar` streams an archive a
//! command writes to stdout into a local file, renamed into place only
//! when the command reported success.

use super::http::{self, K8sError};
use crate::capture::{Capture, Captured, SpillDir};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Result of an exec.
#[derive(Clone, Debug, Default)]
pub struct ExecOutput {
    pub code: i32,
    /// the output, or its last [`crate::capture::LIMIT`] bytes
    pub stdout: String,
    pub stderr: String,
    /// what was cut, and where all of it is (one note per output cut)
    pub notes: Vec<String>,
}

/// The stream ended before the command's exit status arrived.
pub fn ended_early(what: &str) -> K8sError {
    K8sError::Transport(format!(
        "{what}: the stream ended before the command's exit status arrived (the connection dropped or the container went away); the command may or may not have finished"
    ))
}

/// The exit code a status frame carries; a failure without an exit code
/// (the command could not start) is an error with the runtime's message.
pub fn exit_code(status: Option<Status>, what: &str) -> Result<i32, K8sError> {
    let Some(s) = status else {
        return Err(ended_early(what));
    };
    if s.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    let code = s
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .and_then(|c| c.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
        .and_then(|c| c.message.as_ref())
        .and_then(|m| m.parse().ok());
    code.ok_or_else(|| K8sError::Api {
        code: s.code.unwrap_or(500) as u16,
        reason: s.reason.clone().unwrap_or_default(),
        message: format!(
            "{what}: the command could not run: {}",
            s.message.unwrap_or_default()
        ),
    })
}

fn kube_error(e: kube::Error) -> K8sError {
    match e {
        kube::Error::Api(s) => K8sError::Api {
            code: s.code,
            reason: s.reason.clone(),
            message: s.message.clone(),
        },
        other => K8sError::Transport(http::transport_message(&other)),
    }
}

/// Start `cmd` in a container with the streams asked for.
pub async fn attach(
    client: &kube::Client,
    ns: &str,
    pod: &str,
    container: Option<&str>,
    cmd: Vec<String>,
    stdin: bool,
) -> Result<kube::api::AttachedProcess, K8sError> {
    http::check_name("pod", pod)?;
    let api: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client.clone(), ns);
    let mut ap = kube::api::AttachParams::default()
        .stdin(stdin)
        .stdout(true)
        .stderr(true);
    if let Some(c) = container {
        ap = ap.container(c);
    }
    api.exec(pod, cmd, &ap).await.map_err(kube_error)
}

async fn read_all(r: Option<impl AsyncRead + Unpin>) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if let Some(mut r) = r {
        r.read_to_end(&mut buf).await?;
    }
    Ok(buf)
}

/// Read an output into a bounded capture (the tail in memory, all of it
/// in a file in the run's artifacts once it outgrows that).
async fn capture(r: Option<impl AsyncRead + Unpin>, mut c: Capture) -> std::io::Result<Captured> {
    if let Some(mut r) = r {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = r.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            c.push(&buf[..n]);
        }
    }
    Ok(c.finish())
}

/// Exec over WebSocket; stdin (if any) is written and closed while the
/// output is read, with bounded memory: an output larger than
/// [`crate::capture::LIMIT`] keeps its tail, and all of it goes to a
/// file under `spill` (noted in `notes`).
pub async fn exec(
    client: &kube::Client,
    ns: &str,
    pod: &str,
    container: Option<&str>,
    cmd: Vec<String>,
    stdin: Option<Vec<u8>>,
    spill: Option<SpillDir>,
) -> Result<ExecOutput, K8sError> {
    let mut p = attach(client, ns, pod, container, cmd, stdin.is_some()).await?;
    let writer = p.stdin();
    let feed = async move {
        if let (Some(data), Some(mut w)) = (stdin, writer) {
            // a command that exits without reading all of it closes the pipe
            let _ = w.write_all(&data).await;
            let _ = w.shutdown().await;
        }
    };
    let name = format!("exec-{pod}");
    let (_, out, err) = tokio::join!(
        feed,
        capture(
            p.stdout(),
            Capture::new(&format!("{name}-stdout"), spill.clone())
        ),
        capture(p.stderr(), Capture::new(&format!("{name}-stderr"), spill))
    );
    let what = format!("exec in {ns}/{pod}");
    let broken = |e: std::io::Error| K8sError::Transport(format!("{what}: reading output: {e}"));
    let (out, err) = (out.map_err(broken)?, err.map_err(broken)?);
    let status = match p.take_status() {
        Some(s) => s.await,
        None => None,
    };
    let notes = [("stdout", &out), ("stderr", &err)]
        .iter()
        .filter_map(|(which, c)| c.note().map(|n| format!("{which}: {n}")))
        .collect();
    Ok(ExecOutput {
        code: exit_code(status, &what)?,
        stdout: out.text,
        stderr: err.text,
        notes,
    })
}

/// Run a command that writes an archive to stdout and stream it to `dest`
/// (through `dest.part`, renamed only when the command succeeded: a
/// partial archive is never reported as the artifact).
pub async fn copy_tar(
    client: &kube::Client,
    ns: &str,
    pod: &str,
    container: &str,
    argv: Vec<String>,
    dest: &Path,
) -> Result<PathBuf, String> {
    let tmp = part_path(dest);
    let r = copy_to(client, ns, pod, container, argv, &tmp).await;
    if r.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    r?;
    tokio::fs::rename(&tmp, dest)
        .await
        .map_err(|e| format!("cannot move {} into place: {e}", tmp.display()))?;
    Ok(dest.to_path_buf())
}

/// `name.tar.gz` -> `name.tar.gz.part`
fn part_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

async fn copy_to(
    client: &kube::Client,
    ns: &str,
    pod: &str,
    container: &str,
    argv: Vec<String>,
    tmp: &Path,
) -> Result<(), String> {
    let mut p = attach(client, ns, pod, Some(container), argv, false)
        .await
        .map_err(|e| format!("cannot exec tar in {ns}/{pod}: {e}"))?;
    if let Some(parent) = tmp.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let f = tokio::fs::File::create(tmp)
        .await
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    let mut f = tokio::io::BufWriter::with_capacity(1 << 20, f);
    // large buffers: fewer, bigger writes while the archive streams through
    let mut stdout =
        tokio::io::BufReader::with_capacity(1 << 20, p.stdout().ok_or("no stdout from tar")?);
    let (copied, err) = tokio::join!(
        tokio::io::copy_buf(&mut stdout, &mut f),
        read_all(p.stderr())
    );
    copied.map_err(|e| format!("copying from {ns}/{pod}: {e}"))?;
    f.flush().await.map_err(|e| e.to_string())?;
    let status = match p.take_status() {
        Some(s) => s.await,
        None => None,
    };
    let what = format!("copy from {ns}/{pod}");
    match exit_code(status, &what) {
        Ok(0) => Ok(()),
        Ok(code) => Err(format!(
            "tar in {ns}/{pod} exited with code {code}: {}",
            String::from_utf8_lossy(&err.unwrap_or_default()).trim()
        )),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{StatusCause, StatusDetails};

    fn failure(code: Option<&str>, msg: &str) -> Status {
        Status {
            status: Some("Failure".into()),
            message: Some(msg.into()),
            details: code.map(|c| StatusDetails {
                causes: Some(vec![StatusCause {
                    reason: Some("ExitCode".into()),
                    message: Some(c.into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn exit_codes_from_status_frames() {
        let ok = Status {
            status: Some("Success".into()),
            ..Default::default()
        };
        assert_eq!(exit_code(Some(ok), "x").unwrap(), 0);
        assert_eq!(exit_code(Some(failure(Some("3"), "")), "x").unwrap(), 3);
        // no status frame: the stream dropped; never a success
        let e = exit_code(None, "exec in ns/p").unwrap_err();
        assert!(e.to_string().contains("ended before"), "{e}");
        // could not start: the runtime's message, not a made-up code
        let e = exit_code(Some(failure(None, "executable file not found")), "x").unwrap_err();
        assert!(e.to_string().contains("executable file not found"), "{e}");
        assert_eq!(
            part_path(Path::new("a/ron.tar.gz")),
            Path::new("a/ron.tar.gz.part")
        );
    }
}
