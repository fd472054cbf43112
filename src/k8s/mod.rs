//! Plain async Rust over the Kubernetes API. Nothing here knows Rhai.

pub mod apimetrics;
pub mod apply;
pub mod client;
pub mod cpu;
pub mod dataplane;
pub mod discovery;
pub mod exec;
pub mod facts;
pub mod fingerprint;
pub mod http;
pub mod kubeconfig;
pub mod labelled;
pub mod labels;
pub mod load;
pub mod logs;
pub mod manifest;
pub mod objects;
pub mod podlatency;
pub mod portforward;
pub mod ratelimit;
pub mod ready;
pub mod ron;
pub mod session;
pub mod shellconn;
pub mod watch;
pub mod watchlag;
