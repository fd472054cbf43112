//! scaffold: Kubernetes performance-benchmark scenarios as Rhai scripts.
//!
//! Data flows one way: CLI -> engine -> api wrapper -> k8s function -> API
//! server. See docs/ARCHITECTURE.md.

pub mod api;
pub mod capture;
pub mod cli;
pub mod cmd;
pub mod engine;
pub mod exit;
pub mod host;
pub mod interrupt;
pub mod k8s;
pub mod kind;
pub mod lazyget;
pub mod net;
pub mod paths;
pub mod repl;
pub mod report;
pub mod results;
pub mod secrets;
pub mod shell;
pub mod signals;
pub mod stats;
pub mod sweep;
pub mod ui;
pub mod util;
pub mod yaml;

/// Install the rustls crypto provider once (TLS panics without it).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
