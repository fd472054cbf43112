//! Field ownership, as the API server tracks it in `metadata.managedFields`:
//! every write records which fields its manager set (`fieldsV1`), an update
//! takes over the fields it changed, and server-side apply owns exactly the
//! fields of the applied configuration, refuses to change another manager's
//! field without `force` (409 with one `FieldManagerConflict` cause per
//! field), and removes fields its manager stopped applying that nobody else
//! owns. Lists of objects with a `name` are keyed by it (`k:{"name":"x"}`);
//! other lists are owned whole.

use crate::errors::ApiError;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// A path of field keys: `["f:data", "f:k"]`.
pub type Path = Vec<String>;
pub type Set = BTreeSet<Path>;

/// Which part of an object a write touches.
#[derive(Clone, Copy, PartialEq)]
pub enum Part {
    /// everything but `.status` when the kind has a status subresource
    Main { status_separate: bool },
    /// only `.status` (the status subresource)
    Status,
}

/// metadata fields that are the object's identity or the server's, never owned
const SERVER_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
];

fn keyed(a: &[Value]) -> bool {
    !a.is_empty() && a.iter().all(|v| v["name"].is_string())
}

fn item_key(v: &Value) -> String {
    format!("k:{}", json!({"name": v["name"]}))
}

fn leaves(v: &Value, at: &mut Path, out: &mut Set) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                at.push(format!("f:{k}"));
                leaves(c, at, out);
                at.pop();
            }
        }
        Value::Array(a) if keyed(a) => {
            for item in a {
                at.push(item_key(item));
                let mut dot = at.clone();
                dot.push(".".into());
                out.insert(dot);
                leaves(item, at, out);
                at.pop();
            }
        }
        _ => {
            out.insert(at.clone());
        }
    }
}

/// The fields of `obj` a write of `part` sets.
pub fn paths(obj: &Value, part: Part) -> Set {
    let mut out = Set::new();
    let Some(m) = obj.as_object() else {
        return out;
    };
    for (k, v) in m {
        let mut at = vec![format!("f:{k}")];
        match (k.as_str(), part) {
            ("apiVersion" | "kind", _) => {}
            ("status", Part::Status) => leaves(v, &mut at, &mut out),
            (_, Part::Status) => {}
            (
                "status",
                Part::Main {
                    status_separate: true,
                },
            ) => {}
            ("metadata", _) => {
                for (mk, mv) in v.as_object().into_iter().flatten() {
                    if !SERVER_META.contains(&mk.as_str()) {
                        at.push(format!("f:{mk}"));
                        leaves(mv, &mut at, &mut out);
                        at.pop();
                    }
                }
            }
            _ => leaves(v, &mut at, &mut out),
        }
    }
    out
}

/// The value at a field path.
pub fn get<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        if p == "." {
            return Some(cur);
        }
        cur = if let Some(k) = p.strip_prefix("f:") {
            cur.get(k)?
        } else {
            let key: Value = serde_json::from_str(p.strip_prefix("k:")?).ok()?;
            cur.as_array()?.iter().find(|i| i["name"] == key["name"])?
        };
    }
    Some(cur)
}

fn remove(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    if last == "." {
        return remove_item(v, parents);
    }
    let mut cur = v;
    for p in parents {
        cur = match p.strip_prefix("f:") {
            Some(k) => match cur.get_mut(k) {
                Some(c) => c,
                None => return,
            },
            None => {
                let Some(key) = p
                    .strip_prefix("k:")
                    .and_then(|k| serde_json::from_str::<Value>(k).ok())
                else {
                    return;
                };
                match cur
                    .as_array_mut()
                    .and_then(|a| a.iter_mut().find(|i| i["name"] == key["name"]))
                {
                    Some(c) => c,
                    None => return,
                }
            }
        };
    }
    if let (Some(k), Some(m)) = (last.strip_prefix("f:"), cur.as_object_mut()) {
        m.remove(k);
    }
}

fn remove_item(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let Some(key) = last
        .strip_prefix("k:")
        .and_then(|k| serde_json::from_str::<Value>(k).ok())
    else {
        return;
    };
    let mut cur = v;
    for p in parents {
        match p.strip_prefix("f:").and_then(|k| cur.get_mut(k)) {
            Some(c) => cur = c,
            None => return,
        }
    }
    if let Some(a) = cur.as_array_mut() {
        a.retain(|i| i["name"] != key["name"]);
    }
}

/// `fieldsV1` of a set: nested maps with `{}` leaves.
pub fn to_v1(set: &Set) -> Value {
    let mut root = Map::new();
    for p in set {
        let mut cur = &mut root;
        for seg in p {
            cur = cur
                .entry(seg.clone())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("fieldsV1 map");
        }
    }
    Value::Object(root)
}

fn from_v1(v: &Value) -> Set {
    fn walk(v: &Value, at: &mut Path, out: &mut Set) {
        match v.as_object() {
            Some(m) if !m.is_empty() => {
                for (k, c) in m {
                    at.push(k.clone());
                    walk(c, at, out);
                    at.pop();
                }
            }
            _ => {
                out.insert(at.clone());
            }
        }
    }
    let mut out = Set::new();
    walk(v, &mut vec![], &mut out);
    out
}

/// One entry of managedFields.
struct Entry {
    manager: String,
    apply: bool,
    api_version: String,
    subresource: Option<String>,
    time: String,
    set: Set,
}

fn entries(obj: Option<&Value>) -> Vec<Entry> {
    obj.and_then(|o| o["metadata"]["managedFields"].as_array())
        .into_iter()
        .flatten()
        .map(|e| Entry {
            manager: e["manager"].as_str().unwrap_or("").to_string(),
            apply: e["operation"] == "Apply",
            api_version: e["apiVersion"].as_str().unwrap_or("v1").to_string(),
            subresource: e["subresource"].as_str().map(str::to_string),
            time: e["time"].as_str().unwrap_or("").to_string(),
            set: from_v1(&e["fieldsV1"]),
        })
        .collect()
}

fn write_entries(obj: &mut Value, list: Vec<Entry>) {
    let v: Vec<Value> = list
        .into_iter()
        .filter(|e| !e.set.is_empty())
        .map(|e| {
            let mut m = json!({
                "manager": e.manager,
                "operation": if e.apply { "Apply" } else { "Update" },
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_v1(&e.set),
            });
            if let Some(s) = e.subresource {
                m["subresource"] = json!(s);
            }
            m
        })
        .collect();
    if v.is_empty() {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
    } else {
        obj["metadata"]["managedFields"] = Value::Array(v);
    }
}

/// Who writes, and through which subresource.
pub struct Writer<'a> {
    pub manager: &'a str,
    pub part: Part,
}

impl Writer<'_> {
    fn subresource(&self) -> Option<String> {
        (self.part == Part::Status).then(|| "status".to_string())
    }
}

/// Record an update (or a create, `old` None): the writer owns the fields
/// it changed, taken from whoever owned them.
pub fn track_update(old: Option<&Value>, new: &mut Value, w: &Writer) {
    let api_version = new["apiVersion"].as_str().unwrap_or("v1").to_string();
    let changed: Set = paths(new, w.part)
        .into_iter()
        .filter(|p| old.is_none_or(|o| get(o, p) != get(new, p)))
        .collect();
    let mut list = entries(old);
    if changed.is_empty() {
        write_entries(new, list);
        return;
    }
    for e in &mut list {
        e.set.retain(|p| !changed.contains(p));
    }
    let sub = w.subresource();
    let now = crate::clock::now();
    match list
        .iter_mut()
        .find(|e| e.manager == w.manager && !e.apply && e.subresource == sub)
    {
        Some(e) => {
            e.set.extend(changed);
            e.time = now;
            e.api_version = api_version;
        }
        None => list.push(Entry {
            manager: w.manager.to_string(),
            apply: false,
            api_version,
            subresource: sub,
            time: now,
            set: changed,
        }),
    }
    write_entries(new, list);
}

/// `.data.k`, `.spec.containers[name="main"].image`
fn show(path: &[String]) -> String {
    let mut s = String::new();
    for p in path {
        if let Some(k) = p.strip_prefix("f:") {
            s.push('.');
            s.push_str(k);
        } else if let Some(k) = p.strip_prefix("k:") {
            let key: Value = serde_json::from_str(k).unwrap_or_default();
            s.push_str(&format!("[name={}]", key["name"]));
        }
    }
    s
}

/// Server-side apply of `config` by `manager` onto `cur` (None: create).
/// Returns the object to store, or the 409 listing every conflict.
pub fn apply(
    cur: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    part: Part,
) -> Result<Value, ApiError> {
    let applied = paths(config, part);
    let mut list = entries(cur);
    let empty = json!({});
    let base = cur.unwrap_or(&empty);
    let differs = |p: &Path| get(base, p).is_some_and(|v| Some(v) != get(config, p));
    let mut conflicts: Vec<(String, String)> = vec![];
    for e in list.iter().filter(|e| e.manager != manager) {
        for p in applied.iter().filter(|p| e.set.contains(*p) && differs(p)) {
            let who = if e.apply {
                format!("conflict with \"{}\"", e.manager)
            } else {
                format!("conflict with \"{}\" using {}", e.manager, e.api_version)
            };
            conflicts.push((who, show(p)));
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflict_error(&conflicts));
    }
    let mut new = base.clone();
    crate::patch::apply(&mut new, config);
    let before: Set = list
        .iter()
        .filter(|e| e.manager == manager && e.apply)
        .flat_map(|e| e.set.iter().cloned())
        .collect();
    for p in before.difference(&applied) {
        let others = list
            .iter()
            .any(|e| !(e.manager == manager && e.apply) && e.set.contains(p));
        if !others {
            remove(&mut new, p);
        }
    }
    for e in list.iter_mut().filter(|e| e.manager != manager) {
        e.set.retain(|p| !(applied.contains(p) && differs(p)));
    }
    list.retain(|e| !(e.manager == manager && e.apply));
    list.push(Entry {
        manager: manager.to_string(),
        apply: true,
        api_version: config["apiVersion"].as_str().unwrap_or("v1").to_string(),
        subresource: (part == Part::Status).then(|| "status".to_string()),
        time: crate::clock::now(),
        set: applied,
    });
    write_entries(&mut new, list);
    Ok(new)
}

fn conflict_error(c: &[(String, String)]) -> ApiError {
    let n = c.len();
    let message = if n == 1 {
        format!("Apply failed with 1 conflict: {}: {}", c[0].0, c[0].1)
    } else {
        let mut by: Vec<String> = vec![];
        let mut owners: Vec<&String> = c.iter().map(|(w, _)| w).collect();
        owners.dedup();
        for o in owners {
            let o2 = o.replacen("conflict with", "conflicts with", 1);
            let fields: Vec<String> = c
                .iter()
                .filter(|(w, _)| w == o)
                .map(|(_, f)| format!("- {f}"))
                .collect();
            by.push(format!("{o2}:\n{}", fields.join("\n")));
        }
        format!("Apply failed with {n} conflicts: {}", by.join("\n"))
    };
    let causes: Vec<Value> = c
        .iter()
        .map(|(w, f)| json!({"reason": "FieldManagerConflict", "message": w, "field": f}))
        .collect();
    ApiError::new(409, "Conflict", message).with_details(json!({"causes": causes}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(k: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"k": k}})
    }

    #[test]
    fn apply_owns_conflicts_and_forces() {
        let main = Part::Main {
            status_separate: false,
        };
        let a = apply(None, &cm("first"), "alpha", false, main).unwrap();
        assert_eq!(
            a["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:data": {"f:k": {}}})
        );
        assert_eq!(a["metadata"]["managedFields"][0]["operation"], "Apply");
        let e = apply(Some(&a), &cm("second"), "beta", false, main).unwrap_err();
        assert_eq!(e.code, 409);
        assert_eq!(
            e.message,
            "Apply failed with 1 conflict: conflict with \"alpha\": .data.k"
        );
        let b = apply(Some(&a), &cm("second"), "beta", true, main).unwrap();
        let mf = b["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 1, "{mf:?}");
        assert_eq!(mf[0]["manager"], "beta");
        assert_eq!(b["data"]["k"], "second");
        // the same value: shared, no conflict
        assert!(apply(Some(&b), &cm("second"), "gamma", false, main).is_ok());
    }

    #[test]
    fn applying_less_removes_what_only_this_manager_had() {
        let main = Part::Main {
            status_separate: false,
        };
        let mut two = cm("v");
        two["data"]["x"] = json!("1");
        let a = apply(None, &two, "alpha", false, main).unwrap();
        let b = apply(Some(&a), &cm("v"), "alpha", false, main).unwrap();
        assert!(b["data"].get("x").is_none(), "{b}");
    }

    #[test]
    fn updates_take_what_they_change() {
        let main = Part::Main {
            status_separate: false,
        };
        let mut o = cm("v");
        track_update(
            None,
            &mut o,
            &Writer {
                manager: "kubectl",
                part: main,
            },
        );
        let mut n = o.clone();
        n["data"]["k"] = json!("w");
        track_update(
            Some(&o),
            &mut n,
            &Writer {
                manager: "other",
                part: main,
            },
        );
        let mf = n["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 1);
        assert_eq!(mf[0]["manager"], "other");
    }
}
