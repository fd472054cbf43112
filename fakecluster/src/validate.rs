//! Validation the API server does before storing an object, with its
//! wording: names (RFC 1123 subdomains for most kinds, labels for
//! namespaces, DNS-1035 labels for Services), label keys and values,
//! ConfigMap and Secret keys, a pod's containers. One 422 lists every
//! problem (tests/traces/errors.json).

use crate::errors::{ApiError, Cause};
use crate::kinds::Kind;
use serde_json::Value;

const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_1123: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL_1035: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const CONFIG_KEY: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const QUALIFIED: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

fn alnum_lower(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
pub fn is_label_1123(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(alnum_lower)
        && s.ends_with(alnum_lower)
        && s.chars().all(|c| alnum_lower(c) || c == '-')
}

pub fn is_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_label_1123)
}

fn is_label_1035(s: &str) -> bool {
    is_label_1123(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63
fn is_qualified_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn name_rule(kind: &Kind) -> (fn(&str) -> bool, &'static str) {
    match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "Namespace") => (is_label_1123, LABEL_1123),
        ("", "Service") => (is_label_1035, LABEL_1035),
        _ => (is_subdomain, SUBDOMAIN),
    }
}

fn labels(md: &Value, causes: &mut Vec<Cause>) {
    for (k, v) in md["labels"].as_object().into_iter().flatten() {
        let (prefix, name) = match k.rsplit_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, k.as_str()),
        };
        if prefix.is_some_and(|p| !is_subdomain(p)) {
            causes.push(Cause::invalid(
                "metadata.labels",
                k,
                &format!("prefix part {SUBDOMAIN}"),
            ));
        } else if !is_qualified_part(name) {
            causes.push(Cause::invalid("metadata.labels", k, QUALIFIED));
        }
        let v = v.as_str().unwrap_or("");
        if !v.is_empty() && !is_qualified_part(v) {
            let why = if v.len() > 63 {
                "must be no more than 63 characters"
            } else {
                LABEL_VALUE
            };
            causes.push(Cause::invalid("metadata.labels", v, why));
        }
    }
}

fn data_keys(obj: &Value, causes: &mut Vec<Cause>) {
    for field in ["data", "binaryData", "stringData"] {
        for k in obj[field].as_object().into_iter().flatten().map(|(k, _)| k) {
            if k.is_empty()
                || !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
            {
                causes.push(Cause::invalid(format!("{field}[{k}]"), k, CONFIG_KEY));
            }
        }
    }
}

fn pod_spec(spec: &Value, at: &str, causes: &mut Vec<Cause>) {
    let containers = spec["containers"].as_array().filter(|c| !c.is_empty());
    let Some(containers) = containers else {
        causes.push(Cause::required(format!("{at}.containers")));
        return;
    };
    for (i, c) in containers.iter().enumerate() {
        let name = c["name"].as_str().unwrap_or("");
        if name.is_empty() {
            causes.push(Cause::required(format!("{at}.containers[{i}].name")));
        } else if !is_label_1123(name) {
            causes.push(Cause::invalid(
                format!("{at}.containers[{i}].name"),
                name,
                LABEL_1123,
            ));
        }
        if c["image"].as_str().unwrap_or("").is_empty() {
            causes.push(Cause::required(format!("{at}.containers[{i}].image")));
        }
    }
}

/// A Service's cluster IPs: an address, or "None" (headless), as the API
/// server's validation has them.
fn service_ips(spec: &Value, causes: &mut Vec<Cause>) {
    let mut check = |field: String, v: &str| {
        if !v.is_empty() && v != "None" && v.parse::<std::net::IpAddr>().is_err() {
            causes.push(Cause::invalid(
                field,
                v,
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ));
        }
    };
    if let Some(ip) = spec["clusterIP"].as_str() {
        check("spec.clusterIPs[0]".into(), ip);
    }
    for (i, ip) in spec["clusterIPs"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .skip(1)
    {
        check(format!("spec.clusterIPs[{i}]"), ip.as_str().unwrap_or(""));
    }
}

/// Every problem of an object about to be created or replaced, as one 422.
pub fn object(kind: &Kind, obj: &Value) -> Result<(), ApiError> {
    let md = &obj["metadata"];
    let name = md["name"].as_str().unwrap_or("");
    let mut causes = vec![];
    let (ok, why) = name_rule(kind);
    if !name.is_empty() && !ok(name) {
        causes.push(Cause::invalid("metadata.name", name, why));
    }
    labels(md, &mut causes);
    match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "ConfigMap" | "Secret") => data_keys(obj, &mut causes),
        ("", "Pod") => pod_spec(&obj["spec"], "spec", &mut causes),
        ("", "Service") => service_ips(&obj["spec"], &mut causes),
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet") => pod_spec(
            &obj["spec"]["template"]["spec"],
            "spec.template.spec",
            &mut causes,
        ),
        ("batch", "Job") => {
            let spec = &obj["spec"]["template"]["spec"];
            pod_spec(spec, "spec.template.spec", &mut causes);
            let policy = spec["restartPolicy"].as_str().unwrap_or("");
            if !["Never", "OnFailure"].contains(&policy) {
                causes.push(Cause {
                    reason: "FieldValueNotSupported",
                    field: "spec.template.spec.restartPolicy".into(),
                    message: format!("Unsupported value: \"{policy}\": supported values: \"OnFailure\", \"Never\""),
                });
            }
        }
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(kind, name, causes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels() {
        assert!(is_subdomain("kube-root-ca.crt"));
        assert!(!is_subdomain("Bad_Name"));
        assert!(is_label_1123("web-0"));
        assert!(!is_label_1123("a.b"));
        assert!(is_label_1035("svc"));
        assert!(!is_label_1035("1svc"));
        assert!(is_qualified_part("MyValue_1.x"));
        assert!(!is_qualified_part("-x"));
    }

    #[test]
    fn service_cluster_ips() {
        let bad = serde_json::json!({"clusterIP": "10.96.0.5\\n"});
        let mut c = vec![];
        service_ips(&bad, &mut c);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].field, "spec.clusterIPs[0]");
        assert!(c[0].message.contains("must be a valid IP address"));
        let mut c = vec![];
        for ok in ["10.96.0.5", "None", "", "fd00::1"] {
            service_ips(&serde_json::json!({"clusterIP": ok}), &mut c);
        }
        assert!(c.is_empty());
    }
}
