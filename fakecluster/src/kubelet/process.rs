//! Containers of runnable images as local processes: the command in the
//! container's view of the filesystem (its mounts through a private mount
//! namespace), its environment, its output kept for logs and attach, the
//! state the kubelet reports after its status lag (a command that ended by
//! then is reported terminated, never running), restarts by the pod's
//! policy, and stopping within a grace period the way a container's PID 1
//! is stopped: SIGTERM only if the main process handles it, SIGKILL when
//! the grace period ends.

use super::state::{CState, ContainerRt, Kubelet, LogBuf, PodRt, PLEG, SANDBOX_GONE, TEARDOWN};
use bytes::Bytes;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A container's environment: PATH, HOSTNAME, HOME, then its `env` (values
/// and the downward API fields a test uses).
pub(super) fn env(k: &Kubelet, rt: &PodRt, pod: &Value, c: &Value) -> Vec<(String, String)> {
    let mut env = vec![
        ("PATH".to_string(), k.path_env(&rt.node)),
        ("HOSTNAME".to_string(), rt.name.clone()),
        ("HOME".to_string(), "/root".to_string()),
    ];
    for e in c["env"].as_array().into_iter().flatten() {
        let val = match (&e["value"], &e["valueFrom"]["fieldRef"]["fieldPath"]) {
            (Value::String(s), _) => s.clone(),
            (_, Value::String(f)) => match f.as_str() {
                "spec.nodeName" => pod["spec"]["nodeName"].as_str().unwrap_or("").into(),
                "metadata.name" => rt.name.clone(),
                "metadata.namespace" => rt.ns.clone(),
                "status.podIP" => rt.pod_ip.clone(),
                "status.hostIP" => rt.host_ip.clone(),
                _ => String::new(),
            },
            _ => String::new(),
        };
        env.push((e["name"].as_str().unwrap_or("").to_string(), val));
    }
    env
}

/// The argv of a container: command + args (the image's shell by default).
fn argv(spec: &Value) -> Vec<String> {
    let mut argv: Vec<String> = vec![];
    for f in ["command", "args"] {
        for a in spec[f].as_array().into_iter().flatten() {
            argv.push(a.as_str().unwrap_or("").to_string());
        }
    }
    if argv.is_empty() {
        argv.push("sh".into());
    }
    argv
}

impl Kubelet {
    /// A command in a container's view of the filesystem (its mounts).
    pub fn command(&self, c: &ContainerRt, argv: &[String], cwd: &Path) -> tokio::process::Command {
        let mut cmd = if !c.mounts.is_empty() && self.mounts_ok {
            let mut script = String::new();
            for (src, dst) in &c.mounts {
                script.push_str(&format!(
                    "mkdir -p {d} && mount --bind {s} {d} || exit 127; ",
                    s = quote(&src.display().to_string()),
                    d = quote(dst)
                ));
            }
            script.push_str("exec \"$@\"");
            let host_path = std::env::var("PATH").unwrap_or_default();
            let mut cmd = tokio::process::Command::new(resolve_program("unshare", &host_path));
            cmd.args([
                "--mount",
                "--propagation",
                "private",
                "--",
                "/bin/sh",
                "-c",
                &script,
                "container",
            ]);
            cmd.args(argv);
            cmd
        } else {
            let path = c
                .env
                .iter()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| {
                    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()
                });
            let mut cmd = tokio::process::Command::new(resolve_program(&argv[0], &path));
            cmd.args(&argv[1..]);
            cmd
        };
        cmd.env_clear();
        for (k, v) in &c.env {
            cmd.env(k, v);
        }
        cmd.current_dir(if cwd.exists() {
            cwd.to_path_buf()
        } else {
            std::env::temp_dir()
        });
        cmd.process_group(0);
        cmd
    }

    /// Run a container's command until it ends for good: started, reported
    /// after the kubelet's status lag, restarted by the pod's policy.
    pub(super) async fn run_process(
        self: Arc<Self>,
        rt: Arc<PodRt>,
        c: Arc<ContainerRt>,
        pod: Value,
    ) {
        let argv = match self.program_for(&c.image) {
            // the image's entrypoint is the program: its args follow
            Some(program) => std::iter::once(program)
                .chain(
                    c.spec["args"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| a.as_str().unwrap_or("").to_string()),
                )
                .collect(),
            None => argv(&c.spec),
        };
        // only pods that run a process get a directory (a node of pause
        // pods makes none)
        let wd = c.spec["workingDir"]
            .as_str()
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let d = rt.dir.join("work");
                let _ = std::fs::create_dir_all(&d);
                d
            });
        let mut failed_starts = 0u32;
        loop {
            if !c.mounts.is_empty() && !self.mounts_ok {
                *c.state.lock().unwrap() = CState::Waiting {
                    reason: "CreateContainerError".into(),
                    message: "volume mounts need a private mount namespace (unshare --mount), which this machine does not allow: run the tests as root".into(),
                };
                self.sync(&rt).await;
                return;
            }
            let code = match self.spawn_and_watch(&rt, &c, &pod, &argv, &wd).await {
                Ok(code) => code,
                Err(()) => {
                    // like the kubelet: RunContainerError, then the start
                    // again after a back-off (a loaded machine's EAGAIN or
                    // ETXTBSY passes; a missing binary stays in the state)
                    failed_starts = (failed_starts + 1).min(5);
                    if self
                        .pause(&rt, Duration::from_millis(125 << failed_starts))
                        .await
                    {
                        continue;
                    }
                    c.logs.close();
                    return;
                }
            };
            if !self.restart_after(&rt, &c, &pod, code).await {
                c.logs.close();
                return;
            }
            // a restart is a new container: the image ensured, created
            if !self.pull_and_create(&rt, &c, &pod).await {
                c.logs.close();
                return;
            }
        }
    }

    /// Whether the container starts again after it ended with `code`; if
    /// not, the pod's sandbox goes once every container has stopped.
    async fn restart_after(
        &self,
        rt: &Arc<PodRt>,
        c: &Arc<ContainerRt>,
        pod: &Value,
        code: i32,
    ) -> bool {
        let again = !rt.terminate.is_cancelled()
            && match rt.restart_policy.as_str() {
                "Always" => true,
                "OnFailure" => code != 0,
                _ => false,
            };
        if !again {
            let all_stopped = rt
                .containers
                .lock()
                .unwrap()
                .iter()
                .all(|x| matches!(*x.state.lock().unwrap(), CState::Terminated { .. }));
            if all_stopped && !rt.terminate.is_cancelled() && self.pause(rt, TEARDOWN).await {
                rt.sandbox.store(SANDBOX_GONE, Ordering::SeqCst);
                self.sync(rt).await;
            }
            return false;
        }
        let finished = c.state.lock().unwrap().clone();
        if let Some(d) = self.in_backoff(c) {
            // the kubelet's CrashLoopBackOff: the container waits out its
            // back-off, counted from its end
            *c.last_state.lock().unwrap() = Some(finished);
            *c.state.lock().unwrap() = CState::Waiting {
                reason: "CrashLoopBackOff".into(),
                message: format!(
                    "back-off {} restarting failed container={} pod={}_{}({})",
                    go_duration(d),
                    c.name,
                    rt.name,
                    rt.ns,
                    rt.uid
                ),
            };
            self.sync(rt).await;
            self.event(
                pod,
                &rt.node,
                "Warning",
                "BackOff",
                &format!(
                    "Back-off restarting failed container {} in pod {}_{}({})",
                    c.name, rt.name, rt.ns, rt.uid
                ),
                Some(&c.name),
            );
            if !self.pause(rt, d / super::pull::SCALE).await {
                return false;
            }
            *c.backoff.lock().unwrap() =
                Some((std::time::Instant::now(), (d * 2).min(RESTART_BACKOFF_MAX)));
        } else {
            *c.last_state.lock().unwrap() = Some(finished);
            *c.backoff.lock().unwrap() = Some((std::time::Instant::now(), RESTART_BACKOFF_FIRST));
        }
        c.restarts.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// The back-off a container that just ended must wait (its real
    /// length), as the kubelet's flowcontrol.Backoff decides: none after
    /// its first end, or after it ran longer than twice the longest
    /// back-off; otherwise the back-off set at its last start.
    fn in_backoff(&self, c: &ContainerRt) -> Option<Duration> {
        let (since, d) = (*c.backoff.lock().unwrap())?;
        let expired = since.elapsed() > RESTART_BACKOFF_MAX * 2 / super::pull::SCALE;
        (!expired).then_some(d)
    }

    /// Start the command, report it (running, or already ended) after the
    /// status lag, and wait for its end; its exit code, or Err when it
    /// could not start.
    async fn spawn_and_watch(
        self: &Arc<Self>,
        rt: &Arc<PodRt>,
        c: &Arc<ContainerRt>,
        pod: &Value,
        argv: &[String],
        wd: &Path,
    ) -> Result<i32, ()> {
        let mut cmd = self.command(c, argv, wd);
        cmd.stdin(if c.spec["stdin"] == true {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
        let started = crate::store::now();
        // the run's log begins before its first output can
        c.logs.begin_run();
        let mut child = match cmd.spawn() {
            Ok(ch) => ch,
            Err(e) => {
                *c.state.lock().unwrap() = CState::Waiting {
                    reason: "RunContainerError".into(),
                    message: format!("failed to start {}: {e}", argv[0]),
                };
                c.logs.end_run();
                self.sync(rt).await;
                return Err(());
            }
        };
        let pid = child.id();
        *c.pid.lock().unwrap() = pid;
        *c.stdin.lock().await = child.stdin.take();
        let out = pump(child.stdout.take().unwrap(), c.logs.clone());
        let err = pump(child.stderr.take().unwrap(), c.logs.clone());
        self.event(
            pod,
            &rt.node,
            "Normal",
            "Started",
            &format!("Started container {}", c.name),
            Some(&c.name),
        );
        *c.state.lock().unwrap() = CState::Running {
            started: started.clone(),
        };
        let early = tokio::select! {
            s = child.wait() => Some(s.ok()),
            _ = rt.stop.cancelled() => None,
            _ = tokio::time::sleep(PLEG) => None,
        };
        let status = match early {
            Some(s) => s,
            None => {
                rt.ever_running.store(true, Ordering::SeqCst);
                self.sync(rt).await;
                let (me, rt2, c2) = (self.clone(), rt.clone(), c.clone());
                tokio::spawn(async move { me.probe(&rt2, &c2).await });
                tokio::select! {
                    s = child.wait() => s.ok(),
                    _ = rt.stop.cancelled() => { kill_group(pid, libc::SIGKILL); child.wait().await.ok() }
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = out.await;
            let _ = err.await;
        })
        .await;
        let code = ended(c, status, started);
        // a deleted pod reports once, when every container has stopped
        if !(rt.stop.is_cancelled() || rt.terminate.is_cancelled()) {
            self.sync(rt).await;
        }
        Ok(code)
    }
}

/// A run ended with `status` (None: killed): its log closed, the container
/// Terminated with its code, which is returned.
fn ended(c: &ContainerRt, status: Option<std::process::ExitStatus>, started: String) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    c.logs.end_run();
    *c.pid.lock().unwrap() = None;
    let code = status
        .map(|s| s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(9)))
        .unwrap_or(137);
    *c.state.lock().unwrap() = CState::Terminated {
        code,
        reason: if code == 0 {
            "Completed".into()
        } else {
            "Error".into()
        },
        started,
        finished: crate::store::now(),
    };
    code
}

/// The kubelet's restart back-off: 10 s, doubling, at most 5 min (real
/// times; the fake waits them divided by the pull back-off's SCALE).
const RESTART_BACKOFF_FIRST: Duration = Duration::from_secs(10);
const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(300);

/// A duration as Go prints it (`10s`, `1m20s`, `5m0s`).
fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}

/// Signal a container's process group.
fn kill_group(pid: Option<u32>, sig: i32) {
    if let Some(p) = pid {
        unsafe { libc::kill(-(p as i32), sig) };
    }
}

/// Whether a process handles SIGTERM (`SigCgt` in /proc): a container's
/// PID 1 that does not is not stopped by it.
fn handles_sigterm(pid: u32) -> bool {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    s.lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (libc::SIGTERM - 1)) != 0)
}

/// Stop one container of a deleted pod within `grace`: a process gets
/// SIGTERM if it handles it, SIGKILL at the end of the grace period; a
/// simulated container stops at once; one that never started is reported
/// as the kubelet reports a container it could not find.
pub(super) async fn stop_container(c: Arc<ContainerRt>, grace: Duration) {
    let state = c.state.lock().unwrap().clone();
    let now = crate::store::now();
    match state {
        CState::Terminated { .. } => {}
        CState::Waiting { .. } => {
            *c.state.lock().unwrap() = CState::Terminated {
                code: 137,
                reason: "ContainerStatusUnknown".into(),
                started: now.clone(),
                finished: now,
            };
        }
        CState::Running { started } if !c.runnable => {
            c.logs.end_run();
            *c.state.lock().unwrap() = CState::Terminated {
                code: 0,
                reason: "Completed".into(),
                started,
                finished: now,
            };
        }
        CState::Running { .. } => {
            let pid = *c.pid.lock().unwrap();
            if pid.is_some_and(handles_sigterm) {
                kill_group(pid, libc::SIGTERM);
            }
            let t = std::time::Instant::now();
            while c.pid.lock().unwrap().is_some() && t.elapsed() < grace {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if c.pid.lock().unwrap().is_some() {
                kill_group(pid, libc::SIGKILL);
            }
            while c.pid.lock().unwrap().is_some() && t.elapsed() < grace + Duration::from_secs(5) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn pump(
    mut r: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    logs: Arc<LogBuf>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => logs.push(Bytes::copy_from_slice(&buf[..n])),
            }
        }
    })
}

/// `prog` looked up in `path` (a PATH value), or unchanged when it has a
/// slash or is not found (spawning then fails as it would). A Command given
/// a bare name and its own PATH falls back from posix_spawn to fork, which
/// copies this process's page tables: ~15 ms once the fake holds 10,000
/// pods, paid by every exec and container start.
pub fn resolve_program(prog: &str, path: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    if prog.contains('/') {
        return PathBuf::from(prog);
    }
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let p = Path::new(dir).join(prog);
        if std::fs::metadata(&p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0) {
            return p;
        }
    }
    PathBuf::from(prog)
}
