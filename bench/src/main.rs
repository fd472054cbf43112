//! The benchmark harness: every performance target measured next to its peer
//! or ceiling in the same run. Writes a table to stdout and JSON to
//! `target/bench.json`.
//!
//!   cargo run --release -p bench [-- --quick] [--filter NAME] [--check]
//!   cargo run --release -p bench -- --kubeconfig FILE   # ron vs session on a real cluster
//!
//! `--check` fails (exit 1) on gross regressions, judged only by ratios
//! against the peer or ceiling measured in the same run.

mod common;
mod engine;
mod fake;
mod load;
mod objects;
mod ready;
mod real;
mod report;
mod ron;
mod sweep;

use common::*;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut a = Args {
        quick: false,
        filter: None,
        check: false,
        kubeconfig: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--quick" => a.quick = true,
            "--check" => a.check = true,
            "--filter" => a.filter = it.next(),
            "--kubeconfig" => a.kubeconfig = it.next().map(PathBuf::from),
            "-h" | "--help" => {
                println!("usage: bench [--quick] [--filter NAME] [--check] [--kubeconfig FILE]");
                return;
            }
            other => {
                eprintln!(
                    "unknown argument {other}; usage: bench [--quick] [--filter NAME] [--check] [--kubeconfig FILE]"
                );
                std::process::exit(2);
            }
        }
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = Instant::now();
    // with --kubeconfig only the real-cluster rows run
    let want = |group: &str, names: &[&str]| {
        a.kubeconfig.is_none()
            && a.filter
                .as_deref()
                .is_none_or(|f| group.contains(f) || names.iter().any(|n| n.contains(f)))
    };
    let mut rows = vec![];
    if let Some(kc) = a.kubeconfig.clone() {
        // a real cluster: only what the fake server cannot tell
        let bin = scaffold_bin();
        rows.extend(real::bench_real(&a, &bin, &kc));
    }
    if want("engine", &["engine_start", "engine_rss", "check_all"]) {
        let bin = scaffold_bin();
        rows.extend(engine::bench_engine(&a, &bin));
    }
    if want(
        "fake",
        &[
            "fake_seed",
            "fake_list",
            "fake_exec",
            "fake_log_latency",
            "fake_portforward",
        ],
    ) {
        rows.extend(fake::bench_fake(&a));
    }
    if want(
        "ready",
        &["verify_ready", "wait_ready_latency", "wait_ready_rss"],
    ) {
        let bin = scaffold_bin();
        rows.extend(ready::bench_ready(&a, &bin));
    }
    if want(
        "ron",
        &[
            "ron_total",
            "ron_start_overhead",
            "ron_end_overhead",
            "session_exec",
            "session_exec_proxy",
            "session_vs_ron",
            "auto_copy",
            "kubectl_cp",
            "ron_rss",
        ],
    ) {
        let bin = scaffold_bin();
        rows.extend(ron::bench_ron(&a, &bin));
    }
    if want(
        "objects",
        &[
            "apply_default",
            "apply_raised",
            "wait_for_latency",
            "port_forward",
            "port_forward_rss",
        ],
    ) {
        let bin = scaffold_bin();
        rows.extend(objects::bench_objects(&a, &bin));
    }
    if want("report", &["report_table", "report_rss", "report_plot"]) {
        let bin = scaffold_bin();
        rows.extend(report::bench_report(&a, &bin));
    }
    if want(
        "load",
        &[
            "load_create_1000",
            "load_rate_100",
            "measure_pods_wall",
            "measure_pods_rss",
        ],
    ) {
        let bin = scaffold_bin();
        rows.extend(load::bench_load(&a, &bin));
    }
    if want("sweep", &["sweep_overhead", "sweep_report"]) {
        let bin = scaffold_bin();
        rows.extend(sweep::bench_sweep(&a, &bin));
    }
    if let Some(f) = &a.filter {
        rows.retain(|r| {
            r.name.contains(f.as_str())
                || [
                    "engine", "fake", "ready", "objects", "ron", "report", "real", "sweep", "load",
                ]
                .iter()
                .any(|g| f.starts_with(g))
        });
    }
    println!(
        "{:<18} {:>12} {:>8}  {:<34} {:>10}  {:<44} guard",
        "benchmark", "median", "unit", "peer / ceiling", "ratio", "target"
    );
    for r in &rows {
        let (pn, pv) = match &r.peer {
            Some((n, p)) => (n.clone(), format!("{:.2}", p.median)),
            None => ("-".into(), "".into()),
        };
        let ratio = r
            .ratio()
            .map(|x| format!("{x:.3}"))
            .unwrap_or_else(|| "-".into());
        let target = r
            .target
            .as_ref()
            .map(|(d, m)| format!("{} {d}", if *m { "MET" } else { "MISSED" }))
            .unwrap_or_else(|| "-".into());
        let guard = r
            .guard
            .as_ref()
            .map(|(d, ok)| format!("{} {d}", if *ok { "ok" } else { "REGRESSION" }))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<18} {:>12.2} {:>8}  {:<34} {:>10}  {:<44} {}",
            r.name,
            r.ours.median,
            r.unit,
            format!("{pn} {pv}"),
            ratio,
            target,
            guard
        );
    }
    let out = json!({
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim()},
        "quick": a.quick, "seconds": started.elapsed().as_secs_f64(),
        "results": rows.iter().map(|r| r.json()).collect::<Vec<_>>(),
    });
    let path = root().join("target/bench.json");
    let _ = std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap());
    println!(
        "\n{} benchmarks in {:.1}s; JSON in {}",
        rows.len(),
        started.elapsed().as_secs_f64(),
        path.display()
    );
    if a.check {
        let bad: Vec<&Row> = rows
            .iter()
            .filter(|r| r.guard.as_ref().is_some_and(|(_, ok)| !ok))
            .collect();
        if !bad.is_empty() {
            for r in bad {
                eprintln!("regression: {}: {}", r.name, r.guard.as_ref().unwrap().0);
            }
            std::process::exit(1);
        }
        println!("regression guard: ok");
    }
}
