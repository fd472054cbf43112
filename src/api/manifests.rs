//! Manifest text for apply/delete: YAML text, a file, a directory of YAML
//! files, or a kustomization rendered with `kubectl kustomize`.

use crate::api::call::{error, RResult};
use crate::host::Host;
use crate::k8s::manifest::{self, Doc};
use std::path::Path;

/// Render a kustomization with `kubectl kustomize` (or `kustomize build`).
pub fn kustomize_dir(h: &Host, func: &str, dir: &Path) -> RResult<String> {
    let (tool, args): (&str, Vec<&str>) = if crate::shell::which("kubectl").is_some() {
        ("kubectl", vec!["kustomize"])
    } else if crate::shell::which("kustomize").is_some() {
        ("kustomize", vec!["build"])
    } else {
        return Err(error(format!("{func}: neither kubectl nor kustomize is on PATH; install kubectl (it includes kustomize)")));
    };
    let mut argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    argv.insert(0, tool.to_string());
    argv.push(dir.display().to_string());
    let cmd = crate::shell::Cmd::Argv(argv);
    let opts = crate::shell::Opts {
        quiet: true,
        capture: true,
        cwd: Some(h.settings.script_dir.clone()),
        ..Default::default()
    };
    let out = crate::api::shell::run(h, func, &cmd, &opts)?;
    if out.code != 0 {
        return Err(error(format!(
            "{func}: {tool} failed on {}:\n{}",
            dir.display(),
            out.stderr.trim()
        )));
    }
    Ok(out.stdout)
}

/// Manifest text and a name for messages, from YAML text, a file or a directory.
pub fn manifest(h: &Host, func: &str, input: &str) -> RResult<(String, String)> {
    let looks_like_yaml = input.contains('\n') || input.trim_start().starts_with('{');
    if !looks_like_yaml {
        let p = h.resolve_path(input);
        if p.is_dir() {
            let k = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
                .iter()
                .any(|f| p.join(f).is_file());
            if k {
                return Ok((kustomize_dir(h, func, &p)?, input.to_string()));
            }
            let mut files: Vec<_> = std::fs::read_dir(&p)
                .map_err(|e| error(format!("{func}: cannot read {}: {e}", p.display())))?
                .flatten()
                .map(|e| e.path())
                .filter(|f| {
                    f.extension()
                        .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
                })
                .collect();
            files.sort();
            let mut text = String::new();
            for f in files {
                text.push_str("---\n");
                text.push_str(
                    &std::fs::read_to_string(&f)
                        .map_err(|e| error(format!("{func}: cannot read {}: {e}", f.display())))?,
                );
                text.push('\n');
            }
            return Ok((text, input.to_string()));
        }
        if p.is_file() {
            let t = std::fs::read_to_string(&p)
                .map_err(|e| error(format!("{func}: cannot read {}: {e}", p.display())))?;
            return Ok((t, input.to_string()));
        }
        if !input.contains(':') {
            return Err(error(format!(
                "{func}: {} does not exist (give YAML text, a file or a directory)",
                p.display()
            )));
        }
    }
    Ok((input.to_string(), "manifest".to_string()))
}

/// The parsed documents of a manifest and a name for messages.
pub fn docs_of(h: &Host, func: &str, input: &str) -> RResult<(Vec<Doc>, String)> {
    let (text, source) = manifest(h, func, input)?;
    let docs =
        manifest::parse_manifest(&text, &source).map_err(|e| error(format!("{func}: {e}")))?;
    Ok((docs, source))
}
