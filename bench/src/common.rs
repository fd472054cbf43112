//! What every benchmark group uses: arguments, statistics, rows, the
//! release binary, measured runs and peak memory, small fixtures.

use fakecluster::FakeCluster;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Args {
    pub quick: bool,
    pub filter: Option<String>,
    pub check: bool,
    /// a real cluster: only the `real_*` rows run, against it
    pub kubeconfig: Option<PathBuf>,
}

#[derive(Clone)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

pub fn stats(mut v: Vec<f64>) -> Stats {
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

pub struct Row {
    pub name: &'static str,
    pub what: String,
    pub unit: &'static str,
    pub ours: Stats,
    pub peer: Option<(String, Stats)>,
    /// target: (description, met)
    pub target: Option<(String, bool)>,
    /// regression guard: (description, ok)
    pub guard: Option<(String, bool)>,
    pub extra: Value,
}

impl Row {
    pub fn ratio(&self) -> Option<f64> {
        self.peer.as_ref().map(|(_, p)| self.ours.median / p.median)
    }
    pub fn json(&self) -> Value {
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

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The release `scaffold` binary (built on demand), or `SCAFFOLD_BIN`.
pub fn scaffold_bin() -> PathBuf {
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
/// Milliseconds of `reps` runs of a kubectl command against the fake (each
/// must succeed).
pub fn kubectl_ms(fc: &fakecluster::FakeCluster, args: &[&str], reps: usize) -> Vec<f64> {
    (0..reps)
        .map(|_| {
            let (s, _, ok) = run_measured(
                Command::new("kubectl")
                    .args(args)
                    .env("KUBECONFIG", fc.kubeconfig()),
            );
            assert!(ok, "kubectl {} failed", args.join(" "));
            s * 1000.0
        })
        .collect()
}

/// The next number of a xorshift64 generator (reproducible fake samples).
pub fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

pub fn run_measured(cmd: &mut Command) -> (f64, f64, bool) {
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
pub fn rss_cmd(bin: &Path, log: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new("/usr/bin/time");
    c.args(["-f", "%M", "-a", "-o"]).arg(log).arg(bin);
    c.process_group(0);
    c
}

/// Peak RSS values (MiB) that `rss_cmd` logged.
pub fn rss_of(log: &Path) -> Stats {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    stats(
        text.lines()
            .filter_map(|l| l.trim().parse::<f64>().ok())
            .map(|k| k / 1024.0)
            .collect(),
    )
}

pub fn rss_row(name: &'static str, what: &str, log: &Path) -> Row {
    rss_row_of(name, what, rss_of(log))
}

pub fn rss_row_of(name: &'static str, what: &str, rss: Stats) -> Row {
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

pub fn collect_rhai(d: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() && p.file_name().is_some_and(|n| n != "artifacts") {
            collect_rhai(&p, out);
        } else if p.extension().is_some_and(|x| x == "rhai") {
            out.push(p);
        }
    }
}

pub fn client(fc: &FakeCluster) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(fc.kubeconfig()).unwrap();
    fc.runtime().block_on(async {
        let mut cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap();
        cfg.default_retry = false;
        scaffold::k8s::client::build_client(cfg).unwrap()
    })
}

/// A TCP server on 127.0.0.1 that sends as many bytes as each client asks for
/// (8-byte little-endian count first).
pub fn byte_server() -> u16 {
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
pub fn download(port: u16, size: u64) -> f64 {
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

pub fn configmaps(n: usize, ns: &str) -> String {
    let mut s = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n");
    for i in 0..n {
        s.push_str(&format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: {ns}\ndata:\n  key: value-{i}\n"));
    }
    s
}

pub fn wait_running(fc: &FakeCluster, name: &str) {
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
pub fn mixed_data(dir: &Path, total: u64) {
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

/// Three runs with `series` series of `samples` samples each, as
/// `scaffold script` writes them (docs/results.md); deterministic values.
pub fn report_runs(dir: &Path, series: usize, samples: usize) -> Vec<PathBuf> {
    let mut paths = vec![];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for (i, mode) in ["nkpr", "kpr", "xdp"].iter().enumerate() {
        let mut records = serde_json::Map::new();
        for k in 0..series {
            let v: Vec<f64> = (0..samples)
                .map(|_| 10.0 + i as f64 + k as f64 + (xorshift(&mut x) % 1000) as f64 / 1000.0)
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

/// Start `cmd` (a script that prints `expect` when its wait returns), give
/// it `settle` to start waiting, make the change, and time until the line.
pub fn latency_ms(mut cmd: Command, settle: Duration, change: impl FnOnce(), expect: &str) -> f64 {
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
pub fn script_output(bin: &Path, kubeconfig: &Path, dir: &Path, name: &str, text: &str) -> String {
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

/// A free local port (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The number after `key=` in a script's `out.txt` line (NaN without one).
pub fn num(out: &str, key: &str) -> f64 {
    out.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}
