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

/// A Prometheus of this machine for one test (killed when dropped): a
/// remote-write receiver scraping itself every second, so its head is at
/// "now" as in any running Prometheus.
struct LocalPrometheus {
    child: std::process::Child,
    port: u16,
}

impl LocalPrometheus {
    fn start(p: &Project, name: &str, ooo_window: Option<&str>, test: &str) -> Option<Self> {
        let bin = crate::util::tool("prometheus", test)?;
        let port = crate::util::free_port();
        let storage = ooo_window
            .map(|w| format!("storage: {{tsdb: {{out_of_order_time_window: {w}}}}}\n"))
            .unwrap_or_default();
        let cfg = p.file(
            &format!("{name}.yml"),
            &format!(
                "global: {{scrape_interval: 1s}}\n{storage}\
                 scrape_configs:\n- job_name: self\n  static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
            ),
        );
        let child = std::process::Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                p.path().join(name).display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let prom = LocalPrometheus { child, port };
        // ready, and its head holds a scrape of itself (the head is at now)
        let t = std::time::Instant::now();
        while prom.query("up").as_array().is_none_or(|a| a.is_empty()) {
            assert!(
                t.elapsed().as_secs() < 30,
                "Prometheus never scraped itself"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(prom)
    }

    /// An instant query's `data.result` (null when it did not answer).
    fn query(&self, promql: &str) -> serde_json::Value {
        use std::io::{Read, Write};
        let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return json!(null);
        };
        let path = format!("/api/v1/query?query={}", scaffold::util::urlencode(promql));
        let _ = write!(c, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        let mut answer = String::new();
        let _ = c.read_to_string(&mut answer);
        let body = answer.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
        serde_json::from_str::<serde_json::Value>(body).unwrap_or_default()["data"]["result"]
            .clone()
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1/write", self.port)
    }
}

impl Drop for LocalPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A run of the xdp scenario `ago_s` seconds ago with its throughput
/// samples recorded a second apart.
fn timed_run(p: &Project, dir: &str, mode: &str, ago_s: i64, tput: &[f64]) -> Vec<i64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let start = now - ago_s * 1000;
    let times: Vec<i64> = (0..tput.len() as i64)
        .map(|i| start + 1000 + i * 1000 + 7)
        .collect();
    let stamp = |ms: i64| {
        scaffold::results::rfc3339(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms as u64),
        )
    };
    let r = json!({
        "schema": 1, "script": "scenarios/xdp/main.rhai",
        "params": {"mode": mode}, "args": [],
        "start": stamp(start), "end": stamp(start + 10_000), "duration": 10.0, "outcome": "ok",
        "error": null,
        "environment": {"scaffold_version": "0.1.0", "os": "linux", "arch": "x86_64"},
        "steps": [],
        "records": {"throughput": {"unit": "Gbit/s", "samples": tput, "times": times}}
    });
    p.file(
        &format!("artifacts/{dir}/results.json"),
        &serde_json::to_string_pretty(&r).unwrap(),
    );
    times
}

/// 31.4: `--remote-write` to a real Prometheus: three runs (two of them
/// older than its head) written, then read back exactly: every sample at
/// its recorded millisecond, the summary at the run's end, the labels;
/// without an out-of-order window the old run is refused with the fix.
#[test]
fn remote_write_to_a_real_prometheus() {
    let test = "remote_write_to_a_real_prometheus";
    let p = Project::new();
    let Some(prom) = LocalPrometheus::start(&p, "ooo", Some("2d"), test) else {
        return;
    };
    let runs = [
        ("run-now", "xdp", 60, vec![9.5, 9.25, 9.75]),
        ("run-3h", "kpr", 3 * 3600, vec![8.5, 8.0]),
        ("run-1d", "nkpr", 86_400, vec![7.125]),
    ];
    let mut times = vec![];
    for (dir, mode, ago, tput) in &runs {
        times.push(timed_run(&p, dir, mode, *ago, tput));
    }
    // the newest first (as a nightly job would), then the two older ones,
    // then the newest again (the same samples: taken, nothing doubled)
    for args in [
        vec!["artifacts/run-now"],
        vec!["artifacts/run-3h", "artifacts/run-1d"],
        vec!["artifacts/run-now"],
    ] {
        let out = p
            .cmd()
            .arg("report")
            .args(&args)
            .args(["--remote-write", &prom.url(), "--label", "site=ci"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("remote write: "), "{err}");
    }
    for ((dir, mode, _, tput), times) in runs.iter().zip(&times) {
        let got = prom.query(&format!("scaffold_throughput{{run=\"{dir}\"}}[3d]"));
        let got = got.as_array().unwrap();
        assert_eq!(got.len(), 1, "{dir}: {got:?}");
        let m = &got[0]["metric"];
        assert_eq!(m["mode"], *mode);
        assert_eq!(m["scenario"], "xdp");
        assert_eq!(m["unit"], "Gbit/s");
        assert_eq!(m["site"], "ci");
        let back: Vec<(i64, f64)> = got[0]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let t = (v[0].as_f64().unwrap() * 1000.0).round() as i64;
                (t, v[1].as_str().unwrap().parse().unwrap())
            })
            .collect();
        let want: Vec<(i64, f64)> = times.iter().copied().zip(tput.iter().copied()).collect();
        assert_eq!(back, want, "{dir}");
        let med = prom.query(&format!(
            "last_over_time(scaffold_throughput_summary{{run=\"{dir}\",stat=\"p50\"}}[3d])"
        ));
        let med: f64 = med[0]["value"][1].as_str().unwrap().parse().unwrap();
        assert_eq!(med, scaffold::stats::median(tput), "{dir}");
    }

    // a Prometheus without the window refuses the older run, and says why
    let Some(plain) = LocalPrometheus::start(&p, "plain", None, test) else {
        return;
    };
    let out = p
        .cmd()
        .args(["report", "artifacts/run-1d", "--remote-write", &plain.url()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("out_of_order_time_window"), "{err}");
}

/// A sweep of the xdp scenario as `scaffold sweep` leaves it: modes nkpr,
/// kpr, xdp x 3 repeats, throughput samples with their times, a CPU
/// figure, pod latencies, steps, one run on another kernel.
fn html_sweep(p: &Project) -> std::path::PathBuf {
    let dir = p.path().join("artifacts/sweep-2026-12-01T10-00-00Z");
    let modes = ["nkpr", "kpr", "xdp"];
    let mut entries = vec![];
    for i in 0..9 {
        let mode = modes[i % 3];
        let base = [9.1, 9.3, 9.6][i % 3];
        let t0 = 1_764_583_200_000i64 + i as i64 * 600_000;
        let tput: Vec<f64> = (0..50)
            .map(|j| base + ((i * 7 + j * 13) % 10) as f64 * 0.01)
            .collect();
        let times: Vec<i64> = (0..50).map(|j| t0 + 5_000 + j * 1000).collect();
        let lat: Vec<f64> = (0..100).map(|j| 0.5 + j as f64 * 0.03).collect();
        let stamp = |ms: i64| {
            scaffold::results::rfc3339(
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms as u64),
            )
        };
        let kernel = if i == 4 { "6.8.0-40" } else { "6.8.0-31" };
        let cpu = [41.0, 35.0, 12.0][i % 3] + i as f64 * 0.1;
        let r = json!({
            "schema": 1, "script": "scenarios/xdp/main.rhai", "params": {"mode": mode},
            "args": [], "start": stamp(t0), "end": stamp(t0 + 70_000), "duration": 70.0,
            "outcome": "ok", "error": null,
            "environment": {"scaffold_version": "0.1.0", "os": "linux", "arch": "x86_64",
                "nodes": [{"name": "n1", "os_image": "Ubuntu", "kernel": kernel,
                    "container_runtime": "docker://27", "kubelet": "v1.33.4"}]},
            "steps": [
                {"name": "install cilium", "start": stamp(t0 + 1000), "duration": 3.0, "outcome": "ok", "error": null},
                {"name": "netperf", "start": stamp(t0 + 5000), "duration": 50.0, "outcome": "ok", "error": null}
            ],
            "records": {
                "throughput": {"unit": "Gbit/s", "samples": tput, "times": times},
                "lb_cpu": {"unit": "%", "value": cpu},
                "pod_latency_ready_seconds": {"unit": "s", "tags": {"source": "watch"}, "samples": lat}
            }
        });
        let d = format!("run-{:03}", i + 1);
        p.file(
            &format!("artifacts/sweep-2026-12-01T10-00-00Z/{d}/results.json"),
            &r.to_string(),
        );
        entries.push(
            json!({"index": i + 1, "point": {"mode": mode}, "repeat": i / 3 + 1,
            "dir": d, "status": "ok", "exit_code": 0, "duration": 70.0}),
        );
    }
    let sweep = json!({"schema": 1, "script": "scenarios/xdp/main.rhai",
        "created": "2026-12-01T10:00:00.000Z", "grid": [{"key": "mode", "values": modes}],
        "repeat": 3, "order": "interleaved", "seed": 1, "params": {}, "args": [], "runs": entries});
    p.file(
        "artifacts/sweep-2026-12-01T10-00-00Z/sweep.json",
        &sweep.to_string(),
    );
    dir
}

/// Every `src="..."` and `href="..."` value of a page.
fn fetched(page: &str) -> Vec<String> {
    let mut out = vec![];
    for attr in ["src=", "href="] {
        for (i, _) in page.match_indices(attr) {
            let rest = &page[i + attr.len()..];
            let q = rest.chars().next().unwrap_or(' ');
            let v: String = if q == '"' || q == '\'' {
                rest[1..].chars().take_while(|c| *c != q).collect()
            } else {
                rest.chars()
                    .take_while(|c| !c.is_whitespace() && *c != '>')
                    .collect()
            };
            out.push(v);
        }
    }
    out
}

/// 32: the page of a sweep: a table per series with a row per group, a
/// box-and-strip chart per series and a line chart per run, the runs'
/// steps and environments (the differing kernel marked), the latency CDF
/// against the SLO, the --fail-if badges, and nothing fetched.
#[test]
fn html_report_of_a_sweep_is_complete_and_self_contained() {
    let p = Project::new();
    let dir = html_sweep(&p);
    let out = p
        .cmd()
        .arg("report")
        .arg(&dir)
        .args(["--baseline", "mode=nkpr", "--html", "r.html"])
        .args([
            "--fail-if",
            "throughput[mode=xdp].median < 9",
            "--fail-if",
            "lb_cpu.median > 40",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // lb_cpu of nkpr is 41: the second gate fails, and says so on the page too
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("html: r.html ("), "{err}");
    let page = std::fs::read_to_string(p.path().join("r.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    let tables = page.matches("<table class=\"sortable\"").count();
    assert_eq!(tables, 3, "a table per series");
    let tput = &page[page.find("data-metric=\"throughput\"").unwrap()..];
    let tput = &tput[..tput.find("</table>").unwrap()];
    assert_eq!(
        tput.matches("<tr>").count(),
        1 + 3,
        "header + a row per group"
    );
    assert!(tput.contains("+5.5% ["), "{tput}");
    assert!(page.contains("<p class=\"note\">change: against mode=nkpr</p>"));
    // a box chart per series, a line chart per run of the timed series
    let series = &page[page.find("id=\"series\"").unwrap()..page.find("id=\"runs\"").unwrap()];
    assert_eq!(series.matches("<div class=\"series\">").count(), 3 + 1);
    assert_eq!(
        series.matches("data-run=").count(),
        9 + 9,
        "throughput and latency lines per run"
    );
    assert!(
        series.contains("<title>run-003 (mode=xdp): "),
        "hover names the run"
    );
    assert!(page.contains("SLO 5 s"), "the pod startup SLO line");
    // steps as a waterfall, per run
    assert_eq!(page.matches("<details class=\"run\">").count(), 9);
    assert!(page.contains("<title>netperf: 50 s</title>"));
    // the environment: the kernel differs in one run, marked
    assert!(page.contains("1 field differ"), "only the kernel differs");
    assert!(page.contains("<td class=\"odd\">6.8.0-40</td>"));
    // the gates as badges
    assert!(page.contains("badge pass\">pass throughput[mode=xdp].median &lt; 9"));
    assert!(page.contains("badge fail\">FAIL lb_cpu.median &gt; 40"));
    // nothing fetched: no src/href to the network (none at all)
    let f = fetched(&page);
    assert!(
        f.iter().all(|v| !v.contains("://") && !v.starts_with("//")),
        "{f:?}"
    );
    assert!(!page.contains("@import") && !page.contains("url("));
}

/// 32: a run set (not a sweep) gets the same page: a row per run.
#[test]
fn html_report_of_runs() {
    let p = Project::new();
    three_runs(&p);
    let out = p
        .cmd()
        .args(["report", "artifacts", "--html", "runs.html"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(p.path().join("runs.html")).unwrap();
    let tput = &page[page.find("data-metric=\"throughput\"").unwrap()..];
    let tput = &tput[..tput.find("</table>").unwrap()];
    assert_eq!(tput.matches("<tr>").count(), 1 + 3);
    assert!(
        page.contains("step netperf: netperf exited with 1"),
        "the failed run's error"
    );
    assert!(page.contains("3 runs, 2 ok"));
}

/// Headless chromium on a page of this machine: its stdout and the
/// console lines it logged (a page that works logs none). Its own profile
/// directory, and none of its background fetches.
fn chromium(bin: &std::path::Path, p: &Project, args: &[&str], url: &str) -> (String, Vec<String>) {
    let profile = tempfile::tempdir_in(p.path()).unwrap();
    let out = std::process::Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (String::from_utf8_lossy(&out.stdout).to_string(), console)
}

/// What a person's browser does with the page: no console errors, and
/// `#sort=median` (`-median`: descending) sorts every table, the lowest
/// (highest) median first; the charts are in the DOM.
fn check_in_browser(
    bin: &std::path::Path,
    p: &Project,
    page: &std::path::Path,
) -> Result<(), String> {
    let url = |frag: &str| format!("file://{}#{frag}", page.display());
    for (frag, first) in [("sort=median", "mode=nkpr"), ("sort=-median", "mode=xdp")] {
        let (dom, console) = chromium(bin, p, &["--dump-dom"], &url(frag));
        if !console.is_empty() {
            return Err(format!("console: {console:?}"));
        }
        let sorted = frag.trim_start_matches("sort=");
        if dom.matches(&format!("data-sorted=\"{sorted}\"")).count() != 3 {
            return Err(format!("{frag}: the tables are not sorted"));
        }
        let tput = &dom[dom.find("data-metric=\"throughput\"").ok_or("no table")?..];
        let body = &tput[tput.find("<tbody>").ok_or("no body")?..];
        let row = &body[..body.find("</tr>").ok_or("no row")?];
        if !row.contains(first) {
            return Err(format!("{frag}: first row {row}, expected {first}"));
        }
        if dom.matches("<svg class=\"chart\"").count() < 3 + 9 + 9 + 1 {
            return Err("charts missing from the DOM".into());
        }
    }
    Ok(())
}

/// 32: the page in a real browser (Debian's chromium, headless): rendered
/// to a PNG, its DOM after the script ran sorted by the URL fragment, no
/// console error; a copy with a broken script fails the same check.
#[test]
fn html_report_in_a_real_browser() {
    let test = "html_report_in_a_real_browser";
    let Some(bin) = crate::util::tool("chromium", test) else {
        return;
    };
    let p = Project::new();
    let dir = html_sweep(&p);
    let page = p.path().join("r.html");
    let out = p
        .cmd()
        .arg("report")
        .arg(&dir)
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_in_browser(&bin, &p, &page).unwrap();
    let png = p.path().join("r.png");
    let (_, console) = chromium(
        &bin,
        &p,
        &[
            "--window-size=1280,2400",
            &format!("--screenshot={}", png.display()),
        ],
        &format!("file://{}", page.display()),
    );
    assert!(console.is_empty(), "{console:?}");
    let shot = std::fs::read(&png).unwrap();
    assert!(
        shot.starts_with(b"\x89PNG") && shot.len() > 20_000,
        "{} bytes",
        shot.len()
    );
    // the check catches a broken script: a typo in the sort
    let html = std::fs::read_to_string(&page).unwrap();
    let broken = html.replacen("sortTable(t, m[2]", "sortTabel(t, m[2]", 1);
    assert_ne!(
        broken, html,
        "the page's script changed: update the test's typo"
    );
    let copy = p.path().join("broken.html");
    std::fs::write(&copy, broken).unwrap();
    let e = check_in_browser(&bin, &p, &copy).unwrap_err();
    assert!(e.contains("sortTabel is not defined"), "{e}");
}

/// Nightly runs: `n` of them a day apart, throughput stepping from 9.5 to
/// 9.1 Gbit/s at run `step` (when the kernel changed), latency flat.
fn nightly(p: &Project, n: usize, step: Option<usize>) {
    for i in 0..n {
        let later = step.is_some_and(|s| i >= s);
        let wobble = ((i * 7919) % 13) as f64 / 100.0;
        let tput = if later { 9.1 } else { 9.5 } + wobble;
        let day = format!("2026-10-{:02}T02-00-00Z", i + 1);
        let start = format!("2026-10-{:02}T02:00:00.000Z", i + 1);
        let r = json!({
            "schema": 1, "script": "scenarios/xdp/main.rhai", "params": {"mode": "xdp"},
            "args": [], "start": start, "end": null, "duration": 300.0, "outcome": "ok",
            "error": null,
            "environment": {"scaffold_version": "0.1.0", "os": "linux", "arch": "x86_64",
                "nodes": [{"name": "n1", "os_image": "x", "kernel": if later { "6.8.0-40" } else { "6.8.0-31" },
                    "container_runtime": "docker://27", "kubelet": "v1.33.4"}]},
            "steps": [],
            "records": {
                "throughput": {"unit": "Gbit/s", "samples": [tput, tput + 0.01, tput - 0.01]},
                "rtt": {"unit": "us", "value": 40.0 + wobble}
            }
        });
        p.file(&format!("nightly/{day}/results.json"), &r.to_string());
    }
}

/// 29.5: a history with a step names the run where it changed and the
/// kernel that changed with it; the flat metric has no change; a history
/// without a step has none.
#[test]
fn history_finds_the_run_where_a_metric_changed() {
    let p = Project::new();
    nightly(&p, 30, Some(18));
    let out = p
        .cmd()
        .args(["report", "--history", "nightly"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("history of 30 runs"), "{s}");
    assert!(
        s.contains(
            "throughput (Gbit/s): 1 change(s) in 30 runs\n  at 2026-10-19T02-00-00Z (run 19 of 30"
        ),
        "{s}"
    );
    assert!(s.contains("nodes[0].kernel: 6.8.0-31 -> 6.8.0-40"), "{s}");
    assert!(s.contains("rtt (us): no change in 30 runs"), "{s}");
    let out = p
        .cmd()
        .args([
            "report",
            "--history",
            "nightly",
            "-o",
            "json",
            "--metric",
            "throughput",
        ])
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &j["metrics"]["throughput"]["changes"][0];
    assert_eq!(c["index"], 18);
    assert_eq!(
        c["environment"]["nodes[0].kernel"],
        json!(["6.8.0-31", "6.8.0-40"])
    );
    assert!(
        j["metrics"]["rtt"].is_null(),
        "--metric keeps only throughput"
    );

    let flat = Project::new();
    nightly(&flat, 30, None);
    let out = flat
        .cmd()
        .args(["report", "--history", "nightly"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("throughput (Gbit/s): no change in 30 runs"),
        "{s}"
    );
}

/// 29.3: runs whose fingerprints differ in more than their parameters get
/// no comparison verdict (exit 1, the fields named) unless allowed; the
/// CNI's configuration may follow the parameters.
#[test]
fn differing_fingerprints_refuse_the_comparison() {
    let p = Project::new();
    let write = |dir: &str, mode: &str, accel: &str, kernel: &str| {
        let r = json!({
            "schema": 1, "script": "scenarios/xdp/main.rhai", "params": {"mode": mode},
            "args": [], "start": "2026-11-25T10:00:00.000Z", "end": null, "duration": 1.0,
            "outcome": "ok", "error": null,
            "environment": {"scaffold_version": "0.1.0", "os": "linux", "arch": "x86_64",
                "fingerprint": {"cni.cilium.bpf-lb-acceleration": accel,
                    "node.n1.kernel": kernel, "cluster.nodes": "3"}},
            "steps": [], "records": {"throughput": {"unit": "Gbit/s", "samples": [9.1, 9.2]}}
        });
        p.file(&format!("{dir}/results.json"), &r.to_string());
    };
    write("a/r1", "nkpr", "disabled", "6.8.0-31");
    write("a/r2", "xdp", "native", "6.8.0-31");
    let out = p.cmd().args(["report", "a/r1", "a/r2"]).output().unwrap();
    assert!(
        out.status.success(),
        "the CNI follows mode: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    write("b/r1", "nkpr", "disabled", "6.8.0-31");
    write("b/r2", "xdp", "native", "6.8.0-40");
    let out = p
        .cmd()
        .args(["report", "b/r1", "b/r2", "--html", "b.html"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("fingerprints differ in more than their parameters"),
        "{e}"
    );
    assert!(
        e.contains("node.n1.kernel: 6.8.0-31 (mode=nkpr); 6.8.0-40 (mode=xdp)"),
        "{e}"
    );
    assert!(!e.contains("bpf-lb-acceleration"), "{e}");
    let page = std::fs::read_to_string(p.path().join("b.html")).unwrap();
    assert!(
        page.contains("FAIL fingerprints differ: node.n1.kernel"),
        "the page says so too"
    );
    let out = p
        .cmd()
        .args([
            "report",
            "b/r1",
            "b/r2",
            "--allow-different",
            "node.n1.kernel",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// 29.2: a series with its uncertainty (measure_pods' tags) shows each
/// percentile with it, `p99 4.21 s ± 0.008`, and says which ones it blurs.
#[test]
fn report_shows_latencies_with_their_uncertainty() {
    let p = Project::new();
    let r = json!({"schema": 1, "script": "x.rhai", "params": {}, "args": [],
        "start": "2026-12-01T10:00:00.000Z", "end": null, "duration": 1.0, "outcome": "ok",
        "error": null, "environment": {"scaffold_version": "0", "os": "linux", "arch": "x"},
        "steps": [], "records": {
            "pod_latency_started_seconds": {"unit": "s",
                "tags": {"source": "watch", "uncertainty_seconds": 0.0083},
                "samples": [3.9, 4.0, 4.1, 4.2, 4.21]},
            "pod_latency_api_started_seconds": {"unit": "s",
                "tags": {"source": "api", "uncertainty_seconds": 0.5},
                "samples": [4, 4, 4, 4, 4]},
            "pod_latency_scheduled_seconds": {"unit": "s",
                "tags": {"source": "watch", "uncertainty_seconds": 0.0083},
                "samples": [0.01, 0.02, 0.03]}}});
    p.file("a/r1/results.json", &r.to_string());
    let out = p.cmd().args(["report", "a/r1"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("r1: p50 4.10 s ± 0.008, p90 4.21 s ± 0.008, p99 4.21 s ± 0.008 (watch)\n"),
        "{s}"
    );
    assert!(
        s.contains("r1: p50 4 s ± 0.5, p90 4 s ± 0.5, p99 4 s ± 0.5 (api)"),
        "{s}"
    );
    assert!(
        s.contains("(watch); the uncertainty is over 10% of p50, p90, p99"),
        "the 20 ms phase: {s}"
    );
}
