//! Background processes (`sh_bg`): started on the runtime, killed with
//! their whole process group at the end of the run (and by `.kill()`).

use super::{run, Cmd, Opts, Output};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// A background process.
pub struct BgProcess {
    pub cmd: String,
    cancel: CancellationToken,
    task: Mutex<Option<tokio::task::JoinHandle<Result<Output, String>>>>,
    result: Mutex<Option<Result<Output, String>>>,
}

impl BgProcess {
    /// Start `cmd` on the runtime.
    pub fn spawn(rt: &tokio::runtime::Handle, cmd: &Cmd, opts: Opts) -> Arc<BgProcess> {
        let cancel = CancellationToken::new();
        let (c, token) = (cmd.clone(), cancel.clone());
        let task = rt.spawn(async move { run(&c, &opts, token).await });
        Arc::new(BgProcess {
            cmd: cmd.display(),
            cancel,
            task: Mutex::new(Some(task)),
            result: Mutex::new(None),
        })
    }

    pub fn running(&self) -> bool {
        self.result.lock().unwrap().is_none()
            && self
                .task
                .lock()
                .unwrap()
                .as_ref()
                .is_some_and(|t| !t.is_finished())
    }

    /// Stop the process (SIGTERM to its group, SIGKILL after 2 s).
    pub fn kill(&self) {
        self.cancel.cancel();
    }

    /// Wait for it to end (after `kill`, or on its own); later calls give
    /// the same result.
    pub async fn wait(&self) -> Result<Output, String> {
        if let Some(r) = self.result.lock().unwrap().clone() {
            return r;
        }
        let task = self.task.lock().unwrap().take();
        let r = match task {
            Some(t) => t
                .await
                .unwrap_or_else(|e| Err(format!("background task failed: {e}"))),
            // another caller is waiting for it: its result arrives there
            None => loop {
                if let Some(r) = self.result.lock().unwrap().clone() {
                    break r;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            },
        };
        *self.result.lock().unwrap() = Some(r.clone());
        r
    }
}
