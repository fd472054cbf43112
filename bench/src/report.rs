//! `scaffold report` over many runs and samples, with and without a plot.

use crate::common::*;
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// `scaffold report` over three runs: the table, and the table plus a PNG
/// chart; the peer computes the same statistics with Python's json and
/// statistics modules.
pub fn bench_report(a: &Args, bin: &Path) -> Vec<Row> {
    let n = if a.quick { 3 } else { 10 };
    let (series, samples) = (8, if a.quick { 1_000 } else { 10_000 });
    let dir = tempfile::tempdir().unwrap();
    let runs = report_runs(dir.path(), series, samples);
    let mut table = vec![];
    let mut rss = vec![];
    let mut plot = vec![];
    for _ in 0..n {
        let (s, m, ok) = run_measured(Command::new(bin).arg("report").args(&runs));
        assert!(ok, "scaffold report failed");
        table.push(s * 1000.0);
        rss.push(m);
        let png = dir.path().join("chart.png");
        let (s, _, ok) = run_measured(
            Command::new(bin)
                .arg("report")
                .args(&runs)
                .arg("--plot")
                .arg(&png),
        );
        assert!(ok && png.exists(), "scaffold report --plot failed");
        plot.push(s * 1000.0);
    }
    let py = "import json,statistics,sys\nfor f in sys.argv[1:]:\n  r=json.load(open(f+'/results.json'))\n  for k,v in r['records'].items():\n    x=sorted(v['samples']); q=statistics.quantiles(x,n=100)\n    print(k,len(x),statistics.mean(x),statistics.median(x),q[94],min(x),max(x),statistics.stdev(x))\n";
    let mut peer = vec![];
    let have_python = Command::new("python3").arg("-V").output().is_ok();
    if have_python {
        for _ in 0..n {
            let (s, _, ok) = run_measured(Command::new("python3").args(["-c", py]).args(&runs));
            assert!(ok, "python3 peer failed");
            peer.push(s * 1000.0);
        }
    }
    let t = stats(table);
    let what = format!("scaffold report of 3 runs x {series} series x {samples} samples");
    let history = bench_history(n, bin);
    vec![
        history,
        Row {
            name: "report_table",
            what: what.clone(),
            unit: "ms",
            target: Some((format!("<= 200 ms ({:.0})", t.median), t.median <= 200.0)),
            guard: Some(("under 1 s".into(), t.median < 1000.0)),
            peer: have_python.then(|| ("python3 json+statistics".into(), stats(peer))),
            ours: t,
            extra: json!({"series": series, "samples": samples}),
        },
        rss_row_of("report_rss", &format!("peak RSS of {what}"), stats(rss)),
        {
            let p = stats(plot);
            Row {
                name: "report_plot",
                what: format!("{what}, plus --plot chart.png"),
                unit: "ms",
                target: Some((format!("<= 1000 ms ({:.0})", p.median), p.median <= 1000.0)),
                guard: None,
                ours: p,
                peer: None,
                extra: json!({}),
            }
        },
    ]
}

/// `scaffold report --history` of 1,000 nightly runs (4 series of 20
/// samples each, a step at run 600): the change-point search.
fn bench_history(n: usize, bin: &Path) -> Row {
    let dir = tempfile::tempdir().unwrap();
    let runs = 1000;
    for i in 0..runs {
        let level = if i >= 600 { 9.1 } else { 9.5 };
        let mut records = serde_json::Map::new();
        for k in 0..4 {
            let v: Vec<f64> = (0..20)
                .map(|j| level + k as f64 + ((i * 31 + j * 17) % 23) as f64 / 100.0)
                .collect();
            records.insert(
                format!("metric_{k}"),
                json!({"unit": "Gbit/s", "samples": v}),
            );
        }
        let d = dir.path().join(format!("run-{i:04}"));
        std::fs::create_dir_all(&d).unwrap();
        let doc = json!({"schema": 1, "script": "main.rhai", "params": {}, "args": [],
            "start": format!("2026-01-01T00:00:00.000Z-{i:04}"), "end": null, "duration": 1.0,
            "outcome": "ok", "error": null, "steps": [],
            "environment": {"scaffold_version": "0.1.0", "os": "linux", "arch": "x86_64"},
            "records": records});
        std::fs::write(d.join("results.json"), doc.to_string()).unwrap();
    }
    let mut ours = vec![];
    for _ in 0..n {
        let (s, _, ok) = run_measured(
            Command::new(bin)
                .arg("report")
                .arg("--history")
                .arg(dir.path()),
        );
        assert!(ok, "scaffold report --history failed");
        ours.push(s * 1000.0);
    }
    let t = stats(ours);
    Row {
        name: "history_1000",
        what:
            "scaffold report --history of 1,000 runs x 4 series (change points, 999 shuffles each)"
                .into(),
        unit: "ms",
        target: Some((format!("<= 1000 ms ({:.0})", t.median), t.median <= 1000.0)),
        guard: Some(("under 3 s".into(), t.median < 3000.0)),
        peer: None,
        ours: t,
        extra: json!({"runs": runs, "series": 4}),
    }
}
