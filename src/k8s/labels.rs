//! The labels of everything scaffold creates by itself (SPEC.md
//! "Labels"): who made it and which run, so it is deleted at the end of
//! the run and `scaffold cleanup` finds what a killed run left.

use serde_json::{json, Value};

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const RUN_ID: &str = "scaffold.run/id";

/// The labels of everything scaffold creates by itself.
pub fn labels(run_id: &str) -> Value {
    json!({MANAGED_BY: "scaffold", RUN_ID: run_id})
}

/// Created by scaffold (any run).
pub fn ours(obj: &Value) -> bool {
    obj["metadata"]["labels"][MANAGED_BY] == "scaffold"
}
