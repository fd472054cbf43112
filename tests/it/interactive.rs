//! The REPL and breakpoints driven through a pseudo-terminal.

use crate::util::Project;
use expectrl::{Eof, Session};
use std::time::Duration;

/// Type a line once a new prompt is up. The line editor drops typeahead when
/// it switches the terminal mode, and it redraws the prompt on every key, so
/// wait for what it prints once per new line: bracketed paste turned on,
/// then the prompt.
fn line(s: &mut Session, prompt: &str, text: &str) {
    s.expect("\x1b[?2004h").unwrap();
    s.expect(prompt).unwrap();
    s.send_line(text).unwrap();
}

fn spawn(p: &Project, args: &[&str]) -> Session {
    let mut c = p.std_cmd();
    c.args(args);
    let mut s = Session::spawn(c).expect("spawn in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    s
}

#[test]
fn repl_multiline_history_completion_help() {
    let p = Project::new();
    let mut s = spawn(&p, &["repl"]);
    // multi-line: an open block continues
    // a function typed over three lines, as in any language REPL
    line(&mut s, "scaffold> ", "fn thrice(x) {");
    s.send_line("x * 3").unwrap();
    s.send_line("}").unwrap();
    line(&mut s, "scaffold> ", "thrice(5)");
    s.expect("15").unwrap();
    line(&mut s, "scaffold> ", "wait_redy()");
    s.expect("did you mean 'wait_ready'?").unwrap();
    line(&mut s, "scaffold> ", "fn twice(x) {");
    s.send_line("  x * 2 }").unwrap();
    line(&mut s, "scaffold> ", "let v = twice(21);");
    line(&mut s, "scaffold> ", "v");
    s.expect("42").unwrap();
    // an unterminated string continues too
    line(&mut s, "scaffold> ", "let t = `a");
    s.send_line("b`; t.len()").unwrap();
    s.expect("3").unwrap();
    // completion of a host function name
    s.expect("\x1b[?2004h").unwrap();
    s.send("wait_un\t").unwrap();
    s.expect("wait_until").unwrap();
    s.send("\x15\r").unwrap(); // Ctrl-U clears the line
    line(&mut s, "scaffold> ", ":help sh_output");
    s.expect("sh_output(cmd: ?) -> String").unwrap();
    line(&mut s, "scaffold> ", ":vars");
    s.expect("let v = 42").unwrap();
    line(&mut s, "scaffold> ", ":quit");
    s.expect(Eof).unwrap();

    // history persists into a second session
    let hist = std::fs::read_to_string(p.path().join("state/scaffold/history")).unwrap();
    assert!(hist.contains("let v = twice(21);"), "{hist}");
    // the history is the user's alone: 0600 in a 0700 directory
    use std::os::unix::fs::PermissionsExt;
    let mode = |f: &str| {
        std::fs::metadata(p.path().join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("state/scaffold/history"), 0o600);
    assert_eq!(mode("state/scaffold"), 0o700);
    let mut s = spawn(&p, &["repl"]);
    s.expect("\x1b[?2004h").unwrap();
    s.send("\x1b[A\x1b[A").unwrap(); // up arrow twice: before `:quit` came `:vars`
    s.expect(":vars").unwrap();
    s.send("\r").unwrap();
    s.expect("(no variables)").unwrap(); // variables do not persist across sessions
    s.expect("\x1b[?2004h").unwrap();
    s.send("\x04").unwrap(); // Ctrl-D exits
    s.expect(Eof).unwrap();
}

#[test]
fn repl_ctrl_c_interrupts_a_running_call() {
    let p = Project::new();
    p.file("lib.rhai", "fn from_file() { 7 }");
    let mut s = spawn(&p, &["repl"]);
    line(&mut s, "scaffold> ", "sleep(30); print(\"not reached\")");
    std::thread::sleep(Duration::from_millis(500));
    let t = std::time::Instant::now();
    s.send("\x03").unwrap();
    s.expect("interrupted").unwrap();
    assert!(t.elapsed() < Duration::from_secs(10));
    line(&mut s, "scaffold> ", "1 + 1");
    s.expect("2").unwrap();
    line(&mut s, "scaffold> ", ":load lib.rhai");
    line(&mut s, "scaffold> ", "from_file() * 6");
    s.expect("42").unwrap();
    line(&mut s, "scaffold> ", ":quit");
    s.expect(Eof).unwrap();
}

#[test]
fn breakpoint_sees_locals_and_continues() {
    let p = Project::new();
    p.file(
        "s.rhai",
        "let lb_ip = \"10.0.0.7\";\nlet n = 1;\nfn work(n) {\n    let local_value = n * 10;\n    breakpoint(\"inside work\");\n    local_value\n}\nlet r = work(4);\nprint(\"result=\" + r);\n",
    );
    let mut s = spawn(&p, &["script", "s.rhai"]);
    s.expect("[breakpoint] s.rhai:5: inside work").unwrap();
    s.expect("top-level ones").unwrap();
    line(&mut s, "(breakpoint) ", "local_value + 2");
    s.expect("42").unwrap();
    // the script's top-level variables too; the function's own shadow them
    line(&mut s, "(breakpoint) ", "lb_ip + \"/\" + n");
    s.expect("10.0.0.7/4").unwrap();
    line(&mut s, "(breakpoint) ", "local_value = 41");
    line(&mut s, "(breakpoint) ", ":vars");
    s.expect("local_value = 41").unwrap();
    s.expect("top level (as of the call):").unwrap();
    s.expect("lb_ip").unwrap();
    line(&mut s, "(breakpoint) ", "lb_ipp");
    s.expect("did you mean 'lb_ip'?").unwrap();
    line(&mut s, "(breakpoint) ", ":where");
    s.expect("work()").unwrap();
    line(&mut s, "(breakpoint) ", ":c");
    s.expect("result=41").unwrap();
    s.expect(Eof).unwrap();
}

#[test]
fn breakpoint_quit_runs_on_exit() {
    let p = Project::new();
    p.file(
        "s.rhai",
        "on_exit(|| write_file(\"exit.txt\", \"ran\"));\nlet x = 5;\nbreakpoint();\nwrite_file(\"after.txt\", \"no\");\n",
    );
    let mut s = spawn(&p, &["script", "s.rhai"]);
    line(&mut s, "(breakpoint) ", ":q");
    s.expect(Eof).unwrap();
    let st = s.get_process().wait().unwrap();
    assert!(format!("{st:?}").contains("130"), "{st:?}");
    assert!(p.path().join("exit.txt").exists());
    assert!(!p.path().join("after.txt").exists());
    assert_eq!(p.results()["outcome"], "interrupted");
}

#[test]
fn break_at_stops_once_per_execution_of_the_line() {
    let p = Project::new();
    p.file(
        "s.rhai",
        "let total = 0;\nfor i in 0..3 {\n    total += i; let dummy = i;\n}\nprint(\"total=\" + total);\n",
    );
    let mut s = spawn(&p, &["script", "s.rhai", "--break-at", "s.rhai:3"]);
    for want in ["0", "1", "2"] {
        s.expect("[breakpoint] s.rhai:3").unwrap();
        line(&mut s, "(breakpoint) ", "i");
        s.expect(want).unwrap();
        line(&mut s, "(breakpoint) ", "");
    }
    s.expect("total=3").unwrap();
    s.expect(Eof).unwrap();
}

#[test]
fn no_breakpoints_flag_skips_in_a_terminal() {
    let p = Project::new();
    p.file("s.rhai", "breakpoint(\"skip me\");\nprint(\"done\");\n");
    let mut s = spawn(&p, &["script", "s.rhai", "--no-breakpoints"]);
    s.expect("skip me").unwrap();
    s.expect("done").unwrap();
    s.expect(Eof).unwrap();
}

/// On a terminal a wait is one live line: what is pending and for how long.
#[test]
fn waiting_is_a_live_line_on_a_terminal() {
    use fakecluster::{FakeCluster, Options, MANUAL};
    let p = Project::new();
    let fc = FakeCluster::start(Options::default());
    fc.write_kubeconfig_to(&p.path().join("kubeconfig"))
        .unwrap();
    fc.seed(
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rules"}}),
    )
    .unwrap();
    fc.seed(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "slow", "namespace": "rules", "annotations": {MANUAL: "true"}},
        "spec": {"nodeName": "kind-control-plane", "containers": [{"name": "main", "image": "pause"}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}]}}))
        .unwrap();
    p.file(
        "w.rhai",
        r#"wait_ready(#{namespaces: ["rules"], kinds: ["pods"], timeout: 3});"#,
    );
    let mut s = spawn(&p, &["script", "w.rhai"]);
    s.expect("wait_ready: 1 of 1 not ready: pod rules/slow (")
        .unwrap();
    // indicatif's elapsed time at the end of the line
    s.expect("s]").unwrap();
    s.expect("timed out").unwrap();
    s.expect(Eof).unwrap();
}
