//! ron, Run On Node: a privileged pod pinned to a node runs a command;
//! files go in through a ConfigMap at /configs, artifacts out of a PVC at
//! /store (tar.gz through exec); everything created is labelled, recorded
//! before it is created, and deleted per the cleanup policy, also after
//! errors and Ctrl-C (the caller runs [`cleanup`] with what [`Created`]
//! recorded). The CLI, scripts and node sessions build their [`Spec`] from
//! [`Spec::new`], the one set of defaults.

pub mod cleanup;
pub mod output;
pub mod pod;
pub mod spec;

pub use crate::k8s::labels::{MANAGED_BY, RUN_ID};
pub use cleanup::{cleanup, Cleanup, Created, Made};
pub use spec::{Spec, DEFAULT_TIMEOUT};

use crate::capture::Capture;
use crate::k8s::http::{self, K8sError};
use crate::k8s::watch::ObjectWatch;
pub use output::Out;
use output::{Lines, Stage};
use pod::PodState;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the log stream may lag behind the command's exit.
const LOG_GRACE: Duration = Duration::from_secs(10);

/// How long the copy-out container may take to run.
const COPY_WAIT: Duration = Duration::from_secs(120);

/// A DNS-1123 word: lowercase alphanumerics and dashes.
fn dns_word(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches('-')
        .to_string()
}

/// A short, stable hash of a name (6 hex digits).
fn short_hash(s: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(s.as_bytes());
    d.iter().take(3).map(|b| format!("{b:02x}")).collect()
}

/// An object name from a base, a node and the run id (plus a counter for
/// sessions): at most 63 characters, always ending in the whole run id
/// (and counter), the node shortened with a hash when it is long, so two
/// runs or two sessions never get the same name.
pub fn object_name(base: &str, node: &str, run_id: &str, extra: Option<&str>) -> String {
    let mut tail = dns_word(run_id);
    if let Some(x) = extra {
        tail = format!("{tail}-{}", dns_word(x));
    }
    let base = dns_word(base);
    let node_w = dns_word(node);
    let whole = format!("{base}-{node_w}-{tail}");
    if whole.len() <= 63 {
        return whole;
    }
    // base-<node prefix>-<hash>-tail
    let fixed = base.len().min(20) + tail.len() + 9;
    let room = 63usize.saturating_sub(fixed);
    let head: String = node_w.chars().take(room).collect();
    let base: String = base.chars().take(20).collect();
    let name = format!(
        "{base}-{}-{}-{tail}",
        head.trim_end_matches('-'),
        short_hash(node)
    );
    name.replace("--", "-")
        .trim_matches('-')
        .chars()
        .take(63)
        .collect()
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub code: i32,
    pub logs: String,
    /// when the logs are not the whole output, why
    pub logs_note: Option<String>,
    pub artifacts: Option<PathBuf>,
}

/// Make room for an object name: replace it only if it carries our label.
async fn claim(
    client: &kube::Client,
    made: Made,
    s: &Spec,
    name: &str,
    flag: &str,
) -> Result<(), String> {
    let ns = &s.namespace;
    let what = made.plural().trim_end_matches('s');
    let item = made.item(ns, name).map_err(|e| e.to_string())?;
    match http::get_json(client, &item).await {
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(format!("cannot check {what} '{ns}/{name}': {e}")),
        Ok(o) if crate::k8s::labels::ours(&o) => {
            let run = o["metadata"]["labels"][RUN_ID].as_str().unwrap_or("");
            cleanup::delete_ours(client, made, ns, name, run)
                .await
                .map(|_| ())
                .map_err(|e| format!("cannot replace {what} '{ns}/{name}': {e}"))
        }
        Ok(_) => Err(format!(
            "{what} '{ns}/{name}' already exists and was not created by scaffold; delete it or pick another name with {flag}"
        )),
    }
}

/// Create an object. Its name is recorded before the request (a Ctrl-C or
/// a lost answer still leaves it to clean up); throttling and failures
/// without an answer are retried, and a create whose answer was lost is
/// recognised by its run label, never duplicated.
async fn create(
    client: &kube::Client,
    s: &Spec,
    made: Made,
    obj: &Value,
    record: impl FnOnce(),
) -> Result<(), String> {
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    let coll = format!(
        "/api/v1/namespaces/{}/{}",
        http::urlencode(&s.namespace),
        made.plural()
    );
    let body = serde_json::to_vec(obj).unwrap_or_default();
    let cannot = |e: K8sError| {
        format!(
            "cannot create {} '{}/{name}': {e}",
            made.plural(),
            s.namespace
        )
    };
    record();
    let start = Instant::now();
    loop {
        let r = http::request(
            client,
            "POST",
            &coll,
            Some("application/json"),
            body.clone(),
            false,
        )
        .await;
        match r {
            Ok(_) => return Ok(()),
            Err(e) if e.code() == Some(409) => {
                let item = made.item(&s.namespace, name).map_err(cannot)?;
                if let Ok(o) = http::get_json(client, &item).await {
                    if o["metadata"]["labels"][RUN_ID] == s.run_id.as_str() {
                        return Ok(());
                    }
                }
                return Err(cannot(e));
            }
            // 429: the server did not process it; no answer: it may have
            // (the 409 above tells); other 4xx are final
            Err(e) if matches!(e.code(), Some(c) if c != 429 && c < 500) => return Err(cannot(e)),
            Err(e) if start.elapsed() >= s.retry_budget() => return Err(cannot(e)),
            Err(_) => tokio::time::sleep(s.retry_delay).await,
        }
    }
}

/// Check names, then create the ConfigMap, the PVC and the pod.
async fn create_all(
    client: &kube::Client,
    s: &Spec,
    created: &Mutex<Created>,
) -> Result<(), String> {
    // names first: nothing is created when one is taken by someone else
    claim(client, Made::Pod, s, &s.pod_name, "--pod-name / pod_name").await?;
    if !s.files.is_empty() {
        claim(
            client,
            Made::ConfigMap,
            s,
            &s.configmap_name,
            "--configmap-name / configmap_name",
        )
        .await?;
    }
    if s.pvc && s.manage_pvc {
        claim(client, Made::Pvc, s, &s.pvc_name, "--pvc-name / pvc_name").await?;
    }
    if !s.files.is_empty() {
        let cm = pod::configmap_manifest(s);
        create(client, s, Made::ConfigMap, &cm, || {
            created.lock().unwrap().configmap = Some(s.configmap_name.clone())
        })
        .await?;
    }
    if s.pvc && s.manage_pvc {
        let pvc = pod::pvc_manifest(s);
        create(client, s, Made::Pvc, &pvc, || {
            created.lock().unwrap().pvc = Some(s.pvc_name.clone())
        })
        .await?;
    }
    let p = pod::pod_manifest(s);
    create(client, s, Made::Pod, &p, || {
        created.lock().unwrap().pod = Some(s.pod_name.clone())
    })
    .await
}

/// Following the pod's states: what it waits for is said once; image
/// pulls the kubelet retries are waited through for the retry budget, then
/// reported with the kubelet's message; final states are errors.
struct Progress<'a> {
    s: &'a Spec,
    out: &'a Out,
    name: String,
    said: String,
    pulling_since: Option<Instant>,
}

impl<'a> Progress<'a> {
    fn new(s: &'a Spec, out: &'a Out) -> Progress<'a> {
        Progress {
            s,
            out,
            name: format!("pod {}/{}", s.namespace, s.pod_name),
            said: String::new(),
            pulling_since: None,
        }
    }

    /// The next state of the pod from the watch, and whether it is on a
    /// node yet (its logs can be asked for only then).
    async fn next(&self, w: &mut ObjectWatch) -> Result<(PodState, bool), String> {
        let pod = w
            .next()
            .await
            .map_err(|e| format!("watching {}: {e}", self.name))?;
        let pod = pod.ok_or_else(|| format!("{} was deleted before it ended", self.name))?;
        let scheduled = pod["spec"]["nodeName"]
            .as_str()
            .is_some_and(|n| !n.is_empty());
        Ok((pod::state(&pod), scheduled))
    }

    /// Take in a state: `Ok(Some)` once `main` runs or ended.
    fn see(&mut self, st: PodState) -> Result<Option<PodState>, String> {
        match st {
            PodState::Fatal(why) => return Err(format!("{} cannot run: {why}", self.name)),
            PodState::Waiting(what) => {
                self.pulling_since = None;
                if what != self.said {
                    (self.out)(&format!("{}ron: waiting for {what}", self.s.prefix));
                    self.said = what;
                }
            }
            PodState::PullRetrying(why) => {
                let since = *self.pulling_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= self.s.retry_budget() {
                    return Err(format!(
                        "{} cannot run: {why} (still failing after {:.0}s of kubelet retries)",
                        self.name,
                        since.elapsed().as_secs_f64()
                    ));
                }
            }
            PodState::Starting => self.pulling_since = None,
            st @ (PodState::Running | PodState::Exited(_)) => return Ok(Some(st)),
        }
        Ok(None)
    }
}

fn pod_watch(client: &kube::Client, s: &Spec) -> Result<ObjectWatch, String> {
    let item = Made::Pod
        .item(&s.namespace, &s.pod_name)
        .map_err(|e| e.to_string())?;
    Ok(ObjectWatch::new(client, &item))
}

/// Create everything and wait until `main` runs (node sessions stop here).
pub async fn start(
    client: &kube::Client,
    s: &Spec,
    created: &Mutex<Created>,
    out: &Out,
) -> Result<(), String> {
    create_all(client, s, created).await?;
    let mut w = pod_watch(client, s)?;
    let mut p = Progress::new(s, out);
    loop {
        let (st, _) = p.next(&mut w).await?;
        if p.see(st)?.is_some() {
            return Ok(());
        }
    }
}

/// A new record of what a run creates.
pub fn new_created(s: &Spec) -> Arc<Mutex<Created>> {
    Arc::new(Mutex::new(s.created()))
}

/// Run the command; `created` records what exists for `cleanup`.
pub async fn run(
    client: &kube::Client,
    s: &Spec,
    created: Arc<Mutex<Created>>,
    out: Out,
) -> Result<Outcome, String> {
    // with an exit marker the output is read live through an attach
    let gated = Spec {
        gate: s.exit_marker().is_some(),
        ..s.clone()
    };
    let s = &gated;
    create_all(client, s, &created).await?;
    let events = s
        .show_events
        .then(|| tokio::spawn(show_events(client.clone(), s.clone(), out.clone())));
    let r = tokio::time::timeout(s.timeout, follow(client, s, out.clone())).await;
    if let Some(e) = events {
        e.abort();
    }
    let (code, logs, logs_note) =
        r.map_err(|_| format!("command did not finish within {}s", s.timeout.as_secs()))??;
    let artifacts = if s.pvc && s.auto_copy {
        Some(copy_out(client, s).await?)
    } else {
        None
    };
    Ok(Outcome {
        code,
        logs,
        logs_note,
        artifacts,
    })
}

/// Wait for `main` to end, streaming its output; its exit code and the
/// output (with a note when it may be cut). With an exit marker (images
/// known to have `sh`) the code comes with the output the moment the
/// command ends; otherwise from the pod's status, which the kubelet
/// updates about once a second.
async fn follow(
    client: &kube::Client,
    s: &Spec,
    out: Out,
) -> Result<(i32, String, Option<String>), String> {
    let logs = Arc::new(Mutex::new(Capture::new(
        &format!("{}-main", s.pod_name),
        s.spill.clone(),
    )));
    let (code_tx, mut code_rx) = tokio::sync::oneshot::channel();
    let (stage_tx, stage) = tokio::sync::watch::channel(Stage::Pending);
    let lines = Lines {
        s: s.clone(),
        logs: logs.clone(),
        out: out.clone(),
        count: 0,
    };
    let task = AbortOnDrop(tokio::spawn(read_output(
        client.clone(),
        lines,
        stage,
        code_tx,
    )));
    let mut w = pod_watch(client, s)?;
    let mut p = Progress::new(s, &out);
    let mut marker_open = s.exit_marker().is_some();
    let (code, by_marker) = loop {
        tokio::select! {
            c = &mut code_rx, if marker_open => match c {
                Ok(c) => break (c, true),
                // the output ended without a marker: the status tells
                Err(_) => marker_open = false,
            },
            st = p.next(&mut w) => {
                let (st, scheduled) = st?;
                if scheduled {
                    stage_tx.send_if_modified(|now| match (*now, &st) {
                        (Stage::Pending, _) => { *now = Stage::OnNode; true }
                        (Stage::OnNode, PodState::Running) => { *now = Stage::Running(Instant::now()); true }
                        _ => false,
                    });
                }
                if let Some(PodState::Exited(c)) = p.see(st)? {
                    stage_tx.send_replace(Stage::Ended);
                    break (c, false);
                }
            },
        }
    };
    // after the marker everything the command wrote was read: the log
    // stream may stay open for seconds until the kubelet notices the exit
    let note = if by_marker {
        task.0.abort();
        None
    } else {
        finish_logs(task).await
    };
    let captured = std::mem::replace(&mut *logs.lock().unwrap(), Capture::new("", None)).finish();
    let note = [note, captured.note()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
    for n in &note {
        out(&format!("{}[scaffold] {n}", s.prefix));
    }
    Ok((
        code,
        captured.text,
        (!note.is_empty()).then(|| note.join("; ")),
    ))
}

/// A task that stops when its handle goes (an error path returns early).
struct AbortOnDrop(tokio::task::JoinHandle<Result<(), K8sError>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The output, from the attach to a gated `main` or else its logs; the
/// exit code to `code` when the marker came.
async fn read_output(
    client: kube::Client,
    mut lines: Lines,
    mut stage: tokio::sync::watch::Receiver<Stage>,
    code: tokio::sync::oneshot::Sender<i32>,
) -> Result<(), K8sError> {
    if lines.s.gate {
        if let output::Attached::Read(c) = output::attach(&client, &mut lines, &mut stage).await {
            return match c {
                Some(c) => {
                    let _ = code.send(c);
                    Ok(())
                }
                // killed, or the connection dropped: the status has the code
                None => Err(K8sError::Transport(
                    "the output stream ended before the command's exit marker".into(),
                )),
            };
        }
    }
    stream_logs(client, lines, stage, code).await
}

/// Follow `main`'s logs from as soon as the container exists (once the
/// pod is on a node; retried while the container is being created); the
/// exit marker's code goes to `code` at once.
async fn stream_logs(
    client: kube::Client,
    mut lines: Lines,
    mut stage: tokio::sync::watch::Receiver<Stage>,
    code: tokio::sync::oneshot::Sender<i32>,
) -> Result<(), K8sError> {
    let item = Made::Pod.item(&lines.s.namespace, &lines.s.pod_name)?;
    let path = format!("{item}/log?container=main&follow=true");
    let has_marker = lines.s.exit_marker().is_some();
    let mut code = Some(code);
    if stage.wait_for(|st| *st != Stage::Pending).await.is_err() {
        return Ok(());
    }
    loop {
        let mut sink = |l: &str| {
            if let (Some(c), Some(tx)) = (lines.line(l), code.take()) {
                let _ = tx.send(c);
            }
        };
        let r = crate::k8s::logs::follow_into(&client, &path, None, &mut sink).await;
        match r {
            // not created or started yet ("ContainerCreating", "waiting to start")
            Err(e) if e.code() == Some(400) => {}
            // with a marker an empty stream is one that came too early
            Ok(()) if has_marker && lines.count == 0 => {}
            r => return r,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Give the log stream a moment to end after the command exited; stop it
/// otherwise. A note when what was read may not be everything.
async fn finish_logs(mut task: AbortOnDrop) -> Option<String> {
    match tokio::time::timeout(LOG_GRACE, &mut task.0).await {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(e))) => Some(format!("the output stream broke ({e}); the output shown may be cut")),
        Ok(Err(e)) => Some(format!("reading the logs failed ({e}); the output shown may be cut")),
        Err(_) => Some(format!(
            "the log stream was still open {}s after the command exited; stopped it, the output shown may be cut",
            LOG_GRACE.as_secs()
        )),
    }
}

/// Print the events of the pod as they come (repeated events are updates
/// of one Event: shown again with their count).
async fn show_events(client: kube::Client, s: Spec, out: Out) {
    use crate::k8s::watch::{Event, Watcher};
    let path = format!(
        "/api/v1/namespaces/{}/events",
        http::urlencode(&s.namespace)
    );
    let sel = format!(
        "fieldSelector={}",
        http::urlencode(&format!("involvedObject.name={}", s.pod_name))
    );
    let mut w: Watcher = Watcher::new(&client, &path, &sel);
    let mut seen: std::collections::HashSet<(String, i64)> = Default::default();
    while let Ok(ev) = w.next().await {
        let list = match ev {
            Event::Restarted(items) => items,
            Event::Applied(e) => vec![e],
            Event::Deleted(_) => continue,
        };
        for e in list {
            let key = (
                e["metadata"]["uid"].as_str().unwrap_or("").to_string(),
                e["count"].as_i64().unwrap_or(1),
            );
            if !seen.insert(key.clone()) {
                continue;
            }
            let times = if key.1 > 1 {
                format!(" (x{})", key.1)
            } else {
                String::new()
            };
            let t = |k: &str| e[k].as_str().unwrap_or("").to_string();
            out(&format!(
                "{}event: {} {}: {}{times}",
                s.prefix,
                t("type"),
                t("reason"),
                t("message")
            ));
        }
    }
}

/// `tar czf - /store` in the sleep container, streamed to the destination
/// (once that container runs: `main` may have ended before it started).
async fn copy_out(client: &kube::Client, s: &Spec) -> Result<PathBuf, String> {
    let mut w = pod_watch(client, s)?;
    let running = async {
        loop {
            let pod = w.next().await.map_err(|e| e.to_string())?;
            let pod = pod.ok_or_else(|| format!("pod {} went away", s.pod_name))?;
            if pod::container_running(&pod, "sleep") {
                return Ok::<(), String>(());
            }
        }
    };
    tokio::time::timeout(COPY_WAIT, running)
        .await
        .map_err(|_| {
            format!(
                "the copy-out container of {}/{} did not run within {}s",
                s.namespace,
                s.pod_name,
                COPY_WAIT.as_secs()
            )
        })??;
    let argv = ["tar", "czf", "-", "-C", "/", "store"]
        .map(String::from)
        .to_vec();
    crate::k8s::exec::copy_tar(
        client,
        &s.namespace,
        &s.pod_name,
        "sleep",
        argv,
        &s.auto_copy_dest,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_the_run_id_and_fit() {
        assert_eq!(
            object_name("ron", "Kind-Worker", "r1", None),
            "ron-kind-worker-r1"
        );
        assert_eq!(
            object_name("ron", "node.example.com", "x", None),
            "ron-node-example-com-x"
        );
        let long = "ip-10-0-12-34.eu-central-1.compute.internal.example.corp";
        let a = object_name("scaffold-session", long, "r1a2b3c4d", Some("1"));
        let b = object_name("scaffold-session", long, "r1a2b3c4d", Some("2"));
        let c = object_name("scaffold-session", long, "r9z8y7x6w", Some("1"));
        for n in [&a, &b, &c] {
            assert!(n.len() <= 63, "{n}");
            assert!(!n.contains("--") && !n.ends_with('-'), "{n}");
        }
        assert!(
            a.ends_with("-r1a2b3c4d-1") && b.ends_with("-r1a2b3c4d-2"),
            "{a} {b}"
        );
        assert!(c.ends_with("-r9z8y7x6w-1"), "{c}");
        assert_ne!(a, b);
        // two long nodes that share a prefix still differ
        let d = object_name("ron", &format!("{long}-a"), "r1", None);
        let e = object_name("ron", &format!("{long}-b"), "r1", None);
        assert_ne!(d, e);
    }
}
