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
    assert_eq!(r["environment"]["server_version"], "v1.32.13");
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
    // no control-plane pods, as on managed clusters: the API server from the
    // `kubernetes` endpoints, the CIDR from where clusters keep it, in order
    let p2 = Project::new();
    let fc2 = cluster(
        &p2,
        Options {
            nodes: 2,
            control_plane_pods: false,
            ..Default::default()
        },
    );
    p2.file(
        "s.rhai",
        "print(cluster_cidr()); print(cluster_cidr_info().source); print(apiserver_url());",
    );
    let out = p2.cmd().args(["-v", "script", "s.rhai"]).output().unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{se}");
    assert!(
        so.contains(
            "10.244.0.0/24,10.244.1.0/24\nnodes' podCIDRs (each node's range, not the cluster's)"
        ),
        "{so}"
    );
    assert!(
        so.contains("172.18.0.2:6443"),
        "the kubernetes endpoints: {so}"
    );
    assert!(
        se.contains("from the kubernetes endpoints") && se.contains("from the nodes' podCIDRs"),
        "-v says which: {se}"
    );
    // kube-proxy's ConfigMap, then kubeadm's, win over the nodes' ranges
    fc2.seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
        "data": {"config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclusterCIDR: 10.250.0.0/16\nmode: iptables\n"}})).unwrap();
    p2.file(
        "c.rhai",
        "let i = cluster_cidr_info(); print(i.cidr + \" from \" + i.source);",
    );
    p2.cmd()
        .args(["script", "c.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "10.250.0.0/16 from kube-proxy clusterCIDR",
        ));
    fc2.seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
        "data": {"ClusterConfiguration": "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nnetworking:\n  dnsDomain: cluster.local\n  podSubnet: 10.240.0.0/12\n  serviceSubnet: 10.96.0.0/12\n"}})).unwrap();
    p2.cmd()
        .args(["script", "c.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "10.240.0.0/12 from kubeadm-config podSubnet",
        ));
    // without the endpoints either: the kubeconfig's server
    fc2.delete(
        "discovery.k8s.io/v1",
        "EndpointSlice",
        "default",
        "kubernetes",
    )
    .unwrap();
    fc2.delete("v1", "Endpoints", "default", "kubernetes")
        .unwrap();
    p2.file("u.rhai", "print(apiserver_url());");
    p2.cmd()
        .args(["script", "u.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "127.0.0.1:{}",
            fc2.addr().port()
        )));
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

/// A finished Job pod is done (a real kubelet reports it with
/// PodReadyToStartContainers=False and Ready=False (PodCompleted)); a
/// Failed pod that nothing replaces fails the wait at once, naming it; a
/// Failed pod its Job replaced does not block.
#[test]
fn wait_ready_with_finished_failed_and_replaced_pods() {
    let p = Project::new();
    let fc = cluster(&p, Options::default());
    let marker = p.path().join("first-attempt-done");
    fc.seed(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "done", "namespace": "default"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox", "command": ["true"]}]}}}})).unwrap();
    // fails once, then succeeds: its failed pod is replaced
    fc.seed(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "retry", "namespace": "default"},
        "spec": {"backoffLimit": 3, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox",
            "command": ["sh", "-c", format!("test -e {m} && exit 0; touch {m}; exit 1", m = marker.display())]}]}}}})).unwrap();
    p.file(
        "w.rhai",
        r#"let r = wait_ready(#{timeout: 60}); print("ready=" + r.ready + " total=" + r.total);"#,
    );
    let out = p.cmd().args(["script", "w.rhai"]).output().unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{se}{so}");
    assert!(so.contains("ready=true"), "{so}");
    let done = fc
        .list("v1", "Pod")
        .into_iter()
        .find(|p| p["metadata"]["name"].as_str().unwrap().starts_with("done-"))
        .unwrap();
    assert_eq!(done["status"]["phase"], "Succeeded");
    let conds = done["status"]["conditions"].to_string();
    assert!(
        conds.contains(r#""status":"False","type":"PodReadyToStartContainers""#)
            || conds.contains(r#""type":"PodReadyToStartContainers","status":"False""#),
        "the fake reports a finished pod like a kubelet: {conds}"
    );
    p.cmd()
        .args(["verify", "k8s-ready"])
        .assert()
        .success()
        .stdout(predicate::str::contains("replaced by pod retry-"));
    // a bare pod that failed: nothing will replace it
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "broken", "namespace": "default"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "exit 3"]}]}})).unwrap();
    let t = Instant::now();
    p.file("f.rhai", "wait_ready(#{timeout: 120});");
    p.cmd()
        .args(["script", "f.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "1 pod(s) failed and nothing replaced them",
        ))
        .stderr(predicate::str::contains("pod default/broken: phase Failed"));
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "at once, not after the timeout: {:?}",
        t.elapsed()
    );
    fc.delete("v1", "Pod", "default", "broken").unwrap();
    // a Job that gives up: its failed pod is fatal, naming the Job
    fc.seed(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "hopeless", "namespace": "default"},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox", "command": ["false"]}]}}}})).unwrap();
    p.cmd()
        .args(["script", "f.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("its Job hopeless failed"));
}

/// With `namespaces`, only those namespaces are listed and watched:
/// namespace-scoped RBAC is enough; nodes need cluster access, and the
/// error says how to leave them out.
#[test]
fn wait_ready_in_namespaces_with_namespace_scoped_rbac() {
    let p = Project::new();
    let fc = cluster(&p, Options::default());
    fc.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}))
        .unwrap();
    fc.seed(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "team"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "pause"}]}}}})).unwrap();
    fc.faults().restrict_to_namespaces(Some(&["team"]));
    p.file("ok.rhai", r#"let r = wait_ready(#{namespaces: ["team"], kinds: ["pods", "deploy", "ds", "sts"], timeout: 30}); print("ready=" + r.ready + " " + r.total);"#);
    p.cmd()
        .args(["script", "ok.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ready=true 2"));
    p.file(
        "v.rhai",
        r#"print(verify_ready(#{namespaces: ["team"], kinds: ["pods"]}).ready);"#,
    );
    p.cmd()
        .args(["script", "v.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("true"));
    p.file(
        "nodes.rhai",
        r#"wait_ready(#{namespaces: ["team"], timeout: 30});"#,
    );
    p.cmd()
        .args(["script", "nodes.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nodes is forbidden"))
        .stderr(predicate::str::contains(
            "this check needs cluster read access to nodes; leave nodes out with kinds:",
        ));
    p.file(
        "all.rhai",
        r#"wait_ready(#{kinds: ["pods"], timeout: 30});"#,
    );
    p.cmd()
        .args(["script", "all.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "needs cluster-wide read access; name the namespaces to check",
        ));
    p.cmd()
        .args([
            "verify",
            "k8s-ready",
            "-n",
            "team",
            "--kind",
            "pods",
            "--kind",
            "deploy",
        ])
        .assert()
        .success();
}

/// Waiting says what it waits for: without a terminal a line each time the
/// set of pending objects changes (count, names, reasons); the wait ends
/// the moment the last one turns ready.
#[test]
fn waiting_shows_what_is_pending() {
    let p = Project::new();
    let fc = cluster(&p, Options::default());
    fc.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rules"}}))
        .unwrap();
    let running = json!([{"name": "main", "ready": false, "state": {"running": {}}}]);
    for name in ["slow-a", "slow-b"] {
        fc.seed(pod(name, "Running", &[("Ready", "False")], running.clone()))
            .unwrap();
    }
    p.file(
        "w.rhai",
        r#"wait_ready(#{namespaces: ["rules"], kinds: ["pods"], timeout: 60}); print("ready");"#,
    );
    let child = p
        .std_cmd()
        .args(["script", "w.rhai"])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ready = |name: &str| {
        fc.update_status("Pod", ("rules", name), |s| {
            s["conditions"] = json!([{"type": "Ready", "status": "True"}]);
            s["containerStatuses"][0]["ready"] = json!(true);
        })
        .unwrap();
    };
    std::thread::sleep(Duration::from_millis(1500));
    ready("slow-a");
    std::thread::sleep(Duration::from_millis(1000));
    ready("slow-b");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("wait_ready: 2 of 2 not ready: pod rules/slow-a (")
            && err.contains("wait_ready: 1 of 2 not ready: pod rules/slow-b ("),
        "{err}"
    );
    // one line per change, not one per event or tick
    assert_eq!(err.matches("1 of 2 not ready").count(), 1, "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ready"));
}
