//! Control-plane load and measurements against the fake server:
//! create_objects (rate, templates, closures, labels, 429s, failures,
//! cleanup, keep, Ctrl-C), churn, measure_pods with known per-phase delays,
//! measure_api from the fake's own /metrics.

use crate::util::Project;
use fakecluster::{FakeCluster, Options};
use serde_json::Value;
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

const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: "p-{{i}}", labels: {app: load}}
spec: {containers: [{name: c, image: "{{image}}"}]}
"#;

fn run(p: &Project, script: &str) -> (bool, String, String) {
    p.file("s.rhai", script);
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn ours(fc: &FakeCluster) -> Vec<Value> {
    let mut v = fc.list("v1", "Pod");
    v.extend(fc.list("v1", "Namespace"));
    v.into_iter()
        .filter(|o| o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "scaffold")
        .collect()
}

#[test]
fn create_objects_honours_the_rate_labels_and_cleans_up() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file("pod.yaml", POD);
    let (ok, s, e) = run(
        &p,
        r#"
        let l = create_objects("pod.yaml", #{count: 41, qps: 20, burst: 1, concurrency: 4,
            namespaces: 2, namespace_prefix: "ld", set_labels: #{team: "perf"},
            vars: #{image: "registry.k8s.io/pause:3.10"}});
        print(`created=${l.created} failed=${l.failed} throttled=${l.throttled}`);
        print(`duration=${l.duration} rate=${l.rate}`);
        print("namespaces=" + l.namespaces);
        let c = create_objects(|i| #{apiVersion: "v1", kind: "ConfigMap",
            metadata: #{name: "cm-" + i}, data: #{n: `${i * i}`}}, #{count: 3, qps: 100});
        print("cm=" + get("configmap", "cm-2").data.n);
        let p = get("pod", "p-3", #{namespace: "ld-1"});
        print("labels=" + p.metadata.labels.team + "," + p.metadata.labels["scaffold.load/id"] + "," + p.metadata.labels.app);
        print("image=" + p.spec.containers[0].image);
        print("ready=" + l.wait_ready(#{timeout: 30}));
        "#,
    );
    assert!(ok, "{e}{s}");
    assert!(s.contains("created=41 failed=0 throttled=0"), "{s}");
    // 41 objects, a burst of 1 at 20 per second: 40 waits of 50 ms
    let dur: f64 = s
        .lines()
        .find_map(|l| l.strip_prefix("duration="))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1.9..3.5).contains(&dur),
        "the rate was not honoured: {dur} s\n{s}"
    );
    assert!(s.contains("namespaces=[\"ld-0\", \"ld-1\"]"), "{s}");
    assert!(s.contains("cm=4"), "closures make objects: {s}");
    assert!(s.contains("labels=perf,"), "{s}");
    assert!(s.contains("image=registry.k8s.io/pause:3.10"), "{s}");
    assert!(s.contains("ready=41"), "{s}");
    // deleted at the end of the run: objects and the namespaces it made
    let t = Instant::now();
    while !ours(&fc).is_empty()
        || fc
            .list("v1", "ConfigMap")
            .iter()
            .any(|c| c["metadata"]["name"] == "cm-1")
    {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "left: {:?}",
            ours(&fc)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn throttling_is_retried_and_counted_failures_are_counted() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file("pod.yaml", POD);
    p.file(
        "t.rhai",
        r#"
        let l = create_objects("pod.yaml", #{count: 10, qps: 1000, vars: #{image: "pause"}});
        print(`created=${l.created} failed=${l.failed} throttled=${l.throttled}`);
        let bad = create_objects(`
apiVersion: v1
kind: Pod
metadata: {name: "q-{{i}}", namespace: nowhere}
spec: {containers: [{name: c, image: pause}]}
`, #{count: 3, qps: 1000});
        print(`bad created=${bad.created} failed=${bad.failed} errors=${bad.errors.len()}`);
        try { create_objects(POD_TEXT, #{count: 1}); } catch (e) { print("unknown var: " + e); }
        "#
        .replace("POD_TEXT", &format!("`{POD}`"))
        .as_str(),
    );
    fc.faults().throttle_next(3);
    let out = p.cmd().args(["script", "t.rhai"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{e}{s}");
    // the first requests (discovery, then creates) meet the 429s; creates count theirs
    assert!(s.contains("created=10 failed=0"), "{s}");
    assert!(s.contains("bad created=0 failed=3 errors=3"), "{s}");
    assert!(e.contains("3 of 3 objects failed"), "{e}");
    assert!(
        s.contains("unknown var: ") && s.contains("{{image}}"),
        "{s}"
    );
}

#[test]
fn kept_loads_stay_and_cleanup_finds_them_and_ctrl_c_leaks_nothing() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file("pod.yaml", POD);
    let (ok, s, e) = run(
        &p,
        r#"create_objects("pod.yaml", #{count: 5, keep: true, vars: #{image: "pause"}});"#,
    );
    assert!(ok, "{e}{s}");
    assert_eq!(ours(&fc).len(), 5, "kept");
    let out = p.cmd().args(["cleanup", "--dry-run"]).output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("p-4"),
        "scaffold cleanup finds the load: {all}"
    );
    let out = p.cmd().args(["cleanup"]).output().unwrap();
    assert!(out.status.success());
    let t = Instant::now();
    while !ours(&fc).is_empty() {
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(50));
    }
    // Ctrl-C in the middle of a slow load: what was created is deleted
    p.file(
        "slow.rhai",
        r#"create_objects("pod.yaml", #{count: 200, qps: 10, burst: 1, vars: #{image: "pause"}});"#,
    );
    let mut child = p
        .std_cmd()
        .args(["script", "slow.rhai"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while ours(&fc).len() < 5 {
        assert!(t.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let t = Instant::now();
    while !ours(&fc).is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "left after Ctrl-C: {}",
            ours(&fc).len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `.wait_ready` shows progress, and its timeout says what is not ready
/// and why, down to a workload's pods (an image that cannot be pulled).
#[test]
fn wait_ready_shows_progress_and_says_why_it_timed_out() {
    let p = Project::new();
    let fc = FakeCluster::start(Options {
        nodes: 1,
        unpullable: vec!["no-such-image".into()],
        ..Default::default()
    });
    fc.write_kubeconfig_to(&p.path().join("kubeconfig"))
        .unwrap();
    p.file("pod.yaml", POD);
    let (ok, s, e) = run(
        &p,
        r#"create_objects("pod.yaml", #{count: 3, vars: #{image: "pause"}}).wait_ready(#{timeout: 30});"#,
    );
    assert!(ok, "{e}{s}");
    assert!(e.contains(": 3 of 3 ready"), "{e}");
    let (ok, s, e) = run(
        &p,
        r#"
        let d = create_objects(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: "web-{{i}}"}
spec:
  replicas: 1
  selector: {matchLabels: {app: "web-{{i}}"}}
  template:
    metadata: {labels: {app: "web-{{i}}"}}
    spec: {containers: [{name: c, image: no-such-image}]}
`, #{count: 2});
        d.wait_ready(#{timeout: 2});
        "#,
    );
    assert!(!ok, "{s}");
    assert!(e.contains("2 of 2 deployments not ready after 2 s"), "{e}");
    assert!(e.contains("deployment default/web-0 ("), "{e}");
    assert!(
        e.contains("their pods: pod web-")
            && e.contains("no-such-image")
            && e.contains("not found"),
        "{e}"
    );
}

/// A script that fails after creating a load: the load is deleted by the
/// end of the run all the same.
#[test]
fn a_failing_script_leaves_no_load_behind() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file("pod.yaml", POD);
    let (ok, s, e) = run(
        &p,
        r#"create_objects("pod.yaml", #{count: 8, namespaces: 2, vars: #{image: "pause"}});
           throw "the benchmark broke";"#,
    );
    assert!(!ok, "{s}");
    assert!(e.contains("the benchmark broke"), "{e}");
    let t = Instant::now();
    while !ours(&fc).is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "left: {:?}",
            ours(&fc).len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn churn_replaces_a_share_of_the_objects() {
    let p = Project::new();
    let _fc = cluster(&p);
    p.file("pod.yaml", POD);
    let (ok, s, e) = run(
        &p,
        r#"
        let l = create_objects("pod.yaml", #{count: 20, qps: 1000, vars: #{image: "pause"}});
        let before = get("pod", "p-0").metadata.uid;
        let c = churn(l, #{percent: 25, interval: 0.1, cycles: 2});
        print(`deleted=${c.deleted} created=${c.created} failed=${c.failed} now=${l.created}`);
        print("replaced=" + (get("pod", "p-0").metadata.uid != before));
        "#,
    );
    assert!(ok, "{e}{s}");
    assert!(s.contains("deleted=10 created=10 failed=0 now=20"), "{s}");
    assert!(
        s.contains("replaced=true"),
        "the first cycle churns p-0..p-4: {s}"
    );
}

#[test]
fn measure_pods_sees_each_phase_at_its_known_time() {
    let p = Project::new();
    let fc = cluster(&p);
    fc.faults().set_schedule_delay(Duration::from_millis(200));
    fc.set_phase_delays(
        Duration::from_millis(300),
        Duration::from_millis(400),
        Duration::from_millis(500),
    );
    p.file("pod.yaml", POD);
    let (ok, s, e) = run(
        &p,
        r#"
        let m = measure_pods(#{namespace: "default", selector: #{app: "load"}});
        let l = create_objects("pod.yaml", #{count: 20, qps: 1000, vars: #{image: "pause"}});
        l.wait_ready(#{timeout: 30});
        let r = m.stop();
        for ph in ["scheduled", "initialized", "started", "ready"] {
            print(`${ph} ${r.phases[ph].n} ${r.phases[ph].p50} ${r.phases[ph].max}`);
        }
        print(`pods=${r.pods} slo=${r.slo.met} p99=${r.slo.p99} per_pod=${r.per_pod.len()}`);
        let pp = r.per_pod[0];
        print(`types ${type_of(r.pods)} ${type_of(r.phases.ready.n)} ${type_of(r.excluded.not_ready)} ${type_of(pp.started)} ${type_of(pp.ready_api)} ${type_of(pp.name)} ${type_of(r.slo.threshold)}`);
        print(`lag n=${r.watch_lag.samples} p99=${r.watch_lag.p99} u=${r.phases_precision.uncertainty} src=${r.phases_precision.source}`);
        print(`api u=${r.api_precision.uncertainty} imprecise=${r.api_precision.imprecise}`);
        "#,
    );
    assert!(ok, "{e}{s}");
    // scheduled at 0.2 s, initialized 0.3 s later, started 0.4 s later, ready 0.5 s later
    let want = [
        ("scheduled", 0.2),
        ("initialized", 0.5),
        ("started", 0.9),
        ("ready", 1.4),
    ];
    for (ph, at) in want {
        let l = s.lines().find(|l| l.starts_with(ph)).unwrap();
        let w: Vec<&str> = l.split(' ').collect();
        assert_eq!(w[1], "20", "{l}");
        let p50: f64 = w[2].parse().unwrap();
        assert!(
            p50 >= at - 0.02 && p50 < at + 0.35,
            "{ph}: p50 {p50} s, expected about {at} s\n{s}"
        );
    }
    assert!(s.contains("pods=20 slo=true"), "{s}");
    assert!(s.contains("types i64 i64 i64 f64 f64 string f64"), "{s}");
    let r = p.results();
    let started = r["records"]["pod_latency_started_seconds"]["samples"]
        .as_array()
        .unwrap();
    assert_eq!(started.len(), 20);
    assert_eq!(r["records"]["pod_latency_ready_seconds"]["unit"], "s");
    // 29.2: the watch's lag, timed with a canary ConfigMap, is the watch
    // figures' uncertainty; the API's whole seconds are ±0.5 s, which is
    // over 10% of sub-second latencies: flagged; the canary is gone
    let lag: f64 = s
        .lines()
        .find(|l| l.starts_with("lag "))
        .unwrap_or("")
        .split_whitespace()
        .find_map(|w| w.strip_prefix("p99="))
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    assert!(s.contains("lag n=10 "), "{s}");
    assert!(lag > 0.0 && lag < 0.5, "{s}");
    assert!(s.contains("src=watch arrival (client clock)"), "{s}");
    assert!(
        s.contains("api u=0.5 imprecise=[\"initialized.p50\""),
        "{s}"
    );
    let tags = &r["records"]["pod_latency_started_seconds"]["tags"];
    assert_eq!(tags["source"], "watch");
    assert!(tags["uncertainty_seconds"].as_f64().unwrap() > 0.0);
    let api = &r["records"]["pod_latency_api_started_seconds"];
    assert_eq!(api["tags"]["uncertainty_seconds"], 0.5);
    assert_eq!(api["tags"]["source"], "api");
    assert!(
        !fc.list("v1", "ConfigMap")
            .iter()
            .any(|c| c["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .starts_with("scaffold-canary-")),
        "the canary is deleted"
    );
}

#[test]
fn measure_api_reads_the_histograms_and_says_when_it_is_forbidden() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file("pod.yaml", POD);
    let (ok, s, e) = run(
        &p,
        r#"
        let a = measure_api();
        create_objects("pod.yaml", #{count: 25, qps: 1000, vars: #{image: "pause"}});
        for i in 0..2 { try { get("configmap", "not-there"); } catch {} }
        let r = a.stop();
        print(`errors=${r.errors}`);
        for e in r.error_calls { print(`error ${e.verb} ${e.resource} ${e.code} x${e.count}`); }
        for c in r.calls { if c.verb == "POST" && c.resource == "pods" { print(`posts=${c.count} scope=${c.scope} met=${c.met} p99=${c.p99}`); print(`within ${c.p99_within[0] <= c.p99} ${c.p99 <= c.p99_within[1]}`); } }
        print("source " + r.source);
        print(`slo=${r.slo.met}`);
        print(`types ${type_of(r.errors["404"])} ${type_of(r.calls[0].count)} ${type_of(r.calls[0].p99)} ${type_of(r.slo.violations)}`);
        "#,
    );
    assert!(ok, "{e}{s}");
    assert!(s.contains("posts=25 scope=resource met=true"), "{s}");
    assert!(s.contains("slo=true"), "{s}");
    assert!(s.contains(r#"errors=#{"404": 2}"#), "{s}");
    assert!(s.contains("error GET configmaps 404 x2"), "{s}");
    assert!(s.contains("types i64 i64 f64 array"), "{s}");
    assert!(p.results()["records"]["api_mutating_p99_seconds"]["value"].is_number());
    // 29.2: from the histogram, each percentile inside the bucket it names
    assert!(s.contains("within true true"), "{s}");
    assert!(
        s.contains("source the API server's apiserver_request_duration_seconds histogram"),
        "{s}"
    );
    let tags = &p.results()["records"]["api_mutating_p99_seconds"]["tags"];
    assert_eq!(tags["source"], "apiserver histogram");
    assert!(
        tags["uncertainty_seconds"].as_f64().unwrap() > 0.0,
        "{tags}"
    );
    fc.faults().deny_metrics(true);
    let (ok, s, e) = run(&p, "measure_api();");
    assert!(!ok, "{s}");
    assert!(
        e.contains("forbidden") && e.contains("nonResourceURL /metrics"),
        "{e}"
    );
}

/// The pod-density scenario on the fake: every pod measured, the SLO table,
/// the records `scaffold report --fail-if` reads, nothing left.
#[test]
fn pod_density_scenario_measures_and_cleans_up() {
    let p = Project::new();
    let fc = cluster(&p);
    fc.set_phase_delays(
        Duration::from_millis(50),
        Duration::from_millis(50),
        Duration::from_millis(50),
    );
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/pod-density/main.rhai");
    let out = p
        .cmd()
        .args(["script"])
        .arg(&script)
        .args([
            "--set",
            "pods_per_node=12",
            "--set",
            "qps=200",
            "--set",
            "namespaces=2",
            "--artifacts",
            "art",
        ])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{s}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("SLO pod startup") && s.contains(": met"), "{s}");
    // 29.1: the load's offered and achieved rate in the table
    assert!(
        s.contains("load: offered ") && s.contains("/s, achieved "),
        "{s}"
    );
    assert!(!s.contains("UNDERDELIVERED"), "{s}");
    assert!(
        s.lines()
            .any(|l| l.starts_with("started") && l.contains(" 12 ")),
        "one schedulable node: {s}"
    );
    let r = p.results_in(&p.path().join("art"));
    assert_eq!(r["records"]["pods"]["value"], 12);
    // 29.3: the scenario records its fingerprint
    let f = &r["environment"]["fingerprint"];
    assert!(
        f["cluster.nodes"].is_string() && f["node.kind-worker.kernel"].is_string(),
        "{f}"
    );
    assert_eq!(
        r["records"]["pod_latency_ready_seconds"]["samples"]
            .as_array()
            .unwrap()
            .len(),
        12
    );
    let out = p
        .cmd()
        .args([
            "report",
            "art/latest",
            "--fail-if",
            "pod_latency_started_seconds.p99 > 5",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ours(&fc).is_empty(), "left: {:?}", ours(&fc));
    assert!(!fc
        .list("v1", "Namespace")
        .iter()
        .any(|n| n["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("pod-density")));
}

/// 29.1: a load the server keeps up with delivers its plan: one window,
/// achieved as offered, nothing late or unsent, nothing marked.
#[test]
fn an_unthrottled_load_delivers_its_plan() {
    let p = Project::new();
    let _fc = cluster(&p);
    let (ok, s, e) = run(
        &p,
        r#"
        let l = create_objects(|i| #{apiVersion: "v1", kind: "ConfigMap",
            metadata: #{name: `c-${i}`, namespace: "default"}}, #{count: 60, qps: 30, burst: 1});
        let d = l.delivery;
        print(`under=${d.underdelivered} windows=${d.windows.len()} not_sent=${d.not_sent}`);
        print(`offered=${d.offered_rate} achieved=${d.achieved_rate} late=${d.lateness.max}`);
        print(`latency=${d.latency.p50} intended=${d.latency_intended.p50}`);
        "#,
    );
    assert!(ok, "{e}");
    assert!(s.contains("under=false windows=1 not_sent=0"), "{s}");
    let num = |k: &str| -> f64 {
        s.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    assert!((num("offered") - 30.0).abs() < 0.5, "{s}");
    assert!(num("achieved") > 0.95 * 30.0, "{s}");
    assert!(num("late") < 0.5, "{s}");
    assert!(num("intended") >= num("latency") - 1e-6, "{s}");
    assert!(!e.contains("underdelivered"), "{e}");
    let r = p.results();
    assert_eq!(r["records"]["load_underdelivered"]["value"], 0);
    assert_eq!(r["records"]["load_offered_per_second"]["unit"], "1/s");
    let overall = r["records"]["load_achieved_overall_per_second"]["value"]
        .as_f64()
        .unwrap();
    assert!(overall > 0.95 * 30.0, "{overall}");
    assert!(r["records"]["load_achieved_per_second"]["times"].is_array());
}

/// 29.1: the server slows down from 10.5 s into a 15 s plan (every answer
/// 800 ms late, four requests in flight: 5 a second) until 14 s: the 10-15 s window is
/// underdelivered and named, the first is not, the requests' lateness and
/// latency from the intended time show the backlog; the run ends with the
/// warning, and `--fail-if` can gate on it.
#[test]
fn a_throttled_load_names_its_underdelivered_windows() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file(
        "s.rhai",
        r#"
        let l = create_objects(|i| #{apiVersion: "v1", kind: "ConfigMap",
            metadata: #{name: `c-${i}`, namespace: "default"}},
            #{count: 300, qps: 20, burst: 1, concurrency: 4});
        let d = l.delivery;
        print("windows=" + d.underdelivered_windows);
        print(`late=${d.lateness.max} latency=${d.latency.p99} intended=${d.latency_intended.p99}`);
        "#,
    );
    let child = p
        .std_cmd()
        .args(["script", "s.rhai"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // the load starts with its first create
    let t = Instant::now();
    while !fc
        .list("v1", "ConfigMap")
        .iter()
        .any(|c| c["metadata"]["name"] == "c-0")
    {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the load never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(10_500));
    fc.faults().set_latency(Duration::from_millis(800));
    std::thread::sleep(Duration::from_millis(14_000 - 10_500));
    fc.faults().set_latency(Duration::ZERO);
    let out = child.wait_with_output().unwrap();
    let (s, e) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{e}");
    assert!(start.elapsed() < Duration::from_secs(40));
    assert!(s.contains("windows=[\"10-15 s\"]"), "{s}\n{e}");
    let late: f64 = s
        .split_whitespace()
        .find_map(|w| w.strip_prefix("late="))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(late > 2.0, "the backlog made requests late: {s}");
    assert!(
        e.contains("create_objects: underdelivered: the windows 10-15 s"),
        "{e}"
    );
    assert!(
        e.contains("1 load(s) underdelivered (windows 10-15 s)"),
        "{e}"
    );
    let r = p.results();
    assert_eq!(r["records"]["load_underdelivered"]["value"], 1);
    assert_eq!(
        r["records"]["load_underdelivered_windows"]["value"],
        "10-15 s"
    );
    let out = p
        .cmd()
        .args([
            "report",
            "artifacts",
            "--fail-if",
            "load_underdelivered.max > 0",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
