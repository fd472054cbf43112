//! Discovery, version and minimal OpenAPI documents.

use crate::store::Store;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const GIT_VERSION: &str = "v1.32.13";

pub fn version() -> Value {
    json!({
        "major": "1", "minor": "32", "gitVersion": GIT_VERSION,
        "gitCommit": "63adf010aa20e104c0b7043b47f42f50c9f72b17", "gitTreeState": "clean", "buildDate": "2026-12-01T13:27:05Z",
        "goVersion": "go1.23.5", "compiler": "gc", "platform": "linux/amd64",
    })
}

pub fn api_versions() -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]})
}

/// The checks of `/readyz` and `/livez` of a 1.32 API server, as the
/// recorded one lists them (its readyz has no `etcd` check; its livez has).
const CHECKS: &[&str] = &[
    "ping",
    "log",
    "informer-sync",
    "poststarthook/start-apiserver-admission-initializer",
    "poststarthook/generic-apiserver-start-informers",
    "poststarthook/priority-and-fairness-config-consumer",
    "poststarthook/priority-and-fairness-filter",
    "poststarthook/storage-object-count-tracker-hook",
    "poststarthook/start-apiextensions-informers",
    "poststarthook/start-apiextensions-controllers",
    "poststarthook/crd-informer-synced",
    "poststarthook/start-system-namespaces-controller",
    "poststarthook/start-cluster-authentication-info-controller",
    "poststarthook/start-kube-apiserver-identity-lease-controller",
    "poststarthook/start-kube-apiserver-identity-lease-garbage-collector",
    "poststarthook/start-legacy-token-tracking-controller",
    "poststarthook/start-service-ip-repair-controllers",
    "poststarthook/rbac/bootstrap-roles",
    "poststarthook/scheduling/bootstrap-system-priority-classes",
    "poststarthook/priority-and-fairness-config-producer",
    "poststarthook/bootstrap-controller",
    "poststarthook/aggregator-reload-proxy-client-cert",
    "poststarthook/start-kube-aggregator-informers",
    "poststarthook/apiservice-status-local-available-controller",
    "poststarthook/apiservice-status-remote-available-controller",
    "poststarthook/apiservice-registration-controller",
    "poststarthook/apiservice-wait-for-first-sync",
    "poststarthook/apiservice-discovery-controller",
    "poststarthook/kube-apiserver-autoregistration",
    "autoregister-completion",
    "poststarthook/apiservice-openapi-controller",
    "poststarthook/apiservice-openapiv3-controller",
];

/// The checks of one endpoint: livez has etcd after log, readyz has
/// `shutdown` last; healthz is livez's list.
fn checks(endpoint: &str) -> Vec<&'static str> {
    let mut c: Vec<&'static str> = CHECKS.to_vec();
    if endpoint != "readyz" {
        c.insert(2, "etcd");
        c.retain(|x| *x != "informer-sync");
    } else {
        c.push("shutdown");
    }
    c
}

/// `/healthz`, `/livez`, `/readyz` (with `?verbose`, and `/livez/CHECK`);
/// None for other paths.
pub fn health(
    sh: &crate::shared::Shared,
    path: &str,
    query: Option<&str>,
) -> Option<crate::http::Response> {
    use crate::http::text_response;
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let endpoint = parts.next()?;
    if !["healthz", "livez", "readyz"].contains(&endpoint) {
        return None;
    }
    let mut list = checks(endpoint);
    let failing = if endpoint == "healthz" {
        None
    } else {
        sh.faults.readyz_failing()
    };
    if let Some(f) = failing.as_deref() {
        if !list.contains(&f) {
            list.push(Box::leak(f.to_string().into_boxed_str()));
        }
    }
    if let Some(one) = parts.next() {
        return Some(match list.iter().find(|c| **c == one) {
            Some(c) if failing.as_deref() == Some(*c) => {
                text_response(500, "internal server error: reason withheld\n")
            }
            Some(_) => text_response(200, "ok"),
            None => text_response(404, "404 page not found\n"),
        });
    }
    let verbose = query.is_some_and(|q| {
        q.split('&')
            .any(|p| p == "verbose" || p.starts_with("verbose="))
    });
    let mut body = String::new();
    for c in &list {
        if failing.as_deref() == Some(*c) {
            body.push_str(&format!("[-]{c} failed: reason withheld\n"));
        } else {
            body.push_str(&format!("[+]{c} ok\n"));
        }
    }
    let ok = failing.is_none();
    body.push_str(&format!(
        "{endpoint} check {}\n",
        if ok { "passed" } else { "failed" }
    ));
    if ok && !verbose {
        body = "ok".into();
    }
    Some(text_response(if ok { 200 } else { 500 }, body))
}

fn groups(store: &Store) -> BTreeMap<String, Vec<String>> {
    let mut g: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in store.kinds() {
        if k.group.is_empty() {
            continue;
        }
        let v = g.entry(k.group.clone()).or_default();
        if !v.contains(&k.version) {
            v.push(k.version.clone());
        }
    }
    g
}

pub fn api_groups(store: &Store) -> Value {
    let groups: Vec<Value> = groups(store)
        .into_iter()
        .map(|(name, versions)| {
            let vs: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
                .collect();
            json!({"name": name, "versions": vs, "preferredVersion": vs[0]})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn api_group(store: &Store, group: &str) -> Option<Value> {
    let versions = groups(store).remove(group)?;
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    Some(
        json!({"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": vs, "preferredVersion": vs[0]}),
    )
}

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the client asks for aggregated discovery (kubectl 1.30+ does).
fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|a| {
        a.replace(' ', "").contains("g=apidiscovery.k8s.io;v=v2")
            && a.contains("as=APIGroupDiscoveryList")
    })
}

/// One resource of aggregated discovery.
fn aggregated_resource(k: &crate::kinds::Kind) -> Value {
    let mut r = json!({
        "resource": k.plural,
        "responseKind": {"group": "", "version": "", "kind": k.kind},
        "scope": if k.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": k.singular,
        "verbs": k.verbs,
    });
    if !k.short_names.is_empty() {
        r["shortNames"] = json!(k.short_names);
    }
    if !k.categories.is_empty() {
        r["categories"] = json!(k.categories);
    }
    let mut subs: Vec<Value> = k
        .subresources
        .iter()
        .map(|(name, verbs, resp)| {
            let rk = match resp {
                Some((g, v, kind)) => json!({"group": g, "version": v, "kind": kind}),
                None => json!({"group": "", "version": "", "kind": k.kind}),
            };
            json!({"subresource": name, "responseKind": rk, "verbs": verbs})
        })
        .collect();
    if k.status {
        subs.push(json!({"subresource": "status", "responseKind": {"group": "", "version": "", "kind": k.kind}, "verbs": ["get", "patch", "update"]}));
    }
    subs.sort_by(|a, b| a["subresource"].as_str().cmp(&b["subresource"].as_str()));
    if !subs.is_empty() {
        r["subresources"] = json!(subs);
    }
    r
}

/// `APIGroupDiscoveryList` of the core group (`/api`) or the named ones.
fn aggregated(store: &Store, core: bool) -> Value {
    let kinds = store.kinds();
    let mut items = vec![];
    let names: Vec<String> = if core {
        vec![String::new()]
    } else {
        groups(store).into_keys().collect()
    };
    for g in names {
        let mut versions = vec![];
        let mut vs: Vec<String> = vec![];
        for k in kinds.iter().filter(|k| k.group == g) {
            if !vs.contains(&k.version) {
                vs.push(k.version.clone());
            }
        }
        for v in vs {
            let mut res: Vec<Value> = kinds
                .iter()
                .filter(|k| k.group == g && k.version == v)
                .map(aggregated_resource)
                .collect();
            res.sort_by(|a, b| a["resource"].as_str().cmp(&b["resource"].as_str()));
            versions.push(json!({"version": v, "freshness": "Current", "resources": res}));
        }
        let mut md = json!({"creationTimestamp": null});
        if !core {
            md["name"] = json!(g);
        }
        items.push(json!({"metadata": md, "versions": versions}));
    }
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

/// `/api` and `/apis`: legacy or aggregated discovery, by the Accept header.
pub fn root(store: &Store, path: &str, accept: &str) -> crate::http::Response {
    let core = path == "/api";
    if !wants_aggregated(accept) {
        let v = if core {
            api_versions()
        } else {
            api_groups(store)
        };
        return crate::http::json_response(200, &v);
    }
    let body = serde_json::to_vec(&aggregated(store, core)).unwrap_or_default();
    hyper::Response::builder()
        .status(200)
        .header("content-type", AGGREGATED)
        .header("vary", "Accept")
        .header("cache-control", "public")
        .header("etag", format!("\"{:016X}\"", fnv(&body)))
        .body(crate::http::full(body))
        .expect("discovery")
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| {
        (h ^ *x as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// `APIResourceList` of one group/version, with subresources.
pub fn resource_list(store: &Store, group: &str, version: &str) -> Option<Value> {
    let kinds: Vec<_> = store
        .kinds()
        .into_iter()
        .filter(|k| k.group == group && k.version == version)
        .collect();
    if kinds.is_empty() {
        return None;
    }
    let mut resources = vec![];
    for k in &kinds {
        resources.push(k.discovery_entry());
        let mut subs: Vec<crate::kinds::Subresource> = k.subresources.clone();
        if k.status {
            subs.push((
                "status".into(),
                vec!["get".into(), "patch".into(), "update".into()],
                None,
            ));
        }
        subs.sort_by(|a, b| a.0.cmp(&b.0));
        for (sub, verbs, resp) in subs {
            let mut e = json!({"name": format!("{}/{sub}", k.plural), "singularName": "", "namespaced": k.namespaced, "kind": k.kind, "verbs": verbs});
            if let Some((g, v, kind)) = resp {
                e["group"] = json!(g);
                e["version"] = json!(v);
                e["kind"] = json!(kind);
            } else if ["exec", "attach", "portforward"].contains(&sub.as_str()) {
                e["kind"] = json!(format!(
                    "Pod{}Options",
                    match sub.as_str() {
                        "exec" => "Exec",
                        "attach" => "Attach",
                        _ => "PortForward",
                    }
                ));
            } else if sub == "eviction" {
                e["group"] = json!("policy");
                e["version"] = json!("v1");
                e["kind"] = json!("Eviction");
            } else if sub == "binding" {
                e["kind"] = json!("Binding");
            } else if sub == "token" {
                e["group"] = json!("authentication.k8s.io");
                e["version"] = json!("v1");
                e["kind"] = json!("TokenRequest");
            }
            resources.push(e);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

pub fn openapi_v2() -> Value {
    json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": GIT_VERSION}, "paths": {}, "definitions": {}})
}

/// `/openapi/v3` lists a document per group/version; each document is empty
/// (no schemas: clients fall back to the server's field validation).
pub fn openapi_v3(store: &Store, path: &str) -> Value {
    if path == "/openapi/v3" || path == "/openapi/v3/" {
        let mut paths = serde_json::Map::new();
        paths.insert(
            "api/v1".into(),
            json!({"serverRelativeURL": "/openapi/v3/api/v1?hash=0"}),
        );
        for (g, vs) in groups(store) {
            for v in vs {
                let p = format!("apis/{g}/{v}");
                paths.insert(
                    p.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash=0")}),
                );
            }
        }
        return json!({"paths": paths});
    }
    // One document per group/version. It has no schemas, but each kind's
    // item path declares PATCH with the `fieldValidation` and `dryRun` query
    // parameters, which is how kubectl decides to validate on the server.
    let gv = path.trim_start_matches("/openapi/v3/");
    let (group, version) = match gv.strip_prefix("apis/") {
        Some(rest) => rest.split_once('/').unwrap_or((rest, "v1")),
        None => ("", gv.strip_prefix("api/").unwrap_or("v1")),
    };
    let mut paths = serde_json::Map::new();
    for k in store
        .kinds()
        .into_iter()
        .filter(|k| k.group == group && k.version == version)
    {
        let prefix = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let item = if k.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", k.plural)
        } else {
            format!("{prefix}/{}/{{name}}", k.plural)
        };
        let gvk = json!({"group": k.group, "version": k.version, "kind": k.kind});
        let params = json!([
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
            {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
            {"name": "force", "in": "query", "schema": {"type": "boolean"}},
        ]);
        paths.insert(item, json!({
            "get": {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "get", "responses": {}},
            "put": {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "put", "parameters": params, "responses": {}},
            "patch": {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "patch", "parameters": params, "responses": {}},
        }));
    }
    json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": GIT_VERSION}, "paths": paths, "components": {"schemas": {}}})
}
