//! Safety, second pass: each test is named after the fault it guards and
//! cites its point of the issue ("27.N"). Each fails with its fix reverted.

use crate::util::Project;
use predicates::prelude::*;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Wait until `f` holds (at most 30 s).
fn until(what: &str, f: impl Fn() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(30), "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn alive(tag: &str) -> bool {
    std::process::Command::new("pgrep")
        .args(["-f", tag])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A child killed when the test ends, also when it fails half-way (a
/// script left waiting would outlive the test run).
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wait for a child to exit (at most `secs`), or fail naming `what`.
fn exits_within(child: &mut std::process::Child, secs: u64, what: &str) -> Option<i32> {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        if t.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            panic!("{what}: still running after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// 27.1: Ctrl-C while the script waits for a background process ends the
/// run: the process is killed, teardown finishes, results.json is written.
#[test]
fn ctrl_c_during_a_background_wait_ends_the_run() {
    let p = Project::new();
    p.file(
        "w.rhai",
        r#"let b = sh_bg("sleep 3791", #{quiet: true}); print("waiting"); b.wait();"#,
    );
    let mut child = p
        .std_cmd()
        .args(["script", "w.rhai", "--no-breakpoints"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    until("the background process runs", || alive("sleep 3791"));
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(exits_within(&mut child, 15, "teardown"), Some(130));
    until("the background process is gone", || !alive("sleep 3791"));
    assert_eq!(p.results()["outcome"], "interrupted");
}

/// 27.12: a grandchild that keeps stdout open does not cost the output:
/// `sh_output` returns what was read and warns that the pipe stayed open.
#[test]
fn output_kept_when_a_grandchild_holds_the_pipe() {
    let p = Project::new();
    p.file(
        "o.rhai",
        r#"let pid = sh_output("sleep 3792 & echo started-$!");
        if !pid.starts_with("started-") { throw "lost the output: '" + pid + "'"; }
        sh("kill " + pid.sub_string(8));"#,
    );
    p.cmd()
        .args(["script", "o.rhai"])
        .assert()
        .success()
        .stderr(predicate::str::contains("stayed open"));
}

/// 27.16: durations from the environment and from sweep.json are checked
/// like script options: a clear usage error, never a panic.
#[test]
fn durations_from_the_environment_and_sweep_json_are_checked() {
    let p = Project::new();
    p.file("s.rhai", "print(1);");
    for (var, value) in [
        ("SCAFFOLD_RETRY_SECONDS", "-1"),
        ("SCAFFOLD_RETRY_SECONDS", "inf"),
        ("SCAFFOLD_WATCH_IDLE_SECONDS", "1e30"),
        ("SCAFFOLD_WATCH_IDLE_SECONDS", "0"),
    ] {
        let out = p
            .cmd()
            .env(var, value)
            .args(["script", "s.rhai"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {err}");
        assert!(
            err.contains(var) && !err.contains("panicked"),
            "{var}={value}: {err}"
        );
    }
    p.cmd()
        .env("SCAFFOLD_RETRY_SECONDS", "3")
        .args(["script", "s.rhai"])
        .assert()
        .success();
    // a hand-edited run_timeout in sweep.json
    p.cmd()
        .args([
            "sweep",
            "s.rhai",
            "--grid",
            "n=1",
            "--run-timeout",
            "60",
            "--artifacts",
            "sw",
        ])
        .assert()
        .success();
    let dir = std::fs::read_dir(p.path().join("sw"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|d| d.join("sweep.json").is_file())
        .expect("a sweep directory");
    let file = dir.join("sweep.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    v["run_timeout"] = serde_json::json!(-1.0);
    v["runs"][0]["status"] = serde_json::json!("pending");
    std::fs::write(&file, serde_json::to_vec(&v).unwrap()).unwrap();
    let out = p
        .cmd()
        .args(["sweep", "--resume"])
        .arg(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("run_timeout") && !err.contains("panicked"),
        "{err}"
    );
}

/// 27.10: a `--fail-if` gate over a group (or a run) with no values fails
/// (exit 1) instead of passing: every xdp run failed here.
#[test]
fn thresholds_on_groups_without_values_fail() {
    let p = Project::new();
    p.file(
        "s.rhai",
        r#"if param("mode", "") == "xdp" { throw "no xdp today"; }
        record("throughput", 5.0);"#,
    );
    let out = p
        .cmd()
        .args([
            "sweep",
            "s.rhai",
            "--grid",
            "mode=nkpr,xdp",
            "--artifacts",
            "sw",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = std::fs::read_dir(p.path().join("sw"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|d| d.join("sweep.json").is_file())
        .expect("a sweep directory");
    for gate in ["throughput[mode=xdp].median < 1", "throughput.median < 1"] {
        let out = p
            .cmd()
            .arg("report")
            .arg(&dir)
            .args(["--fail-if", gate])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{gate}: {err}");
        assert!(
            err.contains("FAIL") && err.contains("no values"),
            "{gate}: {err}"
        );
    }
    // a typo is still a usage error
    let out = p
        .cmd()
        .arg("report")
        .arg(&dir)
        .args(["--fail-if", "thruput < 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // runs given one by one: the failed one has no value
    let runs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| d.join("results.json").is_file())
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let out = p
        .cmd()
        .arg("report")
        .args(&runs)
        .args(["--fail-if", "throughput < 1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("has no value"), "{err}");
}

/// 27.11: a NaN or infinite sample is counted, not stored as null: the
/// series stays numeric and reaches the report; `summary` leaves it out.
#[test]
fn nan_samples_are_counted_and_the_series_stays_numeric() {
    let p = Project::new();
    p.file(
        "n.rhai",
        r#"record("rtt", 1.0); record("rtt", 0.0 / 0.0); record("rtt", 3.0); record("rtt", 1.0 / 0.0);
        let s = summary([1.0, 0.0 / 0.0, 3.0]);
        if s.n != 2 || s.nan != 1 || s.mean != 2.0 { throw "summary: " + s; }"#,
    );
    p.cmd()
        .args(["script", "n.rhai"])
        .assert()
        .success()
        .stderr(predicate::str::contains("left out of the statistics"));
    let r = p.results();
    assert_eq!(
        r["records"]["rtt"]["samples"],
        serde_json::json!([1.0, 3.0]),
        "{r}"
    );
    assert_eq!(r["records"]["rtt"]["nan"], 2, "{r}");
    let out = p
        .cmd()
        .args(["report", "artifacts/latest", "--fail-if", "rtt.mean > 2.5"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("rtt.mean = 2"), "{err}");
}

/// The sweep directory under `parent`.
fn sweep_dir(parent: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|d| d.join("sweep.json").exists())
        .expect("a sweep directory")
}

/// 27.5: a results.json that cannot be written fails the run (exit 1,
/// saying where and why), and a sweep.json that cannot be written stops
/// the sweep (exit 1) instead of going on with a stale record.
#[test]
fn failed_writes_fail_the_run_and_stop_the_sweep() {
    let p = Project::new();
    p.file(
        "r.rhai",
        r#"sh("mkdir " + artifacts_dir() + "/results.json");"#,
    );
    let out = p.cmd().args(["script", "r.rhai"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot write") && err.contains("results.json"),
        "{err}"
    );
    // the first run makes sweep.json unwritable: the second never starts
    p.file(
        "s.rhai",
        r#"let f = artifacts_dir() + "/../sweep.json";
        sh("rm -f " + f + " && mkdir " + f);
        record("x", 1);"#,
    );
    let out = p
        .cmd()
        .args(["sweep", "s.rhai", "--grid", "n=1,2", "--artifacts", "sw"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot write") && err.contains("the sweep stopped"),
        "{err}"
    );
    let dir = sweep_dir(&p.path().join("sw"));
    assert!(!dir.join("run-002").exists(), "the sweep went on: {err}");
}

/// 27.4: SIGHUP (a dropped ssh session) and SIGQUIT clean up like Ctrl-C:
/// background process groups are killed and results.json is written.
#[test]
fn hangup_cleans_up_like_ctrl_c() {
    for (sig, tag) in [(libc::SIGHUP, "sleep 3794"), (libc::SIGQUIT, "sleep 3795")] {
        let p = Project::new();
        p.file(
            "h.rhai",
            &format!(r#"sh_bg("{tag}", #{{quiet: true}}); sleep(60);"#),
        );
        let mut child = p
            .std_cmd()
            .args(["script", "h.rhai", "--no-breakpoints"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        until("the background process runs", || alive(tag));
        std::thread::sleep(Duration::from_millis(300));
        unsafe { libc::kill(child.id() as i32, sig) };
        assert_eq!(exits_within(&mut child, 15, "cleanup"), Some(130), "{tag}");
        until("the background process is gone", || !alive(tag));
        assert_eq!(p.results()["outcome"], "interrupted", "{tag}");
    }
}

/// 27.4: `--resume` refuses to start a run whose process (recorded in
/// sweep.json) is still alive, so a detached run is never started twice.
#[test]
fn resume_refuses_a_run_that_is_still_alive() {
    let p = Project::new();
    p.file("s.rhai", r#"record("x", 1);"#);
    p.cmd()
        .args(["sweep", "s.rhai", "--grid", "n=1", "--artifacts", "sw"])
        .assert()
        .success();
    let dir = sweep_dir(&p.path().join("sw"));
    let file = dir.join("sweep.json");
    let mut live = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    v["runs"][0]["status"] = serde_json::json!("running");
    v["runs"][0]["pid"] = serde_json::json!(live.id());
    std::fs::write(&file, serde_json::to_vec(&v).unwrap()).unwrap();
    let out = p
        .cmd()
        .args(["sweep", "--resume"])
        .arg(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("still running"), "{err}");
    live.kill().unwrap();
    live.wait().unwrap();
    // once it is gone, the run is started again
    p.cmd()
        .args(["sweep", "--resume"])
        .arg(&dir)
        .assert()
        .success();
}

/// 27.19: `-v` tracing goes through the same masking as everything else:
/// a secret in a retried request's path never reaches the terminal.
#[test]
fn verbose_tracing_masks_secrets() {
    let p = Project::new();
    let fc = fakecluster::FakeCluster::start(Default::default());
    fc.write_kubeconfig_to(&p.path().join("kubeconfig"))
        .unwrap();
    // discovery first, then wait for the test to make the next request fail
    p.file(
        "t.rhai",
        r#"try { get("configmap", "warm-up"); } catch {}
        sh("touch ready; while [ ! -f go ]; do sleep 0.05; done");
        try { get("configmap", param("TOKEN", "")); } catch {}"#,
    );
    let secret = "s3cr3t-in-a-path-4711";
    let child = p
        .std_cmd()
        .env("SCAFFOLD_LOG", "scaffold=debug")
        .args([
            "-v",
            "--kubeconfig",
            "kubeconfig",
            "script",
            "t.rhai",
            "--set-secret",
        ])
        .arg(format!("TOKEN={secret}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    until("the script waits", || p.path().join("ready").exists());
    fc.faults().fail_next(1);
    std::fs::write(p.path().join("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("retrying GET /api/v1/namespaces/default/configmaps/"),
        "the retry is traced: {err}"
    );
    assert!(!err.contains(secret), "{err}");
}

/// 27.18: a sweep hands secrets to its runs through a private file the run
/// reads and removes, not the environment (so `sh("env")` cannot leak
/// them); names scaffold sets are refused; base64 and percent-encoded forms
/// are masked too.
#[test]
fn secrets_stay_out_of_the_environment_and_are_masked_in_every_form() {
    let p = Project::new();
    let secret = "tok/en+4711=x";
    p.file(
        "s.rhai",
        r#"let t = param("TOKEN", "");
        if t != "tok/en+4711=x" { throw "the run did not get its secret"; }
        sh("env > " + artifacts_dir() + "/env.txt");
        sh("printf %s '" + t + "' | base64; printf '%s\n' 'tok%2Fen%2B4711%3Dx'");"#,
    );
    let out = p
        .cmd()
        .args([
            "sweep",
            "s.rhai",
            "--grid",
            "n=1",
            "--artifacts",
            "sw",
            "--set-secret",
        ])
        .arg(format!("TOKEN={secret}"))
        .output()
        .unwrap();
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{o}{e}");
    let dir = sweep_dir(&p.path().join("sw"));
    let env = std::fs::read_to_string(dir.join("run-001").join("env.txt")).unwrap();
    assert!(
        !env.contains("4711"),
        "the secret is in the run's environment:\n{env}"
    );
    let file = env
        .lines()
        .find_map(|l| l.strip_prefix("SCAFFOLD_SECRETS_FILE="))
        .expect("the handoff file is named");
    assert!(
        !std::path::Path::new(file).exists(),
        "the handoff file was not removed"
    );
    for form in ["dG9rL2VuKzQ3MTE9eA", "tok%2Fen%2B4711%3Dx", secret] {
        assert!(
            !o.contains(form) && !e.contains(form),
            "{form} shown:\n{o}{e}"
        );
    }
    for name in ["PATH", "KUBECONFIG"] {
        let out = p
            .cmd()
            .args(["script", "s.rhai", "--set-secret"])
            .arg(format!("{name}=abcdefgh"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains("another name"), "{name}: {err}");
    }
}

fn fake(p: &Project) -> fakecluster::FakeCluster {
    let fc = fakecluster::FakeCluster::start(fakecluster::Options {
        nodes: 1,
        ..Default::default()
    });
    fc.write_kubeconfig_to(&p.path().join("kubeconfig"))
        .unwrap();
    fc
}

fn output(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const LOAD_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: "p-{{i}}"}
spec: {containers: [{name: c, image: pause}]}
"#;

/// 27.2: a namespace that exists and is not this run's is never adopted
/// (nor deleted at the end); one being deleted is waited for; one another
/// load of this run made is used and left to that load.
#[test]
fn create_objects_never_adopts_a_namespace_it_did_not_make() {
    let p = Project::new();
    let fc = fake(&p);
    p.file("pod.yaml", LOAD_POD);
    fc.seed(serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "team-0", "labels": {"owner": "someone"}}}))
        .unwrap();
    p.file(
        "t.rhai",
        r#"create_objects("pod.yaml", #{count: 2, namespaces: 1, namespace_prefix: "team"});"#,
    );
    let out = p.cmd().args(["script", "t.rhai"]).output().unwrap();
    let (o, e) = output(&out);
    assert_eq!(out.status.code(), Some(1), "{o}{e}");
    assert!(
        e.contains("namespace team-0 already exists (not made by scaffold)")
            && e.contains("pick another namespace_prefix"),
        "{e}"
    );
    let ns = fc.get("v1", "Namespace", "", "team-0").expect("left alone");
    assert!(!ns["metadata"]["deletionTimestamp"].is_string(), "{ns}");
    assert!(fc
        .list("v1", "Pod")
        .iter()
        .all(|p| p["metadata"]["namespace"] != "team-0"));

    // a namespace still being deleted (a finalizer holds it): waited for
    fc.seed(serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "gone-0", "finalizers": ["test.scaffold/hold"]}}))
        .unwrap();
    fc.delete_gracefully("v1", "Namespace", "", "gone-0")
        .unwrap();
    p.file(
        "g.rhai",
        r#"let l = create_objects("pod.yaml", #{count: 2, namespaces: 1, namespace_prefix: "gone"});
        print(`created=${l.created} failed=${l.failed}`);"#,
    );
    let child = p
        .std_cmd()
        .args(["script", "g.rhai"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(fc.get("v1", "Namespace", "", "gone-0").is_some());
    fc.update("v1", "Namespace", "", "gone-0", |o| {
        o["metadata"]["finalizers"] = serde_json::json!([])
    })
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let (o, e) = output(&out);
    assert!(out.status.success(), "{o}{e}");
    assert!(o.contains("created=2 failed=0"), "{o}{e}");

    // two loads of one run on the same namespaces: the second uses them
    // and, deleted, leaves the first's objects and the namespace
    p.file(
        "two.rhai",
        r#"let a = create_objects("pod.yaml", #{count: 2, namespaces: 1, namespace_prefix: "mine"});
        let b = create_objects(`
apiVersion: v1
kind: Pod
metadata: {name: "q-{{i}}"}
spec: {containers: [{name: c, image: pause}]}
`, #{count: 2, namespaces: 1, namespace_prefix: "mine"});
        b.delete(#{wait: true});
        print("left=" + list("pods", #{namespace: "mine-0"}).len());"#,
    );
    let out = p.cmd().args(["script", "two.rhai"]).output().unwrap();
    let (o, e) = output(&out);
    assert!(out.status.success(), "{o}{e}");
    assert!(o.contains("left=2"), "{o}{e}");
}

/// 27.6: Ctrl-C while the creates are in flight (no answer yet, nothing
/// counted as created) still deletes what the load made, by its label.
#[test]
fn ctrl_c_before_any_create_answered_leaves_nothing() {
    let p = Project::new();
    let fc = fake(&p);
    p.file("pod.yaml", LOAD_POD);
    // discovery first; then, once the test holds every answer back, the load
    let (ready, go) = (p.path().join("ready"), p.path().join("go"));
    p.file(
        "t.rhai",
        &format!(
            r#"nodes();
            sh("touch {}; while [ ! -f {} ]; do sleep 0.05; done");
            create_objects("pod.yaml", #{{count: 4}});"#,
            ready.display(),
            go.display()
        ),
    );
    let mut child = p
        .std_cmd()
        .args(["script", "t.rhai"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(p.path().join("err.txt")).unwrap())
        .spawn()
        .unwrap();
    let load_pods = || {
        fc.list("v1", "Pod")
            .into_iter()
            .filter(|p| {
                p["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("p-")
            })
            .filter(|p| !p["metadata"]["deletionTimestamp"].is_string())
            .map(|p| p["metadata"]["name"].clone())
            .collect::<Vec<_>>()
    };
    until("discovery is done", || ready.exists());
    fc.faults().set_response_delay(Duration::from_secs(4));
    std::fs::write(&go, "").unwrap();
    until("the creates are carried out", || load_pods().len() >= 4);
    fc.faults().set_response_delay(Duration::ZERO);
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(exits_within(&mut child, 30, "teardown"), Some(130));
    let t = Instant::now();
    while !load_pods().is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "left: {:?}\n{}",
            load_pods(),
            std::fs::read_to_string(p.path().join("err.txt")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// 27.7: a create whose answer was lost and whose retry meets 409 counts
/// as created (the object carries this load's label); an object of that
/// name that is not the load's counts as failed and is left alone; 429s
/// are retried only up to the load's timeout, their time reported.
#[test]
fn create_objects_counts_what_it_made_and_takes_nothing_else() {
    let p = Project::new();
    let fc = fake(&p);
    p.file("pod.yaml", LOAD_POD);
    fc.seed(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p-5", "namespace": "default", "labels": {"mine": "yes"}},
        "spec": {"containers": [{"name": "c", "image": "pause"}]}}))
        .unwrap();
    p.file(
        "t.rhai",
        r#"let l = create_objects("pod.yaml", #{count: 6, concurrency: 1});
        print(`created=${l.created} failed=${l.failed}`);
        print(l.errors);
        let c = l.churn(#{percent: 100, cycles: 1, interval: 0, timeout: 60});"#,
    );
    // the first three creates happen but their answers are lost (504)
    fc.faults().lose_next_creates(3);
    let out = p.cmd().args(["script", "t.rhai"]).output().unwrap();
    let (o, e) = output(&out);
    assert!(out.status.success(), "{o}{e}");
    assert!(o.contains("created=5 failed=1"), "{o}{e}");
    assert!(
        o.contains("already exists (409") && o.contains("not made by this load"),
        "{o}"
    );
    // churn and the end of the run left the foreign p-5 alone
    let p0 = fc
        .get("v1", "Pod", "default", "p-5")
        .expect("p-5 left alone");
    assert_eq!(p0["metadata"]["labels"]["mine"], "yes");
    assert!(!p0["metadata"]["deletionTimestamp"].is_string());

    // writes shed with 429: each object gives up after the load's timeout
    fc.faults().throttle_creates(true);
    p.file(
        "th.rhai",
        r#"let l = create_objects("pod.yaml", #{count: 2, timeout: 2});
        print(`created=${l.created} failed=${l.failed} throttled=${l.throttled} secs=${l.throttled_seconds}`);
        print(l.errors);"#,
    );
    let mut child = p
        .std_cmd()
        .args(["script", "th.rhai"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    exits_within(&mut child, 30, "throttled creates");
    let out = child.wait_with_output().unwrap();
    let (o, e) = output(&out);
    assert!(o.contains("created=0 failed=2 throttled="), "{o}{e}");
    let secs: f64 = o
        .split("secs=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("throttled_seconds");
    assert!(secs >= 4.0, "{o}");
    assert!(o.contains("still throttled (429) after 2 s"), "{o}");
    assert!(
        e.contains("throttled") && e.contains("s spent waiting"),
        "{e}"
    );
}

/// 27.3: a second Ctrl-C (during a slow cleanup) still writes results.json,
/// marked interrupted, and deletes every kind the run's loads created: the
/// Deployments (which would recreate their pods), Services and namespaces.
#[test]
fn second_ctrl_c_writes_results_and_deletes_every_kind() {
    let p = Project::new();
    let fc = fake(&p);
    let ready = p.path().join("on-exit-runs");
    p.file(
        "t.rhai",
        &format!(
            r#"create_objects(`
apiVersion: apps/v1
kind: Deployment
metadata: {{name: "d-{{{{i}}}}"}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: "d-{{{{i}}}}"}}}}
  template:
    metadata: {{labels: {{app: "d-{{{{i}}}}"}}}}
    spec: {{containers: [{{name: c, image: pause}}]}}
`, #{{count: 2, namespaces: 1, namespace_prefix: "emerg"}});
            create_objects(`
apiVersion: v1
kind: Service
metadata: {{name: "s-{{{{i}}}}"}}
spec: {{ports: [{{port: 80}}], selector: {{app: x}}}}
`, #{{count: 2}});
            record("made", 1);
            on_exit(|| {{ sh("touch {}"); let t = timestamp(); while t.elapsed < 60.0 {{}} }});
            sh("sleep 3793");"#,
            ready.display()
        ),
    );
    let mut child = p
        .std_cmd()
        .args(["script", "t.rhai", "--no-breakpoints"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(p.path().join("err.txt")).unwrap())
        .spawn()
        .unwrap();
    let err = || std::fs::read_to_string(p.path().join("err.txt")).unwrap_or_default();
    until("the script waits", || alive("sleep 3793"));
    assert_eq!(fc.list("apps/v1", "Deployment").len(), 2);
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    until("the on_exit handler runs", || ready.exists());
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(
        exits_within(&mut child, 15, "the emergency path"),
        Some(130)
    );
    let r = p.results();
    assert_eq!(r["outcome"], "interrupted", "{r}\n{}", err());
    assert!(
        r["error"]
            .as_str()
            .unwrap_or("")
            .contains("interrupted twice"),
        "{r}\n{}",
        err()
    );
    assert!(
        r["series"]["made"].is_object() || r.to_string().contains("made"),
        "{r}"
    );
    let services: Vec<Value> = fc
        .list("v1", "Service")
        .into_iter()
        .filter(|s| {
            s["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .starts_with("s-")
        })
        .collect();
    assert!(services.is_empty(), "{services:?}");
    until("the namespace (and its Deployments) go", || {
        fc.get("v1", "Namespace", "", "emerg-0")
            .is_none_or(|n| n["metadata"]["deletionTimestamp"].is_string())
    });
}

/// 27.8: against the fake, a pod that never started fails the startup SLO,
/// and pods the watch first saw in a re-list (after 410 Gone) are counted
/// as observed late instead of as instantly started.
#[test]
fn measure_pods_counts_late_and_never_started_pods() {
    let p = Project::new();
    let fc = fake(&p);
    fc.set_phase_delays(
        Duration::from_millis(100),
        Duration::from_millis(100),
        Duration::from_millis(100),
    );
    fc.fail_next_pulls("missing", 100_000);
    let (a, b) = (p.path().join("a"), p.path().join("b"));
    let (c, d) = (p.path().join("c"), p.path().join("d"));
    p.file(
        "t.rhai",
        &format!(
            r#"let pod = |name, app, image| |i| #{{apiVersion: "v1", kind: "Pod",
                metadata: #{{name: `${{name}}-${{i}}`, labels: #{{app: app}}}},
                spec: #{{containers: [#{{name: "c", image: image}}]}}}};
            let m = measure_pods(#{{namespace: "default", selector: #{{app: "slo"}}}});
            create_objects(pod.call("slo", "slo", "pause"), #{{count: 9}}).wait_ready(#{{timeout: 30}});
            create_objects(pod.call("stuck", "slo", "missing"), #{{count: 1, namespace: "default"}});
            sleep(1.0);
            let r = m.stop();
            print(`slo: pods=${{r.pods}} met=${{r.slo.met}} judged=${{r.slo.pods}} not_started=${{r.slo.not_started}}`);

            let m = measure_pods(#{{namespace: "default", selector: #{{app: "late"}}}});
            sh("touch {a}; while [ ! -f {b} ]; do sleep 0.05; done");
            let l = create_objects(pod.call("late", "late", "pause"), #{{count: 5}});
            sh("touch {c}; while [ ! -f {d} ]; do sleep 0.05; done");
            l.wait_ready(#{{timeout: 30}});
            let r = m.stop();
            print(`late: pods=${{r.pods}} late=${{r.excluded.late}} api=${{r.api.started.n}} p50=${{r.phases.started.p50}}`);"#,
            a = a.display(),
            b = b.display(),
            c = c.display(),
            d = d.display()
        ),
    );
    let child = p
        .std_cmd()
        .args(["script", "t.rhai"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    until("the second measurement watches", || a.exists());
    // the watch goes silent while the pods are created and start...
    fc.faults().stall_watches(true);
    std::fs::write(&b, "").unwrap();
    until("the load is created", || c.exists());
    until("its pods are ready", || {
        fc.list("v1", "Pod")
            .iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "late")
            .filter(|p| p["status"]["phase"] == "Running")
            .count()
            == 5
    });
    // ...then breaks, and resuming it meets 410 Gone: a re-list
    let watches = fc.requests("watch", "pods");
    fc.faults().watch_error_next(410, 1);
    fc.faults().stall_watches(false);
    fc.faults().drop_watches();
    until("the watch resumes", || {
        fc.requests("watch", "pods") > watches + 1
    });
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&d, "").unwrap();
    let out = child.wait_with_output().unwrap();
    let (o, e) = output(&out);
    assert!(out.status.success(), "{o}{e}");
    assert!(
        o.contains("slo: pods=10 met=false judged=10 not_started=1"),
        "{o}{e}"
    );
    // no watch figure at all rather than five instant starts
    assert!(o.contains("late: pods=0 late=5 api=5 p50=\n"), "{o}{e}");
}

/// 27.9: an API server that restarts between the two reads of /metrics
/// (or another replica answering) makes measure_api invalid, said and
/// not recorded, instead of a clamped "met".
#[test]
fn measure_api_across_a_restart_is_invalid() {
    let p = Project::new();
    let fc = fake(&p);
    p.file("pod.yaml", LOAD_POD);
    let (a, b) = (p.path().join("a"), p.path().join("b"));
    p.file(
        "t.rhai",
        &format!(
            r#"let m = measure_api();
            create_objects("pod.yaml", #{{count: 5}});
            sh("touch {}; while [ ! -f {} ]; do sleep 0.05; done");
            let r = m.stop();
            print(`valid=${{r.valid}} met=${{r.slo.met}} calls=${{r.calls.len()}}`);
            print(r.invalid);"#,
            a.display(),
            b.display()
        ),
    );
    let child = p
        .std_cmd()
        .args(["script", "t.rhai"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    until("the load is made", || a.exists());
    fc.restart_metrics();
    std::fs::write(&b, "").unwrap();
    let out = child.wait_with_output().unwrap();
    let (o, e) = output(&out);
    assert!(out.status.success(), "{o}{e}");
    assert!(o.contains("valid=false met=false calls=0"), "{o}{e}");
    assert!(o.contains("different API server process"), "{o}");
    assert!(e.contains("measure_api: the measurement is invalid"), "{e}");
    assert!(
        p.results()["records"]["api_mutating_p99_seconds"].is_null(),
        "an invalid figure was recorded"
    );
}

/// CPU ticks (user + system) a process has used so far.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(") ").map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // fields 14 and 15 of stat: utime and stime (after pid and comm)
    f.get(11).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
}

/// 27.14: a port-forward out of file descriptors (more connections than
/// the process may hold) backs off instead of spinning, and says so once.
#[test]
fn port_forward_out_of_file_descriptors_backs_off() {
    use std::os::unix::process::CommandExt;
    let p = Project::new();
    let fc = fake(&p);
    fc.seed(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "pause", "ports": [{"containerPort": 8080}]}]}}))
        .unwrap();
    let go = p.path().join("go");
    p.file(
        "t.rhai",
        &format!(
            r#"wait_for("pod", "web", #{{timeout: 30}});
            let pf = port_forward("pod/web", 8080);
            print(`port=${{pf.local_port}}`);
            sh("while [ ! -f {} ]; do sleep 0.05; done");"#,
            go.display()
        ),
    );
    let mut cmd = p.std_cmd();
    cmd.args(["script", "t.rhai"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(p.path().join("err.txt")).unwrap());
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 96,
                rlim_max: 96,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            Ok(())
        });
    }
    let mut child = Reaped(cmd.spawn().unwrap());
    let child = &mut child.0;
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    let err = || std::fs::read_to_string(p.path().join("err.txt")).unwrap_or_default();
    let port: u16 = line
        .trim()
        .strip_prefix("port=")
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("{line}{}", err()));
    // more connections than the process has descriptors for, held open
    let conns: Vec<_> = (0..150)
        .filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    until("the forward runs out of descriptors", || {
        err().contains("cannot accept connections")
    });
    let before = cpu_ticks(child.id());
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(child.id()) - before;
    drop(conns);
    std::fs::write(&go, "").unwrap();
    exits_within(child, 30, "the script");
    let e = err();
    // 2 s of one core spinning is 200 ticks (100 per second)
    assert!(
        used < 50,
        "{used} CPU ticks in 2 s: the accept loop spins\n{e}"
    );
    assert_eq!(e.matches("cannot accept connections").count(), 1, "{e}");
    assert!(e.contains("too many open files"), "{e}");
}

/// 27.15: pod exec and logs keep at most the last 16 MiB of an output in
/// memory and all of it in the run's artifacts; a big log is streamed.
#[test]
fn exec_and_logs_outputs_are_bounded_and_kept_whole() {
    let p = Project::new();
    let fc = fake(&p);
    fc.seed_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: big, namespace: default}\nspec: {containers: [{name: main, image: busybox, command: [sh, -c, 'head -c 20000000 /dev/zero | tr \"\\\\0\" x; echo; echo end-of-log; sleep 300']}]}\n",
    )
    .unwrap();
    p.file(
        "t.rhai",
        r#"wait_for("pod", "big", #{condition: "Ready", timeout: 20});
        let r = exec("big", "head -c 20000000 /dev/zero | tr '\\0' y; echo; echo end-of-exec");
        print(`exec=${r.stdout.len()} ${r.stdout.contains("end-of-exec")}`);
        wait_until(30, 0.2, || logs("big", #{tail: 1}).contains("end-of-log"));
        let l = logs("big");
        print(`logs=${l.len()} ${l.contains("end-of-log")}`);"#,
    );
    let out = p.cmd().args(["script", "t.rhai"]).output().unwrap();
    let (o, e) = output(&out);
    assert!(out.status.success(), "{o}{e}");
    let limit = 16 << 20;
    let kept = |what: &str| -> usize {
        let l = o
            .lines()
            .find(|l| l.starts_with(what))
            .unwrap_or_else(|| panic!("{o}"));
        assert!(l.ends_with(" true"), "the tail is kept: {l}");
        l[what.len() + 1..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(kept("exec") <= limit, "{o}");
    assert!(kept("logs") <= limit, "{o}");
    assert!(
        e.contains("exec in pod 'default/big': stdout: output was"),
        "{e}"
    );
    assert!(e.contains("logs of pod 'default/big': output was"), "{e}");
    let dir = p.path().join("artifacts/latest/output");
    let size = |f: &str| std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0);
    assert_eq!(size("exec-big-stdout.log"), 20_000_000 + 1 + 12, "{e}");
    assert_eq!(size("logs-big.log"), 20_000_000 + 1 + 11, "{e}");
}

/// This machine's name as scaffold labels it.
fn this_host() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    raw.trim().to_string()
}

/// 27.17: `cleanup --older-than` goes by the run's start (its label), not
/// each object's age; a run alive on this machine is left alone whatever
/// its age; a delete that fails is reported and the rest go on.
#[test]
fn cleanup_goes_by_run_start_spares_live_runs_and_goes_on() {
    let p = Project::new();
    let fc = fake(&p);
    // a run that is alive here (a script waiting), and says it started 2 h ago
    let go = p.path().join("go");
    p.file(
        "live.rhai",
        &format!(
            r#"sh("while [ ! -f {} ]; do sleep 0.05; done");"#,
            go.display()
        ),
    );
    let mut live = Reaped(
        p.std_cmd()
            .args(["script", "live.rhai"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let live = &mut live.0;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let labels = |run: &str, started: u64, pid: u32| {
        serde_json::json!({"app.kubernetes.io/managed-by": "scaffold", "scaffold.run/id": run,
            "scaffold.run/started": started.to_string(), "scaffold.run/host": this_host(),
            "scaffold.run/pid": pid.to_string()})
    };
    let cm = |name: &str, l: Value| {
        fc.seed(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "labels": l}}))
            .unwrap();
    };
    cm("live-a", labels("rlive", now - 7200, live.id()));
    // a dead run that started 2 h ago (its objects made just now)
    cm("old-a", labels("rold", now - 7200, 999_999));
    cm("old-b", labels("rold", now - 7200, 999_999));
    // a dead run that started a minute ago
    cm("new-a", labels("rnew", now - 60, 999_999));
    let out = p
        .cmd()
        .args(["cleanup", "--older-than", "1h"])
        .output()
        .unwrap();
    let (o, e) = output(&out);
    assert!(out.status.success(), "{o}{e}");
    assert!(
        e.contains(&format!(
            "run rlive is still running on this machine (pid {})",
            live.id()
        )),
        "{e}"
    );
    assert!(
        o.contains("deleted configmaps default/old-a")
            && o.contains("deleted configmaps default/old-b"),
        "{o}"
    );
    let left: Vec<String> = fc
        .list("v1", "ConfigMap")
        .iter()
        .filter(|c| c["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "scaffold")
        .map(|c| c["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["live-a", "new-a"], "{o}{e}");
    // even without --older-than the live run stays
    fc.faults().deny_verbs(&["delete"]);
    cm("new-b", labels("rnew", now - 60, 999_999));
    let out = p.cmd().args(["cleanup"]).output().unwrap();
    let (o, e) = output(&out);
    assert_eq!(out.status.code(), Some(1), "{o}{e}");
    // every delete was tried and reported, not only the first
    assert_eq!(
        e.matches("error: cannot delete configmaps default/new-")
            .count(),
        2,
        "{e}"
    );
    assert!(!e.contains("live-a"), "{e}");
    assert!(e.contains("0 object(s) deleted, 2 could not be"), "{e}");
    fc.faults().deny_verbs(&[]);
    std::fs::write(&go, "").unwrap();
    exits_within(live, 30, "the live run");
}
