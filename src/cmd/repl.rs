//! `scaffold repl`: every host function, interactively, in a run of its own
//! (results under ./artifacts).

use crate::exit::ExitCode;
use crate::host::{Host, Settings};
use crate::interrupt::Mode;
use crate::k8s::kubeconfig::KubeOptions;
use std::path::PathBuf;

pub fn repl(kube: KubeOptions, verbose: bool) -> ExitCode {
    let (rt, interrupt) = super::runtime_with(Mode::Repl);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let settings = Settings {
        script_display: "<repl>".into(),
        artifacts_parent: cwd.join("artifacts"),
        script_dir: cwd,
        verbose,
        breakpoints: false,
        kube,
        ..Default::default()
    };
    let host = Host::new(rt.handle().clone(), interrupt, settings);
    crate::repl::run(host)
}
