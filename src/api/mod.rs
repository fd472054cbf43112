//! Thin Rhai wrappers over `src/k8s` and the local helpers: one module per
//! area, one registration list (`AREAS`). Functions are documented with `///`
//! so `scaffold docs` and REPL `:help` show the same text.

pub mod call;
pub mod cluster;
pub mod cpu;
pub mod dataplane;
pub mod errors;
pub mod files;
pub mod fingerprint;
pub mod forward;
pub mod http;
pub mod kind;
pub mod load;
pub mod manifests;
pub mod nodes;
pub mod objects;
pub mod opts;
pub mod results;
pub mod script;
pub mod shell;

pub use call::*;

use rhai::plugin::*;
use rhai::Engine;

/// One documented area of host functions.
pub struct Area {
    pub name: &'static str,
    pub title: &'static str,
    pub module: fn() -> rhai::Module,
}

/// The one registration list: every host function lives in one of these.
pub const AREAS: &[Area] = &[
    Area {
        name: "script",
        title: "Script basics",
        module: || exported_module!(script::script_api),
    },
    Area {
        name: "shell",
        title: "Commands",
        module: || exported_module!(shell::shell_api),
    },
    Area {
        name: "files",
        title: "Files and data",
        module: || exported_module!(files::files_api),
    },
    Area {
        name: "http",
        title: "HTTP",
        module: || exported_module!(http::http_api),
    },
    Area {
        name: "results",
        title: "Steps and results",
        module: || exported_module!(results::results_api),
    },
    Area {
        name: "cluster",
        title: "Cluster",
        module: || exported_module!(cluster::cluster_api),
    },
    Area {
        name: "objects",
        title: "Objects",
        module: || exported_module!(objects::objects_api),
    },
    Area {
        name: "forward",
        title: "Port-forwards, registry and Prometheus",
        module: || exported_module!(forward::forward_api),
    },
    Area {
        name: "load",
        title: "Control-plane load and measurements",
        module: || exported_module!(load::load_api),
    },
    Area {
        name: "nodes",
        title: "Nodes",
        module: || exported_module!(nodes::nodes_api),
    },
    Area {
        name: "fingerprint",
        title: "Environment fingerprint",
        module: || exported_module!(fingerprint::fingerprint_api),
    },
    Area {
        name: "cpu",
        title: "CPU cost",
        module: || exported_module!(cpu::cpu_api),
    },
    Area {
        name: "dataplane",
        title: "Dataplane programming latency",
        module: || exported_module!(dataplane::dataplane_api),
    },
    Area {
        name: "kind",
        title: "kind and tools",
        module: || exported_module!(kind::kind_api),
    },
];

/// Register every area and the custom types on an engine.
pub fn register(engine: &mut Engine) {
    engine.register_type_with_name::<shell::BgHandle>("BgProcess");
    engine.register_type_with_name::<forward::PortForward>("PortForward");
    engine.register_type_with_name::<nodes::SessionHandle>("NodeSession");
    for area in AREAS {
        engine.register_global_module((area.module)().into());
    }
}
