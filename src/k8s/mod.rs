//! Plain async Rust over the Kubernetes API. Nothing here knows Rhai.

pub mod client;
pub mod kubeconfig;
