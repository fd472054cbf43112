//! `scaffold check`: compile without running, unknown functions.

use crate::util::Project;
use predicates::prelude::*;

#[test]
fn every_repository_script_checks() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["scenarios", "stdlib"] {
        for e in walk(&root.join(dir)) {
            if e.extension().is_some_and(|x| x == "rhai") {
                files.push(e);
            }
        }
    }
    assert!(files.len() >= 2);
    let p = Project::new();
    p.cmd().arg("check").args(&files).assert().success();
}

fn walk(d: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "artifacts") {
                    continue;
                }
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn unknown_functions_and_syntax_errors_are_reported_with_positions() {
    let p = Project::new();
    p.file("lib.rhai", "fn helper() { 1 }\nfn broken( { }\n");
    p.file(
        "a.rhai",
        "let f = |x| x;\nf(1);\nwait_untl(1, 1, || true);\nimport \"common\" as c;\nc::baner(\"x\");\n",
    );
    p.file("b.rhai", "import \"lib\" as l;\n");
    p.file("c.rhai", "import \"nothere\" as n;\n");
    let out = p
        .cmd()
        .args(["check", "a.rhai", "b.rhai", "c.rhai"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("a.rhai:3:1: unknown function 'wait_untl'"),
        "{err}"
    );
    assert!(err.contains("did you mean 'wait_until'?"), "{err}");
    assert!(
        err.contains("a.rhai:5:4: module 'c' has no function 'baner'"),
        "{err}"
    );
    assert!(
        err.contains("lib.rhai:2:"),
        "syntax error in an import: {err}"
    );
    assert!(
        err.contains("c.rhai:1:1: module 'nothere' not found"),
        "{err}"
    );
    assert!(
        !err.contains("'f'"),
        "closure variables are callable: {err}"
    );
}

#[test]
fn clean_script_passes() {
    let p = Project::new();
    p.file(
        "ok.rhai",
        "fn g(x) { x * 2 }\nlet v = g(2);\nv.to_string();\nsh(\"true\");\n",
    );
    p.cmd()
        .args(["check", "ok.rhai"])
        .assert()
        .success()
        .stderr(predicate::str::contains("ok: 1 file(s) checked"));
}
