//! Manifests: multi-document YAML split and parsed before anything is
//! sent, each document keeping its index and line for messages.

use serde_json::Value;

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
