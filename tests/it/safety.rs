//! No silent success, no leaks, no hangs: the faults a user must be able to
//! trust scaffold with, injected into the fake server. Each test is named
//! after what it guards; the real-cluster suite repeats the ones only a
//! real cluster shows.

use crate::util::{leftovers, Project};
use fakecluster::{FakeCluster, Options};
use predicates::prelude::*;
use serde_json::json;
use std::time::{Duration, Instant};

fn cluster(p: &Project) -> FakeCluster {
    let fc = FakeCluster::start(Options {
        nodes: 2,
        ..Default::default()
    });
    fc.write_kubeconfig_to(&p.path().join("kubeconfig"))
        .unwrap();
    fc
}

/// A busybox pod that sleeps, Running, in namespace `default`.
fn sleeper(fc: &FakeCluster, p: &Project, name: &str) {
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]}}))
        .unwrap();
    p.file(
        "wait-sleeper.rhai",
        &format!(
            r#"wait_for("pod", "{name}", #{{condition: |o| o.status.phase == "Running", timeout: 30}});"#
        ),
    );
    p.cmd()
        .args(["script", "wait-sleeper.rhai"])
        .assert()
        .success();
}

/// Wait until `f` holds (at most 30 s).
fn until(what: &str, f: impl Fn() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(30), "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// 17.1: an empty or blank name is an error before any request, everywhere
/// a name builds a path; a collection is never deleted by accident.
#[test]
fn empty_names_are_refused_before_any_request() {
    let p = Project::new();
    let fc = cluster(&p);
    fc.seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep", "namespace": "default"}}))
        .unwrap();
    p.file(
        "gen.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n",
    );
    for call in [
        r#"delete("configmaps", "")"#,
        r#"delete("configmaps", "  ")"#,
        r#"get("configmap", "")"#,
        r#"exec("", ["true"])"#,
        r#"logs(" ")"#,
        r#"label_node("", #{a: "b"})"#,
        r#"port_forward("", 80)"#,
        r#"delete("gen.yaml")"#,
    ] {
        p.file("e.rhai", &format!("{call};"));
        let out = p.cmd().args(["script", "e.rhai"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{call}: {err}");
        assert!(
            err.contains("empty") || err.contains("generateName"),
            "{call}: {err}"
        );
    }
    assert!(fc.get("v1", "ConfigMap", "default", "keep").is_some());
    assert_eq!(fc.requests("deletecollection", "configmaps"), 0);
}

/// 17.2: an exec whose stream ends without the exit status is an error
/// that says so, never exit code 0.
#[test]
fn exec_without_a_status_is_an_error() {
    let p = Project::new();
    let fc = cluster(&p);
    sleeper(&fc, &p, "box");
    p.file(
        "x.rhai",
        r#"print("started"); exec("box", "sleep 5; echo done");"#,
    );
    let child = p
        .std_cmd()
        .args(["script", "x.rhai"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    until("the exec runs", || fc.requests("exec", "pods") > 0);
    std::thread::sleep(Duration::from_millis(500));
    fc.faults().drop_streams();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the stream ended before the command's exit status arrived"),
        "{err}"
    );
}

/// 17.3: a copy-out cut off midway leaves no artifact (no `.part`
/// renamed into place) and is an error.
#[test]
fn partial_copy_is_never_the_artifact() {
    let p = Project::new();
    let fc = cluster(&p);
    let child = p
        .std_cmd()
        .args([
            "ron",
            "--node",
            "kind-worker",
            "--pvc",
            "--auto-copy-dest",
            "out.tar.gz",
            "--",
        ])
        .args(["sh", "-c", "head -c 300000000 /dev/urandom > /store/big"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let part = p.path().join("out.tar.gz.part");
    until("the copy starts", || part.exists());
    fc.faults().drop_streams();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!p.path().join("out.tar.gz").exists(), "no artifact: {err}");
    assert!(!part.exists(), "no partial file left: {err}");
    assert!(leftovers(&fc).is_empty(), "{:?}", leftovers(&fc));
}

/// 17.4: output cut off (the attach of an alpine ron, the log stream of
/// another image) comes back as what was read, with a note that says so;
/// the exit code still comes from the pod.
#[test]
fn cut_output_says_so() {
    let p = Project::new();
    let fc = FakeCluster::start(Options {
        nodes: 2,
        runnable: vec!["alpine".into(), "busybox".into(), "plain".into()],
        ..Default::default()
    });
    fc.write_kubeconfig_to(&p.path().join("kubeconfig"))
        .unwrap();
    for image in ["alpine", "plain"] {
        let child = p
            .std_cmd()
            .args(["ron", "--node", "kind-worker", "--pod-image", image, "--"])
            .args(["sh", "-c", "echo first; sleep 2; echo second"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        until("the command runs", || {
            fc.list("v1", "Pod")
                .iter()
                .any(|x| x["status"]["containerStatuses"][0]["state"]["running"].is_object())
        });
        std::thread::sleep(Duration::from_millis(800));
        fc.faults().drop_streams();
        let out = child.wait_with_output().unwrap();
        let (so, se) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(0), "{image}: {so}{se}");
        assert!(so.contains("first"), "{image}: {so}");
        assert!(
            so.contains("the output shown may be cut")
                || se.contains("the output shown may be cut"),
            "{image}: {so}{se}"
        );
        until("cleanup", || leftovers(&fc).is_empty());
    }
}

/// 17.5: exec writes stdin while it reads stdout: a command that echoes
/// a mebibyte back does not deadlock.
#[test]
fn exec_streams_a_mebibyte_both_ways() {
    let p = Project::new();
    let fc = cluster(&p);
    sleeper(&fc, &p, "box");
    p.file(
        "x.rhai",
        r#"
        let mib = "0123456789abcdef";
        mib.pad(1048576, "x");
        let r = exec("box", ["cat"], #{stdin: mib, timeout: 60});
        print("back=" + r.stdout.len() + " same=" + (r.stdout == mib));
        "#,
    );
    let t = Instant::now();
    p.cmd()
        .args(["script", "x.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("back=1048576 same=true"));
    assert!(t.elapsed() < Duration::from_secs(30));
}

/// 17.6: a session command that may have started is never run again, a
/// malformed one is an error, and a command that runs too long ends at
/// its timeout, all without hanging the session.
#[test]
fn session_commands_never_run_twice_or_hang() {
    let p = Project::new();
    let fc = cluster(&p);
    let dir = p.path().display().to_string();
    p.file(
        "s.rhai",
        &format!(
            r#"
        let s = node_session("kind-worker");
        try {{ s.exec("echo 'unbalanced"); print("malformed ran"); }} catch (e) {{ print("malformed: " + e); }}
        try {{ s.exec("sleep 30", #{{timeout: 1}}); print("no timeout"); }} catch (e) {{ print("timeout: " + e); }}
        print("after=" + s.exec("echo still here").stdout);
        s.exec("touch {dir}/started; sleep 3; echo x >> {dir}/once");
        "#
        ),
    );
    let child = p
        .std_cmd()
        .args(["script", "s.rhai"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    until("the last command starts", || {
        p.path().join("started").exists()
    });
    fc.faults().drop_streams();
    let out = child.wait_with_output().unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(so.contains("malformed: "), "{so}{se}");
    assert!(so.contains("timeout: "), "{so}{se}");
    assert!(so.contains("after=still here"), "{so}{se}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the broken command is an error: {so}{se}"
    );
    std::thread::sleep(Duration::from_secs(4));
    let runs = std::fs::read_to_string(p.path().join("once")).unwrap_or_default();
    assert!(
        runs.lines().count() <= 1,
        "ran {} times",
        runs.lines().count()
    );
    assert!(leftovers(&fc).is_empty(), "{:?}", leftovers(&fc));
}
