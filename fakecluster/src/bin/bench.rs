//! The benchmark harness: every performance target measured next to its peer
//! or ceiling in the same run. Writes a table to stdout and JSON to
//! `target/bench.json`.
//!
//!   cargo run --release -p fakecluster --bin bench [-- --quick] [--filter NAME] [--check]
//!   cargo run --release -p fakecluster --bin bench -- --kubeconfig FILE   # ron vs session on a real cluster
//!
//! `--check` fails (exit 1) on gross regressions, judged only by ratios
//! against the peer or ceiling measured in the same run.

use fakecluster::{FakeCluster, Options};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Args {
    quick: bool,
    filter: Option<String>,
    check: bool,
    /// a real cluster: only the `real_*` rows run, against it
    kubeconfig: Option<PathBuf>,
}

#[derive(Clone)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
    n: usize,
}

fn stats(mut v: Vec<f64>) -> Stats {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    let median = if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Stats {
        median,
        min: v.first().copied().unwrap_or(f64::NAN),
        max: v.last().copied().unwrap_or(f64::NAN),
        n,
    }
}

struct Row {
    name: &'static str,
    what: String,
    unit: &'static str,
    ours: Stats,
    peer: Option<(String, Stats)>,
    /// target: (description, met)
    target: Option<(String, bool)>,
    /// regression guard: (description, ok)
    guard: Option<(String, bool)>,
    extra: Value,
}

impl Row {
    fn ratio(&self) -> Option<f64> {
        self.peer.as_ref().map(|(_, p)| self.ours.median / p.median)
    }
    fn json(&self) -> Value {
        let s = |s: &Stats| json!({"median": s.median, "min": s.min, "max": s.max, "n": s.n});
        json!({
            "name": self.name, "what": self.what, "unit": self.unit, "ours": s(&self.ours),
            "peer": self.peer.as_ref().map(|(n, p)| json!({"name": n, "stats": s(p)})),
            "ratio": self.ratio(),
            "target": self.target.as_ref().map(|(d, m)| json!({"target": d, "met": m})),
            "guard": self.guard.as_ref().map(|(d, ok)| json!({"guard": d, "ok": ok})),
            "extra": self.extra,
        })
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The release `scaffold` binary (built on demand), or `SCAFFOLD_BIN`.
fn scaffold_bin() -> PathBuf {
    if let Ok(p) = std::env::var("SCAFFOLD_BIN") {
        return p.into();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .args(["build", "--release", "-q", "--bin", "scaffold"])
        .current_dir(root())
        .status()
        .expect("cargo build");
    assert!(st.success(), "building scaffold failed");
    root().join("target/release/scaffold")
}

/// Run a command; wall seconds and peak RSS (MiB) of the child. The RSS
/// comes from GNU time (`/usr/bin/time -f %M`): a child forked straight from
/// this process would count our own (large) memory from before its exec.
fn run_measured(cmd: &mut Command) -> (f64, f64, bool) {
    let prog = cmd.get_program().to_os_string();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_os_string()).collect();
    let mut timed = Command::new("/usr/bin/time");
    timed.args(["-f", "%M"]).arg(prog).args(args);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        timed.current_dir(d);
    }
    let t = Instant::now();
    let out = timed
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("/usr/bin/time (Debian package `time`)");
    let secs = t.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr);
    let kb: f64 = err
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(f64::NAN);
    (secs, kb / 1024.0, out.status.success())
}

/// `bin` under GNU time appending its peak RSS (KiB) to `log`, in its own
/// process group (signal it with `kill(-pid)`).
fn rss_cmd(bin: &Path, log: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new("/usr/bin/time");
    c.args(["-f", "%M", "-a", "-o"]).arg(log).arg(bin);
    c.process_group(0);
    c
}

/// Peak RSS values (MiB) that `rss_cmd` logged.
fn rss_of(log: &Path) -> Stats {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    stats(
        text.lines()
            .filter_map(|l| l.trim().parse::<f64>().ok())
            .map(|k| k / 1024.0)
            .collect(),
    )
}

fn rss_row(name: &'static str, what: &str, log: &Path) -> Row {
    rss_row_of(name, what, rss_of(log))
}

fn rss_row_of(name: &'static str, what: &str, rss: Stats) -> Row {
    Row {
        name,
        what: what.to_string(),
        unit: "MiB",
        target: None,
        guard: None,
        ours: rss,
        peer: None,
        extra: json!({}),
    }
}

fn bench_engine(a: &Args, bin: &Path) -> Vec<Row> {
    let dir = tempfile::tempdir().unwrap();
    // the hello scenario without its sh steps: pure engine work
    let script = dir.path().join("pure.rhai");
    std::fs::write(
        &script,
        r#"import "common" as common;
let name = param("name", "world");
let runs = param("runs", 3);
common::banner("hello, " + name);
for i in 0..runs { step("run " + i, || i * 2); record("value", i, #{unit: "n"}); }
breakpoint("skipped");
"#,
    )
    .unwrap();
    let preamble = dir.path().join("preamble.sh");
    std::fs::write(
        &preamble,
        r#"set -e
SCENARIO_DIR=$(pwd)
ARTIFACTS="$SCENARIO_DIR/artifacts"
ROOT_DIR=$(realpath "$SCENARIO_DIR/..")
TOOLKIT="$ROOT_DIR/toolkit"
SCRIPT="$ROOT_DIR/scripts"
KUSTOMIZE="$ROOT_DIR/kustomize"
mkdir -p "$ARTIFACTS"
breakpoint() { echo "breakpoint"; }
for i in 1 2 3; do echo "run $i" > /dev/null; done
"#,
    )
    .unwrap();
    let n = if a.quick { 10 } else { 20 };
    let (mut ours, mut rss, mut peer) = (vec![], vec![], vec![]);
    for _ in 0..n {
        let (s, r, ok) = run_measured(
            Command::new(bin)
                .args(["script"])
                .arg(&script)
                .args(["--no-breakpoints", "--artifacts"])
                .arg(dir.path().join("art")),
        );
        assert!(ok, "scaffold failed on the engine benchmark script");
        ours.push(s * 1000.0);
        rss.push(r);
        let (s, _, _) = run_measured(Command::new("bash").arg(&preamble).current_dir(dir.path()));
        peer.push(s * 1000.0);
    }
    let o = stats(ours);
    let r = stats(rss);
    let p = stats(peer);
    let ratio = o.median / p.median;
    let mut rows = vec![Row {
        name: "engine_start",
        what: "scaffold script (params, step, record, stdlib import, breakpoint) vs bash running the original preamble".into(),
        unit: "ms",
        target: Some((format!("<= 15 ms (median {:.1})", o.median), o.median <= 15.0)),
        guard: Some(("ratio to bash < 20".into(), ratio < 20.0)),
        ours: o,
        peer: Some(("bash preamble".into(), p)),
        extra: json!({}),
    }];
    rows.push(Row {
        name: "engine_rss",
        what: "peak RSS of the same run".into(),
        unit: "MiB",
        target: Some((
            format!("<= 20 MiB (median {:.1})", r.median),
            r.median <= 20.0,
        )),
        guard: None,
        ours: r,
        peer: None,
        extra: json!({}),
    });
    // check of every script in the repository
    let mut files = vec![];
    for d in ["scenarios", "stdlib"] {
        collect_rhai(&root().join(d), &mut files);
    }
    let mut t = vec![];
    for _ in 0..n {
        let (s, _, ok) = run_measured(Command::new(bin).arg("check").args(&files));
        assert!(ok, "scaffold check failed");
        t.push(s * 1000.0);
    }
    let c = stats(t);
    rows.push(Row {
        name: "check_all",
        what: format!("scaffold check of all {} repository scripts", files.len()),
        unit: "ms",
        target: Some((
            format!("<= 50 ms (median {:.1})", c.median),
            c.median <= 50.0,
        )),
        guard: None,
        ours: c,
        peer: None,
        extra: json!({}),
    });
    rows
}

fn collect_rhai(d: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() && p.file_name().is_some_and(|n| n != "artifacts") {
            collect_rhai(&p, out);
        } else if p.extension().is_some_and(|x| x == "rhai") {
            out.push(p);
        }
    }
}

fn client(fc: &FakeCluster) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(fc.kubeconfig()).unwrap();
    fc.runtime().block_on(async {
        let mut cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap();
        cfg.default_retry = false;
        scaffold::k8s::client::build_client(cfg).unwrap()
    })
}

fn bench_fake(a: &Args) -> Vec<Row> {
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
    let mut peer = vec![];
    for _ in 0..reps {
        let (s, _, ok) = run_measured(
            Command::new("kubectl")
                .args(["get", "pods", "-A", "-o", "json"])
                .env("KUBECONFIG", fc.kubeconfig()),
        );
        assert!(ok);
        peer.push(s * 1000.0);
    }
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
    drop(fc);

    // exec round trip and log follow latency on a runnable pod
    let fc = FakeCluster::start(Options::default());
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
    let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::default_namespaced(client(&fc));
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
    let mut peer = vec![];
    for _ in 0..(n / 5).max(5) {
        let (s, _, ok) = run_measured(
            Command::new("kubectl")
                .args(["exec", "sh", "--", "true"])
                .env("KUBECONFIG", fc.kubeconfig()),
        );
        assert!(ok);
        peer.push(s * 1000.0);
    }
    let o = stats(ours);
    let ratio = o.median / stats(peer.clone()).median;
    rows.push(Row {
        name: "fake_exec",
        what: "exec `true` round trip (kube-rs, one client)".into(),
        unit: "ms",
        target: Some((format!("<= 20 ms ({:.1})", o.median), o.median <= 20.0)),
        guard: Some(("faster than kubectl exec".into(), ratio < 1.0)),
        ours: o,
        peer: Some(("kubectl exec POD -- true".into(), stats(peer))),
        extra: json!({}),
    });
    // log follow latency: the pod prints its clock, we compare on arrival
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
    rows.push(Row {
        name: "fake_log_latency",
        what: "log follow: line printed in a pod to line received".into(),
        unit: "ms",
        target: Some((format!("<= 10 ms ({:.2})", l.median), l.median <= 10.0)),
        guard: None,
        ours: l,
        peer: None,
        extra: json!({}),
    });
    // port-forward throughput vs direct loopback
    let size: u64 = if a.quick { 64 << 20 } else { 1 << 30 };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut s = s;
                let mut b = [0u8; 8];
                if s.read_exact(&mut b).is_err() {
                    return;
                }
                let mut left = u64::from_le_bytes(b);
                let chunk = vec![0x5au8; 256 * 1024];
                while left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    if s.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                    left -= n as u64;
                }
            });
        }
    });
    let direct = {
        use std::io::{Read, Write};
        let t = Instant::now();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(&size.to_le_bytes()).unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0u64;
        while got < size {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0);
            got += n as u64;
        }
        size as f64 / t.elapsed().as_secs_f64() / 1048576.0
    };
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
    rows.push(Row {
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
    });
    rows
}

fn bench_ready(a: &Args, bin: &Path) -> Vec<Row> {
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
    drop(fc);
    // wait_ready: time from the last resource turning ready to the return
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

/// A TCP server on 127.0.0.1 that sends as many bytes as each client asks for
/// (8-byte little-endian count first).
fn byte_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut s = s;
                let mut b = [0u8; 8];
                if s.read_exact(&mut b).is_err() {
                    return;
                }
                let mut left = u64::from_le_bytes(b);
                let chunk = vec![0x5au8; 256 * 1024];
                while left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    if s.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                    left -= n as u64;
                }
            });
        }
    });
    port
}

/// Download `size` bytes from a byte server at `port`; MiB/s.
fn download(port: u16, size: u64) -> f64 {
    use std::io::{Read, Write};
    let t = Instant::now();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(&size.to_le_bytes()).unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    while got < size {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed after {got} bytes");
        got += n as u64;
    }
    size as f64 / t.elapsed().as_secs_f64() / 1048576.0
}

fn configmaps(n: usize, ns: &str) -> String {
    let mut s = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n");
    for i in 0..n {
        s.push_str(&format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: {ns}\ndata:\n  key: value-{i}\n"));
    }
    s
}

fn bench_objects(a: &Args, bin: &Path) -> Vec<Row> {
    let mut rows = vec![];
    let fc = FakeCluster::start(Options {
        nodes: 1,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let small = if a.quick { 50 } else { 200 };
    let big = if a.quick { 200 } else { 1000 };
    let reps = if a.quick { 1 } else { 3 };
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
    rows.push(Row {
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
    });
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
    rows.push(Row {
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
    });
    // wait_for: condition flips -> call returns
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
    rows.push(Row {
        name: "wait_for_latency",
        what: "wait_for with a closure: object changes -> call returns".into(),
        unit: "ms",
        target: Some((format!("<= 50 ms ({:.1})", l.median), l.median <= 50.0)),
        guard: Some(("well under the original's 5 s polling".into(), ratio < 0.2)),
        ours: l,
        peer: Some(("original: 5 s polling (bound)".into(), stats(vec![5000.0]))),
        extra: json!({}),
    });
    // scaffold port-forward: the CLI over the same forwarding code scripts use
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
    unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
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

fn wait_running(fc: &FakeCluster, name: &str) {
    let t = Instant::now();
    while fc
        .get("v1", "Pod", "default", name)
        .map(|p| p["status"]["phase"] == "Running")
        != Some(true)
    {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "pod {name} not running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Mixed data (half random, half text) under `dir`, `total` bytes in 2 MiB files.
fn mixed_data(dir: &Path, total: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let mut rnd = std::fs::File::open("/dev/urandom").unwrap();
    let chunk = 2u64 << 20;
    let text: Vec<u8> = (0..chunk)
        .map(|i| b"scaffold benchmark data line\n"[(i % 29) as usize])
        .collect();
    let mut buf = vec![0u8; chunk as usize];
    for i in 0..(total / chunk) {
        let body: &[u8] = if i % 2 == 0 {
            use std::io::Read;
            rnd.read_exact(&mut buf).unwrap();
            &buf
        } else {
            &text
        };
        std::fs::write(dir.join(format!("f{i:05}")), body).unwrap();
    }
}

fn bench_ron(a: &Args, bin: &Path) -> Vec<Row> {
    let mut rows = vec![];
    let fc = FakeCluster::start(Options {
        nodes: 2,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = fc.kubeconfig().to_path_buf();
    // overheads: the command prints its clock at start and at its end
    let reps = if a.quick { 3 } else { 7 };
    let (mut start_o, mut end_o, mut total) = (vec![], vec![], vec![]);
    let now_ns = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as f64
    };
    let ron_rss = dir.path().join("ron.rss");
    for _ in 0..reps {
        let t0 = now_ns();
        let t = Instant::now();
        let out = rss_cmd(bin, &ron_rss)
            .args([
                "ron",
                "--node",
                "kind-worker",
                "--",
                "sh",
                "-c",
                "date +%s%N; date +%s%N",
            ])
            .env("KUBECONFIG", &kc)
            .output()
            .unwrap();
        let t1 = now_ns();
        total.push(t.elapsed().as_secs_f64() * 1000.0);
        let s = String::from_utf8_lossy(&out.stdout);
        let ts: Vec<f64> = s.lines().filter_map(|l| l.trim().parse().ok()).collect();
        assert_eq!(ts.len(), 2, "ron output: {s}");
        start_o.push((ts[0] - t0) / 1e6);
        end_o.push((t1 - ts[1]) / 1e6);
    }
    // peer: "ron by hand" with kubectl
    let by_hand = dir.path().join("by-hand.sh");
    std::fs::write(
        &by_hand,
        "set -e\nkubectl run byhand --image=alpine --restart=Never --overrides='{\"spec\":{\"hostPID\":true,\"hostNetwork\":true,\"nodeSelector\":{\"kubernetes.io/hostname\":\"kind-worker\"}}}' -- echo hi >/dev/null\nkubectl wait --for=jsonpath='{.status.phase}'=Succeeded pod/byhand --timeout=60s >/dev/null\nkubectl logs byhand >/dev/null\nkubectl delete pod byhand --wait >/dev/null\n",
    )
    .unwrap();
    let mut peer = vec![];
    for _ in 0..reps.min(3) {
        let (s, _, ok) = run_measured(Command::new("sh").arg(&by_hand).env("KUBECONFIG", &kc));
        assert!(ok, "kubectl by hand failed");
        peer.push(s * 1000.0);
    }
    let tot = stats(total);
    let ratio = tot.median / stats(peer.clone()).median;
    let so = stats(start_o);
    let eo = stats(end_o);
    rows.push(rss_row("ron_rss", "peak RSS of scaffold ron", &ron_rss));
    rows.push(Row {
        name: "ron_total",
        what: "scaffold ron -- (a trivial command): call to return".into(),
        unit: "ms",
        target: None,
        guard: Some(("faster than ron by hand with kubectl".into(), ratio < 1.0)),
        ours: tot,
        peer: Some((
            "kubectl run + wait + logs + delete --wait".into(),
            stats(peer),
        )),
        extra: json!({}),
    });
    rows.push(Row {
        name: "ron_start_overhead",
        what: "ron: call to command start (process start included)".into(),
        unit: "ms",
        target: Some((format!("<= 300 ms ({:.0})", so.median), so.median <= 300.0)),
        guard: None,
        ours: so,
        peer: None,
        extra: json!({}),
    });
    rows.push(Row {
        name: "ron_end_overhead",
        what: "ron: command end to return (cleanup included)".into(),
        unit: "ms",
        target: Some((format!("<= 300 ms ({:.0})", eo.median), eo.median <= 300.0)),
        guard: None,
        ours: eo,
        peer: None,
        extra: json!({}),
    });
    // node session exec vs kubectl exec, and 100 commands: session vs ron
    let n = if a.quick { 20 } else { 100 };
    let session_total: f64 = script_output(
        bin,
        &kc,
        dir.path(),
        "session.rhai",
        &format!("let s = node_session(\"kind-worker\"); s.exec(\"true\"); let t = timestamp(); for i in 0..{n} {{ s.exec(\"true\"); }} print(t.elapsed); s.close();"),
    )
    .parse::<f64>()
    .unwrap()
        * 1000.0;
    let per = session_total / n as f64;
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "peer", "namespace": "default"},
        "spec": {"nodeName": "kind-worker", "containers": [{"name": "main", "image": "alpine", "command": ["sleep", "3600"]}]}})).unwrap();
    wait_running(&fc, "peer");
    let mut kx = vec![];
    for _ in 0..5 {
        let (s, _, ok) = run_measured(
            Command::new("kubectl")
                .args(["exec", "peer", "--", "true"])
                .env("KUBECONFIG", &kc),
        );
        assert!(ok);
        kx.push(s * 1000.0);
    }
    let ratio = per / stats(kx.clone()).median;
    rows.push(Row {
        name: "session_exec",
        what: format!("node_session(...).exec(\"true\") round trip, mean of {n}"),
        unit: "ms",
        target: Some((format!("<= 25 ms ({per:.1})"), per <= 25.0)),
        guard: Some(("faster than kubectl exec".into(), ratio < 1.0)),
        ours: stats(vec![per]),
        peer: Some(("kubectl exec POD -- true".into(), stats(kx))),
        extra: json!({}),
    });
    // the same session through an HTTP CONNECT proxy (kubeconfig proxy-url):
    // per-command mean and worst case, direct and proxied, same script
    let proxy = fakecluster::proxy::Proxy::http();
    let pkc_path = dir.path().join("proxied.kubeconfig");
    fc.write_kubeconfig_via(
        &pkc_path,
        "api.scaffold.test",
        Some(&format!("http://127.0.0.1:{}", proxy.port)),
    )
    .unwrap();
    // 200 commands even with --quick (~0.1 s): a stall rate of 1 in 30 shows
    let m = 200;
    let each = format!("let s = node_session(\"kind-worker\"); s.exec(\"true\"); let ts = []; for i in 0..{m} {{ let t = timestamp(); s.exec(\"true\"); ts.push(t.elapsed * 1000.0); }} s.close(); let m = summary(ts); print(`${{m.mean}} ${{m.max}} ${{ts.filter(|x| x > 20.0).len()}}`);");
    // mean, max and how many took over 20 ms
    let mean_max = |kubeconfig: &Path| -> (f64, f64, f64) {
        let text = script_output(bin, kubeconfig, dir.path(), "session_each.rhai", &each);
        let v: Vec<f64> = text
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        (v[0], v[1], v[2])
    };
    let (direct_mean, direct_max, direct_slow) = mean_max(&kc);
    let (proxied_mean, proxied_max, proxied_slow) = mean_max(&pkc_path);
    assert!(!proxy.seen().is_empty(), "the proxy saw no tunnel");
    rows.push(Row {
        name: "session_exec_proxy",
        what: format!("session exec(\"true\") through an HTTP CONNECT proxy, mean of {m} (max {proxied_max:.1} ms; direct max {direct_max:.1} ms)"),
        unit: "ms",
        target: None,
        // a connection without TCP_NODELAY shows as ~40 ms delayed-ACK
        // stalls, about one command in thirty; load slows both runs alike
        guard: Some((
            format!("stalls > 20 ms: {proxied_slow} vs {direct_slow} direct (at most 3 more)"),
            proxied_slow <= direct_slow + 3.0,
        )),
        ours: stats(vec![proxied_mean]),
        peer: Some(("the same, direct".into(), stats(vec![direct_mean]))),
        extra: json!({"proxied_max_ms": proxied_max, "direct_max_ms": direct_max, "proxied_over_20ms": proxied_slow, "direct_over_20ms": direct_slow}),
    });
    let ron_total: f64 = script_output(
        bin,
        &kc,
        dir.path(),
        "rons.rhai",
        &format!("let t = timestamp(); for i in 0..{n} {{ ron(\"kind-worker\", \"true\"); }} print(t.elapsed);"),
    )
    .parse::<f64>()
    .unwrap()
        * 1000.0;
    let speedup = ron_total / session_total;
    rows.push(Row {
        name: "session_vs_ron",
        what: format!("{n} commands through one session vs {n} ron calls"),
        unit: "ms",
        target: Some((format!(">= 10x faster ({speedup:.0}x)"), speedup >= 10.0)),
        guard: Some(("session faster than ron".into(), speedup > 1.0)),
        ours: stats(vec![session_total]),
        peer: Some((format!("{n} ron calls"), stats(vec![ron_total]))),
        extra: json!({"speedup": speedup}),
    });
    // auto-copy of mixed data vs local tar czf (ceiling) and kubectl cp
    let size: u64 = if a.quick { 64 << 20 } else { 1 << 30 };
    fc.seed(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "bench-store", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}})).unwrap();
    let store = fc.shared.kubelet.pvc_dir("default", "bench-store");
    mixed_data(&store, size);
    let mib = size as f64 / 1048576.0;
    let (base, base_rss, _) = run_measured(
        Command::new(bin)
            .args(["ron", "--node", "kind-worker", "--", "true"])
            .env("KUBECONFIG", &kc),
    );
    let dest = dir.path().join("copy.tar.gz");
    let (with_copy, copy_rss, ok) = run_measured(
        Command::new(bin)
            .args([
                "ron",
                "--node",
                "kind-worker",
                "--pvc",
                "--pvc-name",
                "bench-store",
                "--manage-pvc=false",
                "--auto-copy-dest",
            ])
            .arg(&dest)
            .args(["--", "true"])
            .env("KUBECONFIG", &kc),
    );
    assert!(ok, "ron with auto-copy failed");
    // the copy must be all there: a tar.gz of the whole store
    let listed = Command::new("sh")
        .arg("-c")
        .arg(format!("tar tzf {} | wc -l", dest.display()))
        .output()
        .unwrap();
    let files = String::from_utf8_lossy(&listed.stdout).trim().to_string();
    let copied = std::fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
    // half the data is random, so the tar.gz cannot be under 40% of it
    assert!(
        copied as f64 >= size as f64 * 0.4,
        "auto-copy wrote {copied} bytes ({files} entries) for {size} bytes of mixed data: not a copy of the whole store"
    );
    let copy_secs = (with_copy - base).max(0.001);
    let ours = mib / copy_secs;
    let (tar_secs, _, ok) = run_measured(
        Command::new("sh")
            .arg("-c")
            .arg(format!("tar czf - -C {} . > /dev/null", store.display())),
    );
    assert!(ok);
    let ceiling = mib / tar_secs;
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "cp-peer", "namespace": "default"},
        "spec": {"nodeName": "kind-worker", "containers": [{"name": "main", "image": "alpine", "command": ["sleep", "3600"],
            "volumeMounts": [{"name": "s", "mountPath": "/store"}]}], "volumes": [{"name": "s", "persistentVolumeClaim": {"claimName": "bench-store"}}]}})).unwrap();
    wait_running(&fc, "cp-peer");
    let cp_dest = dir.path().join("kubectl-cp");
    let (cp_secs, _, cp_ok) = run_measured(
        Command::new("kubectl")
            .args(["cp", "default/cp-peer:/store"])
            .arg(&cp_dest)
            .env("KUBECONFIG", &kc),
    );
    let ratio = ours / ceiling;
    rows.push(Row {
        name: "auto_copy",
        what: format!("ron --pvc auto-copy of {mib:.0} MiB of mixed data (tar.gz through exec)"),
        unit: "MiB/s",
        target: Some((format!(">= 80% of local tar czf ({:.0}%)", ratio * 100.0), ratio >= 0.8)),
        guard: Some(("at least 30% of local tar czf".into(), ratio > 0.3)),
        ours: stats(vec![ours]),
        peer: Some(("local tar czf (ceiling)".into(), stats(vec![ceiling]))),
        extra: json!({"kubectl_cp_mib_s": if cp_ok { mib / cp_secs } else { f64::NAN }, "rss_growth_mib": copy_rss - base_rss}),
    });
    rows.push(Row {
        name: "auto_copy_rss_growth",
        what: "peak RSS of ron with auto-copy minus ron without".into(),
        unit: "MiB",
        target: Some((
            format!("<= 50 MiB ({:.1})", copy_rss - base_rss),
            copy_rss - base_rss <= 50.0,
        )),
        guard: None,
        ours: stats(vec![copy_rss - base_rss]),
        peer: None,
        extra: json!({}),
    });
    rows.push(Row {
        name: "kubectl_cp",
        what: format!("kubectl cp of the same {mib:.0} MiB (uncompressed tar through exec)"),
        unit: "MiB/s",
        target: None,
        guard: None,
        ours: stats(vec![if cp_ok { mib / cp_secs } else { f64::NAN }]),
        peer: None,
        extra: json!({}),
    });
    rows
}

/// Three runs with `series` series of `samples` samples each, as
/// `scaffold script` writes them (docs/results.md); deterministic values.
fn report_runs(dir: &Path, series: usize, samples: usize) -> Vec<PathBuf> {
    let mut paths = vec![];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for (i, mode) in ["nkpr", "kpr", "xdp"].iter().enumerate() {
        let mut records = serde_json::Map::new();
        for k in 0..series {
            let v: Vec<f64> = (0..samples)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    10.0 + i as f64 + k as f64 + (x % 1000) as f64 / 1000.0
                })
                .collect();
            records.insert(
                format!("metric_{k}"),
                json!({"unit": "Gbit/s", "tags": {"mode": mode}, "samples": v}),
            );
        }
        let run = dir.join(format!("run-{mode}"));
        std::fs::create_dir_all(&run).unwrap();
        let doc = json!({"schema": 1, "script": "scenarios/xdp/main.rhai", "params": {"mode": mode},
            "args": [], "start": "2026-11-25T03:44:04.720Z", "end": "2026-11-25T03:49:10.102Z",
            "duration": 305.4, "outcome": "ok", "error": null, "steps": [],
            "environment": {"scaffold_version": "0.1.0", "os": "linux", "arch": "x86_64", "hostname": "bench"},
            "records": records});
        std::fs::write(run.join("results.json"), doc.to_string()).unwrap();
        paths.push(run);
    }
    paths
}

/// `scaffold report` over three runs: the table, and the table plus a PNG
/// chart; the peer computes the same statistics with Python's json and
/// statistics modules.
fn bench_report(a: &Args, bin: &Path) -> Vec<Row> {
    let n = if a.quick { 3 } else { 10 };
    let (series, samples) = (8, if a.quick { 1_000 } else { 10_000 });
    let dir = tempfile::tempdir().unwrap();
    let runs = report_runs(dir.path(), series, samples);
    let mut table = vec![];
    let mut rss = vec![];
    let mut plot = vec![];
    for _ in 0..n {
        let (s, m, ok) = run_measured(Command::new(bin).arg("report").args(&runs));
        assert!(ok, "scaffold report failed");
        table.push(s * 1000.0);
        rss.push(m);
        let png = dir.path().join("chart.png");
        let (s, _, ok) = run_measured(
            Command::new(bin)
                .arg("report")
                .args(&runs)
                .arg("--plot")
                .arg(&png),
        );
        assert!(ok && png.exists(), "scaffold report --plot failed");
        plot.push(s * 1000.0);
    }
    let py = "import json,statistics,sys\nfor f in sys.argv[1:]:\n  r=json.load(open(f+'/results.json'))\n  for k,v in r['records'].items():\n    x=sorted(v['samples']); q=statistics.quantiles(x,n=100)\n    print(k,len(x),statistics.mean(x),statistics.median(x),q[94],min(x),max(x),statistics.stdev(x))\n";
    let mut peer = vec![];
    let have_python = Command::new("python3").arg("-V").output().is_ok();
    if have_python {
        for _ in 0..n {
            let (s, _, ok) = run_measured(Command::new("python3").args(["-c", py]).args(&runs));
            assert!(ok, "python3 peer failed");
            peer.push(s * 1000.0);
        }
    }
    let t = stats(table);
    let what = format!("scaffold report of 3 runs x {series} series x {samples} samples");
    vec![
        Row {
            name: "report_table",
            what: what.clone(),
            unit: "ms",
            target: Some((format!("<= 200 ms ({:.0})", t.median), t.median <= 200.0)),
            guard: Some(("under 1 s".into(), t.median < 1000.0)),
            peer: have_python.then(|| ("python3 json+statistics".into(), stats(peer))),
            ours: t,
            extra: json!({"series": series, "samples": samples}),
        },
        rss_row_of("report_rss", &format!("peak RSS of {what}"), stats(rss)),
        {
            let p = stats(plot);
            Row {
                name: "report_plot",
                what: format!("{what}, plus --plot chart.png"),
                unit: "ms",
                target: Some((format!("<= 1000 ms ({:.0})", p.median), p.median <= 1000.0)),
                guard: None,
                ours: p,
                peer: None,
                extra: json!({}),
            }
        },
    ]
}

/// Start `cmd` (a script that prints `expect` when its wait returns), give
/// it `settle` to start waiting, make the change, and time until the line.
fn latency_ms(mut cmd: Command, settle: Duration, change: impl FnOnce(), expect: &str) -> f64 {
    use std::io::BufRead;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(settle);
    let t = Instant::now();
    change();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(line.trim(), expect);
    let _ = child.wait();
    ms
}

/// Run a script with `kubeconfig`; its stdout (panics with stderr on failure).
fn script_output(bin: &Path, kubeconfig: &Path, dir: &Path, name: &str, text: &str) -> String {
    let script = dir.join(name);
    std::fs::write(&script, text).unwrap();
    let out = Command::new(bin)
        .arg("script")
        .arg(&script)
        .args(["--no-breakpoints", "--artifacts"])
        .arg(dir.join("art"))
        .env("KUBECONFIG", kubeconfig)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// ron and node sessions on a real cluster (`--kubeconfig`): what the fake
/// server cannot tell, because its pods start in milliseconds. Uses the
/// first worker node (or the first node) and the context's namespace.
fn bench_real(a: &Args, bin: &Path, kubeconfig: &Path) -> Vec<Row> {
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

fn main() {
    let mut a = Args {
        quick: false,
        filter: None,
        check: false,
        kubeconfig: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--quick" => a.quick = true,
            "--check" => a.check = true,
            "--filter" => a.filter = it.next(),
            "--kubeconfig" => a.kubeconfig = it.next().map(PathBuf::from),
            "-h" | "--help" => {
                println!("usage: bench [--quick] [--filter NAME] [--check] [--kubeconfig FILE]");
                return;
            }
            other => {
                eprintln!(
                    "unknown argument {other}; usage: bench [--quick] [--filter NAME] [--check] [--kubeconfig FILE]"
                );
                std::process::exit(2);
            }
        }
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = Instant::now();
    // with --kubeconfig only the real-cluster rows run
    let want = |group: &str, names: &[&str]| {
        a.kubeconfig.is_none()
            && a.filter
                .as_deref()
                .is_none_or(|f| group.contains(f) || names.iter().any(|n| n.contains(f)))
    };
    let mut rows = vec![];
    if let Some(kc) = a.kubeconfig.clone() {
        // a real cluster: only what the fake server cannot tell
        let bin = scaffold_bin();
        rows.extend(bench_real(&a, &bin, &kc));
    }
    if want("engine", &["engine_start", "engine_rss", "check_all"]) {
        let bin = scaffold_bin();
        rows.extend(bench_engine(&a, &bin));
    }
    if want(
        "fake",
        &[
            "fake_seed",
            "fake_list",
            "fake_exec",
            "fake_log_latency",
            "fake_portforward",
        ],
    ) {
        rows.extend(bench_fake(&a));
    }
    if want(
        "ready",
        &["verify_ready", "wait_ready_latency", "wait_ready_rss"],
    ) {
        let bin = scaffold_bin();
        rows.extend(bench_ready(&a, &bin));
    }
    if want(
        "ron",
        &[
            "ron_total",
            "ron_start_overhead",
            "ron_end_overhead",
            "session_exec",
            "session_exec_proxy",
            "session_vs_ron",
            "auto_copy",
            "kubectl_cp",
            "ron_rss",
        ],
    ) {
        let bin = scaffold_bin();
        rows.extend(bench_ron(&a, &bin));
    }
    if want(
        "objects",
        &[
            "apply_default",
            "apply_raised",
            "wait_for_latency",
            "port_forward",
            "port_forward_rss",
        ],
    ) {
        let bin = scaffold_bin();
        rows.extend(bench_objects(&a, &bin));
    }
    if want("report", &["report_table", "report_rss", "report_plot"]) {
        let bin = scaffold_bin();
        rows.extend(bench_report(&a, &bin));
    }
    if let Some(f) = &a.filter {
        rows.retain(|r| {
            r.name.contains(f.as_str())
                || [
                    "engine", "fake", "ready", "objects", "ron", "report", "real",
                ]
                .iter()
                .any(|g| f.starts_with(g))
        });
    }
    println!(
        "{:<18} {:>12} {:>8}  {:<34} {:>10}  {:<44} guard",
        "benchmark", "median", "unit", "peer / ceiling", "ratio", "target"
    );
    for r in &rows {
        let (pn, pv) = match &r.peer {
            Some((n, p)) => (n.clone(), format!("{:.2}", p.median)),
            None => ("-".into(), "".into()),
        };
        let ratio = r
            .ratio()
            .map(|x| format!("{x:.3}"))
            .unwrap_or_else(|| "-".into());
        let target = r
            .target
            .as_ref()
            .map(|(d, m)| format!("{} {d}", if *m { "MET" } else { "MISSED" }))
            .unwrap_or_else(|| "-".into());
        let guard = r
            .guard
            .as_ref()
            .map(|(d, ok)| format!("{} {d}", if *ok { "ok" } else { "REGRESSION" }))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<18} {:>12.2} {:>8}  {:<34} {:>10}  {:<44} {}",
            r.name,
            r.ours.median,
            r.unit,
            format!("{pn} {pv}"),
            ratio,
            target,
            guard
        );
    }
    let out = json!({
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim()},
        "quick": a.quick, "seconds": started.elapsed().as_secs_f64(),
        "results": rows.iter().map(|r| r.json()).collect::<Vec<_>>(),
    });
    let path = root().join("target/bench.json");
    let _ = std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap());
    println!(
        "\n{} benchmarks in {:.1}s; JSON in {}",
        rows.len(),
        started.elapsed().as_secs_f64(),
        path.display()
    );
    if a.check {
        let bad: Vec<&Row> = rows
            .iter()
            .filter(|r| r.guard.as_ref().is_some_and(|(_, ok)| !ok))
            .collect();
        if !bad.is_empty() {
            for r in bad {
                eprintln!("regression: {}: {}", r.name, r.guard.as_ref().unwrap().0);
            }
            std::process::exit(1);
        }
        println!("regression guard: ok");
    }
}
