//! The fake API server itself: seeding, lists, exec, logs, port-forward (what the other groups build on).

use crate::common::*;
use fakecluster::{FakeCluster, Options};
use serde_json::json;
use std::time::{Duration, Instant};

pub fn bench_fake(a: &Args) -> Vec<Row> {
    let mut rows = seed_and_list(a);
    // exec round trip and log follow latency on a runnable pod
    let fc = FakeCluster::start(Options::default());
    let api = runnable_pods(&fc);
    rows.push(exec_row(a, &fc, &api));
    rows.push(log_latency_row(&fc, &api));
    rows.push(portforward_row(a, &fc, &api));
    rows
}

type Pods = kube::Api<k8s_openapi::api::core::v1::Pod>;

/// fake_seed and fake_list: many Running pods seeded, then listed.
fn seed_and_list(a: &Args) -> Vec<Row> {
    let mut rows = vec![];
    let (pods, nodes) = if a.quick { (2_000, 20) } else { (10_000, 100) };
    let fc = FakeCluster::start(Options {
        nodes: 1,
        ..Default::default()
    });
    let t = Instant::now();
    fc.seed_ready_pods(pods, nodes, "bench");
    let seed = t.elapsed().as_secs_f64() * 1000.0;
    rows.push(Row {
        name: "fake_seed",
        what: format!("seed {pods} pods on {nodes} nodes"),
        unit: "ms",
        target: (!a.quick).then(|| {
            (
                format!("10,000 pods <= 2000 ms ({seed:.0})"),
                seed <= 2000.0,
            )
        }),
        guard: None,
        ours: stats(vec![seed]),
        peer: None,
        extra: json!({"processes": fc.running_processes()}),
    });
    let c = client(&fc);
    let reps = if a.quick { 3 } else { 5 };
    let mut ours = vec![];
    for _ in 0..reps {
        // the raw list (what the fixture serves), not kube-rs's typed decoding
        let t = Instant::now();
        let req = http::Request::get("/api/v1/pods").body(Vec::new()).unwrap();
        let body = fc.runtime().block_on(c.request_text(req)).unwrap();
        assert!(body.len() > pods * 100);
        ours.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let peer = kubectl_ms(&fc, &["get", "pods", "-A", "-o", "json"], reps);
    let o = stats(ours);
    let ratio = o.median / stats(peer.clone()).median;
    rows.push(Row {
        name: "fake_list",
        what: format!("list all {pods} pods (one GET through the kube-rs client)"),
        unit: "ms",
        target: (!a.quick).then(|| (format!("<= 200 ms ({:.0})", o.median), o.median <= 200.0)),
        guard: Some((
            "faster than kubectl get pods -A -o json".into(),
            ratio < 1.0,
        )),
        ours: o,
        peer: Some(("kubectl get pods -A -o json".into(), stats(peer))),
        extra: json!({}),
    });
    rows
}

/// Two runnable pods (`sh` sleeps, `ticker` prints its clock), Running.
fn runnable_pods(fc: &FakeCluster) -> Pods {
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sh", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]}})).unwrap();
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ticker", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "while true; do date +%s%N; sleep 0.05; done"]}]}})).unwrap();
    let t = Instant::now();
    while ["sh", "ticker"]
        .iter()
        .any(|p| fc.get("v1", "Pod", "default", p).unwrap()["status"]["phase"] != "Running")
    {
        assert!(t.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(20));
    }
    kube::Api::default_namespaced(client(fc))
}

/// fake_exec: `true` exec'd round trip, against kubectl exec.
fn exec_row(a: &Args, fc: &FakeCluster, api: &Pods) -> Row {
    let n = if a.quick { 20 } else { 50 };
    let mut ours = vec![];
    for _ in 0..n {
        let t = Instant::now();
        fc.runtime().block_on(async {
            let ap = kube::api::AttachParams::default()
                .stdin(false)
                .stderr(false);
            let mut p = api.exec("sh", vec!["true"], &ap).await.unwrap();
            let st = p.take_status().unwrap().await;
            assert_eq!(st.and_then(|s| s.status).as_deref(), Some("Success"));
            let _ = p.join().await;
        });
        ours.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let peer = kubectl_ms(fc, &["exec", "sh", "--", "true"], (n / 5).max(5));
    let o = stats(ours);
    let ratio = o.median / stats(peer.clone()).median;
    Row {
        name: "fake_exec",
        what: "exec `true` round trip (kube-rs, one client)".into(),
        unit: "ms",
        target: Some((format!("<= 20 ms ({:.1})", o.median), o.median <= 20.0)),
        guard: Some(("faster than kubectl exec".into(), ratio < 1.0)),
        ours: o,
        peer: Some(("kubectl exec POD -- true".into(), stats(peer))),
        extra: json!({}),
    }
}

/// fake_log_latency: a line printed in a pod to the line received.
fn log_latency_row(fc: &FakeCluster, api: &Pods) -> Row {
    let lat = fc.runtime().block_on(async {
        use futures::{AsyncBufReadExt, StreamExt};
        // only lines printed from now on
        let lp = kube::api::LogParams {
            follow: true,
            tail_lines: Some(0),
            ..Default::default()
        };
        let mut lines = api.log_stream("ticker", &lp).await.unwrap().lines();
        let mut v = vec![];
        while let Some(Ok(l)) = lines.next().await {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as f64;
            if let Ok(ns) = l.trim().parse::<f64>() {
                v.push((now - ns) / 1e6);
            }
            if v.len() >= 30 {
                break;
            }
        }
        v
    });
    let l = stats(lat);
    Row {
        name: "fake_log_latency",
        what: "log follow: line printed in a pod to line received".into(),
        unit: "ms",
        target: Some((format!("<= 10 ms ({:.2})", l.median), l.median <= 10.0)),
        guard: None,
        ours: l,
        peer: None,
        extra: json!({}),
    }
}

/// fake_portforward: a download through the fake's port-forward, against
/// direct loopback.
fn portforward_row(a: &Args, fc: &FakeCluster, api: &Pods) -> Row {
    let size: u64 = if a.quick { 64 << 20 } else { 1 << 30 };
    let port = byte_server();
    let direct = download(port, size);
    let pf = fc.runtime().block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let t = Instant::now();
        let mut f = api.portforward("sh", &[port]).await.unwrap();
        let mut s = f.take_stream(port).unwrap();
        s.write_all(&size.to_le_bytes()).await.unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0u64;
        while got < size {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0);
            got += n as u64;
        }
        size as f64 / t.elapsed().as_secs_f64() / 1048576.0
    });
    let ratio = pf / direct;
    Row {
        name: "fake_portforward",
        what: format!(
            "port-forward download of {} MiB through the fake server (kube-rs)",
            size >> 20
        ),
        unit: "MiB/s",
        target: Some((format!(">= 190.7 MiB/s (200 MB/s) ({pf:.0})"), pf >= 190.7)),
        guard: Some(("at least 2% of direct loopback".into(), ratio > 0.02)),
        ours: stats(vec![pf]),
        peer: Some(("direct loopback (ceiling)".into(), stats(vec![direct]))),
        extra: json!({}),
    }
}
