//! `scaffold sweep` overhead and `scaffold report SWEEP_DIR` over a large
//! sweep, the report side by side with Python + scipy computing the same
//! per-run medians and Mann–Whitney U tests from the same files.

use crate::common::*;
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// The sweep's own time: its wall time minus the runs' (each run's
/// lifetime as the sweep measured it, in sweep.json), for a 3×2 grid × 5
/// repeats of a script that records one number.
pub fn bench_sweep(a: &Args, bin: &Path) -> Vec<Row> {
    let n = if a.quick { 2 } else { 5 };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.rhai"),
        r#"record("x", param("size", 1));"#,
    )
    .unwrap();
    let mut overhead = vec![];
    let mut walls = vec![];
    for i in 0..n {
        let art = dir.path().join(format!("art{i}"));
        let t = std::time::Instant::now();
        let out = Command::new(bin)
            .current_dir(dir.path())
            .args([
                "sweep",
                "s.rhai",
                "--grid",
                "mode=a,b,c",
                "--grid",
                "size=1,2",
                "--repeat",
                "5",
                "--artifacts",
            ])
            .arg(&art)
            .output()
            .unwrap();
        let wall = t.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "sweep failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sweep = std::fs::read_dir(&art)
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path();
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(sweep.join("sweep.json")).unwrap())
                .unwrap();
        let runs: f64 = j["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["duration"].as_f64().unwrap())
            .sum();
        overhead.push((wall - runs) * 1000.0);
        walls.push(wall * 1000.0);
    }
    let o = stats(overhead);
    let w = stats(walls);
    let mut rows = vec![Row {
        name: "sweep_overhead",
        what: "scaffold sweep of a 3x2 grid x 5 repeats (30 runs) of a trivial script: wall time minus the runs' own time".into(),
        unit: "ms",
        target: Some((format!("<= 500 ms ({:.0})", o.median), o.median <= 500.0)),
        guard: Some(("under 2 s".into(), o.median < 2000.0)),
        peer: Some(("the whole sweep's wall time".into(), w)),
        ours: o,
        extra: json!({"runs": 30}),
    }];
    rows.extend(bench_sweep_report(a, bin));
    rows.push(bench_sweep_html(a, bin));
    rows
}

/// A sweep directory of `runs` runs over three modes with `series` series
/// of `samples` samples each.
fn sweep_dir(dir: &Path, runs: usize, series: usize, samples: usize) {
    let modes = ["nkpr", "kpr", "xdp"];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut entries = vec![];
    for i in 0..runs {
        let mode = modes[i % modes.len()];
        let mut records = serde_json::Map::new();
        for k in 0..series {
            let v: Vec<f64> = (0..samples)
                .map(|_| {
                    let noise = (xorshift(&mut x) % 1000) as f64 / 1000.0;
                    10.0 + (i % 3) as f64 * 0.05 + k as f64 + noise
                })
                .collect();
            // a sample every 10 ms of the run, as record() keeps them
            let times: Vec<i64> = (0..samples as i64)
                .map(|j| 1_764_583_200_000 + j * 10)
                .collect();
            records.insert(
                format!("metric_{k}"),
                json!({"unit": "Gbit/s", "samples": v, "times": times}),
            );
        }
        let d = format!("run-{:03}", i + 1);
        std::fs::create_dir_all(dir.join(&d)).unwrap();
        let doc = json!({"schema": 1, "script": "main.rhai", "params": {"mode": mode},
            "args": [], "start": "2026-12-01T10:00:00.000Z", "end": "2026-12-01T10:05:00.000Z",
            "duration": 300.0, "outcome": "ok", "error": null, "steps": [],
            "environment": {"scaffold_version": "0.1.0", "os": "linux", "arch": "x86_64", "hostname": "bench"},
            "records": records});
        std::fs::write(dir.join(&d).join("results.json"), doc.to_string()).unwrap();
        entries.push(
            json!({"index": i + 1, "point": {"mode": mode}, "repeat": i / 3 + 1, "dir": d,
            "status": "ok", "exit_code": 0, "duration": 300.0}),
        );
    }
    let sweep = json!({"schema": 1, "script": "/bench/main.rhai", "created": "2026-12-01T10:00:00.000Z",
        "grid": [{"key": "mode", "values": modes}], "repeat": runs / 3, "order": "interleaved", "seed": 1,
        "params": {}, "args": [], "runs": entries});
    std::fs::write(dir.join("sweep.json"), sweep.to_string()).unwrap();
}

/// What the report computes, in Python with scipy: per run the median of
/// each series, per metric and pair of modes the U test.
const PY: &str = r#"
import json, statistics, sys, itertools
from scipy.stats import mannwhitneyu
d = sys.argv[1]
s = json.load(open(d + '/sweep.json'))
vals = {}
for r in s['runs']:
    res = json.load(open(d + '/' + r['dir'] + '/results.json'))
    for k, v in res['records'].items():
        vals.setdefault(k, {}).setdefault(r['point']['mode'], []).append(statistics.median(v['samples']))
for k, g in vals.items():
    for a, b in itertools.combinations(sorted(g), 2):
        print(k, a, b, statistics.median(g[a]), statistics.median(g[b]), mannwhitneyu(g[a], g[b], alternative='two-sided').pvalue)
"#;

fn bench_sweep_report(a: &Args, bin: &Path) -> Vec<Row> {
    let n = if a.quick { 3 } else { 10 };
    let (runs, series, samples) = (30, 8, if a.quick { 1_000 } else { 10_000 });
    let dir = tempfile::tempdir().unwrap();
    sweep_dir(dir.path(), runs, series, samples);
    let mut ours = vec![];
    for _ in 0..n {
        let (s, _, ok) = run_measured(
            Command::new(bin)
                .arg("report")
                .arg(dir.path())
                .args(["-o", "json"]),
        );
        assert!(ok, "scaffold report of a sweep failed");
        ours.push(s * 1000.0);
    }
    let have_scipy = Command::new("python3")
        .args(["-c", "import scipy.stats"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    let mut peer = vec![];
    if have_scipy {
        for _ in 0..n {
            let (s, _, ok) = run_measured(Command::new("python3").args(["-c", PY]).arg(dir.path()));
            assert!(ok, "python3 + scipy peer failed");
            peer.push(s * 1000.0);
        }
    } else {
        eprintln!("sweep_report: python3 with scipy is not installed (pip install scipy): no peer");
    }
    let t = stats(ours);
    vec![Row {
        name: "sweep_report",
        what: format!(
            "scaffold report -o json of a sweep: {runs} runs x {series} series x {samples} samples"
        ),
        unit: "ms",
        target: Some((format!("<= 500 ms ({:.0})", t.median), t.median <= 500.0)),
        guard: Some(("under 2 s".into(), t.median < 2000.0)),
        peer: have_scipy.then(|| ("python3 json+statistics+scipy".into(), stats(peer))),
        ours: t,
        extra: json!({"runs": runs, "series": series, "samples": samples}),
    }]
}

/// `scaffold report SWEEP --html` of 30 runs x 8 series x 10,000 samples
/// (also under --quick: the size is the point): time, and the page's size.
fn bench_sweep_html(a: &Args, bin: &Path) -> Row {
    let n = if a.quick { 3 } else { 10 };
    let (runs, series, samples) = (30, 8, 10_000);
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("sweep");
    std::fs::create_dir_all(&sweep).unwrap();
    sweep_dir(&sweep, runs, series, samples);
    let page = dir.path().join("report.html");
    let mut ours = vec![];
    for _ in 0..n {
        let (s, _, ok) = run_measured(
            Command::new(bin)
                .arg("report")
                .arg(&sweep)
                .arg("--html")
                .arg(&page),
        );
        assert!(ok, "scaffold report --html of a sweep failed");
        ours.push(s * 1000.0);
    }
    let bytes = std::fs::metadata(&page).map(|m| m.len()).unwrap_or(0);
    let t = stats(ours);
    let mb = bytes as f64 / 1e6;
    Row {
        name: "sweep_html",
        what: format!(
            "scaffold report --html of a sweep: {runs} runs x {series} series x {samples} samples ({mb:.2} MB page)"
        ),
        unit: "ms",
        target: Some((
            format!("<= 1000 ms ({:.0}), page < 5 MB ({mb:.2})", t.median),
            t.median <= 1000.0 && mb < 5.0,
        )),
        guard: Some(("under 3 s and 5 MB".into(), t.median < 3000.0 && mb < 5.0)),
        peer: None,
        ours: t,
        extra: json!({"runs": runs, "series": series, "samples": samples, "bytes": bytes}),
    }
}
