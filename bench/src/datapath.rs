//! The datapath measurements' own cost and resolution: what reading the
//! nodes' CPU time (`measure_cpu`) takes from a throughput test, and how
//! finely `probe_service`'s probe loop sees a Service change, on the fake
//! API server (its node sessions are local processes).

use crate::common::*;
use fakecluster::{FakeCluster, Options};
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// Run a script in `dir` against `fc`; its `out.txt`.
fn script(bin: &Path, fc: &FakeCluster, dir: &Path, text: &str, env: &[(&str, &str)]) -> String {
    std::fs::write(dir.join("s.rhai"), text).unwrap();
    let mut c = Command::new(bin);
    c.current_dir(dir)
        .args(["script", "s.rhai", "--no-breakpoints", "--artifacts", "art"])
        .env("KUBECONFIG", fc.kubeconfig());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "bench script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.join("out.txt")).unwrap_or_default()
}

/// iperf3 over loopback for `secs`, with and without `measure_cpu`
/// reading two nodes once a second, in alternating pairs; the upper
/// bound of the 95% interval of the median paired difference of the
/// throughput, against the median without.
fn sampling_row(a: &Args, bin: &Path) -> Option<Row> {
    let iperf3 = Command::new("sh")
        .args(["-c", "command -v iperf3"])
        .output()
        .ok()?;
    if !iperf3.status.success() {
        eprintln!("cpu_sampling: SKIP: no iperf3 (Debian package iperf3)");
        return None;
    }
    let (pairs, secs) = if a.quick { (5, 2) } else { (11, 5) };
    let port = free_port();
    let mut server = Command::new("iperf3")
        .args(["-s", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    std::thread::sleep(std::time::Duration::from_millis(300));
    let fc = FakeCluster::start(Options {
        nodes: 2,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"import "netperf" as np;
        let cpu = if env("CPU", "on") == "on" {{ measure_cpu(#{{nodes: ["kind-control-plane", "kind-worker"]}}) }} else {{ () }};
        let r = np::iperf3(#{{from: "host", server: "127.0.0.1", port: {port}, duration: {secs}}});
        if cpu != () {{ cpu.stop(); }}
        write_file("out.txt", `bps=${{r.throughput_bps}}`);"#
    );
    let (mut with, mut without, mut diffs) = (vec![], vec![], vec![]);
    for i in 0..pairs {
        let mut pair = [0.0; 2];
        for k in [i % 2, 1 - i % 2] {
            let env: &[(&str, &str)] = if k == 0 {
                &[("CPU", "on")]
            } else {
                &[("CPU", "off")]
            };
            pair[k] = num(&script(bin, &fc, dir.path(), &text, env), "bps") / 1e9;
        }
        with.push(pair[0]);
        without.push(pair[1]);
        // what sampling takes away: positive is a loss
        diffs.push(pair[1] - pair[0]);
    }
    let _ = server.kill();
    let ci = scaffold::stats::median_ci(&diffs).expect("pairs");
    let base = scaffold::stats::median(&without);
    let upper = ci.hi / base * 100.0;
    Some(Row {
        name: "cpu_sampling",
        what: format!(
            "iperf3 {secs} s over loopback with measure_cpu reading 2 nodes each second vs without ({pairs} alternating pairs): throughput lost, median {:+.2}%, 95% interval [{:+.2}%, {:+.2}%]",
            ci.median / base * 100.0,
            ci.lo / base * 100.0,
            upper
        ),
        unit: "Gbit/s",
        target: Some((format!("<= 2% lost (upper bound {upper:+.2}%)"), upper <= 2.0)),
        // the median, not the bound: a few short pairs (--quick) give a
        // wide interval on a loaded machine
        guard: Some((
            format!("median loss under 10% ({:+.2}%)", ci.median / base * 100.0),
            ci.median / base * 100.0 < 10.0,
        )),
        peer: Some(("the same without sampling".into(), stats(without.clone()))),
        ours: stats(with),
        extra: json!({"pairs": pairs, "seconds": secs, "median_loss": ci.median, "ci": [ci.lo, ci.hi], "ci_level": ci.level}),
    })
}

/// The probe loop's gap between attempts on the fake's simulated
/// dataplane: one backend, one node probing for a few seconds.
fn resolution_row(a: &Args, bin: &Path) -> Row {
    let fc = FakeCluster::start(Options {
        nodes: 2,
        loopback_ips: true,
        service_dataplane: true,
        image_programs: vec![(
            "registry.k8s.io/e2e-test-images/agnhost".into(),
            root().join("tests/tools/backend.py").display().to_string(),
        )],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let secs = if a.quick { 3 } else { 10 };
    let text = format!(
        r#"apply(`
apiVersion: apps/v1
kind: Deployment
metadata: {{name: be}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: be}}}}
  template:
    metadata: {{labels: {{app: be}}}}
    spec:
      containers:
      - name: main
        image: registry.k8s.io/e2e-test-images/agnhost:2.52
        args: [netexec, --http-port=8080]
        env: [{{name: POD_IP, valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}}}]
        ports: [{{name: http, containerPort: 8080}}]
        readinessProbe: {{httpGet: {{path: /hostname, port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: be}}
spec:
  selector: {{app: be}}
  ports: [{{port: 80, targetPort: http}}]
`, #{{wait: true}});
        let ip = get("service", "be").spec.clusterIP;
        let r = probe_service(#{{service: "be", ip: ip, port: 80, selector: "app=be", seconds: {secs}, nodes: ["kind-worker"]}}).wait();
        let n = r.nodes["kind-worker"];
        write_file("out.txt", `p50=${{n.resolution_p50_ms}} p99=${{n.resolution_p99_ms}} probes=${{n.probes}} errors=${{n.errors}}`);"#
    );
    let out = script(bin, &fc, dir.path(), &text, &[]);
    let (p50, p99) = (num(&out, "p50"), num(&out, "p99"));
    Row {
        name: "probe_resolution",
        what: format!(
            "probe_service's probe loop on the fake's simulated dataplane ({secs} s, one node, one backend): the gap between attempts, p50 {p50:.1} ms, p99 {p99:.1} ms ({out})"
        ),
        unit: "ms",
        target: Some((format!("<= 10 ms ({p50:.1})"), p50 <= 10.0)),
        guard: Some(("under 50 ms".into(), p50 < 50.0)),
        peer: None,
        ours: Stats {
            median: p50,
            min: p50,
            max: p99,
            n: num(&out, "probes") as usize,
        },
        extra: json!({"p50": p50, "p99": p99, "seconds": secs}),
    }
}

pub fn bench_datapath(a: &Args, bin: &Path) -> Vec<Row> {
    let mut rows = vec![];
    rows.extend(sampling_row(a, bin));
    rows.push(resolution_row(a, bin));
    rows
}
