//! `scaffold report`: tables side by side, thresholds, plots, bad input.

use crate::util::Project;
use serde_json::json;

/// Three runs of one scenario as the xdp scenario would leave them.
fn three_runs(p: &Project) {
    let runs = [
        (
            "2026-11-25T10-00-00Z",
            "nkpr",
            vec![9.1, 9.3, 9.2],
            vec![41, 43, 40],
            "ok",
        ),
        (
            "2026-11-25T11-00-00Z",
            "kpr",
            vec![9.4, 9.5, 9.3],
            vec![35, 36, 34],
            "ok",
        ),
        (
            "2026-11-25T12-00-00Z",
            "xdp",
            vec![9.6, 9.4, 9.5],
            vec![12, 14, 13],
            "error",
        ),
    ];
    for (dir, mode, tput, cpu, outcome) in runs {
        let r = json!({
            "schema": 1, "script": "scenarios/xdp/main.rhai",
            "params": {"mode": mode, "duration": 60}, "args": [],
            "start": "2026-11-25T10:00:00.000Z", "end": "2026-11-25T10:05:05.380Z",
            "duration": 305.38, "outcome": outcome,
            "error": if outcome == "ok" { json!(null) } else { json!("step netperf: netperf exited with 1") },
            "environment": {"scaffold_version": "0.1.0", "os": "linux", "arch": "x86_64"},
            "steps": [
                {"name": "install cilium", "start": "x", "duration": 40.0, "outcome": "ok", "error": null},
                {"name": "netperf", "start": "x", "duration": 60.0, "outcome": outcome, "error": null}
            ],
            "records": {
                "throughput": {"unit": "Gbit/s", "tags": {"mode": mode}, "samples": tput},
                "lb_cpu": {"unit": "%", "samples": cpu},
                "kernel": {"value": "6.8.0"},
                "rtt": {"unit": "us", "value": if mode == "xdp" { 30.0 } else { 40.0 }}
            }
        });
        p.file(
            &format!("artifacts/{dir}/results.json"),
            &serde_json::to_string_pretty(&r).unwrap(),
        );
    }
}

/// `scaffold report ARGS...` in the project: exit code and stderr.
fn report_err(p: &Project, args: &[&str]) -> (Option<i32>, String) {
    let out = p.cmd().arg("report").args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn report_side_by_side() {
    let p = Project::new();
    three_runs(&p);
    let out = p.cmd().args(["report", "artifacts"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
    // one run directory, labelled by its name
    let out = p
        .cmd()
        .args(["report", "artifacts/2026-11-25T10-00-00Z"])
        .output()
        .unwrap();
    insta::assert_snapshot!("report_one_run", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn report_json() {
    let p = Project::new();
    three_runs(&p);
    let out = p
        .cmd()
        .args(["report", "-o", "json", "artifacts"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[2]["label"], "mode=xdp");
    assert_eq!(v[2]["metrics"]["throughput"]["mean"], 9.5);
    assert_eq!(v[0]["metrics"]["lb_cpu"]["p50"], 41.0);
    assert_eq!(v[0]["metrics"]["kernel"]["values"], json!(["6.8.0"]));
}

#[test]
fn report_thresholds() {
    let p = Project::new();
    three_runs(&p);
    // passes: exit 0, each run judged
    let (code, e) = report_err(
        &p,
        &[
            "artifacts",
            "--fail-if",
            "throughput < 9",
            "--fail-if",
            "lb_cpu.max>50",
        ],
    );
    assert_eq!(code, Some(0), "{e}");
    assert!(
        e.contains("ok   throughput < 9: throughput.mean = 9.200 (mode=nkpr)"),
        "{e}"
    );
    // one run crosses: exit 1, and the line says which
    let (code, e) = report_err(&p, &["artifacts", "--fail-if", "lb_cpu.p95 >= 40"]);
    assert_eq!(code, Some(1), "{e}");
    assert!(
        e.contains("FAIL lb_cpu.p95 >= 40: lb_cpu.p95 = 42.80 (mode=nkpr)"),
        "{e}"
    );
    assert!(
        e.contains("ok   lb_cpu.p95 >= 40: lb_cpu.p95 = 13.90 (mode=xdp)"),
        "{e}"
    );
    // a typo in the metric is an error, not a pass
    let (code, e) = report_err(&p, &["artifacts", "--fail-if", "thruput < 9"]);
    assert_eq!(code, Some(2), "{e}");
    assert!(
        e.contains("no run recorded 'thruput'; recorded: kernel, lb_cpu, rtt, throughput"),
        "{e}"
    );
    // a condition that does not parse says how to write one
    let (code, e) = report_err(&p, &["artifacts", "--fail-if", "throughput is low"]);
    assert_eq!(code, Some(2), "{e}");
    assert!(
        e.contains("no comparison; write it as 'METRIC OP NUMBER'"),
        "{e}"
    );
}

#[test]
fn report_plots_are_valid_images() {
    let p = Project::new();
    three_runs(&p);
    let (code, e) = report_err(&p, &["artifacts", "--plot", "cmp.svg"]);
    assert_eq!(code, Some(0), "{e}");
    let svg = std::fs::read_to_string(p.path().join("cmp.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
    for text in ["throughput (Gbit/s)", "lb_cpu (%)", "mode=xdp", "mode=nkpr"] {
        assert!(svg.contains(text), "{text} missing in the svg");
    }
    // png: signature, IHDR with the size plotters was given
    let (code, e) = report_err(
        &p,
        &[
            "artifacts",
            "--plot",
            "cmp.png",
            "--plot-style",
            "line",
            "--metric",
            "throughput",
        ],
    );
    assert_eq!(code, Some(0), "{e}");
    let png = std::fs::read(p.path().join("cmp.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((w, h), (640, 360), "one panel");
    // the image is not blank: the bars and text use more than a few colours
    assert!(png.len() > 5_000, "{} bytes", png.len());
    // unknown format / metric
    let (_, e) = report_err(&p, &["artifacts", "--plot", "cmp.gif"]);
    assert!(e.contains("end the name with .svg or .png"), "{e}");
    let (_, e) = report_err(&p, &["artifacts", "--plot", "x.svg", "--metric", "nope"]);
    assert!(e.contains("--metric nope: no run recorded a number"), "{e}");
}

#[test]
fn report_bad_input() {
    let p = Project::new();
    let (code, e) = report_err(&p, &["missing"]);
    assert_eq!(code, Some(1), "{e}");
    assert!(
        e.contains(
            "missing: no such file or directory; give results.json files or run directories"
        ),
        "{e}"
    );
    p.file("empty/readme.txt", "x");
    let (_, e) = report_err(&p, &["empty"]);
    assert!(
        e.contains("no results.json in it or in its subdirectories"),
        "{e}"
    );
    p.file("bad.json", "{\"hello\": 1}");
    let (_, e) = report_err(&p, &["bad.json"]);
    assert!(e.contains("bad.json is not a scaffold results.json"), "{e}");
}

/// Runs recorded by real scripts, compared: the whole path a user takes.
#[test]
fn report_of_script_runs() {
    let p = Project::new();
    p.file(
        "bench.rhai",
        r#"
        let base = if param("mode", "a") == "a" { 10.0 } else { 12.0 };
        for i in 0..5 { record("rate", base + i.to_float() / 10.0, #{unit: "req/s"}); }
        "#,
    );
    for mode in ["a", "b"] {
        let out = p
            .cmd()
            .args([
                "script",
                "bench.rhai",
                "--artifacts",
                &format!("runs/{mode}"),
                "--set",
                &format!("mode={mode}"),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = p
        .cmd()
        .args([
            "report",
            "runs/a/latest",
            "runs/b/latest",
            "--fail-if",
            "rate.mean < 11",
        ])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "mode=a is below 11: {s}");
    assert!(
        s.contains("mode=a  5  10.20  10.20  10.36  10.38  10.40  10.00  10.40"),
        "{s}"
    );
    assert!(s.contains("+19.6%"), "{s}");
    // p90 and p99 in thresholds and JSON, as latency SLOs need them
    let out = p
        .cmd()
        .args([
            "report",
            "runs/a/latest",
            "runs/b/latest",
            "--fail-if",
            "rate.p99 > 12.39",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = j.to_string();
    assert!(
        text.contains("\"p90\":12.36") && text.contains("\"p99\":12.396"),
        "{text}"
    );
}
