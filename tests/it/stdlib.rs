//! The stdlib modules on their own: netperf/iperf3 output parsing, pushes
//! to the pushgateway, Grafana dashboards and port-forward (the scenario
//! tests cover the rest through the xdp and pod2pod flows).

use crate::util::{Project, TestHttp};
use fakecluster::{FakeCluster, Options};
use serde_json::json;
use std::time::{Duration, Instant};

fn run(
    p: &Project,
    script: &str,
    fc: Option<&FakeCluster>,
    envs: &[(&str, String)],
) -> (bool, String, String) {
    p.file("s.rhai", script);
    let mut c = p.cmd();
    c.args(["script", "s.rhai", "--no-breakpoints"]);
    for (k, v) in envs {
        c.env(k, v);
    }
    if let Some(fc) = fc {
        c.env("KUBECONFIG", fc.kubeconfig());
    }
    let out = c.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A Service `name` in `ns` on `svc_port` whose pod's port is the test's
/// own HTTP server (the fake server forwards pod ports to 127.0.0.1).
fn service_to(fc: &FakeCluster, ns: &str, name: &str, svc_port: u16, server: &TestHttp) {
    fc.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
        .ok();
    fc.seed(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"],
                "ports": [{"name": "http", "containerPort": server.port}]}]}}}}))
    .unwrap();
    fc.seed(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"app": name}, "ports": [{"port": svc_port, "targetPort": "http"}]}}),
    )
    .unwrap();
    let t = Instant::now();
    while !fc
        .list("v1", "Pod")
        .iter()
        .any(|p| p["metadata"]["labels"]["app"] == name && p["status"]["phase"] == "Running")
    {
        if t.elapsed() > Duration::from_secs(60) {
            let pods: Vec<_> = fc
                .list("v1", "Pod")
                .into_iter()
                .map(|p| p["status"].clone())
                .collect();
            panic!("no {name} pod runs: {pods:#?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// netperf -k and -o output, iperf3 -J output, units, and errors that say
/// what was wrong.
#[test]
fn netperf_output_parsing() {
    let p = Project::new();
    let (ok, s, e) = run(
        &p,
        r#"
        import "netperf" as np;
        let k = np::parse_netperf("MIGRATED TCP STREAM TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to 10.0.0.2 () port 12866 AF_INET\nTHROUGHPUT=9387.45\nTHROUGHPUT_UNITS=10^6bits/s\nLOCAL_TRANSPORT_RETRANS=12\n");
        print(`k bps=${k.throughput_bps} retrans=${k.local_transport_retrans} units=${k.throughput_units}`);
        let rr = np::parse_netperf("MIN_LATENCY=21\nP50_LATENCY=33\nP99_LATENCY=58\nTRANSACTION_RATE=28011.23\n");
        print(`rr p50=${rr.p50_latency} p99=${rr.p99_latency} rate=${rr.transaction_rate}`);
        let csv = np::parse_netperf("MIGRATED TCP REQUEST/RESPONSE TEST\nMinimum Latency Microseconds,50th Percentile Latency Microseconds,Transaction Rate Tran/s\n21,33,28011.23\n");
        print(`csv p50=${csv["50th_percentile_latency_microseconds"]} rate=${csv["transaction_rate_tran/s"]}`);
        let gb = np::parse_netperf("THROUGHPUT=1.5\nTHROUGHPUT_UNITS=GBytes/sec\n");
        print(`bytes bps=${gb.throughput_bps}`);
        let j = np::parse_iperf3(`{"start": {}, "end": {"sum_sent": {"seconds": 10.0, "bits_per_second": 2.2e10, "retransmits": 3},
            "sum_received": {"seconds": 10.0, "bits_per_second": 2.1e10}}}`);
        print(`iperf3 bps=${j.throughput_bps} sent=${j.sent_bps} retrans=${j.retransmits} s=${j.seconds}`);
        try { np::parse_iperf3(`{"start": {}, "end": {}, "error": "unable to connect to server: Connection refused"}`); }
        catch (err) { print("iperf3 error: " + err); }
        try { np::parse_netperf("garbage"); } catch (err) { print("netperf error: " + err); }
        try { np::iperf3(#{from: "pod", server: "10.0.0.2"}); } catch (err) { print("no pod: " + err); }
        try { np::netperf(#{from: "nowhere", server: "10.0.0.2"}); } catch (err) { print("bad from: " + err); }
        np::record_all("t", j, #{mode: "xdp"});
        np::record_all("t", rr, #{mode: "xdp"});
        "#,
        None,
        &[],
    );
    assert!(ok, "{e}\n{s}");
    for want in [
        "k bps=9387450000.0 retrans=12.0 units=10^6bits/s",
        "rr p50=33.0 p99=58.0 rate=28011.23",
        "csv p50=33.0 rate=28011.23",
        "bytes bps=12000000000.0",
        "iperf3 bps=21000000000.0 sent=22000000000.0 retrans=3 s=10.0",
        "iperf3 error: ",
        "unable to connect to server: Connection refused",
        "netperf error: ",
        "cannot parse the output",
        "no pod: ",
        "needs `pod`",
        "bad from: ",
        "from must be \"pod\", \"session\" or \"host\"",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    let r = p.results_in(&p.path().join("artifacts"));
    let rec = &r["records"];
    assert_eq!(rec["t_throughput"]["value"], 21.0);
    assert_eq!(rec["t_throughput"]["unit"], "Gbit/s");
    assert_eq!(rec["t_throughput"]["tags"]["mode"], "xdp");
    assert_eq!(rec["t_retransmits"]["value"], 3);
    assert_eq!(rec["t_latency_p50_us"]["value"], 33.0);
    assert_eq!(rec["t_latency_p99_us"]["unit"], "us");
    assert_eq!(rec["t_transactions"]["value"], 28011.23);
}

/// netperf's TCP_CRR and UDP_STREAM output, and a test's CPU cost. The
/// netperf texts are hand-made (netperf cannot be installed here) from
/// the netperf 2.7 manual: "The Omni Tests", section "Omni Output
/// Selectors" (the -k KEY=VALUE form, LOCAL_SEND_CALLS, REMOTE_RECV_CALLS,
/// ELAPSED_TIME, the latency keys), and "TCP_CRR" under "Using Netperf
/// to Measure Request/Response" (a connection per transaction; the
/// transaction rate is connections per second).
#[test]
fn netperf_crr_udp_and_cpu_cost() {
    let p = Project::new();
    let (ok, s, e) = run(
        &p,
        r#"
        import "netperf" as np;
        let crr = np::parse_netperf("MIGRATED TCP Connect/Request/Response TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to 10.0.0.2 () port 12866 AF_INET\nMIN_LATENCY=61\nMEAN_LATENCY=98.40\nP50_LATENCY=92\nP90_LATENCY=120\nP99_LATENCY=201\nMAX_LATENCY=1502\nTRANSACTION_RATE=10160.73\n");
        print(`crr rate=${crr.transaction_rate} p99=${crr.p99_latency}`);
        let udp = np::parse_netperf("MIGRATED UDP STREAM TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to 10.0.0.2 () port 12866 AF_INET\nTHROUGHPUT=512.00\nTHROUGHPUT_UNITS=10^6bits/s\nLOCAL_SEND_SIZE=64\nLOCAL_SEND_CALLS=10000000\nREMOTE_RECV_CALLS=9500000\nELAPSED_TIME=10.00\n");
        print(`udp sent=${udp.pps_sent} received=${udp.pps_received} loss=${udp.loss_percent} udp=${udp.udp}`);
        // 2 nodes: 3 + 1 CPU-seconds over 10 s
        let cpu = #{seconds: 10.0,
            nodes: #{a: #{busy: 3.0, softirq: 1.0, busy_percent: 15.0}, b: #{busy: 1.0, softirq: 0.5, busy_percent: 5.0}},
            total: #{busy: 4.0, softirq: 1.5, busy_percent: 10.0}};
        let c = np::cpu_cost(cpu, udp);
        print(`per_mpkt=${c.total.per_mpkt} a=${c.nodes.a.per_mpkt} gbit=${c.total.per_gbit}`);
        let stream = #{throughput_bps: 8e9, seconds: 10.0};
        print(`per_gbit=${np::cpu_cost(cpu, stream).total.per_gbit}`);
        print(`per_mtrans=${np::cpu_cost(cpu, crr).total.per_mtrans}`);
        np::record_all("u", udp, #{});
        np::record_all("c", crr, #{});
        np::record_cpu("u", c, #{mode: "xdp"}, #{a: "lb"});
        try { np::netperf(#{server: "x", test: "TCP_MAERTS"}); } catch (err) { print("bad test: " + err); }
        "#,
        None,
        &[],
    );
    assert!(ok, "{e}\n{s}");
    for want in [
        "crr rate=10160.73 p99=201.0",
        "udp sent=1000000.0 received=950000.0 loss=5.0 udp=true",
        // 4 CPU-seconds for 9.5 million packets; node a 3 of them
        "per_mpkt=0.42105263157894735 a=0.3157894736842105 gbit=",
        // 80 Gbit moved
        "per_gbit=0.05",
        // 101,607 connections
        "per_mtrans=39.36",
        "bad test: ",
        "TCP_STREAM, TCP_RR, TCP_CRR or UDP_STREAM",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    let r = p.results_in(&p.path().join("artifacts"));
    let rec = &r["records"];
    assert_eq!(rec["u_pps_received"]["value"], 950000.0);
    assert_eq!(rec["u_pps_received"]["unit"], "packets/s");
    assert_eq!(rec["u_loss_percent"]["value"], 5.0);
    assert!(rec["u_jitter_ms"].is_null(), "netperf has no jitter");
    assert!(rec["u_retransmits"].is_null());
    assert_eq!(rec["c_transactions"]["value"], 10160.73);
    assert_eq!(rec["u_cpu_seconds"]["value"], 4.0);
    assert_eq!(rec["u_cpu_seconds_per_mpkt"]["unit"], "s/Mpacket");
    assert_eq!(rec["u_cpu_lb_seconds"]["value"], 3.0);
    assert_eq!(rec["u_cpu_lb_seconds"]["tags"]["node"], "a");
    assert!(
        rec["u_cpu_b_seconds"].is_null(),
        "nodes without a role are in the total only"
    );
}

/// netperf::push and grafana::push_roles reach the real pushgateway
/// (Debian's, as the fake's pod behind `monitoring/pushgateway`) through a
/// port-forward, with the series the Grafana dashboards query.
#[test]
fn pushgateway_pushes() {
    let Some(pgw) = crate::util::tool("prometheus-pushgateway", "pushgateway_pushes") else {
        return;
    };
    let p = Project::new();
    let fc = FakeCluster::start(Options {
        nodes: 2,
        ..Default::default()
    });
    let port = crate::util::free_port();
    crate::util::run_service(
        &fc,
        "monitoring",
        "pushgateway",
        json!({}),
        9091,
        port,
        p.path(),
        json!([pgw, format!("--web.listen-address=127.0.0.1:{port}")]),
    );
    let (ok, s, e) = run(
        &p,
        r#"
        import "grafana" as grafana;
        import "netperf" as np;
        label_node("kind-worker", #{"role.scaffolding/netperf-server": "true"});
        grafana::push_roles();
        np::push("pod2pod", #{throughput_bps: 9.4e9, retransmits: 12, p50_latency: 33.0, p90_latency: 41.0, p99_latency: 58.0},
            #{mode: "xdp", run: "1"});
        "#,
        Some(&fc),
        &[],
    );
    assert!(ok, "{e}\n{s}");
    // what the pushgateway now exposes, in its own format
    let body = ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    for want in [
        "scaffold_node_role{instance=\"\",job=\"scaffold_roles\",node=\"kind-worker\",role=\"netperf-server\"} 1\n",
        "scaffold_throughput_bits_per_second{instance=\"\",job=\"pod2pod\",mode=\"xdp\",run=\"1\"} 9.4e+09\n",
        "scaffold_retransmits{instance=\"\",job=\"pod2pod\",mode=\"xdp\",run=\"1\"} 12\n",
        "scaffold_latency_seconds{instance=\"\",job=\"pod2pod\",mode=\"xdp\",quantile=\"0.5\",run=\"1\"} 3.3e-05\n",
        "scaffold_latency_seconds{instance=\"\",job=\"pod2pod\",mode=\"xdp\",quantile=\"0.9\",run=\"1\"} 4.1e-05\n",
        "scaffold_latency_seconds{instance=\"\",job=\"pod2pod\",mode=\"xdp\",quantile=\"0.99\",run=\"1\"} 5.8e-05\n",
    ] {
        assert!(body.contains(want), "missing {want:?} in\n{body}");
    }
    // the pod2pod dashboard queries exactly these quantiles
    let dash = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("kustomize/grafana/dashboards/pod2pod.json"),
    )
    .unwrap();
    for q in ["0.5", "0.9", "0.99"] {
        assert!(
            dash.contains(&format!("quantile=\\\"{q}\\\"")),
            "dashboard lacks quantile {q}"
        );
    }
    assert!(!dash.contains("quantile=\\\"0.95\\\""));
}

/// grafana::add_dashboard from a file and from grafana.com (latest or a
/// given revision), `patch_only`, the errors; open_grafana's URL works.
#[test]
fn grafana_dashboards_and_port_forward() {
    let p = Project::new();
    let fc = FakeCluster::start(Options {
        nodes: 1,
        ..Default::default()
    });
    // grafana.com: dashboard 1860, latest revision 37
    let com = TestHttp::start(|_, path, _| match path {
        "/api/dashboards/1860" => (200, r#"{"id": 1860, "revision": 37}"#.into()),
        "/api/dashboards/1860/revisions/37/download"
        | "/api/dashboards/1860/revisions/5/download" => (
            200,
            format!(
                r#"{{"title": "Node Exporter Full {}", "panels": [], "templating": {{"list": [{{"datasource": "${{DS_PROMETHEUS}}"}}]}}}}"#,
                path.split('/').nth(5).unwrap()
            ),
        ),
        _ => (404, r#"{"message": "Dashboard not found"}"#.into()),
    });
    // Grafana itself, behind svc/grafana:3000
    let grafana = TestHttp::start(|_, _, _| (200, "grafana home".into()));
    service_to(&fc, "monitoring", "grafana", 3000, &grafana);
    p.file(
        "mine.json",
        r#"{"title": "mine", "panels": [{"datasource": "${DS_PROMETHEUS}"}]}"#,
    );
    p.file("broken.json", "{ not json");
    let (ok, s, e) = run(
        &p,
        r#"
        import "grafana" as grafana;
        try { grafana::add_dashboard(#{file: "mine.json"}); } catch (err) { print("no configmap: " + err); }
        apply(`
apiVersion: v1
kind: ConfigMap
metadata:
  name: grafana-dashboards
  namespace: monitoring
  labels: {app.kubernetes.io/name: grafana-dashboards, app.kubernetes.io/managed-by: scaffolding}
data: {}
`);
        grafana::add_dashboard(#{file: "mine.json"});
        grafana::add_dashboard(#{id: 1860});
        let f = grafana::add_dashboard(#{id: 1860, revision: 5, name: "rev5.json", patch_only: true});
        print("patch=" + f);
        try { grafana::add_dashboard(#{file: "broken.json"}); } catch (err) { print("broken: " + err); }
        try { grafana::add_dashboard(#{id: 999}); } catch (err) { print("unknown id: " + err); }
        try { grafana::add_dashboard(#{}); } catch (err) { print("nothing: " + err); }
        let data = get("configmap", "grafana-dashboards", #{namespace: "monitoring"}).data;
        print("keys=" + data.keys());
        print("mine uses prometheus: " + data["mine.json"].contains(`"datasource": "prometheus"`));
        print("1860 title: " + parse_json(data["grafana-1860.json"]).title);
        let pf = grafana::open_grafana();
        print("home=" + http("GET", "http://" + pf.address + ":" + pf.local_port + "/").body);
        "#,
        Some(&fc),
        &[(
            "SCAFFOLD_GRAFANA_COM_URL",
            format!("http://127.0.0.1:{}", com.port),
        )],
    );
    let all = format!("{s}{e}");
    assert!(ok, "{all}");
    for want in [
        "no configmap: ",
        "apply kustomize/grafana first",
        "broken: ",
        "unknown id: ",
        "404",
        "nothing: ",
        "give `file` (a JSON file) or `id` (a grafana.com dashboard id)",
        "mine uses prometheus: true",
        "1860 title: Node Exporter Full 37",
        "Grafana: http://127.0.0.1:",
        "(login admin / admin)",
        "home=grafana home",
    ] {
        assert!(all.contains(want), "missing {want:?} in\n{all}");
    }
    let keys = s.lines().find(|l| l.starts_with("keys=")).unwrap();
    assert!(
        keys.contains("mine.json") && keys.contains("grafana-1860.json") && !keys.contains("rev5"),
        "{keys}"
    );
    // patch_only wrote the patch (revision 5) and did not apply it
    let patch = s
        .lines()
        .find_map(|l| l.strip_prefix("patch="))
        .unwrap()
        .to_string();
    let text = std::fs::read_to_string(&patch).unwrap();
    assert!(
        text.contains("rev5.json") && text.contains("Node Exporter Full 5"),
        "{text}"
    );
    assert!(
        text.contains("app.kubernetes.io/managed-by: scaffolding"),
        "{text}"
    );
    let paths: Vec<String> = com.seen().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/api/dashboards/1860",
            "/api/dashboards/1860/revisions/37/download",
            "/api/dashboards/1860/revisions/5/download",
            "/api/dashboards/999"
        ]
    );
}

/// cilium::values: the Helm values of each mode, and what a mode needs.
#[test]
fn cilium_values_per_mode() {
    let p = Project::new();
    let (ok, s, e) = run(
        &p,
        r#"
        import "cilium" as cilium;
        print("nkpr=" + cilium::values(#{mode: "nkpr"}));
        print("kpr=" + cilium::values(#{mode: "kpr", api_host: "192.168.39.10", api_port: 8443}));
        print("xdp=" + cilium::values(#{mode: "xdp", api_host: "192.168.39.10", api_port: 8443, native_cidr: "10.244.0.0/16"}));
        try { cilium::values(#{mode: "ebpf"}); } catch (err) { print("bad mode: " + err); }
        try { cilium::values(#{mode: "kpr"}); } catch (err) { print("no api: " + err); }
        try { cilium::values(#{mode: "xdp", api_host: "h", api_port: 1}); } catch (err) { print("no cidr: " + err); }
        "#,
        None,
        &[],
    );
    assert!(ok, "{e}\n{s}");
    for want in [
        r#"nkpr=["ipam.mode=kubernetes"]"#,
        r#"kpr=["ipam.mode=kubernetes", "kubeProxyReplacement=true", "k8sServiceHost=192.168.39.10", "k8sServicePort=8443", "endpointRoutes.enabled=true"]"#,
        r#"xdp=["ipam.mode=kubernetes", "kubeProxyReplacement=true", "k8sServiceHost=192.168.39.10", "k8sServicePort=8443", "endpointRoutes.enabled=true", "routingMode=native", "ipv4NativeRoutingCIDR=10.244.0.0/16", "autoDirectNodeRoutes=true", "loadBalancer.mode=dsr", "loadBalancer.acceleration=native"]"#,
        "bad mode: cilium: unknown mode 'ebpf'; use nkpr, kpr or xdp",
        "no api: cilium: mode kpr replaces kube-proxy and needs api_host and api_port",
        "no cidr: cilium: mode xdp needs native_cidr",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
}

/// kube_proxy::remove saves the DaemonSet, ConfigMap and every node's
/// rules, deletes kube-proxy and drops the KUBE rules through node
/// sessions; a later run's restore(dir) puts kube-proxy back.
#[test]
fn kube_proxy_remove_and_restore() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::new();
    let bin = p.path().join("node-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let restored = p.path().join("restored");
    for (name, body) in [
        (
            "iptables-save",
            "echo '*nat'; echo ':KUBE-SERVICES - [0:0]'; echo '-A PREROUTING -j KUBE-SERVICES'; echo '-A POSTROUTING -j MASQUERADE'; echo 'COMMIT'".to_string(),
        ),
        ("iptables-restore", format!("cat >> {}", restored.display())),
    ] {
        let f = bin.join(name);
        std::fs::write(&f, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let fc = FakeCluster::start(Options {
        nodes: 2,
        image_bin: Some(bin),
        ..Default::default()
    });
    fc.seed_yaml(
        r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-proxy, namespace: kube-system}
data: {config.conf: "mode: iptables"}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-proxy, namespace: kube-system, labels: {k8s-app: kube-proxy}}
spec:
  selector: {matchLabels: {k8s-app: kube-proxy}}
  template:
    metadata: {labels: {k8s-app: kube-proxy}}
    spec:
      containers: [{name: kube-proxy, image: registry.k8s.io/kube-proxy:v1.33.4, command: [/usr/local/bin/kube-proxy]}]
"#,
    )
    .unwrap();
    let (ok, s, e) = run(
        &p,
        r#"
        import "kube_proxy" as kube_proxy;
        print("removed=" + kube_proxy::remove());
        print("again=" + kube_proxy::remove());
        "#,
        Some(&fc),
        &[],
    );
    assert!(ok, "{e}\n{s}");
    assert!(
        s.contains("removed=true") && s.contains("again=false"),
        "{s}"
    );
    assert!(fc
        .get("apps/v1", "DaemonSet", "kube-system", "kube-proxy")
        .is_none());
    assert!(fc
        .get("v1", "ConfigMap", "kube-system", "kube-proxy")
        .is_none());
    // each node's rules were saved, and written back without the KUBE ones
    let saved = p.path().join("artifacts/latest/kube-proxy");
    for n in ["kind-control-plane", "kind-worker"] {
        let t = std::fs::read_to_string(saved.join(format!("iptables-{n}.txt"))).unwrap();
        assert!(t.contains("-A PREROUTING -j KUBE-SERVICES"), "{t}");
    }
    let r = std::fs::read_to_string(&restored).unwrap();
    assert_eq!(r.matches("-A POSTROUTING -j MASQUERADE").count(), 2, "{r}");
    assert!(!r.contains("KUBE"), "{r}");
    // no session pod is left behind
    assert!(crate::util::leftovers(&fc).is_empty());

    let (ok, s, e) = run(
        &p,
        &format!(
            r#"
            import "kube_proxy" as kube_proxy;
            kube_proxy::restore("{}");
            "#,
            std::fs::canonicalize(&saved).unwrap().display()
        ),
        Some(&fc),
        &[],
    );
    assert!(ok, "{e}\n{s}");
    let ds = fc
        .get("apps/v1", "DaemonSet", "kube-system", "kube-proxy")
        .unwrap();
    assert_eq!(
        ds["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.k8s.io/kube-proxy:v1.33.4"
    );
    let cm = fc
        .get("v1", "ConfigMap", "kube-system", "kube-proxy")
        .unwrap();
    assert_eq!(cm["data"]["config.conf"], "mode: iptables");
}
