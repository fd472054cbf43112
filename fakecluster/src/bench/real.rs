//! Rows on a real cluster (`--kubeconfig FILE`): what the fake cannot tell.

use crate::common::*;
use serde_json::json;
use std::path::Path;

/// ron and node sessions on a real cluster (`--kubeconfig`): what the fake
/// server cannot tell, because its pods start in milliseconds. Uses the
/// first worker node (or the first node) and the context's namespace.
pub fn bench_real(a: &Args, bin: &Path, kubeconfig: &Path) -> Vec<Row> {
    let dir = tempfile::tempdir().unwrap();
    let node = script_output(
        bin,
        kubeconfig,
        dir.path(),
        "node.rhai",
        r#"let all = nodes(); let w = all.filter(|n| !n.roles.contains("control-plane")); print(if w.len() > 0 { w[0].name } else { all[0].name });"#,
    );
    let (rons, cmds) = if a.quick { (3, 20) } else { (10, 100) };
    // ron: each call timed in the script (no process start in the figure)
    let text = script_output(
        bin,
        kubeconfig,
        dir.path(),
        "rons.rhai",
        &format!(
            r#"for i in 0..{rons} {{ let t = timestamp(); ron("{node}", "true"); print(t.elapsed * 1000.0); }}"#
        ),
    );
    let ron_ms: Vec<f64> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    let text = script_output(
        bin,
        kubeconfig,
        dir.path(),
        "session.rhai",
        &format!(
            r#"let t = timestamp(); let s = node_session("{node}"); print(t.elapsed * 1000.0); s.exec("true"); let t = timestamp(); for i in 0..{cmds} {{ s.exec("true"); }} print(t.elapsed * 1000.0); s.close();"#
        ),
    );
    let v: Vec<f64> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert_eq!(v.len(), 2, "session output: {text}");
    let (open_ms, per_cmd) = (v[0], v[1] / cmds as f64);
    let ron = stats(ron_ms);
    let factor = ron.median / per_cmd;
    vec![
        Row {
            name: "real_ron",
            what: format!(
                "ron(\"{node}\", \"true\") on the real cluster, call to return, {rons} calls"
            ),
            unit: "ms",
            target: None,
            guard: None,
            ours: ron.clone(),
            peer: None,
            extra: json!({"node": node}),
        },
        Row {
            name: "real_session_exec",
            what: format!("node_session(\"{node}\").exec(\"true\"), mean of {cmds}"),
            unit: "ms",
            target: Some((format!("<= 25 ms ({per_cmd:.1})"), per_cmd <= 25.0)),
            guard: None,
            ours: stats(vec![per_cmd]),
            peer: None,
            extra: json!({"session_open_ms": open_ms}),
        },
        Row {
            name: "real_session_vs_ron",
            what: format!("{cmds} session commands vs {cmds} ron calls (ron median x {cmds})"),
            unit: "ms",
            target: Some((format!(">= 10x faster ({factor:.0}x)"), factor >= 10.0)),
            guard: None,
            ours: stats(vec![per_cmd * cmds as f64]),
            peer: Some((
                format!("{cmds} ron calls"),
                stats(vec![ron.median * cmds as f64]),
            )),
            extra: json!({"speedup": factor}),
        },
    ]
}
