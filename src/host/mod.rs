//! The state of one run (or one REPL session) that host functions share,
//! in three parts: the run itself (settings, runtime, interrupt, results,
//! run directory: `run.rs`), the cluster it talks to (target, client,
//! discovery: `cluster.rs`) and the registry of what it must tear down
//! (`teardown.rs`). What the engine keeps per run (`on_exit` handlers,
//! breakpoints) lives in `engine/`.

pub mod cluster;
pub mod run;
pub mod teardown;

pub use run::{new_run_id, Settings, Trace};
pub use teardown::Owned;

use crate::exit::{Failure, Interrupted};
use crate::interrupt::Interrupt;
use crate::k8s::client::{Cluster, Target};
use crate::k8s::discovery::Discovery;
use crate::results::Results;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

pub struct Host {
    run: run::Run,
    cluster: cluster::ClusterCache,
    teardown: teardown::Teardown,
}

impl Host {
    pub fn new(
        rt: tokio::runtime::Handle,
        interrupt: Arc<Interrupt>,
        settings: Settings,
    ) -> Arc<Self> {
        let host = Arc::new(Host {
            run: run::Run::new(rt, interrupt, settings),
            cluster: Default::default(),
            teardown: Default::default(),
        });
        // the second Ctrl-C of a script run: no leftovers even then
        let weak = Arc::downgrade(&host);
        host.interrupt().set_emergency(Arc::new(move || {
            let w = weak.clone();
            Box::pin(async move {
                if let Some(h) = w.upgrade() {
                    h.emergency().await
                }
            })
        }));
        host
    }

    // the run

    pub fn rt(&self) -> &tokio::runtime::Handle {
        self.run.rt()
    }

    pub fn interrupt(&self) -> &Arc<Interrupt> {
        self.run.interrupt()
    }

    pub fn settings(&self) -> &Settings {
        self.run.settings()
    }

    /// The results of this run, locked.
    pub fn results(&self) -> std::sync::MutexGuard<'_, Results> {
        self.run.results()
    }

    pub fn started(&self) -> Instant {
        self.run.started()
    }

    /// Labels objects this run creates (`scaffold.run/id`).
    pub fn run_id(&self) -> &str {
        self.run.id()
    }

    /// Run a future on the runtime from the script thread, racing Ctrl-C.
    pub fn block_on<F: Future>(&self, f: F) -> Result<F::Output, Interrupted> {
        self.run.block_on(f)
    }

    /// A path given by a script: relative paths resolve against the script's directory.
    pub fn resolve_path(&self, p: &str) -> PathBuf {
        self.run.resolve_path(p)
    }

    /// This run's own artifacts directory, created on first use.
    pub fn run_dir(&self) -> Result<PathBuf, String> {
        self.run.run_dir()
    }

    /// Where large outputs of this run are written in full: the run's
    /// artifacts directory, created only when something spills.
    pub fn spill_dir(self: &Arc<Self>) -> crate::capture::SpillDir {
        let me = Arc::downgrade(self);
        Arc::new(move || me.upgrade().and_then(|h| h.run_dir().ok()))
    }

    /// Set `name=value` for child processes while a scope lasts (`REGISTRY`).
    pub fn set_scoped_env(&self, name: &str, value: &str) {
        self.run.set_scoped_env(name, value)
    }

    pub fn unset_scoped_env(&self, name: &str) {
        self.run.unset_scoped_env(name)
    }

    /// `-v` tracing of a host call: logs arguments and duration when dropped.
    pub fn trace(&self, name: &str, detail: impl FnOnce() -> String) -> Trace {
        self.run.trace(name, detail)
    }

    // the cluster

    /// Where the kubeconfig and context are (files only, no network).
    pub fn target(&self) -> Result<Target, String> {
        self.cluster.target(&self.run)
    }

    /// Point the run at another cluster (after `kind_create`).
    pub fn switch_cluster(&self, kubeconfig: PathBuf, context: &str) {
        self.cluster.switch(kubeconfig, context)
    }

    /// The cluster client, connected on first use.
    pub fn cluster(&self) -> Result<Cluster, Failure> {
        self.cluster.client(&self.run)
    }

    /// The server's kinds, if discovered since the last change.
    pub fn discovery(&self) -> Option<Arc<Discovery>> {
        self.cluster.discovery()
    }

    /// Keep (or with `None`, forget) what discovery found.
    pub fn set_discovery(&self, d: Option<Arc<Discovery>>) {
        self.cluster.set_discovery(d)
    }

    /// Environment for child processes: the same cluster and context as the
    /// script, plus scoped variables (`REGISTRY` inside `with_registry`).
    pub fn child_env(&self) -> Vec<(String, String)> {
        let mut env = self.cluster.env(&self.run);
        env.extend(self.run.scoped_env());
        env
    }

    // what the run must tear down

    /// Keep track of something to tear down at the end of the run.
    pub fn own(&self, o: Owned) {
        self.teardown.own(o)
    }

    /// It was stopped by the script: no need to tear it down.
    pub fn disown(&self, o: &Owned) {
        self.teardown.disown(o)
    }

    /// The number of the next `create_objects` load (1, 2, ...).
    pub fn next_load(&self) -> u32 {
        self.teardown.next_load()
    }

    /// The number of the next node session (1, 2, ...).
    pub fn next_session(&self) -> u32 {
        self.teardown.next_session()
    }

    /// This run creates objects of its own in `ns` (the emergency path
    /// deletes them there by label).
    pub fn uses_namespace(&self, ns: &str) {
        self.teardown.uses_namespace(ns)
    }

    /// Tear down everything the run started, in order (shielded from
    /// Ctrl-C); what could not be removed is said loudly, with the command
    /// that removes it.
    pub fn teardown(&self) {
        let left = self.teardown.run(&self.run);
        self.report_left("cleanup", &left);
    }

    /// Warn about objects that could not be deleted, with the way out.
    pub fn report_left(&self, what: &str, left: &[String]) {
        if left.is_empty() {
            return;
        }
        crate::ui::warn(&format!(
            "{what}: {} object(s) could not be deleted:\n  {}\ndelete them with: scaffold cleanup --run {}",
            left.len(),
            left.join("\n  "),
            self.run_id()
        ));
    }

    /// The second Ctrl-C: write results.json (marked interrupted), kill
    /// every process group, delete this run's labelled objects (a few
    /// seconds at most).
    pub async fn emergency(&self) {
        self.write_interrupted_results();
        let c = self.cluster.connected();
        self.teardown.emergency(self.run_id(), c).await
    }

    /// results.json as it stands, marked interrupted with its cleanup cut
    /// short (the orderly end of the run never comes).
    fn write_interrupted_results(&self) {
        let Some(r) = self.run.try_results(std::time::Duration::from_secs(1)) else {
            crate::ui::err("results.json not written: the results stayed busy");
            return;
        };
        let mut r = r.clone();
        r.finish(
            "interrupted",
            Some("interrupted twice: the cleanup was cut short".into()),
            self.started(),
        );
        let written = self.run_dir().and_then(|d| {
            let path = d.join("results.json");
            r.write(&path)
                .map(|_| path.clone())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        });
        match written {
            Ok(p) => crate::ui::err(format!("results: {}", p.display())),
            Err(e) => crate::ui::err(format!("error: {e}")),
        }
    }
}
