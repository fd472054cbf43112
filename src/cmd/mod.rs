//! Commands other than `script`, `repl`, `check` and `docs`: thin layers
//! over the same functions scripts call.

pub mod apply;
pub mod cleanup;
pub mod lazyget;
pub mod ron;
pub mod verify;

use crate::k8s::client::{Cluster, Target};
use crate::k8s::kubeconfig::KubeOptions;

/// Connect to the cluster of the global flags.
pub async fn connect(opts: &KubeOptions) -> Result<Cluster, String> {
    let t = Target::resolve(opts)?;
    crate::k8s::client::connect(&t).await
}

/// `90s`, `5m`, `1h`, `1h30m`, or plain seconds.
pub use crate::util::parse_duration;
