//! Rows on a real cluster (`--kubeconfig FILE`), side by side with
//! kubectl in the same run: what the fake cannot tell because its pods
//! start in milliseconds and it has no real kubelet or network. Guards are
//! on ratios only.

use crate::common::*;
use serde_json::json;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where the real rows run: the binary, the cluster, a node, a namespace.
struct Real<'a> {
    a: &'a Args,
    bin: &'a Path,
    kc: &'a Path,
    dir: tempfile::TempDir,
    node: String,
    ns: String,
}

impl Real<'_> {
    fn script(&self, name: &str, text: &str) -> String {
        script_output(self.bin, self.kc, self.dir.path(), name, text)
    }

    fn kubectl(&self, args: &[&str]) -> Command {
        let mut c = Command::new("kubectl");
        c.arg("--kubeconfig").arg(self.kc).args(args);
        c
    }

    fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args).output().expect("kubectl");
        assert!(
            out.status.success(),
            "kubectl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Seconds of a kubectl command (which must succeed).
    fn kubectl_secs(&self, args: &[&str]) -> f64 {
        let (s, _, ok) = run_measured(&mut self.kubectl(args));
        assert!(ok, "kubectl {} failed", args.join(" "));
        s
    }

    fn scaffold_secs(&self, args: &[&str]) -> f64 {
        let mut c = Command::new(self.bin);
        c.args(args)
            .env("KUBECONFIG", self.kc)
            .current_dir(self.dir.path());
        let (s, _, ok) = run_measured(&mut c);
        assert!(ok, "scaffold {} failed", args.join(" "));
        s
    }
}

pub fn bench_real(a: &Args, bin: &Path, kubeconfig: &Path) -> Vec<Row> {
    let dir = tempfile::tempdir().unwrap();
    let node = script_output(
        bin,
        kubeconfig,
        dir.path(),
        "node.rhai",
        r#"let all = nodes(); let w = all.filter(|n| !n.roles.contains("control-plane")); print(if w.len() > 0 { w[0].name } else { all[0].name });"#,
    );
    let r = Real {
        a,
        bin,
        kc: kubeconfig,
        dir,
        node,
        ns: "scaffold-bench".into(),
    };
    let _ = r
        .kubectl(&[
            "delete",
            "namespace",
            &r.ns,
            "--wait=true",
            "--ignore-not-found",
        ])
        .output();
    r.kubectl_ok(&["create", "namespace", &r.ns]);
    // --filter real_port, real_apply, ...: only that part
    let want = |n: &str| {
        a.filter
            .as_deref()
            .is_none_or(|f| f == "real" || n.starts_with(f) || f.starts_with(n))
    };
    type Part = fn(&Real) -> Vec<Row>;
    let parts: [(&str, Part); 7] = [
        ("real_load", load_rows),
        ("real_ron", ron_vs_by_hand),
        ("real_exec", exec_rows),
        ("real_apply", apply_rows),
        ("real_port_forward", port_forward_rows),
        ("real_auto_copy", auto_copy_rows),
        ("real_wait", wait_and_scenario_rows),
    ];
    let mut rows = vec![];
    for (name, part) in parts {
        if want(name) {
            rows.extend(part(&r));
        }
    }
    let _ = r
        .kubectl(&["delete", "namespace", &r.ns, "--wait=true"])
        .output();
    rows
}

/// `ron` of `echo hi` vs the same by hand with kubectl (run a privileged
/// pod, wait, logs, delete --wait); 100 session commands vs 100 rons.
fn ron_vs_by_hand(r: &Real) -> Vec<Row> {
    let reps = if r.a.quick { 3 } else { 7 };
    let mut ours = vec![];
    for _ in 0..reps {
        ours.push(
            r.scaffold_secs(&["ron", "--node", &r.node, "--ns", &r.ns, "--", "echo", "hi"])
                * 1000.0,
        );
    }
    let peer = by_hand_ms(r, reps);
    let ron = stats(ours);
    let ratio = ron.median / stats(peer.clone()).median;
    let cmds = if r.a.quick { 20 } else { 100 };
    let text = r.script(
        "session.rhai",
        &format!(
            r#"let s = node_session("{n}", #{{namespace: "{ns}"}}); s.exec("true"); let t = timestamp(); for i in 0..{cmds} {{ s.exec("true"); }} print(t.elapsed * 1000.0); s.close();"#,
            n = r.node,
            ns = r.ns
        ),
    );
    let session_total: f64 = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("session time");
    let factor = ron.median * cmds as f64 / session_total;
    vec![
        Row {
            name: "real_ron",
            what: format!(
                "scaffold ron -- echo hi on {} (process to exit), {reps} runs",
                r.node
            ),
            unit: "ms",
            target: Some((
                format!("<= 0.4x kubectl by hand ({ratio:.2}x)"),
                ratio <= 0.4,
            )),
            guard: Some(("<= 0.4x kubectl by hand".into(), ratio <= 0.4)),
            ours: ron.clone(),
            peer: Some((
                "kubectl run + wait + logs + delete --wait".into(),
                stats(peer),
            )),
            extra: json!({"node": r.node}),
        },
        Row {
            name: "real_session_vs_ron",
            what: format!("{cmds} session commands vs {cmds} ron calls (ron median x {cmds})"),
            unit: "ms",
            target: Some((format!(">= 10x faster ({factor:.0}x)"), factor >= 10.0)),
            guard: Some((">= 10x faster".into(), factor >= 10.0)),
            ours: stats(vec![session_total]),
            peer: Some((
                format!("{cmds} ron calls"),
                stats(vec![ron.median * cmds as f64]),
            )),
            extra: json!({"speedup": factor}),
        },
    ]
}

/// Milliseconds of "ron by hand" with kubectl on the real cluster: a
/// privileged pod on the node, waited for, its logs read, deleted.
fn by_hand_ms(r: &Real, reps: usize) -> Vec<f64> {
    let by_hand = r.dir.path().join("by-hand.sh");
    let overrides = format!(
        r#"{{"spec":{{"hostPID":true,"hostNetwork":true,"nodeSelector":{{"kubernetes.io/hostname":"{}"}},"containers":[{{"name":"byhand","image":"alpine","command":["echo","hi"],"securityContext":{{"privileged":true}}}}]}}}}"#,
        r.node
    );
    std::fs::write(
        &by_hand,
        format!(
            "set -e\nk() {{ kubectl --kubeconfig {kc} -n {ns} \"$@\"; }}\nk run byhand --image=alpine --restart=Never --overrides='{overrides}' >/dev/null\nk wait --for=jsonpath='{{.status.phase}}'=Succeeded pod/byhand --timeout=120s >/dev/null\nk logs byhand >/dev/null\nk delete pod byhand --wait >/dev/null\n",
            kc = r.kc.display(),
            ns = r.ns
        ),
    )
    .unwrap();
    let mut peer = vec![];
    for _ in 0..reps {
        let (s, _, ok) = run_measured(Command::new("sh").arg(&by_hand));
        assert!(ok, "kubectl by hand failed");
        peer.push(s * 1000.0);
    }
    peer
}

/// `node_session().exec("true")` and one-shot `exec()` vs `kubectl exec -- true`.
fn exec_rows(r: &Real) -> Vec<Row> {
    r.kubectl_ok(&[
        "run",
        "target",
        "-n",
        &r.ns,
        "--image=busybox",
        "--restart=Never",
        "--",
        "sleep",
        "3600",
    ]);
    r.kubectl_ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/target",
        "-n",
        &r.ns,
        "--timeout=120s",
    ]);
    let n = if r.a.quick { 20 } else { 100 };
    let text = r.script(
        "exec.rhai",
        &format!(
            r#"let s = node_session("{node}", #{{namespace: "{ns}"}}); s.exec("true");
            let t = timestamp(); for i in 0..{n} {{ s.exec("true"); }} print(t.elapsed * 1000.0 / {n});
            s.close();
            exec("target", ["true"], #{{namespace: "{ns}"}});
            let t = timestamp(); for i in 0..{m} {{ exec("target", ["true"], #{{namespace: "{ns}"}}); }} print(t.elapsed * 1000.0 / {m});"#,
            node = r.node,
            ns = r.ns,
            m = n / 5
        ),
    );
    let v: Vec<f64> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    let (session, one_shot) = (v[0], v[1]);
    let mut kx = vec![];
    for _ in 0..if r.a.quick { 5 } else { 10 } {
        kx.push(r.kubectl_secs(&["exec", "target", "-n", &r.ns, "--", "true"]) * 1000.0);
    }
    let k = stats(kx);
    let (rs, re) = (session / k.median, one_shot / k.median);
    vec![
        Row {
            name: "real_session_exec",
            what: format!("node_session().exec(\"true\"), mean of {n}"),
            unit: "ms",
            target: Some((format!("<= 0.05x kubectl exec ({rs:.3}x)"), rs <= 0.05)),
            guard: Some(("<= 0.05x kubectl exec".into(), rs <= 0.05)),
            ours: stats(vec![session]),
            peer: Some(("kubectl exec POD -- true".into(), k.clone())),
            extra: json!({}),
        },
        Row {
            name: "real_exec",
            what: "exec(pod, [\"true\"]): a new exec stream every call (no shell behind it)".into(),
            unit: "ms",
            target: Some((format!("<= 0.5x kubectl exec ({re:.2}x)"), re <= 0.5)),
            guard: Some(("<= 0.5x kubectl exec".into(), re <= 0.5)),
            ours: stats(vec![one_shot]),
            peer: Some(("kubectl exec POD -- true".into(), k)),
            extra: json!({}),
        },
    ]
}

/// Seconds to apply `file` into a fresh namespace `ns` with `apply`.
fn timed_apply(r: &Real, ns: &str, apply: &mut dyn FnMut(&str) -> f64) -> f64 {
    let _ = r
        .kubectl(&[
            "delete",
            "namespace",
            ns,
            "--wait=true",
            "--ignore-not-found",
        ])
        .output();
    r.kubectl_ok(&["create", "namespace", ns]);
    let s = apply(ns);
    let _ = r
        .kubectl(&["delete", "namespace", ns, "--wait=false"])
        .output();
    s
}

/// `scaffold [--qps Q --burst B] apply` of `file` into a fresh namespace,
/// `n` times: the seconds of each.
fn scaffold_applies(r: &Real, file: &str, limits: &[&str], n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            timed_apply(r, "scaffold-bench-apply", &mut |ns| {
                let args = [limits, &["apply", "-n", ns, file]].concat();
                r.scaffold_secs(&args)
            })
        })
        .collect()
}

/// `scaffold apply` of 200 ConfigMaps vs `kubectl apply --server-side`, at
/// the defaults and with raised limits (qps 1000), against the API
/// server's own ceiling: the same client with no client-side limit at all.
/// Raised and ceiling take the median of three runs each.
fn apply_rows(r: &Real) -> Vec<Row> {
    let file = r.dir.path().join("cms.yaml");
    let docs: String = (0..200).map(|i| format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\ndata: {{i: \"{i}\"}}\n")).collect();
    std::fs::write(&file, docs).unwrap();
    let f = file.to_str().unwrap().to_string();
    let default = stats(scaffold_applies(r, &f, &[], 1));
    let raised = stats(scaffold_applies(
        r,
        &f,
        &["--qps", "1000", "--burst", "1000"],
        3,
    ));
    let ceiling = stats(scaffold_applies(
        r,
        &f,
        &["--qps", "100000", "--burst", "100000"],
        3,
    ));
    let kubectl = timed_apply(r, "scaffold-bench-apply", &mut |ns| {
        r.kubectl_secs(&["apply", "--server-side", "-n", ns, "-f", &f])
    });
    let (rd, rc) = (default.median / kubectl, raised.median / ceiling.median);
    vec![
        Row {
            name: "real_apply_default",
            what: "scaffold apply of 200 ConfigMaps, default 100 qps / burst 200".into(),
            unit: "s",
            target: Some((format!("<= 0.2x kubectl ({rd:.2}x)"), rd <= 0.2)),
            guard: Some(("<= 0.2x kubectl apply --server-side".into(), rd <= 0.2)),
            ours: default,
            peer: Some(("kubectl apply --server-side".into(), stats(vec![kubectl]))),
            extra: json!({}),
        },
        Row {
            name: "real_apply_raised",
            what: "scaffold --qps 1000 --burst 1000 apply of 200 ConfigMaps, 3 runs".into(),
            unit: "s",
            target: Some((
                format!("within 1.5x of the server's ceiling ({rc:.2}x)"),
                rc <= 1.5,
            )),
            guard: None,
            ours: raised,
            peer: Some((
                "API server ceiling (same client, no client-side limit), 3 runs".into(),
                ceiling,
            )),
            extra: json!({"kubectl_s": kubectl}),
        },
    ]
}

/// A pod that serves a `mib` MiB file from memory over HTTP on port 9000
/// (busybox httpd sends it with sendfile: ~2 GiB/s straight to its IP, so
/// the sender is never what limits a forward).
fn sender(r: &Real, mib: u64) -> String {
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: sender, namespace: {ns}, labels: {{app: sender}}}}\nspec:\n  terminationGracePeriodSeconds: 1\n  volumes: [{{name: w, emptyDir: {{medium: Memory}}}}]\n  containers:\n  - name: main\n    image: busybox\n    command: [sh, -c, 'dd if=/dev/zero of=/www/big bs=1M count={mib} 2>/dev/null; httpd -f -p 9000 -h /www']\n    volumeMounts: [{{name: w, mountPath: /www}}]\n    readinessProbe: {{tcpSocket: {{port: 9000}}, periodSeconds: 1}}\n    ports: [{{containerPort: 9000}}]\n",
        ns = r.ns
    );
    let path = r.dir.path().join("sender.yaml");
    std::fs::write(&path, yaml).unwrap();
    r.kubectl_ok(&["apply", "-f", path.to_str().unwrap()]);
    r.kubectl_ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/sender",
        "-n",
        &r.ns,
        "--timeout=120s",
    ]);
    r.kubectl_ok(&[
        "get",
        "pod",
        "sender",
        "-n",
        &r.ns,
        "-o",
        "jsonpath={.status.podIP}",
    ])
}

/// MiB/s of downloading the sender's file through `addr`.
fn read_all_mib_s(addr: &str, expect: u64) -> f64 {
    use std::io::Write;
    let mut s =
        std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.write_all(b"GET /big HTTP/1.0\r\n\r\n").unwrap();
    let t = Instant::now();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k as u64,
        }
    }
    assert!(
        n >= expect * 1048576,
        "read {n} bytes from {addr}, expected {expect} MiB"
    );
    n as f64 / 1048576.0 / t.elapsed().as_secs_f64()
}

/// The ceiling of the server side of a port-forward: the pod's WebSocket
/// read and thrown away as fast as frames come (no local socket, no
/// copy), with scaffold's client. MiB/s and the CPU it took.
fn ws_ceiling(r: &Real, mib: u64) -> (f64, serde_json::Value) {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let opts = scaffold::k8s::kubeconfig::KubeOptions {
        kubeconfig: Some(r.kc.to_path_buf()),
        ..Default::default()
    };
    let target = scaffold::k8s::client::Target::resolve(&opts).unwrap();
    let client = rt
        .block_on(scaffold::k8s::client::connect(&target))
        .unwrap()
        .client;
    cpu_during(|| {
        rt.block_on(async {
            let ws = scaffold::k8s::portforward::open(&client, &r.ns, "sender", 9000)
                .await
                .unwrap();
            let (mut sink, mut stream) = ws.split();
            let mut get = vec![0u8];
            get.extend_from_slice(b"GET /big HTTP/1.0\r\n\r\n");
            sink.send(Message::binary(get)).await.unwrap();
            let t = Instant::now();
            let mut n = 0u64;
            while let Some(Ok(m)) = stream.next().await {
                match m {
                    Message::Binary(b) if b.len() > 3 && b[0] == 0 => n += b.len() as u64 - 1,
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            assert!(n >= mib * 1048576, "the WebSocket carried {n} bytes");
            n as f64 / 1048576.0 / t.elapsed().as_secs_f64()
        })
    })
}

/// CPU seconds used so far by the processes of each component of a
/// transfer (client, API server, kubelet, runtime, the pod's sender).
fn cpu_by_component() -> std::collections::BTreeMap<&'static str, f64> {
    let tick = 100.0; // USER_HZ
    let mut m = std::collections::BTreeMap::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some((comm, rest)) = stat
            .split_once(") ")
            .map(|(a, b)| (a.rsplit_once('(').map(|x| x.1).unwrap_or(""), b))
        else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let cpu = (f.get(11).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0)
            + f.get(12).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0))
            / tick;
        let who = match comm {
            "kube-apiserver" => "apiserver",
            "kubelet" => "kubelet",
            c if c.starts_with("containerd") => "containerd",
            "scaffold" => "client",
            "kubectl" => "client",
            "httpd" | "busybox" => "pod",
            _ => continue,
        };
        *m.entry(who).or_insert(0.0) += cpu;
    }
    m
}

/// CPU seconds per component spent while `f` runs, and `f`'s result.
fn cpu_during<T>(f: impl FnOnce() -> T) -> (T, serde_json::Value) {
    let before = cpu_by_component();
    let t = Instant::now();
    let r = f();
    let wall = t.elapsed().as_secs_f64();
    let after = cpu_by_component();
    let mut j = serde_json::Map::new();
    for (k, v) in &after {
        j.insert(
            k.to_string(),
            json!(((v - before.get(k).copied().unwrap_or(0.0)) / wall * 100.0).round()),
        );
    }
    (r, json!({"cpu_percent_of_one_core": j, "wall_s": wall}))
}

/// A forward command running in the background until dropped.
struct Background(std::process::Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Port-forward throughput: `scaffold port-forward` and `port_forward()`
/// vs `kubectl port-forward` vs a direct connection to the pod IP.
fn port_forward_rows(r: &Real) -> Vec<Row> {
    let mib = if r.a.quick { 100 } else { 500 };
    let ip = sender(r, mib);
    let direct = read_all_mib_s(&format!("{ip}:9000"), mib);
    let port = |p: u16| format!("127.0.0.1:{p}");
    let (p1, p2) = (free_port(), free_port());
    // both forwards up, read alternately (three times each in --quick,
    // five otherwise): drift on a shared machine hits both alike
    let mut c = Command::new(r.bin);
    c.args([
        "port-forward",
        "-n",
        &r.ns,
        "pod/sender",
        &format!("{p1}:9000"),
    ])
    .env("KUBECONFIG", r.kc);
    let _ours = forward(r, &mut c, "pf-cli.log");
    let _theirs = forward(
        r,
        &mut r.kubectl(&[
            "port-forward",
            "-n",
            &r.ns,
            "pod/sender",
            &format!("{p2}:9000"),
        ]),
        "pf-kubectl.log",
    );
    let reps = if r.a.quick { 3 } else { 5 };
    let (mut cli, mut kubectl) = (vec![], vec![]);
    let (mut cli_cpu, mut kubectl_cpu) = (json!(null), json!(null));
    for _ in 0..reps {
        let (v, c) = cpu_during(|| read_all_mib_s(&port(p1), mib));
        cli.push(v);
        cli_cpu = c;
        let (v, c) = cpu_during(|| read_all_mib_s(&port(p2), mib));
        kubectl.push(v);
        kubectl_cpu = c;
    }
    let (cli, kubectl) = (stats(cli), stats(kubectl));
    let script_fn = script_port_forward(r);
    let (ceiling, ceiling_cpu) = ws_ceiling(r, mib);
    let ratio = cli.median / kubectl.median;
    let _ = r
        .kubectl(&["delete", "pod", "sender", "-n", &r.ns, "--wait=true"])
        .output();
    vec![Row {
        name: "real_port_forward",
        what: format!("scaffold port-forward, {mib} MiB through the API server, {reps} runs alternating with kubectl"),
        unit: "MiB/s",
        target: Some((
            format!(">= 2x kubectl port-forward ({ratio:.2}x)"),
            ratio >= 2.0,
        )),
        // no slower than kubectl, with a margin for run-to-run noise
        guard: Some((
            "no slower than kubectl port-forward (>= 0.8x)".into(),
            ratio >= 0.8,
        )),
        ours: cli,
        peer: Some(("kubectl port-forward".into(), kubectl)),
        extra: json!({"direct_to_pod_ip_mib_s": direct, "port_forward_fn_mib_s": script_fn, "server_side_ceiling_mib_s": ceiling,
            "cpu_scaffold": cli_cpu, "cpu_kubectl": kubectl_cpu, "cpu_ceiling": ceiling_cpu}),
    }]
}

/// A port-forward command started in the background, its output in `log`,
/// once it says it listens (a probe connection would take one of the
/// sender's transfers).
fn forward(r: &Real, c: &mut Command, log: &str) -> Background {
    let path = r.dir.path().join(log);
    let f = std::fs::File::create(&path).unwrap();
    let bg = Background(c.stdout(f.try_clone().unwrap()).stderr(f).spawn().unwrap());
    let t = Instant::now();
    while !std::fs::read_to_string(&path)
        .unwrap_or_default()
        .contains("Forwarding from")
    {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "{log}: {}",
            std::fs::read_to_string(&path).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    bg
}

/// MiB/s of `port_forward()` from a script (python3 reads through it).
fn script_port_forward(r: &Real) -> f64 {
    let read = "import socket, sys, time\nh, p = sys.argv[1].rsplit(':', 1)\ns = socket.create_connection((h, int(p)))\ns.sendall(b'GET /big HTTP/1.0\\r\\n\\r\\n')\nt = time.time(); n = 0\nwhile True:\n    b = s.recv(1 << 20)\n    if not b: break\n    n += len(b)\nprint(n / 1048576 / (time.time() - t))\n";
    std::fs::write(r.dir.path().join("read.py"), read).unwrap();
    let text = r.script(
        "pf.rhai",
        &format!(r#"let pf = port_forward("pod/sender", 9000, #{{namespace: "{}"}}); sleep(0.5); print(sh_output(["python3", "read.py", "127.0.0.1:" + pf.local_port]));"#, r.ns),
    );
    text.lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

/// ron auto-copy of mixed data (half random, half text) vs `kubectl cp` of
/// the same files, vs a local `tar czf` of them.
fn auto_copy_rows(r: &Real) -> Vec<Row> {
    let mib: u64 = if r.a.quick { 64 } else { 1024 };
    let files = mib / 2;
    // fill a claim once: odd files random, even files text, 2 MiB each
    let fill = format!(
        "i=0; while [ $i -lt {files} ]; do if [ $((i % 2)) = 0 ]; then head -c 2097152 /dev/urandom > /store/f$i; else yes scaffold benchmark data line | head -c 2097152 > /store/f$i; fi; i=$((i+1)); done"
    );
    let base = |extra: &str| {
        format!("ron(#{{node: \"{}\", namespace: \"{}\", pvc: true, pvc_name: \"bench-data\", manage_pvc: false{extra}}});", r.node, r.ns)
    };
    let claim = r.dir.path().join("claim.yaml");
    std::fs::write(&claim, format!("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: bench-data, namespace: {}}}\nspec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 2Gi}}}}}}\n", r.ns)).unwrap();
    r.kubectl_ok(&["apply", "-f", claim.to_str().unwrap()]);
    r.script(
        "fill.rhai",
        &base(&format!(
            ", cmd: \"{fill}\", auto_copy: false, timeout: 1200"
        )),
    );
    let dest = r.dir.path().join("copy.tar.gz");
    let t = Instant::now();
    r.script("nocopy.rhai", &base(", cmd: \"true\", auto_copy: false"));
    let without = t.elapsed().as_secs_f64();
    let t = Instant::now();
    r.script(
        "copy.rhai",
        &base(&format!(
            ", cmd: \"true\", auto_copy_dest: \"{}\"",
            dest.display()
        )),
    );
    let copy_secs = (t.elapsed().as_secs_f64() - without).max(0.001);
    let ours = mib as f64 / copy_secs;
    // kubectl cp of the same files, from a pod mounting the claim
    r.kubectl_ok(&["run", "cp-peer", "-n", &r.ns, "--image=busybox", "--restart=Never", "--overrides", r#"{"spec":{"containers":[{"name":"cp-peer","image":"busybox","command":["sleep","3600"],"volumeMounts":[{"name":"d","mountPath":"/store"}]}],"volumes":[{"name":"d","persistentVolumeClaim":{"claimName":"bench-data"}}]}}"#]);
    r.kubectl_ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/cp-peer",
        "-n",
        &r.ns,
        "--timeout=120s",
    ]);
    let cp_dir = r.dir.path().join("kubectl-cp");
    let cp = r.kubectl_secs(&[
        "cp",
        &format!("{}/cp-peer:/store", r.ns),
        cp_dir.to_str().unwrap(),
    ]);
    // local tar czf of the same files (the ceiling of compressing them)
    let (tar, _, ok) = run_measured(
        Command::new("sh")
            .arg("-c")
            .arg(format!("tar czf - -C {} . > /dev/null", cp_dir.display())),
    );
    assert!(ok);
    let _ = r
        .kubectl(&["delete", "pod", "cp-peer", "-n", &r.ns, "--wait=true"])
        .output();
    let _ = r
        .kubectl(&["delete", "pvc", "bench-data", "-n", &r.ns, "--wait=true"])
        .output();
    let (kubectl, ceiling) = (mib as f64 / cp, mib as f64 / tar);
    vec![Row {
        name: "real_auto_copy",
        what: format!("ron auto-copy (tar.gz through exec) of {mib} MiB of mixed data"),
        unit: "MiB/s",
        target: Some((
            format!(">= 80% of local tar czf ({:.0}%)", ours / ceiling * 100.0),
            ours >= 0.8 * ceiling,
        )),
        guard: None,
        ours: stats(vec![ours]),
        peer: Some(("kubectl cp (uncompressed)".into(), stats(vec![kubectl]))),
        extra: json!({"local_tar_czf_mib_s": ceiling, "tarball_bytes": std::fs::metadata(&dest).map(|m| m.len()).unwrap_or(0)}),
    }]
}

/// wait_ready latency after the last condition flips (a Deployment scaled
/// up, as kubectl's watch sees it), and the pod2pod scenario's wall time.
fn wait_and_scenario_rows(r: &Real) -> Vec<Row> {
    let latency = wait_ready_latency(r);
    let (wall, ok) = pod2pod_wall(r);
    vec![
        Row {
            name: "real_wait_ready_latency",
            what: "wait_ready return after kubectl -w printed the scaled Deployment available (0: scaffold returned first)".into(),
            unit: "ms",
            target: None,
            guard: None,
            ours: stats(vec![latency]),
            peer: None,
            extra: json!({}),
        },
        Row {
            name: "real_pod2pod_wall",
            what: "scenarios/pod2pod, runs=1 duration=2 s, network-perf:local, to exit".into(),
            unit: "s",
            target: None,
            guard: Some(("the scenario succeeds".into(), ok)),
            ours: stats(vec![wall]),
            peer: None,
            extra: json!({}),
        },
    ]
}

/// Milliseconds from kubectl -w seeing a scaled Deployment available to
/// wait_ready returning (0: scaffold returned first).
fn wait_ready_latency(r: &Real) -> f64 {
    let ns = &r.ns;
    let dep = r.dir.path().join("dep.yaml");
    std::fs::write(&dep, format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: {ns}}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      terminationGracePeriodSeconds: 1\n      containers: [{{name: main, image: busybox, command: [sleep, '3600']}}]\n")).unwrap();
    r.kubectl_ok(&["apply", "-f", dep.to_str().unwrap()]);
    r.kubectl_ok(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        ns,
        "--timeout=120s",
    ]);
    // kubectl's watch stamps the moment the Deployment is available again
    let mut watch = r
        .kubectl(&[
            "get",
            "deployment",
            "web",
            "-n",
            ns,
            "-w",
            "-o",
            "jsonpath={.status.availableReplicas}{\"\\n\"}",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = watch.stdout.take().unwrap();
    let seen = std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if l.trim() == "2" {
                return Some(Instant::now());
            }
        }
        None
    });
    let script = r.dir.path().join("wait.rhai");
    std::fs::write(&script, format!(r#"wait_ready(#{{namespaces: ["{ns}"], kinds: ["deployments", "pods"], timeout: 120}}); print("done");"#)).unwrap();
    r.kubectl_ok(&["scale", "deployment/web", "-n", ns, "--replicas=2"]);
    std::thread::sleep(Duration::from_millis(50));
    let mut w = Command::new(r.bin);
    w.args(["script", "--no-breakpoints"])
        .arg(&script)
        .env("KUBECONFIG", r.kc)
        .current_dir(r.dir.path());
    let ok = w.output().map(|o| o.status.success()).unwrap_or(false);
    let returned = Instant::now();
    assert!(ok, "wait_ready failed");
    let _ = watch.kill();
    let _ = watch.wait();
    let flipped = seen.join().unwrap().unwrap_or(returned);
    returned.saturating_duration_since(flipped).as_secs_f64() * 1000.0
}

/// Seconds of scenarios/pod2pod (one short run) to exit, and whether it
/// succeeded; what it made is deleted after.
fn pod2pod_wall(r: &Real) -> (f64, bool) {
    let ns = &r.ns;
    let t = Instant::now();
    let p2p = root().join("scenarios/pod2pod/main.rhai");
    let mut c = Command::new(r.bin);
    c.args(["script", "--no-breakpoints"])
        .arg(&p2p)
        .args([
            "--set",
            "image=network-perf:local",
            "--set",
            "runs=1",
            "--set",
            "duration=2",
            "--set",
            &format!("namespace={ns}"),
            "--artifacts",
        ])
        .arg(r.dir.path().join("p2p"))
        .env("KUBECONFIG", r.kc);
    let (_, _, ok) = run_measured(&mut c);
    let wall = t.elapsed().as_secs_f64();
    for d in ["pod2pod-client", "pod2pod-server"] {
        let _ = r
            .kubectl(&["delete", "deployment", d, "-n", ns, "--ignore-not-found"])
            .output();
    }
    let _ = r
        .kubectl(&[
            "delete",
            "service",
            "pod2pod-server",
            "-n",
            ns,
            "--ignore-not-found",
        ])
        .output();
    (wall, ok)
}

/// 30 pods to Ready: `create_objects` + `.wait_ready()` against `kubectl
/// create -f` + `kubectl wait`, and the pod startup p50/p99 that
/// `measure_pods` sees for each (both measured from a scaffold script, the
/// kubectl side through `sh`).
fn load_rows(r: &Real) -> Vec<Row> {
    let n = if r.a.quick { 2 } else { 4 };
    let pods = 30;
    let ns = &r.ns;
    let mut yaml = String::new();
    for i in 0..pods {
        yaml.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: k-{i}, namespace: {ns}, labels: {{app: kload}}}}\nspec: {{terminationGracePeriodSeconds: 0, containers: [{{name: c, image: registry.k8s.io/pause:3.10}}]}}\n"
        ));
    }
    std::fs::write(r.dir.path().join("pods.yaml"), yaml).unwrap();
    let kc = r.kc.display().to_string();
    let (mut ours, mut theirs) = (vec![], vec![]);
    let (mut ours_p, mut theirs_p) = (vec![], vec![]);
    for _ in 0..n {
        let out = r.script(
            "load.rhai",
            &format!(
                r#"let m = measure_pods(#{{namespace: "{ns}", selector: #{{app: "sload"}}, record: false}});
                let t = timestamp();
                let l = create_objects(`
apiVersion: v1
kind: Pod
metadata: {{name: "s-{{{{i}}}}", labels: {{app: sload}}}}
spec: {{terminationGracePeriodSeconds: 0, containers: [{{name: c, image: registry.k8s.io/pause:3.10}}]}}
`, #{{count: {pods}, qps: 50, namespace: "{ns}"}});
                l.wait_ready(#{{timeout: 300}});
                let secs = t.elapsed;
                let p = m.stop();
                l.delete(#{{wait: true}});
                print(`secs=${{secs}} p50=${{p.phases.started.p50}} p99=${{p.phases.started.p99}}`);"#
            ),
        );
        ours.push(field(&out, "secs"));
        ours_p.push((field(&out, "p50"), field(&out, "p99")));
        let out = r.script(
            "kubectl.rhai",
            &format!(
                r#"let m = measure_pods(#{{namespace: "{ns}", selector: #{{app: "kload"}}, record: false}});
                let t = timestamp();
                sh(["kubectl", "--kubeconfig", "{kc}", "create", "-f", "pods.yaml"], #{{quiet: true}});
                sh(["kubectl", "--kubeconfig", "{kc}", "wait", "-n", "{ns}", "--for=condition=Ready", "pod", "-l", "app=kload", "--timeout=300s"], #{{quiet: true}});
                let secs = t.elapsed;
                let p = m.stop();
                sh(["kubectl", "--kubeconfig", "{kc}", "delete", "-f", "pods.yaml", "--wait=true"], #{{quiet: true}});
                print(`secs=${{secs}} p50=${{p.phases.started.p50}} p99=${{p.phases.started.p99}}`);"#
            ),
        );
        theirs.push(field(&out, "secs"));
        theirs_p.push((field(&out, "p50"), field(&out, "p99")));
    }
    let (o, t) = (stats(ours), stats(theirs));
    let ratio = o.median / t.median;
    let med = |v: &[(f64, f64)], k: usize| {
        stats(v.iter().map(|x| if k == 0 { x.0 } else { x.1 }).collect()).median
    };
    vec![Row {
        name: "real_load_30_pods",
        what: format!("{pods} pods to Ready: create_objects (qps 50) + wait_ready vs kubectl create -f + kubectl wait"),
        unit: "s",
        target: None,
        guard: Some(("<= 1.5x kubectl".into(), ratio <= 1.5)),
        peer: Some(("kubectl create -f + wait".into(), t)),
        ours: o,
        extra: json!({
            "startup_started_p50_p99_create_objects": [med(&ours_p, 0), med(&ours_p, 1)],
            "startup_started_p50_p99_kubectl": [med(&theirs_p, 0), med(&theirs_p, 1)],
        }),
    }]
}

/// `key=NUMBER` in a script's output.
fn field(out: &str, key: &str) -> f64 {
    out.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}
