//! API errors as the API server words them: a Status body with reason,
//! code, message and, where the real server gives them, details (the
//! object's name, its resource or Kind, the group, the causes). The
//! wording of each constructor is the recorded one (tests/traces/errors.json).

use crate::kinds::Kind;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

/// One cause of a 422: (reason, field, message).
pub struct Cause {
    pub reason: &'static str,
    pub field: String,
    pub message: String,
}

impl Cause {
    /// `Invalid value: "X": why`
    pub fn invalid(field: impl Into<String>, value: &str, why: &str) -> Cause {
        Cause {
            reason: "FieldValueInvalid",
            field: field.into(),
            message: format!("Invalid value: \"{value}\": {why}"),
        }
    }
    /// `Required value`
    pub fn required(field: impl Into<String>) -> Cause {
        Cause {
            reason: "FieldValueRequired",
            field: field.into(),
            message: "Required value".into(),
        }
    }
}

/// `details` naming an object by its resource (`kind: "pods"`), with the
/// group for kinds outside the core group.
fn resource_details(kind: &Kind, name: &str) -> Value {
    let mut d = json!({"name": name, "kind": kind.plural});
    if !kind.group.is_empty() {
        d["group"] = json!(kind.group);
    }
    d
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, d: Value) -> Self {
        self.details = Some(d);
        self
    }

    /// 404 `pods "x" not found`
    pub fn not_found(kind: &Kind, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", kind.key()),
        )
        .with_details(resource_details(kind, name))
    }

    /// 404 for a namespace that does not exist, when creating in it
    pub fn namespace_not_found(ns: &str) -> Self {
        Self::new(404, "NotFound", format!("namespaces \"{ns}\" not found"))
            .with_details(json!({"name": ns, "kind": "namespaces"}))
    }

    /// 404 for a path no resource serves: an empty `details`
    pub fn no_resource() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    /// 409 `configmaps "one" already exists`
    pub fn already_exists(kind: &Kind, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", kind.key()),
        )
        .with_details(resource_details(kind, name))
    }

    /// 409 for a write from a stale resourceVersion
    pub fn stale(kind: &Kind, name: &str) -> Self {
        Self::new(409, "Conflict", format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            kind.key()
        ))
        .with_details(resource_details(kind, name))
    }

    /// 409 for a delete whose uid precondition names another object
    /// (the details name the Kind here, as the real server's do)
    pub fn uid_precondition(kind: &Kind, name: &str, want: &str, have: &str) -> Self {
        Self::new(409, "Conflict", format!(
            "Operation cannot be fulfilled on {} \"{name}\": the UID in the precondition ({want}) does not match the UID in record ({have}). The object might have been deleted and then recreated",
            kind.kind
        ))
        .with_details(json!({"name": name, "kind": kind.kind}))
    }

    /// 422 with one cause per field: `Kind "name" is invalid: [a, b]`
    pub fn invalid(kind: &Kind, name: &str, causes: Vec<Cause>) -> Self {
        let parts: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let list = if parts.len() == 1 {
            parts[0].clone()
        } else {
            format!("[{}]", parts.join(", "))
        };
        let mut d = json!({"kind": kind.kind});
        if !name.is_empty() {
            d["name"] = json!(name);
        }
        let mut what = kind.kind.clone();
        if !kind.group.is_empty() {
            d["group"] = json!(kind.group);
            what = format!("{}.{}", kind.kind, kind.group);
        }
        d["causes"] = causes
            .iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect();
        Self::new(
            422,
            "Invalid",
            format!("{what} \"{name}\" is invalid: {list}"),
        )
        .with_details(d)
    }

    /// 403 for a create in a namespace being deleted
    pub fn namespace_terminating(kind: &Kind, name: &str, ns: &str) -> Self {
        let mut d = resource_details(kind, name);
        d["causes"] = json!([{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]);
        Self::new(403, "Forbidden", format!(
            "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
            kind.key()
        ))
        .with_details(d)
    }

    /// 403 from authorization: `configmaps is forbidden: User "u" cannot
    /// list resource "configmaps" in API group "" in the namespace "ns"`
    pub fn forbidden(
        user: &str,
        verb: &str,
        kind: &Kind,
        ns: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        let what = match name {
            Some(n) => format!("{} \"{n}\"", kind.key()),
            None => kind.key(),
        };
        let place = match ns {
            Some(ns) if kind.namespaced => format!(" in the namespace \"{ns}\""),
            _ => " at the cluster scope".to_string(),
        };
        let mut d = json!({"kind": kind.plural});
        if let Some(n) = name {
            d["name"] = json!(n);
        }
        if !kind.group.is_empty() {
            d["group"] = json!(kind.group);
        }
        Self::new(403, "Forbidden", format!(
            "{what} is forbidden: User \"{user}\" cannot {verb} resource \"{}\" in API group \"{}\"{place}",
            kind.plural, kind.group
        ))
        .with_details(d)
    }

    /// The Status body.
    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": self.message, "reason": self.reason, "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}
