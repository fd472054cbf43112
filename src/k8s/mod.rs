//! Plain async Rust over the Kubernetes API. Nothing here knows Rhai.

pub mod client;
pub mod discovery;
pub mod facts;
pub mod http;
pub mod kubeconfig;
pub mod objects;
pub mod portforward;
pub mod proxy;
pub mod ratelimit;
pub mod ready;
pub mod ron;
pub mod shellconn;
pub mod watch;
