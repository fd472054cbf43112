//! `scaffold sweep` and `scaffold report SWEEP_DIR`: grid expansion, run
//! order, failures, timeouts, Ctrl-C and resume, parallel runs on two fake
//! clusters, secrets, and the comparisons of the report.

use crate::util::Project;
use fakecluster::{FakeCluster, Options};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A script whose recorded value depends on its parameters: `tput` is 100
/// (mode a or c) or 110 (mode b) plus a little noise from the run's number,
/// 20 samples a run.
const SCRIPT: &str = r#"
let mode = param("mode", "a");
let size = param("size", 1);
let d = artifacts_dir();
let k = d.sub_string(d.index_of("run-") + 4, 3).parse_int();
let base = if mode == "b" { 110.0 } else { 100.0 };
for i in 0..20 { record("tput", base + (k % 5).to_float() * 0.2 + (i % 3).to_float() * 0.01, #{unit: "Gbit/s"}); }
record("size_seen", size);
record("args", args().len());
if param("fail_on", "") == mode { throw "failing on purpose in mode " + mode; }
let nap = param("nap", 0.0);
if nap > 0.0 {
    on_exit(|| write_file(script_dir() + "/cleaned-" + k, "yes"));
    sleep(nap);
}
"#;

fn sweep_dir(p: &Project) -> PathBuf {
    let mut d: Vec<PathBuf> = std::fs::read_dir(p.path().join("artifacts"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|x| {
            x.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("sweep-")
        })
        .collect();
    d.sort();
    d.pop().expect("a sweep directory")
}

fn sweep_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap()
}

fn statuses(j: &Value) -> Vec<String> {
    j["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn grid_runs_every_point_interleaved_with_its_parameters() {
    let p = Project::new();
    p.file("s.rhai", SCRIPT);
    let out = p
        .cmd()
        .args([
            "sweep",
            "s.rhai",
            "--grid",
            "mode=a,b,c",
            "--grid",
            "size=64,1500",
            "--repeat",
            "2",
            "--set",
            "nap=0",
            "--",
            "one",
            "--two",
        ])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{e}");
    assert!(e.contains("12 ok, 0 failed"), "{e}");
    assert!(e.contains("compare them: scaffold report"), "{e}");
    let dir = sweep_dir(&p);
    let j = sweep_json(&dir);
    assert_eq!(j["order"], "interleaved");
    assert_eq!(j["params"]["nap"], "0");
    let runs = j["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 12);
    // round-robin: the six points, then the six again
    let labels: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "{}/{}#{}",
                r["point"]["mode"].as_str().unwrap(),
                r["point"]["size"].as_str().unwrap(),
                r["repeat"]
            )
        })
        .collect();
    assert_eq!(
        &labels[..6],
        ["a/64#1", "a/1500#1", "b/64#1", "b/1500#1", "c/64#1", "c/1500#1"]
    );
    assert_eq!(labels[6], "a/64#2");
    // each run is a normal run with its point as parameters
    for r in runs {
        let res: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(r["dir"].as_str().unwrap()).join("results.json"))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(res["params"]["mode"], r["point"]["mode"]);
        assert_eq!(res["params"]["size"], r["point"]["size"]);
        assert_eq!(res["args"], serde_json::json!(["one", "--two"]));
        assert_eq!(r["status"], "ok");
    }
}

#[test]
fn failed_runs_are_recorded_and_the_sweep_goes_on_unless_fail_fast() {
    let p = Project::new();
    p.file("s.rhai", SCRIPT);
    let out = p
        .cmd()
        .args([
            "sweep",
            "s.rhai",
            "--grid",
            "mode=a,b",
            "--repeat",
            "2",
            "--set",
            "fail_on=a",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let j = sweep_json(&sweep_dir(&p));
    assert_eq!(statuses(&j), ["failed", "ok", "failed", "ok"]);
    assert_eq!(j["runs"][0]["exit_code"], 1);
    // the report leaves failed runs out and says so
    let out = p
        .cmd()
        .args(["report"])
        .arg(sweep_dir(&p))
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("left out: run-001 (failed)"), "{s}");
    std::thread::sleep(Duration::from_millis(1100)); // a new sweep directory
    let out = p
        .cmd()
        .args([
            "sweep",
            "s.rhai",
            "--grid",
            "mode=a,b",
            "--repeat",
            "2",
            "--set",
            "fail_on=a",
            "--fail-fast",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let j = sweep_json(&sweep_dir(&p));
    assert_eq!(statuses(&j), ["failed", "pending", "pending", "pending"]);
}

#[test]
fn a_run_past_its_timeout_is_interrupted_cleaned_up_and_recorded() {
    let p = Project::new();
    p.file("s.rhai", SCRIPT);
    let t = Instant::now();
    let out = p
        .cmd()
        .args([
            "sweep",
            "s.rhai",
            "--grid",
            "mode=a",
            "--set",
            "nap=30",
            "--run-timeout",
            "1s",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(t.elapsed() < Duration::from_secs(20));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("took longer than --run-timeout"), "{e}");
    let j = sweep_json(&sweep_dir(&p));
    assert_eq!(statuses(&j), ["timeout"]);
    assert!(
        p.path().join("cleaned-1").is_file(),
        "the run's on_exit ran"
    );
}

#[test]
fn ctrl_c_stops_after_cleaning_up_the_running_run_and_resume_finishes() {
    let p = Project::new();
    p.file("s.rhai", SCRIPT);
    let child = p
        .std_cmd()
        .args([
            "sweep", "s.rhai", "--grid", "mode=a,b", "--repeat", "2", "--set", "nap=1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // interrupt the second run
    let t = Instant::now();
    while !p.path().join("artifacts").is_dir() || !sweep_dir(&p).join("run-002").is_dir() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the second run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{e}");
    assert!(e.contains("continue it: scaffold sweep --resume"), "{e}");
    let dir = sweep_dir(&p);
    let j = sweep_json(&dir);
    assert_eq!(statuses(&j), ["ok", "interrupted", "pending", "pending"]);
    assert!(
        p.path().join("cleaned-2").is_file(),
        "the interrupted run cleaned up"
    );
    // resume: the interrupted run again (in a new directory) and the rest
    let out = p
        .cmd()
        .args(["sweep", "--resume"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = sweep_json(&dir);
    assert_eq!(statuses(&j), ["ok", "ok", "ok", "ok"]);
    assert_eq!(j["runs"][1]["dir"], "run-002.2");
    assert!(
        dir.join("run-002/results.json").is_file(),
        "the first attempt stays"
    );
}

#[test]
fn parallel_runs_never_share_a_cluster() {
    let p = Project::new();
    let one = FakeCluster::start(Options {
        nodes: 1,
        cluster_name: "one".into(),
        ..Default::default()
    });
    let two = FakeCluster::start(Options {
        nodes: 2,
        cluster_name: "two".into(),
        ..Default::default()
    });
    // one kubeconfig with both contexts
    let read = |f: &FakeCluster| -> Value {
        serde_json::from_str(&std::fs::read_to_string(f.kubeconfig()).unwrap()).unwrap()
    };
    let mut kc = read(&one);
    let b = read(&two);
    for k in ["clusters", "contexts", "users"] {
        let extra = b[k].as_array().unwrap().clone();
        kc[k].as_array_mut().unwrap().extend(extra);
    }
    std::fs::write(p.path().join("kubeconfig"), kc.to_string()).unwrap();
    p.file(
        "s.rhai",
        r#"
        record("nodes", nodes().len());
        record("context", current_context());
        sleep(0.3);
        "#,
    );
    let out = p
        .cmd()
        .args([
            "sweep",
            "s.rhai",
            "--grid",
            "x=1,2,3",
            "--repeat",
            "2",
            "--parallel",
            "2",
            "--contexts",
            "kind-one,kind-two",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = sweep_dir(&p);
    let j = sweep_json(&dir);
    let mut spans: Vec<(String, f64, f64)> = vec![];
    for r in j["runs"].as_array().unwrap() {
        let ctx = r["context"].as_str().unwrap().to_string();
        let res: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(r["dir"].as_str().unwrap()).join("results.json"))
                .unwrap(),
        )
        .unwrap();
        // the run really talked to the cluster of its context
        assert_eq!(res["records"]["context"]["value"], ctx.as_str());
        let want = if ctx == "kind-one" { 1 } else { 2 };
        assert_eq!(res["records"]["nodes"]["value"], want);
        assert!(dir
            .join(r["dir"].as_str().unwrap())
            .join("output.log")
            .is_file());
        let start = secs(r["start"].as_str().unwrap());
        spans.push((ctx, start, start + r["duration"].as_f64().unwrap()));
    }
    assert!(spans.iter().any(|s| s.0 == "kind-one") && spans.iter().any(|s| s.0 == "kind-two"));
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            if a.0 == b.0 {
                assert!(
                    a.2 <= b.1 + 0.01 || b.2 <= a.1 + 0.01,
                    "two runs at once on {}: {spans:?}",
                    a.0
                );
            }
        }
    }
    // and side by side on different clusters, the sweep took less than the runs
    let total: f64 = spans.iter().map(|s| s.2 - s.1).sum();
    let first = spans.iter().map(|s| s.1).fold(f64::INFINITY, f64::min);
    let last = spans.iter().map(|s| s.2).fold(0.0, f64::max);
    assert!(
        last - first < total,
        "runs overlapped across clusters: {spans:?}"
    );
    // --parallel without enough contexts is a usage error
    let out = p
        .cmd()
        .args(["sweep", "s.rhai", "--parallel", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--contexts"));
}

/// `2026-12-01T18:40:38.761Z` as seconds of the day (the runs of a test are
/// minutes apart at most).
fn secs(t: &str) -> f64 {
    let hms = &t[11..23];
    let h: f64 = hms[0..2].parse().unwrap();
    let m: f64 = hms[3..5].parse().unwrap();
    let s: f64 = hms[6..].parse().unwrap();
    h * 3600.0 + m * 60.0 + s
}

#[test]
fn secrets_reach_the_runs_but_never_the_files() {
    let p = Project::new();
    p.file(
        "s.rhai",
        r#"record("secret_ok", param("token", "") == "hunter2-very-secret"); print("token is " + param("token", ""));"#,
    );
    let out = p
        .cmd()
        .args([
            "sweep",
            "s.rhai",
            "--grid",
            "m=a",
            "--set-secret",
            "token=hunter2-very-secret",
        ])
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("hunter2"), "{all}");
    let dir = sweep_dir(&p);
    let sweep = std::fs::read_to_string(dir.join("sweep.json")).unwrap();
    assert!(
        !sweep.contains("hunter2") && sweep.contains("<secret>"),
        "{sweep}"
    );
    let res = std::fs::read_to_string(dir.join("run-001/results.json")).unwrap();
    assert!(!res.contains("hunter2"), "{res}");
    assert!(res.contains("\"secret_ok\""), "{res}");
    let v: Value = serde_json::from_str(&res).unwrap();
    assert_eq!(v["records"]["secret_ok"]["value"], true);
    // resuming needs the secret again
    let out = p
        .cmd()
        .args(["sweep", "--resume"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--set-secret token"));
}

#[test]
fn report_groups_compares_and_checks_per_group() {
    let p = Project::new();
    p.file("s.rhai", SCRIPT);
    let out = p
        .cmd()
        .args(["sweep", "s.rhai", "--grid", "mode=a,b,c", "--repeat", "6"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = sweep_dir(&p);
    let out = p
        .cmd()
        .args(["report"])
        .arg(&dir)
        .args(["--baseline", "mode=a"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("tput (Gbit/s)"), "{s}");
    let block = &s[s.find("tput (Gbit/s)").unwrap()..];
    let line = |start: &str| {
        block
            .lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no line '{start}' in {s}"))
            .to_string()
    };
    assert!(
        line("mode=b vs mode=a").contains("significant")
            && line("mode=b vs mode=a").contains("+10."),
        "{s}"
    );
    // a and c record the same numbers: no difference
    assert!(
        line("mode=c vs mode=a").contains("no significant difference"),
        "{s}"
    );
    assert!(
        line("mode=a ").contains(" 6 "),
        "n is the number of runs: {s}"
    );
    // JSON carries the same
    let out = p
        .cmd()
        .args(["report", "-o", "json"])
        .arg(&dir)
        .output()
        .unwrap();
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cmps = j["metrics"]["tput"]["comparisons"].as_array().unwrap();
    assert_eq!(cmps.len(), 3, "every pair without a baseline");
    let ab = cmps
        .iter()
        .find(|c| c["base"] == "mode=a" && c["other"] == "mode=b")
        .unwrap();
    assert_eq!(ab["significant"], true);
    // the per-run values tie (the noise repeats every five runs)
    assert_eq!(ab["method"], "asymptotic");
    let ac = cmps
        .iter()
        .find(|c| c["base"] == "mode=a" && c["other"] == "mode=c")
        .unwrap();
    assert_eq!(ac["significant"], false);
    assert_eq!(j["metrics"]["tput"]["groups"][0]["n"], 6);
    // 29.4: the smallest change 6 runs a group could find, from their
    // spread (sd 0.14 on 100.2: about 0.2%), in the text and the JSON
    let det = ab["detectable"].as_f64().unwrap();
    assert!(det > 0.0005 && det < 0.01, "{det}");
    assert!(line("mode=b vs mode=a").contains("±0."), "{s}");
    assert!(s.contains("detectable: the smallest change"), "{s}");
    // --fail-if per group
    let out = p
        .cmd()
        .args(["report"])
        .arg(&dir)
        .args(["--fail-if", "tput[mode=b].median < 105"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = p
        .cmd()
        .args(["report"])
        .arg(&dir)
        .args(["--fail-if", "tput.median < 105"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("FAIL tput.median < 105: tput[mode=a].median"),
        "{e}"
    );
    let out = p
        .cmd()
        .args(["report"])
        .arg(&dir)
        .args(["--fail-if", "tput[mode=zzz].median < 105"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // a box plot per metric
    let svg = p.path().join("sweep.svg");
    let out = p
        .cmd()
        .args(["report"])
        .arg(&dir)
        .arg("--plot")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(out.status.success());
    let body = std::fs::read_to_string(&svg).unwrap();
    assert!(
        body.contains("mode=b") && body.contains("tput"),
        "labelled groups"
    );
    // an unknown baseline says what the grid has
    let out = p
        .cmd()
        .args(["report"])
        .arg(&dir)
        .args(["--baseline", "mode=q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a, b, c"));
}

/// The report's U test against scipy on the same per-run values, when
/// python3 with scipy is on this machine (the unit tests hold fixed values
/// computed by scipy for machines without it).
#[test]
fn report_p_values_agree_with_scipy_when_present() {
    // the first python3 with scipy: PATH's, or Debian's (python3-scipy)
    let Some(python) = ["python3", "/usr/bin/python3"].into_iter().find(|py| {
        std::process::Command::new(py)
            .args(["-c", "import scipy.stats"])
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        crate::util::missing_tool(
            "python3 with scipy (Debian's python3-scipy)",
            "report_p_values_agree_with_scipy_when_present",
        );
        return;
    };
    let p = Project::new();
    p.file("s.rhai", SCRIPT);
    let out = p
        .cmd()
        .args(["sweep", "s.rhai", "--grid", "mode=a,b,c", "--repeat", "9"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = p
        .cmd()
        .args(["report", "-o", "json"])
        .arg(sweep_dir(&p))
        .output()
        .unwrap();
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &j["metrics"]["tput"];
    let vals = |g: &str| {
        m["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["group"] == g)
            .unwrap()["values"]
            .clone()
    };
    for c in m["comparisons"].as_array().unwrap() {
        let py = format!(
            "from scipy.stats import mannwhitneyu as m; print(repr(float(m({}, {}, alternative='two-sided').pvalue)))",
            vals(c["base"].as_str().unwrap()),
            vals(c["other"].as_str().unwrap())
        );
        let o = std::process::Command::new(python)
            .args(["-c", &py])
            .output()
            .unwrap();
        let want: f64 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
        let got = c["p"].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-6 * want.max(1e-3),
            "{c}: scipy {want}"
        );
    }
}

#[test]
fn random_order_is_repeatable_with_its_seed() {
    let p = Project::new();
    p.file("s.rhai", r#"record("x", 1);"#);
    let order = |art: &str, seed: &str| {
        let out = p
            .cmd()
            .args([
                "sweep",
                "s.rhai",
                "--grid",
                "m=a,b,c",
                "--repeat",
                "3",
                "--order",
                "random",
                "--artifacts",
                art,
            ])
            .args(
                (!seed.is_empty())
                    .then_some(["--seed", seed])
                    .into_iter()
                    .flatten(),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = std::fs::read_dir(p.path().join(art))
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path();
        let j = sweep_json(&dir);
        let runs: Vec<String> = j["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!("{}#{}", r["point"]["m"].as_str().unwrap(), r["repeat"]))
            .collect();
        (runs, j["seed"].as_u64().unwrap())
    };
    let (a, _) = order("one", "11");
    let (b, _) = order("two", "11");
    assert_eq!(a, b);
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(sorted.len(), 9);
    // a seed from the clock is recorded, and repeats the order
    let (c, seed) = order("three", "");
    let (d, _) = order("four", &seed.to_string());
    assert_eq!(c, d);
}

/// `--metrics-profile` on a sweep: checked before any run, kept in
/// sweep.json (absolute, so --resume finds it) and passed to every run,
/// which collects it as it ends (here without a Prometheus: a warning,
/// the runs still ok).
#[test]
fn metrics_profile_goes_to_every_run() {
    let p = Project::new();
    p.file("s.rhai", r#"print("run " + param("n", ""));"#);
    p.file("profile.yaml", "- {name: up, query: up}\n");
    p.file("typo.yaml", "- {name: up, qeury: up}\n");
    let out = p
        .cmd()
        .args([
            "sweep",
            "s.rhai",
            "--grid",
            "n=1,2",
            "--metrics-profile",
            "typo.yaml",
        ])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(
        e.contains("--metrics-profile: ") && e.contains("unknown field `qeury`"),
        "{e}"
    );
    let out = p
        .cmd()
        .args([
            "sweep",
            "s.rhai",
            "--grid",
            "n=1,2",
            "--metrics-profile",
            "profile.yaml",
        ])
        .output()
        .unwrap();
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{o}{e}");
    let j = sweep_json(&sweep_dir(&p));
    let kept = j["metrics_profile"].as_str().unwrap();
    assert!(
        Path::new(kept).is_absolute() && kept.ends_with("profile.yaml"),
        "{j}"
    );
    assert_eq!(
        e.matches("--metrics-profile: not collected").count(),
        2,
        "{e}"
    );
}

/// 29.4: `--detect` runs a pilot, plans the repeats from its spread (kept
/// with the reasoning in sweep.json), runs them, and says when the cap is
/// too low; a sweep without a plan gets one on `--resume --detect`.
#[test]
fn detect_plans_the_repeats_from_a_pilot() {
    let p = Project::new();
    p.file("s.rhai", SCRIPT);
    let sweep = |args: &[&str]| {
        p.cmd()
            .args(["sweep", "s.rhai", "--grid", "mode=a,b", "--set", "nap=0"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = sweep(&["--detect", "5%", "--detect-metric", "tput"]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{e}");
    let j = sweep_json(&sweep_dir(&p));
    assert_eq!(j["detect"]["pilot"], 3);
    // tput's spread is 0.3 on 105: a 5% change is 17 spreads, and 4 runs
    // a point is the fewest with which the U test can tell anything
    assert_eq!(j["plan"]["repeat"], 4, "{j}");
    assert_eq!(j["plan"]["capped"], false);
    assert_eq!(j["plan"]["from_runs"], 6);
    assert_eq!(j["plan"]["metrics"][0]["name"], "tput");
    assert_eq!(j["plan"]["metrics"].as_array().unwrap().len(), 1);
    assert!(j["plan"]["reasoning"]
        .as_str()
        .unwrap()
        .contains("nothing stops early"));
    assert_eq!(statuses(&j), vec!["ok"; 8]);
    assert_eq!(j["runs"][7]["repeat"], 4);
    assert!(e.contains("plan: 4 runs a point"), "{e}");

    // a change too small for the cap: the plan is the cap, said so
    std::fs::remove_dir_all(p.path().join("artifacts")).unwrap();
    let out = sweep(&["--detect", "0.01%", "--pilot", "2", "--max-repeat", "5"]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{e}");
    let j = sweep_json(&sweep_dir(&p));
    assert_eq!(
        (j["plan"]["repeat"].as_u64(), j["plan"]["capped"].as_bool()),
        (Some(5), Some(true)),
        "{j}"
    );
    assert_eq!(j["runs"].as_array().unwrap().len(), 10);
    assert!(
        e.contains("needs more than --max-repeat 5 runs a point"),
        "{e}"
    );

    // --repeat and --detect do not go together; a pilot of 1 has no spread
    let out = sweep(&["--detect", "5%", "--repeat", "3"]);
    assert_eq!(out.status.code(), Some(2));
    let out = sweep(&["--detect", "5%", "--pilot", "1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 2 runs a point"));

    // a finished sweep without a plan: its runs are the pilot
    std::fs::remove_dir_all(p.path().join("artifacts")).unwrap();
    assert!(sweep(&["--repeat", "3"]).status.success());
    let dir = sweep_dir(&p);
    let out = p
        .cmd()
        .args(["sweep", "--resume"])
        .arg(&dir)
        .args(["--detect", "5%", "--detect-metric", "tput"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = sweep_json(&dir);
    assert_eq!(
        (
            j["plan"]["repeat"].as_u64(),
            j["runs"].as_array().unwrap().len()
        ),
        (Some(4), 8)
    );
}
