//! The layers of docs/ARCHITECTURE.md, checked from the source: every
//! module of `src/` in a layer ([`LAYERS`]), imports only downwards, leaves
//! import nothing of the crate, and no import circle between files, in
//! `src/` and in `fakecluster/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir` with its module path (`k8s::ron::pod`).
fn modules(dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().unwrap() != "bin" {
                    stack.push(p);
                }
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(dir).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|s| s.to_string_lossy().to_string())
                .collect();
            if parts
                .last()
                .is_some_and(|l| l == "mod" || l == "lib" || l == "main")
            {
                parts.pop();
            }
            out.insert(parts.join("::"), p);
        }
    }
    out
}

/// The code of a file without comments, strings and `#[cfg(test)]` modules.
fn code(p: &Path) -> String {
    let text = std::fs::read_to_string(p).unwrap();
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .map(|l| {
            // drop string literals (paths in messages are not imports)
            let mut out = String::new();
            let mut in_str = false;
            let mut prev = ' ';
            for c in l.chars() {
                if c == '"' && prev != '\\' {
                    in_str = !in_str;
                } else if !in_str {
                    out.push(c);
                }
                prev = c;
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Words with `::` in a file, each with how many inline `mod x { }`
/// blocks it sits in (`super::` inside one refers to the file itself).
fn words(src: &str) -> Vec<(String, usize)> {
    let mut out = vec![];
    let mut inline: Vec<usize> = vec![]; // brace depth at which each inline mod opened
    let mut depth = 0usize;
    let mut word = String::new();
    let mut last_two: Vec<String> = vec![];
    for c in src.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            if word.contains("::") {
                out.push((word.clone(), inline.len()));
            }
            last_two.push(std::mem::take(&mut word));
            if last_two.len() > 2 {
                last_two.remove(0);
            }
        }
        match c {
            '{' => {
                depth += 1;
                if last_two.first().is_some_and(|w| w == "mod") {
                    inline.push(depth);
                }
                last_two.clear();
            }
            '}' => {
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                last_two.clear();
            }
            c if c.is_whitespace() => {}
            _ => last_two.clear(),
        }
    }
    out
}

/// Module paths a file refers to: `crate::a::b`, `super::x`, and its own
/// child modules (`child::x`), resolved to the longest known module.
fn references(module: &str, file: &Path, known: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let src = code(file);
    let here: Vec<&str> = if module.is_empty() {
        vec![]
    } else {
        module.split("::").collect()
    };
    let is_mod_rs = file
        .file_name()
        .is_some_and(|n| n == "mod.rs" || n == "lib.rs");
    let mut out = BTreeSet::new();
    for (w, inline) in words(&src) {
        let parts: Vec<&str> = w.split("::").filter(|s| !s.is_empty()).collect();
        let mut path: Vec<String> = vec![];
        let mut rest = &parts[..];
        match parts.first() {
            Some(&"crate") => rest = &parts[1..],
            Some(&"super") => {
                let mut n = 0usize;
                while rest.first() == Some(&"super") {
                    n += 1;
                    rest = &rest[1..];
                }
                let mut base = here.clone();
                for _ in 0..n.saturating_sub(inline) {
                    base.pop();
                }
                path = base.iter().map(|s| s.to_string()).collect();
            }
            Some(first) => {
                // a child module of this one
                if !is_mod_rs {
                    continue;
                }
                let mut child: Vec<String> = here.iter().map(|s| s.to_string()).collect();
                child.push(first.to_string());
                if !known.contains_key(&child.join("::")) {
                    continue;
                }
                path = here.iter().map(|s| s.to_string()).collect();
            }
            None => continue,
        }
        path.extend(rest.iter().map(|s| s.to_string()));
        // the longest known module prefix
        while !path.is_empty() && !known.contains_key(&path.join("::")) {
            path.pop();
        }
        let target = path.join("::");
        if target != module && known.contains_key(&target) {
            out.insert(target);
        }
    }
    out
}

fn graph(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let known = modules(dir);
    known
        .iter()
        .map(|(m, f)| (m.clone(), references(m, f, &known)))
        .collect()
}

/// Strongly connected components of two or more modules.
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // reachability is cheap at this size
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(n) = stack.pop() {
            for m in g.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for n in g.keys() {
        let r = reach(n);
        if !r.contains(n) {
            continue;
        }
        let mut scc: Vec<String> = r.iter().filter(|m| reach(m).contains(n)).cloned().collect();
        scc.sort();
        found.insert(scc);
    }
    found.into_iter().collect()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The layers of `src/`, bottom first (docs/ARCHITECTURE.md draws them):
/// a module may import its own layer and the ones below, never one above.
/// Leaves import nothing of the crate.
pub const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaves",
        &["stats", "util", "yaml", "paths", "secrets", "signals"],
    ),
    (
        "foundations",
        &[
            "net",
            "ui",
            "capture",
            "results",
            "exit",
            "interrupt",
            "shell",
            "kind",
            "lazyget",
            "cli",
        ],
    ),
    ("k8s", &["k8s"]),
    ("host", &["host"]),
    ("api", &["api"]),
    ("engine", &["engine"]),
    ("front ends", &["repl", "sweep", "report"]),
    ("cmd", &["cmd"]),
];

/// The layer number of a module path (`k8s::load::items` is in k8s).
fn layer_of(module: &str) -> Option<usize> {
    let area = module.split("::").next().unwrap_or("");
    LAYERS.iter().position(|(_, areas)| areas.contains(&area))
}

#[test]
fn layers_only_look_down() {
    let g = graph(&root().join("src"));
    let mut bad = vec![];
    for (m, refs) in &g {
        if m.is_empty() {
            continue; // lib.rs declares every module
        }
        let Some(from) = layer_of(m) else {
            bad.push(format!(
                "{m} is in no layer: add it to LAYERS and ARCHITECTURE.md"
            ));
            continue;
        };
        for r in refs {
            let Some(to) = layer_of(r) else { continue };
            let same_area = r.split("::").next() == m.split("::").next();
            if to > from || (from == 0 && !same_area) {
                bad.push(format!(
                    "{m} ({}) imports {r} ({})",
                    LAYERS[from].0, LAYERS[to].0
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "imports that run back up the layers:\n  {}",
        bad.join("\n  ")
    );
    // the checker itself sees imports: api uses k8s, cmd uses engine
    assert!(
        g["api::objects"].iter().any(|r| r.starts_with("k8s")),
        "{:?}",
        g["api::objects"]
    );
    assert!(
        g["cmd::script"].iter().any(|r| r.starts_with("engine")),
        "{:?}",
        g["cmd::script"]
    );
}

#[test]
fn no_import_circles() {
    for dir in ["src", "fakecluster/src"] {
        let c = circles(&graph(&root().join(dir)));
        assert!(
            c.is_empty(),
            "{dir}: modules that import each other:\n  {}",
            c.iter()
                .map(|x| x.join(" <-> "))
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
    // and the checker finds a circle when there is one
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.insert("a".into(), ["b".to_string()].into());
    g.insert("b".into(), ["a".to_string()].into());
    g.insert("c".into(), ["a".to_string()].into());
    assert_eq!(circles(&g), vec![vec!["a".to_string(), "b".to_string()]]);
}

/// docs/ARCHITECTURE.md's "Rhai name → wrapper → the work" table: every
/// function a script can call is in a row whose wrapper (the area's file)
/// defines it, and every file the table names exists.
#[test]
fn architecture_table_names_every_rhai_function() {
    let doc = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let start = doc
        .find("| Rhai functions | wrapper | does the work |")
        .unwrap();
    let rows: Vec<Vec<&str>> = doc[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    assert!(rows.len() > 10, "{rows:?}");
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let mut bad = vec![];
    for row in &rows {
        for path in ticked(row[1]).iter().chain(&ticked(row[2])) {
            let p = path.trim_end_matches('/');
            if (p.starts_with("src/") || p.starts_with("data/")) && !root().join(p).exists() {
                bad.push(format!("{p} does not exist"));
            }
        }
    }
    // `on_exit` and `breakpoint` are wrapped where the engine keeps their state
    let hooks = std::fs::read_to_string(root().join("src/engine/hooks.rs")).unwrap();
    for area in scaffold::engine::docs::collect() {
        let api = format!("src/api/{}.rs", area.area);
        let api_code = std::fs::read_to_string(root().join(&api)).unwrap();
        for f in &area.functions {
            let in_hooks = ["on_exit", "breakpoint"].contains(&f.name.as_str());
            let (wrapper, code) = match in_hooks {
                true => ("src/engine/hooks.rs".to_string(), &hooks),
                false => (api.clone(), &api_code),
            };
            if f.name == "to_string" || f.name == "to_debug" {
                continue;
            }
            let (name, shown) = match f.name.strip_prefix("get$") {
                Some(p) => (p.to_string(), format!(".{p}")),
                None => (f.name.clone(), f.name.clone()),
            };
            let listed = rows.iter().any(|r| {
                r[1] == format!("`{wrapper}`")
                    && ticked(r[0])
                        .iter()
                        .any(|n| *n == shown || *n == format!(".{name}"))
            });
            if !listed {
                bad.push(format!("{shown} ({wrapper}) is in no row"));
            }
            let defined = code.contains(&format!("name = \"{name}\""))
                || code.contains(&format!("get = \"{name}\""))
                || code.contains(&format!("fn {name}("));
            if !defined {
                bad.push(format!("{wrapper} does not define {name}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "docs/ARCHITECTURE.md:\n  {}",
        bad.join("\n  ")
    );
}

/// Functions longer than 80 lines (code; `#[cfg(test)]` modules left out)
/// in a source tree: (lines, file, name). A function ends at the first
/// line that is its indentation and `}`.
fn long_functions(dir: &Path) -> Vec<(usize, String, String)> {
    let mut out = vec![];
    for (_, file) in modules(dir) {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if l.starts_with("#[cfg(test)]") {
                break;
            }
            let t = l.trim_start();
            let ind = l.len() - t.len();
            let t = t
                .trim_start_matches("pub(crate) ")
                .trim_start_matches("pub(super) ")
                .trim_start_matches("pub ")
                .trim_start_matches("async ");
            let Some(rest) = t.strip_prefix("fn ") else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let close = format!("{}}}", " ".repeat(ind));
            if let Some(j) = lines[i + 1..].iter().position(|x| *x == close) {
                if j + 2 > 80 {
                    let rel = file.strip_prefix(root()).unwrap_or(&file);
                    out.push((j + 2, rel.display().to_string(), name));
                }
            }
        }
    }
    out.sort();
    out
}

/// No function over 80 lines in `src/`, `fakecluster/src` and `bench/src`
/// but one that is only data: the flow-control metrics the fake serves.
#[test]
fn functions_fit_on_a_screen() {
    let known: &[&str] = &["fakecluster/src/metrics.rs flowcontrol"];
    let mut bad = vec![];
    for dir in ["src", "fakecluster/src", "bench/src"] {
        for (n, file, name) in long_functions(&root().join(dir)) {
            if !known.contains(&format!("{file} {name}").as_str()) {
                bad.push(format!("{file}: fn {name} is {n} lines"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "split these functions (at most 80 lines each):\n  {}",
        bad.join("\n  ")
    );
    // the scan sees long functions: the data table is still there
    let fake = long_functions(&root().join("fakecluster/src"));
    assert!(fake
        .iter()
        .any(|(_, f, n)| f.ends_with("metrics.rs") && n == "flowcontrol"));
}
