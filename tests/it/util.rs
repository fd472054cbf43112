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
/// (head and body), and its method, path and body.
#[derive(Clone, Debug)]
pub struct Seen {
    pub raw: String,
    pub method: String,
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
                kept.lock().unwrap().push(Seen {
                    raw,
                    method,
                    path,
                    body,
                });
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

/// A forward proxy on 127.0.0.1 for tests: HTTP CONNECT or SOCKS5. Every
/// tunnel goes to 127.0.0.1 on the requested port, whatever host was asked
/// for (so a kubeconfig can name a host only the proxy "resolves"). `seen`
/// keeps one line per tunnel: `CONNECT host:port auth` or
/// `SOCKS5 host:port user:password`.
pub struct TestProxy {
    pub port: u16,
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl TestProxy {
    pub fn http() -> Self {
        Self::start(false)
    }

    pub fn socks5() -> Self {
        Self::start(true)
    }

    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    fn start(socks: bool) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let kept = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(c) = conn else { continue };
                let kept = kept.clone();
                std::thread::spawn(move || {
                    let r = if socks {
                        socks5_handshake(c)
                    } else {
                        connect_handshake(c)
                    };
                    if let Ok((c, line, upstream)) = r {
                        kept.lock().unwrap().push(line);
                        splice(c, upstream);
                    }
                });
            }
        });
        TestProxy { port, seen }
    }
}

type Handshake = std::io::Result<(std::net::TcpStream, String, std::net::TcpStream)>;

fn connect_handshake(mut c: std::net::TcpStream) -> Handshake {
    use std::io::{Read, Write};
    let mut head = vec![];
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if c.read(&mut b)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let auth = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("proxy-authorization")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| "-".into());
    let port = target.rsplit(':').next().unwrap_or("0");
    let upstream = std::net::TcpStream::connect(format!("127.0.0.1:{port}"))?;
    c.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    Ok((c, format!("CONNECT {target} {auth}"), upstream))
}

fn socks5_handshake(mut c: std::net::TcpStream) -> Handshake {
    use std::io::{Read, Write};
    let read = |n: usize, c: &mut std::net::TcpStream| -> std::io::Result<Vec<u8>> {
        let mut v = vec![0u8; n];
        c.read_exact(&mut v)?;
        Ok(v)
    };
    let greet = read(2, &mut c)?;
    let methods = read(greet[1] as usize, &mut c)?;
    let mut user = "-".to_string();
    if methods.contains(&2) {
        c.write_all(&[5, 2])?;
        let v = read(2, &mut c)?;
        let name = read(v[1] as usize, &mut c)?;
        let plen = read(1, &mut c)?;
        let pass = read(plen[0] as usize, &mut c)?;
        user = format!(
            "{}:{}",
            String::from_utf8_lossy(&name),
            String::from_utf8_lossy(&pass)
        );
        c.write_all(&[1, 0])?;
    } else {
        c.write_all(&[5, 0])?;
    }
    let req = read(4, &mut c)?;
    let host = match req[3] {
        1 => read(4, &mut c)?
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join("."),
        3 => {
            let n = read(1, &mut c)?;
            String::from_utf8_lossy(&read(n[0] as usize, &mut c)?).to_string()
        }
        _ => return Err(std::io::ErrorKind::Unsupported.into()),
    };
    let p = read(2, &mut c)?;
    let port = u16::from_be_bytes([p[0], p[1]]);
    let upstream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, p[0], p[1]])?;
    Ok((c, format!("SOCKS5 {host}:{port} {user}"), upstream))
}

/// Copy both ways until either side closes.
fn splice(a: std::net::TcpStream, b: std::net::TcpStream) {
    let (mut a2, mut b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    let (mut a, mut b) = (a, b);
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut a2, &mut b2);
        let _ = b2.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut b, &mut a);
    let _ = a.shutdown(std::net::Shutdown::Write);
    let _ = t.join();
}
