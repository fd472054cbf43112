//! Which kinds the API server serves (cached per run): `"Pod"`, `"pods"`,
//! `"po"`, `"deployments.apps"`, `"apps/v1/Deployment"` and CRD kinds all
//! resolve to a resource with its URL.

use super::http::{self, K8sError};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    /// what the server allows on it (`list`, `delete`, `watch`, ...)
    pub verbs: Vec<String>,
}

impl Resource {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Collection URL (`ns` ignored for cluster-scoped kinds; `None`: all namespaces).
    pub fn collection(&self, ns: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match ns.filter(|_| self.namespaced) {
            Some(ns) => format!("{base}/namespaces/{}/{}", http::urlencode(ns), self.plural),
            None => format!("{base}/{}", self.plural),
        }
    }

    /// One object's URL; an empty name is an error (it would address the
    /// whole collection).
    pub fn item(&self, ns: &str, name: &str) -> Result<String, K8sError> {
        http::item_path(&self.collection(Some(ns)), &self.kind, name)
    }

    /// `deployments.apps`
    pub fn display(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Discovery {
    pub resources: Vec<Resource>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn parse_list(group: &str, version: &str, v: &Value) -> Vec<Resource> {
    v["resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| !r["name"].as_str().unwrap_or("/").contains('/'))
                .map(|r| Resource {
                    group: group.to_string(),
                    version: version.to_string(),
                    kind: r["kind"].as_str().unwrap_or("").to_string(),
                    plural: r["name"].as_str().unwrap_or("").to_string(),
                    singular: r["singularName"]
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .unwrap_or_else(|| r["kind"].as_str().unwrap_or("").to_lowercase()),
                    namespaced: r["namespaced"].as_bool().unwrap_or(true),
                    verbs: strings(&r["verbs"]),
                    short_names: r["shortNames"]
                        .as_array()
                        .map(|s| {
                            s.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Discovery {
    /// Ask the server: core v1, then every version of every group (preferred first).
    pub async fn run(client: &kube::Client) -> Result<Discovery, K8sError> {
        let core = http::get_json(client, "/api/v1").await?;
        let mut resources = parse_list("", "v1", &core);
        let groups = http::get_json(client, "/apis").await?;
        let mut gvs = vec![];
        for g in groups["groups"].as_array().cloned().unwrap_or_default() {
            let name = g["name"].as_str().unwrap_or("").to_string();
            let preferred = g["preferredVersion"]["version"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let mut versions: Vec<String> = g["versions"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v["version"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            versions.sort_by_key(|v| v != &preferred);
            for v in versions {
                gvs.push((name.clone(), v));
            }
        }
        let lists = futures::future::join_all(gvs.iter().map(|(g, v)| async move {
            (
                g,
                v,
                http::get_json(client, &format!("/apis/{g}/{v}")).await,
            )
        }))
        .await;
        for (g, v, r) in lists {
            // an unavailable aggregated API must not break everything else
            if let Ok(list) = r {
                resources.extend(parse_list(g, v, &list));
            }
        }
        Ok(Discovery { resources })
    }

    /// By apiVersion + kind, as manifests name them.
    pub fn by_gvk(&self, api_version: &str, kind: &str) -> Option<&Resource> {
        let (g, v) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.resources
            .iter()
            .find(|r| r.group == g && r.version == v && r.kind == kind)
    }

    /// By what a user types: `Pod`, `pods`, `po`, `deployments.apps`,
    /// `apps/v1/Deployment`, `v1/Pod`, a CRD kind.
    ///
    /// A name more than one API group serves resolves as kubectl resolves
    /// it when one of them is Kubernetes' own: the core group first
    /// (`events` is `v1` Events, not `events.k8s.io`), then a built-in
    /// group before a CRD's. Between groups that are not Kubernetes' own
    /// (two CRDs of one kind) it is an error that names them: a wrong
    /// guess would read, or delete, the other group's objects.
    pub fn resolve(&self, spec: &str) -> Result<&Resource, String> {
        let parts: Vec<&str> = spec.split('/').collect();
        let found = match parts.as_slice() {
            [g, v, k] => self.by_gvk(&format!("{g}/{v}"), k),
            [v, k] => self.by_gvk(v, k),
            [name] => {
                let (n, group) = match name.split_once('.') {
                    Some((n, g)) => (n, Some(g)),
                    None => (*name, None),
                };
                let l = n.to_lowercase();
                let matches: Vec<&Resource> = self
                    .resources
                    .iter()
                    .filter(|r| {
                        group.is_none_or(|g| r.group == g)
                            && (r.kind.to_lowercase() == l
                                || r.plural == l
                                || r.singular == l
                                || r.short_names.contains(&l))
                    })
                    .collect();
                return pick(spec, matches).map_err(|e| e.unwrap_or_else(|| self.unknown(spec)));
            }
            _ => None,
        };
        found.ok_or_else(|| self.unknown(spec))
    }

    fn unknown(&self, spec: &str) -> String {
        let mut kinds: Vec<&str> = self.resources.iter().map(|r| r.kind.as_str()).collect();
        kinds.sort();
        kinds.dedup();
        let near = crate::util::closest(spec, kinds.iter().copied())
            .map(|k| format!(" (did you mean '{k}'?)"))
            .unwrap_or_default();
        format!("the server has no kind '{spec}'{near}; give a kind (\"Deployment\"), a resource (\"deployments\"), or group/version/kind (\"apps/v1/Deployment\")")
    }
}

/// Kubernetes' own API groups (the core group is "").
fn built_in(group: &str) -> bool {
    group.is_empty()
        || ["apps", "batch", "autoscaling", "policy"].contains(&group)
        || group.ends_with(".k8s.io")
}

/// One resource of those a name matches (the first version of each group
/// is its preferred one); Err(None) for none, Err(Some(why)) when the
/// name is ambiguous between groups that are not Kubernetes' own.
fn pick<'a>(spec: &str, matches: Vec<&'a Resource>) -> Result<&'a Resource, Option<String>> {
    let mut groups: Vec<&'a Resource> = vec![];
    for r in matches {
        if !groups.iter().any(|g| g.group == r.group) {
            groups.push(r);
        }
    }
    if groups.len() <= 1 {
        return groups.first().copied().ok_or(None);
    }
    if let Some(core) = groups.iter().find(|r| r.group.is_empty()) {
        return Ok(core);
    }
    let own: Vec<&&Resource> = groups.iter().filter(|r| built_in(&r.group)).collect();
    if own.len() == 1 {
        return Ok(own[0]);
    }
    let names: Vec<String> = groups.iter().map(|r| r.display()).collect();
    let first = groups[0];
    Err(Some(format!(
        "'{spec}' is served by {} API groups: {}; name the one you mean, e.g. \"{}\" or \"{}/{}\"",
        groups.len(),
        names.join(", "),
        first.display(),
        first.api_version(),
        first.kind
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(group: &str, kind: &str, plural: &str) -> Resource {
        Resource {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            namespaced: true,
            short_names: vec![],
            verbs: vec![],
        }
    }

    #[test]
    fn a_name_of_two_groups_resolves_like_kubectl_or_says_which() {
        let d = Discovery {
            resources: vec![
                res("", "Event", "events"),
                res("events.k8s.io", "Event", "events"),
                res("acc.example.com", "Widget", "widgets"),
                res("scaffold.test", "Widget", "widgets"),
                res("apps", "Deployment", "deployments"),
                res("shadow.io", "Deployment", "deployments"),
            ],
        };
        assert_eq!(d.resolve("events").unwrap().group, "");
        assert_eq!(d.resolve("Deployment").unwrap().group, "apps");
        let e = d.resolve("Widget").unwrap_err();
        assert!(
            e.contains("widgets.acc.example.com, widgets.scaffold.test")
                && e.contains("name the one you mean"),
            "{e}"
        );
        assert_eq!(
            d.resolve("widgets.scaffold.test").unwrap().group,
            "scaffold.test"
        );
        assert_eq!(
            d.resolve("scaffold.test/v1/Widget").unwrap().group,
            "scaffold.test"
        );
        assert!(d
            .resolve("Gadget")
            .unwrap_err()
            .contains("no kind 'Gadget'"));
    }
}
