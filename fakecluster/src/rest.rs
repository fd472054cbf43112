//! Resource requests: get, list (selectors, pagination), watch, create,
//! replace, patch (merge, strategic, JSON, apply), delete, status.

use crate::http::{error_response, json_response, read_body, tokio_stream_from, Body, Query};
use crate::kinds::Kind;
use crate::select::Selector;
use crate::shared::Shared;
use crate::store::{ApiError, Event};
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response};
use serde_json::{json, Value};
use std::sync::Arc;

/// What a resource URL names.
pub struct Target {
    pub kind: Kind,
    pub ns: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
}

fn parse_target(sh: &Shared, path: &str) -> Result<Result<Target, Response<Body>>, ApiError> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        ["apis", g] => {
            return Ok(Err(match crate::discovery::api_group(&sh.store, g) {
                Some(v) => json_response(200, &v),
                None => error_response(&ApiError::new(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                )),
            }))
        }
        _ => {
            return Err(ApiError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ))
        }
    };
    if rest.is_empty() {
        return Ok(Err(
            match crate::discovery::resource_list(&sh.store, group, version) {
                Some(v) => json_response(200, &v),
                None => error_response(&ApiError::new(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                )),
            },
        ));
    }
    let find = |plural: &str| {
        sh.store
            .kind_by_path(group, version, plural)
            .ok_or_else(|| {
                ApiError::new(
                    404,
                    "NotFound",
                    format!("the server could not find the requested resource ({plural}.{group})"),
                )
            })
    };
    let t = match rest {
        ["namespaces", ns, plural, more @ ..]
            if sh.store.kind_by_path(group, version, plural).is_some() =>
        {
            Target {
                kind: find(plural)?,
                ns: Some(ns.to_string()),
                name: more.first().map(|s| s.to_string()),
                sub: more.get(1).map(|s| s.to_string()),
            }
        }
        [plural, more @ ..] => Target {
            kind: find(plural)?,
            ns: None,
            name: more.first().map(|s| s.to_string()),
            sub: more.get(1).map(|s| s.to_string()),
        },
        [] => unreachable!(),
    };
    Ok(Ok(t))
}

/// Serve a resource request, timed into `/metrics` like the API server's
/// request metrics (long-running WATCH and CONNECT requests are not).
pub async fn route(sh: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let t0 = std::time::Instant::now();
    let key = metric_key(&sh, &req);
    let r = route_inner(sh.clone(), req).await;
    if let Some(k) = key {
        sh.metrics
            .observe(k, r.status().as_u16(), t0.elapsed().as_secs_f64());
    }
    r
}

/// (VERB, group, version, resource, subresource, scope) as kube-apiserver
/// labels a request; None for WATCH and CONNECT.
fn metric_key(sh: &Shared, req: &Request<Incoming>) -> Option<crate::metrics::Key> {
    let t = parse_target(sh, req.uri().path()).ok()?.ok()?;
    let q = Query::parse(req.uri().query());
    let sub = t.sub.clone().unwrap_or_default();
    if q.flag("watch") || ["exec", "attach", "portforward", "proxy"].contains(&sub.as_str()) {
        return None;
    }
    let verb = match (req.method(), &t.name) {
        (&Method::GET, None) => "LIST",
        (&Method::GET, Some(_)) => "GET",
        (&Method::POST, _) => "POST",
        (&Method::PUT, _) => "PUT",
        (&Method::PATCH, _) => {
            if req
                .headers()
                .get("content-type")
                .is_some_and(|v| v.as_bytes().starts_with(b"application/apply-patch"))
            {
                "APPLY"
            } else {
                "PATCH"
            }
        }
        (&Method::DELETE, None) => "DELETECOLLECTION",
        (&Method::DELETE, Some(_)) => "DELETE",
        _ => return None,
    };
    let scope = if t.name.is_some() || (verb == "POST" && !t.kind.namespaced) {
        "resource"
    } else if t.ns.is_some() {
        if verb == "POST" {
            "resource"
        } else {
            "namespace"
        }
    } else {
        "cluster"
    };
    Some((
        verb.to_string(),
        t.kind.group.clone(),
        t.kind.version.clone(),
        t.kind.plural.clone(),
        sub,
        scope.to_string(),
    ))
}

async fn route_inner(sh: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let t = match parse_target(&sh, &path) {
        Ok(Ok(t)) => t,
        Ok(Err(resp)) => return resp,
        Err(e) => return error_response(&e),
    };
    let q = Query::parse(req.uri().query());
    let method = req.method().clone();
    let as_table = crate::table::wants_table(
        req.headers()
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    );
    let res = t.kind.key();
    let verb = match (&method, &t.name, &t.sub) {
        (&Method::GET, None, _) if q.flag("watch") => "watch",
        (&Method::GET, None, _) => "list",
        (&Method::GET, Some(_), None) => "get",
        (_, Some(_), Some(sub))
            if ["log", "exec", "attach", "portforward"].contains(&sub.as_str()) =>
        {
            sub.as_str()
        }
        (&Method::GET, Some(_), Some(_)) => "get",
        (&Method::POST, _, _) => "create",
        (&Method::PUT, _, _) => "update",
        (&Method::PATCH, _, _) => "patch",
        (&Method::DELETE, None, _) => "deletecollection",
        (&Method::DELETE, _, _) => "delete",
        _ => "other",
    };
    sh.count(verb, &res);
    if let Some(e) = sh.faults.rbac_denies(&t.kind, t.ns.as_deref(), verb) {
        return error_response(&e);
    }
    let ns = t.ns.clone().unwrap_or_default();
    let r = match verb {
        "watch" => return watch(sh, t, q),
        "list" => {
            return match list(&sh, &t, &q, as_table) {
                Ok(r) => r,
                Err(e) => error_response(&e),
            }
        }
        "get" => get(&sh, &t),
        "log" => {
            return crate::streams::logs(sh, &ns, t.name.as_deref().unwrap_or_default(), &q).await
        }
        "exec" | "attach" | "portforward" => {
            return crate::streams::upgrade(
                sh,
                req,
                verb,
                &ns,
                t.name.as_deref().unwrap_or_default(),
                q,
            )
            .await
        }
        "create" => match read_json_body(req).await {
            Ok(b) => create(&sh, &t, &b),
            Err(e) => Err(e),
        },
        "update" => match read_json_body(req).await {
            Ok(b) => update(&sh, &t, &b),
            Err(e) => Err(e),
        },
        "patch" => match read_body(req).await {
            Ok((parts, b)) => {
                let ct = parts
                    .headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                patch(&sh, &t, &q, &ct, &b)
            }
            Err(e) => Err(e),
        },
        "delete" => {
            let body = read_body(req).await.map(|(_, b)| b).unwrap_or_default();
            delete(&sh, &t, &q, &body)
        }
        "deletecollection" => delete_collection(&sh, &t, &q),
        _ => Err(ApiError::new(405, "MethodNotAllowed", "method not allowed")),
    };
    match r {
        Ok((code, v)) if as_table && (verb == "list" || verb == "get") && t.sub.is_none() => {
            let (items, meta) = match v["items"].as_array() {
                Some(items) => (items.clone(), v["metadata"].clone()),
                None => (
                    vec![v.clone()],
                    json!({"resourceVersion": v["metadata"]["resourceVersion"]}),
                ),
            };
            json_response(code, &crate::table::table(&t.kind.kind, &items, &meta))
        }
        Ok((code, v)) => json_response(code, &v),
        Err(e) => error_response(&e),
    }
}

fn selectors(q: &Query) -> Result<(Selector, Selector), ApiError> {
    let l = Selector::parse(q.get("labelSelector").unwrap_or(""))
        .map_err(|e| ApiError::new(400, "BadRequest", e))?;
    let f = Selector::parse(q.get("fieldSelector").unwrap_or(""))
        .map_err(|e| ApiError::new(400, "BadRequest", e))?;
    Ok((l, f))
}

fn matches(obj: &Value, l: &Selector, f: &Selector) -> bool {
    (l.is_empty() || l.matches_labels(&obj["metadata"]["labels"]))
        && (f.is_empty() || f.matches_fields(obj))
}

/// A list answer: the stored JSON of each item, concatenated (no deep copies).
fn list(sh: &Shared, t: &Target, q: &Query, as_table: bool) -> Result<Response<Body>, ApiError> {
    let (l, f) = selectors(q)?;
    let limit: usize = q.get("limit").and_then(|s| s.parse().ok()).unwrap_or(0);
    // like the API server, every page of a list belongs to the first
    // page's snapshot: its resourceVersion travels in the continue token,
    // with the key to go on after, as etcd's range reads do (the fake
    // serves later pages from the current state, so a watch from that
    // resourceVersion may repeat changes, never miss them)
    let (after, first_rv) = match q.get("continue").filter(|c| !c.is_empty()) {
        Some(c) => {
            let bad = || ApiError::new(400, "BadRequest", "invalid continue token");
            let (rv, key) = c.split_once('-').ok_or_else(bad)?;
            let (ns, name) = key.split_once('/').ok_or_else(bad)?;
            (
                Some((ns.to_string(), name.to_string())),
                Some(rv.parse::<u64>().map_err(|_| bad())?),
            )
        }
        None => (None, None),
    };
    let filtered = !l.is_empty() || !f.is_empty();
    let page = sh
        .store
        .list_page(&t.kind, t.ns.as_deref(), after, limit, filtered, |o| {
            matches(o, &l, &f)
        });
    let rv = first_rv.unwrap_or(page.rv);
    let items = page.items;
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some((ns, name)) = page.next {
        meta["continue"] = json!(format!("{rv}-{ns}/{name}"));
        if let Some(n) = page.remaining {
            meta["remainingItemCount"] = json!(n);
        }
    }
    if as_table {
        let values: Vec<Value> = items.iter().map(|s| s.value.clone()).collect();
        return Ok(json_response(
            200,
            &crate::table::table(&t.kind.kind, &values, &meta),
        ));
    }
    let head = json!({"kind": format!("{}List", t.kind.kind), "apiVersion": t.kind.api_version(), "metadata": meta});
    let head = serde_json::to_vec(&head).unwrap_or_default();
    let mut body =
        Vec::with_capacity(head.len() + items.iter().map(|s| s.json.len() + 1).sum::<usize>() + 16);
    body.extend_from_slice(&head[..head.len() - 1]);
    body.extend_from_slice(b",\"items\":[");
    for (n, s) in items.iter().enumerate() {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&s.json);
    }
    body.extend_from_slice(b"]}");
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(crate::http::full(body))
        .expect("list response"))
}

fn need_name(t: &Target) -> Result<&str, ApiError> {
    t.name
        .as_deref()
        .ok_or_else(|| ApiError::new(405, "MethodNotAllowed", "a resource name is required"))
}

fn get(sh: &Shared, t: &Target) -> Result<(u16, Value), ApiError> {
    let name = need_name(t)?;
    let ns = t.ns.as_deref().unwrap_or("");
    sh.store
        .get(&t.kind, ns, name)
        .map(|o| (200, o))
        .ok_or_else(|| ApiError::not_found(&t.kind, name))
}

fn parse_obj(b: &Bytes) -> Result<Value, ApiError> {
    let s = std::str::from_utf8(b)
        .map_err(|_| ApiError::new(400, "BadRequest", "body is not UTF-8"))?;
    match serde_json::from_str(s) {
        Ok(v) => Ok(v),
        Err(_) => serde_saphyr::from_str::<Value>(s)
            .map_err(|e| ApiError::new(400, "BadRequest", format!("invalid body: {e}"))),
    }
}

fn create(sh: &Shared, t: &Target, b: &Bytes) -> Result<(u16, Value), ApiError> {
    let obj = parse_obj(b)?;
    let ns =
        t.ns.clone()
            .or_else(|| obj["metadata"]["namespace"].as_str().map(str::to_string))
            .unwrap_or_default();
    if let (Some(kind), Some(want)) = (obj["kind"].as_str(), Some(&t.kind.kind)) {
        if kind != want && t.sub.is_none() {
            return Err(ApiError::new(
                400,
                "BadRequest",
                format!(
                    "the API version in the data ({}) does not match the expected API version ({})",
                    kind, want
                ),
            ));
        }
    }
    let obj = crate::admission::admit(sh, &t.kind, &ns, obj)?;
    sh.store.create(&t.kind, &ns, obj).map(|o| (201, o))
}

fn update(sh: &Shared, t: &Target, b: &Bytes) -> Result<(u16, Value), ApiError> {
    let name = need_name(t)?;
    let obj = parse_obj(b)?;
    let ns = t.ns.as_deref().unwrap_or("");
    let status_only = t.sub.as_deref() == Some("status");
    sh.store
        .update(&t.kind, ns, name, obj, status_only)
        .map(|o| (200, o))
}

fn patch(
    sh: &Shared,
    t: &Target,
    q: &Query,
    ct: &str,
    b: &Bytes,
) -> Result<(u16, Value), ApiError> {
    let name = need_name(t)?.to_string();
    let ns = t.ns.clone().unwrap_or_default();
    let p = parse_obj(b)?;
    let status_only = t.sub.as_deref() == Some("status");
    let ct = ct.split(';').next().unwrap_or("").trim();
    if ct == "application/apply-patch+yaml" {
        if q.get("fieldManager").unwrap_or("").is_empty() {
            return Err(ApiError::new(
                400,
                "BadRequest",
                "PATCH, application/apply-patch+yaml requires fieldManager to be set",
            ));
        }
        // dryRun=All: the answer the request would get, nothing stored
        let dry = q.get("dryRun") == Some("All");
        return match sh.store.get(&t.kind, &ns, &name) {
            None => {
                let mut obj = p;
                obj["metadata"]["name"] = json!(name);
                let mut obj = crate::admission::admit(sh, &t.kind, &ns, obj)?;
                if dry {
                    if t.kind.namespaced
                        && sh
                            .store
                            .get(&sh.store.kind("", "Namespace").unwrap(), "", &ns)
                            .is_none()
                    {
                        return Err(ApiError::new(
                            404,
                            "NotFound",
                            format!("namespaces \"{ns}\" not found"),
                        ));
                    }
                    if t.kind.namespaced {
                        obj["metadata"]["namespace"] = json!(ns);
                    }
                    obj["metadata"]["creationTimestamp"] = json!(crate::store::now());
                    return Ok((201, obj));
                }
                sh.store.create(&t.kind, &ns, obj).map(|o| (201, o))
            }
            Some(mut cur) => {
                let mut p = p;
                if let Some(m) = p["metadata"].as_object_mut() {
                    m.remove("resourceVersion");
                }
                if status_only {
                    let mut st = cur.get("status").cloned().unwrap_or(json!({}));
                    crate::patch::apply(&mut st, &p["status"]);
                    cur["status"] = st;
                } else {
                    crate::patch::apply(&mut cur, &p);
                }
                if dry {
                    return Ok((200, cur));
                }
                if let Some(m) = cur["metadata"].as_object_mut() {
                    m.remove("resourceVersion");
                }
                sh.store
                    .update(&t.kind, &ns, &name, cur, status_only)
                    .map(|o| (200, o))
            }
        };
    }
    let Some(mut cur) = sh.store.get(&t.kind, &ns, &name) else {
        return Err(ApiError::not_found(&t.kind, &name));
    };
    match ct {
        "application/json-patch+json" => crate::patch::json_patch(&mut cur, &p).map_err(|e| ApiError::new(422, "Invalid", e))?,
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => crate::patch::merge(&mut cur, &p),
        other => return Err(ApiError::new(415, "UnsupportedMediaType", format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {other})"))),
    }
    let keep_rv = p["metadata"]["resourceVersion"].is_string();
    if !keep_rv {
        if let Some(m) = cur["metadata"].as_object_mut() {
            m.remove("resourceVersion");
        }
    }
    sh.store
        .update(&t.kind, &ns, &name, cur, status_only)
        .map(|o| (200, o))
}

/// DELETE with the API's propagation rules: `propagationPolicy` from the
/// query or the DeleteOptions body; without one, Jobs orphan their pods
/// (batch/v1's default, as on a real server) and other kinds delete them
/// in the background. Orphans lose their ownerReference.
/// A create or update body as JSON: kubectl sends built-in kinds as
/// protobuf (`kubectl create configmap ...`), read here like a real server.
async fn read_json_body(req: Request<Incoming>) -> Result<Bytes, ApiError> {
    let (parts, b) = read_body(req).await?;
    let ct = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !crate::protobuf::is_protobuf(ct, &b) {
        return Ok(b);
    }
    let v =
        crate::protobuf::to_json(&b).map_err(|e| ApiError::new(415, "UnsupportedMediaType", e))?;
    Ok(Bytes::from(serde_json::to_vec(&v).unwrap_or_default()))
}

fn delete(sh: &Shared, t: &Target, q: &Query, body: &[u8]) -> Result<(u16, Value), ApiError> {
    let name = need_name(t)?;
    let ns = t.ns.as_deref().unwrap_or("");
    let opts: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let policy = q
        .get("propagationPolicy")
        .map(str::to_string)
        .or_else(|| opts["propagationPolicy"].as_str().map(str::to_string))
        .or_else(|| (opts["orphanDependents"] == true).then(|| "Orphan".to_string()))
        .unwrap_or_else(|| {
            if t.kind.group == "batch" && t.kind.kind == "Job" {
                "Orphan".into()
            } else {
                "Background".into()
            }
        });
    if !["Orphan", "Background", "Foreground"].contains(&policy.as_str()) {
        return Err(ApiError::new(
            400,
            "BadRequest",
            format!("propagationPolicy: Unsupported value: \"{policy}\": supported values: \"Orphan\", \"Background\", \"Foreground\""),
        ));
    }
    if policy == "Orphan" {
        if let Some(o) = sh.store.get(&t.kind, ns, name) {
            crate::controllers::orphan_dependents(sh, &o);
        }
    }
    sh.store.delete(&t.kind, ns, name).map(|o| (200, o))
}

fn delete_collection(sh: &Shared, t: &Target, q: &Query) -> Result<(u16, Value), ApiError> {
    let (l, f) = selectors(q)?;
    let (items, _) = sh.store.list(&t.kind, t.ns.as_deref());
    let mut deleted = vec![];
    for o in items.into_iter().filter(|o| matches(o, &l, &f)) {
        let ns = o["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let name = o["metadata"]["name"].as_str().unwrap_or("").to_string();
        if let Ok(d) = sh.store.delete(&t.kind, &ns, &name) {
            deleted.push(d);
        }
    }
    Ok((
        200,
        json!({"kind": format!("{}List", t.kind.kind), "apiVersion": t.kind.api_version(), "metadata": {}, "items": deleted}),
    ))
}

/// One line of a watch: `{"type":TYPE,"object":JSON}`.
fn event_line(etype: &str, json: &[u8]) -> Bytes {
    let mut s = Vec::with_capacity(json.len() + etype.len() + 24);
    s.extend_from_slice(b"{\"type\":\"");
    s.extend_from_slice(etype.as_bytes());
    s.extend_from_slice(b"\",\"object\":");
    s.extend_from_slice(json);
    s.extend_from_slice(b"}\n");
    Bytes::from(s)
}

fn value_line(etype: &str, obj: &Value) -> Bytes {
    event_line(etype, &serde_json::to_vec(obj).unwrap_or_default())
}

/// A watch: initial events (or history since `resourceVersion`), then live
/// events, bookmarks, until timeout, a fault, or the client leaves.
fn watch(sh: Arc<Shared>, t: Target, q: Query) -> Response<Body> {
    let (l, f) = match selectors(&q) {
        Ok(x) => x,
        Err(e) => return error_response(&e),
    };
    let mut rx = sh.store.subscribe();
    let mut dropper = sh.faults.watch_dropper();
    let res = t.kind.key();
    let ns_filter = t.ns.clone();
    let name_filter = t.name.clone();
    let rv_param = q.get("resourceVersion").unwrap_or("").to_string();
    let bookmarks = q.flag("allowWatchBookmarks");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(std::time::Duration::from_secs);
    let kind = t.kind.clone();
    let (tx, body_rx) = tokio::sync::mpsc::channel::<Bytes>(256);
    let keep = move |ev_res: &str, ev_ns: &str, obj: &Value| {
        ev_res == res
            && ns_filter.as_deref().is_none_or(|n| n == ev_ns)
            && name_filter
                .as_deref()
                .is_none_or(|n| obj["metadata"]["name"] == n)
            && matches(obj, &l, &f)
    };
    let stop = sh.shutdown.clone();
    let injected = sh.faults.take_watch_error();
    let mut stall = sh.faults.stall_receiver();
    tokio::spawn(async move {
        if let Some(code) = injected {
            let st =
                ApiError::new(code, "Injected", format!("injected watch error {code}")).status();
            let _ = tx.send(value_line("ERROR", &st)).await;
            return;
        }
        let mut last;
        if rv_param.is_empty() || rv_param == "0" {
            let (items, rv) = sh.store.list_stored(&kind, None);
            for o in items {
                let ns = o.value["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                if keep(&kind.key(), &ns, &o.value)
                    && tx.send(event_line("ADDED", &o.json)).await.is_err()
                {
                    return;
                }
            }
            last = rv;
        } else {
            let rv: u64 = rv_param.parse().unwrap_or(0);
            match sh.store.events_since(rv) {
                Err(e) => {
                    let _ = tx.send(value_line("ERROR", &e.status())).await;
                    return;
                }
                Ok(evs) => {
                    last = rv;
                    for e in evs {
                        last = e.rv;
                        if keep(&e.res, &e.ns, &e.object.value)
                            && tx.send(event_line(e.etype, &e.object.json)).await.is_err()
                        {
                            return;
                        }
                    }
                }
            }
        }
        if bookmarks {
            let _ = tx
                .send(value_line("BOOKMARK", &bookmark(&kind, last)))
                .await;
        }
        let deadline = async {
            match timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
        tick.tick().await;
        // a stalled watch keeps its connection and says nothing
        if sh.faults.watches_stalled() {
            stalled(&sh).await;
            return;
        }
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = dropper.recv() => return,
                _ = stop.cancelled() => return,
                _ = stall_started(&mut stall) => {
                    stalled(&sh).await;
                    return;
                }
                _ = tick.tick(), if bookmarks => {
                    if tx.send(value_line("BOOKMARK", &bookmark(&kind, last.max(sh.store.current_rv())))).await.is_err() { return; }
                }
                ev = rx.recv() => {
                    let ev: Arc<Event> = match ev {
                        Ok(e) => e,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                        Err(_) => return,
                    };
                    if sh.faults.watches_stalled() {
                        stalled(&sh).await;
                        return;
                    }
                    if ev.rv <= last { continue; }
                    last = ev.rv;
                    if keep(&ev.res, &ev.ns, &ev.object.value) && tx.send(event_line(ev.etype, &ev.object.json)).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let stream = tokio_stream_from(body_rx).map(|b| Ok::<_, std::io::Error>(Frame::data(b)));
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("transfer-encoding", "chunked")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .expect("watch response")
}

/// Resolves when the stall fault is switched on.
async fn stall_started(rx: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        let r = rx.changed().await;
        if r.is_err() {
            return std::future::pending().await;
        }
        if *rx.borrow_and_update() {
            return;
        }
    }
}

/// A stalled watch: silent until the fault is healed, then closed (events
/// meanwhile are lost to this connection, as on a dead one).
async fn stalled(sh: &Shared) {
    while sh.faults.watches_stalled() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn bookmark(kind: &Kind, rv: u64) -> Value {
    json!({"kind": kind.kind, "apiVersion": kind.api_version(), "metadata": {"resourceVersion": rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}})
}
