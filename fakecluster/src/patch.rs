//! JSON merge patch (RFC 7386), used for merge, strategic-merge (for the
//! fields scaffold touches) and server-side apply (merge semantics).

use serde_json::Value;

/// Apply a merge patch in place: maps merge recursively, `null` deletes,
/// everything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Server-side apply with merge semantics: like a merge patch, but lists of
/// objects with `name` keys (containers, ports, env, volumes) merge by name,
/// as the real server's list-map keys do.
pub fn apply(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) if !v.is_null() => apply(existing, v),
                    _ => {
                        if v.is_null() {
                            t.remove(k);
                        } else {
                            t.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(p)) if keyed(p) && keyed(t) => {
            let mut out = Vec::new();
            for pv in p {
                let name = &pv["name"];
                match t.iter().find(|tv| &tv["name"] == name) {
                    Some(tv) => {
                        let mut m = tv.clone();
                        apply(&mut m, pv);
                        out.push(m);
                    }
                    None => out.push(pv.clone()),
                }
            }
            *t = out;
        }
        (t, p) => *t = p.clone(),
    }
}

fn keyed(a: &[Value]) -> bool {
    !a.is_empty()
        && a.iter()
            .all(|v| v.get("name").is_some_and(|n| n.is_string()))
}

/// RFC 6902 JSON patch (add, remove, replace, test).
pub fn json_patch(target: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops.as_array().ok_or("json patch must be an array")?;
    for op in ops {
        let path = op["path"].as_str().ok_or("op without path")?;
        let parts: Vec<String> = path
            .split('/')
            .skip(1)
            .map(|p| p.replace("~1", "/").replace("~0", "~"))
            .collect();
        let (last, parents) = parts.split_last().ok_or("empty path")?;
        let mut cur = &mut *target;
        for p in parents {
            cur = match cur {
                Value::Object(m) => m.get_mut(p).ok_or(format!("path {path} not found"))?,
                Value::Array(a) => {
                    let i: usize = p.parse().map_err(|_| format!("bad index in {path}"))?;
                    a.get_mut(i).ok_or(format!("path {path} not found"))?
                }
                _ => return Err(format!("path {path} not found")),
            };
        }
        let kind = op["op"].as_str().unwrap_or_default();
        match (kind, cur) {
            ("add" | "replace", Value::Object(m)) => {
                m.insert(last.clone(), op["value"].clone());
            }
            ("add", Value::Array(a)) => {
                if last == "-" {
                    a.push(op["value"].clone());
                } else {
                    let i: usize = last.parse().map_err(|_| "bad index")?;
                    a.insert(i.min(a.len()), op["value"].clone());
                }
            }
            ("replace", Value::Array(a)) => {
                let i: usize = last.parse().map_err(|_| "bad index")?;
                *a.get_mut(i).ok_or("index out of range")? = op["value"].clone();
            }
            ("remove", Value::Object(m)) => {
                m.remove(last).ok_or(format!("path {path} not found"))?;
            }
            ("remove", Value::Array(a)) => {
                let i: usize = last.parse().map_err(|_| "bad index")?;
                if i >= a.len() {
                    return Err("index out of range".into());
                }
                a.remove(i);
            }
            ("test", c) => {
                let v = match c {
                    Value::Object(m) => m.get(last).cloned(),
                    _ => None,
                };
                if v.as_ref() != Some(&op["value"]) {
                    return Err(format!("test failed at {path}"));
                }
            }
            (o, _) => return Err(format!("unsupported json patch op {o}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch() {
        let mut t = json!({"a": 1, "m": {"x": 1, "y": 2}, "l": [1, 2]});
        merge(&mut t, &json!({"a": null, "m": {"y": 3}, "l": [9]}));
        assert_eq!(t, json!({"m": {"x": 1, "y": 3}, "l": [9]}));
    }

    #[test]
    fn apply_merges_named_lists() {
        let mut t = json!({"spec": {"containers": [{"name": "a", "image": "x", "ports": [1]}, {"name": "b"}]}});
        apply(
            &mut t,
            &json!({"spec": {"containers": [{"name": "a", "image": "y"}]}}),
        );
        assert_eq!(
            t["spec"]["containers"],
            json!([{"name": "a", "image": "y", "ports": [1]}])
        );
    }

    #[test]
    fn json_patch_ops() {
        let mut t = json!({"metadata": {"labels": {"a": "1"}}, "l": [1]});
        json_patch(
            &mut t,
            &json!([
                {"op": "add", "path": "/metadata/labels/b", "value": "2"},
                {"op": "remove", "path": "/metadata/labels/a"},
                {"op": "add", "path": "/l/-", "value": 2}
            ]),
        )
        .unwrap();
        assert_eq!(t, json!({"metadata": {"labels": {"b": "2"}}, "l": [1, 2]}));
    }
}
