//! Tests against a real cluster: they run only when SCAFFOLD_E2E_KUBECONFIG
//! names a kubeconfig (a throwaway cluster: they create and delete objects
//! in the namespace `scaffold-e2e`), and say why they are skipped otherwise.

use crate::util::Project;
use predicates::prelude::*;

fn real_cluster(test: &str) -> Option<std::path::PathBuf> {
    match std::env::var_os("SCAFFOLD_E2E_KUBECONFIG") {
        Some(p) if !p.is_empty() => Some(p.into()),
        _ => {
            eprintln!("skipping {test}: set SCAFFOLD_E2E_KUBECONFIG to a throwaway cluster's kubeconfig to run it");
            None
        }
    }
}

fn project(kc: &std::path::Path) -> Project {
    let p = Project::new();
    std::fs::copy(kc, p.path().join("kubeconfig")).unwrap();
    p
}

#[test]
fn e2e_ready_facts_and_readyz() {
    let Some(kc) = real_cluster("e2e_ready_facts_and_readyz") else {
        return;
    };
    let p = project(&kc);
    p.file(
        "s.rhai",
        r#"
        let r = wait_ready(#{timeout: 300});
        print("ready=" + r.ready);
        print("readyz=" + apiserver_readyz().ok);
        let n = nodes();
        print("nodes=" + n.len());
        print("ip=" + node_internal_ip(n[0].name));
        "#,
    );
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ready=true"))
        .stdout(predicate::str::contains("readyz=true"));
    p.cmd().args(["verify", "k8s-ready"]).assert().success();
}

#[test]
fn e2e_ron_session_and_cleanup() {
    let Some(kc) = real_cluster("e2e_ron_session_and_cleanup") else {
        return;
    };
    let p = project(&kc);
    p.file(
        "s.rhai",
        r#"
        let node = nodes()[0].name;
        let r = ron(node, "echo hi from the node");
        print("logs=" + r.logs);
        let s = node_session(node);
        print("kernel=" + s.exec("uname -r").stdout);
        s.close();
        let c = ron(#{node: node, cmd: "echo data > /store/x.txt", pvc: true, auto_copy_dest: "store.tar.gz"});
        print("artifacts=" + c.artifacts);
        "#,
    );
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("logs=hi from the node"));
    assert!(p.path().join("store.tar.gz").is_file());
    p.cmd()
        .args(["cleanup", "--dry-run"])
        .assert()
        .success()
        .stderr(predicate::str::contains("0 object(s) would be deleted"));
}

#[test]
fn e2e_apply_wait_port_forward() {
    let Some(kc) = real_cluster("e2e_apply_wait_port_forward") else {
        return;
    };
    let p = project(&kc);
    p.file(
        "m.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: scaffold-e2e}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: scaffold-e2e}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: main, image: registry.k8s.io/e2e-test-images/agnhost:2.53, args: [netexec, --http-port=8080], ports: [{containerPort: 8080}]}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: scaffold-e2e}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n",
    );
    p.file(
        "s.rhai",
        r#"
        on_exit(|| delete("namespace", "scaffold-e2e", #{wait: true}));
        apply("m.yaml", #{wait: true, timeout: 300});
        let body = with_port_forward("svc/web", 80, #{namespace: "scaffold-e2e"}, |addr| sh_output(["sh", "-c", "wget -qO- http://" + addr + "/hostname || curl -s http://" + addr + "/hostname"]));
        print("served by " + body);
        "#,
    );
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("served by web-"));
}

/// The quickstart on a real cluster: pod2pod with the pinned image, both
/// overlays, one short run each; real numbers recorded, `scaffold report`
/// compares them. The Deployments stay (manifests are kept for reuse, SPEC
/// "Labels"); the test deletes them at the end.
#[test]
fn e2e_pod2pod_quickstart() {
    let Some(kc) = real_cluster("e2e_pod2pod_quickstart") else {
        return;
    };
    let p = project(&kc);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/pod2pod/main.rhai");
    for overlay in ["pod", "service"] {
        p.cmd()
            .args(["script"])
            .arg(&script)
            .args(["--set", "runs=1", "--set", "duration=3", "--set"])
            .arg(format!("overlay={overlay}"))
            .args(["--artifacts", overlay])
            .timeout(std::time::Duration::from_secs(900))
            .assert()
            .success()
            .stdout(predicate::str::contains("throughput (Gbit/s)"));
        let r = p.results_in(&p.path().join(overlay));
        let t = r["records"]["pod2pod_throughput"]["value"]
            .as_f64()
            .or_else(|| r["records"]["pod2pod_throughput"]["samples"][0].as_f64())
            .unwrap_or(0.0);
        assert!(t > 0.0, "{overlay}: no throughput recorded: {r}");
    }
    p.cmd()
        .args(["report", "pod/latest", "service/latest"])
        .assert()
        .success()
        .stdout(predicate::str::contains("overlay=service"));
    p.file(
        "clean.rhai",
        r#"for d in ["pod2pod-client", "pod2pod-server"] { delete("deployment", d, #{wait: true}); }
        delete("service", "pod2pod-server");"#,
    );
    p.cmd().args(["script", "clean.rhai"]).assert().success();
}
