//! What a ron runs, and the one set of defaults (SPEC.md's, the original
//! toolkit's flags) that the CLI, scripts and node sessions start from.

use super::cleanup::{Cleanup, Created};
use crate::capture::SpillDir;
use std::path::PathBuf;
use std::time::Duration;

/// How long a ron's command may run, the CLI's and scripts' alike: long
/// enough for any benchmark, short enough that a forgotten run ends.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// How long a gated `main` waits for the attach before it runs the command
/// anyway (see `output.rs`).
pub const GATE_SECS: u64 = 5;

#[derive(Clone)]
pub struct Spec {
    pub node: String,
    /// argv of the command (a shell string is `["sh", "-c", s]`)
    pub argv: Vec<String>,
    pub pod_name: String,
    pub image: String,
    pub namespace: String,
    pub nsenter: bool,
    pub nsenter_binary: String,
    pub nsenter_opts: String,
    /// (base name, contents)
    pub files: Vec<(String, Vec<u8>)>,
    pub configmap_name: String,
    pub pvc: bool,
    pub pvc_name: String,
    pub pvc_size: String,
    pub pvc_access_mode: String,
    pub manage_pvc: bool,
    pub auto_copy: bool,
    pub auto_copy_dest: PathBuf,
    pub cleanup: Cleanup,
    pub retry_attempts: u32,
    pub retry_delay: Duration,
    pub show_events: bool,
    pub run_id: String,
    pub timeout: Duration,
    /// prefix for log lines (`[node] `), empty for one node
    pub prefix: String,
    /// where a large output is written in full
    pub spill: Option<SpillDir>,
    /// `main` waits (a few seconds at most) for an attach before the
    /// command runs, so its output is read live (see `output.rs`); set by
    /// `run` for images with an exit marker
    pub gate: bool,
}

impl Spec {
    /// SPEC.md's defaults (the original toolkit's flags). Where callers
    /// differ, and why:
    /// - scripts name objects with [`object_name`] (node and run id), so
    ///   concurrent runs never collide; the CLI keeps the fixed names;
    /// - scripts use the context's namespace (SPEC.md), the CLI `default`;
    /// - scripts copy artifacts into the run's directory, the CLI to `./`;
    /// - node sessions run `sleep infinity` and enter the node with
    ///   `-t 1 -m -u -i -n -p` (the mount namespace too, so commands see
    ///   the node's files), where ron's default leaves `-m` out like the
    ///   original.
    pub fn new(node: &str, argv: Vec<String>, run_id: &str) -> Spec {
        Spec {
            node: node.to_string(),
            argv,
            pod_name: "ron".into(),
            image: "alpine".into(),
            namespace: "default".into(),
            nsenter: false,
            nsenter_binary: "nsenter".into(),
            nsenter_opts: "-t 1 -u -i -n -p".into(),
            files: vec![],
            configmap_name: "roncm".into(),
            pvc: false,
            pvc_name: "ron-pvc".into(),
            pvc_size: "1Gi".into(),
            pvc_access_mode: "ReadWriteOnce".into(),
            manage_pvc: true,
            auto_copy: true,
            auto_copy_dest: PathBuf::from("./ron.tar.gz"),
            cleanup: Cleanup::All,
            retry_attempts: 15,
            retry_delay: Duration::from_secs(1),
            show_events: false,
            run_id: run_id.to_string(),
            timeout: DEFAULT_TIMEOUT,
            prefix: String::new(),
            spill: None,
            gate: false,
        }
    }

    /// The line the wrapped command prints last with its exit code, when
    /// the image is known to have `sh` (alpine, busybox): the code then
    /// comes from the log stream at once instead of the pod's status,
    /// which the kubelet updates about once a second.
    pub fn exit_marker(&self) -> Option<String> {
        let repo = self.image.split(['@', ':']).next().unwrap_or("");
        let name = repo.rsplit('/').next().unwrap_or(repo);
        matches!(name, "alpine" | "busybox").then(|| format!("__scaffold_exit_{}__ ", self.run_id))
    }

    /// The line the gated command prints before it starts.
    pub fn start_marker(&self) -> String {
        format!("__scaffold_start_{}__", self.run_id)
    }

    /// How long transient failures (image pulls the kubelet retries,
    /// create requests) may go on.
    pub fn retry_budget(&self) -> Duration {
        self.retry_delay.saturating_mul(self.retry_attempts.max(1))
    }

    pub fn created(&self) -> Created {
        Created {
            namespace: self.namespace.clone(),
            run_id: self.run_id.clone(),
            ..Default::default()
        }
    }
}

/// Mounted files: base names must be unique; read before anything is created.
pub fn read_mounts(paths: &[std::path::PathBuf]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut files: Vec<(String, Vec<u8>)> = vec![];
    for path in paths {
        let base = path
            .file_name()
            .map(|b| b.to_string_lossy().to_string())
            .unwrap_or_default();
        if files.iter().any(|(b, _)| *b == base) {
            return Err(format!("two mounted files have the base name '{base}'; ConfigMap keys must differ (rename one)"));
        }
        let body = std::fs::read(path)
            .map_err(|e| format!("cannot read mount {}: {e}", path.display()))?;
        files.push((base, body));
    }
    Ok(files)
}
