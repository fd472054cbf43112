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
mod datapath;
mod engine;
mod fake;
mod load;
mod metrics;
mod objects;
mod ready;
mod real;
mod report;
mod ron;
mod sweep;

use common::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    let Some(a) = parse_args() else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = Instant::now();
    let rows = run_groups(&a);
    print_table(&rows);
    write_json(&a, &rows, started);
    if a.check {
        check(&rows);
    }
}

/// The command line; None after --help.
fn parse_args() -> Option<Args> {
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
                return None;
            }
            other => {
                eprintln!(
                    "unknown argument {other}; usage: bench [--quick] [--filter NAME] [--check] [--kubeconfig FILE]"
                );
                std::process::exit(2);
            }
        }
    }
    Some(a)
}

/// A group of benchmarks: its name, its rows' names, what runs it.
type Group = (
    &'static str,
    &'static [&'static str],
    fn(&Args, &Path) -> Vec<Row>,
);

/// Every group on the fake server, in the order they run.
const GROUPS: &[Group] = &[
    (
        "engine",
        &["engine_start", "engine_rss", "check_all"],
        engine::bench_engine,
    ),
    (
        "fake",
        &[
            "fake_seed",
            "fake_list",
            "fake_exec",
            "fake_log_latency",
            "fake_portforward",
        ],
        |a, _| fake::bench_fake(a),
    ),
    (
        "ready",
        &["verify_ready", "wait_ready_latency", "wait_ready_rss"],
        ready::bench_ready,
    ),
    (
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
        ron::bench_ron,
    ),
    (
        "objects",
        &[
            "apply_default",
            "apply_raised",
            "wait_for_latency",
            "port_forward",
            "port_forward_rss",
        ],
        objects::bench_objects,
    ),
    (
        "report",
        &["history_1000", "report_table", "report_rss", "report_plot"],
        report::bench_report,
    ),
    (
        "load",
        &[
            "load_create_1000",
            "load_bookkeeping",
            "load_rate_100",
            "measure_pods_wall",
            "measure_pods_rss",
        ],
        load::bench_load,
    ),
    (
        "sweep",
        &["sweep_overhead", "sweep_report", "sweep_html"],
        sweep::bench_sweep,
    ),
    ("metrics", &["metrics_profile_20"], metrics::bench_metrics),
    (
        "fingerprint",
        &["fingerprint_100"],
        ready::bench_fingerprint,
    ),
    (
        "datapath",
        &["cpu_sampling", "probe_resolution"],
        datapath::bench_datapath,
    ),
];

/// Every group the filter (and --kubeconfig) asks for.
fn run_groups(a: &Args) -> Vec<Row> {
    let mut rows = vec![];
    if let Some(kc) = a.kubeconfig.clone() {
        // a real cluster: only what the fake server cannot tell
        rows.extend(real::bench_real(a, &scaffold_bin(), &kc));
    }
    // with --kubeconfig only the real-cluster rows run
    let want = |group: &str, names: &[&str]| {
        a.kubeconfig.is_none()
            && a.filter
                .as_deref()
                .is_none_or(|f| group.contains(f) || names.iter().any(|n| n.contains(f)))
    };
    for (group, names, run) in GROUPS {
        if want(group, names) {
            rows.extend(run(a, &scaffold_bin()));
        }
    }
    if let Some(f) = &a.filter {
        rows.retain(|r| {
            r.name.contains(f.as_str())
                || [
                    "engine", "fake", "ready", "objects", "ron", "report", "real", "sweep", "load",
                    "datapath",
                ]
                .iter()
                .any(|g| f.starts_with(g))
        });
    }
    rows
}

/// One line per benchmark: median, peer, ratio, target, guard.
fn print_table(rows: &[Row]) {
    println!(
        "{:<18} {:>12} {:>8}  {:<34} {:>10}  {:<44} guard",
        "benchmark", "median", "unit", "peer / ceiling", "ratio", "target"
    );
    for r in rows {
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
}

/// target/bench.json: the machine, the sizes, every row.
fn write_json(a: &Args, rows: &[Row], started: Instant) {
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
}

/// Exit 1 when a regression guard fails.
fn check(rows: &[Row]) {
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
