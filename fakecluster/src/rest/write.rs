//! Writes: POST (objects, reviews, a pod's binding and eviction, a
//! service account's token), PUT (objects, `status`, `scale`, a
//! namespace's `finalize`), PATCH (JSON, merge, strategic merge and
//! server-side apply with field ownership), DELETE (grace periods,
//! finalizers, propagation; a Job's orphaning default and its Warning)
//! and DELETE of a collection, each answered as the API server answers.

use super::body;
use super::read::{list_body, matches, scale_of, selectors};
use super::target::{object_response, Target, User};
use crate::errors::{ApiError, Cause};
use crate::fields::Part;
use crate::http::{error_response, json_response, read_body, Body, Query};
use crate::kinds::Kind;
use crate::shared::Shared;
use crate::store::{DeleteOptions, Deletion, Track};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};

type Answer = Result<Response<Body>, ApiError>;

fn answer(r: Answer) -> Response<Body> {
    r.unwrap_or_else(|e| error_response(&e))
}

fn not_allowed() -> ApiError {
    ApiError::new(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
    )
    .with_details(json!({}))
}

/// The body's object checked against the request: its kind, its namespace.
fn checked_object(t: &Target, media: &str, b: &Bytes) -> Result<Value, ApiError> {
    let mut obj = body::object(&t.kind, media, b)?;
    if let Some(k) = obj["kind"]
        .as_str()
        .filter(|k| *k != t.kind.kind && t.sub.is_none())
    {
        return Err(ApiError::new(
            400,
            "BadRequest",
            format!(
                "the API version in the data ({}) does not match the expected API version ({})",
                obj["apiVersion"].as_str().unwrap_or(k),
                t.kind.api_version()
            ),
        ));
    }
    if let (Some(body_ns), Some(path_ns)) = (obj["metadata"]["namespace"].as_str(), t.ns.as_deref())
    {
        if t.kind.namespaced && !body_ns.is_empty() && body_ns != path_ns {
            return Err(ApiError::new(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request"));
        }
    }
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    // what only the server sets
    if let Some(m) = obj["metadata"].as_object_mut() {
        for f in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "managedFields",
        ] {
            if t.name.is_none() || f != "resourceVersion" {
                m.remove(f);
            }
        }
    }
    Ok(obj)
}

/// Admission (defaults, PodSecurity, Service addresses), then validation.
fn admitted(sh: &Shared, kind: &Kind, ns: &str, obj: Value) -> Result<Value, ApiError> {
    let obj = crate::admission::admit(sh, kind, ns, obj)?;
    crate::validate::object(kind, &obj)?;
    Ok(obj)
}

pub async fn create(sh: &Shared, t: &Target, q: &Query, req: Request<Incoming>) -> Response<Body> {
    answer(create_inner(sh, t, q, req).await)
}

async fn create_inner(sh: &Shared, t: &Target, q: &Query, req: Request<Incoming>) -> Answer {
    let user = req.extensions().get::<User>().cloned();
    let (parts, b) = read_body(req).await?;
    let media = body::media_type(&parts.headers);
    let manager = body::manager(q, &parts.headers);
    let ns = t.ns.clone().unwrap_or_default();
    if let (Some(name), Some(sub)) = (t.name.as_deref(), t.sub.as_deref()) {
        return subresource_create(sh, t, &ns, name, sub, &body::object(&t.kind, &media, &b)?);
    }
    if t.name.is_some() {
        return Err(not_allowed());
    }
    let obj = checked_object(t, &media, &b)?;
    if t.kind.virtual_only() {
        return Ok(json_response(201, &review(&t.kind, obj, user.as_ref())));
    }
    let obj = admitted(sh, &t.kind, &ns, obj)?;
    if body::dry_run(q)? {
        let mut o = obj;
        o["apiVersion"] = json!(t.kind.api_version());
        o["kind"] = json!(t.kind.kind);
        o["metadata"]["creationTimestamp"] = json!(crate::store::now());
        return Ok(json_response(201, &o));
    }
    let created = sh.store.create(&t.kind, &ns, obj, Track::By(&manager))?;
    Ok(json_response(201, &created))
}

/// A review's answer: allowed (the fake's own user may do anything).
fn review(kind: &Kind, mut obj: Value, user: Option<&User>) -> Value {
    let name = user.map_or("kubernetes-admin", |u| u.name.as_str());
    obj["apiVersion"] = json!(kind.api_version());
    obj["kind"] = json!(kind.kind);
    obj["metadata"]["creationTimestamp"] = Value::Null;
    let admin = user.is_none_or(|u| u.admin);
    obj["status"] = match kind.kind.as_str() {
        "SelfSubjectReview" => {
            json!({"userInfo": {"username": name, "groups": ["kubeadm:cluster-admins", "system:authenticated"]}})
        }
        "TokenReview" => {
            json!({"authenticated": true, "user": {"username": name, "groups": ["system:authenticated"]}, "audiences": ["https://kubernetes.default.svc.cluster.local"]})
        }
        "SelfSubjectRulesReview" => {
            json!({"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}], "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": false})
        }
        _ if admin => {
            json!({"allowed": true, "reason": "the fake API server allows its own user everything"})
        }
        _ => json!({"allowed": false}),
    };
    obj
}

fn success(details: Value) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}

fn subresource_create(
    sh: &Shared,
    t: &Target,
    ns: &str,
    name: &str,
    sub: &str,
    obj: &Value,
) -> Answer {
    match (t.kind.plural.as_str(), sub) {
        ("pods", "binding") => {
            let node = obj["target"]["name"].as_str().unwrap_or("").to_string();
            crate::controllers::bind(sh, ns, name, &node)?;
            Ok(json_response(201, &success(json!({}))))
        }
        ("pods", "eviction") => {
            let opts = delete_options(&Query::parse(None), &obj["deleteOptions"])?;
            sh.store.delete_request(&t.kind, ns, name, &opts)?;
            Ok(json_response(201, &success(json!({}))))
        }
        ("serviceaccounts", "token") => {
            if sh.store.get(&t.kind, ns, name).is_none() {
                return Err(ApiError::not_found(&t.kind, name));
            }
            let secs = obj["spec"]["expirationSeconds"].as_u64().unwrap_or(3600);
            let exp = crate::store::rfc3339(
                std::time::SystemTime::now() + std::time::Duration::from_secs(secs),
            );
            Ok(json_response(
                201,
                &json!({
                    "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                    "metadata": {"name": name, "namespace": ns, "creationTimestamp": null},
                    "spec": {"audiences": ["https://kubernetes.default.svc.cluster.local"], "expirationSeconds": secs},
                    "status": {"token": format!("fake-sa-token.{ns}.{name}"), "expirationTimestamp": exp},
                }),
            ))
        }
        _ => Err(ApiError::no_resource()),
    }
}

/// What a PUT or PATCH of one object sent: the object's name and
/// namespace, the body's media type, the field manager, the body.
struct Written {
    name: String,
    ns: String,
    media: String,
    manager: String,
    body: bytes::Bytes,
}

async fn written(t: &Target, q: &Query, req: Request<Incoming>) -> Result<Written, ApiError> {
    let Some(name) = t.name.clone() else {
        return Err(not_allowed());
    };
    let (parts, body) = read_body(req).await?;
    Ok(Written {
        name,
        ns: t.ns.clone().unwrap_or_default(),
        media: body::media_type(&parts.headers),
        manager: body::manager(q, &parts.headers),
        body,
    })
}

pub async fn update(sh: &Shared, t: &Target, q: &Query, req: Request<Incoming>) -> Response<Body> {
    answer(update_inner(sh, t, q, req).await)
}

async fn update_inner(sh: &Shared, t: &Target, q: &Query, req: Request<Incoming>) -> Answer {
    let w = written(t, q, req).await?;
    let (name, ns, media, manager, b) = (w.name, w.ns, w.media, w.manager, w.body);
    let obj = body::object(&t.kind, &media, &b)?;
    match t.sub.as_deref() {
        Some("scale") => return set_replicas(sh, t, &ns, &name, &obj, &manager),
        Some("finalize") => return finalize(sh, t, &name, &obj),
        Some("status") | None => {}
        Some(_) => return Err(ApiError::no_resource()),
    }
    let obj = checked_object(t, &media, &b)?;
    if obj["metadata"]["name"].as_str().is_some_and(|n| n != name) {
        return Err(ApiError::new(
            400,
            "BadRequest",
            "the name of the object does not match the name on the URL",
        ));
    }
    let status_only = t.sub.as_deref() == Some("status");
    if !status_only {
        crate::validate::object(&t.kind, &obj)?;
    }
    if body::dry_run(q)? {
        return Ok(json_response(200, &obj));
    }
    let v = sh
        .store
        .update(&t.kind, &ns, &name, obj, status_only, Track::By(&manager))?;
    Ok(json_response(200, &v))
}

/// PUT or PATCH of a workload's scale: the replicas go to its spec.
fn set_replicas(
    sh: &Shared,
    t: &Target,
    ns: &str,
    name: &str,
    scale: &Value,
    manager: &str,
) -> Answer {
    if !t.kind.subresources.iter().any(|s| s.0 == "scale") {
        return Err(ApiError::no_resource());
    }
    let Some(n) = scale["spec"]["replicas"].as_i64() else {
        return Err(ApiError::invalid(
            &t.kind,
            name,
            vec![Cause::required("spec.replicas")],
        ));
    };
    let s = sh.store.modify(&t.kind, ns, name, false, manager, |o| {
        o["spec"]["replicas"] = json!(n)
    })?;
    Ok(json_response(200, &scale_of(&s.value)))
}

/// PUT of a namespace's finalize: its spec.finalizers as given; none left
/// on a namespace being deleted, it goes.
fn finalize(sh: &Shared, t: &Target, name: &str, obj: &Value) -> Answer {
    if t.kind.kind != "Namespace" {
        return Err(ApiError::no_resource());
    }
    let fin = obj["spec"]["finalizers"].clone();
    let s = sh
        .store
        .modify(&t.kind, "", name, false, "kube-controller-manager", |o| {
            o["spec"]["finalizers"] = fin.clone()
        })?;
    crate::controllers::namespace_finalized(sh, name);
    Ok(object_response(200, &s))
}

pub async fn patch(sh: &Shared, t: &Target, q: &Query, req: Request<Incoming>) -> Response<Body> {
    answer(patch_inner(sh, t, q, req).await)
}

async fn patch_inner(sh: &Shared, t: &Target, q: &Query, req: Request<Incoming>) -> Answer {
    let w = written(t, q, req).await?;
    let (name, ns, media, manager, b) = (w.name, w.ns, w.media, w.manager, w.body);
    let kinds = [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    ];
    if !kinds.contains(&media.as_str()) {
        return Err(body::unsupported_patch());
    }
    let p = body::patch(&media, &b)?;
    if media == "application/apply-patch+yaml" {
        return apply(sh, t, q, &ns, &name, p);
    }
    let Some(mut cur) = sh.store.get(&t.kind, &ns, &name) else {
        return Err(ApiError::not_found(&t.kind, &name));
    };
    if t.sub.as_deref() == Some("scale") {
        let mut scale = scale_of(&cur);
        merge_or_json(&media, &mut scale, &p)?;
        return set_replicas(sh, t, &ns, &name, &scale, &manager);
    }
    merge_or_json(&media, &mut cur, &p)?;
    if !p["metadata"]["resourceVersion"].is_string() {
        if let Some(m) = cur["metadata"].as_object_mut() {
            m.remove("resourceVersion");
        }
    }
    let status_only = t.sub.as_deref() == Some("status");
    if !status_only {
        crate::validate::object(&t.kind, &cur)?;
    }
    if body::dry_run(q)? {
        return Ok(json_response(200, &cur));
    }
    let v = sh
        .store
        .update(&t.kind, &ns, &name, cur, status_only, Track::By(&manager))?;
    Ok(json_response(200, &v))
}

fn merge_or_json(media: &str, target: &mut Value, p: &Value) -> Result<(), ApiError> {
    if media == "application/json-patch+json" {
        crate::patch::json_patch(target, p).map_err(|e| ApiError::new(422, "Invalid", e))
    } else {
        crate::patch::merge(target, p);
        Ok(())
    }
}

/// Server-side apply: create or update with the applied fields owned by
/// the field manager; another manager's field changed without `force` is
/// a 409 listing each.
fn apply(sh: &Shared, t: &Target, q: &Query, ns: &str, name: &str, mut config: Value) -> Answer {
    let manager = q.get("fieldManager").unwrap_or("");
    if manager.is_empty() {
        let k = Kind {
            group: "meta.k8s.io".into(),
            kind: "PatchOptions".into(),
            ..t.kind.clone()
        };
        return Err(ApiError::invalid(
            &k,
            "",
            vec![Cause {
                reason: "FieldValueRequired",
                field: "fieldManager".into(),
                message: "Required value: is required for apply patch".into(),
            }],
        ));
    }
    if !config["metadata"].is_object() {
        config["metadata"] = json!({});
    }
    config["metadata"]["name"] = json!(name);
    let force = q.flag("force");
    let dry = body::dry_run(q)?;
    let status = t.sub.as_deref() == Some("status");
    let part = if status {
        Part::Status
    } else {
        Part::Main {
            status_separate: t.kind.status,
        }
    };
    match sh.store.get(&t.kind, ns, name) {
        None => {
            let mut obj = crate::fields::apply(None, &config, manager, force, part)?;
            obj = admitted(sh, &t.kind, ns, obj)?;
            if dry {
                return Ok(json_response(201, &dry_created(sh, &t.kind, ns, obj)?));
            }
            Ok(json_response(
                201,
                &sh.store.create(&t.kind, ns, obj, Track::AsGiven)?,
            ))
        }
        Some(cur) => {
            let mut obj = crate::fields::apply(Some(&cur), &config, manager, force, part)?;
            if let Some(m) = obj["metadata"].as_object_mut() {
                m.remove("resourceVersion");
            }
            if !status {
                crate::validate::object(&t.kind, &obj)?;
            }
            if dry {
                obj["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"].clone();
                return Ok(json_response(200, &obj));
            }
            Ok(json_response(
                200,
                &sh.store
                    .update(&t.kind, ns, name, obj, status, Track::AsGiven)?,
            ))
        }
    }
}

/// What a create would answer, nothing stored.
fn dry_created(sh: &Shared, kind: &Kind, ns: &str, mut obj: Value) -> Result<Value, ApiError> {
    let nsk = sh.store.kind("", "Namespace").expect("namespaces");
    if kind.namespaced && sh.store.get(&nsk, "", ns).is_none() {
        return Err(ApiError::namespace_not_found(ns));
    }
    obj["apiVersion"] = json!(kind.api_version());
    obj["kind"] = json!(kind.kind);
    if kind.namespaced {
        obj["metadata"]["namespace"] = json!(ns);
    }
    obj["metadata"]["creationTimestamp"] = json!(crate::store::now());
    Ok(obj)
}

/// DeleteOptions from the query and the body.
fn delete_options(q: &Query, body: &Value) -> Result<DeleteOptions, ApiError> {
    let grace = q
        .get("gracePeriodSeconds")
        .and_then(|s| s.parse().ok())
        .or_else(|| body["gracePeriodSeconds"].as_i64());
    let propagation = q
        .get("propagationPolicy")
        .map(str::to_string)
        .or_else(|| body["propagationPolicy"].as_str().map(str::to_string))
        .or_else(|| {
            (body["orphanDependents"] == true || q.get("orphanDependents") == Some("true"))
                .then(|| "Orphan".to_string())
        });
    if let Some(p) = propagation.as_deref() {
        if !["Orphan", "Background", "Foreground"].contains(&p) {
            return Err(ApiError::new(400, "BadRequest", format!(
                "propagationPolicy: Unsupported value: \"{p}\": supported values: \"Orphan\", \"Background\", \"Foreground\""
            )));
        }
    }
    Ok(DeleteOptions {
        grace,
        propagation,
        uid: body["preconditions"]["uid"].as_str().map(str::to_string),
        resource_version: body["preconditions"]["resourceVersion"]
            .as_str()
            .map(str::to_string),
    })
}

const JOB_WARNING: &str = "299 - \"child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning\"";

pub async fn delete(sh: &Shared, t: &Target, q: &Query, req: Request<Incoming>) -> Response<Body> {
    answer(delete_inner(sh, t, q, req).await)
}

async fn delete_inner(sh: &Shared, t: &Target, q: &Query, req: Request<Incoming>) -> Answer {
    let name = t.name.clone().unwrap_or_default();
    if t.sub.is_some() {
        return Err(not_allowed());
    }
    let ns = t.ns.clone().unwrap_or_default();
    let b = read_body(req).await.map(|(_, b)| b).unwrap_or_default();
    let body: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
    let mut opts = delete_options(q, &body)?;
    // batch/v1 Jobs orphan their pods unless told otherwise, and say so
    let is_job = t.kind.group == "batch" && t.kind.kind == "Job";
    let warn = is_job && opts.propagation.is_none();
    if warn {
        opts.propagation = Some("Orphan".into());
    }
    if body::dry_run(q)? {
        return match sh.store.get_stored(&t.kind, &ns, &name) {
            Some(s) => Ok(object_response(200, &s)),
            None => Err(ApiError::not_found(&t.kind, &name)),
        };
    }
    let d = sh.store.delete_request(&t.kind, &ns, &name, &opts)?;
    let mut r = match d {
        Deletion::Pending(o) => json_response(200, &o),
        Deletion::Gone(o) if t.kind.returns_deleted => json_response(200, &o),
        Deletion::Gone(o) => {
            let mut details =
                json!({"name": name, "kind": t.kind.plural, "uid": o["metadata"]["uid"]});
            if !t.kind.group.is_empty() {
                details["group"] = json!(t.kind.group);
            }
            json_response(200, &success(details))
        }
    };
    if warn {
        r.headers_mut()
            .insert("warning", JOB_WARNING.parse().expect("header"));
    }
    Ok(r)
}

/// DELETE of a collection: each matching object deleted as a DELETE of it
/// would be; the answer lists them as they were.
pub fn delete_collection(sh: &Shared, t: &Target, q: &Query) -> Response<Body> {
    answer((|| {
        let (l, f) = selectors(&t.kind, q)?;
        let opts = delete_options(q, &Value::Null)?;
        let page = sh
            .store
            .list_page(&t.kind, t.ns.as_deref(), None, 0, true, None, |o| {
                matches(o, &l, &f)
            })?;
        for s in &page.items {
            let ns = s.value["metadata"]["namespace"].as_str().unwrap_or("");
            let name = s.value["metadata"]["name"].as_str().unwrap_or("");
            let _ = sh.store.delete_request(&t.kind, ns, name, &opts);
        }
        Ok(list_body(
            &t.kind,
            &json!({"resourceVersion": page.rv.to_string()}),
            &page.items,
        ))
    })())
}
