//! Metrics profiles against the real Prometheus (Debian's), as the fake's
//! pod behind `monitoring/prometheus`: `collect_metrics` of a 20-query
//! profile over a 10-minute window that holds data (backfilled with
//! `promtool tsdb create-blocks-from openmetrics`), against the ceiling of
//! the same 20 range queries sent straight to Prometheus.

use crate::common::*;
use fakecluster::{FakeCluster, Options};
use serde_json::json;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const QUERIES: usize = 20;
/// the window: 10 minutes, 15 s apart (41 points per series)
const WINDOW: u64 = 600;
const STEP: u64 = 15;

/// 10 minutes of `bench_value{q, instance}` (20 queries × 2 series) ending
/// at `end`, as OpenMetrics, backfilled into `data`.
fn backfill(promtool: &Path, dir: &Path, end: u64) -> std::path::PathBuf {
    let mut om = String::from("# TYPE bench_value gauge\n");
    for q in 0..QUERIES {
        for inst in ["a", "b"] {
            let mut t = end - WINDOW;
            while t <= end {
                om.push_str(&format!(
                    "bench_value{{q=\"{q}\",instance=\"{inst}\"}} {} {t}\n",
                    (q * 10) as u64 + t % 7
                ));
                t += STEP;
            }
        }
    }
    om.push_str("# EOF\n");
    let file = dir.join("bench.om");
    std::fs::write(&file, om).unwrap();
    let data = dir.join("tsdb");
    let out = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&file)
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    data
}

/// GET `path` from 127.0.0.1:`port`: the body.
fn get(port: u16, path: &str) -> String {
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut all = String::new();
    c.read_to_string(&mut all).unwrap();
    all.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// Prometheus on the fake, serving the backfilled data; its port.
fn prometheus(fc: &FakeCluster, prom: &Path, dir: &Path, data: &Path) -> u16 {
    let port = free_port();
    let cfg = dir.join("prometheus.yml");
    std::fs::write(&cfg, "global: {scrape_interval: 1m}\nscrape_configs: []\n").unwrap();
    let cmd = json!([
        prom,
        format!("--config.file={}", cfg.display()),
        format!("--storage.tsdb.path={}", data.display()),
        format!("--web.listen-address=127.0.0.1:{port}")
    ]);
    fc.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring"}}))
        .ok();
    fc.seed(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "prometheus", "namespace": "monitoring"},
        "spec": {"selector": {"matchLabels": {"app": "prometheus"}}, "template": {"metadata": {"labels": {"app": "prometheus"}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{"name": "main", "image": "busybox", "command": cmd,
                "ports": [{"name": "http", "containerPort": port}]}]}}}})).unwrap();
    fc.seed(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "prometheus", "namespace": "monitoring"},
        "spec": {"selector": {"app": "prometheus"}, "ports": [{"port": 9090, "targetPort": "http"}]}})).unwrap();
    let t = Instant::now();
    while !get_ok(port, "/-/ready") {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "Prometheus never became ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    port
}

fn get_ok(port: u16, path: &str) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && get(port, path).contains("Ready")
}

pub fn bench_metrics(a: &Args, bin: &Path) -> Vec<Row> {
    let which = scaffold::shell::which;
    let (Some(prom), Some(promtool)) = (which("prometheus"), which("promtool")) else {
        eprintln!("metrics_profile_20: prometheus and promtool are not installed (.ci/install-tools): skipped");
        return vec![];
    };
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let end = now - 60;
    let data = backfill(&promtool, dir.path(), end);
    let fc = FakeCluster::start(Options::default());
    let kubeconfig = dir.path().join("kubeconfig");
    fc.write_kubeconfig_to(&kubeconfig).unwrap();
    let port = prometheus(&fc, &prom, dir.path(), &data);
    let profile: String = (0..QUERIES)
        .map(|q| format!("- {{name: q{q}, query: 'bench_value{{q=\"{q}\"}}', unit: n}}\n"))
        .collect();
    std::fs::write(dir.path().join("profile.yaml"), profile).unwrap();
    let script = format!(
        r#"let t = timestamp();
let r = collect_metrics("{}", #{{start: {}, end: {end}, step: {STEP}}});
let took = t.elapsed;
let least = 1000000;
for k in r.series.keys() {{ if r.series[k] < least {{ least = r.series[k]; }} }}
print(`${{took}} ${{r.series.len()}} ${{least}}`);"#,
        dir.path().join("profile.yaml").display(),
        end - WINDOW,
    );
    let n = if a.quick { 3 } else { 7 };
    let (mut ours, mut ceiling) = (vec![], vec![]);
    let mut shape = String::new();
    for _ in 0..n {
        let out = script_output(bin, &kubeconfig, dir.path(), "collect.rhai", &script);
        let w: Vec<&str> = out.split_whitespace().collect();
        ours.push(w[0].parse::<f64>().unwrap() * 1000.0);
        shape = format!("{} series, at least {} points each", w[1], w[2]);
        assert!(
            w[2].parse::<usize>().unwrap() >= 40,
            "the window holds too few points: {out}"
        );
        let t = Instant::now();
        for q in 0..QUERIES {
            let path = format!(
                "/api/v1/query_range?query={}&start={}&end={end}&step={STEP}",
                scaffold::util::urlencode(&format!("bench_value{{q=\"{q}\"}}")),
                end - WINDOW
            );
            assert!(get(port, &path).contains("\"success\""));
        }
        ceiling.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let o = stats(ours);
    let c = stats(ceiling);
    vec![Row {
        name: "metrics_profile_20",
        what: format!(
            "collect_metrics of 20 range queries over a 10-minute window ({shape}), through the port-forward, recorded"
        ),
        unit: "ms",
        target: Some((
            format!("<= 1000 ms ({:.0})", o.median),
            o.median <= 1000.0,
        )),
        guard: Some(("under 5 s".into(), o.median < 5000.0)),
        peer: Some((
            "the 20 range queries straight to Prometheus (ceiling)".into(),
            c,
        )),
        ours: o,
        extra: json!({}),
    }]
}
