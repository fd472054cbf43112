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
        let mut c = Command::from_std(self.clean(std::process::Command::new(bin())));
        c.timeout(std::time::Duration::from_secs(60));
        c
    }

    /// The same, as a std Command (for signals and ptys).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = self.clean(std::process::Command::new(bin()));
        c.env("TERM", "xterm");
        c
    }

    /// In the project dir, HOME and state inside it, and none of the
    /// caller's kubeconfig, stdlib override, in-cluster or proxy settings.
    fn clean(&self, mut c: std::process::Command) -> std::process::Command {
        c.current_dir(self.path())
            .env("HOME", self.path().join("home"))
            .env("XDG_STATE_HOME", self.path().join("state"));
        for v in [
            "KUBECONFIG",
            "SCAFFOLD_STDLIB",
            "KUBERNETES_SERVICE_HOST",
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
        ] {
            c.env_remove(v);
        }
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

/// One request a [`TestHttp`] server answered: the whole request text
/// (head and body), its path and body (the method is in `raw`).
#[derive(Clone, Debug)]
pub struct Seen {
    pub raw: String,
    pub path: String,
    pub body: String,
}

/// A small HTTP/1.1 server on 127.0.0.1 for tests: every request is
/// answered by `respond(method, path, body) -> (status, body)` and kept in
/// `seen`. It serves until the test process ends.
pub struct TestHttp {
    pub port: u16,
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
}

impl TestHttp {
    pub fn start(respond: impl Fn(&str, &str, &str) -> (u16, String) + Send + 'static) -> Self {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let kept = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut c) = conn else { continue };
                // the head, then as many body bytes as Content-Length says
                let mut req = vec![];
                let mut buf = [0u8; 4096];
                let head_end = loop {
                    let n = c.read(&mut buf).unwrap_or(0);
                    req.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&req).to_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len: usize = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if req.len() >= end + 4 + len || n == 0 {
                            break end;
                        }
                    } else if n == 0 {
                        break req.len();
                    }
                };
                let raw = String::from_utf8_lossy(&req).to_string();
                let mut first = raw.split_whitespace();
                let method = first.next().unwrap_or("").to_string();
                let path = first.next().unwrap_or("").to_string();
                let body = raw.get(head_end + 4..).unwrap_or("").to_string();
                let (status, answer) = respond(&method, &path, &body);
                kept.lock().unwrap().push(Seen { raw, path, body });
                let _ = write!(
                    c,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        TestHttp { port, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A real program a test needs (`iperf3`, `prometheus`, ...), from PATH
/// or an absolute path. Missing: the test prints one SKIP line and returns
/// None, or fails when SCAFFOLD_REQUIRE_TOOLS=1 (as in .ci/run, which
/// installs them with .ci/install-tools).
pub fn tool(name: &str, test: &str) -> Option<PathBuf> {
    let found = if name.starts_with('/') {
        Some(PathBuf::from(name)).filter(|p| p.is_file())
    } else {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    };
    if found.is_none() {
        missing_tool(name, test);
    }
    found
}

/// Report a program (or module) a test needs as missing: one SKIP line,
/// or a failure when SCAFFOLD_REQUIRE_TOOLS=1.
pub fn missing_tool(what: &str, test: &str) {
    let why = format!("{what} is not installed (sudo .ci/install-tools puts it in place)");
    if std::env::var("SCAFFOLD_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
        panic!("{test}: {why}; SCAFFOLD_REQUIRE_TOOLS=1 makes that a failure");
    }
    // straight to stderr, past the test harness's capture: a skip shows in
    // every log
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIP: {test}: {why}");
}

/// A free local port (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until something listens on 127.0.0.1:`port` (at most 15 s).
pub fn wait_listening(port: u16) {
    let t = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(15),
            "nothing listens on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A Deployment whose pod runs `cmd` (a local process in the fake),
/// listening on `port`, behind a Service `ns/name` on `svc_port`.
#[allow(clippy::too_many_arguments)]
pub fn run_service(
    fc: &fakecluster::FakeCluster,
    ns: &str,
    name: &str,
    labels: serde_json::Value,
    svc_port: u16,
    port: u16,
    dir: &std::path::Path,
    cmd: serde_json::Value,
) {
    fc.seed(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
        .ok();
    fc.seed(serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}},
            // python ignores SIGTERM as a container's PID 1: a deleted
            // pod holds its port (the fake's pods share this machine's
            // network) for the grace period, so keep that short
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{"name": "main", "image": "busybox", "workingDir": dir, "command": cmd,
                "ports": [{"name": "http", "containerPort": port}]}]}}}})).unwrap();
    fc.seed(serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"selector": {"app": name}, "ports": [{"port": svc_port, "targetPort": "http"}]}})).unwrap();
    wait_listening(port);
    // listening is not yet ready: the kubelet reports the pod Ready a
    // moment later, and Services only route to ready pods
    let t = std::time::Instant::now();
    while !fc.list("v1", "Pod").iter().any(|p| {
        p["metadata"]["namespace"] == ns
            && p["metadata"]["labels"]["app"] == name
            && p["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
    }) {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(30),
            "the {ns}/{name} pod never became ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
