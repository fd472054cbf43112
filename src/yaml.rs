//! YAML in and out (serde-saphyr). YAML 1.2 core booleans: `y`, `yes`, `on`
//! stay strings, as in the JSON that reaches the API server.

use serde_json::Value;

fn options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.strict_booleans = true;
    o
}

/// All documents of a (multi-document) YAML text; empty documents are dropped.
pub fn parse_docs(text: &str) -> Result<Vec<Value>, String> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple_with_options(text, options()).map_err(|e| e.to_string())?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// One value as YAML.
pub fn to_string(v: &Value) -> Result<String, String> {
    serde_saphyr::to_string(v).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_booleans_and_multi_docs() {
        let d = parse_docs("a: [x, y, yes, on, true]\n---\n---\nb: 1\n").unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0]["a"], serde_json::json!(["x", "y", "yes", "on", true]));
        assert_eq!(d[1]["b"], 1);
        let back = to_string(&d[1]).unwrap();
        assert_eq!(parse_docs(&back).unwrap()[0], d[1]);
    }
}
