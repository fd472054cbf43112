//! Objects: apply at default and raised limits, `wait_for` latency, port-forward throughput.

use crate::common::*;
use fakecluster::{FakeCluster, Options};
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub fn bench_objects(a: &Args, bin: &Path) -> Vec<Row> {
    let fc = FakeCluster::start(Options {
        nodes: 1,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let small = if a.quick { 50 } else { 200 };
    let big = if a.quick { 200 } else { 1000 };
    let reps = if a.quick { 1 } else { 3 };
    let mut rows = vec![
        apply_default_row(bin, &fc, &dir, small, reps),
        apply_raised_row(a, bin, &fc, &dir, big, reps),
        wait_for_row(a, bin, &fc, &dir),
    ];
    rows.extend(port_forward_rows(a, bin, &fc, &dir));
    rows
}

/// apply_default: `scaffold apply` of `small` ConfigMaps at the default
/// limit, against kubectl apply --server-side.
fn apply_default_row(
    bin: &Path,
    fc: &FakeCluster,
    dir: &tempfile::TempDir,
    small: usize,
    reps: usize,
) -> Row {
    let (mut ours, mut peer) = (vec![], vec![]);
    for r in 0..reps {
        let f = dir.path().join(format!("small-{r}.yaml"));
        std::fs::write(&f, configmaps(small, &format!("ours-{r}"))).unwrap();
        let (s, _, ok) = run_measured(
            Command::new(bin)
                .arg("apply")
                .arg(&f)
                .env("KUBECONFIG", fc.kubeconfig()),
        );
        assert!(ok, "scaffold apply failed");
        ours.push(s * 1000.0);
        let f = dir.path().join(format!("peer-{r}.yaml"));
        std::fs::write(&f, configmaps(small, &format!("kubectl-{r}"))).unwrap();
        let (s, _, ok) = run_measured(
            Command::new("kubectl")
                .args(["apply", "--server-side", "-f"])
                .arg(&f)
                .env("KUBECONFIG", fc.kubeconfig()),
        );
        assert!(ok, "kubectl apply failed");
        peer.push(s * 1000.0);
    }
    let o = stats(ours);
    let ratio = o.median / stats(peer.clone()).median;
    Row {
        name: "apply_default",
        what: format!("apply {small} ConfigMaps at the defaults (50 qps, burst 100)"),
        unit: "ms",
        target: None,
        // our default limit (50 qps, burst 100) bounds this run at ~2 s; kubectl
        // 1.32 does not throttle itself against this server, so it can be faster
        guard: Some((
            "within 20x of kubectl apply --server-side".into(),
            ratio < 20.0,
        )),
        ours: o,
        peer: Some(("kubectl apply --server-side -f".into(), stats(peer))),
        extra: json!({}),
    }
}

/// apply_raised: `apply()` of `big` ConfigMaps with the limit raised.
fn apply_raised_row(
    a: &Args,
    bin: &Path,
    fc: &FakeCluster,
    dir: &tempfile::TempDir,
    big: usize,
    reps: usize,
) -> Row {
    let script = dir.path().join("big.rhai");
    let f = dir.path().join("big.yaml");
    std::fs::write(&f, configmaps(big, "big")).unwrap();
    std::fs::write(
        &script,
        format!(
            "apply({:?}, #{{qps: 1000, burst: 1000}});",
            f.display().to_string()
        ),
    )
    .unwrap();
    let mut t = vec![];
    let mut rss = vec![];
    for r in 0..reps {
        if r > 0 {
            fc.delete("v1", "Namespace", "", "big").unwrap();
        }
        let (s, m, ok) = run_measured(
            Command::new(bin)
                .args(["script"])
                .arg(&script)
                .args(["--no-breakpoints", "--artifacts"])
                .arg(dir.path().join("art"))
                .env("KUBECONFIG", fc.kubeconfig()),
        );
        assert!(ok, "apply of {big} failed");
        t.push(s * 1000.0);
        rss.push(m);
    }
    let o = stats(t);
    Row {
        name: "apply_raised",
        what: format!("apply {big} ConfigMaps with qps 1000 (script)"),
        unit: "ms",
        target: (!a.quick).then(|| {
            (
                format!("1,000 objects <= 2000 ms ({:.0})", o.median),
                o.median <= 2000.0,
            )
        }),
        guard: None,
        ours: o,
        peer: None,
        extra: json!({"rss_mib": stats(rss).median}),
    }
}

/// wait_for_latency: a ConfigMap changes while wait_for waits with a
/// closure; time until the script prints.
fn wait_for_row(a: &Args, bin: &Path, fc: &FakeCluster, dir: &tempfile::TempDir) -> Row {
    fc.seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flag", "namespace": "default"}, "data": {"v": "0"}})).unwrap();
    let ws = dir.path().join("waitfor.rhai");
    std::fs::write(&ws, "wait_for(\"configmap\", \"flag\", #{namespace: \"default\", condition: |o| o.data.v == \"1\", timeout: 30}); print(\"done\");").unwrap();
    let n = if a.quick { 3 } else { 7 };
    let mut lat = vec![];
    for _ in 0..n {
        fc.update("v1", "ConfigMap", "default", "flag", |o| {
            o["data"]["v"] = json!("0")
        })
        .unwrap();
        let mut cmd = Command::new(bin);
        cmd.args(["script"])
            .arg(&ws)
            .args(["--no-breakpoints", "--artifacts"])
            .arg(dir.path().join("art"))
            .env("KUBECONFIG", fc.kubeconfig());
        lat.push(latency_ms(
            cmd,
            Duration::from_millis(500),
            || {
                fc.update("v1", "ConfigMap", "default", "flag", |o| {
                    o["data"]["v"] = json!("1")
                })
                .unwrap();
            },
            "done",
        ));
    }
    let l = stats(lat);
    let ratio = l.median / 5000.0;
    Row {
        name: "wait_for_latency",
        what: "wait_for with a closure: object changes -> call returns".into(),
        unit: "ms",
        target: Some((format!("<= 50 ms ({:.1})", l.median), l.median <= 50.0)),
        guard: Some(("well under the original's 5 s polling".into(), ratio < 0.2)),
        ours: l,
        peer: Some(("original: 5 s polling (bound)".into(), stats(vec![5000.0]))),
        extra: json!({}),
    }
}

/// port_forward and its RSS: a download through `scaffold port-forward`,
/// against direct loopback.
fn port_forward_rows(a: &Args, bin: &Path, fc: &FakeCluster, dir: &tempfile::TempDir) -> Vec<Row> {
    let mut rows = vec![];
    let port = byte_server();
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]}})).unwrap();
    let t = Instant::now();
    while fc.get("v1", "Pod", "default", "sleeper").unwrap()["status"]["phase"] != "Running" {
        assert!(t.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(20));
    }
    let local = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pf_rss = dir.path().join("port-forward.rss");
    let mut child = rss_cmd(bin, &pf_rss)
        .args([
            "port-forward",
            "pod/sleeper",
            &port.to_string(),
            "--local-port",
            &local.to_string(),
        ])
        .env("KUBECONFIG", fc.kubeconfig())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
    }
    let size: u64 = if a.quick { 64 << 20 } else { 512 << 20 };
    let ours = download(local, size);
    let direct = download(port, size);
    // the group: GNU time passes nothing on, scaffold stops on SIGINT
    scaffold::signals::signal_group(child.id(), scaffold::signals::Signal::Int);
    let _ = child.wait();
    rows.push(rss_row(
        "port_forward_rss",
        "peak RSS of scaffold port-forward during that download",
        &pf_rss,
    ));
    let ratio = ours / direct;
    rows.push(Row {
        name: "port_forward",
        what: format!(
            "scaffold port-forward: {} MiB download through the fake API server",
            size >> 20
        ),
        unit: "MiB/s",
        target: None,
        guard: Some(("at least 2% of direct loopback".into(), ratio > 0.02)),
        ours: stats(vec![ours]),
        peer: Some(("direct loopback (ceiling)".into(), stats(vec![direct]))),
        extra: json!({}),
    });
    rows
}
