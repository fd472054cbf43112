//! Discovery, version and minimal OpenAPI documents.

use crate::store::Store;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const GIT_VERSION: &str = "v1.33.4";

pub fn version() -> Value {
    json!({
        "major": "1", "minor": "33", "gitVersion": GIT_VERSION,
        "gitCommit": "fakecluster", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0", "compiler": "gc", "platform": "linux/amd64",
    })
}

pub fn api_versions() -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
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
        if k.status {
            resources.push(json!({"name": format!("{}/status", k.plural), "singularName": "", "namespaced": k.namespaced, "kind": k.kind, "verbs": ["get", "patch", "update"]}));
        }
        if k.kind == "Pod" {
            for (sub, verbs) in [
                ("log", json!(["get"])),
                ("exec", json!(["create", "get"])),
                ("attach", json!(["create", "get"])),
                ("portforward", json!(["create", "get"])),
            ] {
                let kind = if sub == "log" {
                    "Pod"
                } else {
                    "PodExecOptions"
                };
                resources.push(json!({"name": format!("pods/{sub}"), "singularName": "", "namespaced": true, "kind": kind, "verbs": verbs}));
            }
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
