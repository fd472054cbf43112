//! ron and node sessions: a whole ron against kubectl by hand, session
//! commands (direct and through a proxy), session vs ron, auto-copy.

use crate::common::*;
use fakecluster::{FakeCluster, Options};
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// What every part of the group shares: the fake cluster, a temp dir, the binary.
struct Bench<'a> {
    a: &'a Args,
    bin: &'a Path,
    fc: FakeCluster,
    dir: tempfile::TempDir,
    kc: std::path::PathBuf,
}

pub fn bench_ron(a: &Args, bin: &Path) -> Vec<Row> {
    let fc = FakeCluster::start(Options {
        nodes: 2,
        ..Default::default()
    });
    let b = Bench {
        a,
        bin,
        kc: fc.kubeconfig().to_path_buf(),
        fc,
        dir: tempfile::tempdir().unwrap(),
    };
    let mut rows = overheads(&b);
    let (session_rows, session_total) = session_exec(&b);
    rows.extend(session_rows);
    rows.push(session_through_proxy(&b));
    rows.push(session_vs_ron(&b, session_total));
    rows.extend(auto_copy(&b));
    rows
}

/// A whole ron against kubectl by hand; the start and end overheads.
fn overheads(b: &Bench) -> Vec<Row> {
    let (a, bin, dir, kc) = (b.a, b.bin, &b.dir, &b.kc);
    let mut rows = vec![];
    // overheads: the command prints its clock at start and at its end
    let reps = if a.quick { 3 } else { 7 };
    let (mut start_o, mut end_o, mut total) = (vec![], vec![], vec![]);
    let now_ns = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as f64
    };
    let ron_rss = dir.path().join("ron.rss");
    for _ in 0..reps {
        let t0 = now_ns();
        let t = Instant::now();
        let out = rss_cmd(bin, &ron_rss)
            .args([
                "ron",
                "--node",
                "kind-worker",
                "--",
                "sh",
                "-c",
                "date +%s%N; date +%s%N",
            ])
            .env("KUBECONFIG", kc)
            .output()
            .unwrap();
        let t1 = now_ns();
        total.push(t.elapsed().as_secs_f64() * 1000.0);
        let s = String::from_utf8_lossy(&out.stdout);
        let ts: Vec<f64> = s.lines().filter_map(|l| l.trim().parse().ok()).collect();
        assert_eq!(ts.len(), 2, "ron output: {s}");
        start_o.push((ts[0] - t0) / 1e6);
        end_o.push((t1 - ts[1]) / 1e6);
    }
    let peer = ron_by_hand(b, reps.min(3));
    let tot = stats(total);
    let ratio = tot.median / stats(peer.clone()).median;
    let so = stats(start_o);
    let eo = stats(end_o);
    rows.push(rss_row("ron_rss", "peak RSS of scaffold ron", &ron_rss));
    rows.push(Row {
        name: "ron_total",
        what: "scaffold ron -- (a trivial command): call to return".into(),
        unit: "ms",
        target: None,
        guard: Some(("faster than ron by hand with kubectl".into(), ratio < 1.0)),
        ours: tot,
        peer: Some((
            "kubectl run + wait + logs + delete --wait".into(),
            stats(peer),
        )),
        extra: json!({}),
    });
    rows.push(Row {
        name: "ron_start_overhead",
        what: "ron: call to command start (process start included)".into(),
        unit: "ms",
        target: Some((format!("<= 300 ms ({:.0})", so.median), so.median <= 300.0)),
        guard: None,
        ours: so,
        peer: None,
        extra: json!({}),
    });
    rows.push(Row {
        name: "ron_end_overhead",
        what: "ron: command end to return (cleanup included)".into(),
        unit: "ms",
        target: Some((format!("<= 300 ms ({:.0})", eo.median), eo.median <= 300.0)),
        guard: None,
        ours: eo,
        peer: None,
        extra: json!({}),
    });
    rows
}

/// Milliseconds of "ron by hand" with kubectl: a privileged pod run,
/// waited for, its logs read, deleted.
fn ron_by_hand(b: &Bench, reps: usize) -> Vec<f64> {
    let (dir, kc) = (&b.dir, &b.kc);
    let by_hand = dir.path().join("by-hand.sh");
    std::fs::write(
        &by_hand,
        "set -e\nkubectl run byhand --image=alpine --restart=Never --overrides='{\"spec\":{\"hostPID\":true,\"hostNetwork\":true,\"nodeSelector\":{\"kubernetes.io/hostname\":\"kind-worker\"}}}' -- echo hi >/dev/null\nkubectl wait --for=jsonpath='{.status.phase}'=Succeeded pod/byhand --timeout=60s >/dev/null\nkubectl logs byhand >/dev/null\nkubectl delete pod byhand --wait >/dev/null\n",
    )
    .unwrap();
    let mut peer = vec![];
    for _ in 0..reps {
        let (s, _, ok) = run_measured(Command::new("sh").arg(&by_hand).env("KUBECONFIG", kc));
        assert!(ok, "kubectl by hand failed");
        peer.push(s * 1000.0);
    }
    peer
}

/// Session command round trips against kubectl exec; returns the time of n commands too.
fn session_exec(b: &Bench) -> (Vec<Row>, f64) {
    let (a, bin, fc, dir, kc) = (b.a, b.bin, &b.fc, &b.dir, &b.kc);
    let mut rows = vec![];
    // node session exec vs kubectl exec, and 100 commands: session vs ron
    let n = if a.quick { 20 } else { 100 };
    let session_total: f64 = script_output(
        bin,
        kc,
        dir.path(),
        "session.rhai",
        &format!("let s = node_session(\"kind-worker\"); s.exec(\"true\"); let t = timestamp(); for i in 0..{n} {{ s.exec(\"true\"); }} print(t.elapsed); s.close();"),
    )
    .parse::<f64>()
    .unwrap()
        * 1000.0;
    let per = session_total / n as f64;
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "peer", "namespace": "default"},
        "spec": {"nodeName": "kind-worker", "containers": [{"name": "main", "image": "alpine", "command": ["sleep", "3600"]}]}})).unwrap();
    wait_running(fc, "peer");
    let mut kx = vec![];
    for _ in 0..5 {
        let (s, _, ok) = run_measured(
            Command::new("kubectl")
                .args(["exec", "peer", "--", "true"])
                .env("KUBECONFIG", kc),
        );
        assert!(ok);
        kx.push(s * 1000.0);
    }
    let ratio = per / stats(kx.clone()).median;
    rows.push(Row {
        name: "session_exec",
        what: format!("node_session(...).exec(\"true\") round trip, mean of {n}"),
        unit: "ms",
        target: Some((format!("<= 25 ms ({per:.1})"), per <= 25.0)),
        guard: Some(("faster than kubectl exec".into(), ratio < 1.0)),
        ours: stats(vec![per]),
        peer: Some(("kubectl exec POD -- true".into(), stats(kx))),
        extra: json!({}),
    });
    (rows, session_total)
}

/// The same session through an HTTP CONNECT proxy: no delayed-ACK stalls.
fn session_through_proxy(b: &Bench) -> Row {
    let (bin, fc, dir, kc) = (b.bin, &b.fc, &b.dir, &b.kc);
    let mut rows = vec![];
    // the same session through an HTTP CONNECT proxy (kubeconfig proxy-url):
    // per-command mean and worst case, direct and proxied, same script
    let proxy = fakecluster::proxy::Proxy::http();
    let pkc_path = dir.path().join("proxied.kubeconfig");
    fc.write_kubeconfig_via(
        &pkc_path,
        "api.scaffold.test",
        Some(&format!("http://127.0.0.1:{}", proxy.port)),
    )
    .unwrap();
    // 200 commands even with --quick (~0.1 s): a stall rate of 1 in 30 shows
    let m = 200;
    let each = format!("let s = node_session(\"kind-worker\"); s.exec(\"true\"); let ts = []; for i in 0..{m} {{ let t = timestamp(); s.exec(\"true\"); ts.push(t.elapsed * 1000.0); }} s.close(); let m = summary(ts); print(`${{m.mean}} ${{m.max}} ${{ts.filter(|x| x > 20.0).len()}}`);");
    // mean, max and how many took over 20 ms
    let mean_max = |kubeconfig: &Path| -> (f64, f64, f64) {
        let text = script_output(bin, kubeconfig, dir.path(), "session_each.rhai", &each);
        let v: Vec<f64> = text
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        (v[0], v[1], v[2])
    };
    let (direct_mean, direct_max, direct_slow) = mean_max(kc);
    let (proxied_mean, proxied_max, proxied_slow) = mean_max(&pkc_path);
    assert!(!proxy.seen().is_empty(), "the proxy saw no tunnel");
    rows.push(Row {
        name: "session_exec_proxy",
        what: format!("session exec(\"true\") through an HTTP CONNECT proxy, mean of {m} (max {proxied_max:.1} ms; direct max {direct_max:.1} ms)"),
        unit: "ms",
        target: None,
        // a connection without TCP_NODELAY shows as ~40 ms delayed-ACK
        // stalls, about one command in thirty; load slows both runs alike
        guard: Some((
            format!("stalls > 20 ms: {proxied_slow} vs {direct_slow} direct (at most 3 more)"),
            proxied_slow <= direct_slow + 3.0,
        )),
        ours: stats(vec![proxied_mean]),
        peer: Some(("the same, direct".into(), stats(vec![direct_mean]))),
        extra: json!({"proxied_max_ms": proxied_max, "direct_max_ms": direct_max, "proxied_over_20ms": proxied_slow, "direct_over_20ms": direct_slow}),
    });
    rows.pop().expect("one row")
}

/// n commands through one session against n ron calls.
fn session_vs_ron(b: &Bench, session_total: f64) -> Row {
    let (a, bin, dir, kc) = (b.a, b.bin, &b.dir, &b.kc);
    let n = if a.quick { 20 } else { 100 };
    let mut rows = vec![];
    let ron_total: f64 = script_output(
        bin,
        kc,
        dir.path(),
        "rons.rhai",
        &format!("let t = timestamp(); for i in 0..{n} {{ ron(\"kind-worker\", \"true\"); }} print(t.elapsed);"),
    )
    .parse::<f64>()
    .unwrap()
        * 1000.0;
    let speedup = ron_total / session_total;
    rows.push(Row {
        name: "session_vs_ron",
        what: format!("{n} commands through one session vs {n} ron calls"),
        unit: "ms",
        target: Some((format!(">= 10x faster ({speedup:.0}x)"), speedup >= 10.0)),
        guard: Some(("session faster than ron".into(), speedup > 1.0)),
        ours: stats(vec![session_total]),
        peer: Some((format!("{n} ron calls"), stats(vec![ron_total]))),
        extra: json!({"speedup": speedup}),
    });
    rows.pop().expect("one row")
}

/// ron auto-copy of mixed data against local tar czf and kubectl cp.
fn auto_copy(b: &Bench) -> Vec<Row> {
    let (a, fc) = (b.a, &b.fc);
    let mut rows = vec![];
    // auto-copy of mixed data vs local tar czf (ceiling) and kubectl cp
    let size: u64 = if a.quick { 64 << 20 } else { 1 << 30 };
    fc.seed(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "bench-store", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}})).unwrap();
    let store = fc.shared.kubelet.pvc_dir("default", "bench-store");
    mixed_data(&store, size);
    let mib = size as f64 / 1048576.0;
    let (base, base_rss, with_copy, copy_rss) = timed_copy(b, size);
    let copy_secs = (with_copy - base).max(0.001);
    let ours = mib / copy_secs;
    let (tar_secs, _, ok) = run_measured(
        Command::new("sh")
            .arg("-c")
            .arg(format!("tar czf - -C {} . > /dev/null", store.display())),
    );
    assert!(ok);
    let ceiling = mib / tar_secs;
    let (cp_secs, cp_ok) = kubectl_cp(b);
    let ratio = ours / ceiling;
    rows.push(Row {
        name: "auto_copy",
        what: format!("ron --pvc auto-copy of {mib:.0} MiB of mixed data (tar.gz through exec)"),
        unit: "MiB/s",
        target: Some((format!(">= 80% of local tar czf ({:.0}%)", ratio * 100.0), ratio >= 0.8)),
        guard: Some(("at least 30% of local tar czf".into(), ratio > 0.3)),
        ours: stats(vec![ours]),
        peer: Some(("local tar czf (ceiling)".into(), stats(vec![ceiling]))),
        extra: json!({"kubectl_cp_mib_s": if cp_ok { mib / cp_secs } else { f64::NAN }, "rss_growth_mib": copy_rss - base_rss}),
    });
    rows.push(Row {
        name: "auto_copy_rss_growth",
        what: "peak RSS of ron with auto-copy minus ron without".into(),
        unit: "MiB",
        target: Some((
            format!("<= 50 MiB ({:.1})", copy_rss - base_rss),
            copy_rss - base_rss <= 50.0,
        )),
        guard: None,
        ours: stats(vec![copy_rss - base_rss]),
        peer: None,
        extra: json!({}),
    });
    rows.push(Row {
        name: "kubectl_cp",
        what: format!("kubectl cp of the same {mib:.0} MiB (uncompressed tar through exec)"),
        unit: "MiB/s",
        target: None,
        guard: None,
        ours: stats(vec![if cp_ok { mib / cp_secs } else { f64::NAN }]),
        peer: None,
        extra: json!({}),
    });
    rows
}

/// Seconds and peak RSS of a ron without copy-out and of one copying the
/// whole store out (checked to be all there): (base, base rss, with copy,
/// copy rss).
fn timed_copy(b: &Bench, size: u64) -> (f64, f64, f64, f64) {
    let (bin, dir, kc) = (b.bin, &b.dir, &b.kc);
    let (base, base_rss, _) = run_measured(
        Command::new(bin)
            .args(["ron", "--node", "kind-worker", "--", "true"])
            .env("KUBECONFIG", kc),
    );
    let dest = dir.path().join("copy.tar.gz");
    let (with_copy, copy_rss, ok) = run_measured(
        Command::new(bin)
            .args([
                "ron",
                "--node",
                "kind-worker",
                "--pvc",
                "--pvc-name",
                "bench-store",
                "--manage-pvc=false",
                "--auto-copy-dest",
            ])
            .arg(&dest)
            .args(["--", "true"])
            .env("KUBECONFIG", kc),
    );
    assert!(ok, "ron with auto-copy failed");
    // the copy must be all there: a tar.gz of the whole store
    let listed = Command::new("sh")
        .arg("-c")
        .arg(format!("tar tzf {} | wc -l", dest.display()))
        .output()
        .unwrap();
    let files = String::from_utf8_lossy(&listed.stdout).trim().to_string();
    let copied = std::fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
    // half the data is random, so the tar.gz cannot be under 40% of it
    assert!(
        copied as f64 >= size as f64 * 0.4,
        "auto-copy wrote {copied} bytes ({files} entries) for {size} bytes of mixed data: not a copy of the whole store"
    );
    (base, base_rss, with_copy, copy_rss)
}

/// Seconds of `kubectl cp` of the same store from a pod that mounts it,
/// and whether it worked.
fn kubectl_cp(b: &Bench) -> (f64, bool) {
    let (fc, dir, kc) = (&b.fc, &b.dir, &b.kc);
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "cp-peer", "namespace": "default"},
        "spec": {"nodeName": "kind-worker", "containers": [{"name": "main", "image": "alpine", "command": ["sleep", "3600"],
            "volumeMounts": [{"name": "s", "mountPath": "/store"}]}], "volumes": [{"name": "s", "persistentVolumeClaim": {"claimName": "bench-store"}}]}})).unwrap();
    wait_running(fc, "cp-peer");
    let cp_dest = dir.path().join("kubectl-cp");
    let (cp_secs, _, cp_ok) = run_measured(
        Command::new("kubectl")
            .args(["cp", "default/cp-peer:/store"])
            .arg(&cp_dest)
            .env("KUBECONFIG", kc),
    );
    (cp_secs, cp_ok)
}
