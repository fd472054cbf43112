//! Kubeconfig resolution order and the no-kubeconfig message, through the binary.

use crate::util::Project;
use predicates::prelude::*;

fn kubeconfig(context: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: {context}\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: {context}\n  context:\n    cluster: c\n    user: u\n    namespace: ns-{context}\n- name: other\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: secret-token-value\n"
    )
}

fn context_of(p: &Project, extra: &[&str], env: Option<&str>) -> String {
    let mut c = p.cmd();
    c.args(extra).args(["script", "s.rhai"]);
    if let Some(e) = env {
        c.env("KUBECONFIG", e);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn resolution_order() {
    let p = Project::new();
    p.file("s.rhai", "print(current_context());");
    p.file("home/.kube/config", &kubeconfig("from-home"));
    assert_eq!(context_of(&p, &[], None), "from-home");
    p.file("kubeconfig", &kubeconfig("from-cwd"));
    assert_eq!(context_of(&p, &[], None), "from-cwd");
    let env = p.file("env.yaml", &kubeconfig("from-env"));
    assert_eq!(context_of(&p, &[], Some(env.to_str().unwrap())), "from-env");
    let flag = p.file("flag.yaml", &kubeconfig("from-flag"));
    assert_eq!(
        context_of(
            &p,
            &["-k", flag.to_str().unwrap()],
            Some(env.to_str().unwrap())
        ),
        "from-flag"
    );
    assert_eq!(context_of(&p, &["--context", "other"], None), "other");
}

#[test]
fn no_kubeconfig_lists_every_place() {
    let p = Project::new();
    p.file("s.rhai", "print(current_context());");
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no kubeconfig found: tried"))
        .stderr(predicate::str::contains("KUBECONFIG (unset)"))
        .stderr(predicate::str::contains("./kubeconfig"))
        .stderr(predicate::str::contains("~/.kube/config"))
        .stderr(predicate::str::contains("in-cluster"));
}

#[test]
fn children_get_kubeconfig_and_context() {
    let p = Project::new();
    let kc = p.file("kc.yaml", &kubeconfig("main"));
    p.file(
        "s.rhai",
        r#"print(sh_output("echo $KUBECONFIG")); print(sh_output("cat ${KUBECONFIG%%:*}"));"#,
    );
    let out = p
        .cmd()
        .args([
            "-k",
            kc.to_str().unwrap(),
            "--context",
            "other",
            "script",
            "s.rhai",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    let first = s.lines().next().unwrap();
    assert!(first.ends_with(&format!(":{}", kc.display())), "{first}");
    assert!(s.contains("current-context: \"other\""), "{s}");
    assert!(
        !s.contains("secret-token-value"),
        "the overlay copies no secrets"
    );
}

#[test]
fn secrets_never_printed_verbose() {
    let p = Project::new();
    let kc = p.file("kc.yaml", &kubeconfig("main"));
    p.file("s.rhai", "print(current_context());");
    let out = p
        .cmd()
        .args(["-v", "-k", kc.to_str().unwrap(), "script", "s.rhai"])
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("secret-token-value"));
}
