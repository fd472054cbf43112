//! The labels of everything scaffold creates by itself (SPEC.md
//! "Labels"): who made it and which run, so it is deleted at the end of
//! the run and `scaffold cleanup` finds what a killed run left.

use serde_json::{json, Value};

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const RUN_ID: &str = "scaffold.run/id";
/// When the run started (seconds since the epoch): `scaffold cleanup
/// --older-than` goes by the run's age, not by each object's
pub const RUN_STARTED: &str = "scaffold.run/started";
/// The machine and process of the run: `scaffold cleanup` leaves a run
/// whose process is alive on this machine alone
pub const RUN_HOST: &str = "scaffold.run/host";
pub const RUN_PID: &str = "scaffold.run/pid";

/// This process's run: (started, host, pid), fixed by the first call.
fn stamp() -> &'static (u64, String, u32) {
    static STAMP: std::sync::OnceLock<(u64, String, u32)> = std::sync::OnceLock::new();
    STAMP.get_or_init(|| {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        (started, this_host(), std::process::id())
    })
}

/// Fix the run's start now (called as the run starts).
pub fn stamp_run() {
    stamp();
}

/// This machine's name as a label value (at most 63 characters of
/// `[A-Za-z0-9._-]`, starting and ending with a letter or digit).
pub fn this_host() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let clean: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    clean
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

/// The labels of everything scaffold creates by itself.
pub fn labels(run_id: &str) -> Value {
    let (started, host, pid) = stamp();
    json!({MANAGED_BY: "scaffold", RUN_ID: run_id, RUN_STARTED: started.to_string(),
        RUN_HOST: host, RUN_PID: pid.to_string()})
}

/// Created by scaffold (any run).
pub fn ours(obj: &Value) -> bool {
    obj["metadata"]["labels"][MANAGED_BY] == "scaffold"
}
