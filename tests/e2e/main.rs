//! The real-cluster suite: every host function and subcommand that talks
//! to a cluster, through the real binary, against any Kubernetes a user
//! points it at (README "Test against your own cluster"). Its own runner
//! (harness = false): tests run one at a time, each must leave nothing
//! behind (scaffold's labelled objects, test namespaces and CRDs, node
//! labels) compared with the cluster just before it; what a test left is
//! reported as its own and cleaned up, so the next test starts clean. The
//! last line counts passes, failures and skips.
//!
//!   SCAFFOLD_E2E_KUBECONFIG=FILE cargo test --test e2e [-- FILTER]
//!
//! Without SCAFFOLD_E2E_KUBECONFIG the suite is skipped, saying so; with
//! SCAFFOLD_E2E_REQUIRED=1 (CI) a missing variable or a cluster that does
//! not answer is a failure, so the suite cannot pass without a cluster.

#[path = "../it/util.rs"]
#[allow(dead_code)]
mod util;

mod nodes;
mod objects;
mod ready;
mod scenarios;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use util::Project;

/// What a test needs: the cluster's kubeconfig.
pub struct Ctx {
    pub kubeconfig: PathBuf,
}

/// A test that cannot run here, and why.
pub struct Skip(pub String);

pub type Outcome = Result<(), Skip>;

pub fn skip(what: &str, why: &str) -> Outcome {
    Err(Skip(format!("{what} ({why})")))
}

impl Ctx {
    /// A project directory with the cluster's kubeconfig as ./kubeconfig.
    pub fn project(&self) -> Project {
        let p = Project::new();
        std::fs::copy(&self.kubeconfig, p.path().join("kubeconfig")).unwrap();
        p
    }

    /// kubectl against the cluster; stdout, or a panic with stderr.
    pub fn kubectl(&self, args: &[&str]) -> String {
        let out = self.kubectl_out(args);
        assert!(
            out.status.success(),
            "kubectl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    pub fn kubectl_out(&self, args: &[&str]) -> std::process::Output {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .expect("kubectl")
    }

    /// kubectl with a manifest on stdin.
    pub fn kubectl_apply(&self, yaml: &str) {
        use std::io::Write;
        let mut c = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["apply", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(yaml.as_bytes()).unwrap();
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "kubectl apply: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A fresh namespace for one test (deleted by the leftover check).
    pub fn namespace(&self, name: &str) -> String {
        let ns = format!("scaffold-e2e-{name}");
        let _ = self.kubectl_out(&[
            "delete",
            "namespace",
            &ns,
            "--wait=true",
            "--ignore-not-found",
        ]);
        self.kubectl(&["create", "namespace", &ns]);
        ns
    }

    /// Tests that change node labels run only when asked
    /// (`SCAFFOLD_E2E_NODE_LABELS=1`): the suite touches nothing but what
    /// it creates unless told otherwise.
    pub fn node_labels_allowed(&self) -> Outcome {
        if std::env::var("SCAFFOLD_E2E_NODE_LABELS").is_ok_and(|v| v == "1") {
            Ok(())
        } else {
            skip(
                "changes node labels",
                "set SCAFFOLD_E2E_NODE_LABELS=1 to let it label nodes (it puts them back)",
            )
        }
    }

    /// Tests that need containers running their images' own programs
    /// (busybox's httpd, the benchmark image's iperf3) run only where pods
    /// see their image's filesystem, as on any real node. Probed once, with
    /// a busybox pod: its /bin/busybox is there and a distribution's
    /// /etc/os-release is not. A cluster that runs containers some other
    /// way (a simulated kubelet) skips those tests, saying so.
    pub fn real_containers(&self) -> Outcome {
        static PROBE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
        match PROBE.get_or_init(|| self.probe_containers()) {
            Ok(()) => Ok(()),
            Err(why) => skip("needs containers that run their image's programs", why),
        }
    }

    fn probe_containers(&self) -> Result<(), String> {
        let ns = self.namespace("probe");
        self.kubectl_apply(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: probe, namespace: {ns}}}\nspec:\n  restartPolicy: Never\n  terminationGracePeriodSeconds: 0\n  containers: [{{name: main, image: busybox, command: [sh, -c, 'if [ -x /bin/busybox ] && [ ! -e /etc/os-release ]; then echo image-filesystem; else echo host-filesystem; fi']}}]\n"
        ));
        let done = self.kubectl_out(&[
            "wait",
            "pod/probe",
            "-n",
            &ns,
            "--for=jsonpath={.status.phase}=Succeeded",
            "--timeout=180s",
        ]);
        let logs = self.kubectl_out(&["logs", "probe", "-n", &ns]);
        let _ = self.kubectl_out(&["delete", "namespace", &ns, "--wait=true", "--timeout=120s"]);
        let said = String::from_utf8_lossy(&logs.stdout).trim().to_string();
        match (done.status.success(), said.as_str()) {
            (true, "image-filesystem") => Ok(()),
            (true, _) => Err(format!(
                "a busybox pod on this cluster sees another filesystem than busybox's ({said}): its containers do not run their images"
            )),
            (false, _) => Err(format!(
                "a busybox pod did not complete within 180 s here: {}",
                String::from_utf8_lossy(&done.stderr).trim()
            )),
        }
    }

    /// The benchmark image (iperf3, netperf, sh): SCAFFOLD_E2E_BENCH_IMAGE,
    /// or the pod2pod scenario's default.
    pub fn bench_image(&self) -> String {
        if let Some(i) = std::env::var("SCAFFOLD_E2E_BENCH_IMAGE")
            .ok()
            .filter(|i| !i.is_empty())
        {
            return i;
        }
        let main = std::fs::read_to_string(repo().join("scenarios/pod2pod/main.rhai"))
            .expect("scenarios/pod2pod/main.rhai");
        main.lines()
            .find_map(|l| l.strip_prefix("let image = param(\"image\", \""))
            .and_then(|l| l.split('"').next())
            .expect("pod2pod's default image")
            .to_string()
    }

    /// The first node of the cluster.
    pub fn node(&self) -> String {
        self.kubectl(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"])
    }
}

/// Run a command to its end, at most `limit` (then killed: a hang is a failure).
pub fn output_within(mut c: Command, limit: Duration) -> (i32, String, String) {
    let child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => {
            let out = out.unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).to_string(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        }
        Err(_) => {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("{c:?} did not end within {limit:?}");
        }
    }
}

/// Run scaffold in a project (at most 10 minutes); (exit code, stdout, stderr).
pub fn scaffold(p: &Project, args: &[&str]) -> (i32, String, String) {
    let mut c = p.std_cmd();
    c.args(args);
    output_within(c, Duration::from_secs(600))
}

/// Run a script in a project; (exit code, stdout, stderr).
pub fn script(p: &Project, file: &str, body: &str, args: &[&str]) -> (i32, String, String) {
    p.file(file, body);
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["script", file]);
    scaffold(p, &all)
}

/// A script that must succeed; its stdout.
pub fn run_ok(p: &Project, body: &str) -> String {
    let (code, so, se) = script(p, "s.rhai", body, &[]);
    assert_eq!(code, 0, "script failed:\n{se}\n{so}");
    so
}

/// What the cluster holds that a test may leave behind: scaffold's
/// labelled objects, test namespaces, test CRDs (as `kind/name` or
/// `kind/ns/name`), and every node's labels.
struct State {
    objects: BTreeSet<String>,
    labels: BTreeMap<String, BTreeMap<String, String>>,
}

fn state(ctx: &Ctx) -> State {
    let mut objects = BTreeSet::new();
    let labelled = ctx.kubectl(&[
        "get",
        "pods,configmaps,secrets,persistentvolumeclaims,services,deployments,jobs,daemonsets,statefulsets,serviceaccounts,roles,rolebindings",
        "-A",
        "-l",
        "app.kubernetes.io/managed-by=scaffold",
        "-o",
        "jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}{\"\\n\"}{end}",
    ]);
    objects.extend(labelled.lines().map(str::to_string));
    let namespaces = ctx.kubectl(&["get", "namespaces", "-o", "name"]);
    objects.extend(
        namespaces
            .lines()
            .filter(|l| l.starts_with("namespace/scaffold-e2e"))
            .map(str::to_string),
    );
    let crds = ctx.kubectl(&["get", "crd", "-o", "name"]);
    objects.extend(
        crds.lines()
            .filter(|l| l.ends_with("scaffold.test"))
            .map(str::to_string),
    );
    let nodes: serde_json::Value =
        serde_json::from_str(&ctx.kubectl(&["get", "nodes", "-o", "json"])).unwrap();
    let labels = nodes["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            let l = n["metadata"]["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect();
            (n["metadata"]["name"].as_str().unwrap_or("").to_string(), l)
        })
        .collect();
    State { objects, labels }
}

/// What a test left: objects that were not there before it, and node
/// label changes (as `node: key=old -> new`).
fn leftovers(before: &State, after: &State) -> (Vec<String>, Vec<String>) {
    let objects = after.objects.difference(&before.objects).cloned().collect();
    let mut labels = vec![];
    for (node, now) in &after.labels {
        let was = before.labels.get(node).cloned().unwrap_or_default();
        for k in was.keys().chain(now.keys()).collect::<BTreeSet<_>>() {
            if was.get(k) != now.get(k) {
                let show =
                    |v: Option<&String>| v.map_or("(none)".to_string(), |v| format!("{v:?}"));
                labels.push(format!(
                    "{node}: {k} {} -> {}",
                    show(was.get(k)),
                    show(now.get(k))
                ));
            }
        }
    }
    (objects, labels)
}

/// Delete what a test left and put node labels back as they were, so the
/// next test starts from the same cluster.
fn clean_up(ctx: &Ctx, before: &State, left: &[String]) {
    for l in left {
        let parts: Vec<&str> = l.split('/').collect();
        let _ = match parts.as_slice() {
            ["namespace", ns] => {
                ctx.kubectl_out(&["delete", "namespace", ns, "--wait=true", "--timeout=120s"])
            }
            [kind, name] => {
                ctx.kubectl_out(&["delete", kind, name, "--wait=true", "--timeout=60s"])
            }
            [kind, ns, name] => {
                let mut a = vec!["delete", kind, name, "--wait=true", "--timeout=60s"];
                if !ns.is_empty() {
                    a.extend(["-n", ns]);
                }
                ctx.kubectl_out(&a)
            }
            _ => continue,
        };
    }
    let now = state(ctx);
    for (node, labels) in &now.labels {
        let Some(was) = before.labels.get(node) else {
            continue;
        };
        let mut args: Vec<String> = vec![
            "label".into(),
            "node".into(),
            node.clone(),
            "--overwrite".into(),
        ];
        for k in labels.keys() {
            if !was.contains_key(k) {
                args.push(format!("{k}-"));
            }
        }
        for (k, v) in was {
            if labels.get(k) != Some(v) {
                args.push(format!("{k}={v}"));
            }
        }
        if args.len() > 4 {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = ctx.kubectl_out(&a);
        }
    }
}

type Test = (&'static str, fn(&Ctx) -> Outcome);

fn tests() -> Vec<Test> {
    let mut t: Vec<Test> = vec![];
    t.extend(ready::TESTS);
    t.extend(objects::TESTS);
    t.extend(nodes::TESTS);
    t.extend(scenarios::TESTS);
    t
}

/// The gate: the kubeconfig of a cluster that answers, or why not.
fn gate() -> Result<PathBuf, String> {
    let kc = std::env::var_os("SCAFFOLD_E2E_KUBECONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .ok_or("SCAFFOLD_E2E_KUBECONFIG is not set: give the kubeconfig of a cluster to test against (README.md \"Test against your own cluster\")")?;
    let ctx = Ctx {
        kubeconfig: kc.clone(),
    };
    let t = Instant::now();
    loop {
        let out = ctx.kubectl_out(&["get", "--raw", "/readyz", "--request-timeout=5s"]);
        if out.status.success() {
            return Ok(kc);
        }
        if t.elapsed() > Duration::from_secs(60) {
            return Err(format!(
                "the cluster of {} does not answer /readyz: {}",
                kc.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

fn main() {
    scaffold::install_crypto();
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let required = std::env::var("SCAFFOLD_E2E_REQUIRED").is_ok_and(|v| v == "1");
    let kc = match gate() {
        Ok(kc) => kc,
        Err(why) if required => {
            eprintln!("e2e: FAILED: the real-cluster suite was required (SCAFFOLD_E2E_REQUIRED=1) but cannot run: {why}");
            std::process::exit(1);
        }
        Err(why) => {
            let all = tests();
            for (name, _) in &all {
                println!("test {name} ... SKIP: {why}");
            }
            println!("e2e: 0 passed, 0 failed, {} skipped", all.len());
            return;
        }
    };
    let ctx = Ctx { kubeconfig: kc };
    let (mut passed, mut failed, mut skipped) = (vec![], vec![], vec![]);
    let started = Instant::now();
    for (name, f) in tests() {
        if !filters.is_empty() && !filters.iter().any(|x| name.contains(x.as_str())) {
            continue;
        }
        let before = state(&ctx);
        let t = Instant::now();
        print!("test {name} ... ");
        let r = std::panic::catch_unwind(|| f(&ctx));
        let after = state(&ctx);
        let (left, labels) = leftovers(&before, &after);
        let secs = t.elapsed().as_secs_f64();
        let mut problem = match r {
            Ok(Ok(())) => None,
            Ok(Err(Skip(why))) => {
                println!("SKIP: {why} [{secs:.1}s]");
                skipped.push(format!("{name}: {why}"));
                None
            }
            Err(p) => Some(
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into()),
            ),
        };
        if !left.is_empty() || !labels.is_empty() {
            let mut what = vec![];
            if !left.is_empty() {
                what.push(format!(
                    "{name} left behind in the cluster: {}",
                    left.join(", ")
                ));
            }
            if !labels.is_empty() {
                what.push(format!("{name} changed node labels: {}", labels.join("; ")));
            }
            let what = what.join("\n") + " (cleaned up)";
            problem = Some(match problem {
                Some(p) => format!("{p}\n{what}"),
                None => what,
            });
            clean_up(&ctx, &before, &left);
        }
        match problem {
            Some(p) => {
                println!("FAILED [{secs:.1}s]\n  {}", p.replace('\n', "\n  "));
                failed.push(name);
            }
            None if skipped.last().is_some_and(|s| s.starts_with(name)) => {}
            None => {
                println!("ok [{secs:.1}s]");
                passed.push(name);
            }
        }
    }
    for s in &skipped {
        println!("SKIP: {s}");
    }
    println!(
        "e2e: {} passed, {} failed, {} skipped in {:.0}s{}",
        passed.len(),
        failed.len(),
        skipped.len(),
        started.elapsed().as_secs_f64(),
        if failed.is_empty() {
            String::new()
        } else {
            format!(" (failed: {})", failed.join(", "))
        }
    );
    if !failed.is_empty() {
        std::process::exit(1);
    }
}

/// Wait until `f` holds, polling kubectl-style checks (test scaffolding
/// only: scaffold itself watches).
pub fn eventually(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The repository root (for scenarios and kustomize trees).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}
