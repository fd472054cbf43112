//! The fixture checked against kubectl (the real client) and kube-rs.

use fakecluster::{Auth, FakeCluster, Options};
use serde_json::{json, Value};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn kubectl(fc: &FakeCluster, args: &[&str]) -> Output {
    Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", fc.kubeconfig())
        .output()
        .expect("kubectl is installed")
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "kubectl failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn wait(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

const MANIFEST: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: demo}
data: {greeting: hello-from-configmap}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: main, image: registry.k8s.io/pause:3.10}]
"#;

#[test]
fn kubectl_get_apply_create_label_wait_delete() {
    let fc = FakeCluster::start(Options {
        nodes: 2,
        ..Default::default()
    });
    let nodes = ok(kubectl(&fc, &["get", "nodes"]));
    assert!(
        nodes.contains("kind-control-plane")
            && nodes.contains("Ready")
            && nodes.contains("control-plane"),
        "{nodes}"
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.yaml");
    std::fs::write(&f, MANIFEST).unwrap();
    let out = ok(kubectl(
        &fc,
        &["apply", "--server-side", "-f", f.to_str().unwrap()],
    ));
    assert!(
        out.contains("deployment.apps/web serverside-applied"),
        "{out}"
    );
    ok(kubectl(
        &fc,
        &[
            "wait",
            "--for=condition=Available",
            "deploy/web",
            "-n",
            "demo",
            "--timeout=15s",
        ],
    ));
    let pods = ok(kubectl(&fc, &["get", "pods", "-n", "demo", "-o", "json"]));
    let v: Value = serde_json::from_str(&pods).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    // create of existing objects fails like a real server
    let o = kubectl(&fc, &["create", "-f", f.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("AlreadyExists"));
    ok(kubectl(&fc, &["label", "ns", "demo", "team=net"]));
    assert_eq!(
        fc.get("v1", "Namespace", "", "demo").unwrap()["metadata"]["labels"]["team"],
        "net"
    );
    ok(kubectl(&fc, &["label", "ns", "demo", "team-"]));
    assert!(fc.get("v1", "Namespace", "", "demo").unwrap()["metadata"]["labels"]["team"].is_null());
    // server-side apply again changes the replica count
    std::fs::write(&f, MANIFEST.replace("replicas: 2", "replicas: 3")).unwrap();
    ok(kubectl(
        &fc,
        &["apply", "--server-side", "-f", f.to_str().unwrap()],
    ));
    wait("3 pods", || {
        fc.list("v1", "Pod")
            .iter()
            .filter(|p| p["metadata"]["namespace"] == "demo")
            .count()
            == 3
    });
    ok(kubectl(&fc, &["delete", "ns", "demo"]));
    assert!(fc
        .list("v1", "Pod")
        .iter()
        .all(|p| p["metadata"]["namespace"] != "demo"));
    let o = kubectl(&fc, &["get", "cm", "cfg", "-n", "demo"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("NotFound"));
}

#[test]
fn kubectl_watch_sees_changes() {
    let fc = FakeCluster::start(Options::default());
    let mut w = Command::new("kubectl")
        .args(["get", "configmaps", "-w", "-o", "name"])
        .env("KUBECONFIG", fc.kubeconfig())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    fc.seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "watched", "namespace": "default"}})).unwrap();
    use std::io::BufRead;
    let mut r = std::io::BufReader::new(w.stdout.take().unwrap());
    // the list first (the namespace's kube-root-ca.crt), then the change
    let mut lines = vec![];
    for _ in 0..2 {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        lines.push(line.trim().to_string());
    }
    let _ = w.kill();
    let _ = w.wait();
    assert_eq!(lines, ["configmap/kube-root-ca.crt", "configmap/watched"]);
    assert!(fc.requests("watch", "configmaps") >= 1);
}

#[test]
fn kubectl_logs_follow_exec_stdin_and_volumes() {
    let fc = FakeCluster::start(Options::default());
    fc.seed_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: files, namespace: default}\ndata: {a.txt: from-configmap}\n").unwrap();
    fc.seed(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "alpine:3.20",
            "command": ["sh", "-c", "echo start; cat /configs/a.txt; echo; sleep 1; echo end"],
            "volumeMounts": [{"name": "c", "mountPath": "/configs"}]}],
            "volumes": [{"name": "c", "configMap": {"name": "files"}}]},
    }))
    .unwrap();
    wait("pod started", || {
        fc.get("v1", "Pod", "default", "p").unwrap()["status"]["phase"] != "Pending"
    });
    let logs = ok(kubectl(&fc, &["logs", "-f", "p"]));
    assert_eq!(logs, "start\nfrom-configmap\nend\n");
    wait("pod done", || {
        fc.get("v1", "Pod", "default", "p").unwrap()["status"]["phase"] == "Succeeded"
    });
    let p = fc.get("v1", "Pod", "default", "p").unwrap();
    assert_eq!(
        p["status"]["containerStatuses"][0]["state"]["terminated"]["reason"],
        "Completed"
    );

    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "s", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "300"]}]}})).unwrap();
    wait("running", || {
        fc.get("v1", "Pod", "default", "s").unwrap()["status"]["phase"] == "Running"
    });
    let mut c = Command::new("kubectl")
        .args(["exec", "-i", "s", "--", "sh", "-c", "tr a-z A-Z; exit 3"])
        .env("KUBECONFIG", fc.kubeconfig())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    c.stdin.take().unwrap().write_all(b"shout\n").unwrap();
    let o = c.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "SHOUT\n");
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // nsenter inside a pod is the shim: it runs the command here, not in PID 1's namespaces
    let out = ok(kubectl(
        &fc,
        &[
            "exec", "s", "--", "nsenter", "-t", "1", "-m", "-u", "-i", "-n", "-p", "echo",
            "shimmed",
        ],
    ));
    assert_eq!(out, "shimmed\n");
    ok(kubectl(&fc, &["delete", "pod", "s", "--wait=true"]));
    wait("process gone", || fc.running_processes() == 0);
}

#[test]
fn realistic_failures() {
    let fc = FakeCluster::start(Options {
        nodes: 2,
        ..Default::default()
    });
    // PodSecurity
    fc.seed_yaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: locked\n  labels: {pod-security.kubernetes.io/enforce: restricted}\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.yaml");
    std::fs::write(&f, "apiVersion: v1\nkind: Pod\nmetadata: {name: priv, namespace: locked}\nspec:\n  hostPID: true\n  containers: [{name: main, image: alpine, securityContext: {privileged: true}}]\n").unwrap();
    let o = kubectl(&fc, &["create", "-f", f.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("violates PodSecurity \"restricted:latest\"")
            && err.contains("hostPID=true")
            && err.contains("privileged (container \"main\""),
        "{err}"
    );
    // unpullable image
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "example.com/does-not-exist:1"}]}})).unwrap();
    wait("backoff", || {
        fc.get("v1", "Pod", "default", "bad").unwrap()["status"]["containerStatuses"][0]["state"]
            ["waiting"]["reason"]
            == "ImagePullBackOff"
    });
    assert!(fc
        .list("v1", "Event")
        .iter()
        .any(|e| e["reason"] == "Failed" && e["involvedObject"]["name"] == "bad"));
    // unschedulable
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nowhere", "namespace": "default"},
        "spec": {"nodeSelector": {"role": "none"}, "containers": [{"name": "main", "image": "pause"}]}})).unwrap();
    wait("unschedulable", || {
        let p = fc.get("v1", "Pod", "default", "nowhere").unwrap();
        p["status"]["conditions"][0]["reason"] == "Unschedulable"
    });
    // a ConfigMap volume that does not exist yet: FailedMount, the pod
    // waits, and starts once the ConfigMap is created (as the kubelet does)
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "early", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "pause", "volumeMounts": [{"name": "c", "mountPath": "/c"}]}],
            "volumes": [{"name": "c", "configMap": {"name": "later"}}]}})).unwrap();
    wait("FailedMount", || {
        fc.list("v1", "Event").iter().any(|e| {
            e["reason"] == "FailedMount"
                && e["involvedObject"]["name"] == "early"
                && e["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("configmap \"later\" not found")
        })
    });
    assert_eq!(
        fc.get("v1", "Pod", "default", "early").unwrap()["status"]["phase"],
        "Pending"
    );
    fc.seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "later", "namespace": "default"},
        "data": {"k": "v"}})).unwrap();
    wait("running after the ConfigMap appeared", || {
        fc.get("v1", "Pod", "default", "early").unwrap()["status"]["phase"] == "Running"
    });
    // a claim that does not exist: unschedulable until it is created
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "claims", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "pause", "volumeMounts": [{"name": "s", "mountPath": "/s"}]}],
            "volumes": [{"name": "s", "persistentVolumeClaim": {"claimName": "store"}}]}})).unwrap();
    wait("unschedulable without its claim", || {
        let p = fc.get("v1", "Pod", "default", "claims").unwrap();
        p["status"]["conditions"][0]["reason"] == "Unschedulable"
            && p["status"]["conditions"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains("persistentvolumeclaim \"store\" not found")
    });
    fc.seed(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "store", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})).unwrap();
    wait("running once the claim exists", || {
        fc.get("v1", "Pod", "default", "claims").unwrap()["status"]["phase"] == "Running"
    });
    // control-plane taint is honoured: daemonset without tolerations skips it
    fc.seed_yaml("apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: ds, namespace: default}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: pause}]}\n").unwrap();
    wait("ds", || {
        fc.get("apps/v1", "DaemonSet", "default", "ds").unwrap()["status"]["numberReady"] == 1
    });
}

fn client(fc: &FakeCluster) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(fc.kubeconfig()).unwrap();
    fc.runtime().block_on(async {
        let mut cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap();
        // kube retries 429/503/504 by default; these tests look at raw answers
        cfg.default_retry = false;
        kube::Client::try_from(cfg).unwrap()
    })
}

#[test]
fn auth_token_and_client_certificate() {
    let fc = FakeCluster::start(Options {
        auth: Auth::ClientCert,
        ..Default::default()
    });
    let c = client(&fc);
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(c);
    assert_eq!(
        fc.runtime()
            .block_on(nodes.list(&Default::default()))
            .unwrap()
            .items
            .len(),
        1
    );
    // without credentials: anonymous, refused by the authorizer (403), as a
    // real API server with anonymous auth on answers (tests/traces/errors.json)
    let kc = kube::config::Kubeconfig::read_from(fc.kubeconfig()).unwrap();
    let anon = fc.runtime().block_on(async {
        let mut cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap();
        cfg.auth_info = Default::default();
        let nodes: kube::Api<k8s_openapi::api::core::v1::Node> =
            kube::Api::all(kube::Client::try_from(cfg).unwrap());
        nodes.list(&Default::default()).await
    });
    match anon {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 403);
            assert!(s.message.contains("system:anonymous"), "{}", s.message);
        }
        other => panic!("expected 403, got {other:?}"),
    }
    let o = Command::new("kubectl")
        .args(["get", "nodes", "--token", "wrong"])
        .env("KUBECONFIG", fc.kubeconfig())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "a valid client certificate wins over a bad token"
    );
}

#[test]
fn pagination_selectors_and_watch_resume() {
    let fc = FakeCluster::start(Options::default());
    for i in 0..25 {
        fc.seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm-{i:02}"), "namespace": "default", "labels": {"n": (i % 2).to_string()}}})).unwrap();
    }
    let c = client(&fc);
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::default_namespaced(c);
    let page = fc
        .runtime()
        .block_on(cms.list(&kube::api::ListParams::default().limit(10)))
        .unwrap();
    assert_eq!(page.items.len(), 10);
    // 25 and the namespace's kube-root-ca.crt
    assert_eq!(page.metadata.remaining_item_count, Some(16));
    let token = page.metadata.continue_.clone().unwrap();
    // the token holds the key to go on after, as etcd's does: an object
    // of the first page deleted meanwhile shifts nothing
    fc.delete("v1", "ConfigMap", "default", "cm-05").unwrap();
    fc.seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-05", "namespace": "default", "labels": {"n": "1"}}})).unwrap();
    let page2 = fc
        .runtime()
        .block_on(
            cms.list(
                &kube::api::ListParams::default()
                    .limit(10)
                    .continue_token(&token),
            ),
        )
        .unwrap();
    assert_eq!(page2.items[0].metadata.name.as_deref(), Some("cm-10"));
    // pages with a selector: each page full, no count of the rest, no
    // token after the last match
    let mut names = vec![];
    let mut token: Option<String> = None;
    loop {
        let mut lp = kube::api::ListParams::default().labels("n=1").limit(5);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let p = fc.runtime().block_on(cms.list(&lp)).unwrap();
        assert_eq!(p.metadata.remaining_item_count, None);
        names.extend(p.items.iter().filter_map(|c| c.metadata.name.clone()));
        token = p.metadata.continue_.clone().filter(|t| !t.is_empty());
        if token.is_none() {
            assert!(p.items.len() <= 5);
            break;
        }
        assert_eq!(p.items.len(), 5);
    }
    assert_eq!(names.len(), 12, "{names:?}");
    assert_eq!(names[0], "cm-01");
    let odd = fc
        .runtime()
        .block_on(cms.list(&kube::api::ListParams::default().labels("n in (1)")))
        .unwrap();
    assert_eq!(odd.items.len(), 12);
    let named = fc
        .runtime()
        .block_on(cms.list(&kube::api::ListParams::default().fields("metadata.name=cm-03")))
        .unwrap();
    assert_eq!(named.items.len(), 1);
    // watch from a resourceVersion replays what happened since
    let rv = page.metadata.resource_version.clone().unwrap();
    fc.delete("v1", "ConfigMap", "default", "cm-00").unwrap();
    let evs = fc.runtime().block_on(async {
        use futures::StreamExt;
        let s = cms
            .watch(&kube::api::WatchParams::default().timeout(1), &rv)
            .await
            .unwrap();
        s.take(1).collect::<Vec<_>>().await
    });
    assert!(
        matches!(evs[0], Ok(kube::api::WatchEvent::Deleted(_))),
        "{:?}",
        evs[0]
    );
    // a resourceVersion older than the history is 410 Gone
    let gone = fc.runtime().block_on(async {
        use futures::StreamExt;
        let s = cms
            .watch(&kube::api::WatchParams::default().timeout(1), "1")
            .await
            .unwrap();
        s.take(1).collect::<Vec<_>>().await
    });
    match &gone[0] {
        Ok(kube::api::WatchEvent::Error(e)) => assert_eq!(e.code, 410),
        other => panic!("expected 410, got {other:?}"),
    }
}

#[test]
fn exec_and_port_forward_with_kube_rs() {
    let fc = FakeCluster::start(Options::default());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.bin"), vec![7u8; 1 << 20]).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "srv", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "busybox", "workingDir": dir.path(),
            "command": ["python3", "-m", "http.server", port.to_string(), "--bind", "127.0.0.1"],
            "ports": [{"containerPort": port}]}]}})).unwrap();
    wait("running", || {
        fc.get("v1", "Pod", "default", "srv").unwrap()["status"]["phase"] == "Running"
    });
    wait("listening", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::default_namespaced(client(&fc));
    let body = fc.runtime().block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut pf = pods.portforward("srv", &[port]).await.unwrap();
        let mut s = pf.take_stream(port).unwrap();
        s.write_all(b"GET /data.bin HTTP/1.0\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![];
        s.read_to_end(&mut buf).await.unwrap();
        buf
    });
    assert!(
        body.starts_with(b"HTTP/1.0 200"),
        "{:?}",
        String::from_utf8_lossy(&body[..body.len().min(100)])
    );
    assert!(body.len() > 1 << 20);
    // exec with stdin and an exit code
    let (out, status) = fc.runtime().block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let ap = kube::api::AttachParams::default().stdin(true).stderr(false);
        let mut p = pods
            .exec("srv", vec!["sh", "-c", "cat; exit 5"], &ap)
            .await
            .unwrap();
        let mut w = p.stdin().unwrap();
        w.write_all(b"in-out").await.unwrap();
        w.shutdown().await.unwrap();
        drop(w);
        let mut s = String::new();
        p.stdout().unwrap().read_to_string(&mut s).await.unwrap();
        let st = p.take_status().unwrap().await;
        (s, st)
    });
    assert_eq!(out, "in-out");
    let st = status.unwrap();
    assert_eq!(st.reason.as_deref(), Some("NonZeroExitCode"));
}

#[test]
fn faults_throttle_errors_readyz_watch_drop_and_restart() {
    let fc = FakeCluster::start(Options::default());
    let get = |path: &str| kubectl(&fc, &["get", "--raw", path]);
    let body = ok(get("/readyz?verbose"));
    // the recorded 1.32 server's readyz has no etcd check; a failing one
    // is listed all the same
    assert!(
        body.contains("[+]informer-sync ok") && body.contains("readyz check passed"),
        "{body}"
    );
    fc.faults().set_readyz_failing(Some("etcd"));
    let o = get("/readyz?verbose");
    assert!(!o.status.success());
    fc.faults().set_readyz_failing(None);
    fc.faults().fail_next(1);
    assert_eq!(kube_raw_status(&fc), 500);
    fc.faults().throttle_next(2);
    assert_eq!(kube_raw_status(&fc), 429);
    assert_eq!(kube_raw_status(&fc), 429);
    assert_eq!(kube_raw_status(&fc), 200);
    // open watches end when dropped
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::default_namespaced(client(&fc));
    let stream = fc
        .runtime()
        .block_on(cms.watch(&Default::default(), "0"))
        .unwrap();
    let h = fc.runtime().spawn(async move {
        use futures::StreamExt;
        stream.collect::<Vec<_>>().await.len()
    });
    std::thread::sleep(Duration::from_millis(200));
    assert!(!h.is_finished());
    let t = Instant::now();
    fc.faults().drop_watches();
    fc.runtime().block_on(h).unwrap();
    assert!(t.elapsed() < Duration::from_secs(2));
    // stop listening and come back on the same port
    fc.stop_listening();
    assert!(!kubectl(&fc, &["get", "ns", "--request-timeout=2s"])
        .status
        .success());
    fc.resume_listening();
    ok(kubectl(&fc, &["get", "ns"]));
}

fn kube_raw_status(fc: &FakeCluster) -> u16 {
    let c = client(fc);
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(c);
    match fc.runtime().block_on(nodes.list(&Default::default())) {
        Err(kube::Error::Api(s)) => s.code,
        Ok(_) => 200,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn faults_latency_and_dropped_streams() {
    let fc = FakeCluster::start(Options::default());
    fc.faults().set_latency(Duration::from_millis(300));
    let t = Instant::now();
    ok(kubectl(&fc, &["get", "--raw", "/version"]));
    assert!(t.elapsed() >= Duration::from_millis(300));
    fc.faults().set_latency(Duration::ZERO);
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "s", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "300"]}]}}))
    .unwrap();
    wait("running", || {
        fc.get("v1", "Pod", "default", "s").unwrap()["status"]["phase"] == "Running"
    });
    // a long exec is cut when streams are dropped
    let mut c = Command::new("kubectl")
        .args(["exec", "s", "--", "sleep", "30"])
        .env("KUBECONFIG", fc.kubeconfig())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let t = Instant::now();
    fc.faults().drop_streams();
    let st = c.wait().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "exec ended when its stream was dropped"
    );
    assert!(!st.success());
}

/// A container that keeps failing, as the kubelet runs it: the first
/// restart at once, then CrashLoopBackOff with back-offs of 10 s, 20 s,
/// 40 s (waited a tenth as long), the phase Running throughout, lastState
/// the run before with its own container ID, Warning BackOff events, each
/// restart pulled, created and started again; `kubectl logs` shows the
/// current run only, `--previous` the one before, `-f` ends with its run;
/// a container that never started has no logs, in the kubelet's words.
#[test]
fn crash_loop_back_off_and_logs_per_run() {
    let fc = FakeCluster::start(Options::default());
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crash", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36",
            "command": ["sh", "-c", "echo run $(cat /proc/sys/kernel/random/uuid); sleep 0.2; exit 3"]}]}}))
    .unwrap();
    // every state the pod goes through, until its fourth restart
    let mut seen: Vec<(u64, String, String)> = vec![];
    let t = Instant::now();
    loop {
        let p = fc.get("v1", "Pod", "default", "crash").unwrap();
        let cs = &p["status"]["containerStatuses"][0];
        let st = (
            cs["restartCount"].as_u64().unwrap_or(0),
            cs["state"]["waiting"]["message"]
                .as_str()
                .map(|m| m.split(" restarting").next().unwrap().to_string())
                .unwrap_or_default(),
            p["status"]["phase"].as_str().unwrap_or("").to_string(),
        );
        if seen.last() != Some(&st) {
            seen.push(st.clone());
        }
        if st.0 >= 4 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "{seen:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let backoffs: Vec<(u64, &str)> = seen
        .iter()
        .filter(|s| !s.1.is_empty())
        .map(|s| (s.0, s.1.as_str()))
        .collect();
    assert_eq!(
        backoffs,
        vec![
            (1, "back-off 10s"),
            (2, "back-off 20s"),
            (3, "back-off 40s")
        ],
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|s| s.0 == 1 && s.1.is_empty()),
        "the first restart comes without a back-off: {seen:?}"
    );
    assert!(
        seen.iter()
            .skip_while(|s| s.2 != "Running")
            .all(|s| s.2 == "Running"),
        "a crash-looping pod stays Running: {seen:?}"
    );
    // waiting out a back-off: lastState is the run that ended, with the
    // container ID the status still shows
    wait("a back-off", || {
        let p = fc.get("v1", "Pod", "default", "crash").unwrap();
        p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    });
    let p = fc.get("v1", "Pod", "default", "crash").unwrap();
    let cs = &p["status"]["containerStatuses"][0];
    let last = &cs["lastState"]["terminated"];
    assert_eq!(last["exitCode"], 3);
    assert_eq!(last["reason"], "Error");
    assert_eq!(last["containerID"], cs["containerID"]);
    // logs: this run's line, the previous run's line, each once
    let now = ok(kubectl(&fc, &["logs", "crash"]));
    let before = ok(kubectl(&fc, &["logs", "crash", "--previous"]));
    assert_eq!(now.lines().count(), 1, "{now}");
    assert_eq!(before.lines().count(), 1, "{before}");
    assert!(now.starts_with("run ") && before.starts_with("run ") && now != before);
    // events: counted BackOff warnings, each restart started again
    let events = ok(kubectl(
        &fc,
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=crash",
            "-o",
            "json",
        ],
    ));
    let events: Value = serde_json::from_str(&events).unwrap();
    let count = |reason: &str| -> u64 {
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["reason"] == reason)
            .map(|e| e["count"].as_u64().unwrap_or(1))
            .sum()
    };
    assert!(count("BackOff") >= 3, "{events}");
    assert!(count("Started") >= 4, "{events}");
    assert!(count("Created") >= 4, "{events}");
    ok(kubectl(&fc, &["delete", "pod", "crash", "--wait=true"]));

    // following a run ends with it, not with the container's next run
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "again", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36",
            "command": ["sh", "-c", "echo a; sleep 0.5; echo b; exit 1"]}]}}))
    .unwrap();
    wait("running", || {
        fc.get("v1", "Pod", "default", "again").unwrap()["status"]["phase"] == "Running"
    });
    assert_eq!(ok(kubectl(&fc, &["logs", "-f", "again"])), "a\nb\n");
    ok(kubectl(&fc, &["delete", "pod", "again", "--wait=true"]));

    // a command that prints at once and ends: all of it in its run's log
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "quick", "namespace": "default"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:1.36",
            "command": ["sh", "-c", "echo quick"]}]}}))
    .unwrap();
    wait("done", || {
        fc.get("v1", "Pod", "default", "quick").unwrap()["status"]["phase"] == "Succeeded"
    });
    assert_eq!(ok(kubectl(&fc, &["logs", "quick"])), "quick\n");

    // no run yet: the kubelet's reason, and no previous run
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "never", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "does-not-exist:1"}]}}))
    .unwrap();
    wait("pull failed", || {
        let p = fc.get("v1", "Pod", "default", "never").unwrap();
        p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ErrImagePull"
    });
    let o = kubectl(&fc, &["logs", "never"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains(
            "container \"main\" in pod \"never\" is waiting to start: image can't be pulled"
        ) || e.contains("is waiting to start: trying and failing to pull image"),
        "{e}"
    );
    let o = kubectl(&fc, &["logs", "never", "--previous"]);
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("previous terminated container \"main\" in pod \"never\" not found"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
