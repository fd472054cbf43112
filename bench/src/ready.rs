//! Readiness: `verify k8s-ready` over a big cluster, `wait_ready` latency after the last flip, memory.

use crate::common::*;
use fakecluster::{FakeCluster, Options};
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub fn bench_ready(a: &Args, bin: &Path) -> Vec<Row> {
    let mut rows = verify_rows(a, bin);
    rows.extend(wait_ready_rows(a, bin));
    rows
}

/// verify_ready and its RSS over a big cluster, against kubectl fetching
/// the same objects.
fn verify_rows(a: &Args, bin: &Path) -> Vec<Row> {
    let mut rows = vec![];
    let (pods, nodes, deploys) = if a.quick {
        (2_000, 20, 200)
    } else {
        (10_000, 100, 1_000)
    };
    let fc = FakeCluster::start(Options {
        nodes: 1,
        ..Default::default()
    });
    fc.seed_ready_pods(pods, nodes, "bench");
    fc.seed_ready_deployments(deploys, "bench");
    let reps = if a.quick { 3 } else { 5 };
    let (mut ours, mut rss, mut peer) = (vec![], vec![], vec![]);
    for _ in 0..reps {
        let (s, r, _) = run_measured(
            Command::new(bin)
                .args(["verify", "k8s-ready", "-o", "json"])
                .env("KUBECONFIG", fc.kubeconfig()),
        );
        ours.push(s * 1000.0);
        rss.push(r);
        let (s, _, ok) = run_measured(
            Command::new("kubectl")
                .args([
                    "get",
                    "nodes,pods,deployments,daemonsets,statefulsets",
                    "-A",
                    "-o",
                    "json",
                ])
                .env("KUBECONFIG", fc.kubeconfig()),
        );
        assert!(ok);
        peer.push(s * 1000.0);
    }
    let o = stats(ours);
    let ratio = o.median / stats(peer.clone()).median;
    rows.push(Row {
        name: "verify_ready",
        what: format!(
            "scaffold verify k8s-ready over {pods} pods, {} nodes, {deploys} deployments",
            nodes + 1
        ),
        unit: "ms",
        target: (!a.quick).then(|| {
            (
                format!("<= 1000 ms and <= kubectl ({:.0})", o.median),
                o.median <= 1000.0 && ratio <= 1.0,
            )
        }),
        guard: Some((
            "no slower than kubectl fetching the same objects".into(),
            ratio <= 1.0,
        )),
        ours: o,
        peer: Some((
            "kubectl get nodes,pods,deploy,ds,sts -A -o json".into(),
            stats(peer),
        )),
        extra: json!({}),
    });
    rows.push(Row {
        name: "verify_ready_rss",
        what: "peak RSS of that verify".into(),
        unit: "MiB",
        target: None,
        guard: None,
        ours: stats(rss),
        peer: None,
        extra: json!({}),
    });
    rows
}

/// wait_ready_latency: the last resource turns ready → the call returns;
/// and the waiting script's RSS.
fn wait_ready_rows(a: &Args, bin: &Path) -> Vec<Row> {
    let mut rows = vec![];
    let fc = FakeCluster::start(Options {
        nodes: 3,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("wait.rhai");
    std::fs::write(&script, "wait_ready(#{timeout: 60}); print(\"ready\");").unwrap();
    let n = if a.quick { 3 } else { 7 };
    let mut lat = vec![];
    let wait_rss = dir.path().join("wait-ready.rss");
    for _ in 0..n {
        fc.set_condition("Node", "", "kind-worker", "Ready", "False")
            .unwrap();
        let mut cmd = rss_cmd(bin, &wait_rss);
        cmd.args(["script"])
            .arg(&script)
            .args(["--no-breakpoints", "--artifacts"])
            .arg(dir.path().join("art"))
            .env("KUBECONFIG", fc.kubeconfig());
        lat.push(latency_ms(
            cmd,
            Duration::from_millis(700),
            || {
                fc.set_condition("Node", "", "kind-worker", "Ready", "True")
                    .unwrap();
            },
            "ready",
        ));
    }
    let l = stats(lat);
    let ratio = l.median / 5000.0;
    rows.push(Row {
        name: "wait_ready_latency",
        what: "wait_ready: last resource turns ready -> call returns".into(),
        unit: "ms",
        target: Some((format!("<= 100 ms ({:.1})", l.median), l.median <= 100.0)),
        guard: Some(("well under the original's 5 s polling".into(), ratio < 0.2)),
        ours: l,
        peer: Some(("original: retry.sh 5 (bound)".into(), stats(vec![5000.0]))),
        extra: json!({}),
    });
    rows.push(rss_row(
        "wait_ready_rss",
        "peak RSS of a script waiting with wait_ready",
        &wait_rss,
    ));
    rows
}

/// `fingerprint()` of a 100-node fake cluster: a session per node (32 at a
/// time), the node script in each, the CNI's ConfigMaps; timed inside the
/// script.
pub fn bench_fingerprint(a: &Args, bin: &Path) -> Vec<Row> {
    let nodes = 100;
    let fc = FakeCluster::start(Options {
        nodes,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("fp.rhai");
    std::fs::write(
        &script,
        "let t = timestamp(); let f = fingerprint(); print(`took=${t.elapsed} fields=${f.len()}`);",
    )
    .unwrap();
    let reps = if a.quick { 3 } else { 5 };
    let mut ours = vec![];
    for _ in 0..reps {
        let out = Command::new(bin)
            .arg("script")
            .arg(&script)
            .arg("--artifacts")
            .arg(dir.path().join("art"))
            .env("KUBECONFIG", fc.kubeconfig())
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        let took: f64 = s
            .split_whitespace()
            .find_map(|w| w.strip_prefix("took="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "fingerprint failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        ours.push(took * 1000.0);
    }
    let t = stats(ours);
    vec![Row {
        name: "fingerprint_100",
        what: format!(
            "fingerprint() of a {nodes}-node fake cluster (a session per node, 32 at a time)"
        ),
        unit: "ms",
        target: Some((format!("<= 1000 ms ({:.0})", t.median), t.median <= 1000.0)),
        guard: Some(("under 5 s".into(), t.median < 5000.0)),
        peer: None,
        ours: t,
        extra: json!({"nodes": nodes}),
    }]
}
