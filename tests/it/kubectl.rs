//! kubectl, a real client, against the fake: every verb scaffold and the
//! scenarios use runs as it runs against a real server (get -o json and
//! -w, apply --server-side with its conflict, create -f and imperative
//! create, delete with --cascade, wait --for=condition, rollout status,
//! logs -f, exec, label, scale, describe, api-resources, auth can-i,
//! get --raw /readyz?verbose). Port-forward over SPDY is the one verb
//! kubectl cannot use here (docs/ARCHITECTURE.md).

use fakecluster::{FakeCluster, Options};
use serde_json::Value;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn kubectl(fc: &FakeCluster, args: &[&str]) -> Output {
    Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", fc.kubeconfig())
        .env_remove("KUBECTL_EXTERNAL_DIFF")
        .output()
        .expect("kubectl is installed")
}

fn ok(fc: &FakeCluster, args: &[&str]) -> String {
    let o = kubectl(fc, args);
    assert!(
        o.status.success(),
        "kubectl {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(fc: &FakeCluster, args: &[&str]) -> String {
    let o = kubectl(fc, args);
    assert!(
        !o.status.success(),
        "kubectl {} should fail",
        args.join(" ")
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn apply_stdin(fc: &FakeCluster, args: &[&str], yaml: &str) -> Output {
    use std::io::Write;
    let mut c = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", fc.kubeconfig())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(yaml.as_bytes()).unwrap();
    c.wait_with_output().unwrap()
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn cluster() -> FakeCluster {
    FakeCluster::start(Options {
        nodes: 2,
        ..Default::default()
    })
}

const DEPLOY: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: main, image: registry.k8s.io/pause:3.10}]}
"#;

#[test]
fn get_json_and_watch() {
    let fc = cluster();
    let v: Value = serde_json::from_str(&ok(&fc, &["get", "nodes", "-o", "json"])).unwrap();
    assert_eq!(v["kind"], "List");
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    // list items get their kind back from kubectl, as with a real server
    assert_eq!(v["items"][0]["kind"], "Node");
    let mut w = Command::new("kubectl")
        .args([
            "get",
            "configmaps",
            "-n",
            "default",
            "-w",
            "--output-watch-events",
            "-o",
            "json",
        ])
        .env("KUBECONFIG", fc.kubeconfig())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    ok(
        &fc,
        &["create", "configmap", "watched", "--from-literal=a=b"],
    );
    ok(&fc, &["delete", "configmap", "watched"]);
    std::thread::sleep(Duration::from_millis(800));
    let _ = w.kill();
    let out = w.wait_with_output().unwrap();
    // one JSON event after another, as kubectl prints them
    let s = String::from_utf8_lossy(&out.stdout);
    let events: Vec<String> = serde_json::Deserializer::from_str(&s)
        .into_iter::<Value>()
        .map(|e| {
            let e = e.unwrap();
            format!(
                "{} {}",
                e["type"].as_str().unwrap(),
                e["object"]["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    for want in ["ADDED kube-root-ca.crt", "ADDED watched", "DELETED watched"] {
        assert!(events.iter().any(|e| e == want), "{want}: {events:?}");
    }
}

#[test]
fn apply_server_side_and_its_conflict() {
    let fc = cluster();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owned, namespace: default}\ndata: {k: first}\n";
    let o = apply_stdin(&fc, &["apply", "--server-side", "-f", "-"], cm);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("configmap/owned serverside-applied"));
    // another manager changing kubectl's field: the API server's conflict
    let changed = cm.replace("first", "second");
    let o = apply_stdin(
        &fc,
        &["apply", "--server-side", "--field-manager=other", "-f", "-"],
        &changed,
    );
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("Apply failed with 1 conflict")
            && e.contains("conflict with \"kubectl\"")
            && e.contains(".data.k"),
        "{e}"
    );
    let o = apply_stdin(
        &fc,
        &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            "-",
        ],
        &changed,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_str(&ok(
        &fc,
        &[
            "get",
            "configmap",
            "owned",
            "-o",
            "json",
            "--show-managed-fields",
        ],
    ))
    .unwrap();
    assert_eq!(v["data"]["k"], "second");
    let managers: Vec<&str> = v["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["other"], "{v}");
}

#[test]
fn create_from_files_and_imperatively() {
    let fc = cluster();
    let o = apply_stdin(&fc, &["create", "-f", "-"], DEPLOY);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let e = String::from_utf8_lossy(&apply_stdin(&fc, &["create", "-f", "-"], DEPLOY).stderr)
        .to_string();
    assert!(
        e.contains("AlreadyExists") && e.contains("\"web\" already exists"),
        "{e}"
    );
    ok(&fc, &["create", "namespace", "team"]);
    ok(
        &fc,
        &[
            "create",
            "configmap",
            "cfg",
            "-n",
            "team",
            "--from-literal=a=b",
        ],
    );
    ok(
        &fc,
        &[
            "create",
            "secret",
            "generic",
            "pw",
            "-n",
            "team",
            "--from-literal=p=x",
        ],
    );
    ok(
        &fc,
        &[
            "create",
            "service",
            "clusterip",
            "svc",
            "-n",
            "team",
            "--tcp=80:8080",
        ],
    );
    ok(
        &fc,
        &[
            "create",
            "job",
            "once",
            "-n",
            "team",
            "--image=busybox",
            "--",
            "echo",
            "done",
        ],
    );
    // invalid names are the server's 422
    let e = fails(&fc, &["create", "configmap", "Bad_Name"]);
    assert!(e.contains("is invalid") && e.contains("RFC 1123"), "{e}");
}

#[test]
fn delete_with_each_cascade() {
    let fc = cluster();
    for (name, cascade) in [
        ("bg", "background"),
        ("fg", "foreground"),
        ("orph", "orphan"),
    ] {
        ok(
            &fc,
            &[
                "create",
                "deployment",
                name,
                "--image=registry.k8s.io/pause:3.10",
                "--replicas=2",
            ],
        );
        ok(
            &fc,
            &[
                "rollout",
                "status",
                &format!("deployment/{name}"),
                "--timeout=30s",
            ],
        );
        let pods_of = |fc: &FakeCluster| {
            fc.list("v1", "Pod")
                .into_iter()
                .filter(|p| p["metadata"]["labels"]["app"] == name)
                .count()
        };
        assert_eq!(pods_of(&fc), 2);
        ok(
            &fc,
            &[
                "delete",
                "deployment",
                name,
                &format!("--cascade={cascade}"),
                "--timeout=30s",
            ],
        );
        assert!(fc.get("apps/v1", "Deployment", "default", name).is_none());
        match cascade {
            "orphan" => {
                // the ReplicaSet stays, no longer owned
                let rs: Vec<Value> = fc
                    .list("apps/v1", "ReplicaSet")
                    .into_iter()
                    .filter(|r| r["metadata"]["labels"]["app"] == name)
                    .collect();
                assert_eq!(rs.len(), 1);
                assert!(rs[0]["metadata"]["ownerReferences"].is_null(), "{}", rs[0]);
                assert_eq!(pods_of(&fc), 2);
            }
            _ => eventually("pods gone", || pods_of(&fc) == 0),
        }
    }
}

#[test]
fn wait_rollout_status_scale_and_label() {
    let fc = cluster();
    let o = apply_stdin(&fc, &["apply", "-f", "-"], DEPLOY);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    ok(
        &fc,
        &[
            "wait",
            "--for=condition=Available",
            "deployment/web",
            "--timeout=30s",
        ],
    );
    let s = ok(
        &fc,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    );
    assert!(s.contains("successfully rolled out"), "{s}");
    let s = ok(&fc, &["scale", "deployment/web", "--replicas=3"]);
    assert!(s.contains("deployment.apps/web scaled"), "{s}");
    ok(
        &fc,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    );
    let v: Value =
        serde_json::from_str(&ok(&fc, &["get", "deployment", "web", "-o", "json"])).unwrap();
    assert_eq!(v["status"]["readyReplicas"], 3, "{v}");
    ok(
        &fc,
        &[
            "wait",
            "--for=condition=Ready",
            "pod",
            "-l",
            "app=web",
            "--timeout=30s",
        ],
    );
    ok(&fc, &["label", "deployment", "web", "team=net"]);
    assert_eq!(
        fc.get("apps/v1", "Deployment", "default", "web").unwrap()["metadata"]["labels"]["team"],
        "net"
    );
    ok(
        &fc,
        &["label", "node", "kind-worker", "role.scaffolding/lb=true"],
    );
    assert_eq!(
        ok(
            &fc,
            &[
                "get",
                "nodes",
                "-l",
                "role.scaffolding/lb=true",
                "-o",
                "name"
            ]
        )
        .trim(),
        "node/kind-worker"
    );
    ok(
        &fc,
        &["label", "node", "kind-worker", "role.scaffolding/lb-"],
    );
    // a wait that cannot be met times out and says so
    let e = fails(
        &fc,
        &[
            "wait",
            "--for=condition=Ready",
            "pod",
            "-l",
            "app=nothing",
            "--timeout=1s",
        ],
    );
    assert!(e.contains("no matching resources found"), "{e}");
}

#[test]
fn logs_follow_and_exec() {
    let fc = cluster();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: talker, namespace: default}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers: [{name: main, image: busybox, command: [sh, -c, 'echo one; sleep 1; echo two; sleep 3600']}]\n";
    let o = apply_stdin(&fc, &["apply", "-f", "-"], pod);
    assert!(o.status.success());
    ok(
        &fc,
        &[
            "wait",
            "--for=condition=Ready",
            "pod/talker",
            "--timeout=30s",
        ],
    );
    let mut f = Command::new("kubectl")
        .args(["logs", "-f", "talker"])
        .env("KUBECONFIG", fc.kubeconfig())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    let _ = f.kill();
    let s = String::from_utf8_lossy(&f.wait_with_output().unwrap().stdout).to_string();
    assert!(s.contains("one\n") && s.contains("two\n"), "{s}");
    let s = ok(
        &fc,
        &["exec", "talker", "--", "sh", "-c", "echo out; echo err >&2"],
    );
    assert_eq!(s, "out\n");
    let o = kubectl(&fc, &["exec", "talker", "--", "sh", "-c", "exit 3"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "kubectl exec passes the exit code on"
    );
    let e = fails(&fc, &["exec", "nosuchpod", "--", "true"]);
    assert!(e.contains("pods \"nosuchpod\" not found"), "{e}");
}

#[test]
fn describe_api_resources_can_i_and_readyz() {
    let fc = cluster();
    let o = apply_stdin(&fc, &["apply", "-f", "-"], DEPLOY);
    assert!(o.status.success());
    ok(
        &fc,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    );
    let d = ok(&fc, &["describe", "deployment", "web"]);
    assert!(
        d.contains("NewReplicaSet:") && d.contains("web-") && d.contains("2 available"),
        "{d}"
    );
    let pod = fc
        .list("v1", "Pod")
        .into_iter()
        .find(|p| p["metadata"]["labels"]["app"] == "web")
        .unwrap();
    let d = ok(
        &fc,
        &["describe", "pod", pod["metadata"]["name"].as_str().unwrap()],
    );
    assert!(
        d.lines()
            .any(|l| l.starts_with("Status:") && l.ends_with("Running")),
        "{d}"
    );
    for want in [
        "Successfully assigned default/",
        "Created container: main",
        "Ready             True",
    ] {
        assert!(d.contains(want), "{want}: {d}");
    }
    let r = ok(&fc, &["api-resources"]);
    for want in [
        "deployments",
        "deploy",
        "apps/v1",
        "jobs",
        "batch/v1",
        "configmaps",
        "cm",
    ] {
        assert!(r.contains(want), "{want}: {r}");
    }
    assert_eq!(ok(&fc, &["auth", "can-i", "create", "pods"]).trim(), "yes");
    let o = kubectl(&fc, &["auth", "can-i", "create", "pods", "--as=nobody"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "no");
    let r = ok(&fc, &["get", "--raw", "/readyz?verbose"]);
    assert!(
        r.contains("[+]ping ok") && r.ends_with("readyz check passed\n"),
        "{r}"
    );
    let v = ok(&fc, &["version", "-o", "json"]);
    assert!(v.contains("v1.32.13"), "{v}");
}
