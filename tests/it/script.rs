//! `scaffold script`: exit codes, params, args, artifacts, results.json.

use crate::util::Project;
use predicates::prelude::*;

/// scaffold's options anywhere, like cobra and clap users expect; words
/// that are not options (negative numbers too) are the script's; `--` ends
/// option parsing; an unknown option is a usage error that says how to
/// pass it to the script.
#[test]
fn options_anywhere_and_double_dash() {
    let p = Project::new();
    p.file("a.rhai", r#"print(`args=${args()} x=${param("x", "")}`);"#);
    p.cmd()
        .args([
            "script",
            "a.rhai",
            "one",
            "--set",
            "x=1",
            "-5",
            "--no-breakpoints",
        ])
        .args(["--artifacts", "out", "--", "--own-flag", "--", "two"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            r#"args=["one", "-5", "--own-flag", "--", "two"] x=1"#,
        ));
    assert!(p.path().join("out/latest/results.json").exists());
    p.cmd()
        .args(["script", "a.rhai", "one", "--bogus"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unexpected argument '--bogus'"))
        .stderr(predicate::str::contains("use '-- --bogus'"));
}

#[test]
fn params_args_and_results() {
    let p = Project::new();
    p.file(
        "s.rhai",
        r#"
        let runs = param("runs", 1);
        if type_of(runs) != "i64" { throw "runs should be an int"; }
        print("name=" + param("name", "x") + " runs=" + runs + " args=" + args());
        print("json=" + params().list[1]);
        record("answer", 42, #{unit: "n", tags: #{k: "v"}});
        record("lat", 1.5); record("lat", 2.5);
        step("a step", || 7);
        "#,
    );
    p.cmd()
        .args(["script", "s.rhai", "--set", "name=bob", "--set", "runs=5"])
        .args([
            "--set-json",
            r#"list=[1,"two"]"#,
            "pos1",
            "--",
            "--flag-like",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            r#"name=bob runs=5 args=["pos1", "--flag-like"]"#,
        ))
        .stdout(predicate::str::contains("json=two"));
    let r = p.results();
    assert_eq!(r["schema"], 1);
    assert_eq!(r["outcome"], "ok");
    assert_eq!(r["params"]["name"], "bob");
    assert_eq!(r["args"][1], "--flag-like");
    assert_eq!(r["records"]["answer"]["value"], 42);
    assert_eq!(r["records"]["answer"]["unit"], "n");
    assert_eq!(r["records"]["answer"]["tags"]["k"], "v");
    assert_eq!(
        r["records"]["lat"]["samples"],
        serde_json::json!([1.5, 2.5])
    );
    assert_eq!(r["steps"][0]["name"], "a step");
    assert_eq!(r["steps"][0]["outcome"], "ok");
    assert!(r["end"].is_string() && r["start"].is_string());
    assert_eq!(
        r["environment"]["scaffold_version"],
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn bad_param_type_names_the_fix() {
    let p = Project::new();
    p.file("s.rhai", r#"param("runs", 3);"#);
    p.cmd()
        .args(["script", "s.rhai", "--set", "runs=many"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "param 'runs': expected an integer",
        ))
        .stderr(predicate::str::contains("--set runs="));
}

#[test]
fn artifacts_dir_per_run_and_flag() {
    let p = Project::new();
    p.file(
        "sub/s.rhai",
        r#"write_file(artifacts_dir() + "/out.txt", "x");"#,
    );
    // default: artifacts/ next to the script
    p.cmd().args(["script", "sub/s.rhai"]).assert().success();
    p.cmd().args(["script", "sub/s.rhai"]).assert().success();
    let parent = p.path().join("sub/artifacts");
    let runs: Vec<_> = std::fs::read_dir(&parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "latest")
        .collect();
    assert_eq!(runs.len(), 2, "two runs, two directories: {runs:?}");
    assert!(parent.join("latest/out.txt").is_file());
    assert_eq!(p.results_in(&parent)["outcome"], "ok");
    // --artifacts DIR
    p.cmd()
        .args(["script", "sub/s.rhai", "--artifacts", "elsewhere"])
        .assert()
        .success();
    assert!(p.path().join("elsewhere/latest/out.txt").is_file());
}

#[test]
fn failure_still_writes_results_and_runs_on_exit() {
    let p = Project::new();
    p.file(
        "s.rhai",
        r#"
        on_exit(|| write_file("first.txt", "1"));
        on_exit(|| { if exists("first.txt") { throw "order"; } write_file("second.txt", "2"); });
        step("will fail", || sh("echo oops >&2; exit 4"));
        "#,
    );
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("exited with code 4"))
        .stderr(predicate::str::contains("oops"));
    assert!(
        p.path().join("second.txt").exists(),
        "last registered runs first"
    );
    assert!(p.path().join("first.txt").exists());
    let r = p.results();
    assert_eq!(r["outcome"], "error");
    assert!(r["error"].as_str().unwrap().contains("exited with code 4"));
    assert_eq!(r["steps"][0]["outcome"], "error");
}

#[test]
fn usage_errors_exit_2() {
    let p = Project::new();
    p.cmd().args(["script", "missing.rhai"]).assert().code(2);
    p.cmd().args(["nonsense"]).assert().code(2);
    p.file("s.rhai", "1");
    p.cmd()
        .args(["script", "s.rhai", "--set", "novalue"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("expected KEY=VALUE"));
    p.cmd()
        .args(["script", "s.rhai", "--break-at", "s.rhai"])
        .assert()
        .code(2);
}

/// Boolean flags as cobra takes them: bare, or `=true|false` (the value
/// only with `=`, so the next word stays an argument).
#[test]
fn boolean_flags_like_cobra() {
    let p = Project::new();
    p.file("a.rhai", r#"print(`args=${args()}`);"#);
    p.cmd()
        .args(["script", "a.rhai", "--no-breakpoints", "one"])
        .assert()
        .success()
        .stdout(predicate::str::contains(r#"args=["one"]"#));
    p.cmd()
        .args(["script", "a.rhai", "--no-breakpoints=false", "two"])
        .assert()
        .success()
        .stdout(predicate::str::contains(r#"args=["two"]"#));
    // parsed (the error is about the missing cluster, not the flags)
    for flags in [
        &["--pvc", "--auto-copy", "--manage-pvc=false"][..],
        &[
            "--pvc=true",
            "--auto-copy=false",
            "--nsenter",
            "--show-events=false",
        ][..],
    ] {
        p.cmd()
            .env("KUBECONFIG", "/nonexistent")
            .args(["ron", "--node", "n"])
            .args(flags)
            .args(["--", "true"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("no kubeconfig found"));
    }
    p.cmd()
        .args(["ron", "--node", "n", "--pvc=maybe", "--", "true"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'maybe'"));
}

#[test]
fn sigint_runs_on_exit_writes_results_and_exits_130() {
    let p = Project::new();
    p.file(
        "s.rhai",
        r#"
        on_exit(|| write_file("cleaned.txt", "yes"));
        let bg = sh_bg("sleep 60", #{quiet: true});
        print("ready");
        step("long", || sleep(60));
        "#,
    );
    let mut child = p
        .std_cmd()
        .args(["script", "s.rhai"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let t = std::time::Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(t.elapsed() < std::time::Duration::from_secs(10));
    assert!(p.path().join("cleaned.txt").exists(), "on_exit ran");
    let r = p.results();
    assert_eq!(r["outcome"], "interrupted");
    assert_eq!(r["steps"][0]["outcome"], "interrupted");
}

#[test]
fn sh_variants() {
    let p = Project::new();
    p.file("data/x.txt", "hi");
    p.file(
        "s.rhai",
        r#"
        // runs in the script's directory
        let r = sh("cat data/x.txt", #{quiet: true});
        if r.stdout != "hi" { throw "cwd: " + r.stdout; }
        // argv: no shell interpretation
        let o = sh_output(["echo", "$HOME;x"]);
        if o != "$HOME;x" { throw "argv: " + o; }
        // check: false returns the code
        let f = sh("exit 7", #{check: false});
        if f.code != 7 { throw "code"; }
        // env and stdin
        let e = sh("printf %s \"$FOO\"; cat", #{env: #{FOO: "bar"}, stdin: "-in", quiet: true});
        if e.stdout != "bar-in" { throw "env/stdin: " + e.stdout; }
        // timeout is an error
        let t = sh("sleep 5", #{timeout: 0.2, check: false});
        // background process
        let bg = sh_bg(["sh", "-c", "echo bg-out; sleep 30"], #{quiet: true});
        if !bg.running() { throw "not running"; }
        sleep(0.3);
        bg.kill();
        let w = bg.wait();
        if !w.stdout.contains("bg-out") { throw "bg: " + w.stdout; }
        if bg.running() { throw "still running"; }
        print("which sh: " + which("sh"));
        if which("definitely-not-a-tool") != () { throw "which"; }
        "#,
    );
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("which sh: /"));
}

#[test]
fn sh_timeout_error_says_so() {
    let p = Project::new();
    p.file("s.rhai", r#"sh("sleep 5", #{timeout: 0.2});"#);
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("timed out after"));
}

#[test]
fn helpers_files_json_yaml_retry_wait_until() {
    let p = Project::new();
    p.file(
        "s.rhai",
        r#"
        let y = parse_yaml("a: 1\n---\nb: [x, y]\n");
        if y.len() != 2 || y[1].b[1] != "y" { throw "yaml"; }
        let j = parse_json(to_json(#{n: 1.5, l: [1, 2]}));
        if j.n != 1.5 || j.l[1] != 2 { throw "json"; }
        if !to_yaml(#{k: "v"}).contains("k: v") { throw "to_yaml"; }
        mkdir("d/e");
        write_file("d/e/f.txt", "content");
        if read_file("d/e/f.txt") != "content" || !exists("d/e") { throw "files"; }
        let n = 0;
        let v = retry(3, 0.01, || { n += 1; if n < 3 { throw "not yet"; } n });
        if v != 3 { throw "retry " + v; }
        let m = 0;
        let w = wait_until(5, 0.01, || { m += 1; m >= 4 });
        if !w { throw "wait_until"; }
        if env("SCAFFOLD_TEST_VAR") != "tv" || env("NOPE_NOT_SET", "dflt") != "dflt" { throw "env"; }
        "#,
    );
    p.cmd()
        .args(["script", "s.rhai"])
        .env("SCAFFOLD_TEST_VAR", "tv")
        .assert()
        .success();
}

#[test]
fn retry_gives_up_with_count_and_last_error() {
    let p = Project::new();
    p.file("s.rhai", r#"retry(3, 0, || throw "boom");"#);
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("gave up after 3 attempts"))
        .stderr(predicate::str::contains("boom"));
}

#[test]
fn unknown_option_lists_valid_keys() {
    let p = Project::new();
    p.file("s.rhai", r#"sh("true", #{chek: false});"#);
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "unknown option 'chek' (did you mean 'check'?); valid: check, cwd, env, timeout, quiet, stdin",
        ));
}

#[test]
fn verbose_traces_host_calls() {
    let p = Project::new();
    p.file(
        "s.rhai",
        r#"sh("true"); sleep(0); let m = param("mode", "xdp"); let h = env("HOME");
           step("phase", || parse_json("[1]")); let s = summary([1, 2]);"#,
    );
    p.cmd()
        .args(["-v", "script", "s.rhai"])
        .assert()
        .success()
        .stderr(predicate::str::contains("+ sh(true) ["))
        .stderr(predicate::str::contains("+ sleep(0) ["))
        .stderr(predicate::str::contains("+ param(\"mode\", \"xdp\") ["))
        .stderr(predicate::str::contains("+ env(\"HOME\") ["))
        .stderr(predicate::str::contains("+ parse_json(3 bytes) ["))
        .stderr(predicate::str::contains("+ step(\"phase\") ["))
        .stderr(predicate::str::contains("+ summary(2 values) ["));
    // without -v nothing is traced
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stderr(predicate::str::contains("+ ").not());
}

#[test]
fn stdlib_is_embedded_and_overridable() {
    let p = Project::new();
    p.file("s.rhai", r#"import "common" as c; c::banner("hi");"#);
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stderr(predicate::str::contains("==== hi ===="));
    p.file(
        "mylib/common.rhai",
        r#"fn banner(t) { print("override " + t); }"#,
    );
    p.cmd()
        .args(["script", "s.rhai"])
        .env("SCAFFOLD_STDLIB", p.path().join("mylib"))
        .assert()
        .success()
        .stdout(predicate::str::contains("override hi"));
    // a module next to the script wins over stdlib
    p.file("common.rhai", r#"fn banner(t) { print("local " + t); }"#);
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("local hi"));
}

#[test]
fn no_kubeconfig_needed_without_cluster_calls() {
    let p = Project::new();
    p.file("s.rhai", r#"print("no cluster here");"#);
    p.cmd().args(["script", "s.rhai"]).assert().success();
}

#[test]
fn hello_scenario_runs() {
    let p = Project::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    p.cmd()
        .args(["script"])
        .arg(root.join("scenarios/hello/main.rhai"))
        .args(["--set", "runs=2", "--no-breakpoints", "--artifacts"])
        .arg(p.path().join("art"))
        .assert()
        .success()
        .stderr(predicate::str::contains("[breakpoint]"))
        .stderr(predicate::str::contains("skipped"));
    let r = p.results_in(&p.path().join("art"));
    assert_eq!(
        r["records"]["run_seconds"]["samples"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(r["records"]["kernel"]["value"].is_string());
}

/// docs/functions.md is `scaffold docs`: the reference cannot drift from
/// the functions scripts really have.
#[test]
fn checked_in_reference_is_current() {
    let p = Project::new();
    let out = p.cmd().args(["docs"]).output().unwrap();
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/functions.md");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        generated == checked_in,
        "docs/functions.md is out of date: run `cargo run -- docs > docs/functions.md` and commit it"
    );
}

#[test]
fn docs_and_completion() {
    let p = Project::new();
    p.cmd()
        .args(["docs"])
        .assert()
        .success()
        .stdout(predicate::str::contains("## Script basics"))
        .stdout(predicate::str::contains(
            "### `sh(cmd: ?, options: Map) -> Map`",
        ))
        .stdout(predicate::str::contains("`check` (default true"));
    let out = p.cmd().args(["docs", "--format", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["functions"].as_array().unwrap())
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for want in [
        "sh",
        "step",
        "record",
        "param",
        "breakpoint",
        "on_exit",
        "current_context",
    ] {
        assert!(names.contains(&want), "{want} missing from docs");
    }
    p.cmd()
        .args(["completion", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("_scaffold"));
}

/// `http`: method, body and headers reach the server; a non-2xx status is an
/// error unless `check: false`.
#[test]
fn http_requests() {
    let server = crate::util::TestHttp::start(|_, path, _| match path {
        "/missing" => (404, "nope".into()),
        _ => (200, "pushed".into()),
    });
    let port = server.port;
    let p = Project::new();
    p.file(
        "h.rhai",
        &format!(
            r#"
            let r = http("PUT", "http://127.0.0.1:{port}/metrics/job/x", #{{body: "m 1\n", headers: #{{"X-Test": "yes"}}}});
            print("status=" + r.status + " body=" + r.body);
            print("soft=" + http("GET", "http://127.0.0.1:{port}/a", #{{check: false}}).status);
            http("GET", "http://127.0.0.1:{port}/missing");
            "#
        ),
    );
    let out = p.cmd().args(["script", "h.rhai"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(s.contains("status=200 body=pushed"), "{s}{e}");
    assert!(s.contains("soft=200"), "{s}");
    assert!(e.contains("answered 404: nope"), "{e}");
    let seen = server.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen[0].raw.starts_with("PUT /metrics/job/x HTTP/1.1"),
        "{}",
        seen[0].raw
    );
    assert!(
        seen[0].raw.to_lowercase().contains("x-test: yes") && seen[0].body == "m 1\n",
        "{}",
        seen[0].raw
    );
}

/// `summary` gives the statistics `scaffold report` prints.
#[test]
fn summary_of_numbers() {
    let p = Project::new();
    p.file(
        "s.rhai",
        r#"
        let s = summary([4, 1, 3, 2.0, 5]);
        print(`n=${s.n} mean=${s.mean} p50=${s.p50} p95=${s.p95} ci=${s.ci95.to_string().sub_string(0, 6)}`);
        print(`one=${summary([7]).ci95 == ()} empty=${summary([]).n}`);
        summary([1, "x"]);
        "#,
    );
    let out = p.cmd().args(["script", "s.rhai"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        s.contains("n=5 mean=3.0 p50=3.0 p95=4.8 ci=1.9629"),
        "{s}{e}"
    );
    assert!(s.contains("one=true empty=0"), "{s}");
    assert!(
        e.contains("summary: the array must hold numbers, found a string"),
        "{e}"
    );
}

/// A secret parameter reaches the script but never what scaffold writes:
/// output, `-v` traces, errors, results.json (params and step errors).
#[test]
fn secret_parameters_are_never_written() {
    let p = Project::new();
    let secret = "hunter2-Tok3n";
    p.file(
        "s.rhai",
        r#"
        let t = params().tok;
        print("length " + t.len());
        step("leak", || sh("echo using " + t + "; exit 3"));
        "#,
    );
    for how in [
        vec!["--set-secret".to_string(), format!("tok={secret}")],
        vec!["--set-secret".into(), "tok".into()],
    ] {
        let out = p
            .cmd()
            .env("tok", secret)
            .args(["-v", "script", "s.rhai"])
            .args(&how)
            .output()
            .unwrap();
        let (so, se) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(1), "{se}");
        assert!(
            so.contains("length 13"),
            "the script reads the real value: {so}"
        );
        assert!(!so.contains(secret) && !se.contains(secret), "{so}\n{se}");
        assert!(
            so.contains("using <secret>") && se.contains("<secret>"),
            "{so}\n{se}"
        );
        let text = std::fs::read_to_string(p.path().join("artifacts/latest/results.json")).unwrap();
        assert!(!text.contains(secret), "{text}");
        let r = p.results();
        assert_eq!(r["params"]["tok"], "<secret>");
        assert!(
            r["steps"][0]["error"]
                .as_str()
                .unwrap()
                .contains("<secret>"),
            "{r}"
        );
    }
    p.cmd()
        .args(["script", "s.rhai", "--set-secret", "tok=abc"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("shorter than 4 characters"))
        .stderr(predicate::str::contains("abc").not());
    p.cmd()
        .env_remove("NOPE_UNSET")
        .args(["script", "s.rhai", "--set-secret", "NOPE_UNSET"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no environment variable NOPE_UNSET",
        ));
}
