//! The objects of a load: a template rendered for each i (or the objects a
//! script's closure made), named, spread over namespaces and labelled with
//! the run and the load.

use super::{labels, Item, Load};
use crate::k8s::discovery::Discovery;
use serde_json::Value;
use std::collections::BTreeMap;

/// Where a load's objects come from.
pub enum Source {
    /// YAML text with `{{i}}`, `{{namespace}}`, `{{run_id}}` and the vars
    Template(String),
    /// one object per i, made by the script
    Objects(Vec<Value>),
}

/// How a load's objects are named, spread and labelled.
pub struct Spec<'a> {
    pub run_id: &'a str,
    pub load_id: &'a str,
    pub count: usize,
    /// the namespace of namespaced objects that name none
    pub default_ns: String,
    /// spread over these, round-robin (empty: `default_ns`)
    pub namespaces: &'a [String],
    pub vars: BTreeMap<String, String>,
    /// labels of every object, besides the run's and the load's
    pub labels: BTreeMap<String, String>,
}

impl Spec<'_> {
    /// The namespace of object `i`.
    fn namespace(&self, i: usize) -> String {
        if self.namespaces.is_empty() {
            self.default_ns.clone()
        } else {
            self.namespaces[i % self.namespaces.len()].clone()
        }
    }
}

impl Load {
    /// The objects of a load, each checked against what the server serves.
    pub fn items(source: &Source, spec: &Spec, disc: &Discovery) -> Result<Vec<Item>, String> {
        let mut vars = spec.vars.clone();
        (0..spec.count)
            .map(|i| {
                let ns = spec.namespace(i);
                let obj = match source {
                    Source::Template(t) => {
                        vars.insert("i".into(), i.to_string());
                        vars.insert("namespace".into(), ns.clone());
                        vars.insert("run_id".into(), spec.run_id.to_string());
                        from_template(t, &vars)?
                    }
                    Source::Objects(objs) => objs
                        .get(i)
                        .cloned()
                        .ok_or_else(|| format!("no object {i}"))?,
                };
                item(obj, i, ns, spec, disc)
            })
            .collect()
    }
}

/// One object of a rendered template.
fn from_template(t: &str, vars: &BTreeMap<String, String>) -> Result<Value, String> {
    let r = render(t, vars)?;
    let mut docs =
        crate::yaml::parse_docs(&r).map_err(|e| format!("the template is not YAML: {e}"))?;
    if docs.len() != 1 {
        return Err(format!(
            "the template holds {} documents; give one object",
            docs.len()
        ));
    }
    Ok(docs.pop().unwrap_or_default())
}

/// Object `i` named, namespaced and labelled.
fn item(
    mut obj: Value,
    i: usize,
    ns: String,
    spec: &Spec,
    disc: &Discovery,
) -> Result<Item, String> {
    let (av, kind) = (
        obj["apiVersion"].as_str().unwrap_or("").to_string(),
        obj["kind"].as_str().unwrap_or("").to_string(),
    );
    let res = disc.by_gvk(&av, &kind).cloned().ok_or_else(|| {
        format!(
            "object {i} has apiVersion '{av}' and kind '{kind}', which the server does not serve"
        )
    })?;
    if obj["metadata"]["generateName"].is_string() && !obj["metadata"]["name"].is_string() {
        return Err(
            "objects need names (waits, churn and deletes address each one): use name: x-{{i}} instead of generateName".into(),
        );
    }
    if !obj["metadata"].is_object() {
        obj["metadata"] = Value::Object(Default::default());
    }
    let name = match obj["metadata"]["name"].as_str() {
        Some(n) if !n.trim().is_empty() => n.to_string(),
        _ => format!("{}-{}-{i}", kind.to_ascii_lowercase(), spec.load_id),
    };
    obj["metadata"]["name"] = Value::String(name.clone());
    let ns = match (res.namespaced, spec.namespaces.is_empty()) {
        (false, _) => String::new(),
        (true, true) => obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or(&ns)
            .to_string(),
        (true, false) => ns,
    };
    if res.namespaced {
        obj["metadata"]["namespace"] = Value::String(ns.clone());
    }
    let l = &mut obj["metadata"]["labels"];
    if !l.is_object() {
        *l = Value::Object(Default::default());
    }
    for (k, v) in &spec.labels {
        l[k.as_str()] = Value::String(v.clone());
    }
    for (k, v) in labels(spec.run_id, spec.load_id)
        .as_object()
        .into_iter()
        .flatten()
    {
        l[k.as_str()] = v.clone();
    }
    Ok(Item {
        res,
        ns,
        name,
        body: obj,
    })
}

/// Replace `{{name}}` placeholders in a template: `i`, `namespace`, and the
/// user's variables. An unknown placeholder is an error naming it.
pub fn render(template: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(p) = rest.find("{{") {
        out.push_str(&rest[..p]);
        let after = &rest[p + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "a '{{' without its '}}' in the template".to_string())?;
        let key = after[..end].trim();
        let v = vars.get(key).ok_or_else(|| {
            format!(
                "the template uses {{{{{key}}}}} but no such variable is set (known: {}); add it to vars",
                vars.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        out.push_str(v);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_and_name_unknown_variables() {
        let mut v = BTreeMap::new();
        v.insert("i".to_string(), "7".to_string());
        v.insert("namespace".to_string(), "load-1".to_string());
        assert_eq!(
            render("name: p-{{i}}\nns: {{ namespace }}", &v).unwrap(),
            "name: p-7\nns: load-1"
        );
        let e = render("x: {{image}}", &v).unwrap_err();
        assert!(e.contains("{{image}}") && e.contains("i, namespace"), "{e}");
        assert!(render("x: {{i", &v).is_err());
    }
}
