//! What is compared, with names, uids, timestamps and resourceVersion
//! values normalised away: a one-line digest of an object's state (phase,
//! conditions with status and reason, container states, the status
//! counters present, finalizers, owners), the shape of a Status body, and
//! the keys an object has.

use serde_json::Value;
use std::collections::BTreeSet;

/// Replacements applied to messages on both sides (the recording's node
/// name and the fake's become `<node>`, ...).
#[derive(Default, Clone)]
pub struct Norm {
    pub pairs: Vec<(String, String)>,
}

impl Norm {
    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (from, to) in &self.pairs {
            out = out.replace(from.as_str(), to);
        }
        mask_ids(&out)
    }
}

/// The alphabet of generated name suffixes (apimachinery's).
const GENERATED: &str = "bcdfghjklmnpqrstvwxz2456789";

/// `once-8pfjx` → `once-<rand>`: a name the server generated.
fn mask_generated(word: &str) -> String {
    match word.rsplit_once('-') {
        Some((head, tail))
            if !head.is_empty()
                && tail.len() == 5
                && tail.chars().all(|c| GENERATED.contains(c)) =>
        {
            format!("{head}-<rand>")
        }
        _ => word.to_string(),
    }
}

/// Digit runs as `N`: `16ms` → `Nms`.
fn mask_digits(word: &str) -> String {
    let mut out = String::new();
    let mut in_digits = false;
    for c in word.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('N');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// Numbers, generated names and uid-like or hex tokens masked: they
/// differ between any two servers (resourceVersions in "too old resource
/// version: 1 (4381)", container ids in runtime errors, pod names of a Job).
pub fn mask_ids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let digits = word.chars().filter(|c| c.is_ascii_digit()).count();
        let hexish = word.len() >= 8 && word.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        if hexish && digits > 0 {
            out.push_str("<id>");
        } else {
            out.push_str(&mask_digits(&mask_generated(word)));
        }
        word.clear();
    };
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn conditions(v: &Value) -> Vec<String> {
    let mut c: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let mut s = format!(
                "{}={}",
                c["type"].as_str().unwrap_or("?"),
                c["status"].as_str().unwrap_or("?")
            );
            if let Some(r) = c["reason"].as_str().filter(|r| !r.is_empty()) {
                s.push_str(&format!("({r})"));
            }
            s
        })
        .collect();
    c.sort();
    c
}

fn container(c: &Value) -> String {
    let st = &c["state"];
    let state = if let Some(w) = st.get("waiting") {
        format!("waiting({})", w["reason"].as_str().unwrap_or(""))
    } else if let Some(t) = st.get("terminated") {
        format!(
            "terminated({}) exit={}",
            t["reason"].as_str().unwrap_or(""),
            t["exitCode"]
        )
    } else if st.get("running").is_some() {
        "running".into()
    } else {
        "none".into()
    };
    format!(
        "{}: {state} ready={} started={} restarts={}",
        c["name"].as_str().unwrap_or(""),
        c["ready"],
        c["started"],
        c["restartCount"]
    )
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) if looks_like_time(s) => "<time>".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.len()),
        Value::Object(o) => {
            let inner: Vec<String> = o
                .iter()
                .map(|(k, v)| match v {
                    Value::Array(a) => format!("{k}:{}", a.len()),
                    _ => k.clone(),
                })
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        other => other.to_string(),
    }
}

fn looks_like_time(s: &str) -> bool {
    s.len() >= 20 && s.as_bytes().get(4) == Some(&b'-') && s.contains('T')
}

/// The fields of `.status` other than conditions, `k=v` sorted: which
/// counters are present (and zero ones absent) is part of the state.
fn status_fields(status: &Value, skip: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = status
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "conditions" && !skip.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={}", scalar(v)))
        .collect();
    out.sort();
    out
}

/// One line that says everything the comparison keeps of an object's state.
pub fn digest(o: &Value, norm: &Norm) -> String {
    let kind = o["kind"].as_str().unwrap_or("");
    let md = &o["metadata"];
    let mut parts: Vec<String> = vec![kind.to_string()];
    if md["deletionTimestamp"].is_string() {
        parts.push("deleting".into());
    }
    if let Some(f) = md["finalizers"].as_array().filter(|f| !f.is_empty()) {
        let names: Vec<&str> = f.iter().filter_map(|x| x.as_str()).collect();
        parts.push(format!("finalizers={}", names.join(",")));
    }
    if let Some(refs) = md["ownerReferences"].as_array().filter(|r| !r.is_empty()) {
        let kinds: Vec<&str> = refs.iter().filter_map(|r| r["kind"].as_str()).collect();
        parts.push(format!("owners={}", kinds.join(",")));
    }
    match kind {
        "Pod" => {
            let st = &o["status"];
            parts.push(format!("phase={}", st["phase"].as_str().unwrap_or("-")));
            parts.push(format!(
                "node={}",
                if o["spec"]["nodeName"].is_string() {
                    "set"
                } else {
                    "-"
                }
            ));
            parts.push(format!("conditions={:?}", conditions(&st["conditions"])));
            let cs: Vec<String> = st["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .map(container)
                .collect();
            parts.push(format!("containers={cs:?}"));
        }
        "Event" => {
            parts.push(format!(
                "{} {} {}/ {:?} count={} source={}",
                o["type"].as_str().unwrap_or(""),
                o["reason"].as_str().unwrap_or(""),
                o["involvedObject"]["kind"].as_str().unwrap_or(""),
                norm.text(o["message"].as_str().unwrap_or("")),
                o["count"],
                o["source"]["component"].as_str().unwrap_or("")
            ));
        }
        "Namespace" => {
            parts.push(format!(
                "phase={} conditions={:?}",
                o["status"]["phase"].as_str().unwrap_or("-"),
                conditions(&o["status"]["conditions"])
            ));
        }
        "PersistentVolumeClaim" | "PersistentVolume" => {
            let mut ann: Vec<&String> = md["annotations"]
                .as_object()
                .map(|a| a.keys().collect())
                .unwrap_or_default();
            ann.sort();
            parts.push(format!("annotations={ann:?}"));
            parts.push(format!(
                "volumeName={} claimRef={}",
                if o["spec"]["volumeName"].is_string() {
                    "set"
                } else {
                    "-"
                },
                if o["spec"]["claimRef"].is_object() {
                    "set"
                } else {
                    "-"
                }
            ));
            parts.push(format!("status={:?}", status_fields(&o["status"], &[])));
        }
        _ => {
            if let Some(g) = md["generation"].as_i64() {
                parts.push(format!("generation={g}"));
            }
            if let Some(r) = o["spec"]["replicas"].as_i64() {
                parts.push(format!("spec.replicas={r}"));
            }
            parts.push(format!("status={:?}", status_fields(&o["status"], &[])));
            parts.push(format!(
                "conditions={:?}",
                conditions(&o["status"]["conditions"])
            ));
        }
    }
    parts.join(" ")
}

/// An item of an EventList (core or events.k8s.io/v1).
pub fn event_item(e: &Value, norm: &Norm) -> String {
    if e.get("regarding").is_some() {
        return format!(
            "{} {} {}/ {:?} deprecatedCount={} controller={} series={}",
            e["type"].as_str().unwrap_or(""),
            e["reason"].as_str().unwrap_or(""),
            e["regarding"]["kind"].as_str().unwrap_or(""),
            norm.text(e["note"].as_str().unwrap_or("")),
            e["deprecatedCount"],
            e["reportingController"].as_str().unwrap_or(""),
            e["series"]
        );
    }
    let mut e = e.clone();
    e["kind"] = serde_json::json!("Event");
    digest(&e, norm)
}

/// A watch line as compared: its type, and the digest of its object (an
/// ERROR's Status by reason and code; a BOOKMARK by whether it ends the
/// initial events).
pub fn event_digest(line: &Value, norm: &Norm) -> String {
    let t = line["type"].as_str().unwrap_or("?");
    let o = &line["object"];
    match t {
        "ERROR" => format!(
            "ERROR {} {} {}",
            o["reason"].as_str().unwrap_or(""),
            o["code"],
            norm.text(o["message"].as_str().unwrap_or(""))
        ),
        "BOOKMARK" => format!(
            "BOOKMARK initial-events-end={}",
            o["metadata"]["annotations"]["k8s.io/initial-events-end"] == "true"
        ),
        _ => format!("{t} {}", digest(o, norm)),
    }
}

/// Consecutive repeats dropped: a MODIFIED that changed nothing the
/// comparison keeps (a resourceVersion, a managedFields time, an
/// annotation) is not a transition, also right after the ADDED.
pub fn collapse(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for s in v {
        let same = out.last().is_some_and(|last: &String| {
            last == s
                || (last.starts_with("ADDED ")
                    && s.strip_prefix("MODIFIED ") == last.strip_prefix("ADDED "))
        });
        if !same {
            out.push(s.clone());
        }
    }
    out
}

/// Differences between two Status bodies: kind, status, reason, code,
/// the message (normalised), details' keys, name, kind and causes.
pub fn status_diff(want: &Value, got: &Value, norm: &Norm, message: bool) -> Vec<String> {
    let mut d = vec![];
    for k in ["kind", "status", "reason", "code"] {
        if want[k] != got[k] {
            d.push(format!("{k}: want {} got {}", want[k], got[k]));
        }
    }
    if message {
        let (w, g) = (
            norm.text(want["message"].as_str().unwrap_or("")),
            norm.text(got["message"].as_str().unwrap_or("")),
        );
        if w != g {
            d.push(format!("message: want {w:?} got {g:?}"));
        }
    }
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let (wd, gd) = (&want["details"], &got["details"]);
    if want.get("details").is_some() != got.get("details").is_some() {
        d.push(format!("details: want {wd} got {gd}"));
    } else if keys(wd) != keys(gd) {
        d.push(format!(
            "details keys: want {:?} got {:?}",
            keys(wd),
            keys(gd)
        ));
    }
    for k in ["kind", "group"] {
        if wd[k] != gd[k] {
            d.push(format!("details.{k}: want {} got {}", wd[k], gd[k]));
        }
    }
    let causes = |v: &Value| -> Vec<String> {
        v["causes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{}@{}",
                    c["reason"].as_str().unwrap_or(""),
                    c["field"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    if causes(wd) != causes(gd) {
        d.push(format!(
            "details.causes: want {:?} got {:?}",
            causes(wd),
            causes(gd)
        ));
    }
    d
}

/// Keys of an object at the top level, in `metadata` and in `status`
/// (`metadata.x`, `status.y`), for presence and absence checks.
pub fn shape(o: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(m) = o.as_object() {
        for (k, v) in m {
            out.insert(k.clone());
            if ["metadata", "status"].contains(&k.as_str()) {
                for k2 in v.as_object().into_iter().flatten().map(|(k2, _)| k2) {
                    out.insert(format!("{k}.{k2}"));
                }
            }
        }
    }
    out
}
