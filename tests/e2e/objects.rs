//! Objects on a real cluster: kustomize + server-side apply (a CRD before
//! its resources, 200 objects), get, list with selectors, delete, wait_for,
//! exec with 1 MiB both ways, logs, port-forwards, the CLI commands.

use crate::{output_within, run_ok, scaffold, script, Ctx, Outcome, Test};
use std::process::Command;
use std::time::Duration;

pub const TESTS: &[Test] = &[
    (
        "apply_a_crd_its_resources_and_200_objects",
        apply_crd_and_many,
    ),
    ("get_list_selectors_wait_for_delete", get_list_wait_delete),
    ("apply_dry_run_and_diff_like_kubectl_diff", dry_run_and_diff),
    ("exec_a_mebibyte_both_ways_and_logs", exec_and_logs),
    ("port_forward_pod_service_deployment_and_cli", port_forwards),
];

fn crd() -> &'static str {
    r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.scaffold.test}
spec:
  group: scaffold.test
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#
}

fn apply_crd_and_many(ctx: &Ctx) -> Outcome {
    let ns = ctx.namespace("apply");
    let p = ctx.project();
    // a kustomization: the CRD and a Widget in one build, 200 ConfigMaps
    let mut cms = String::new();
    for i in 0..200 {
        cms.push_str(&format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}, labels: {{batch: e2e, parity: \"{}\"}}}}\ndata: {{i: \"{i}\"}}\n", i % 2));
    }
    p.file("k/crd.yaml", crd());
    p.file(
        "k/widget.yaml",
        "apiVersion: scaffold.test/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n",
    );
    p.file("k/cms.yaml", &cms);
    p.file(
        "k/kustomization.yaml",
        &format!("namespace: {ns}\nresources: [crd.yaml, widget.yaml, cms.yaml]\n"),
    );
    let out = run_ok(
        &p,
        &format!(
            r#"
            let text = kustomize("k");
            print("rendered=" + parse_yaml(text).len());
            let applied = apply("k", #{{qps: 200, burst: 200}});
            print("applied=" + applied.len());
            print("widget=" + get("Widget", "w1", #{{namespace: "{ns}"}}).spec.size);
            print("odd=" + list("configmaps", #{{namespace: "{ns}", labels: #{{batch: "e2e", parity: "1"}}}}).len());
            print("one=" + list("configmaps", #{{namespace: "{ns}", labels: "batch=e2e", fields: "metadata.name=cm-7"}}).len());
            "#
        ),
    );
    assert!(
        out.contains("rendered=202") && out.contains("applied=202"),
        "{out}"
    );
    assert!(
        out.contains("widget=3") && out.contains("odd=100") && out.contains("one=1"),
        "{out}"
    );
    // the same through the command line: nothing changes, exit 0
    let (code, so, se) = scaffold(&p, &["apply", "k"]);
    assert_eq!(code, 0, "{se}{so}");
    // delete the manifest (reverse order), then the namespace, waiting
    let out = run_ok(
        &p,
        &format!(
            r#"print("deleted=" + delete("k")); delete("namespace", "{ns}", #{{wait: true, timeout: 180}});"#
        ),
    );
    assert!(out.contains("deleted=202"), "{out}");
    assert!(ctx
        .kubectl(&["get", "crd", "-o", "name"])
        .lines()
        .all(|l| !l.contains("scaffold.test")));
    Ok(())
}

fn get_list_wait_delete(ctx: &Ctx) -> Outcome {
    let ns = ctx.namespace("objects");
    let p = ctx.project();
    p.file(
        "d.yaml",
        &format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: {ns}}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      terminationGracePeriodSeconds: 1\n      containers: [{{name: main, image: busybox, command: [sleep, '3600']}}]\n"),
    );
    let out = run_ok(
        &p,
        &format!(
            r#"
            apply("d.yaml");
            let d = wait_for("deployment", "web", #{{namespace: "{ns}", condition: "Available", timeout: 120}});
            print("available=" + d.status.availableReplicas);
            let pod = wait_for("pod", list("pods", #{{namespace: "{ns}", labels: #{{app: "web"}}}})[0].metadata.name,
                #{{namespace: "{ns}", condition: |p| p.status.phase == "Running", timeout: 60}});
            print("running=" + pod.metadata.name);
            print("missing=" + (get("configmap", "nope", #{{namespace: "{ns}"}}) == ()));
            print("gone=" + delete("deployment", "web", #{{namespace: "{ns}", wait: true}}));
            print("again=" + delete("deployment", "web", #{{namespace: "{ns}"}}));
            "#
        ),
    );
    assert!(
        out.contains("available=1") && out.contains("running=web-") && out.contains("missing=true"),
        "{out}"
    );
    assert!(
        out.contains("gone=true") && out.contains("again=false"),
        "{out}"
    );
    // an empty name is refused before any request (it would address the collection)
    ctx.kubectl(&["create", "configmap", "keep", "-n", &ns]);
    let (code, _, se) = script(
        &p,
        "e.rhai",
        &format!(r#"delete("configmaps", "", #{{namespace: "{ns}"}});"#),
        &[],
    );
    assert_eq!(code, 1);
    assert!(se.contains("name is empty"), "{se}");
    assert!(ctx
        .kubectl(&["get", "configmap", "keep", "-n", &ns, "-o", "name"])
        .contains("keep"));
    ctx.kubectl(&["delete", "namespace", &ns, "--wait=true"]);
    Ok(())
}

/// `--dry-run` and `--diff` change nothing; `--diff` agrees with
/// `kubectl diff` (exit 1 with differences, 0 without) on objects the
/// server defaults and controllers update (a Deployment).
fn dry_run_and_diff(ctx: &Ctx) -> Outcome {
    let ns = ctx.namespace("preview");
    ctx.kubectl(&[
        "delete",
        "namespace",
        &ns,
        "--wait=true",
        "--ignore-not-found",
    ]);
    let p = ctx.project();
    let manifest = |data: &str, replicas: u32| {
        format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cfg, namespace: {ns}}}\ndata: {{a: \"{data}\"}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: {ns}}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      terminationGracePeriodSeconds: 1\n      containers: [{{name: main, image: busybox, command: [sleep, '3600']}}]\n")
    };
    p.file("m.yaml", &manifest("1", 1));
    let (code, out, err) = scaffold(&p, &["apply", "m.yaml", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("namespace/{ns} would create"))
            && out.contains("configmap/cfg would create")
            && out.contains("deployment.apps/web would create"),
        "{out}"
    );
    let nsout = ctx.kubectl(&["get", "namespace", &ns, "--ignore-not-found", "-o", "name"]);
    assert!(nsout.trim().is_empty(), "the dry run created {nsout}");
    let (code, _, err) = scaffold(&p, &["apply", "m.yaml", "--wait"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = scaffold(&p, &["apply", "m.yaml", "--diff"]);
    assert_eq!(
        (code, out.as_str()),
        (0, ""),
        "no differences after applying: {err}"
    );
    p.file("m2.yaml", &manifest("2", 2));
    let (code, out, _) = scaffold(&p, &["apply", "m2.yaml", "--diff"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("--- live/{ns}/configmap/cfg"))
            && out.contains(&format!("+++ merged/{ns}/deployment/web"))
            && out.contains("+  replicas: 2"),
        "{out}"
    );
    let m2 = p.path().join("m2.yaml");
    // scaffold owns these fields (its field manager): kubectl takes them over
    let k = ctx.kubectl_out(&[
        "diff",
        "--server-side",
        "--force-conflicts",
        "-f",
        m2.to_str().unwrap(),
    ]);
    assert_eq!(
        k.status.code(),
        Some(1),
        "kubectl diff agrees there are differences: {}",
        String::from_utf8_lossy(&k.stderr)
    );
    assert!(ctx
        .kubectl(&[
            "get",
            "configmap",
            "cfg",
            "-n",
            &ns,
            "-o",
            "jsonpath={.data.a}"
        ])
        .contains('1'));
    ctx.kubectl(&["delete", "namespace", &ns, "--wait=true"]);
    Ok(())
}

/// A pod to exec in and read logs of.
fn sleeper(ctx: &Ctx, ns: &str) {
    ctx.kubectl_apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: box, namespace: {ns}}}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers: [{{name: main, image: busybox, command: [sh, -c, 'for i in 1 2 3; do echo line $i; done; sleep 3600']}}]\n"
    ));
    ctx.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/box",
        "-n",
        ns,
        "--timeout=120s",
    ]);
}

fn exec_and_logs(ctx: &Ctx) -> Outcome {
    let ns = ctx.namespace("exec");
    sleeper(ctx, &ns);
    let p = ctx.project();
    let out = run_ok(
        &p,
        &format!(
            r#"
            let mib = "0123456789abcdef";
            for i in 0..16 {{ mib += mib; }}
            print("size=" + mib.len());
            // cat reads 1 MiB and writes it back while reading: no deadlock
            let r = exec("box", ["cat"], #{{namespace: "{ns}", stdin: mib, timeout: 120}});
            print("echoed=" + (r.stdout == mib) + " code=" + r.code);
            let f = exec("box", "echo oops >&2; exit 4", #{{namespace: "{ns}", check: false}});
            print("fail=" + f.code + " " + f.stderr);
            print("logs=" + logs("box", #{{namespace: "{ns}"}}).split("\n").filter(|l| l != "").len());
            print("tail=" + logs("box", #{{namespace: "{ns}", tail: 1}}));
            "#
        ),
    );
    assert!(
        out.contains("size=1048576") && out.contains("echoed=true code=0"),
        "{out}"
    );
    assert!(
        out.contains("fail=4 oops") && out.contains("logs=3") && out.contains("tail=line 3"),
        "{out}"
    );
    // follow: streams until the container ends
    ctx.kubectl_apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: talker, namespace: {ns}}}\nspec:\n  restartPolicy: Never\n  containers: [{{name: main, image: busybox, command: [sh, -c, 'sleep 2; for i in 1 2 3; do echo tick $i; sleep 0.5; done']}}]\n"
    ));
    ctx.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/talker",
        "-n",
        &ns,
        "--timeout=120s",
    ]);
    let out = run_ok(
        &p,
        &format!(
            r#"let t = logs("talker", #{{namespace: "{ns}", follow: true}}); print("followed=" + t.split("\n").filter(|l| l.starts_with("tick")).len());"#
        ),
    );
    assert!(
        out.contains("tick 3") && out.contains("followed=3"),
        "{out}"
    );
    ctx.kubectl(&["delete", "namespace", &ns, "--wait=true"]);
    Ok(())
}

fn port_forwards(ctx: &Ctx) -> Outcome {
    // busybox's httpd serves the page
    ctx.real_containers()?;
    let ns = ctx.namespace("forward");
    ctx.kubectl_apply(&format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox
        command: [sh, -c, 'mkdir -p /www && echo hello-from-the-pod > /www/hello.txt && httpd -f -p 8080 -h /www']
        ports: [{{name: http, containerPort: 8080}}]
        readinessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {ns}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: http}}]
"#
    ));
    ctx.kubectl(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        &ns,
        "--timeout=120s",
    ]);
    let pod = ctx.kubectl(&[
        "get",
        "pods",
        "-n",
        &ns,
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    let p = ctx.project();
    let fetch = r#"let get = |addr| sh_output(["python3", "-c", "import sys, urllib.request; print(urllib.request.urlopen('http://' + sys.argv[1] + '/hello.txt', timeout=20).read().decode().strip())", addr]);"#;
    let out = run_ok(
        &p,
        &format!(
            r#"
            {fetch}
            let a = port_forward("pod/{pod}", 8080, #{{namespace: "{ns}"}});
            print("pod=" + get.call("127.0.0.1:" + a.local_port));
            let b = port_forward("svc/web", 80, #{{namespace: "{ns}"}});
            print("svc=" + get.call("127.0.0.1:" + b.local_port));
            let c = port_forward("deploy/web", ":8080", #{{namespace: "{ns}"}});
            print("deploy=" + get.call("127.0.0.1:" + c.local_port));
            print("scoped=" + with_port_forward("svc/web", 80, #{{namespace: "{ns}"}}, |addr| get.call(addr)));
            // nothing listens on 8081: the connection ends at once
            let t = timestamp();
            let refused = with_port_forward("pod/{pod}", 8081, #{{namespace: "{ns}"}}, |addr| {{
                let r = sh(["python3", "-c", "import sys, urllib.request; urllib.request.urlopen('http://' + sys.argv[1] + '/', timeout=20)", addr], #{{check: false, quiet: true}});
                r.code
            }});
            print("refused_code=" + refused + " took=" + t.elapsed);
            "#
        ),
    );
    let took: f64 = out
        .lines()
        .find_map(|l| l.split("took=").nth(1))
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or_else(|| panic!("no took= in {out}"));
    assert!(!out.contains("refused_code=0"), "{out}");
    assert!(took < 10.0, "a refused pod port took {took} s: {out}");
    for want in [
        "pod=hello-from-the-pod",
        "svc=hello-from-the-pod",
        "deploy=hello-from-the-pod",
        "scoped=hello-from-the-pod",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    // the command line, kubectl's form
    let port = crate::util::free_port();
    let mut c = p.std_cmd();
    c.args(["port-forward", "-n", &ns, "svc/web", &format!("{port}:80")]);
    let mut child = c.stdout(std::process::Stdio::piped()).spawn().unwrap();
    crate::eventually("the forward to listen", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let mut w = Command::new("python3");
    w.args(["-c", &format!("import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{port}/hello.txt', timeout=20).read().decode().strip())")]);
    let (code, body, _) = output_within(w, Duration::from_secs(30));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!((code, body.trim()), (0, "hello-from-the-pod"));
    ctx.kubectl(&["delete", "namespace", &ns, "--wait=true"]);
    Ok(())
}
