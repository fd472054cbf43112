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

/// 17.9: Ctrl-C while a create is in flight (the server made the pod, its
/// answer has not arrived) leaks nothing: the name was recorded first.
#[test]
fn ctrl_c_during_a_create_leaks_nothing() {
    let p = Project::new();
    let fc = cluster(&p);
    fc.faults().set_response_delay(Duration::from_secs(3));
    p.file("r.rhai", r#"ron(#{node: "kind-worker", cmd: "sleep 60"});"#);
    let mut child = p
        .std_cmd()
        .args(["script", "r.rhai"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    until("the pod exists while its create is unanswered", || {
        fc.list("v1", "Pod").iter().any(|x| {
            x["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .starts_with("ron-")
        })
    });
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    fc.faults().set_response_delay(Duration::ZERO);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    until("nothing left", || leftovers(&fc).is_empty());
}

/// 17.12: Ctrl-C ends a command's whole process group (its background
/// children too), and a second Ctrl-C during a slow cleanup still kills
/// background processes and deletes scaffold's objects at once.
#[test]
fn ctrl_c_kills_process_groups_and_the_second_one_still_cleans_up() {
    let alive = |tag: &str| {
        std::process::Command::new("pgrep")
            .args(["-f", tag])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    let p = Project::new();
    let fc = cluster(&p);
    p.file(
        "g.rhai",
        r#"print("go"); sh("sleep 3771 & sleep 3772; wait");"#,
    );
    let mut child = p
        .std_cmd()
        .args(["script", "g.rhai"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    until("the commands run", || {
        alive("sleep 3771") && alive("sleep 3772")
    });
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(130));
    until("the group is gone", || {
        !alive("sleep 3771") && !alive("sleep 3772")
    });
    // a cleanup that takes long (an on_exit handler), cut short
    p.file(
        "e.rhai",
        r#"
        on_exit(|| sleep(60));
        let bg = sh_bg("sleep 3773", #{quiet: true});
        ron(#{node: "kind-worker", cmd: "sleep 60"});
        "#,
    );
    let mut child = p
        .std_cmd()
        .args(["script", "e.rhai"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    until("the ron runs", || {
        alive("sleep 3773")
            && fc
                .list("v1", "Pod")
                .iter()
                .any(|x| x["status"]["phase"] == "Running")
    });
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(800));
    let t = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    until("the background process is gone", || !alive("sleep 3773"));
    until("nothing left", || leftovers(&fc).is_empty());
}

/// 17.15: a command's output is kept in memory up to a bound; the whole of
/// it goes to a file in the run's artifacts, and the result says where.
#[test]
fn large_output_is_bounded_and_kept_in_full() {
    let p = Project::new();
    p.file(
        "o.rhai",
        r#"
        let r = sh("yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 20000000; echo; echo end", #{quiet: true});
        print("kept=" + r.stdout.len());
        print("tail=" + r.stdout.contains("end"));
        "#,
    );
    let out = p.cmd().args(["script", "o.rhai"]).output().unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{se}");
    let kept: usize = so
        .lines()
        .find_map(|l| l.strip_prefix("kept="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert!(kept <= 16 * 1024 * 1024 + 64, "kept {kept}");
    assert!(so.contains("tail=true"), "{so}");
    let dir = p.path().join("artifacts/latest/output");
    let full: u64 = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; {se}", dir.display()))
        .flatten()
        .map(|f| f.metadata().unwrap().len())
        .max()
        .unwrap_or(0);
    assert!(
        full >= 20_000_000,
        "the full output is in {}: {full}",
        dir.display()
    );
}

/// 17.16: a stdout pipe nobody reads never stalls the run: Ctrl-C still
/// stops a ron that streams output, and it is cleaned up within seconds.
#[test]
fn unread_output_never_blocks_ctrl_c() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file(
        "r.rhai",
        r#"ron(#{node: "kind-worker", cmd: "while true; do echo filling the pipe nobody reads; done"});"#,
    );
    let mut child = p
        .std_cmd()
        .args(["script", "r.rhai"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    until("the ron runs", || {
        fc.list("v1", "Pod")
            .iter()
            .any(|x| x["status"]["phase"] == "Running")
    });
    // by now the pipes (64 KiB) are long full
    std::thread::sleep(Duration::from_secs(2));
    let t = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "Ctrl-C did not stop the run"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    until("nothing left", || leftovers(&fc).is_empty());
}

/// 17.18: durations are checked once, with a clear error, never a panic.
#[test]
fn durations_out_of_range_are_clear_errors() {
    let p = Project::new();
    for (call, want) in [
        ("sleep(1e20)", "more than a year"),
        ("sleep(-1)", "negative"),
        (r#"sh("true", #{timeout: 1e20})"#, "more than a year"),
        ("wait_until(-5, 1, || true)", "negative"),
    ] {
        p.file("d.rhai", &format!("{call};"));
        let out = p.cmd().args(["script", "d.rhai"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{call}: {err}");
        assert!(
            err.contains(want) && !err.contains("panicked"),
            "{call}: {err}"
        );
    }
    for t in ["inf", "-5", "1e20", "NaN"] {
        let out = p
            .cmd()
            .args(["verify", "k8s-ready", "--wait", &format!("--timeout={t}")])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--timeout={t}: {err}");
        assert!(
            err.contains("--timeout") && !err.contains("panicked"),
            "{t}: {err}"
        );
    }
}

/// 17.19: image pulls a registry throttles (429) are waited through, as the
/// kubelet retries them; the ron then runs.
#[test]
fn throttled_pulls_are_waited_through() {
    let p = Project::new();
    let fc = cluster(&p);
    fc.fail_next_pulls("alpine", 2);
    p.cmd()
        .args([
            "ron",
            "--node",
            "kind-worker",
            "--",
            "echo",
            "pulled at last",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("pulled at last"));
    assert!(leftovers(&fc).is_empty(), "{:?}", leftovers(&fc));
}

/// 17.7: `show_events` follows updates of an Event too: a warning that
/// repeats (one Event, its count raised) is shown again with its count.
#[test]
fn repeated_events_are_shown_with_their_count() {
    let p = Project::new();
    let fc = cluster(&p);
    fc.fail_next_pulls("alpine", 3);
    p.cmd()
        .args([
            "ron",
            "--node",
            "kind-worker",
            "--show-events",
            "--",
            "echo",
            "ran",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "event: Warning Failed: Failed to pull image",
        ))
        .stdout(predicate::str::contains(
            "429 Too Many Requests (toomanyrequests: rate limit exceeded) (x3)",
        ))
        .stdout(predicate::str::contains("ran"));
    assert!(leftovers(&fc).is_empty(), "{:?}", leftovers(&fc));
}

/// 17.11: in the REPL, a second Ctrl-C while a ron's cleanup runs does not
/// cancel the cleanup: it says so, the cleanup finishes, nothing is left.
#[test]
fn repl_ctrl_c_during_cleanup_lets_it_finish() {
    use expectrl::{Eof, Session};
    let p = Project::new();
    let fc = cluster(&p);
    let mut c = p.std_cmd();
    c.arg("repl");
    let mut s = Session::spawn(c).expect("spawn in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(40)));
    s.expect("scaffold> ").unwrap();
    s.send_line(r#"ron(#{node: "kind-worker", cmd: "sleep 60"})"#)
        .unwrap();
    until("the ron pod runs", || {
        fc.list("v1", "Pod").iter().any(|x| {
            x["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .starts_with("ron-")
                && x["status"]["phase"] == "Running"
        })
    });
    // every request of the cleanup now takes 2 s: the second Ctrl-C comes
    // while the first delete is on its way
    fc.faults().set_latency(Duration::from_secs(2));
    s.send("\x03").unwrap();
    std::thread::sleep(Duration::from_millis(800));
    s.send("\x03").unwrap();
    s.expect("cleanup in progress: it finishes first").unwrap();
    s.expect("scaffold> ").unwrap();
    fc.faults().set_latency(Duration::ZERO);
    assert_eq!(leftovers(&fc), Vec::<String>::new());
    s.send_line(":quit").unwrap();
    s.expect(Eof).unwrap();
}
