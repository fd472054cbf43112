//! kind configs and images, kind create/delete with a stub kind, and tool
//! downloads from a local HTTP server (no test touches the internet).

use crate::util::Project;
use predicates::prelude::*;
use sha2::Digest;
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};

#[test]
fn kind_config_output() {
    let p = Project::new();
    let out = p.cmd().args(["lazyget", "kind-config"]).output().unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!("kind_config_default", String::from_utf8_lossy(&out.stdout));
    let out = p
        .cmd()
        .args([
            "lazyget",
            "kind-config",
            "-n",
            "bench",
            "-w",
            "2",
            "-c",
            "1",
            "--with-cni",
            "-i",
            "kindest/node:v1.33.4",
        ])
        .output()
        .unwrap();
    insta::assert_snapshot!(
        "kind_config_workers_cni",
        String::from_utf8_lossy(&out.stdout)
    );
    // the script function gives the same text; --output writes a file
    p.cmd()
        .args(["lazyget", "kind-config", "-w", "1", "--output", "k.yaml"])
        .assert()
        .success();
    p.file(
        "s.rhai",
        r#"write_file("from-script.yaml", kind_config(#{workers: 1}));"#,
    );
    p.cmd().args(["script", "s.rhai"]).assert().success();
    assert_eq!(
        std::fs::read_to_string(p.path().join("k.yaml")).unwrap(),
        std::fs::read_to_string(p.path().join("from-script.yaml")).unwrap()
    );
    p.cmd()
        .args(["lazyget", "kind-config", "-c", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("at least 1 control-plane"));
    p.cmd()
        .args(["lazyget", "kind-config", "-w", "-1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be negative"));
}

#[test]
fn kind_image_versions() {
    let p = Project::new();
    for v in ["1.33", "v1.33", "1.33.4", "v1.33.4"] {
        p.cmd()
            .args(["lazyget", "kind-image", v])
            .assert()
            .success()
            .stdout("kindest/node:v1.33.4@sha256:25a6018e48dfcaee478f4a59af81157a437f15e6e140bf103f85a2e7cd0cbbf2\n");
    }
    p.cmd()
        .args(["lazyget", "kind-image", "1.20"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "known: 1.35 (kindest/node:v1.35.0)",
        ));
    p.file("s.rhai", r#"print(kind_image("1.30"));"#);
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("v1.30.13@sha256:3972"));
}

/// A stub `kind` that records its arguments and stdin and prints the fake
/// cluster's kubeconfig; a stub `docker` so the engine check passes.
fn stub_path(p: &Project, kubeconfig: &std::path::Path, with_docker: bool) -> String {
    let bin = p.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let kind = format!(
        "#!/bin/sh\necho \"$@\" >> {log}\ncase \"$1 $2\" in\n  \"create cluster\") cat > {cfg}; echo 'Creating cluster ...'; echo ' ✓ Ensuring node image';;\n  \"get kubeconfig\") sed 's/kind-kind/kind-'\"$4\"'/g' {kc};;\nesac\n",
        log = p.path().join("kind.log").display(),
        cfg = p.path().join("kind-config.yaml").display(),
        kc = kubeconfig.display()
    );
    std::fs::write(bin.join("kind"), kind).unwrap();
    if with_docker {
        std::fs::write(bin.join("docker"), "#!/bin/sh\nexit 0\n").unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    for f in std::fs::read_dir(&bin).unwrap().flatten() {
        std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // keep the basics (sh, sed, cat) but not a real kind or docker
    format!("{}:/usr/bin:/bin", bin.display())
}

#[test]
fn kind_create_points_the_run_at_the_new_cluster() {
    let p = Project::new();
    let fc = fakecluster::FakeCluster::start(fakecluster::Options {
        nodes: 2,
        ..Default::default()
    });
    let path = stub_path(&p, fc.kubeconfig(), true);
    p.file(
        "s.rhai",
        r#"
        let kc = kind_create(#{name: "bench", config: kind_config(#{name: "bench", workers: 1})});
        print("ctx=" + current_context());
        print("nodes=" + nodes().len());
        print("child=" + sh_output("echo $KUBECONFIG"));
        print("mode=" + sh_output(["stat", "-c", "%a", kc]));
        kind_delete("bench");
        "#,
    );
    let out = p
        .cmd()
        .args(["script", "s.rhai"])
        .env("PATH", &path)
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{s}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("ctx=kind-bench"), "{s}");
    assert!(s.contains("nodes=2"), "{s}");
    assert!(
        s.contains("kind-bench.kubeconfig"),
        "children get the new kubeconfig: {s}"
    );
    // the kubeconfig holds client keys: private, in the state directory
    // (deleted by kind_delete at the end of the script)
    assert!(
        s.contains("state/scaffold/kind-bench.kubeconfig") && s.contains("mode=600"),
        "private kubeconfig: {s}"
    );
    let log = std::fs::read_to_string(p.path().join("kind.log")).unwrap();
    assert!(
        log.contains("create cluster --name bench --config - --wait 300s"),
        "{log}"
    );
    assert!(log.contains("get kubeconfig --name bench"), "{log}");
    assert!(log.contains("delete cluster --name bench"), "{log}");
    let cfg = std::fs::read_to_string(p.path().join("kind-config.yaml")).unwrap();
    assert!(
        cfg.contains("name: bench") && cfg.contains("- role: worker"),
        "{cfg}"
    );
    assert!(
        s.contains("Ensuring node image"),
        "kind's output is streamed: {s}"
    );
    assert!(
        !s.contains("certificate-authority-data") && !s.contains("token"),
        "the kubeconfig is not printed: {s}"
    );
}

#[test]
fn kind_missing_tools_say_what_to_install() {
    let p = Project::new();
    let fc = fakecluster::FakeCluster::start(fakecluster::Options::default());
    p.file("s.rhai", r#"kind_create(#{name: "x"});"#);
    p.cmd()
        .args(["script", "s.rhai"])
        .env("PATH", "/usr/bin:/bin")
        .env_remove("KIND_EXPERIMENTAL_PROVIDER")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "kind is not installed: get it from https://kind.sigs.k8s.io",
        ));
    let path = stub_path(&p, fc.kubeconfig(), false);
    // this machine has a docker client in /usr/local/bin; the stub PATH leaves it out
    p.cmd()
        .args(["script", "s.rhai"])
        .env("PATH", &path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("kind needs a container engine"));
}

/// A tiny HTTP server on 127.0.0.1 serving fixed paths; counts requests.
struct Server {
    port: u16,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

fn serve(files: HashMap<String, Vec<u8>>) -> Server {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let hits = Arc::new(Mutex::new(HashMap::new()));
    let h2 = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut r = std::io::BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap_or(0);
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) <= 2 {
                    break;
                }
            }
            *h2.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
            let mut s = s;
            match files.get(&path) {
                Some(b) => {
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        b.len()
                    );
                    let _ = s.write_all(b);
                }
                None => {
                    let _ = write!(
                        s,
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                }
            }
        }
    });
    Server { port, hits }
}

fn targz(name: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let gz = flate2::write::GzEncoder::new(&mut out, flate2::Compression::default());
        let mut t = tar::Builder::new(gz);
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, name, body).unwrap();
        t.into_inner().unwrap().finish().unwrap();
    }
    out
}

fn sha(b: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(b))
}

#[test]
fn lazyget_downloads_verifies_unpacks_and_caches() {
    let p = Project::new();
    let cilium = targz("cilium", b"#!/bin/sh\necho cilium-cli v0.19.0\n");
    let crane = targz("crane", b"#!/bin/sh\necho crane\n");
    let mut files = HashMap::new();
    files.insert(
        "/v0.19.0/cilium-linux-amd64.tar.gz".to_string(),
        cilium.clone(),
    );
    files.insert(
        "/v0.19.0/cilium-linux-amd64.tar.gz.sha256sum".to_string(),
        format!("{}  cilium-linux-amd64.tar.gz\n", sha(&cilium)).into_bytes(),
    );
    files.insert(
        "/v0.19.0/cilium-darwin-arm64.tar.gz".to_string(),
        cilium.clone(),
    );
    files.insert(
        "/v0.19.0/cilium-darwin-arm64.tar.gz.sha256sum".to_string(),
        format!("{}  cilium-darwin-arm64.tar.gz\n", "0".repeat(64)).into_bytes(),
    );
    files.insert(
        "/v9.9.9/go-containerregistry_Linux_x86_64.tar.gz".to_string(),
        crane.clone(),
    );
    files.insert(
        "/v9.9.9/checksums.txt".to_string(),
        format!("{}  go-containerregistry_Darwin_x86_64.tar.gz\n{}  go-containerregistry_Linux_x86_64.tar.gz\n", "1".repeat(64), sha(&crane)).into_bytes(),
    );
    files.insert("/latest".to_string(), br#"{"tag_name": "v9.9.9"}"#.to_vec());
    let srv = serve(files);
    let base = format!("http://127.0.0.1:{}", srv.port);
    let env = |c: &mut assert_cmd::Command| {
        c.env("SCAFFOLD_CILIUM_BASE_URL", &base)
            .env("SCAFFOLD_CRANE_BASE_URL", &base)
            .env("SCAFFOLD_CRANE_LATEST_URL", format!("{base}/latest"))
            .env("XDG_CACHE_HOME", p.path().join("cache"));
    };
    // CLI: verified, unpacked, executable; printed path
    let mut c = p.cmd();
    env(&mut c);
    c.args([
        "lazyget", "cilium", "-p", "linux", "-a", "amd64", "-d", "tools",
    ])
    .assert()
    .success()
    .stdout(predicate::str::ends_with("tools/cilium\n"));
    let out = std::process::Command::new(p.path().join("tools/cilium"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "cilium-cli v0.19.0\n");
    assert!(
        !p.path().join("tools/cilium-linux-amd64.tar.gz").exists(),
        "archive removed without --keep"
    );
    // the same verified version is not downloaded again
    let mut c = p.cmd();
    env(&mut c);
    c.args([
        "lazyget", "cilium", "-p", "linux", "-a", "amd64", "-d", "tools",
    ])
    .assert()
    .success();
    assert_eq!(
        srv.hits.lock().unwrap()["/v0.19.0/cilium-linux-amd64.tar.gz"],
        1
    );
    // a checksum mismatch deletes the download and shows both sums
    let mut c = p.cmd();
    env(&mut c);
    c.args([
        "lazyget", "cilium", "-p", "darwin", "-a", "arm64", "-d", "mac", "--keep",
    ])
    .assert()
    .code(1)
    .stderr(predicate::str::contains(format!(
        "expected sha256 {}",
        "0".repeat(64)
    )))
    .stderr(predicate::str::contains(format!("got {}", sha(&cilium))));
    assert!(
        std::fs::read_dir(p.path().join("mac")).unwrap().count() == 0,
        "nothing left behind"
    );
    // crane: `latest` through the release API, a multi-line checksums file, --keep
    let mut c = p.cmd();
    env(&mut c);
    c.args([
        "lazyget",
        "crane",
        "--version",
        "latest",
        "-p",
        "linux",
        "-a",
        "x86_64",
        "-d",
        "c",
        "--keep",
    ])
    .assert()
    .success();
    assert!(
        p.path().join("c/crane").is_file()
            && p.path()
                .join("c/go-containerregistry_Linux_x86_64.tar.gz")
                .is_file()
            && p.path().join("c/checksums.txt").is_file()
    );
    // scripts default to the shared cache
    p.file(
        "s.rhai",
        r#"print(lazyget("cilium", #{platform: "linux", arch: "amd64"}));"#,
    );
    let mut c = p.cmd();
    env(&mut c);
    c.args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "cache/scaffold/tools/cilium/cilium",
        ));
    // unknown things are named
    let mut c = p.cmd();
    env(&mut c);
    c.args(["lazyget", "cilium", "-a", "mips", "-d", "x"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no release for architecture 'mips'",
        ));
    let mut c = p.cmd();
    env(&mut c);
    c.args([
        "lazyget",
        "cilium",
        "--version",
        "v0.0.1",
        "-p",
        "linux",
        "-a",
        "amd64",
        "-d",
        "y",
    ])
    .assert()
    .code(1)
    .stderr(predicate::str::contains("does not exist (404)"));
}

#[test]
fn lazyget_help_and_docs_describe_it() {
    let p = Project::new();
    p.cmd()
        .args(["lazyget", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("kind-config"))
        .stdout(predicate::str::contains("cilium"));
    p.cmd()
        .args(["docs"])
        .assert()
        .success()
        .stdout(predicate::str::contains("## kind and tools"))
        .stdout(predicate::str::contains(
            "### `lazyget(tool: String, options: Map) -> String`",
        ));
}

/// Safety 17.13: a session opened before `kind_create` switched clusters
/// keeps the cluster it was opened on: it still runs commands there, and
/// it is closed there (explicitly and at the end of the run), never
/// against the new cluster.
#[test]
fn sessions_keep_their_cluster_across_kind_create() {
    let p = Project::new();
    let first = fakecluster::FakeCluster::start(fakecluster::Options {
        nodes: 2,
        ..Default::default()
    });
    first
        .write_kubeconfig_to(&p.path().join("kubeconfig"))
        .unwrap();
    let second = fakecluster::FakeCluster::start(fakecluster::Options {
        nodes: 2,
        ..Default::default()
    });
    let path = stub_path(&p, second.kubeconfig(), true);
    p.file(
        "s.rhai",
        r#"
        let a = node_session("kind-worker");
        let b = node_session("kind-worker");
        print("before=" + a.exec("printf $((6*7))").stdout);
        kind_create(#{name: "bench", config: kind_config(#{name: "bench", workers: 1})});
        print("ctx=" + current_context());
        print("after=" + a.exec("printf $((6*8))").stdout);
        a.close();
        print("closed a");
        // b is closed by the end of the run
        "#,
    );
    let out = p
        .cmd()
        .args(["script", "s.rhai"])
        .env("PATH", &path)
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{s}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("before=42"), "{s}");
    assert!(s.contains("ctx=kind-bench"), "{s}");
    assert!(
        s.contains("after=48"),
        "the session runs on its cluster: {s}"
    );
    assert!(s.contains("closed a"), "{s}");
    assert_eq!(
        crate::util::leftovers(&first),
        Vec::<String>::new(),
        "both sessions were closed on the cluster they were opened on"
    );
    assert_eq!(
        second.requests("create", "pods") + second.requests("delete", "pods"),
        0,
        "nothing about the sessions went to the new cluster"
    );
}
