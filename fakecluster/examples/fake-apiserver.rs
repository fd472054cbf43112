//! A fake Kubernetes API server to try scaffold scripts without a cluster.
//!
//!   cargo run -p fakecluster --example fake-apiserver -- --nodes 3 --kubeconfig /tmp/fake.kubeconfig
//!   scaffold script scenarios/hello/main.rhai -k /tmp/fake.kubeconfig
//!
//! Pods with alpine or busybox images run their command as local processes.
//! `--real-monitoring` runs the monitoring tree's Prometheus, pushgateway
//! and node-exporter images as Debian's programs (kustomize/monitoring-fake).
//! `--phase-delay-ms MS` makes each pod's kubelet phases (initialized,
//! started, ready) take that long, as on a real node.

fn main() {
    let mut args = std::env::args().skip(1);
    let mut opts = fakecluster::Options {
        nodes: 3,
        ..Default::default()
    };
    let mut out = std::path::PathBuf::from("fake.kubeconfig");
    let mut seed_pods = 0usize;
    let mut phase_ms = 0u64;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--nodes" => {
                opts.nodes = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--kubeconfig" => out = args.next().map(Into::into).unwrap_or_else(|| usage()),
            "--port" => {
                opts.port = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--name" => opts.cluster_name = args.next().unwrap_or_else(|| usage()),
            "--client-cert" => opts.auth = fakecluster::Auth::ClientCert,
            "--ipv6" => opts.ipv6 = true,
            "--real-monitoring" => {
                opts.image_programs = fakecluster::Options::monitoring_programs()
            }
            "--seed-pods" => {
                seed_pods = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--phase-delay-ms" => {
                phase_ms = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "-h" | "--help" => usage(),
            other => {
                eprintln!("unknown argument {other}");
                usage()
            }
        }
    }
    let fc = fakecluster::FakeCluster::start(opts);
    if phase_ms > 0 {
        let d = std::time::Duration::from_millis(phase_ms);
        fc.set_phase_delays(d, d, d);
    }
    if seed_pods > 0 {
        fc.seed_ready_pods(seed_pods, seed_pods.div_ceil(100), "seeded");
    }
    if let Err(e) = fc.write_kubeconfig_to(&out) {
        eprintln!("cannot write {}: {e}", out.display());
        std::process::exit(1);
    }
    println!(
        "fake API server ready at {}; kubeconfig written to {} (Ctrl-C stops it)",
        fc.url(),
        out.display()
    );
    // Ctrl-C or SIGTERM (kill, a CI job's end): shut down, which stops
    // the pods' processes (they would outlive an abrupt exit)
    fc.runtime().block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    });
    fc.shutdown();
}

fn usage() -> ! {
    eprintln!("usage: fake-apiserver [--nodes N] [--kubeconfig PATH] [--port N] [--name NAME] [--client-cert] [--ipv6] [--real-monitoring] [--seed-pods N] [--phase-delay-ms MS]");
    std::process::exit(2);
}
