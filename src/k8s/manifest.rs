//! Manifests: multi-document YAML split and parsed before anything is
//! sent, each document keeping its index and line for messages.

use crate::exit::Failure;
use serde_json::Value;
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// One document of a manifest, resolved to its resource.
#[derive(Clone, Debug)]
pub struct Doc {
    /// 1-based index in the input
    pub index: usize,
    /// first line of the document in its text
    pub line: usize,
    pub obj: Value,
}

impl Doc {
    pub fn kind(&self) -> &str {
        self.obj["kind"].as_str().unwrap_or("")
    }
    pub fn api_version(&self) -> &str {
        self.obj["apiVersion"].as_str().unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.obj["metadata"]["name"].as_str().unwrap_or("")
    }
    pub fn where_(&self, source: &str) -> String {
        format!("{source}: document {} (line {})", self.index, self.line)
    }
}

/// Split multi-document YAML and parse each document, keeping its index and
/// line; `kind: List` documents are expanded. A bad document is an error that
/// names it.
pub fn parse_manifest(text: &str, source: &str) -> Result<Vec<Doc>, String> {
    let mut chunks: Vec<(usize, String)> = vec![];
    let mut cur = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("---") && (line.len() == 3 || line[3..].starts_with([' ', '\t'])) {
            chunks.push((start, std::mem::take(&mut cur)));
            start = i + 2;
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    chunks.push((start, cur));
    let mut docs = vec![];
    let mut index = 0;
    for (line, chunk) in chunks {
        if chunk
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        index += 1;
        let v = crate::yaml::parse_docs(&chunk)
            .map_err(|e| format!("{source}: document {index} (line {line}): invalid YAML: {e}"))?
            .into_iter()
            .next()
            .unwrap_or(Value::Null);
        if !v.is_object() {
            return Err(format!("{source}: document {index} (line {line}): expected a Kubernetes object (a map with apiVersion and kind)"));
        }
        if v["kind"].as_str().is_some_and(|k| k.ends_with("List")) && v["items"].is_array() {
            for item in v["items"].as_array().cloned().unwrap_or_default() {
                docs.push(Doc {
                    index,
                    line,
                    obj: item,
                });
            }
        } else {
            docs.push(Doc {
                index,
                line,
                obj: v,
            });
        }
    }
    for d in &docs {
        if d.api_version().is_empty() || d.kind().is_empty() {
            return Err(format!("{}: missing apiVersion or kind", d.where_(source)));
        }
        if d.name().is_empty() && d.obj["metadata"]["generateName"].as_str().is_none() {
            return Err(format!(
                "{}: {} has no metadata.name",
                d.where_(source),
                d.kind()
            ));
        }
    }
    Ok(docs)
}
/// Render a kustomization with `kubectl kustomize` (or `kustomize build`),
/// run in `cwd`; a failing build is an error with the tool's own message.
pub async fn kustomize(
    dir: &Path,
    cwd: &Path,
    cancel: CancellationToken,
) -> Result<String, Failure> {
    let (tool, sub) = if crate::shell::which("kubectl").is_some() {
        ("kubectl", "kustomize")
    } else if crate::shell::which("kustomize").is_some() {
        ("kustomize", "build")
    } else {
        return Err(Failure::Error(
            "neither kubectl nor kustomize is on PATH; install kubectl (it includes kustomize)"
                .into(),
        ));
    };
    let argv = vec![tool.to_string(), sub.to_string(), dir.display().to_string()];
    let opts = crate::shell::Opts {
        quiet: true,
        capture: true,
        cwd: Some(cwd.to_path_buf()),
        ..Default::default()
    };
    let out = crate::shell::run(&crate::shell::Cmd::Argv(argv), &opts, cancel).await?;
    if out.interrupted {
        return Err(Failure::Interrupted);
    }
    if out.code != 0 {
        return Err(Failure::Error(format!(
            "{tool} failed on {}:\n{}",
            dir.display(),
            out.stderr.trim()
        )));
    }
    Ok(out.stdout)
}

/// The YAML and JSON files of a directory, in name order, as one manifest.
fn read_dir(p: &Path) -> Result<String, String> {
    let mut files: Vec<_> = std::fs::read_dir(p)
        .map_err(|e| format!("cannot read {}: {e}", p.display()))?
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
                .map_err(|e| format!("cannot read {}: {e}", f.display()))?,
        );
        text.push('\n');
    }
    Ok(text)
}

/// Manifest text and a name for messages, from YAML text, a file, a
/// directory of YAML files or a kustomization (`input` relative to `base`).
pub async fn read(
    input: &str,
    base: &Path,
    cancel: CancellationToken,
) -> Result<(String, String), Failure> {
    let looks_like_yaml = input.contains('\n') || input.trim_start().starts_with('{');
    if looks_like_yaml {
        return Ok((input.to_string(), "manifest".to_string()));
    }
    let p = base.join(input);
    if p.is_dir() {
        let k = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
            .iter()
            .any(|f| p.join(f).is_file());
        let text = if k {
            kustomize(&p, base, cancel).await?
        } else {
            read_dir(&p)?
        };
        return Ok((text, input.to_string()));
    }
    if p.is_file() {
        let t =
            std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        return Ok((t, input.to_string()));
    }
    if !input.contains(':') {
        return Err(Failure::Error(format!(
            "{} does not exist (give YAML text, a file or a directory)",
            p.display()
        )));
    }
    Ok((input.to_string(), "manifest".to_string()))
}

/// The parsed documents of a manifest (see [`read`]) and a name for messages.
pub async fn docs(
    input: &str,
    base: &Path,
    cancel: CancellationToken,
) -> Result<(Vec<Doc>, String), Failure> {
    let (text, source) = read(input, base, cancel).await?;
    Ok((parse_manifest(&text, &source)?, source))
}
