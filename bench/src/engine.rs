//! Engine start, memory, and `scaffold check` of every script.

use crate::common::*;
use serde_json::json;
use std::path::Path;
use std::process::Command;

pub fn bench_engine(a: &Args, bin: &Path) -> Vec<Row> {
    let dir = tempfile::tempdir().unwrap();
    let (script, preamble) = engine_scripts(dir.path());
    let n = if a.quick { 10 } else { 20 };
    let (mut ours, mut rss, mut peer) = (vec![], vec![], vec![]);
    for _ in 0..n {
        let (s, r, ok) = run_measured(
            Command::new(bin)
                .args(["script"])
                .arg(&script)
                .args(["--no-breakpoints", "--artifacts"])
                .arg(dir.path().join("art")),
        );
        assert!(ok, "scaffold failed on the engine benchmark script");
        ours.push(s * 1000.0);
        rss.push(r);
        let (s, _, _) = run_measured(Command::new("bash").arg(&preamble).current_dir(dir.path()));
        peer.push(s * 1000.0);
    }
    let o = stats(ours);
    let r = stats(rss);
    let p = stats(peer);
    let ratio = o.median / p.median;
    let mut rows = vec![Row {
        name: "engine_start",
        what: "scaffold script (params, step, record, stdlib import, breakpoint) vs bash running the original preamble".into(),
        unit: "ms",
        target: Some((format!("<= 15 ms (median {:.1})", o.median), o.median <= 15.0)),
        guard: Some(("ratio to bash < 20".into(), ratio < 20.0)),
        ours: o,
        peer: Some(("bash preamble".into(), p)),
        extra: json!({}),
    }];
    rows.push(Row {
        name: "engine_rss",
        what: "peak RSS of the same run".into(),
        unit: "MiB",
        target: Some((
            format!("<= 20 MiB (median {:.1})", r.median),
            r.median <= 20.0,
        )),
        guard: None,
        ours: r,
        peer: None,
        extra: json!({}),
    });
    rows.push(check_row(bin, n));
    rows.push(record_row(bin, dir.path(), if a.quick { 3 } else { 5 }));
    rows
}

/// record_100k: 100,000 single `record` calls of one name in one script
/// (the series grows in place), the whole run with results.json.
fn record_row(bin: &Path, dir: &Path, n: usize) -> Row {
    let script = dir.join("record.rhai");
    std::fs::write(&script, "for i in 0..100000 { record(\"x\", i); }\n").unwrap();
    let mut t = vec![];
    for _ in 0..n {
        let (s, _, ok) = run_measured(
            Command::new(bin)
                .arg("script")
                .arg(&script)
                .args(["--no-breakpoints", "--artifacts"])
                .arg(dir.join("art")),
        );
        assert!(ok, "scaffold failed on the record benchmark script");
        t.push(s);
    }
    let o = stats(t);
    Row {
        name: "record_100k",
        what: "100,000 single record() calls of one name, whole run with results.json".into(),
        unit: "s",
        target: Some((format!("<= 1 s (median {:.2})", o.median), o.median <= 1.0)),
        guard: Some(("< 2 s".into(), o.median < 2.0)),
        ours: o,
        peer: None,
        extra: json!({}),
    }
}

/// The hello scenario without its sh steps (pure engine work), and the
/// original scenarios' bash preamble.
fn engine_scripts(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    // the hello scenario without its sh steps: pure engine work
    let script = dir.join("pure.rhai");
    std::fs::write(
        &script,
        r#"import "common" as common;
let name = param("name", "world");
let runs = param("runs", 3);
common::banner("hello, " + name);
for i in 0..runs { step("run " + i, || i * 2); record("value", i, #{unit: "n"}); }
breakpoint("skipped");
"#,
    )
    .unwrap();
    let preamble = dir.join("preamble.sh");
    std::fs::write(
        &preamble,
        r#"set -e
SCENARIO_DIR=$(pwd)
ARTIFACTS="$SCENARIO_DIR/artifacts"
ROOT_DIR=$(realpath "$SCENARIO_DIR/..")
TOOLKIT="$ROOT_DIR/toolkit"
SCRIPT="$ROOT_DIR/scripts"
KUSTOMIZE="$ROOT_DIR/kustomize"
mkdir -p "$ARTIFACTS"
breakpoint() { echo "breakpoint"; }
for i in 1 2 3; do echo "run $i" > /dev/null; done
"#,
    )
    .unwrap();
    (script, preamble)
}

/// check_all: `scaffold check` of every script in the repository.
fn check_row(bin: &Path, n: usize) -> Row {
    let mut files = vec![];
    for d in ["scenarios", "stdlib"] {
        collect_rhai(&root().join(d), &mut files);
    }
    let mut t = vec![];
    for _ in 0..n {
        let (s, _, ok) = run_measured(Command::new(bin).arg("check").args(&files));
        assert!(ok, "scaffold check failed");
        t.push(s * 1000.0);
    }
    let c = stats(t);
    Row {
        name: "check_all",
        what: format!("scaffold check of all {} repository scripts", files.len()),
        unit: "ms",
        target: Some((
            format!("<= 50 ms (median {:.1})", c.median),
            c.median <= 50.0,
        )),
        guard: None,
        ours: c,
        peer: None,
        extra: json!({}),
    }
}
