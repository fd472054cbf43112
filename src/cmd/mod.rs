//! Every command, one file each, as thin layers over the functions scripts
//! call; `main.rs` parses the command line and dispatches here.

pub mod apply;
pub mod check;
pub mod cleanup;
pub mod lazyget;
pub mod port_forward;
pub mod repl;
pub mod report;
pub mod ron;
pub mod script;
pub mod verify;

use crate::interrupt::{Interrupt, Mode};
use crate::k8s::client::{Cluster, Target};
use crate::k8s::kubeconfig::KubeOptions;
use std::sync::Arc;

/// Connect to the cluster of the global flags.
pub async fn connect(opts: &KubeOptions) -> Result<Cluster, String> {
    let t = Target::resolve(opts)?;
    crate::k8s::client::connect(&t).await
}

/// `90s`, `5m`, `1h`, `1h30m`, or plain seconds.
pub use crate::util::parse_duration;

/// The runtime of every command: two workers, whose output never blocks
/// them (src/ui.rs).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(crate::ui::mark_worker)
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime")
}

/// A runtime with the Ctrl-C handler of `mode` installed.
pub fn runtime_with(mode: Mode) -> (tokio::runtime::Runtime, Arc<Interrupt>) {
    let rt = runtime();
    let interrupt = Interrupt::new();
    interrupt.install(rt.handle(), mode);
    (rt, interrupt)
}

/// The cluster options of the global flags.
pub fn kube_options(g: &crate::cli::Global) -> KubeOptions {
    KubeOptions {
        kubeconfig: g.kubeconfig.clone(),
        context: g.context.clone(),
        qps: g.qps,
        burst: g.burst,
    }
}

/// The settings scaffold reads from the environment, checked before any
/// command runs: a bad one is a usage error naming the variable, never a
/// panic deep inside a run.
pub fn check_environment() -> Result<(), String> {
    crate::k8s::http::retry_budget_checked()?;
    crate::k8s::watch::idle_timeout_checked()?;
    Ok(())
}
