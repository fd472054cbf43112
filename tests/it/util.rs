//! Helpers: a temp project directory, running the binary, reading results.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("scaffold")
}

/// A temp directory with files, and a clean environment for the binary.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Project { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, name: &str, body: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&p, body).unwrap();
        p
    }

    /// The binary, run in the project dir with HOME inside it and no KUBECONFIG.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.path())
            .env("HOME", self.path().join("home"))
            .env("XDG_STATE_HOME", self.path().join("state"))
            .env_remove("KUBECONFIG")
            .env_remove("SCAFFOLD_STDLIB")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .timeout(std::time::Duration::from_secs(60));
        c
    }

    /// The same, as a std Command (for signals and ptys).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(bin());
        c.current_dir(self.path())
            .env("HOME", self.path().join("home"))
            .env("XDG_STATE_HOME", self.path().join("state"))
            .env("TERM", "xterm")
            .env_remove("KUBECONFIG")
            .env_remove("SCAFFOLD_STDLIB")
            .env_remove("KUBERNETES_SERVICE_HOST");
        c
    }

    /// results.json of the newest run under `artifacts/`.
    pub fn results(&self) -> serde_json::Value {
        self.results_in(&self.path().join("artifacts"))
    }

    pub fn results_in(&self, parent: &Path) -> serde_json::Value {
        let p = parent.join("latest").join("results.json");
        let s = std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
        serde_json::from_str(&s).unwrap()
    }
}

/// stderr without the run-specific `results: ...` line (for snapshots).
pub fn stable(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| !l.starts_with("results: "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Objects labelled as created by scaffold (ron pods, ConfigMaps, PVCs,
/// session pods), still in the fake cluster: `Kind/name`.
pub fn leftovers(fc: &fakecluster::FakeCluster) -> Vec<String> {
    let mut out = vec![];
    for kind in ["Pod", "ConfigMap", "PersistentVolumeClaim"] {
        for o in fc.list("v1", kind) {
            if o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "scaffold" {
                out.push(format!(
                    "{kind}/{}",
                    o["metadata"]["name"].as_str().unwrap()
                ));
            }
        }
    }
    out
}
