//! Readiness and cluster facts against the fake API server.

use crate::util::Project;
use fakecluster::{Auth, FakeCluster, Options, MANUAL};
use predicates::prelude::*;
use serde_json::json;
use std::time::{Duration, Instant};

fn cluster(p: &Project, opts: Options) -> FakeCluster {
    let fc = FakeCluster::start(opts);
    fc.write_kubeconfig_to(&p.path().join("kubeconfig"))
        .unwrap();
    fc
}

fn pod(
    name: &str,
    phase: &str,
    conds: &[(&str, &str)],
    containers: serde_json::Value,
) -> serde_json::Value {
    let c: Vec<_> = conds
        .iter()
        .map(|(t, s)| json!({"type": t, "status": s}))
        .collect();
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "rules", "annotations": {MANUAL: "true"}},
           "spec": {"nodeName": "kind-control-plane", "containers": [{"name": "main", "image": "pause"}]},
           "status": {"phase": phase, "conditions": c, "containerStatuses": containers}})
}

#[test]
fn verify_reports_each_rule() {
    let p = Project::new();
    let fc = cluster(&p, Options::default());
    let running = json!([{"name": "main", "ready": true, "state": {"running": {}}}]);
    let completed = json!([{"name": "main", "ready": false, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]);
    let crashed = json!([{"name": "main", "ready": false, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]);
    fc.seed(pod(
        "ok",
        "Running",
        &[
            ("Ready", "True"),
            ("ContainersReady", "True"),
            ("NewCondition", "False"),
        ],
        running.clone(),
    ))
    .unwrap();
    fc.seed(pod(
        "job-done",
        "Running",
        &[("Ready", "False"), ("ContainersReady", "False")],
        completed,
    ))
    .unwrap();
    fc.seed(pod(
        "succeeded",
        "Succeeded",
        &[("Ready", "False")],
        json!([]),
    ))
    .unwrap();
    fc.seed(pod(
        "crash",
        "Running",
        &[("Ready", "False"), ("ContainersReady", "False")],
        crashed,
    ))
    .unwrap();
    fc.seed(pod(
        "pending",
        "Pending",
        &[("PodScheduled", "False")],
        json!([]),
    ))
    .unwrap();
    fc.seed(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "mid-rollout", "namespace": "rules", "annotations": {MANUAL: "true"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "pause"}]}}},
        "status": {"observedGeneration": 1, "replicas": 4, "updatedReplicas": 1, "availableReplicas": 3,
                   "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True"}]}})).unwrap();
    p.file(
        "s.rhai",
        r#"let r = verify_ready(#{namespaces: ["rules"]}); print(to_json(r));"#,
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["ready"], false);
    let bad: Vec<&str> = r["not_ready"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(bad, vec!["crash", "pending", "mid-rollout"], "{r}");
    let crash = &r["not_ready"][0];
    assert!(
        crash["reason"]
            .as_str()
            .unwrap()
            .contains("CrashLoopBackOff"),
        "{crash}"
    );
    assert!(r["not_ready"][2]["reason"]
        .as_str()
        .unwrap()
        .contains("1 updated"));

    // the CLI: one line per resource, not ready first, exit 1; JSON for machines
    let out = p
        .cmd()
        .args(["verify", "k8s-ready", "-n", "rules"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("NOT READY") && first.contains("rules/crash"),
        "{text}"
    );
    assert!(text.contains("NewCondition=False(unknown)"), "{text}");
    assert!(
        text.contains("rules/job-done") && text.contains("main=completed"),
        "{text}"
    );
    let out = p
        .cmd()
        .args(["verify", "k8s-ready", "-o", "json", "--kind", "nodes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["resources"][0]["kind"], "node");
}

#[test]
fn wait_ready_watches_through_a_node_flap_and_a_dropped_watch() {
    let p = Project::new();
    let fc = cluster(
        &p,
        Options {
            nodes: 2,
            ..Default::default()
        },
    );
    fc.set_condition("Node", "", "kind-worker", "Ready", "False")
        .unwrap();
    fc.reset_request_counts();
    p.file(
        "s.rhai",
        r#"let r = wait_ready(#{timeout: 30}); print("ready=" + r.ready + " total=" + r.total);"#,
    );
    let child = p
        .std_cmd()
        .args(["script", "s.rhai"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    // the watch drops while we wait; the node turns Ready only afterwards
    fc.faults().drop_watches();
    std::thread::sleep(Duration::from_millis(300));
    fc.set_condition("Node", "", "kind-worker", "Ready", "True")
        .unwrap();
    let t = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ready=true"));
    // one watch per kind (plus one resume each after the drop), no polling
    for res in [
        "nodes",
        "pods",
        "deployments.apps",
        "daemonsets.apps",
        "statefulsets.apps",
    ] {
        let watches = fc.requests("watch", res);
        assert!((1..=3).contains(&watches), "{res}: {watches} watches");
        assert!(
            fc.requests("list", res) <= 2,
            "{res}: {} lists",
            fc.requests("list", res)
        );
    }
}

#[test]
fn wait_ready_timeout_names_the_blockers() {
    let p = Project::new();
    let fc = cluster(&p, Options::default());
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stuck", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "registry.example/does-not-exist:1"}]}})).unwrap();
    p.file("s.rhai", "wait_ready(#{timeout: 1.5});");
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("wait_ready: timed out after"))
        .stderr(predicate::str::contains("pod default/stuck"))
        .stderr(predicate::str::contains("ImagePull"));
    // the CLI too
    p.cmd()
        .args(["verify", "k8s-ready", "--wait", "--timeout", "1s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("default/stuck"));
}

#[test]
fn wait_ready_waits_for_readyz_first() {
    let p = Project::new();
    let fc = cluster(&p, Options::default());
    fc.faults().set_readyz_failing(Some("etcd"));
    p.file("s.rhai", "wait_ready(#{timeout: 1});");
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/readyz: etcd"));
}

#[test]
fn facts_nodes_labels_cidr_and_readyz() {
    let p = Project::new();
    let _fc = cluster(
        &p,
        Options {
            nodes: 3,
            ..Default::default()
        },
    );
    p.file(
        "s.rhai",
        r#"
        print("url=" + apiserver_url());
        print("cidr=" + cluster_cidr());
        print("ip=" + node_internal_ip("kind-worker"));
        print("ctx=" + current_context());
        let n = nodes();
        print("nodes=" + n.len() + " roles=" + n[0].roles + " ready=" + n[0].ready);
        label_node("kind-worker", #{"role.scaffolding/lb": "true", "x": "1"});
        label_node("kind-worker", #{"x": ()});
        let all = label_nodes("all", #{"role.scaffolding/monitored": "true"});
        let some = label_nodes("role.scaffolding/lb=true", #{"picked": "yes"});
        print("all=" + all.len() + " some=" + some);
        let r = apiserver_readyz();
        print("readyz=" + r.ok + " checks=" + r.checks.len());
        "#,
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{s}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("url=172.18.0.2:6443"), "{s}");
    assert!(s.contains("cidr=10.244.0.0/16"), "{s}");
    assert!(s.contains("ip=172.18.0.3"), "{s}");
    assert!(s.contains("ctx=kind-kind"), "{s}");
    assert!(
        s.contains("nodes=3 roles=[\"control-plane\"] ready=true"),
        "{s}"
    );
    assert!(s.contains("all=3 some=[\"kind-worker\"]"), "{s}");
    assert!(s.contains("readyz=true checks="), "{s}");
    let w = _fc.get("v1", "Node", "", "kind-worker").unwrap();
    assert_eq!(w["metadata"]["labels"]["role.scaffolding/lb"], "true");
    assert!(w["metadata"]["labels"]["x"].is_null(), "() removes a label");
    assert_eq!(w["metadata"]["labels"]["picked"], "yes");
    let r = p.results();
    assert_eq!(r["environment"]["kube_context"], "kind-kind");
    assert_eq!(r["environment"]["server_version"], "v1.33.4");
    assert_eq!(r["environment"]["nodes"].as_array().unwrap().len(), 3);
}

#[test]
fn ipv6_and_fallbacks() {
    let p = Project::new();
    let _fc = cluster(
        &p,
        Options {
            ipv6: true,
            ..Default::default()
        },
    );
    p.file(
        "s.rhai",
        r#"print(apiserver_url()); print(node_internal_ip("kind-control-plane"));"#,
    );
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "[fc00:f853:ccd:e793::2]:6443\nfc00:f853:ccd:e793::2",
        ));
    // no controller-manager pod: the nodes' podCIDRs; no apiserver pod: a clear error
    let p2 = Project::new();
    let _fc2 = cluster(
        &p2,
        Options {
            nodes: 2,
            control_plane_pods: false,
            ..Default::default()
        },
    );
    p2.file("s.rhai", "print(cluster_cidr());");
    p2.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("10.244.0.0/24,10.244.1.0/24"));
    p2.file("u.rhai", "apiserver_url();");
    p2.cmd()
        .args(["script", "u.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "apiserver_url: no pod named kube-apiserver* in kube-system",
        ));
}

#[test]
fn client_certificate_and_token_kubeconfigs() {
    for auth in [Auth::Token, Auth::ClientCert] {
        let p = Project::new();
        let _fc = cluster(
            &p,
            Options {
                auth,
                ..Default::default()
            },
        );
        p.file(
            "s.rhai",
            "print(apiserver_readyz().ok); print(nodes().len());",
        );
        p.cmd()
            .args(["script", "s.rhai"])
            .assert()
            .success()
            .stdout(predicate::str::contains("true\n1"));
    }
}

#[test]
fn unreachable_server_fails_fast_naming_it() {
    let p = Project::new();
    let fc = cluster(&p, Options::default());
    let url = fc.url();
    fc.stop_listening();
    p.file("s.rhai", "nodes();");
    let t = Instant::now();
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(url.trim_start_matches("https://")));
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}
