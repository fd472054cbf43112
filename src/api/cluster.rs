//! Cluster facts.

use rhai::plugin::*;

#[export_module]
pub mod cluster_api {
    use crate::api::{error, host};
    use rhai::EvalAltResult;
    use rhai::NativeCallContext;

    /// Name of the kubeconfig context the script uses (`--context`, else the
    /// kubeconfig's current-context). Reads files only; no request is made.
    #[rhai_fn(return_raw)]
    pub fn current_context(ctx: NativeCallContext) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        h.target()
            .map(|t| t.context)
            .map_err(|e| error(format!("current_context: {e}")))
    }
}
