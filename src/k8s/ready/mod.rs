//! Readiness (SPEC.md "Readiness rules"): `verify` checks once; `wait`
//! watches every kind (through the one watch helper) until everything
//! holds. With namespaces given, only those namespaces are listed and
//! watched, so namespace-scoped RBAC is enough. A Failed pod that nothing
//! replaced fails `wait` at once instead of waiting out the timeout.

pub mod rules;

pub use rules::{evaluate, Condition, Container, Judged, Kind, State, Verdict};

use super::http::{self, K8sError};
use super::watch::{Event, Watcher};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Which resources to check.
#[derive(Clone, Debug)]
pub struct Scope {
    pub kinds: Vec<Kind>,
    /// empty: all namespaces
    pub namespaces: Vec<String>,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            kinds: Kind::ALL.to_vec(),
            namespaces: vec![],
        }
    }
}

/// One collection to list and watch: a kind, in all namespaces or one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Source {
    kind: Kind,
    namespace: Option<String>,
}

impl Source {
    fn path(&self) -> String {
        self.kind.path(self.namespace.as_deref())
    }

    fn holds(&self, v: &Verdict) -> bool {
        v.kind == self.kind && self.namespace.as_ref().is_none_or(|n| *n == v.namespace)
    }
}

impl Scope {
    fn sources(&self) -> Vec<Source> {
        let mut out = vec![];
        for k in &self.kinds {
            if !k.namespaced() || self.namespaces.is_empty() {
                out.push(Source {
                    kind: *k,
                    namespace: None,
                });
            } else {
                for ns in &self.namespaces {
                    out.push(Source {
                        kind: *k,
                        namespace: Some(ns.clone()),
                    });
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// A list or watch error, with what to do when it is RBAC.
fn access_error(s: &Source, e: K8sError) -> K8sError {
    let K8sError::Api {
        code: 403,
        reason,
        message,
    } = e
    else {
        return e;
    };
    let hint = match (&s.kind, &s.namespace) {
        (Kind::Node, _) => " (this check needs cluster read access to nodes; leave nodes out with kinds: [\"pods\", \"deployments\", \"daemonsets\", \"statefulsets\"], on the command line --kind pods --kind deployments ...)".to_string(),
        (k, None) => format!(" (listing {}s in all namespaces needs cluster-wide read access; name the namespaces to check with namespaces: [...], on the command line -n NS)", k.name()),
        (k, Some(ns)) => format!(" (you may not list {}s in namespace {ns})", k.name()),
    };
    K8sError::Api {
        code: 403,
        reason,
        message: format!("{message}{hint}"),
    }
}

/// The result of a check: not-ready resources first.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub ready: bool,
    pub resources: Vec<Verdict>,
}

impl Report {
    fn new(mut resources: Vec<Verdict>) -> Report {
        resources.sort_by(|a, b| {
            (a.ready, a.kind, &a.namespace, &a.name).cmp(&(b.ready, b.kind, &b.namespace, &b.name))
        });
        Report {
            ready: resources.iter().all(|v| v.ready),
            resources,
        }
    }

    pub fn not_ready(&self) -> impl Iterator<Item = &Verdict> {
        self.resources.iter().filter(|v| !v.ready)
    }
}

/// One-shot check (paginated lists, every source concurrently).
pub async fn verify(client: &kube::Client, scope: &Scope) -> Result<Report, K8sError> {
    let sources = scope.sources();
    let lists = futures::future::join_all(sources.iter().map(|s| async move {
        let mut out = vec![];
        http::list_pages(client, &s.path(), "", |page| {
            out.extend(page.iter().map(|o| evaluate(s.kind, o)))
        })
        .await
        .map_err(|e| access_error(s, e))?;
        Ok::<_, K8sError>(out)
    }))
    .await;
    let mut all = vec![];
    for l in lists {
        all.extend(l?);
    }
    let mut jobs = JobLookup::default();
    settle_failed(client, &mut all, &mut jobs).await;
    Ok(Report::new(all))
}

/// Why `wait` gave up.
#[derive(Debug)]
pub enum WaitError {
    Timeout {
        waited: Duration,
        not_ready: Vec<Verdict>,
        readyz: Option<String>,
    },
    /// Pods that failed and that nothing will replace.
    Failed(Vec<Verdict>),
    Api(K8sError),
}

impl std::fmt::Display for WaitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WaitError::Api(e) => write!(f, "{e}"),
            WaitError::Timeout {
                waited,
                readyz: Some(r),
                ..
            } => write!(
                f,
                "timed out after {:.0}s waiting for the API server's /readyz: {r}",
                waited.as_secs_f64()
            ),
            WaitError::Timeout {
                waited, not_ready, ..
            } => {
                write!(
                    f,
                    "timed out after {:.0}s; {} resource(s) not ready:",
                    waited.as_secs_f64(),
                    not_ready.len()
                )?;
                list_verdicts(f, not_ready)
            }
            WaitError::Failed(pods) => {
                write!(f, "{} pod(s) failed and nothing replaced them (delete them, or fix and re-run what created them):", pods.len())?;
                list_verdicts(f, pods)
            }
        }
    }
}

fn list_verdicts(f: &mut std::fmt::Formatter<'_>, vs: &[Verdict]) -> std::fmt::Result {
    for v in vs.iter().take(50) {
        write!(f, "\n  {} {}: {}", v.kind.name(), v.id(), v.reason)?;
    }
    if vs.len() > 50 {
        write!(f, "\n  ... and {} more", vs.len() - 50)?;
    }
    Ok(())
}

/// What is still pending, for a progress line: the count and the first
/// few resources with their reason.
pub fn pending_text(not_ready: &[Verdict], total: usize) -> String {
    if not_ready.is_empty() {
        return format!("all {total} resources ready");
    }
    let first: Vec<String> = not_ready
        .iter()
        .take(3)
        .map(|v| {
            let why: String = v.reason.chars().take(60).collect();
            format!("{} {} ({why})", v.kind.name(), v.id())
        })
        .collect();
    let more = not_ready.len().saturating_sub(3);
    format!(
        "{} of {total} not ready: {}{}",
        not_ready.len(),
        first.join(", "),
        if more > 0 {
            format!(", +{more} more")
        } else {
            String::new()
        }
    )
}

/// Wait for `/readyz`, then watch every source until all resources are
/// ready. `progress(not_ready, total)` is called when the set of resources
/// not ready changes.
pub async fn wait(
    client: &kube::Client,
    scope: &Scope,
    timeout: Duration,
    progress: impl FnMut(&[Verdict], usize),
) -> Result<Report, WaitError> {
    let start = Instant::now();
    let deadline = start + timeout;
    wait_readyz(client, start, deadline).await?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let tasks: Vec<_> = scope
        .sources()
        .into_iter()
        .map(|s| tokio::spawn(follow(client.clone(), s, tx.clone())))
        .collect();
    drop(tx);
    let mut w = Waiting {
        state: BTreeMap::new(),
        listed: vec![],
        sources: scope.sources().len(),
        jobs: JobLookup::default(),
        shown: None,
    };
    let r = w.run(client, rx, start, deadline, progress).await;
    for t in tasks {
        t.abort();
    }
    r
}

/// `/readyz` first, as the original's wait_ready did.
async fn wait_readyz(
    client: &kube::Client,
    start: Instant,
    deadline: Instant,
) -> Result<(), WaitError> {
    loop {
        let last = match super::facts::readyz(client).await {
            Ok(r) if r.ok => return Ok(()),
            Ok(r) => r.failing().join(", "),
            Err(e) if matches!(e.code(), Some(401 | 403)) => return Err(WaitError::Api(e)),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(WaitError::Timeout {
                waited: start.elapsed(),
                not_ready: vec![],
                readyz: Some(last),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

enum Update {
    Snapshot(Source, Vec<Verdict>),
    Upsert(Verdict),
    Delete(Kind, String, String),
}

/// One source through the watch helper, as updates.
async fn follow(
    client: kube::Client,
    s: Source,
    tx: tokio::sync::mpsc::UnboundedSender<Result<Update, K8sError>>,
) {
    let mut w = Watcher::new(&client, &s.path(), "");
    loop {
        let u = match w.next().await {
            Err(e) => {
                let _ = tx.send(Err(access_error(&s, e)));
                return;
            }
            Ok(Event::Restarted(items)) => Update::Snapshot(
                s.clone(),
                items.iter().map(|o| evaluate(s.kind, o)).collect(),
            ),
            Ok(Event::Applied(o)) => Update::Upsert(evaluate(s.kind, &o)),
            Ok(Event::Deleted(o)) => {
                let md = &o["metadata"];
                let t = |v: &Value| v.as_str().unwrap_or("").to_string();
                Update::Delete(s.kind, t(&md["namespace"]), t(&md["name"]))
            }
        };
        if tx.send(Ok(u)).is_err() {
            return;
        }
    }
}

type Key = (Kind, String, String);

/// The state of a wait.
struct Waiting {
    state: BTreeMap<Key, Verdict>,
    listed: Vec<Source>,
    sources: usize,
    jobs: JobLookup,
    /// the not-ready ids last shown to `progress`
    shown: Option<Vec<String>>,
}

impl Waiting {
    async fn run(
        &mut self,
        client: &kube::Client,
        mut rx: tokio::sync::mpsc::UnboundedReceiver<Result<Update, K8sError>>,
        start: Instant,
        deadline: Instant,
        mut progress: impl FnMut(&[Verdict], usize),
    ) -> Result<Report, WaitError> {
        // Jobs of failed pods are looked at again now and then: a Job that
        // gives up changes no pod
        let mut recheck = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline.into()) => {
                    let (all, _) = self.settled(client).await;
                    return Err(WaitError::Timeout {
                        waited: start.elapsed(),
                        not_ready: all.into_iter().filter(|v| !v.ready).collect(),
                        readyz: None,
                    });
                }
                u = rx.recv() => {
                    let Some(u) = u else {
                        return Err(WaitError::Api(K8sError::Transport("all watches ended".into())));
                    };
                    self.apply(u).map_err(WaitError::Api)?;
                    while let Ok(u) = rx.try_recv() {
                        self.apply(u).map_err(WaitError::Api)?;
                    }
                }
                _ = recheck.tick(), if self.jobs.pending => {}
            }
            if self.listed.len() < self.sources {
                continue;
            }
            let (all, fatal) = self.settled(client).await;
            if !fatal.is_empty() {
                return Err(WaitError::Failed(fatal));
            }
            let not_ready: Vec<Verdict> = all.iter().filter(|v| !v.ready).cloned().collect();
            let ids: Vec<String> = not_ready.iter().map(|v| v.id()).collect();
            if self.shown.as_ref() != Some(&ids) {
                progress(&not_ready, all.len());
                self.shown = Some(ids);
            }
            if not_ready.is_empty() {
                return Ok(Report::new(all));
            }
        }
    }

    fn apply(&mut self, u: Result<Update, K8sError>) -> Result<(), K8sError> {
        match u? {
            Update::Snapshot(s, items) => {
                self.state.retain(|_, v| !s.holds(v));
                for v in items {
                    self.state
                        .insert((v.kind, v.namespace.clone(), v.name.clone()), v);
                }
                if !self.listed.contains(&s) {
                    self.listed.push(s);
                }
            }
            Update::Upsert(v) => {
                self.state
                    .insert((v.kind, v.namespace.clone(), v.name.clone()), v);
            }
            Update::Delete(k, ns, n) => {
                self.state.remove(&(k, ns, n));
            }
        }
        Ok(())
    }

    /// Every verdict with Failed pods settled, and the ones that are fatal.
    async fn settled(&mut self, client: &kube::Client) -> (Vec<Verdict>, Vec<Verdict>) {
        let mut all: Vec<Verdict> = self.state.values().cloned().collect();
        let fatal = settle_failed(client, &mut all, &mut self.jobs).await;
        (all, fatal)
    }
}

/// Jobs asked about while settling Failed pods: terminal answers are kept.
#[derive(Default)]
struct JobLookup {
    done: HashMap<String, JobState>,
    /// some Job was still running at the last look
    pending: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum JobState {
    Complete,
    Failed(String),
    Gone,
    Running,
}

impl JobLookup {
    async fn state(&mut self, client: &kube::Client, ns: &str, name: &str) -> JobState {
        let key = format!("{ns}/{name}");
        if let Some(s) = self.done.get(&key) {
            return s.clone();
        }
        let path = format!(
            "/apis/batch/v1/namespaces/{}/jobs/{}",
            http::urlencode(ns),
            http::urlencode(name)
        );
        let s = match http::get_json(client, &path).await {
            Ok(job) => job_state(&job),
            Err(e) if e.is_not_found() => JobState::Gone,
            Err(_) => JobState::Running,
        };
        if s == JobState::Running {
            self.pending = true;
        } else {
            self.done.insert(key, s.clone());
        }
        s
    }
}

fn job_state(job: &Value) -> JobState {
    let cond = |t: &str| {
        job["status"]["conditions"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["type"] == t && c["status"] == "True"))
            .cloned()
    };
    if cond("Complete").is_some() || cond("SuccessCriteriaMet").is_some() {
        JobState::Complete
    } else if let Some(c) = cond("Failed") {
        JobState::Failed(c["message"].as_str().unwrap_or("").to_string())
    } else {
        JobState::Running
    }
}

/// A Failed pod never becomes ready. It does not block when its controller
/// replaced it (another pod of the same owner that has not failed, or its
/// Job completed); it is fatal when nothing will (no owner, its Job
/// failed or is gone); otherwise it waits for its owner.
async fn settle_failed(
    client: &kube::Client,
    all: &mut [Verdict],
    jobs: &mut JobLookup,
) -> Vec<Verdict> {
    jobs.pending = false;
    let alive: Vec<(String, String)> = all
        .iter()
        .filter(|v| v.kind == Kind::Pod && !v.failed)
        .filter_map(|v| Some((v.owner.as_ref()?.uid.clone(), v.name.clone())))
        .collect();
    let mut fatal = vec![];
    for v in all.iter_mut().filter(|v| v.kind == Kind::Pod && v.failed) {
        let Some(o) = v.owner.clone() else {
            fatal.push(v.clone());
            continue;
        };
        if let Some((_, by)) = alive
            .iter()
            .find(|(uid, _)| *uid == o.uid && !uid.is_empty())
        {
            v.ready = true;
            v.reason = format!("failed, replaced by pod {by}");
            continue;
        }
        if o.kind != "Job" {
            v.reason
                .push_str(&format!("; waiting for its {} to replace it", o.kind));
            continue;
        }
        match jobs.state(client, &v.namespace, &o.name).await {
            JobState::Complete => {
                v.ready = true;
                v.reason = format!("failed, but its Job {} completed", o.name);
            }
            JobState::Running => v
                .reason
                .push_str(&format!("; its Job {} may retry", o.name)),
            JobState::Failed(m) => {
                v.reason
                    .push_str(&format!("; its Job {} failed: {m}", o.name));
                fatal.push(v.clone());
            }
            JobState::Gone => {
                v.reason.push_str(&format!("; its Job {} is gone", o.name));
                fatal.push(v.clone());
            }
        }
    }
    fatal
}
