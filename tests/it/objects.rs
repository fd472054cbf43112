//! Objects from scripts against the fake API server: apply, get, list,
//! delete, wait_for, exec, logs, kustomize.

use crate::util::Project;
use fakecluster::{FakeCluster, Options};
use predicates::prelude::*;

fn cluster(p: &Project) -> FakeCluster {
    let fc = FakeCluster::start(Options {
        nodes: 2,
        ..Default::default()
    });
    fc.write_kubeconfig_to(&p.path().join("kubeconfig"))
        .unwrap();
    fc
}

const MANIFEST: &str = r#"apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: demo}
spec: {size: 3}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: demo, labels: {app: web}}
data: {a: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: main, image: registry.k8s.io/pause:3.10}]}
"#;

#[test]
fn apply_with_crds_wait_and_refs() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file("m.yaml", MANIFEST);
    p.file(
        "s.rhai",
        r#"
        let refs = apply("m.yaml", #{wait: true});
        for r in refs { print(r.kind + " " + r.namespace + "/" + r.name + " " + r.action); }
        let d = get("deployment", "web", #{namespace: "demo"});
        print("available=" + d.status.availableReplicas);
        let w = get("Widget", "w1", #{namespace: "demo"});
        print("widget size=" + w.spec.size);
        print("missing=" + type_of(get("configmap", "nope", #{namespace: "demo"})));
        print("listed=" + list("cm", #{namespace: "demo", labels: "app=web"}).len());
        print("all=" + list("pods", #{namespace: "*"}).len());
        "#,
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{s}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("Namespace /demo configured"), "{s}");
    assert!(s.contains("Widget demo/w1 configured"), "{s}");
    assert!(s.contains("Deployment demo/web configured"), "{s}");
    assert!(s.contains("available=2"), "{s}");
    assert!(s.contains("widget size=3"), "{s}");
    assert!(s.contains("missing=()"), "{s}");
    assert!(s.contains("listed=1"), "{s}");
    assert!(s.contains("all=4"), "{s}");
    // server-side apply with our field manager, through PATCH
    assert!(fc.requests("patch", "deployments.apps") >= 1);
    assert_eq!(fc.requests("create", "deployments.apps"), 0);
}

#[test]
fn a_bad_document_applies_nothing() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file("bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok1}\n---\napiVersion: v1\nkind: Frobnicator\nmetadata: {name: x}\n");
    p.file("s.rhai", r#"apply("bad.yaml");"#);
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "bad.yaml: document 2 (line 5): the server has no kind Frobnicator in v1",
        ));
    assert!(
        fc.get("v1", "ConfigMap", "default", "ok1").is_none(),
        "nothing applied"
    );
    p.file("syntax.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n");
    p.file("t.rhai", r#"apply("syntax.yaml");"#);
    p.cmd()
        .args(["script", "t.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "syntax.yaml: document 2 (line 5): invalid YAML",
        ));
    p.file(
        "u.rhai",
        "apply(\"apiVersion: v1\\nkind: ConfigMap\\nmetadata: {}\\n\");",
    );
    p.cmd()
        .args(["script", "u.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ConfigMap has no metadata.name"));
}

#[test]
fn create_or_replace_and_retries() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {v: one}\n",
    );
    p.file(
        "s.rhai",
        r#"
        print(apply("cm.yaml", #{mode: "create_or_replace"})[0].action);
        let t = read_file("cm.yaml");
        t.replace("one", "two");
        print(apply(t, #{mode: "create_or_replace"})[0].action);
        "#,
    );
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("created\nreplaced"));
    assert_eq!(
        fc.get("v1", "ConfigMap", "default", "c").unwrap()["data"]["v"],
        "two"
    );
    // transient answers are retried for server-side apply
    p.file("r.rhai", r#"apply("cm.yaml"); print("applied");"#);
    fc.faults().throttle_next(3);
    p.cmd()
        .args(["script", "r.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("applied"));
    // reads are retried through transient 500s
    p.file("g.rhai", r#"print(get("configmap", "c").data.v);"#);
    fc.faults().fail_next(2);
    p.cmd()
        .args(["script", "g.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("one"));
    // a plain create is not retried blindly: the 500 is the answer
    p.file(
        "cm2.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c2}\n",
    );
    p.file(
        "n2.rhai",
        r#"get("configmap", "c"); sleep(0.5); apply("cm2.yaml", #{mode: "create_or_replace"});"#,
    );
    fc.reset_request_counts();
    let child = p
        .std_cmd()
        .args(["script", "n2.rhai"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    fc.faults().fail_next(1);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("injected fault") && err.contains("cannot apply ConfigMap 'c2'"),
        "{err}"
    );
    // had the create been retried, the second try would have succeeded
    assert!(
        fc.get("v1", "ConfigMap", "default", "c2").is_none(),
        "the failed create was not retried"
    );
}

#[test]
fn wait_for_survives_dropped_watches() {
    let p = Project::new();
    let fc = cluster(&p);
    fc.seed(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flag", "namespace": "default"}, "data": {"v": "0"}})).unwrap();
    p.file(
        "s.rhai",
        r#"wait_for("configmap", "flag", #{condition: |o| o.data.v == "1", timeout: 20}); print("done");"#,
    );
    let child = p
        .std_cmd()
        .args(["script", "s.rhai"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(600));
    fc.faults().drop_watches();
    std::thread::sleep(std::time::Duration::from_millis(300));
    fc.update("v1", "ConfigMap", "default", "flag", |o| {
        o["data"]["v"] = serde_json::json!("1")
    })
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "done");
    assert!(
        fc.requests("watch", "configmaps") >= 2,
        "the watch was resumed"
    );
}

#[test]
fn delete_wait_for_and_timeouts() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file("m.yaml", MANIFEST);
    p.file(
        "s.rhai",
        r#"
        apply("m.yaml");
        let d = wait_for("deployment", "web", #{namespace: "demo", condition: "Available", timeout: 20});
        print("ready=" + d.status.readyReplicas);
        let p = wait_for("pod", list("pods", #{namespace: "demo"})[0].metadata.name, #{namespace: "demo", condition: |o| o.status.phase == "Running"});
        print("phase=" + p.status.phase);
        print("deleted=" + delete("configmap", "cfg", #{namespace: "demo", wait: true}));
        print("again=" + delete("configmap", "cfg", #{namespace: "demo"}));
        print("n=" + delete("m.yaml"));
        "#,
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{s}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        s.contains("ready=2")
            && s.contains("phase=Running")
            && s.contains("deleted=true")
            && s.contains("again=false"),
        "{s}"
    );
    // the namespace goes once its content has (the namespace controller)
    let t = std::time::Instant::now();
    while fc.get("v1", "Namespace", "", "demo").is_some() {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "namespace demo still there"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // timeout shows the last conditions
    fc.seed_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: stuck, namespace: default}\nspec: {containers: [{name: m, image: x/does-not-exist}]}\n").unwrap();
    p.file(
        "t.rhai",
        r#"wait_for("pod", "stuck", #{condition: "Ready", timeout: 1});"#,
    );
    p.cmd()
        .args(["script", "t.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("wait_for: Pod 'default/stuck': timed out after 1s waiting for condition Ready=True; last conditions:"))
        .stderr(predicate::str::contains("Ready=False (ContainersNotReady)"));
    p.file("k.rhai", r#"get("Frobnicator", "x");"#);
    p.cmd()
        .args(["script", "k.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the server has no kind 'Frobnicator'",
        ));
}

#[test]
fn exec_and_logs() {
    let p = Project::new();
    let fc = cluster(&p);
    fc.seed_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: box, namespace: default}\nspec: {containers: [{name: main, image: busybox, command: [sh, -c, 'echo one; echo two; sleep 300']}]}\n").unwrap();
    fc.seed_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: short, namespace: default}\nspec: {restartPolicy: Never, containers: [{name: main, image: alpine, command: [sh, -c, 'for i in 1 2 3; do echo line $i; sleep 0.1; done']}]}\n").unwrap();
    p.file(
        "s.rhai",
        r#"
        wait_for("pod", "box", #{condition: "Ready", timeout: 20});
        let r = exec("box", "cat; echo err >&2", #{stdin: "hello"});
        print("out=" + r.stdout + " err=" + r.stderr + "code=" + r.code);
        let f = exec("box", ["sh", "-c", "exit 4"], #{check: false});
        print("code=" + f.code);
        print("logs=" + logs("box").split("\n").len());
        let followed = logs("short", #{follow: true});
        print("followed=" + followed.split("\n").len());
        exec("box", ["false"]);
        "#,
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}{s}");
    assert!(s.contains("out=hello err=err\ncode=0"), "{s}");
    assert!(s.contains("code=4"), "{s}");
    assert!(s.contains("logs=3"), "{s}");
    assert!(
        s.contains("line 3\nfollowed=4"),
        "follow streams the lines live: {s}"
    );
    assert!(
        e.contains("exec: command exited with code 1 in pod 'default/box': false"),
        "{e}"
    );
}

#[test]
fn kustomize_renders_and_applies_directories() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file(
        "base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base-cm}\ndata: {k: v}\n",
    );
    p.file(
        "base/kustomization.yaml",
        "resources: [cm.yaml]\nnamespace: kz\n",
    );
    p.file(
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: kz}\n",
    );
    p.file(
        "plain/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain-a}\n",
    );
    p.file(
        "plain/b.yml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain-b}\n",
    );
    p.file(
        "s.rhai",
        r#"
        let y = kustomize("base");
        if !y.contains("namespace: kz") { throw "not rendered: " + y; }
        apply("ns.yaml");
        apply("base");
        print(apply("plain").len());
        "#,
    );
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2"));
    assert!(fc.get("v1", "ConfigMap", "kz", "base-cm").is_some());
    assert!(fc.get("v1", "ConfigMap", "default", "plain-b").is_some());
    p.file("broken/kustomization.yaml", "resources: [missing.yaml]\n");
    p.file("k.rhai", r#"kustomize("broken");"#);
    p.cmd()
        .args(["script", "k.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("kubectl failed on"))
        .stderr(predicate::str::contains("missing.yaml"));
}

#[test]
fn cli_apply_and_port_forward() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file("m.yaml", MANIFEST);
    p.cmd()
        .args(["apply", "m.yaml", "--wait"])
        .assert()
        .success()
        .stdout(predicate::str::contains("deployment.apps/web configured"))
        .stdout(predicate::str::contains("widget.example.com/w1 configured"));
    assert!(fc.get("apps/v1", "Deployment", "demo", "web").is_some());
    p.file(
        "bad.yaml",
        "apiVersion: v1\nkind: Nope\nmetadata: {name: x}\n",
    );
    p.cmd()
        .args(["apply", "bad.yaml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("document 1 (line 1)"));
    // port-forward until Ctrl-C
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = p.path().to_path_buf();
    std::fs::write(dir.join("x.txt"), "forwarded").unwrap();
    fc.seed(serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "srv", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "busybox", "workingDir": dir, "command": ["python3", "-m", "http.server", port.to_string(), "--bind", "127.0.0.1"]}]}})).unwrap();
    let t = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < std::time::Duration::from_secs(15));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let local = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = p
        .std_cmd()
        .args([
            "port-forward",
            "pod/srv",
            &port.to_string(),
            "--local-port",
            &local.to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::{BufRead, Read, Write};
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with(&format!("Forwarding from 127.0.0.1:{local}")),
        "{line}"
    );
    let mut s = std::net::TcpStream::connect(("127.0.0.1", local)).unwrap();
    s.write_all(b"GET /x.txt HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.ends_with("forwarded"), "{body}");
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// kubectl sends built-in kinds as protobuf (`kubectl create configmap`,
/// `create deployment`, ...): the fake reads them as a real server does,
/// so scripts that call kubectl through `sh` work offline.
#[test]
fn kubectl_create_sends_protobuf_the_fake_reads() {
    let p = Project::new();
    let fc = cluster(&p);
    let kc = p.path().join("kubeconfig");
    let kubectl = |args: &str| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("kubectl --kubeconfig {} {args}", kc.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kubectl {args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    kubectl("create namespace team");
    kubectl("create configmap cfg -n team --from-literal=a=b --from-literal=c=d");
    kubectl("create secret generic pw -n team --from-literal=password=hunter2");
    kubectl("create deployment web -n team --image=busybox --replicas=2 --port=8080");
    kubectl("create service clusterip web -n team --tcp=80:8080");
    kubectl("create role reader -n team --verb=get,list --resource=pods");
    kubectl("create quota q -n team --hard=pods=5,cpu=2");
    let ns = |n: &str, kind: &str, v: &str, name: &str| {
        fc.get(v, kind, n, name)
            .unwrap_or_else(|| panic!("{kind} {name} stored"))
    };
    assert!(fc.get("v1", "Namespace", "", "team").is_some());
    use serde_json::json;
    assert_eq!(
        ns("team", "ConfigMap", "v1", "cfg")["data"],
        json!({"a": "b", "c": "d"})
    );
    assert_eq!(
        ns("team", "Secret", "v1", "pw")["data"]["password"],
        "aHVudGVyMg=="
    );
    let d = ns("team", "Deployment", "apps/v1", "web");
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "busybox"
    );
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        8080
    );
    // kubectl sends imagePullPolicy "": unset, as in Go's JSON, so the
    // server's default applies (Always for an image without a tag)
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "Always",
        "empty strings are unset, as in Go's JSON: {d}"
    );
    let s = ns("team", "Service", "v1", "web");
    assert_eq!(s["spec"]["ports"][0]["port"], 80);
    assert_eq!(
        s["spec"]["ports"][0]["targetPort"], 8080,
        "int-or-string as a number: {s}"
    );
    assert_eq!(
        ns("team", "Role", "rbac.authorization.k8s.io/v1", "reader")["rules"][0]["verbs"],
        json!(["get", "list"])
    );
    assert_eq!(
        ns("team", "ResourceQuota", "v1", "q")["spec"]["hard"],
        json!({"cpu": "2", "pods": "5"}),
        "quantities as strings"
    );
    // and the objects are what kubectl reads back
    assert!(kubectl("get configmap cfg -n team -o jsonpath={.data.c}").contains('d'));
    assert!(kubectl("get deploy -n team").contains("web"));
}

/// A preview changes nothing: `--dry-run` says what would happen to each
/// object (a namespace and a CRD kind the manifest itself brings included),
/// `--diff` shows a unified diff and exits 1 only when something differs;
/// scripts get the same with `dry_run` / `diff`.
#[test]
fn apply_dry_run_and_diff_change_nothing() {
    let p = Project::new();
    let fc = cluster(&p);
    p.file("m.yaml", MANIFEST);
    p.cmd()
        .args(["apply", "m.yaml", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("namespace/demo would create"))
        .stdout(predicate::str::contains(
            "widget.example.com/w1 would create",
        ))
        .stdout(predicate::str::contains("configmap/cfg would create"));
    assert!(
        fc.get("v1", "Namespace", "", "demo").is_none(),
        "dry run created nothing"
    );
    p.cmd()
        .args(["apply", "m.yaml", "--diff"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("+++ merged/demo/configmap/cfg"));
    p.cmd().args(["apply", "m.yaml"]).assert().success();
    p.cmd()
        .args(["apply", "m.yaml", "--diff"])
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
    p.file(
        "m2.yaml",
        &MANIFEST.replace(r#"data: {a: "1"}"#, r#"data: {a: "2"}"#),
    );
    p.cmd()
        .args(["apply", "m2.yaml", "--diff"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("--- live/demo/configmap/cfg"))
        .stdout(predicate::str::contains("-  a: '1'").or(predicate::str::contains("-  a: \"1\"")))
        .stdout(predicate::str::contains("+  a: '2'").or(predicate::str::contains("+  a: \"2\"")));
    assert_eq!(
        fc.get("v1", "ConfigMap", "demo", "cfg").unwrap()["data"]["a"],
        "1"
    );
    p.file(
        "s.rhai",
        r#"
        let r = apply("m2.yaml", #{diff: true}).filter(|r| r.diff != "");
        print("changed=" + r.map(|r| r.kind + "/" + r.name + ":" + r.action));
        print("dry=" + apply("m.yaml", #{dry_run: true}).filter(|r| r.action != "unchanged").len());
        "#,
    );
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            r#"changed=["ConfigMap/cfg:would change"]"#,
        ))
        .stdout(predicate::str::contains("dry=0"));
}

/// Two CRDs of one kind (a second one left on a cluster by something
/// else): a bare `Widget` is an error that names both, the full names
/// work, and a name Kubernetes and a CRD share goes to Kubernetes' own.
#[test]
fn a_kind_two_groups_serve_is_named_not_guessed() {
    let p = Project::new();
    let _fc = cluster(&p);
    let crd = |group: &str| {
        format!(
            r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.{group}}}
spec:
  group: {group}
  scope: Namespaced
  names: {{kind: Widget, plural: widgets, singular: widget}}
  versions: [{{name: v1, served: true, storage: true, schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}}}]
---
apiVersion: {group}/v1
kind: Widget
metadata: {{name: w1, namespace: default}}
spec: {{owner: {group}}}
"#
        )
    };
    p.file("a.yaml", &crd("acc.example.com"));
    p.file("b.yaml", &crd("scaffold.test"));
    p.file(
        "s.rhai",
        r#"
        apply("a.yaml");
        apply("b.yaml");
        try { get("Widget", "w1"); } catch (e) { print("bare: " + e); }
        print("full: " + get("widgets.scaffold.test", "w1").spec.owner);
        print("gvk: " + get("acc.example.com/v1/Widget", "w1").spec.owner);
        print("events: " + list("events").len());
        "#,
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{s}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        s.contains("bare: ")
            && s.contains("'Widget' is served by 2 API groups: widgets.acc.example.com, widgets.scaffold.test")
            && s.contains("name the one you mean"),
        "{s}"
    );
    assert!(
        s.contains("full: scaffold.test") && s.contains("gvk: acc.example.com"),
        "{s}"
    );
    assert!(s.contains("events: "), "{s}");
}
