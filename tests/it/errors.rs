//! Error rendering: position, source line with caret, call stack.

use crate::util::{stable, Project};

fn run(p: &Project, file: &str) -> String {
    let out = p.cmd().args(["script", file]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stable(&out.stderr)
}

#[test]
fn syntax_error() {
    let p = Project::new();
    p.file("s.rhai", "let x = 1;\nlet y = (x + ;\n");
    insta::assert_snapshot!(run(&p, "s.rhai"));
}

#[test]
fn runtime_error_inside_functions() {
    let p = Project::new();
    p.file(
        "s.rhai",
        "fn inner(m) {\n    m.missing + 1\n}\nfn outer() {\n    inner(#{})\n}\nouter();\n",
    );
    insta::assert_snapshot!(run(&p, "s.rhai"));
}

#[test]
fn error_in_imported_module() {
    let p = Project::new();
    p.file(
        "lib.rhai",
        "fn fail(why) {\n    throw \"failed: \" + why;\n}\n",
    );
    p.file(
        "s.rhai",
        "import \"lib\" as lib;\n\nlib::fail(\"disk full\");\n",
    );
    insta::assert_snapshot!(run(&p, "s.rhai"));
}

#[test]
fn syntax_error_in_imported_module() {
    let p = Project::new();
    p.file("lib.rhai", "fn ok() { 1 }\nfn bad( {\n");
    p.file("s.rhai", "// uses lib\nimport \"lib\" as lib;\n");
    insta::assert_snapshot!(run(&p, "s.rhai"));
}

#[test]
fn host_function_error() {
    let p = Project::new();
    p.file(
        "s.rhai",
        "let code = 3;\nsh(\"echo first >&2; echo second >&2; exit \" + code);\n",
    );
    insta::assert_snapshot!(run(&p, "s.rhai"));
}

#[test]
fn unknown_function_at_runtime() {
    let p = Project::new();
    p.file("s.rhai", "let a = 1;\nwait_redy(a);\n");
    insta::assert_snapshot!(run(&p, "s.rhai"));
}
