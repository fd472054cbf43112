//! Resource requests under `/api` and `/apis`: which resource a path
//! names (or the API server's 404s for paths nothing serves), who may ask
//! (anonymous and impersonated users are refused like the real
//! authorizer refuses them), and the handlers: reads (`read.rs`), watches
//! (`watch.rs`), writes (`write.rs`), bodies (`body.rs`).

mod body;
mod read;
mod target;
mod watch;
mod write;

use crate::errors::ApiError;
use crate::http::{error_response, json_response, text_response, Body, Query};
use crate::shared::Shared;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use std::sync::Arc;

pub use read::event_v1;
pub use target::{object_response, Target, User};

/// What a path is, when it is not a resource.
enum Path {
    Resource(Target),
    Answer(Response<Body>),
}

fn not_served() -> Response<Body> {
    text_response(404, "404 page not found\n")
}

fn parse_target(sh: &Shared, path: &str) -> Path {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g] => {
            return Path::Answer(match crate::discovery::api_group(&sh.store, g) {
                Some(v) => json_response(200, &v),
                None => not_served(),
            })
        }
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Path::Answer(not_served()),
    };
    if !sh.store.serves_group(group, version) {
        return Path::Answer(not_served());
    }
    if rest.is_empty() {
        return Path::Answer(
            match crate::discovery::resource_list(&sh.store, group, version) {
                Some(v) => json_response(200, &v),
                None => not_served(),
            },
        );
    }
    let find = |plural: &str| sh.store.kind_by_path(group, version, plural);
    let (kind, ns, more) = match rest {
        ["namespaces", ns, plural, more @ ..] if find(plural).is_some() => {
            (find(plural), Some(ns.to_string()), more)
        }
        [plural, more @ ..] => (find(plural), None, more),
        [] => unreachable!(),
    };
    let Some(kind) = kind else {
        return Path::Answer(error_response(&ApiError::no_resource()));
    };
    if more.len() > 2 || (kind.namespaced && ns.is_none() && !more.is_empty()) {
        return Path::Answer(error_response(&ApiError::no_resource()));
    }
    Path::Resource(Target {
        kind,
        ns,
        name: more.first().map(|s| s.to_string()),
        sub: more.get(1).map(|s| s.to_string()),
    })
}

/// The request's verb as the authorizer names it.
fn verb(method: &Method, t: &Target, q: &Query) -> &'static str {
    match (method, &t.name, t.sub.as_deref()) {
        (_, Some(_), Some("log")) => "log",
        (_, Some(_), Some("exec")) => "exec",
        (_, Some(_), Some("attach")) => "attach",
        (_, Some(_), Some("portforward")) => "portforward",
        (&Method::GET, None, _) if q.flag("watch") => "watch",
        (&Method::GET, None, _) => "list",
        (&Method::GET, Some(_), _) if q.flag("watch") => "watch",
        (&Method::GET, Some(_), _) => "get",
        (&Method::POST, _, _) => "create",
        (&Method::PUT, _, _) => "update",
        (&Method::PATCH, _, _) => "patch",
        (&Method::DELETE, None, _) => "deletecollection",
        (&Method::DELETE, Some(_), _) => "delete",
        _ => "other",
    }
}

/// Serve a resource request, timed into `/metrics` like the API server's
/// request metrics (long-running WATCH and CONNECT requests are not).
pub async fn route(sh: Arc<Shared>, req: Request<Incoming>, user: User) -> Response<Body> {
    let t0 = std::time::Instant::now();
    let t = match parse_target(&sh, req.uri().path()) {
        Path::Resource(t) => t,
        Path::Answer(r) => return r,
    };
    let q = Query::parse(req.uri().query());
    let verb = verb(req.method(), &t, &q);
    let key = metric_key(&req, &t, verb);
    let r = serve(sh.clone(), req, t, q, verb, &user).await;
    if let Some(k) = key {
        sh.metrics
            .observe(k, r.status().as_u16(), t0.elapsed().as_secs_f64());
    }
    r
}

async fn serve(
    sh: Arc<Shared>,
    req: Request<Incoming>,
    t: Target,
    q: Query,
    verb: &'static str,
    user: &User,
) -> Response<Body> {
    sh.count(verb, &t.kind.key());
    // every authenticated user may ask what it may do (system:basic-user)
    let self_review = t.kind.group == "authorization.k8s.io"
        && t.kind.kind.starts_with("SelfSubject")
        || t.kind.kind == "SelfSubjectReview";
    let allowed = user.admin || self_review && user.name != "system:anonymous";
    if !allowed {
        let v = match verb {
            "log" | "exec" | "attach" | "portforward" => "get",
            v => v,
        };
        return error_response(&ApiError::forbidden(
            &user.name,
            v,
            &t.kind,
            t.ns.as_deref(),
            t.name.as_deref(),
        ));
    }
    if let Some(e) = sh.faults.rbac_denies(&t.kind, t.ns.as_deref(), verb) {
        return error_response(&e);
    }
    if let Some(e) = sh.faults.webhook_refuses(&t.kind, verb) {
        return error_response(&e);
    }
    let ns = t.ns.clone().unwrap_or_default();
    let name = t.name.clone().unwrap_or_default();
    match verb {
        "watch" => watch::watch(sh, t, q),
        "list" => read::list(&sh, &t, &q, req.headers()),
        "get" => read::get(&sh, &t, req.headers()),
        "log" => crate::streams::logs(sh, &ns, &name, &q).await,
        "exec" | "attach" | "portforward" => {
            crate::streams::upgrade(sh, req, verb, &ns, &name, q).await
        }
        "create" => write::create(&sh, &t, &q, req).await,
        "update" => write::update(&sh, &t, &q, req).await,
        "patch" => write::patch(&sh, &t, &q, req).await,
        "delete" => write::delete(&sh, &t, &q, req).await,
        "deletecollection" => write::delete_collection(&sh, &t, &q),
        _ => error_response(
            &ApiError::new(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )
            .with_details(serde_json::json!({})),
        ),
    }
}

/// (VERB, group, version, resource, subresource, scope) as kube-apiserver
/// labels a request; None for WATCH and CONNECT.
fn metric_key(req: &Request<Incoming>, t: &Target, verb: &str) -> Option<crate::metrics::Key> {
    let sub = t.sub.clone().unwrap_or_default();
    let verb = match verb {
        "watch" | "log" | "exec" | "attach" | "portforward" => return None,
        "list" => "LIST",
        "get" => "GET",
        "create" => "POST",
        "update" => "PUT",
        "patch"
            if req
                .headers()
                .get("content-type")
                .is_some_and(|v| v.as_bytes().starts_with(b"application/apply-patch")) =>
        {
            "APPLY"
        }
        "patch" => "PATCH",
        "delete" => "DELETE",
        "deletecollection" => "DELETECOLLECTION",
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
