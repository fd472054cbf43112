//! The kinds a Kubernetes 1.32 API server serves (tests/traces/
//! discovery-health.json lists them), with what discovery says of each
//! (scope, short names, categories, verbs, subresources) and what the
//! store does with it (status subresource, generation, what a DELETE
//! answers), plus kinds registered through CRDs.

use serde_json::{json, Value};

/// A subresource: its name, verbs, and the group, version and kind it
/// answers with when not the resource's own.
pub type Subresource = (String, Vec<String>, Option<(String, String, String)>);

#[derive(Clone, Debug, PartialEq)]
pub struct Kind {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// has a `status` subresource (status is only written through it)
    pub status: bool,
    /// other subresources
    pub subresources: Vec<Subresource>,
    pub verbs: Vec<String>,
    /// metadata.generation is kept (bumped when the spec changes)
    pub generation: bool,
    /// a DELETE that removes the object answers with the object, not a
    /// Status (the registry's ReturnDeletedObject)
    pub returns_deleted: bool,
    /// served by a CRD: list items keep apiVersion and kind
    pub custom: bool,
}

impl Kind {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Store key of the resource: `pods`, `deployments.apps`.
    pub fn key(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Only created, never stored (reviews): `create` is the one verb.
    pub fn virtual_only(&self) -> bool {
        self.verbs == ["create"]
    }

    /// The entry of an `APIResourceList` (legacy discovery).
    pub fn discovery_entry(&self) -> Value {
        let mut e = json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": self.verbs,
        });
        if !self.short_names.is_empty() {
            e["shortNames"] = json!(self.short_names);
        }
        if !self.categories.is_empty() {
            e["categories"] = json!(self.categories);
        }
        e
    }
}

const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// One row of the table: `group/version Kind plural scope [flags]`.
/// Flags: `s` status subresource, `g` generation, `r` DELETE returns the
/// object, `a` category "all", `x` category "api-extensions", `c` create
/// only, `l` get and list only, `n` no deletecollection; `short=a,b`;
/// `sub=name:verbs` (verbs joined with `+`).
const TABLE: &[&str] = &[
    "v1 Binding bindings ns c",
    "v1 ComponentStatus componentstatuses cluster l short=cs",
    "v1 ConfigMap configmaps ns short=cm",
    "v1 Endpoints endpoints ns short=ep",
    "v1 Event events ns short=ev",
    "v1 LimitRange limitranges ns short=limits",
    "v1 Namespace namespaces cluster s r n short=ns sub=finalize:update",
    "v1 Node nodes cluster s r short=no sub=proxy:create+delete+get+patch+update",
    "v1 PersistentVolumeClaim persistentvolumeclaims ns s r short=pvc",
    "v1 PersistentVolume persistentvolumes cluster s r short=pv",
    "v1 Pod pods ns s r a short=po sub=attach:create+get sub=binding:create sub=ephemeralcontainers:get+patch+update sub=eviction:create sub=exec:create+get sub=log:get sub=portforward:create+get sub=proxy:create+delete+get+patch+update sub=resize:get+patch+update",
    "v1 PodTemplate podtemplates ns",
    "v1 ReplicationController replicationcontrollers ns s g a short=rc sub=scale:get+patch+update",
    "v1 ResourceQuota resourcequotas ns s short=quota",
    "v1 Secret secrets ns",
    "v1 ServiceAccount serviceaccounts ns r short=sa sub=token:create",
    "v1 Service services ns s r a short=svc sub=proxy:create+delete+get+patch+update",
    "apiregistration.k8s.io/v1 APIService apiservices cluster s x",
    "apps/v1 ControllerRevision controllerrevisions ns",
    "apps/v1 DaemonSet daemonsets ns s g a short=ds",
    "apps/v1 Deployment deployments ns s g a short=deploy sub=scale:get+patch+update",
    "apps/v1 ReplicaSet replicasets ns s g a short=rs sub=scale:get+patch+update",
    "apps/v1 StatefulSet statefulsets ns s g a short=sts sub=scale:get+patch+update",
    "events.k8s.io/v1 Event events ns short=ev",
    "authentication.k8s.io/v1 SelfSubjectReview selfsubjectreviews cluster c",
    "authentication.k8s.io/v1 TokenReview tokenreviews cluster c",
    "authorization.k8s.io/v1 LocalSubjectAccessReview localsubjectaccessreviews ns c",
    "authorization.k8s.io/v1 SelfSubjectAccessReview selfsubjectaccessreviews cluster c",
    "authorization.k8s.io/v1 SelfSubjectRulesReview selfsubjectrulesreviews cluster c",
    "authorization.k8s.io/v1 SubjectAccessReview subjectaccessreviews cluster c",
    "autoscaling/v2 HorizontalPodAutoscaler horizontalpodautoscalers ns s g a short=hpa",
    "autoscaling/v1 HorizontalPodAutoscaler horizontalpodautoscalers ns s g a short=hpa",
    "batch/v1 CronJob cronjobs ns s g a short=cj",
    "batch/v1 Job jobs ns s g a",
    "certificates.k8s.io/v1 CertificateSigningRequest certificatesigningrequests cluster s short=csr sub=approval:get+patch+update",
    "networking.k8s.io/v1 IngressClass ingressclasses cluster",
    "networking.k8s.io/v1 Ingress ingresses ns s g short=ing",
    "networking.k8s.io/v1 NetworkPolicy networkpolicies ns g short=netpol",
    "policy/v1 PodDisruptionBudget poddisruptionbudgets ns s g short=pdb",
    "rbac.authorization.k8s.io/v1 ClusterRoleBinding clusterrolebindings cluster",
    "rbac.authorization.k8s.io/v1 ClusterRole clusterroles cluster",
    "rbac.authorization.k8s.io/v1 RoleBinding rolebindings ns",
    "rbac.authorization.k8s.io/v1 Role roles ns",
    "storage.k8s.io/v1 CSIDriver csidrivers cluster",
    "storage.k8s.io/v1 CSINode csinodes cluster",
    "storage.k8s.io/v1 CSIStorageCapacity csistoragecapacities ns",
    "storage.k8s.io/v1 StorageClass storageclasses cluster short=sc",
    "storage.k8s.io/v1 VolumeAttachment volumeattachments cluster s",
    "admissionregistration.k8s.io/v1 MutatingWebhookConfiguration mutatingwebhookconfigurations cluster g x",
    "admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy validatingadmissionpolicies cluster s g x",
    "admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding validatingadmissionpolicybindings cluster g x",
    "admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration validatingwebhookconfigurations cluster g x",
    "apiextensions.k8s.io/v1 CustomResourceDefinition customresourcedefinitions cluster s g x short=crd,crds",
    "scheduling.k8s.io/v1 PriorityClass priorityclasses cluster short=pc",
    "coordination.k8s.io/v1 Lease leases ns",
    "node.k8s.io/v1 RuntimeClass runtimeclasses cluster",
    "discovery.k8s.io/v1 EndpointSlice endpointslices ns",
    "flowcontrol.apiserver.k8s.io/v1 FlowSchema flowschemas cluster s g",
    "flowcontrol.apiserver.k8s.io/v1 PriorityLevelConfiguration prioritylevelconfigurations cluster s g",
];

fn row(r: &str) -> Kind {
    let mut w = r.split_whitespace();
    let gv = w.next().expect("group/version");
    let (group, version) = gv.rsplit_once('/').unwrap_or(("", gv));
    let kind = w.next().expect("kind").to_string();
    let plural = w.next().expect("plural").to_string();
    let namespaced = w.next() == Some("ns");
    let mut k = Kind {
        group: group.into(),
        version: version.into(),
        singular: kind.to_lowercase(),
        kind,
        plural,
        namespaced,
        short_names: vec![],
        categories: vec![],
        status: false,
        subresources: vec![],
        verbs: ALL_VERBS.iter().map(|s| s.to_string()).collect(),
        generation: false,
        returns_deleted: false,
        custom: false,
    };
    for f in w {
        match f {
            "s" => k.status = true,
            "g" => k.generation = true,
            "r" => k.returns_deleted = true,
            "a" => k.categories.push("all".into()),
            "x" => k.categories.push("api-extensions".into()),
            "c" => k.verbs = vec!["create".into()],
            "l" => k.verbs = vec!["get".into(), "list".into()],
            "n" => k.verbs.retain(|v| v != "deletecollection"),
            f if f.starts_with("short=") => {
                k.short_names = f[6..].split(',').map(str::to_string).collect()
            }
            f if f.starts_with("sub=") => {
                let (name, verbs) = f[4..].split_once(':').expect("sub=name:verbs");
                let resp =
                    (name == "scale").then(|| ("autoscaling".into(), "v1".into(), "Scale".into()));
                k.subresources.push((
                    name.into(),
                    verbs.split('+').map(str::to_string).collect(),
                    resp,
                ));
            }
            other => panic!("kinds table: unknown flag {other} in {r}"),
        }
    }
    k
}

/// The built-in kinds the fake serves.
pub fn builtin() -> Vec<Kind> {
    TABLE.iter().map(|r| row(r)).collect()
}

/// Kinds served by an Established CRD (one per served version).
pub fn from_crd(crd: &Value) -> Vec<Kind> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let names = &spec["names"];
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = vec![];
    for v in spec["versions"].as_array().cloned().unwrap_or_default() {
        if v["served"].as_bool() == Some(false) {
            continue;
        }
        let kind = names["kind"].as_str().unwrap_or_default().to_string();
        let mut subresources = vec![];
        if v["subresources"]["scale"].is_object() {
            let verbs = vec!["get".into(), "patch".into(), "update".into()];
            subresources.push((
                "scale".into(),
                verbs,
                Some(("autoscaling".into(), "v1".into(), "Scale".into())),
            ));
        }
        out.push(Kind {
            group: group.into(),
            version: v["name"].as_str().unwrap_or("v1").into(),
            singular: names["singular"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| kind.to_lowercase()),
            kind,
            plural: names["plural"].as_str().unwrap_or_default().into(),
            namespaced,
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            status: v["subresources"]["status"].is_object(),
            subresources,
            verbs: ALL_VERBS.iter().map(|s| s.to_string()).collect(),
            generation: true,
            returns_deleted: false,
            custom: true,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_table_reads() {
        let k = super::builtin();
        let pods = k.iter().find(|k| k.plural == "pods").unwrap();
        assert!(pods.namespaced && pods.status && pods.returns_deleted && !pods.generation);
        assert_eq!(pods.short_names, ["po"]);
        let d = k.iter().find(|k| k.plural == "deployments").unwrap();
        assert!(d.generation && d.subresources[0].0 == "scale");
        let ssar = k
            .iter()
            .find(|k| k.plural == "selfsubjectaccessreviews")
            .unwrap();
        assert!(ssar.virtual_only());
    }
}
