//! ron, node sessions, ron_all and the CLI on a real cluster: files in,
//! a PVC's tarball out, nsenter landing in the node, and nothing left
//! after success, a failing command, a script error or Ctrl-C.

use crate::{run_ok, scaffold, script, skip, Ctx, Outcome, Test};
use std::time::{Duration, Instant};

pub const TESTS: &[Test] = &[
    ("ron_with_every_option", ron_every_option),
    ("ron_cleans_up_after_failure_error_and_ctrl_c", ron_cleanup),
    ("node_session_ron_all_and_the_cli", sessions_and_cli),
];

/// Names in a tarball.
fn tar_names(path: &std::path::Path) -> Vec<String> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut names: Vec<String> = tar::Archive::new(flate2::read::GzDecoder::new(f))
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    names.sort();
    names
}

fn ron_every_option(ctx: &Ctx) -> Outcome {
    let node = ctx.node();
    let p = ctx.project();
    p.file("perf.sh", "echo measured on $(hostname)\n");
    p.file("conf/other.conf", "x=1\n");
    let out = run_ok(
        &p,
        &format!(
            r#"
            let r = ron(#{{node: "{node}", cmd: "sh /configs/perf.sh; cat /configs/other.conf; echo data > /store/out.txt; mkdir -p /store/d; echo nested > /store/d/n.txt",
                mounts: ["perf.sh", "conf/other.conf"], pvc: true, pvc_size: "10Mi", show_events: true, auto_copy_dest: "store.tar.gz",
                retry_attempts: 5, retry_delay: 1, timeout: 300}});
            print("code=" + r.code);
            print("artifacts=" + r.artifacts);
            // nsenter lands in the node: its hostname is the node's
            let h = ron(#{{node: "{node}", cmd: "hostname", nsenter: true}});
            print("host=" + h.logs);
            let n = ron(#{{node: "{node}", cmd: ["cat", "/proc/1/comm"], nsenter: true, nsenter_opts: "-t 1 -m -p"}});
            print("pid1=" + n.logs);
            "#
        ),
    );
    assert!(
        out.contains("measured on") && out.contains("x=1") && out.contains("code=0"),
        "{out}"
    );
    assert!(
        out.contains("event: Normal Scheduled") || out.contains("event: Normal Pulled"),
        "show_events: {out}"
    );
    assert!(out.contains(&format!("host={node}")), "nsenter -u: {out}");
    assert_eq!(
        tar_names(&p.path().join("store.tar.gz")),
        vec!["store/", "store/d/", "store/d/n.txt", "store/out.txt"],
        "the tarball holds what the command wrote"
    );
    // an image with no exit marker: output from the logs, the code from
    // the pod's status (the benchmark image: any image with sh would do)
    if let Err(crate::Skip(why)) = ctx.real_containers() {
        return skip(
            "ron with an image without an exit marker",
            &format!("{why}; every other option was checked"),
        );
    }
    let out = run_ok(
        &p,
        &format!(
            r#"let plain = ron(#{{node: "{node}", cmd: "echo plain; exit 3", image: "{}", check: false, timeout: 300}});
            let l = plain.logs;
            l.trim();
            print("plain=" + l + " code=" + plain.code);"#,
            ctx.bench_image()
        ),
    );
    assert!(out.contains("plain=plain code=3"), "{out}");
    Ok(())
}

fn ron_cleanup(ctx: &Ctx) -> Outcome {
    let node = ctx.node();
    let p = ctx.project();
    // a failing command: its code is returned (check: false) or raised
    let out = run_ok(
        &p,
        &format!(
            r#"let r = ron(#{{node: "{node}", cmd: "echo bad; exit 3", check: false}}); print("code=" + r.code);"#
        ),
    );
    assert!(out.contains("code=3"), "{out}");
    let (code, _, se) = script(&p, "f.rhai", &format!(r#"ron("{node}", "exit 5");"#), &[]);
    assert_eq!(code, 1);
    assert!(se.contains("command exited with code 5 on node"), "{se}");
    // a script error after a ron: its pod is long gone; an image that does not exist fails at once
    let t = Instant::now();
    let (code, _, se) = script(
        &p,
        "i.rhai",
        &format!(r#"ron(#{{node: "{node}", cmd: "true", image: "no-such-image:1"}});"#),
        &[],
    );
    assert_eq!(code, 1);
    assert!(
        se.contains("cannot run: container main")
            && (se.contains("ErrImagePull") || se.contains("ImagePullBackOff")),
        "{se}"
    );
    assert!(
        t.elapsed() < Duration::from_secs(90),
        "reported with the kubelet's message, not after a timeout"
    );
    // Ctrl-C while the command runs: the pod and its PVC are deleted
    p.file("c.rhai", &format!(r#"ron(#{{node: "{node}", cmd: "echo started; sleep 600", pvc: true, pvc_size: "10Mi"}});"#));
    let log = std::fs::File::create(p.path().join("c.log")).unwrap();
    let mut child = p
        .std_cmd()
        .args(["script", "c.rhai"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    // wait for the command to run: on what it printed, not on time
    let printed = || std::fs::read_to_string(p.path().join("c.log")).unwrap_or_default();
    let t = Instant::now();
    while !printed().contains("started") {
        if t.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the ron command did not start within 120 s:\n{}", printed());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let t = Instant::now();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "cleanup took {:?}",
        t.elapsed()
    );
    let left = ctx.kubectl(&[
        "get",
        "pods,pvc,configmaps",
        "-A",
        "-l",
        "app.kubernetes.io/managed-by=scaffold",
        "-o",
        "name",
    ]);
    assert!(left.trim().is_empty(), "left after Ctrl-C: {left}");
    Ok(())
}

fn sessions_and_cli(ctx: &Ctx) -> Outcome {
    let node = ctx.node();
    let p = ctx.project();
    let out = run_ok(
        &p,
        &format!(
            r#"
            let s = node_session("{node}");
            print("host=" + s.exec("hostname").stdout);
            print("code=" + s.exec("exit 4").code);
            try {{ s.exec("echo 'unbalanced"); print("bad=ran"); }} catch (e) {{ print("bad=" + e); }}
            let big = s.exec("head -c 300000 /dev/zero | tr '\\0' x");
            print("big=" + big.stdout.len());
            let tar = s.copy_from("/etc/hostname", "host.tar.gz");
            print("copied=" + exists(tar));
            s.close();
            let all = ron_all(["{node}"], "uname -r");
            print("all=" + all.keys().len() + " " + all["{node}"].code);
            "#
        ),
    );
    for want in [
        format!("host={node}"),
        "code=4".into(),
        "bad=exec: session on".into(),
        "malformed command, not run".into(),
        "big=300000".into(),
        "copied=true".into(),
        "all=1 0".into(),
    ] {
        assert!(out.contains(&want), "{want}: {out}");
    }
    assert_eq!(tar_names(&p.path().join("host.tar.gz")), vec!["hostname"]);
    // the CLI with the original's fixed names
    let (code, so, se) = scaffold(
        &p,
        &[
            "ron",
            "--node",
            &node,
            "--pvc",
            "--pvc-size=10Mi",
            "--auto-copy",
            "--auto-copy-dest",
            "cli.tar.gz",
            "--",
            "sh",
            "-c",
            "echo cli > /store/c.txt; echo done",
        ],
    );
    assert_eq!(code, 0, "{se}");
    assert!(
        so.contains("done") && se.contains("exit code: 0"),
        "{so}{se}"
    );
    assert_eq!(
        tar_names(&p.path().join("cli.tar.gz")),
        vec!["store/", "store/c.txt"]
    );
    let (code, _, se) = scaffold(&p, &["cleanup", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(se.contains("0 object(s) would be deleted"), "{se}");
    Ok(())
}
