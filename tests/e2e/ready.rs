//! Readiness and cluster facts on a real cluster.

use crate::{run_ok, scaffold, script, Ctx, Outcome, Test};
use std::time::{Duration, Instant};

pub const TESTS: &[Test] = &[
    (
        "ready_with_finished_failed_and_rolled_out_workloads",
        ready_workloads,
    ),
    ("ready_fails_at_once_on_a_failed_pod", failed_pods),
    ("facts_readyz_url_nodes_cidr_context", facts),
    ("label_nodes_and_put_them_back", node_labels),
];

/// Every kind the rules check, in one namespace: a Job that completed
/// (its pod reports PodReadyToStartContainers=False, Ready=False
/// (PodCompleted)), a Job whose first pod failed and was replaced, a
/// rolled-out Deployment, a DaemonSet, a StatefulSet.
fn workloads(ns: &str) -> String {
    format!(
        r#"
apiVersion: batch/v1
kind: Job
metadata: {{name: done, namespace: {ns}}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: busybox, command: ["true"]}}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: marker, namespace: {ns}}}
spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Mi}}}}}}
---
apiVersion: batch/v1
kind: Job
metadata: {{name: retry, namespace: {ns}}}
spec:
  backoffLimit: 4
  template:
    spec:
      restartPolicy: Never
      volumes: [{{name: m, persistentVolumeClaim: {{claimName: marker}}}}]
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "test -e /m/once && exit 0; touch /m/once; exit 1"]
        volumeMounts: [{{name: m, mountPath: /m}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: main, image: busybox, command: ["sleep", "3600"]}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: agent}}}}
  template:
    metadata: {{labels: {{app: agent}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: main, image: busybox, command: ["sleep", "3600"]}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: {ns}}}
spec:
  replicas: 2
  serviceName: db
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: main, image: busybox, command: ["sleep", "3600"]}}]
"#
    )
}

fn ready_workloads(ctx: &Ctx) -> Outcome {
    let ns = ctx.namespace("ready");
    let p = ctx.project();
    p.file("w.yaml", &workloads(&ns));
    let out = run_ok(
        &p,
        &format!(
            r#"
            apply("w.yaml");
            let r = wait_ready(#{{namespaces: ["{ns}"], timeout: 240}});
            print("ready=" + r.ready + " total=" + r.total);
            // the whole cluster too: finished Job pods no longer block it
            print("cluster=" + wait_ready(#{{timeout: 120}}).ready);
            print("verify=" + verify_ready(#{{namespaces: ["{ns}"]}}).ready);
            "#
        ),
    );
    assert!(
        out.contains("ready=true") && out.contains("cluster=true") && out.contains("verify=true"),
        "{out}"
    );
    // the kubelet's own account of a finished pod, which the rules accept
    let phase = ctx.kubectl(&["get", "pods", "-n", &ns, "-l", "job-name=done", "-o", "jsonpath={.items[0].status.phase} {.items[0].status.conditions[?(@.type==\"Ready\")].reason}"]);
    assert_eq!(phase.trim(), "Succeeded PodCompleted");
    let (code, so, se) = scaffold(&p, &["verify", "k8s-ready", "-n", &ns]);
    assert_eq!(code, 0, "{se}{so}");
    assert!(
        so.contains("replaced by pod retry-"),
        "the first retry pod failed and was replaced: {so}"
    );
    let (code, so, _) = scaffold(
        &p,
        &[
            "verify",
            "k8s-ready",
            "-n",
            &ns,
            "-o",
            "json",
            "--kind",
            "sts",
            "--kind",
            "ds",
        ],
    );
    assert_eq!(code, 0);
    let j: serde_json::Value = serde_json::from_str(&so).unwrap();
    assert_eq!(j["ready"], true);
    assert_eq!(j["resources"].as_array().unwrap().len(), 2, "{so}");
    let (code, _, se) = scaffold(
        &p,
        &[
            "verify",
            "k8s-ready",
            "--wait",
            "--timeout",
            "2m",
            "-n",
            &ns,
        ],
    );
    assert_eq!(code, 0, "{se}");
    ctx.kubectl(&["delete", "namespace", &ns, "--wait=true"]);
    Ok(())
}

fn failed_pods(ctx: &Ctx) -> Outcome {
    let ns = ctx.namespace("failed");
    ctx.kubectl_apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: broken, namespace: {ns}}}\nspec:\n  restartPolicy: Never\n  containers: [{{name: main, image: busybox, command: [sh, -c, 'exit 3']}}]\n"
    ));
    crate::eventually("the pod to fail", Duration::from_secs(60), || {
        ctx.kubectl(&[
            "get",
            "pod",
            "broken",
            "-n",
            &ns,
            "-o",
            "jsonpath={.status.phase}",
        ]) == "Failed"
    });
    let p = ctx.project();
    let t = Instant::now();
    let (code, _, se) = script(
        &p,
        "f.rhai",
        &format!("wait_ready(#{{namespaces: [\"{ns}\"], timeout: 240}});"),
        &[],
    );
    assert_eq!(code, 1, "{se}");
    assert!(
        se.contains("failed and nothing replaced them") && se.contains(&format!("pod {ns}/broken")),
        "{se}"
    );
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "at once, not after the timeout: {:?}",
        t.elapsed()
    );
    // a Job that gives up
    ctx.kubectl(&["delete", "pod", "broken", "-n", &ns, "--wait=true"]);
    ctx.kubectl_apply(&format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: hopeless, namespace: {ns}}}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: main, image: busybox, command: ['false']}}]\n"
    ));
    let (code, _, se) = script(
        &p,
        "f.rhai",
        &format!("wait_ready(#{{namespaces: [\"{ns}\"], timeout: 240}});"),
        &[],
    );
    assert_eq!(code, 1, "{se}");
    assert!(se.contains("its Job hopeless failed"), "{se}");
    // delete takes the Job's pods with it (the API's default for Jobs orphans them)
    run_ok(
        &p,
        &format!(r#"delete("batch/v1/Job", "hopeless", #{{namespace: "{ns}", wait: true}});"#),
    );
    crate::eventually("the Job's pods to go", Duration::from_secs(60), || {
        ctx.kubectl(&["get", "pods", "-n", &ns, "-o", "name"])
            .trim()
            .is_empty()
    });
    run_ok(
        &p,
        &format!(r#"delete("namespace", "{ns}", #{{wait: true, timeout: 120}});"#),
    );
    Ok(())
}

/// Where this cluster keeps its pod CIDR, read with kubectl in scaffold's
/// order: the controller-manager's --cluster-cidr, kubeadm-config's
/// podSubnet, kube-proxy's clusterCIDR, the nodes' podCIDRs.
fn expected_cidr(ctx: &Ctx) -> (String, &'static str) {
    let pods: serde_json::Value =
        serde_json::from_str(&ctx.kubectl(&["get", "pods", "-n", "kube-system", "-o", "json"]))
            .unwrap();
    for p in pods["items"].as_array().into_iter().flatten() {
        if !p["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .starts_with("kube-controller-manager")
        {
            continue;
        }
        for c in p["spec"]["containers"].as_array().into_iter().flatten() {
            for w in ["command", "args"]
                .iter()
                .flat_map(|f| c[*f].as_array().cloned().unwrap_or_default())
            {
                if let Some(v) = w.as_str().and_then(|w| w.strip_prefix("--cluster-cidr=")) {
                    return (v.to_string(), "kube-controller-manager --cluster-cidr");
                }
            }
        }
    }
    let in_configmap = |name: &str, key: &str, field: &str| -> Option<String> {
        let out = ctx.kubectl_out(&[
            "get",
            "configmap",
            name,
            "-n",
            "kube-system",
            "-o",
            &format!("jsonpath={{.data.{}}}", key.replace('.', "\\.")),
        ]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.lines().find_map(|l| {
            l.trim()
                .strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().trim_matches('"').to_string())
                .filter(|v| !v.is_empty())
        })
    };
    if let Some(v) = in_configmap("kubeadm-config", "ClusterConfiguration", "podSubnet") {
        return (v, "kubeadm-config podSubnet");
    }
    if let Some(v) = in_configmap("kube-proxy", "config.conf", "clusterCIDR") {
        return (v, "kube-proxy clusterCIDR");
    }
    let nodes: serde_json::Value =
        serde_json::from_str(&ctx.kubectl(&["get", "nodes", "-o", "json"])).unwrap();
    let mut cidrs: Vec<String> = vec![];
    for n in nodes["items"].as_array().into_iter().flatten() {
        for c in n["spec"]["podCIDRs"].as_array().into_iter().flatten() {
            let c = c.as_str().unwrap_or("").to_string();
            if !cidrs.contains(&c) {
                cidrs.push(c);
            }
        }
    }
    (cidrs.join(","), "nodes' podCIDRs")
}

/// The cluster facts, each compared with what kubectl reads from the same
/// cluster, whatever kind of cluster it is.
fn facts(ctx: &Ctx) -> Outcome {
    let p = ctx.project();
    let node = ctx.node();
    let ip = ctx.kubectl(&[
        "get",
        "node",
        &node,
        "-o",
        "jsonpath={.status.addresses[?(@.type==\"InternalIP\")].address}",
    ]);
    let server = ctx.kubectl(&[
        "get",
        "endpoints",
        "kubernetes",
        "-n",
        "default",
        "-o",
        "jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}",
    ]);
    let count = ctx.kubectl(&["get", "nodes", "-o", "name"]).lines().count();
    let ready = ctx.kubectl(&[
        "get",
        "node",
        &node,
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
    ]) == "True";
    let (cidr, source) = expected_cidr(ctx);
    let context = ctx.kubectl(&["config", "current-context"]);
    let (code, so, se) = script(
        &p,
        "f.rhai",
        &format!(
            r#"
            print("readyz=" + apiserver_readyz().ok);
            print("url=" + apiserver_url());
            let n = nodes();
            let first = n.filter(|x| x.name == "{node}");
            print("nodes=" + n.len() + " ready=" + first[0].ready);
            print("ip=" + node_internal_ip("{node}"));
            let c = cluster_cidr_info();
            print("cidr=" + c.cidr + " source=" + c.source);
            print("context=" + current_context());
            "#
        ),
        &["-v"],
    );
    assert_eq!(code, 0, "{se}");
    for want in [
        "readyz=true".to_string(),
        format!("url={server}"),
        format!("nodes={count} ready={ready}"),
        format!("ip={ip}"),
        format!("cidr={cidr} source={source}"),
        format!("context={}", context.trim()),
    ] {
        assert!(so.contains(&want), "{want}: {so}");
    }
    // -v says where the answers came from
    assert!(
        se.contains("(from the kube-apiserver pod)")
            || se.contains("(from the kubernetes endpoints)"),
        "{se}"
    );
    assert!(se.contains(&format!("(from the {source}")), "{se}");
    // a kubeadm-config podSubnet wins over kube-proxy's and the nodes'
    // ranges: tried only where the cluster has neither that ConfigMap nor
    // a controller-manager flag (the suite changes nothing it did not make)
    if source == "kube-proxy clusterCIDR" || source == "nodes' podCIDRs" {
        ctx.kubectl_apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kubeadm-config, namespace: kube-system, labels: {scaffold.test/e2e: \"yes\"}}\ndata:\n  ClusterConfiguration: |\n    apiVersion: kubeadm.k8s.io/v1beta4\n    kind: ClusterConfiguration\n    networking:\n      podSubnet: 10.99.0.0/16\n");
        let out = run_ok(
            &p,
            r#"let c = cluster_cidr_info(); print(c.cidr + " " + c.source);"#,
        );
        ctx.kubectl(&["delete", "configmap", "kubeadm-config", "-n", "kube-system"]);
        assert!(
            out.contains("10.99.0.0/16 kubeadm-config podSubnet"),
            "{out}"
        );
    }
    Ok(())
}

/// label_node and label_nodes on the first node, then the labels removed
/// again (opt-in: it changes the cluster's nodes while it runs).
fn node_labels(ctx: &Ctx) -> Outcome {
    ctx.node_labels_allowed()?;
    let p = ctx.project();
    let node = ctx.node();
    let n = ctx.kubectl(&["get", "nodes", "-o", "name"]).lines().count();
    let out = run_ok(
        &p,
        &format!(
            r#"
            label_node("{node}", #{{"scaffold.test/e2e": "yes"}});
            print("labelled=" + nodes().filter(|n| n.name == "{node}")[0].labels["scaffold.test/e2e"]);
            print("all=" + label_nodes("all", #{{"scaffold.test/e2e-all": "1"}}).len());
            label_nodes("scaffold.test/e2e-all=1", #{{"scaffold.test/e2e": (), "scaffold.test/e2e-all": ()}});
            print("removed=" + (nodes().filter(|n| n.name == "{node}")[0].labels["scaffold.test/e2e"] == ()));
            "#
        ),
    );
    for want in [
        "labelled=yes".to_string(),
        format!("all={n}"),
        "removed=true".into(),
    ] {
        assert!(out.contains(&want), "{want}: {out}");
    }
    Ok(())
}
