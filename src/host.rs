//! The state of one run (or one REPL session) that host functions share:
//! the runtime handle, interrupt, settings, results, exit handlers, the
//! lazily created kube client, and one registry of what the run started and
//! must tear down (background processes, port-forwards, node sessions),
//! with the one function that tears it all down.

use crate::exit::{Failure, Interrupted};
use crate::interrupt::Interrupt;
use crate::k8s::client::{Cluster, Target};
use crate::k8s::kubeconfig::KubeOptions;
use crate::results::Results;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// What the command line said about this run.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The script as the user named it (for messages), `<repl>` in the REPL.
    pub script_display: String,
    /// Absolute directory of the script (cwd in the REPL).
    pub script_dir: PathBuf,
    /// `--set` / `--set-json`, in order.
    pub params: serde_json::Map<String, serde_json::Value>,
    pub args: Vec<String>,
    /// Parent of per-run directories (`--artifacts`, default `<script_dir>/artifacts`).
    pub artifacts_parent: PathBuf,
    pub verbose: bool,
    /// Breakpoints prompt (interactive and not `--no-breakpoints`).
    pub breakpoints: bool,
    /// `--break-at FILE:LINE`
    pub break_at: Vec<(String, usize)>,
    pub kube: KubeOptions,
    /// This exact run directory (a sweep's run) instead of a new one
    pub fixed_run_dir: Option<PathBuf>,
}

pub struct Host {
    pub rt: tokio::runtime::Handle,
    pub interrupt: Arc<Interrupt>,
    pub settings: Settings,
    pub results: Mutex<Results>,
    pub started: Instant,
    run_dir: OnceLock<PathBuf>,
    pub on_exit: Mutex<Vec<rhai::FnPtr>>,
    /// what the run started and must tear down, in the order it was started
    owned: Mutex<Vec<Owned>>,
    /// namespaces where this run created objects of its own (ron, sessions)
    namespaces_used: Mutex<std::collections::BTreeSet<String>>,
    /// node sessions opened so far (numbers their pods)
    pub sessions_opened: std::sync::atomic::AtomicU32,
    /// create_objects loads started so far (numbers their ids)
    loads: std::sync::atomic::AtomicU32,
    target: Mutex<Option<Result<Target, String>>>,
    cluster: Mutex<Option<Cluster>>,
    context_overlay: OnceLock<Option<tempfile::TempPath>>,
    /// Set when a breakpoint prompt already handled the current `breakpoint()` call.
    pub breakpoint_handled: std::sync::atomic::AtomicBool,
    /// The server's kinds, discovered once per run (refreshed after CRDs).
    pub discovery: Mutex<Option<Arc<crate::k8s::discovery::Discovery>>>,
    /// Extra environment for child processes while a scope lasts (`REGISTRY`).
    pub scoped_env: Mutex<Vec<(String, String)>>,
    /// Labels objects this run creates (`scaffold.run/id`).
    pub run_id: String,
}

/// Something a run started that must not outlive it.
#[derive(Clone)]
pub enum Owned {
    Process(Arc<crate::shell::background::BgProcess>),
    Forward(Arc<crate::k8s::portforward::Forward>),
    Session(Arc<crate::k8s::session::Session>),
    /// objects of `create_objects`, deleted unless kept
    Load(Arc<crate::k8s::load::Load>),
}

impl Owned {
    fn same(&self, other: &Owned) -> bool {
        match (self, other) {
            (Owned::Process(a), Owned::Process(b)) => Arc::ptr_eq(a, b),
            (Owned::Forward(a), Owned::Forward(b)) => Arc::ptr_eq(a, b),
            (Owned::Session(a), Owned::Session(b)) => Arc::ptr_eq(a, b),
            (Owned::Load(a), Owned::Load(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Tear-down order: processes first (they may use forwards), then
    /// forwards, then loads and sessions (objects on the cluster).
    fn rank(&self) -> u8 {
        match self {
            Owned::Process(_) => 0,
            Owned::Forward(_) => 1,
            Owned::Load(_) => 2,
            Owned::Session(_) => 3,
        }
    }
}

/// A short id for a run: time and pid in base 36.
pub fn new_run_id() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
        ^ ((std::process::id() as u64) << 40);
    let mut x = n;
    let mut s = String::new();
    while x > 0 && s.len() < 8 {
        let d = (x % 36) as u8;
        s.push(if d < 10 {
            (b'0' + d) as char
        } else {
            (b'a' + d - 10) as char
        });
        x /= 36;
    }
    format!("r{s}")
}

impl Host {
    pub fn new(
        rt: tokio::runtime::Handle,
        interrupt: Arc<Interrupt>,
        settings: Settings,
    ) -> Arc<Self> {
        let results = Results::new(
            &settings.script_display,
            settings.params.clone(),
            settings.args.clone(),
        );
        let host = Arc::new(Host {
            rt,
            interrupt,
            settings,
            results: Mutex::new(results),
            started: Instant::now(),
            run_dir: OnceLock::new(),
            on_exit: Mutex::new(Vec::new()),
            owned: Mutex::new(Vec::new()),
            namespaces_used: Mutex::new(Default::default()),
            sessions_opened: Default::default(),
            loads: Default::default(),
            target: Mutex::new(None),
            cluster: Mutex::new(None),
            context_overlay: OnceLock::new(),
            breakpoint_handled: Default::default(),
            discovery: Mutex::new(None),
            scoped_env: Mutex::new(Vec::new()),
            run_id: new_run_id(),
        });
        // the second Ctrl-C of a script run: no leftovers even then
        let weak = Arc::downgrade(&host);
        host.interrupt.set_emergency(Arc::new(move || {
            let w = weak.clone();
            Box::pin(async move {
                if let Some(h) = w.upgrade() {
                    h.emergency().await
                }
            })
        }));
        host
    }

    /// Keep track of something to tear down at the end of the run.
    pub fn own(&self, o: Owned) {
        self.owned.lock().unwrap().push(o);
    }

    /// It was stopped by the script: no need to tear it down.
    pub fn disown(&self, o: &Owned) {
        self.owned.lock().unwrap().retain(|x| !x.same(o));
    }

    /// This run creates objects of its own in `ns` (the emergency path
    /// deletes them there by label).
    /// The number of the next `create_objects` load (1, 2, ...).
    pub fn loads_started(&self) -> u32 {
        self.loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1
    }

    pub fn uses_namespace(&self, ns: &str) {
        self.namespaces_used.lock().unwrap().insert(ns.to_string());
    }

    /// Tear down everything the run started, in order, whatever was
    /// interrupted: kill background processes (and wait for them), stop
    /// port-forwards, close node sessions. Shielded from Ctrl-C. What could
    /// not be removed is said loudly, with the command that removes it.
    pub fn teardown(&self) {
        let mut owned: Vec<Owned> = self.owned.lock().unwrap().drain(..).collect();
        owned.sort_by_key(|o| o.rank());
        let mut left = vec![];
        self.interrupt.shielded(|| {
            for o in &owned {
                if let Owned::Process(p) = o {
                    p.kill();
                }
            }
            for o in owned {
                match o {
                    Owned::Process(p) => {
                        let _ = self.rt.block_on(p.wait());
                    }
                    Owned::Forward(f) => f.stop.cancel(),
                    Owned::Session(s) => left.extend(self.rt.block_on(s.close())),
                    Owned::Load(l) if !l.keep => {
                        let done = l.deleted.load(std::sync::atomic::Ordering::SeqCst);
                        if !done && l.created_count() + l.namespaces.len() > 0 {
                            crate::ui::info(&format!(
                                "cleanup: deleting the {} object(s) of load {}",
                                l.created_count(),
                                l.id
                            ));
                            left.extend(self.rt.block_on(l.delete_all(None)));
                        }
                    }
                    Owned::Load(_) => {}
                }
            }
        });
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
            self.run_id
        ));
    }

    /// The second Ctrl-C: no orderly teardown, but no leftovers either:
    /// kill every process group this process started, and delete this
    /// run's labelled pods, ConfigMaps and PVCs in the namespaces it used
    /// (a few seconds at most).
    pub async fn emergency(&self) {
        crate::signals::kill_all_groups();
        let Some(c) = self.cluster.lock().unwrap().clone() else {
            return;
        };
        let namespaces: Vec<String> = self
            .namespaces_used
            .lock()
            .unwrap()
            .iter()
            .cloned()
            .collect();
        let sel =
            crate::k8s::http::urlencode(&format!("{}={}", crate::k8s::ron::RUN_ID, self.run_id));
        let deletes = namespaces.iter().flat_map(|ns| {
            ["pods", "configmaps", "persistentvolumeclaims"].map(|kind| {
                    let path = format!(
                        "/api/v1/namespaces/{}/{kind}?labelSelector={sel}&gracePeriodSeconds=0",
                        crate::k8s::http::urlencode(ns)
                    );
                    let client = c.client.clone();
                    async move {
                        crate::k8s::http::send_once(&client, "DELETE", &path, None, vec![]).await
                    }
                })
        });
        let all = futures::future::join_all(deletes);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), all).await;
    }

    /// Where large outputs of this run are written in full: the run's
    /// artifacts directory, created only when something spills.
    pub fn spill_dir(self: &Arc<Self>) -> crate::capture::SpillDir {
        let me = Arc::downgrade(self);
        Arc::new(move || me.upgrade().and_then(|h| h.run_dir().ok()))
    }

    /// Run a future on the runtime from the script thread, racing Ctrl-C.
    pub fn block_on<F: Future>(&self, f: F) -> Result<F::Output, Interrupted> {
        let token = self.interrupt.token();
        if token.is_cancelled() {
            return Err(Interrupted);
        }
        self.rt.block_on(async {
            tokio::select! {
                biased;
                _ = token.cancelled() => Err(Interrupted),
                v = f => Ok(v),
            }
        })
    }

    /// A path given by a script: relative paths resolve against the script's directory.
    pub fn resolve_path(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.settings.script_dir.join(path)
        }
    }

    /// This run's own artifacts directory, created on first use; `latest`
    /// next to it points at the newest run.
    pub fn run_dir(&self) -> Result<PathBuf, String> {
        if let Some(d) = self.run_dir.get() {
            return Ok(d.clone());
        }
        if let Some(d) = &self.settings.fixed_run_dir {
            std::fs::create_dir_all(d)
                .map_err(|e| format!("cannot create run directory {}: {e}", d.display()))?;
            return Ok(self.run_dir.get_or_init(|| d.clone()).clone());
        }
        let parent = &self.settings.artifacts_parent;
        std::fs::create_dir_all(parent).map_err(|e| {
            format!(
                "cannot create artifacts directory {}: {e}",
                parent.display()
            )
        })?;
        let dir = crate::results::new_stamped_dir(parent, "")
            .map_err(|e| format!("cannot create a run directory in {}: {e}", parent.display()))?;
        let latest = parent.join("latest");
        let _ = std::fs::remove_file(&latest);
        let _ = std::os::unix::fs::symlink(dir.file_name().unwrap(), &latest);
        Ok(self.run_dir.get_or_init(|| dir).clone())
    }

    /// Where the kubeconfig and context are (files only, no network).
    pub fn target(&self) -> Result<Target, String> {
        self.target
            .lock()
            .unwrap()
            .get_or_insert_with(|| Target::resolve(&self.settings.kube))
            .clone()
    }

    /// Point the run at another cluster (after `kind_create`): later calls
    /// and child processes use this kubeconfig and context.
    pub fn switch_cluster(
        &self,
        kubeconfig: std::path::PathBuf,
        context: &str,
    ) -> Result<(), String> {
        let source = crate::k8s::kubeconfig::KubeSource::Flag(kubeconfig);
        let namespace = crate::k8s::kubeconfig::context_namespace(&source, context);
        *self.target.lock().unwrap() = Some(Ok(Target {
            source,
            context: context.to_string(),
            namespace,
        }));
        *self.cluster.lock().unwrap() = None;
        *self.discovery.lock().unwrap() = None;
        Ok(())
    }

    /// The cluster client, connected on first use.
    pub fn cluster(&self) -> Result<Cluster, Failure> {
        let target = self.target()?;
        let mut slot = self.cluster.lock().unwrap();
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = self
            .block_on(async {
                let c = crate::k8s::client::connect(&target).await?;
                let _t = self.trace("connect", || {
                    format!("{}, context {}", c.describe_server(), target.context)
                });
                // what results.json tells about the cluster: best effort, one
                // quick try, so an unreachable server is reported by the call itself
                let quick = std::time::Duration::from_secs(2);
                let version = crate::k8s::facts::server_version_once(&c.client, quick).await;
                let nodes = match version {
                    Some(_) => tokio::time::timeout(quick, crate::k8s::facts::nodes(&c.client))
                        .await
                        .ok()
                        .and_then(|r| r.ok())
                        .unwrap_or_default(),
                    None => vec![],
                };
                let mut r = self.results.lock().unwrap();
                r.environment.kube_context = Some(target.context.clone());
                r.environment.server_url = Some(c.server_url.clone());
                r.environment.server_version = version;
                r.environment.nodes = nodes
                    .into_iter()
                    .map(|n| crate::results::NodeInfo {
                        name: n.name,
                        os_image: n.os_image,
                        kernel: n.kernel,
                        container_runtime: n.container_runtime,
                        kubelet: n.kubelet,
                    })
                    .collect();
                Ok::<_, String>(c)
            })
            .map_err(Failure::from)??;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Environment for child processes: the same cluster and context as the
    /// script, plus scoped variables (`REGISTRY` inside `with_registry`).
    pub fn child_env(&self) -> Vec<(String, String)> {
        let mut env = self.cluster_env();
        env.extend(self.scoped_env.lock().unwrap().iter().cloned());
        env
    }

    fn cluster_env(&self) -> Vec<(String, String)> {
        let Ok(target) = self.target() else {
            return vec![];
        };
        let Some(kc) = target.source.env_value() else {
            return vec![];
        };
        let mut env = vec![("SCAFFOLD_CONTEXT".to_string(), target.context.clone())];
        // kubectl has no context variable: when --context differs from the
        // file's current-context, put a one-line overlay first in KUBECONFIG
        // (the first file that sets current-context wins; no secrets copied).
        let overlay = self.context_overlay.get_or_init(|| {
            self.settings.kube.context.as_ref()?;
            let f = tempfile::Builder::new()
                .prefix("scaffold-context-")
                .suffix(".yaml")
                .tempfile()
                .ok()?;
            std::fs::write(
                f.path(),
                format!(
                    "apiVersion: v1\nkind: Config\ncurrent-context: {}\n",
                    serde_json::Value::String(target.context.clone())
                ),
            )
            .ok()?;
            Some(f.into_temp_path())
        });
        // after kind_create the run uses the new cluster's own kubeconfig
        let ours = self.settings.kube.context.as_deref() == Some(target.context.as_str());
        let value = match overlay {
            Some(p) if ours => format!("{}:{kc}", p.display()),
            _ => kc,
        };
        env.push(("KUBECONFIG".to_string(), value));
        env
    }

    /// `-v` tracing of a host call: logs arguments and duration when dropped.
    pub fn trace(&self, name: &str, detail: impl FnOnce() -> String) -> Trace {
        Trace(
            self.settings
                .verbose
                .then(|| (format!("{name}({})", detail()), Instant::now())),
        )
    }
}

/// Guard returned by [`Host::trace`].
pub struct Trace(Option<(String, Instant)>);

impl Trace {
    /// Add what the call found to its trace line (`-> note`).
    pub fn note(&mut self, note: String) {
        if let Some((what, _)) = self.0.as_mut() {
            what.push_str(" -> ");
            what.push_str(&note);
        }
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        if let Some((what, t)) = self.0.take() {
            crate::ui::err(format!(
                "+ {what} [{}]",
                crate::ui::human_secs(t.elapsed().as_secs_f64())
            ));
        }
    }
}
