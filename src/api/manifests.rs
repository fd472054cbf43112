//! Manifests for apply/delete/kustomize from scripts: the reading is
//! k8s/manifest.rs's, relative to the script's directory.

use crate::api::call::{block_on, failure, RResult};
use crate::host::Host;
use crate::k8s::manifest::{self, Doc};
use std::path::Path;

/// Render a kustomization with `kubectl kustomize` (or `kustomize build`).
pub fn kustomize_dir(h: &Host, func: &str, dir: &Path) -> RResult<String> {
    let _t = h.trace(func, || format!("kustomize {}", dir.display()));
    let k = manifest::kustomize(dir, &h.settings().script_dir, h.interrupt().token());
    block_on(h, k)?.map_err(|e| failure(func, e))
}

/// The parsed documents of a manifest and a name for messages.
pub fn docs_of(h: &Host, func: &str, input: &str) -> RResult<(Vec<Doc>, String)> {
    let d = manifest::docs(input, &h.settings().script_dir, h.interrupt().token());
    block_on(h, d)?.map_err(|e| failure(func, e))
}
