//! GET of one object (and its `status` and `scale` subresources) and of
//! lists: selectors, pages (`limit` and `continue`, every page read at
//! the first page's resourceVersion), `resourceVersion` and
//! `resourceVersionMatch`, tables for kubectl, and events.k8s.io/v1
//! Events as a view of the core ones.

use super::target::{object_response, Target};
use crate::errors::ApiError;
use crate::http::{error_response, json_response, Body, Query};
use crate::kinds::Kind;
use crate::select::Selector;
use crate::shared::Shared;
use crate::store::Stored;
use base64::Engine;
use hyper::Response;
use serde_json::{json, Value};
use std::sync::Arc;

pub(super) fn selectors(kind: &Kind, q: &Query) -> Result<(Selector, Selector), ApiError> {
    let l = Selector::parse(q.get("labelSelector").unwrap_or(""))
        .map_err(|e| ApiError::new(400, "BadRequest", e))?;
    let f = Selector::parse_fields(q.get("fieldSelector").unwrap_or(""), kind)
        .map_err(|e| ApiError::new(400, "BadRequest", e))?;
    Ok((l, f))
}

pub(super) fn matches(obj: &Value, l: &Selector, f: &Selector) -> bool {
    (l.is_empty() || l.matches_labels(&obj["metadata"]["labels"]))
        && (f.is_empty() || f.matches_fields(obj))
}

/// The store's kind behind a served kind: events.k8s.io/v1 Events are
/// the core Events.
pub(super) fn stored_kind(sh: &Shared, kind: &Kind) -> Kind {
    if kind.group == "events.k8s.io" {
        return sh.store.kind("", "Event").expect("core events");
    }
    kind.clone()
}

/// A core Event as events.k8s.io/v1 shows it.
pub fn event_v1(e: &Value) -> Value {
    let mut v = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": e["metadata"],
        "eventTime": e["eventTime"], "reportingController": e["reportingComponent"],
        "reportingInstance": e["reportingInstance"], "reason": e["reason"], "regarding": e["involvedObject"],
        "note": e["message"], "type": e["type"], "deprecatedSource": e["source"],
        "deprecatedFirstTimestamp": e["firstTimestamp"], "deprecatedLastTimestamp": e["lastTimestamp"],
    });
    for (from, to) in [
        ("action", "action"),
        ("count", "deprecatedCount"),
        ("series", "series"),
        ("related", "related"),
    ] {
        if !e[from].is_null() {
            v[to] = e[from].clone();
        }
    }
    v
}

fn converted(kind: &Kind, s: &Arc<Stored>) -> Value {
    if kind.group == "events.k8s.io" {
        event_v1(&s.value)
    } else {
        s.value.clone()
    }
}

/// GET of one object, its status, or its scale.
pub fn get(sh: &Shared, t: &Target, headers: &hyper::HeaderMap) -> Response<Body> {
    let name = t.name.as_deref().unwrap_or("");
    let ns = t.ns.as_deref().unwrap_or("");
    let kind = stored_kind(sh, &t.kind);
    let Some(s) = sh.store.get_stored(&kind, ns, name) else {
        return error_response(&ApiError::not_found(&t.kind, name));
    };
    match t.sub.as_deref() {
        None | Some("status") => {}
        Some("scale") if t.kind.subresources.iter().any(|x| x.0 == "scale") => {
            return json_response(200, &scale_of(&s.value))
        }
        Some(_) => return error_response(&ApiError::no_resource()),
    }
    if crate::table::wants_table(accept(headers)) {
        let v = converted(&t.kind, &s);
        let meta = json!({"resourceVersion": v["metadata"]["resourceVersion"]});
        return json_response(200, &crate::table::table(&t.kind.kind, &[v], &meta));
    }
    if t.kind.group == "events.k8s.io" {
        return json_response(200, &event_v1(&s.value));
    }
    object_response(200, &s)
}

fn accept(headers: &hyper::HeaderMap) -> &str {
    headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The autoscaling/v1 Scale of a workload.
pub(super) fn scale_of(o: &Value) -> Value {
    let md = &o["metadata"];
    let sel = crate::table::pairs(&o["spec"]["selector"]["matchLabels"]);
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": md["name"], "namespace": md["namespace"], "uid": md["uid"],
                     "resourceVersion": md["resourceVersion"], "creationTimestamp": md["creationTimestamp"]},
        "spec": {"replicas": o["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": o["status"]["replicas"].as_i64().unwrap_or(0), "selector": sel},
    })
}

/// A continue token as the API server makes it: base64url of
/// `{"v":"meta.k8s.io/v1","rv":RV,"start":"KEY\u0000"}`.
fn token(rv: u64, key: &(String, String), namespaced_list: bool) -> String {
    let start = if namespaced_list || key.0.is_empty() {
        format!("{}\u{0}", key.1)
    } else {
        format!("{}/{}\u{0}", key.0, key.1)
    };
    let j = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(j.to_string())
}

fn read_token(
    c: &str,
    namespaced_list: bool,
    ns: Option<&str>,
) -> Result<(u64, (String, String)), ApiError> {
    let bad =
        |why: String| ApiError::new(400, "BadRequest", format!("invalid continue token: {why}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c.trim_end_matches('='))
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(c))
        .map_err(|e| bad(format!("illegal base64 data: {e}")))?;
    let text = String::from_utf8_lossy(&raw);
    let v: Value = serde_json::from_str(&text).map_err(|_| {
        bad(format!(
            "continue key is not valid: {}",
            crate::gojson::syntax_error(&text)
                .unwrap_or_else(|| "incorrect encoded start resourceVersion".into())
        ))
    })?;
    if v["v"] != "meta.k8s.io/v1" {
        return Err(bad("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)".into()));
    }
    let rv = v["rv"].as_u64().ok_or_else(|| {
        bad("continue key is not valid: incorrect encoded start resourceVersion".into())
    })?;
    let start = v["start"]
        .as_str()
        .unwrap_or("")
        .trim_end_matches('\u{0}')
        .trim_start_matches('/');
    let key = if namespaced_list {
        (ns.unwrap_or("").to_string(), start.to_string())
    } else {
        match start.split_once('/') {
            Some((n, name)) => (n.to_string(), name.to_string()),
            None => (String::new(), start.to_string()),
        }
    };
    Ok((rv, key))
}

/// Which snapshot a list reads, from `resourceVersion`,
/// `resourceVersionMatch` and `continue`.
fn list_rv(sh: &Shared, q: &Query) -> Result<Option<u64>, ApiError> {
    let rv = q.get("resourceVersion").filter(|s| !s.is_empty());
    match (rv, q.get("resourceVersionMatch")) {
        (Some(r), Some("Exact")) => {
            let r: u64 = r.parse().map_err(|_| {
                ApiError::new(400, "BadRequest", format!("invalid resource version: {r}"))
            })?;
            if !sh.store.can_read_at(r) {
                return Err(ApiError::new(
                    410,
                    "Expired",
                    "The resourceVersion for the provided list is too old.",
                ));
            }
            Ok(Some(r))
        }
        (None, Some(m)) if !m.is_empty() => Err(ApiError::new(
            400,
            "BadRequest",
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
        )),
        (Some(r), _) => {
            let r: u64 = r.parse().map_err(|_| {
                ApiError::new(400, "BadRequest", format!("invalid resource version: {r}"))
            })?;
            let cur = sh.store.current_rv();
            if r > cur {
                return Err(ApiError::new(
                    504,
                    "Timeout",
                    format!("Too large resource version: {r}, current: {cur}"),
                ));
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// A list answer: each item's stored JSON, concatenated (no deep copies).
pub fn list(sh: &Shared, t: &Target, q: &Query, headers: &hyper::HeaderMap) -> Response<Body> {
    match list_inner(sh, t, q, crate::table::wants_table(accept(headers))) {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

fn list_inner(
    sh: &Shared,
    t: &Target,
    q: &Query,
    as_table: bool,
) -> Result<Response<Body>, ApiError> {
    let kind = stored_kind(sh, &t.kind);
    let (l, f) = selectors(&t.kind, q)?;
    let at = list_rv(sh, q)?;
    // resourceVersion=0 is served from the watch cache: no pages
    let limit: usize = match q.get("resourceVersion") {
        Some("0") => 0,
        _ => q.get("limit").and_then(|s| s.parse().ok()).unwrap_or(0),
    };
    let namespaced_list = t.ns.is_some() && kind.namespaced;
    let (after, at) = match q.get("continue").filter(|c| !c.is_empty()) {
        Some(c) => {
            let (rv, key) = read_token(c, namespaced_list, t.ns.as_deref())?;
            (Some(key), Some(rv))
        }
        None => (None, at),
    };
    let filtered = !l.is_empty() || !f.is_empty();
    let page = sh
        .store
        .list_page(&kind, t.ns.as_deref(), after, limit, filtered, at, |o| {
            matches(o, &l, &f)
        })?;
    let mut meta = json!({"resourceVersion": page.rv.to_string()});
    if let Some(key) = &page.next {
        meta["continue"] = json!(token(page.rv, key, namespaced_list));
        if let Some(n) = page.remaining {
            meta["remainingItemCount"] = json!(n);
        }
    }
    if as_table {
        let values: Vec<Value> = page.items.iter().map(|s| converted(&t.kind, s)).collect();
        return Ok(json_response(
            200,
            &crate::table::table(&t.kind.kind, &values, &meta),
        ));
    }
    if t.kind.group == "events.k8s.io" {
        let items: Vec<Value> = page
            .items
            .iter()
            .map(|s| strip_type(event_v1(&s.value)))
            .collect();
        return Ok(json_response(
            200,
            &json!({"kind": "EventList", "apiVersion": "events.k8s.io/v1", "metadata": meta, "items": items}),
        ));
    }
    Ok(list_body(&t.kind, &meta, &page.items))
}

fn strip_type(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
    }
    v
}

/// `{"apiVersion":..,"items":[..],"kind":"XList","metadata":..}` from
/// the items' stored bytes.
pub(super) fn list_body(kind: &Kind, meta: &Value, items: &[Arc<Stored>]) -> Response<Body> {
    let head = json!({"kind": format!("{}List", kind.kind), "apiVersion": kind.api_version(), "metadata": meta});
    let head = serde_json::to_vec(&head).unwrap_or_default();
    let mut body =
        Vec::with_capacity(head.len() + items.iter().map(|s| s.bare.len() + 1).sum::<usize>() + 16);
    body.extend_from_slice(&head[..head.len() - 1]);
    body.extend_from_slice(b",\"items\":[");
    for (n, s) in items.iter().enumerate() {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&s.bare);
    }
    body.extend_from_slice(b"]}");
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(crate::http::full(body))
        .expect("list response")
}
