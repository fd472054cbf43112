//! Files and data: read/write files, JSON and YAML.

use rhai::plugin::*;

#[export_module]
pub mod files_api {
    use crate::api::call::to_json as json_of;
    use crate::api::call::{error, from_json, host};
    use rhai::EvalAltResult;
    use rhai::{Dynamic, NativeCallContext};

    /// Read a text file (relative paths resolve against the script's directory).
    #[rhai_fn(return_raw)]
    pub fn read_file(ctx: NativeCallContext, path: &str) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("read_file", || path.to_string());
        let p = h.resolve_path(path);
        std::fs::read_to_string(&p)
            .map_err(|e| error(format!("read_file: cannot read {}: {e}", p.display())))
    }

    /// Write a text file, creating parent directories; returns the absolute path.
    ///
    /// ```rhai
    /// write_file(artifacts_dir() + "/notes.txt", "hello");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn write_file(
        ctx: NativeCallContext,
        path: &str,
        content: &str,
    ) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("write_file", || format!("{path}, {} bytes", content.len()));
        let p = h.resolve_path(path);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)
                .map_err(|e| error(format!("write_file: cannot create {}: {e}", d.display())))?;
        }
        std::fs::write(&p, content)
            .map_err(|e| error(format!("write_file: cannot write {}: {e}", p.display())))?;
        Ok(p.display().to_string())
    }

    /// True when a file or directory exists.
    #[rhai_fn(return_raw)]
    pub fn exists(ctx: NativeCallContext, path: &str) -> Result<bool, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("exists", || path.to_string());
        Ok(h.resolve_path(path).exists())
    }

    /// Create a directory and its parents; returns the absolute path.
    #[rhai_fn(return_raw)]
    pub fn mkdir(ctx: NativeCallContext, path: &str) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("mkdir", || path.to_string());
        let p = h.resolve_path(path);
        std::fs::create_dir_all(&p)
            .map_err(|e| error(format!("mkdir: cannot create {}: {e}", p.display())))?;
        Ok(p.display().to_string())
    }

    /// Parse JSON text into maps, arrays and numbers.
    ///
    /// ```rhai
    /// let pods = parse_json(sh_output("kubectl get pods -o json")).items;
    /// ```
    #[rhai_fn(return_raw)]
    pub fn parse_json(ctx: NativeCallContext, text: &str) -> Result<Dynamic, Box<EvalAltResult>> {
        let _t = crate::api::call::trace(&ctx, "parse_json", || format!("{} bytes", text.len()));
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            error(format!(
                "parse_json: invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ))
        })?;
        Ok(from_json(&v))
    }

    /// A value as pretty-printed JSON.
    #[rhai_fn(return_raw)]
    pub fn to_json(ctx: NativeCallContext, value: Dynamic) -> Result<String, Box<EvalAltResult>> {
        let _t = crate::api::call::trace(&ctx, "to_json", String::new);
        serde_json::to_string_pretty(&json_of(&value)).map_err(|e| error(format!("to_json: {e}")))
    }

    /// Parse YAML text; multi-document YAML parses to an array of documents.
    #[rhai_fn(return_raw)]
    pub fn parse_yaml(ctx: NativeCallContext, text: &str) -> Result<Dynamic, Box<EvalAltResult>> {
        let _t = crate::api::call::trace(&ctx, "parse_yaml", || format!("{} bytes", text.len()));
        let docs = crate::yaml::parse_docs(text).map_err(|e| error(format!("parse_yaml: {e}")))?;
        Ok(match docs.len() {
            0 => Dynamic::UNIT,
            1 => from_json(&docs[0]),
            _ => Dynamic::from_array(docs.iter().map(from_json).collect()),
        })
    }

    /// A value as YAML; an array of maps becomes a multi-document stream only
    /// with `to_yaml_docs`.
    #[rhai_fn(return_raw)]
    pub fn to_yaml(ctx: NativeCallContext, value: Dynamic) -> Result<String, Box<EvalAltResult>> {
        let _t = crate::api::call::trace(&ctx, "to_yaml", String::new);
        crate::yaml::to_string(&json_of(&value)).map_err(|e| error(format!("to_yaml: {e}")))
    }

    /// An array of values as multi-document YAML (`---` between documents).
    #[rhai_fn(return_raw)]
    pub fn to_yaml_docs(
        ctx: NativeCallContext,
        values: rhai::Array,
    ) -> Result<String, Box<EvalAltResult>> {
        let _t = crate::api::call::trace(&ctx, "to_yaml_docs", || {
            format!("{} documents", values.len())
        });
        let mut out = String::new();
        for v in values {
            out.push_str("---\n");
            out.push_str(
                &crate::yaml::to_string(&json_of(&v))
                    .map_err(|e| error(format!("to_yaml_docs: {e}")))?,
            );
        }
        Ok(out)
    }
}
