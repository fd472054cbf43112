//! Node sessions: one privileged pod kept on a node (a ron running `sleep
//! infinity`) and a long-lived shell in it, already in the node's
//! namespaces, so a command costs a round trip, not a pod start. A session
//! keeps the client of the cluster it was opened on (a later `kind_create`
//! switches the run, not its sessions). A command is never run twice: when
//! the shell breaks mid-command the command is reported as failed.

use super::exec::ExecOutput;
use super::http::K8sError;
use super::ron::{self, Cleanup, Created, Out, Spec};
use super::shellconn::{RunError, ShellConn};
use crate::capture::SpillDir;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a session's pod enters the node: every namespace of PID 1.
pub const NSENTER_OPTS: &str = "-t 1 -m -u -i -n -p";

/// What to open.
#[derive(Clone)]
pub struct Options {
    pub node: String,
    pub namespace: String,
    pub image: String,
    /// `None`: commands run in the pod (no nsenter)
    pub nsenter_opts: Option<String>,
    pub run_id: String,
    /// distinguishes sessions of one run on one node
    pub number: u32,
    /// how long the pod may take to start
    pub timeout: Duration,
    pub spill: Option<SpillDir>,
}

pub struct Session {
    client: kube::Client,
    pub node: String,
    pub namespace: String,
    pub pod: String,
    run_id: String,
    /// the argv prefix that enters the node (`nsenter ... --`)
    nsenter: Vec<String>,
    marker: String,
    spill: Option<SpillDir>,
    closed: AtomicBool,
    /// the long-lived shell commands go through (opened on first use)
    shell: tokio::sync::Mutex<Option<ShellConn>>,
}

/// The ron spec of a session's pod.
fn pod_spec(o: &Options) -> Spec {
    let mut s = Spec::new(&o.node, vec!["sleep".into(), "infinity".into()], &o.run_id);
    s.pod_name = ron::object_name(
        "scaffold-session",
        &o.node,
        &o.run_id,
        Some(&o.number.to_string()),
    );
    s.namespace = o.namespace.clone();
    s.image = o.image.clone();
    s.cleanup = Cleanup::None;
    s.timeout = o.timeout;
    s
}

impl Session {
    /// Create the pod and wait until it runs. `created` records the pod
    /// before it is created, so the caller can delete it whatever happens.
    pub async fn open(
        client: &kube::Client,
        o: &Options,
        created: &Mutex<Created>,
    ) -> Result<Session, String> {
        let spec = pod_spec(o);
        let quiet: Out = Arc::new(|_: &str| {});
        tokio::time::timeout(o.timeout, ron::start(client, &spec, created, &quiet))
            .await
            .map_err(|_| {
                format!(
                    "session pod {}/{} was not running within {}s",
                    spec.namespace,
                    spec.pod_name,
                    o.timeout.as_secs()
                )
            })??;
        let mut nsenter = vec![];
        if let Some(opts) = &o.nsenter_opts {
            nsenter.push("nsenter".to_string());
            nsenter.extend(opts.split_whitespace().map(str::to_string));
            nsenter.push("--".into());
        }
        Ok(Session {
            client: client.clone(),
            node: o.node.clone(),
            namespace: spec.namespace.clone(),
            pod: spec.pod_name.clone(),
            marker: format!("__scaffold_{}_{}_done__", o.run_id, o.number),
            run_id: o.run_id.clone(),
            nsenter,
            spill: o.spill.clone(),
            closed: AtomicBool::new(false),
            shell: tokio::sync::Mutex::new(None),
        })
    }

    /// What a failed `open` leaves to delete.
    pub fn created_for(o: &Options) -> Arc<Mutex<Created>> {
        ron::new_created(&pod_spec(o))
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Run a command on the node: a shell string, or argv (quoted, so it is
    /// never re-interpreted). Non-zero exits are returned, not raised.
    pub async fn exec(
        &self,
        cmd: &crate::shell::Cmd,
        timeout: Duration,
    ) -> Result<ExecOutput, K8sError> {
        if self.is_closed() {
            return Err(K8sError::Invalid(format!(
                "the session on {} is closed",
                self.node
            )));
        }
        let line = shell_line(cmd);
        let mut guard = self.shell.lock().await;
        if guard.is_none() {
            match ShellConn::open(
                &self.client,
                &self.namespace,
                &self.pod,
                "main",
                &self.nsenter,
                &self.marker,
            )
            .await
            {
                Ok(c) => *guard = Some(c),
                // nothing ran yet: one exec of its own is safe
                Err(_) => return self.exec_once(cmd, timeout).await,
            }
        }
        let conn = guard.as_mut().expect("opened above");
        let r = tokio::time::timeout(timeout, conn.run(&line, self.spill.clone())).await;
        match r {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(RunError::Malformed(e))) => {
                Err(K8sError::Command(format!("on {}: {e}", self.node)))
            }
            Ok(Err(RunError::Broken(e))) => {
                *guard = None;
                Err(K8sError::Command(format!(
                    "the session's shell on {} broke while running the command ({e}); it may or may not have run, and it is not run again",
                    self.node
                )))
            }
            Err(_) => {
                *guard = None;
                Err(K8sError::Command(format!(
                    "the command did not finish within {}s on {}; the session's shell was replaced (the command may still be running on the node)",
                    timeout.as_secs_f64(),
                    self.node
                )))
            }
        }
    }

    /// A command through its own exec (when the shell cannot be opened).
    async fn exec_once(
        &self,
        cmd: &crate::shell::Cmd,
        timeout: Duration,
    ) -> Result<ExecOutput, K8sError> {
        let mut argv = self.nsenter.clone();
        argv.extend(cmd.clone().argv());
        let run = super::exec::exec(
            &self.client,
            &self.namespace,
            &self.pod,
            Some("main"),
            argv,
            None,
            self.spill.clone(),
        );
        tokio::time::timeout(timeout, run).await.map_err(|_| {
            K8sError::Command(format!(
                "the command did not finish within {}s on {}",
                timeout.as_secs_f64(),
                self.node
            ))
        })?
    }

    /// Copy a file or directory of the node into a local tar.gz.
    pub async fn copy_from(&self, path: &str, dest: &Path) -> Result<PathBuf, String> {
        let p = Path::new(path);
        let dir = p
            .parent()
            .map(|d| d.display().to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "/".into());
        let base = p
            .file_name()
            .map(|b| b.to_string_lossy().to_string())
            .unwrap_or_else(|| ".".into());
        let mut argv = self.nsenter.clone();
        argv.extend(["tar", "czf", "-", "-C"].map(String::from));
        argv.extend([dir, base]);
        super::exec::copy_tar(&self.client, &self.namespace, &self.pod, "main", argv, dest).await
    }

    /// Delete the pod (once; later calls do nothing). Returns what could
    /// not be deleted.
    pub async fn close(&self) -> Vec<String> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return vec![];
        }
        *self.shell.lock().await = None;
        let created = Created {
            namespace: self.namespace.clone(),
            run_id: self.run_id.clone(),
            pod: Some(self.pod.clone()),
            ..Default::default()
        };
        ron::cleanup(&self.client, &created, &Cleanup::All, false).await
    }
}

/// The shell line of a command: argv words quoted (the first one too, so
/// it is never taken for an assignment or a reserved word).
fn shell_line(cmd: &crate::shell::Cmd) -> String {
    match cmd {
        crate::shell::Cmd::Shell(s) => s.clone(),
        crate::shell::Cmd::Argv(words) if !words.is_empty() => {
            let rest = crate::shell::Cmd::Argv(words[1..].to_vec()).display();
            format!("'{}' {rest}", words[0].replace('\'', "'\\''"))
        }
        crate::shell::Cmd::Argv(_) => "true".into(),
    }
}
