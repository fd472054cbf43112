//! The real-cluster suite: every host function and subcommand that talks
//! to a cluster, through the real binary, against a real Kubernetes
//! (the kit of ../shared/realk8s in CI). Its own runner (harness = false):
//! tests run one at a time (the kit has one node), each must leave nothing
//! behind (scaffold's labelled objects, test namespaces, node labels), and
//! the last line counts passes, failures and skips.
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

use std::collections::BTreeMap;
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

    /// The only node of the kit (the first node of any cluster).
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

/// What the cluster holds that a test may leave behind.
fn state(ctx: &Ctx) -> (Vec<String>, BTreeMap<String, String>) {
    let mut left = vec![];
    let labelled = ctx.kubectl(&[
        "get",
        "pods,configmaps,secrets,persistentvolumeclaims,services,deployments,jobs,daemonsets,statefulsets",
        "-A",
        "-l",
        "app.kubernetes.io/managed-by=scaffold",
        "-o",
        "name",
    ]);
    left.extend(labelled.lines().map(|l| format!("labelled {l}")));
    let namespaces = ctx.kubectl(&["get", "namespaces", "-o", "name"]);
    left.extend(
        namespaces
            .lines()
            .filter(|l| l.starts_with("namespace/scaffold-e2e"))
            .map(|l| l.to_string()),
    );
    let crds = ctx.kubectl(&["get", "crd", "-o", "name"]);
    left.extend(
        crds.lines()
            .filter(|l| l.contains("scaffold.test"))
            .map(|l| l.to_string()),
    );
    let labels = ctx.kubectl(&[
        "get",
        "nodes",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}={.metadata.labels}{\"\\n\"}{end}",
    ]);
    let labels = labels
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(n, l)| (n.to_string(), l.to_string()))
        .collect();
    (left, labels)
}

/// Delete what a failed test left, so the next one starts clean.
fn sweep(ctx: &Ctx, left: &[String]) {
    for l in left {
        let what = l.trim_start_matches("labelled ");
        let (kind, rest) = what.split_once('/').unwrap_or((what, ""));
        if kind == "namespace" {
            let _ =
                ctx.kubectl_out(&["delete", "namespace", rest, "--wait=true", "--timeout=120s"]);
        }
    }
    let _ = ctx.kubectl_out(&[
        "delete",
        "pods,configmaps,secrets,persistentvolumeclaims",
        "-A",
        "-l",
        "app.kubernetes.io/managed-by=scaffold",
        "--wait=true",
        "--timeout=60s",
    ]);
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
        .ok_or("SCAFFOLD_E2E_KUBECONFIG is not set: give the kubeconfig of a throwaway cluster (in CI: ../shared/realk8s, see README.md \"Contributing\")")?;
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
            println!("SKIP: real-cluster suite ({why})");
            println!("e2e: 0 passed, 0 failed, {} skipped", tests().len());
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
        let (_, labels_before) = state(&ctx);
        let t = Instant::now();
        print!("test {name} ... ");
        let r = std::panic::catch_unwind(|| f(&ctx));
        let (left, labels_after) = state(&ctx);
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
        if problem.is_none() && !left.is_empty() {
            problem = Some(format!("left behind in the cluster: {}", left.join(", ")));
        }
        if problem.is_none() && labels_before != labels_after {
            problem = Some(format!(
                "node labels changed: {labels_before:?} -> {labels_after:?}"
            ));
        }
        match problem {
            Some(p) => {
                println!("FAILED [{secs:.1}s]\n  {}", p.replace('\n', "\n  "));
                failed.push(name);
                sweep(&ctx, &left);
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
