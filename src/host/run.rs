//! The run itself: what the command line said, the runtime and interrupt,
//! the results being gathered, the run's id and its artifacts directory,
//! and `-v` tracing.

use crate::exit::Interrupted;
use crate::interrupt::Interrupt;
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
    /// `--metrics-profile FILE`, collected at the end of the run
    pub metrics_profile: Option<PathBuf>,
    /// `--no-fingerprint`: `fingerprint()` reads nothing
    pub no_fingerprint: bool,
}

/// One run (or one REPL session).
pub struct Run {
    rt: tokio::runtime::Handle,
    interrupt: Arc<Interrupt>,
    settings: Settings,
    results: Mutex<Results>,
    started: Instant,
    run_dir: OnceLock<PathBuf>,
    /// Labels objects this run creates (`scaffold.run/id`).
    id: String,
    /// Extra environment for child processes while a scope lasts (`REGISTRY`).
    scoped_env: Mutex<Vec<(String, String)>>,
}

impl Run {
    pub fn new(rt: tokio::runtime::Handle, interrupt: Arc<Interrupt>, settings: Settings) -> Run {
        let results = Results::new(
            &settings.script_display,
            settings.params.clone(),
            settings.args.clone(),
        );
        crate::k8s::labels::stamp_run();
        Run {
            rt,
            interrupt,
            settings,
            results: Mutex::new(results),
            started: Instant::now(),
            run_dir: OnceLock::new(),
            id: new_run_id(),
            scoped_env: Mutex::new(Vec::new()),
        }
    }

    pub fn rt(&self) -> &tokio::runtime::Handle {
        &self.rt
    }

    pub fn interrupt(&self) -> &Arc<Interrupt> {
        &self.interrupt
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The results of this run, locked.
    pub fn results(&self) -> std::sync::MutexGuard<'_, Results> {
        self.results.lock().unwrap()
    }

    /// The results, unless another thread holds them for longer than
    /// `wait` (the emergency path must not hang on a busy lock).
    pub fn try_results(
        &self,
        wait: std::time::Duration,
    ) -> Option<std::sync::MutexGuard<'_, Results>> {
        let until = Instant::now() + wait;
        loop {
            match self.results.try_lock() {
                Ok(g) => return Some(g),
                Err(std::sync::TryLockError::Poisoned(p)) => return Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) if Instant::now() < until => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                Err(_) => return None,
            }
        }
    }

    /// When the run started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The id that labels what this run creates.
    pub fn id(&self) -> &str {
        &self.id
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

    /// Set `name=value` for child processes until [`Run::unset_scoped_env`].
    pub fn set_scoped_env(&self, name: &str, value: &str) {
        self.scoped_env
            .lock()
            .unwrap()
            .push((name.to_string(), value.to_string()));
    }

    pub fn unset_scoped_env(&self, name: &str) {
        self.scoped_env.lock().unwrap().retain(|(k, _)| k != name);
    }

    /// The scoped variables, in the order they were set.
    pub fn scoped_env(&self) -> Vec<(String, String)> {
        self.scoped_env.lock().unwrap().clone()
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

/// Guard returned by [`Run::trace`].
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
