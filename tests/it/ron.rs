//! ron, ron_all, node sessions and cleanup against the fake API server,
//! whose alpine pods run as local processes with an nsenter shim.

use crate::util::{leftovers, Project};
use fakecluster::{FakeCluster, Options};
use predicates::prelude::*;
use serde_json::json;

fn cluster(p: &Project) -> FakeCluster {
    let fc = FakeCluster::start(Options {
        nodes: 2,
        ..Default::default()
    });
    fc.write_kubeconfig_to(&p.path().join("kubeconfig"))
        .unwrap();
    fc
}

#[test]
fn cli_ron_with_every_flag_family_and_the_tarball() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file("perf.sh", "echo measured\n");
    p.file("sub/other.conf", "x=1\n");
    p.cmd()
        .args(["ron", "--node", "kind-worker", "-m", "perf.sh", "-m", "sub/other.conf", "--pvc", "--pvc-size", "2Gi", "--nsenter", "--show-events", "--auto-copy-dest", "out/store.tar.gz", "--"])
        .args(["sh", "-c", "sh /configs/perf.sh; cat /configs/other.conf; echo result > /store/result.txt; mkdir -p /store/d; echo nested > /store/d/n.txt"])
        .assert()
        .success()
        .stdout(predicate::str::contains("measured\nx=1"))
        .stdout(predicate::str::contains("event: Normal Scheduled"))
        .stderr(predicate::str::contains("artifacts: out/store.tar.gz"));
    // a valid tar.gz with the files
    let f = std::fs::File::open(p.path().join("out/store.tar.gz")).unwrap();
    let mut names: Vec<String> = tar::Archive::new(flate2::read::GzDecoder::new(f))
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["store/", "store/d/", "store/d/n.txt", "store/result.txt"]
    );
    assert!(leftovers(&fc).is_empty(), "{:?}", leftovers(&fc));
    // the original's fixed names and the exit code
    p.cmd()
        .args(["ron", "--node", "kind-worker", "--", "sh", "-c", "exit 3"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("exit code: 3"));
    // --cleanup-all=false --cleanup-pvc keeps the pod, then --cleanup-and-exit removes it
    p.cmd()
        .args([
            "ron",
            "--node",
            "kind-worker",
            "--pvc",
            "--auto-copy=false",
            "--cleanup-all=false",
            "--cleanup-pvc",
            "--",
            "true",
        ])
        .assert()
        .success();
    // the claim is deleted, and held by its protection finalizer while
    // the kept pod uses it (as on any cluster)
    assert_eq!(
        leftovers(&fc),
        vec!["Pod/ron", "PersistentVolumeClaim/ron-pvc"]
    );
    let pvc = fc
        .get("v1", "PersistentVolumeClaim", "default", "ron-pvc")
        .unwrap();
    assert!(pvc["metadata"]["deletionTimestamp"].is_string(), "{pvc}");
    p.cmd()
        .args(["ron", "--node", "kind-worker", "--cleanup-and-exit"])
        .assert()
        .success()
        .stdout(predicate::str::contains("deleted pods default/ron"));
    let t = std::time::Instant::now();
    while !leftovers(&fc).is_empty() && t.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(leftovers(&fc).is_empty(), "{:?}", leftovers(&fc));
    // --manage-pvc=false uses someone else's PVC and never deletes it
    fc.seed(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "shared", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})).unwrap();
    p.cmd()
        .args([
            "ron",
            "--node",
            "kind-worker",
            "--pvc",
            "--pvc-name",
            "shared",
            "--manage-pvc=false",
            "--auto-copy=false",
            "--",
            "true",
        ])
        .assert()
        .success();
    assert!(fc
        .get("v1", "PersistentVolumeClaim", "default", "shared")
        .is_some());
    // two mounts with one base name: an error before anything is created
    p.file("a/perf.sh", "1");
    p.cmd()
        .args([
            "ron",
            "--node",
            "kind-worker",
            "-m",
            "perf.sh",
            "-m",
            "a/perf.sh",
            "--",
            "true",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("base name 'perf.sh'"));
}

#[test]
fn names_taken_by_others_are_never_replaced() {
    let p = Project::new();
    let fc = cluster(&p);
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ron", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "pause"}]}})).unwrap();
    p.cmd()
        .args(["ron", "--node", "kind-worker", "--", "true"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("pod 'default/ron' already exists and was not created by scaffold; delete it or pick another name with --pod-name"));
    assert!(
        fc.get("v1", "Pod", "default", "ron").is_some(),
        "someone else's pod is untouched"
    );
    // a leftover of ours (say after kill -9) is replaced
    fc.delete("v1", "Pod", "default", "ron").unwrap();
    fc.seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "roncm", "namespace": "default", "labels": {"app.kubernetes.io/managed-by": "scaffold", "scaffold.run/id": "old"}}})).unwrap();
    p.file("f.txt", "new");
    p.cmd()
        .args([
            "ron",
            "--node",
            "kind-worker",
            "-m",
            "f.txt",
            "--",
            "cat",
            "/configs/f.txt",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("new"));
}

#[test]
fn cleanup_after_success_failure_script_error_and_ctrl_c() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file("m.txt", "m");
    let opts = r#"#{node: "kind-worker", mounts: ["m.txt"], pvc: true, auto_copy: false"#;
    // success
    p.file("ok.rhai", &format!("ron({opts}, cmd: \"true\"}});"));
    p.cmd().args(["script", "ok.rhai"]).assert().success();
    assert!(
        leftovers(&fc).is_empty(),
        "after success: {:?}",
        leftovers(&fc)
    );
    // the command fails
    p.file("fail.rhai", &format!("ron({opts}, cmd: \"exit 7\"}});"));
    p.cmd()
        .args(["script", "fail.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "ron: command exited with code 7 on node kind-worker",
        ));
    assert!(
        leftovers(&fc).is_empty(),
        "after a failed command: {:?}",
        leftovers(&fc)
    );
    // the script errors while the command runs
    p.file(
        "err.rhai",
        &format!("let r = ron({opts}, cmd: \"sleep 30\", timeout: 1}});"),
    );
    p.cmd()
        .args(["script", "err.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("did not finish within 1s"));
    assert!(
        leftovers(&fc).is_empty(),
        "after a script error: {:?}",
        leftovers(&fc)
    );
    // Ctrl-C
    p.file(
        "int.rhai",
        &format!("print(\"started\"); ron({opts}, cmd: \"sleep 60\"}});"),
    );
    let mut child = p
        .std_cmd()
        .args(["script", "int.rhai"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    while !fc.list("v1", "Pod").iter().any(|x| {
        x["status"]["phase"] == "Running"
            && x["metadata"]["name"].as_str().unwrap().starts_with("ron-")
    }) {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(60),
            "the ron pod never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert!(
        leftovers(&fc).is_empty(),
        "after Ctrl-C: {:?}",
        leftovers(&fc)
    );
    assert_eq!(fc.running_processes(), 0);
}

#[test]
fn failures_are_reported_at_once() {
    let p = Project::new();
    let fc = cluster(&p);
    fc.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "locked", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})).unwrap();
    p.file(
        "psa.rhai",
        r#"ron(#{node: "kind-worker", cmd: "true", namespace: "locked"});"#,
    );
    let t = std::time::Instant::now();
    p.cmd()
        .args(["script", "psa.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "violates PodSecurity \"restricted:latest\"",
        ));
    p.file(
        "img.rhai",
        r#"ron(#{node: "kind-worker", cmd: "true", image: "registry.example/does-not-exist:1"});"#,
    );
    p.cmd()
        .args(["script", "img.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot run: container main ErrImagePull",
        ));
    p.file("node.rhai", r#"ron(#{node: "no-such-node", cmd: "true"});"#);
    p.cmd()
        .args(["script", "node.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "Unschedulable: 0/2 nodes are available",
        ));
    // someone else's claim (manage_pvc: false) that does not exist
    p.file(
        "claim.rhai",
        r#"ron(#{node: "kind-worker", cmd: "true", pvc: true, pvc_name: "absent", manage_pvc: false});"#,
    );
    p.cmd()
        .args(["script", "claim.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "persistentvolumeclaim \"absent\" not found",
        ));
    assert!(
        t.elapsed() < std::time::Duration::from_secs(15),
        "reported at once, not after a timeout"
    );
    assert!(leftovers(&fc).is_empty(), "{:?}", leftovers(&fc));
}

#[test]
fn ron_all_sessions_and_cleanup_command() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file(
        "s.rhai",
        r#"
        let r = ron_all(["kind-control-plane", "kind-worker"], ["sh", "-c", "echo on-node; sleep 0.3"], #{check: false});
        print("keys=" + r.keys().len() + " cp=" + r["kind-control-plane"].code);
        let bad = ron_all(["kind-worker", "missing-node"], "true", #{check: false});
        print("missing=" + (bad["missing-node"].error != ()) + " ok=" + bad["kind-worker"].code);
        let s = node_session("kind-worker");
        print("exec=" + s.exec(["echo", "via session"]).stdout);
        print("code=" + s.exec("exit 4").code);
        let e = s.exec("printf abc; printf oops >&2; exit 2");
        print("nonl=" + e.stdout + "|" + e.stderr + "|" + e.code);
        print("argv=" + s.exec(["echo", "$HOME; not run"]).stdout);
        s.exec("export LEAK=yes; cd /tmp");
        print("iso=[" + s.exec("printf %s \"$LEAK\"").stdout + "]");
        print("kw=" + s.exec(["if"]).code);
        let tar = s.copy_from("/etc/hostname", "out/hostname.tar.gz");
        print("copied=" + exists(tar));
        s.close();
        let s2 = node_session("kind-worker");   // closed by the script's end
        ron_all(["kind-worker", "missing-node"], "true");
        "#,
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}{s}");
    assert!(
        s.contains("[kind-control-plane] on-node") && s.contains("[kind-worker] on-node"),
        "{s}"
    );
    assert!(s.contains("keys=2 cp=0"), "{s}");
    assert!(
        s.contains("missing=true ok=0"),
        "one failure does not hide the others: {s}"
    );
    assert!(
        s.contains("exec=via session") && s.contains("code=4") && s.contains("copied=true"),
        "{s}"
    );
    assert!(
        s.contains("nonl=abc|oops|2"),
        "output without a final newline: {s}"
    );
    assert!(
        s.contains("argv=$HOME; not run"),
        "argv words are quoted: {s}"
    );
    assert!(s.contains("iso=[]"), "each command runs in a subshell: {s}");
    assert!(
        s.contains("kw=127"),
        "an argv word is never a shell keyword: {s}"
    );
    assert!(
        e.contains("ron_all: 1 of 2 nodes failed") && e.contains("missing-node: pod"),
        "{e}"
    );
    assert!(
        leftovers(&fc).is_empty(),
        "sessions closed, everything deleted: {:?}",
        leftovers(&fc)
    );
}

/// `scaffold cleanup`: runs and ages first, every kind scaffold labels
/// (not only pods, ConfigMaps and PVCs), `--run`, `--older-than` leaving
/// live runs alone, namespaces last.
#[test]
fn cleanup_command_lists_runs_and_finds_every_kind() {
    let p = Project::new();
    let fc = cluster(&p);
    let labels =
        |run: &str| json!({"app.kubernetes.io/managed-by": "scaffold", "scaffold.run/id": run});
    fc.seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "left", "namespace": "default", "labels": labels("r1")}})).unwrap();
    fc.seed(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "left-secret", "namespace": "default", "labels": labels("r1")}})).unwrap();
    fc.seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other-run", "namespace": "default", "labels": labels("r2")}})).unwrap();
    fc.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "load-ns", "labels": labels("r2")}})).unwrap();
    fc.seed(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "load", "namespace": "default", "labels": labels("r2")},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "pause"}]}}}})).unwrap();
    let out = p.cmd().args(["cleanup", "--dry-run"]).output().unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{se}");
    assert!(
        se.contains("2 run(s):")
            && se.contains("r1")
            && se.contains("2 object(s)")
            && se.contains("3 object(s)"),
        "{se}"
    );
    for want in [
        "configmaps default/left (run r1",
        "secrets default/left-secret (run r1",
        "namespaces load-ns (run r2",
        "deployments.apps default/load (run r2",
    ] {
        assert!(so.contains(&format!("would delete {want}")), "{want}: {so}");
    }
    assert!(se.contains("5 object(s) would be deleted"), "{se}");
    assert_eq!(leftovers(&fc).len(), 2, "a dry run deletes nothing");
    // live runs are left alone with --older-than
    p.cmd()
        .args(["cleanup", "--older-than", "1h"])
        .assert()
        .success()
        .stderr(predicate::str::contains("0 object(s) deleted"));
    p.cmd()
        .args(["cleanup", "--run", "r1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("deleted configmaps default/left"))
        .stdout(predicate::str::contains(
            "deleted secrets default/left-secret",
        ));
    assert_eq!(leftovers(&fc), vec!["ConfigMap/other-run"]);
    let out = p.cmd().args(["cleanup"]).output().unwrap();
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    let ns_line = so
        .lines()
        .position(|l| l.contains("namespaces load-ns"))
        .unwrap();
    assert_eq!(ns_line, so.lines().count() - 1, "namespaces go last: {so}");
    assert!(leftovers(&fc).is_empty());
    assert!(fc.get("v1", "Namespace", "", "load-ns").is_none());
    p.cmd()
        .args(["cleanup", "--older-than", "soon"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--older-than: invalid duration 'soon'",
        ));
}

/// An alpine ron's output comes through an attach that releases the
/// command: it sees an empty stdin, both streams arrive, no marker shows;
/// without the right to attach the command still runs (the gate opens by
/// itself) and the output comes from the logs.
#[test]
fn output_through_the_attach_and_without_it() {
    let p = Project::new();
    let fc = cluster(&p);
    let cmd = [
        "ron",
        "--node",
        "kind-worker",
        "--",
        "sh",
        "-c",
        "cat; echo out; echo err >&2; exit 4",
    ];
    let not_markers = || predicate::str::contains("__scaffold_").not();
    let before = fc.requests("attach", "pods");
    p.cmd()
        .args(cmd)
        .assert()
        .code(4)
        .stdout(predicate::str::contains("out\n"))
        .stdout(predicate::str::contains("err\n"))
        .stdout(not_markers())
        .stderr(not_markers());
    assert!(fc.requests("attach", "pods") > before, "attached");
    fc.faults().deny_verbs(&["attach"]);
    p.cmd()
        .args(cmd)
        .assert()
        .code(4)
        .stdout(predicate::str::contains("out\n"))
        .stdout(predicate::str::contains("err\n"))
        .stdout(not_markers())
        .stderr(not_markers());
    fc.faults().deny_verbs(&[]);
    assert!(leftovers(&fc).is_empty(), "{:?}", leftovers(&fc));
}

/// A claim the provisioner binds a moment later is waited for (with a line
/// saying so); the ron then runs and its claim goes with it.
#[test]
fn a_claim_bound_later_is_waited_for() {
    let p = Project::new();
    let fc = cluster(&p);
    fc.faults()
        .set_pvc_bind_delay(std::time::Duration::from_millis(1500));
    p.cmd()
        .args([
            "ron",
            "--node",
            "kind-worker",
            "--pvc",
            "--auto-copy=false",
            "--",
            "sh",
            "-c",
            "echo kept > /store/x; echo wrote",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "waiting for PersistentVolumeClaim ron-pvc to be bound",
        ))
        .stdout(predicate::str::contains("wrote"));
    assert!(leftovers(&fc).is_empty(), "{:?}", leftovers(&fc));
}

/// 29.3: `fingerprint()` reads every node through a session of its own
/// (on the fake, this machine: its kernel, CPUs, MTUs), the cluster and
/// the CNI's configuration into results.json, closes the sessions, and
/// is skipped under --no-fingerprint.
#[test]
fn fingerprint_reads_nodes_cluster_and_cni() {
    let p = Project::new();
    let fc = cluster(&p);
    fc.seed(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
        "data": {"config.conf": "mode: \"ipvs\"\n"}}))
        .unwrap();
    p.file(
        "s.rhai",
        r#"
        let f = fingerprint(#{sysctls: ["net.core.somaxconn", "no.such.sysctl"]});
        print("kernel=" + f["node.kind-worker.kernel"]);
        print("nodes=" + f["cluster.nodes"]);
        "#,
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    let (s, e) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{e}{s}");
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert!(s.contains(&format!("kernel={}", kernel.trim())), "{s}");
    assert!(s.contains("nodes=2"), "{s}");
    let f = &p.results()["environment"]["fingerprint"];
    for node in ["kind-control-plane", "kind-worker"] {
        assert!(
            f[format!("node.{node}.cpus")]
                .as_str()
                .unwrap()
                .parse::<u32>()
                .unwrap()
                >= 1,
            "{f}"
        );
        assert!(f[format!("node.{node}.sysctl.no.such.sysctl")]
            .as_str()
            .unwrap()
            .starts_with("unknown:"));
        assert!(
            f[format!("node.{node}.sysctl.net.core.somaxconn")]
                .as_str()
                .unwrap()
                .parse::<u32>()
                .is_ok(),
            "{f}"
        );
    }
    assert_eq!(f["cni.kube-proxy.mode"], "ipvs");
    assert_eq!(f["cni.cilium"], "absent");
    assert_eq!(f["client.scaffold_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        crate::util::leftovers(&fc).is_empty(),
        "{:?}",
        crate::util::leftovers(&fc)
    );
    // skipped on request; a name that is not a sysctl is an error
    p.file("t.rhai", r#"print(fingerprint().len());"#);
    let out = p
        .cmd()
        .args(["script", "t.rhai", "--no-fingerprint"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipped (--no-fingerprint)"));
    p.file("u.rhai", r#"fingerprint(#{sysctls: ["a;reboot"]});"#);
    let out = p.cmd().args(["script", "u.rhai"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a sysctl name"));
}
