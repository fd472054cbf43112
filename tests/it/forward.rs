//! Port-forwards, registry access and Prometheus queries against the fake
//! API server (its "pods" are local processes on 127.0.0.1).

use crate::util::{free_port, run_service, wait_listening, Project};
use fakecluster::{FakeCluster, Options};
use predicates::prelude::*;
use serde_json::json;
use std::time::{Duration, Instant};

fn cluster(p: &Project) -> FakeCluster {
    let fc = FakeCluster::start(Options {
        nodes: 1,
        ..Default::default()
    });
    fc.write_kubeconfig_to(&p.path().join("kubeconfig"))
        .unwrap();
    fc
}

/// A Deployment whose pod serves `dir` over HTTP on `port`, and a Service.
#[allow(clippy::too_many_arguments)]
fn http_service(
    fc: &FakeCluster,
    ns: &str,
    name: &str,
    labels: serde_json::Value,
    svc_port: u16,
    port: u16,
    dir: &std::path::Path,
    script: Option<&str>,
) {
    let cmd = match script {
        Some(s) => json!(["python3", "-c", s, port.to_string()]),
        None => json!([
            "python3",
            "-m",
            "http.server",
            port.to_string(),
            "--bind",
            "127.0.0.1"
        ]),
    };
    run_service(fc, ns, name, labels, svc_port, port, dir, cmd);
}

#[test]
fn port_forward_to_a_service_many_connections_and_reconnect() {
    let p = Project::new();
    let fc = cluster(&p);
    let port = free_port();
    std::fs::write(p.path().join("hello.txt"), "hello through the forward").unwrap();
    http_service(&fc, "web", "files", json!({}), 80, port, p.path(), None);
    p.file(
        "s.rhai",
        r#"
        let pf = port_forward("svc/files", 80, #{namespace: "web"});
        print("addr=" + pf.address);
        let get = |n| sh_output(["python3", "-c", "import urllib.request,sys; print(urllib.request.urlopen('http://127.0.0.1:' + sys.argv[1] + '/hello.txt').read().decode())", `${n}`]);
        for i in 0..5 { print(get.call(pf.local_port)); }
        // the pod goes away; the Deployment makes a new one; the next connection follows it
        let old = list("pods", #{namespace: "web"})[0].metadata.name;
        delete("pod", old, #{namespace: "web", wait: true});
        wait_until(20, 0.1, || list("pods", #{namespace: "web"}).filter(|x| x.status.phase == "Running" && x.metadata.name != old).len() > 0);
        sleep(0.5);
        print("after=" + get.call(pf.local_port));
        pf.stop();
        let r = with_port_forward("svc/files", 80, #{namespace: "web"}, |addr| addr);
        print("scoped=" + r);
        "#,
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{s}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("addr=127.0.0.1"), "{s}");
    assert_eq!(s.matches("hello through the forward").count(), 6, "{s}");
    assert!(s.contains("after=hello through the forward"), "{s}");
    assert!(s.contains("scoped=127.0.0.1:"), "{s}");
    // errors that name the problem
    p.file(
        "e.rhai",
        r#"port_forward("svc/files", 81, #{namespace: "web"});"#,
    );
    p.cmd()
        .args(["script", "e.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "service web/files has no port 81 (ports: 80)",
        ));
    p.file("f.rhai", r#"port_forward("job/files", 80);"#);
    p.cmd()
        .args(["script", "f.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "give pod/NAME, svc/NAME or deploy/NAME",
        ));
}

/// kubectl's forms: `TARGET [LOCAL:]REMOTE...` with pod/, svc/ and deploy/
/// targets, on the command line and in `port_forward()`.
#[test]
fn port_forward_kubectl_forms() {
    let p = Project::new();
    let fc = cluster(&p);
    let port = free_port();
    std::fs::write(p.path().join("hello.txt"), "hello").unwrap();
    http_service(&fc, "web", "files", json!({}), 80, port, p.path(), None);
    let (l1, l2) = (free_port(), free_port());
    p.file(
        "s.rhai",
        &format!(
            r#"
        let get = |n| sh_output(["python3", "-c", "import urllib.request,sys; print(urllib.request.urlopen('http://127.0.0.1:' + sys.argv[1] + '/hello.txt').read().decode())", `${{n}}`]);
        let a = port_forward("deploy/files", "{l1}:{port}", #{{namespace: "web"}});
        print("deploy=" + a.local_port + " " + get.call(a.local_port));
        let b = port_forward("svc/files", ":80", #{{namespace: "web"}});
        print("free=" + (b.local_port != 80) + " " + get.call(b.local_port));
        let c = port_forward("svc/files", "80", #{{namespace: "web", local_port: {l2}}});
        print("option=" + c.local_port);
        "#
        ),
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{s}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains(&format!("deploy={l1} hello")), "{s}");
    assert!(s.contains("free=true hello"), "{s}");
    assert!(s.contains(&format!("option={l2}")), "{s}");
    p.file(
        "twice.rhai",
        r#"port_forward("svc/files", "8080:80", #{namespace: "web", local_port: 9});"#,
    );
    p.cmd()
        .args(["script", "twice.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the local port is given twice"));
    p.file(
        "bad.rhai",
        r#"port_forward("svc/files", "http", #{namespace: "web"});"#,
    );
    p.cmd()
        .args(["script", "bad.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "use REMOTE, LOCAL:REMOTE or :REMOTE",
        ));
    // the command line: namespace flag first, deploy/ target, two ports
    let (l3, l4) = (free_port(), free_port());
    let mut child = p
        .std_cmd()
        .args([
            "port-forward",
            "-n",
            "web",
            "deploy/files",
            &format!("{l3}:{port}"),
            &format!("{l4}:{port}"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_listening(l3);
    wait_listening(l4);
    let body = |l: u16| {
        let o = std::process::Command::new("python3")
            .args(["-c", &format!("import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{l}/hello.txt').read().decode())")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(body(l3), "hello");
    assert_eq!(body(l4), "hello");
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(0));
    p.cmd()
        .args(["port-forward", "pod/x", "80", "81", "--local-port", "9000"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--local-port goes with one REMOTE port",
        ));
}

#[test]
fn registry_access() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file("r.rhai", r#"exec_with_registry("true");"#);
    p.cmd()
        .args(["script", "r.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no registry Service found"));
    let port = free_port();
    std::fs::write(p.path().join("v2"), "registry-ok").unwrap();
    let labels =
        json!({"app.kubernetes.io/part-of": "scaffolding", "app.kubernetes.io/name": "registry"});
    http_service(
        &fc,
        "registry",
        "registry",
        labels.clone(),
        5000,
        port,
        p.path(),
        None,
    );
    let local = free_port();
    p.file(
        "s.rhai",
        &format!(
            r#"
        let r = exec_with_registry(["sh", "-c", "echo $REGISTRY; python3 -c \"import urllib.request,os; print(urllib.request.urlopen('http://' + os.environ['REGISTRY'] + '/v2').read().decode())\""], #{{local_port: {local}}});
        print(r.stdout);
        with_registry(#{{local_port: {local}}}, |reg| {{ print("closure=" + reg); sh("echo env=$REGISTRY"); }});
        sh("echo after=${{REGISTRY:-unset}}");
        "#
        ),
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{s}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        s.contains(&format!("localhost:{local}\nregistry-ok")),
        "{s}"
    );
    assert!(
        s.contains(&format!("closure=localhost:{local}"))
            && s.contains(&format!("env=localhost:{local}")),
        "{s}"
    );
    assert!(s.contains("after=unset"), "{s}");
    // the port is taken: a clear error
    let _hold = std::net::TcpListener::bind(("127.0.0.1", local)).unwrap();
    p.file(
        "t.rhai",
        &format!("exec_with_registry(\"true\", #{{local_port: {local}}});"),
    );
    p.cmd()
        .args(["script", "t.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "local port {local} is already in use"
        )));
    // two registries: a clear error
    fc.seed(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "registry2", "namespace": "default", "labels": labels},
        "spec": {"selector": {"app": "x"}, "ports": [{"port": 5000}]}})).unwrap();
    p.cmd()
        .args(["script", "r.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "2 Services carry the registry labels",
        ));
}

/// Whether Prometheus on 127.0.0.1:`port` answers 200 on /-/ready.
fn prometheus_ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = c.write_all(b"GET /-/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    let _ = c.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

/// Debian's prometheus, pushgateway and node-exporter as the fake's pods
/// behind `monitoring/prometheus`, `monitoring/pushgateway` and
/// `monitoring/node-exporter`, Prometheus scraping the other two every
/// second. False (after a SKIP line) when they are not installed.
fn real_monitoring(p: &Project, fc: &FakeCluster, test: &str) -> bool {
    let (Some(prom), Some(pgw), Some(nodeexp)) = (
        crate::util::tool("prometheus", test),
        crate::util::tool("prometheus-pushgateway", test),
        crate::util::tool("prometheus-node-exporter", test),
    ) else {
        return false;
    };
    let (pp, gp, np) = (free_port(), free_port(), free_port());
    let cfg = p.file(
        "prometheus.yml",
        &format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             scrape_configs:\n\
             - job_name: pushgateway\n  honor_labels: true\n  static_configs: [{{targets: ['127.0.0.1:{gp}']}}]\n\
             - job_name: node\n  static_configs: [{{targets: ['127.0.0.1:{np}']}}]\n"
        ),
    );
    let listen = |port: u16| format!("--web.listen-address=127.0.0.1:{port}");
    run_service(
        fc,
        "monitoring",
        "pushgateway",
        json!({}),
        9091,
        gp,
        p.path(),
        json!([pgw, listen(gp)]),
    );
    run_service(
        fc,
        "monitoring",
        "node-exporter",
        json!({}),
        9100,
        np,
        p.path(),
        json!([nodeexp, listen(np)]),
    );
    run_service(
        fc,
        "monitoring",
        "prometheus",
        json!({}),
        9090,
        pp,
        p.path(),
        json!([
            prom,
            format!("--config.file={}", cfg.display()),
            format!("--storage.tsdb.path={}", p.path().join("tsdb").display()),
            listen(pp)
        ]),
    );
    // Prometheus listens before it is ready (503 until its storage is
    // open): queries start once /-/ready says so
    let t = Instant::now();
    while !prometheus_ready(pp) {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "Prometheus never became ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// `collect_metrics` over the run's window against the real Prometheus:
/// a profile file, a series per label set with its labels as tags, a
/// one-series entry under its own name, the summary, and a query
/// Prometheus refuses named by its entry.
#[test]
fn metrics_profiles_are_collected_over_the_window() {
    let p = Project::new();
    let fc = cluster(&p);
    if !real_monitoring(&p, &fc, "metrics_profiles_are_collected_over_the_window") {
        return;
    }
    p.file(
        "profile.yaml",
        "- {name: targets_up, query: 'sum(up)'}\n- {name: up, query: up}\n- {name: node_load1, query: node_load1, unit: load}\n",
    );
    p.file(
        "s.rhai",
        r#"
        wait_until(60, 0.5, || prom_query("up").len() == 2);
        sleep(4.0);
        let c = collect_metrics("profile.yaml", #{step: 1});
        print("step=" + c.step + " series=" + c.series.len());
        print("points=" + c.series.targets_up);
        // the profiles that ship: valid PromQL; node-exporter's answer
        let n = collect_metrics(root_dir() + "/stdlib/metrics/node.yaml", #{step: 1, record: false});
        print("node=" + n.series.keys().filter(|k| k.starts_with("node_memory_used_bytes")).len());
        for f in ["apiserver", "cilium", "xdp"] {
            collect_metrics(root_dir() + "/stdlib/metrics/" + f + ".yaml", #{step: 1, record: false});
        }
        "#,
    );
    let out = p
        .cmd()
        .args(["script", "s.rhai"])
        .env("SCAFFOLD_ROOT", env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let (s, e) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{e}{s}");
    assert!(s.contains("step=1.0 series=4"), "{s}");
    assert!(s.contains("node=1"), "{s}");
    let r = p.results();
    let rec = &r["records"];
    let points = rec["targets_up"]["samples"]
        .as_array()
        .map_or(0, |a| a.len());
    assert!(points >= 4, "{rec}");
    assert!(
        rec["targets_up"]["samples"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == 2.0),
        "{rec}"
    );
    let node_up = rec
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.starts_with("up{") && k.contains("job=\"node\""))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no up{{job=node}} series: {rec}"));
    assert_eq!(node_up["tags"]["job"], "node", "{node_up}");
    assert_eq!(rec["node_load1"]["unit"], "load", "{rec}");
    // --metrics-profile: collected as the run ends, also when it fails
    p.file(
        "fails.rhai",
        r#"wait_until(60, 0.5, || prom_query("up").len() == 2); sleep(2.0); throw "boom";"#,
    );
    let out = p
        .cmd()
        .args(["script", "fails.rhai", "--metrics-profile", "profile.yaml"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains("--metrics-profile: 4 series of"), "{e}");
    let r = p.results();
    assert_eq!(r["outcome"], "error");
    assert!(r["records"]["targets_up"]["samples"].is_array(), "{r}");
    // a profile with a typo is a usage error before the run starts
    p.file("typo.yaml", "- {name: x, qeury: up}\n");
    let out = p
        .cmd()
        .args(["script", "fails.rhai", "--metrics-profile", "typo.yaml"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(
        e.contains("--metrics-profile: ") && e.contains("unknown field `qeury`"),
        "{e}"
    );
    // a query Prometheus refuses: the entry is named
    p.file("bad.yaml", "- {name: broken, query: 'up{'}\n");
    p.file("b.rhai", r#"collect_metrics("bad.yaml");"#);
    let out = p.cmd().args(["script", "b.rhai"]).output().unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("collect_metrics: entry 'broken' (up{): Prometheus: bad_data"),
        "{e}"
    );
    // a profile that is not one
    p.file("t.rhai", r#"collect_metrics("typo.yaml");"#);
    let out = p.cmd().args(["script", "t.rhai"]).output().unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains("entry 1: unknown field `qeury`"), "{e}");
}

/// `prom_query`, `netperf::push` and `grafana::push_roles` against the
/// real servers (Debian's prometheus, pushgateway and node-exporter, run
/// as the fake's pods behind `monitoring/prometheus` and
/// `monitoring/pushgateway`): an instant query, a range query, a syntax
/// error in Prometheus's own words, pushes, and queries that see them.
#[test]
fn prometheus_queries_against_the_real_servers() {
    let p = Project::new();
    let fc = cluster(&p);
    if !real_monitoring(&p, &fc, "prometheus_queries_against_the_real_servers") {
        return;
    }
    p.file(
        "s.rhai",
        r#"
        import "netperf" as netperf;
        import "grafana" as grafana;
        // both targets scraped
        wait_until(60, 0.5, || { let up = prom_query("up"); up.len() == 2 && up.all(|s| s.value == 1.0) });
        let v = prom_query("up{job=\"node\"}");
        print("value=" + v[0].value + " job=" + v[0].metric.job + " type=" + type_of(v[0].value));
        netperf::push("scaffold_test", #{throughput_bps: 9.5e9, retransmits: 12}, #{mode: "xdp"});
        label_node(nodes()[0].name, #{"role.scaffolding/lb": "true"});
        grafana::push_roles();
        wait_until(60, 0.5, || prom_query("scaffold_throughput_bits_per_second{mode=\"xdp\"}").len() == 1
                              && prom_query("scaffold_node_role{role=\"lb\"}").len() == 1);
        let t = prom_query("scaffold_throughput_bits_per_second{mode=\"xdp\"}");
        print("pushed=" + t[0].value + " job=" + t[0].metric.job);
        print("role=" + prom_query("scaffold_node_role{role=\"lb\"}")[0].metric.node);
        sleep(3.0);
        let r = prom_query("up{job=\"node\"}", #{range: 3, step: 1});
        print("points=" + r[0].values.len() + " last=" + r[0].values[r[0].values.len() - 1][1]);
        "#,
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{s}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("value=1.0 job=node type=f64"), "{s}");
    assert!(s.contains("pushed=9500000000.0 job=scaffold_test"), "{s}");
    assert!(s.contains("role=kind-control-plane"), "{s}");
    let points: usize = s
        .lines()
        .find_map(|l| l.strip_prefix("points="))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(points >= 3, "{s}");
    assert!(s.contains(" last=1.0"), "{s}");
    p.file("b.rhai", r#"prom_query("up{");"#);
    let out = p.cmd().args(["script", "b.rhai"]).output().unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    // Prometheus's own words reach the user
    assert!(
        e.contains("prom_query: Prometheus: bad_data") && e.contains("parse error"),
        "{e}"
    );
}

/// A forwarded port where nothing listens in the pod: the connection is
/// closed at once with the pod's error (as kubectl's is), not held open
/// until the client gives up.
#[test]
fn a_refused_pod_port_fails_fast() {
    let p = crate::util::Project::new();
    let fc = fakecluster::FakeCluster::start(fakecluster::Options {
        nodes: 1,
        ..Default::default()
    });
    fc.write_kubeconfig_to(&p.path().join("kubeconfig"))
        .unwrap();
    // a free port nobody listens on
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    fc.seed(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "quiet", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10",
            "ports": [{"containerPort": port}]}]}}))
        .unwrap();
    p.file(
        "s.rhai",
        &format!(
            r#"
            wait_for("pod", "quiet", #{{condition: |o| o.status.phase == "Running", timeout: 30}});
            let t = timestamp();
            with_port_forward("pod/quiet", {port}, #{{}}, |addr| {{
                try {{ http("GET", "http://" + addr + "/", #{{timeout: 20}}); print("answered"); }} catch (e) {{ print("error: " + e); }}
            }});
            print("took=" + t.elapsed);
            "#
        ),
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{s}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("error: "), "{s}");
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("port-forward to pod/quiet") && e.contains("refused"),
        "the pod's error is shown: {e}"
    );
    let took: f64 = s
        .lines()
        .find_map(|l| l.strip_prefix("took="))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(took < 5.0, "the refused connection took {took} s: {s}");
}

/// `--metrics-profile` without a Prometheus to answer: a warning, the
/// run's own outcome stands.
#[test]
fn metrics_profile_without_prometheus_is_a_warning() {
    let p = Project::new();
    let _fc = cluster(&p);
    p.file("profile.yaml", "- {name: up, query: up}\n");
    p.file("ok.rhai", "print(\"done\");");
    let out = p
        .cmd()
        .args(["script", "ok.rhai", "--metrics-profile", "profile.yaml"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{e}");
    assert!(e.contains("--metrics-profile: not collected"), "{e}");
}

/// Alert rules of a metrics profile against the real Prometheus: one that
/// returns series fires, one that does not stays quiet, `for` needs the
/// expression to hold over its whole span; a warning is said and kept, an
/// error fails the run (collect_metrics and --metrics-profile alike).
#[test]
fn metrics_profile_alerts_fire_and_fail_the_run() {
    let p = Project::new();
    let fc = cluster(&p);
    if !real_monitoring(&p, &fc, "metrics_profile_alerts_fire_and_fail_the_run") {
        return;
    }
    p.file(
        "warn.yaml",
        "- {name: targets, query: 'sum(up)', alert: 'sum(up) < 5', severity: warning, description: fewer than 5 targets}\n\
         - {name: too_many, query: 'sum(up)', alert: 'sum(up) > 100', severity: error}\n\
         - {name: held, query: up, alert: 'up == 1', severity: warning, for: 2s}\n\
         - {name: never_held, query: up, alert: 'up == 0', severity: error, for: 2}\n",
    );
    p.file(
        "error.yaml",
        "- {name: targets, query: 'sum(up)', alert: 'sum(up) == 2', severity: error, description: two targets are two too many}\n",
    );
    p.file(
        "s.rhai",
        r#"
        wait_until(60, 0.5, || prom_query("up").len() == 2);
        sleep(4.0);
        let c = collect_metrics("warn.yaml", #{step: 1});
        for a in c.alerts { print(`alert ${a.name} firing=${a.firing} series=${a.series}`); }
        try { collect_metrics("error.yaml", #{step: 1}); } catch (e) { print("failed: " + e); }
        "#,
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    let (s, e) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{e}{s}");
    for want in [
        "alert targets firing=true series=1",
        "alert too_many firing=false series=0",
        "alert held firing=true series=2",
        "alert never_held firing=false series=0",
        "failed: ",
        "collect_metrics: alert targets fired: two targets are two too many",
    ] {
        assert!(s.contains(want), "{want}: {s}");
    }
    assert!(
        e.contains("alert targets (warning) fired: fewer than 5 targets"),
        "{e}"
    );
    let r = p.results();
    let alerts = r["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 5, "{r}");
    assert_eq!(alerts[2]["for"], 2.0, "{r}");
    // --metrics-profile: an error alert fails a run that went well
    p.file(
        "ok.rhai",
        r#"wait_until(60, 0.5, || prom_query("up").len() == 2);"#,
    );
    let out = p
        .cmd()
        .args(["script", "ok.rhai", "--metrics-profile", "error.yaml"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("error: --metrics-profile: alert targets fired: two targets are two too many"),
        "{e}"
    );
    assert_eq!(p.results()["outcome"], "error");
    // an alert without a severity is refused before the run
    p.file("nosev.yaml", "- {name: x, query: up, alert: 'up == 0'}\n");
    let out = p
        .cmd()
        .args(["script", "ok.rhai", "--metrics-profile", "nosev.yaml"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(
        e.contains("an alert needs severity error or warning"),
        "{e}"
    );
}
