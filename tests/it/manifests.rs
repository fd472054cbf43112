//! kustomize/: every tree renders offline with `kubectl kustomize`, keeps
//! the original's names and labels, and its selectors match its pods.

use serde_json::Value;
use std::path::Path;

fn render(tree: &str) -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("kustomize")
        .join(tree);
    let out = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(&dir)
        .output()
        .expect("kubectl is needed for this test");
    assert!(
        out.status.success(),
        "{tree}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    scaffold::yaml::parse_docs(&String::from_utf8_lossy(&out.stdout)).unwrap()
}

fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            let have: Vec<String> = objs
                .iter()
                .map(|o| format!("{}/{}", o["kind"], o["metadata"]["name"]))
                .collect();
            panic!("no {kind}/{name} in {have:?}")
        })
}

fn matches(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .map(|m| m.iter().all(|(k, v)| &labels[k] == v))
        .unwrap_or(false)
}

/// Each workload's selector matches its own template; each Service's and
/// ServiceMonitor's selector matches some pod (or the labels the operator
/// gives a Prometheus CR's pods).
fn check_selectors(tree: &str, objs: &[Value]) {
    let mut pods: Vec<Value> = vec![];
    for o in objs {
        match o["kind"].as_str().unwrap_or("") {
            "Deployment" | "DaemonSet" | "StatefulSet" => {
                let sel = &o["spec"]["selector"]["matchLabels"];
                let labels = &o["spec"]["template"]["metadata"]["labels"];
                assert!(
                    matches(sel, labels),
                    "{tree}: {} selector {sel} does not match its template {labels}",
                    o["metadata"]["name"]
                );
                pods.push(labels.clone());
            }
            "Prometheus" => pods.push(serde_json::json!({
                "prometheus": o["metadata"]["name"], "app.kubernetes.io/name": "prometheus"
            })),
            _ => {}
        }
    }
    for o in objs {
        let (sel, what) = match o["kind"].as_str().unwrap_or("") {
            "Service" => (&o["spec"]["selector"], "pod"),
            "ServiceMonitor" => (&o["spec"]["selector"]["matchLabels"], "service"),
            _ => continue,
        };
        let targets: Vec<&Value> = if what == "pod" {
            pods.iter().collect()
        } else {
            objs.iter()
                .filter(|s| s["kind"] == "Service")
                .map(|s| &s["metadata"]["labels"])
                .collect()
        };
        assert!(
            targets.iter().any(|l| matches(sel, l)),
            "{tree}: {} {} selects no {what}: {sel}",
            o["kind"],
            o["metadata"]["name"]
        );
    }
}

#[test]
fn monitoring_trees() {
    let ns = render("monitoring-ns");
    find(&ns, "Namespace", "monitoring");

    let prom = render("prometheus");
    let p = find(&prom, "Prometheus", "prometheus");
    assert_eq!(p["metadata"]["namespace"], "monitoring");
    assert_eq!(
        p["spec"]["nodeSelector"]["role.scaffolding/monitoring"],
        "true"
    );
    assert_eq!(
        p["spec"]["serviceMonitorSelector"]["matchLabels"]["app.kubernetes.io/part-of"],
        "scaffolding"
    );
    let svc = find(&prom, "Service", "prometheus");
    assert_eq!(svc["spec"]["ports"][0]["port"], 9090);
    let op = find(&prom, "Deployment", "prometheus-operator");
    let image = op["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    // the operator and its CRDs are pinned to the same release
    let tag = image.rsplit(':').next().unwrap();
    let crds = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("kustomize/prometheus-operator-crds/kustomization.yaml"),
    )
    .unwrap();
    assert!(crds.contains(&format!("/{tag}/example/")), "CRDs at {tag}");
    check_selectors("prometheus", &prom);

    for (tree, port) in [("node-exporter", 9100), ("cadvisor", 8080)] {
        let objs = render(tree);
        let ds = find(&objs, "DaemonSet", tree);
        assert_eq!(ds["metadata"]["namespace"], "monitoring");
        assert_eq!(
            ds["spec"]["template"]["spec"]["nodeSelector"]["role.scaffolding/monitored"], "true",
            "{tree}"
        );
        assert_eq!(
            find(&objs, "Service", tree)["spec"]["ports"][0]["port"],
            port
        );
        find(&objs, "ServiceMonitor", tree);
        check_selectors(tree, &objs);
    }

    let pg = render("pushgateway");
    find(&pg, "Deployment", "pushgateway");
    assert_eq!(
        find(&pg, "Service", "pushgateway")["spec"]["ports"][0]["port"],
        9091
    );
    check_selectors("pushgateway", &pg);
}

#[test]
fn grafana_tree() {
    let g = render("grafana");
    let d = find(&g, "Deployment", "grafana");
    assert_eq!(d["metadata"]["namespace"], "monitoring");
    assert_eq!(
        d["spec"]["template"]["spec"]["nodeSelector"]["role.scaffolding/monitoring"],
        "true"
    );
    assert_eq!(
        find(&g, "Service", "grafana")["spec"]["ports"][0]["port"],
        3000
    );
    let dash = find(&g, "ConfigMap", "grafana-dashboards");
    assert_eq!(
        dash["metadata"]["labels"]["app.kubernetes.io/name"],
        "grafana-dashboards"
    );
    assert_eq!(
        dash["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "scaffolding"
    );
    for key in ["nodes.json", "network.json", "pod2pod.json"] {
        let body = dash["data"][key]
            .as_str()
            .unwrap_or_else(|| panic!("{key}"));
        let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert!(!v["panels"].as_array().unwrap().is_empty(), "{key}");
        // every panel asks the datasource the tree provisions
        for p in v["panels"].as_array().unwrap() {
            assert_eq!(p["datasource"]["uid"], "prometheus", "{key}");
        }
    }
    let ds = find(&g, "ConfigMap", "grafana-datasources");
    let body = ds["data"]["prometheus.yaml"].as_str().unwrap();
    assert!(
        body.contains("uid: prometheus") && body.contains("http://prometheus.monitoring.svc:9090")
    );
    // the provider reads the directory the dashboards ConfigMap is mounted at
    let prov = find(&g, "ConfigMap", "grafana-dashboard-provider")["data"]["provider.yaml"]
        .as_str()
        .unwrap();
    let mounts = &d["spec"]["template"]["spec"]["containers"][0]["volumeMounts"];
    assert!(mounts
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["mountPath"] == "/var/lib/grafana/dashboards"
            && prov.contains("/var/lib/grafana/dashboards")));
    check_selectors("grafana", &g);
}

#[test]
fn registry_tree() {
    let r = render("registry");
    find(&r, "Namespace", "registry");
    let svc = find(&r, "Service", "registry");
    assert_eq!(svc["metadata"]["namespace"], "registry");
    assert_eq!(svc["spec"]["ports"][0]["port"], 5000);
    // the labels with_registry() looks for
    for o in [svc, find(&r, "Deployment", "registry")] {
        assert_eq!(
            o["metadata"]["labels"]["app.kubernetes.io/name"],
            "registry"
        );
        assert_eq!(
            o["metadata"]["labels"]["app.kubernetes.io/part-of"],
            "scaffolding"
        );
    }
    check_selectors("registry", &r);
}

#[test]
fn pod2pod_trees() {
    for overlay in ["base", "overlays/pod", "overlays/service"] {
        let tree = format!("topologies/pod2pod/{overlay}");
        let objs = render(&tree);
        for role in ["client", "server"] {
            let d = find(&objs, "Deployment", &format!("pod2pod-{role}"));
            let spec = &d["spec"]["template"]["spec"];
            assert_eq!(spec["containers"][0]["name"], "main");
            assert!(spec["containers"][0]["image"]
                .as_str()
                .unwrap()
                .starts_with("registry.k8s.io/pause:"));
            assert_eq!(
                spec["nodeSelector"][format!("role.scaffolding/pod2pod-{role}")],
                "true"
            );
        }
        let has_svc = objs.iter().any(|o| o["kind"] == "Service");
        assert_eq!(has_svc, overlay == "overlays/service", "{tree}");
        check_selectors(&tree, &objs);
    }
}

/// 31.5: the monitoring tree for the fake: the operator's Prometheus
/// resource replaced by a Deployment the Service selects, one
/// node-exporter on the monitoring node, every server on loopback.
#[test]
fn monitoring_fake_tree() {
    let objs = render("monitoring-fake");
    assert!(
        !objs.iter().any(|o| o["kind"] == "Prometheus"
            || o["metadata"]["name"] == "prometheus-operator" && o["kind"] == "Deployment"),
        "the operator and its Prometheus resource are gone"
    );
    let d = find(&objs, "Deployment", "prometheus");
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert!(c["image"]
        .as_str()
        .unwrap()
        .starts_with("quay.io/prometheus/prometheus:"));
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(
        args.contains(&"--web.enable-remote-write-receiver"),
        "{args:?}"
    );
    let cfg = find(&objs, "ConfigMap", "prometheus-config");
    let yml = cfg["data"]["prometheus.yml"].as_str().unwrap();
    for target in ["127.0.0.1:9090", "127.0.0.1:9091", "127.0.0.1:9100"] {
        assert!(yml.contains(target), "{target} not scraped");
    }
    assert!(yml.contains("out_of_order_time_window"));
    let ne = find(&objs, "DaemonSet", "node-exporter");
    assert_eq!(
        ne["spec"]["template"]["spec"]["nodeSelector"]["role.scaffolding/monitoring"],
        "true"
    );
    for (kind, name, listen) in [
        ("Deployment", "prometheus", "127.0.0.1:9090"),
        ("Deployment", "pushgateway", "127.0.0.1:9091"),
        ("DaemonSet", "node-exporter", "127.0.0.1:9100"),
    ] {
        let o = find(&objs, kind, name);
        assert_eq!(o["metadata"]["namespace"], "monitoring", "{name}");
        let args = &o["spec"]["template"]["spec"]["containers"][0]["args"];
        assert!(
            args.as_array()
                .unwrap()
                .iter()
                .any(|a| a.as_str() == Some(&format!("--web.listen-address={listen}"))),
            "{name}: {args}"
        );
    }
    check_selectors("monitoring-fake", &objs);
}
