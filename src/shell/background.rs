//! Background processes (`sh_bg`): started on the runtime, killed with
//! their whole process group at the end of the run (and by `.kill()`).

use super::{run, Cmd, Opts, Output};
use std::sync::Arc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

type Ended = Option<Result<Output, String>>;

/// A background process.
pub struct BgProcess {
    pub cmd: String,
    cancel: CancellationToken,
    /// Its result, once it has ended. The task that runs it publishes the
    /// result here itself, so a waiter that is dropped (a `.wait()` cut by
    /// Ctrl-C) loses nothing and any later waiter (teardown) sees the end.
    ended: watch::Receiver<Ended>,
}

impl BgProcess {
    /// Start `cmd` on the runtime.
    pub fn spawn(rt: &tokio::runtime::Handle, cmd: &Cmd, opts: Opts) -> Arc<BgProcess> {
        let cancel = CancellationToken::new();
        let (c, token) = (cmd.clone(), cancel.clone());
        let (tx, ended) = watch::channel(None);
        rt.spawn(async move {
            let r = run(&c, &opts, token).await;
            tx.send_replace(Some(r));
        });
        Arc::new(BgProcess {
            cmd: cmd.display(),
            cancel,
            ended,
        })
    }

    pub fn running(&self) -> bool {
        self.ended.borrow().is_none() && self.ended.has_changed().is_ok()
    }

    /// Stop the process (SIGTERM to its group, SIGKILL after 2 s).
    pub fn kill(&self) {
        self.cancel.cancel();
    }

    /// Wait for it to end (after `kill`, or on its own); any number of
    /// callers may wait, and later calls give the same result.
    pub async fn wait(&self) -> Result<Output, String> {
        let mut rx = self.ended.clone();
        let ended = match rx.wait_for(|r| r.is_some()).await {
            Ok(r) => r.clone().expect("waited for Some"),
            Err(_) => Err("background task failed before it could report".into()),
        };
        ended
    }
}
