//! The one watch helper, in the manner of kube-runtime's watcher: list,
//! then watch from the list's resourceVersion; bookmarks move the resume
//! point; a 410 Gone (compaction) re-lists; a dropped, ended or silent
//! connection reconnects from the last resourceVersion with backoff;
//! 401/403/404 (and any other final 4xx) end the watch with that error, and
//! so does a streak of 5xx/429/transport failures longer than the retry
//! budget. An HTTP Status inside the stream is an error, never an event.
//!
//! Every wait in scaffold goes through [`Watcher`] (a collection, with
//! selectors) or [`ObjectWatch`] (one object by name).

use super::http::{self, K8sError};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// What a watch reads its objects as: JSON values (every field), or a
/// type that reads only the fields its caller needs (a watch of thousands
/// of pods then parses several times faster).
pub trait Item: serde::de::DeserializeOwned + Send + 'static {
    /// `metadata.resourceVersion`, the resume point.
    fn resource_version(&self) -> Option<&str>;
}

impl Item for Value {
    fn resource_version(&self) -> Option<&str> {
        self["metadata"]["resourceVersion"].as_str()
    }
}

/// What a watch tells.
#[derive(Debug, Clone)]
pub enum Event<T = Value> {
    /// The whole current state: the first list, and every re-list (after
    /// 410 Gone). Whatever the caller knew before is replaced.
    Restarted(Vec<T>),
    /// An object was added or changed.
    Applied(T),
    /// An object was deleted (its last state).
    Deleted(T),
}

/// One line of a watch stream, read straight into the item type.
#[derive(serde::Deserialize)]
struct Line<T> {
    #[serde(rename = "type", default)]
    etype: Option<String>,
    #[serde(default = "Option::default")]
    object: Option<T>,
}

/// How long a watch connection may stay silent before it is replaced by a
/// new one from the last resourceVersion: longer than the API server's
/// bookmark interval (about a minute), so only a dead (half-open)
/// connection trips it. `SCAFFOLD_WATCH_IDLE_SECONDS` changes it.
pub fn idle_timeout() -> Duration {
    idle_timeout_checked().unwrap_or(DEFAULT_IDLE)
}

const DEFAULT_IDLE: Duration = Duration::from_secs(100);

/// [`idle_timeout`], or why `SCAFFOLD_WATCH_IDLE_SECONDS` is not a
/// duration (every command checks it first).
pub fn idle_timeout_checked() -> Result<Duration, String> {
    crate::util::env_duration("SCAFFOLD_WATCH_IDLE_SECONDS", DEFAULT_IDLE, true)
}

/// The server ends each watch request after this long; we then resume.
const SERVER_TIMEOUT_SECONDS: u64 = 290;
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Failures in a row, and since when.
#[derive(Default)]
struct Streak {
    since: Option<Instant>,
    count: u32,
}

/// An open watch response: its body and the bytes not yet split into lines.
struct Stream {
    body: kube::client::Body,
    buf: Vec<u8>,
    /// where the unread part of `buf` starts (lines are not drained one by
    /// one: a frame holding many events would be shifted once per event)
    pos: usize,
    /// something (an event or a bookmark) arrived on this connection
    delivered: bool,
}

/// A list + watch of one collection (all namespaces or one, with optional
/// label/field selectors in `query`), its objects read as `T`.
pub struct Watcher<T: Item = Value> {
    client: kube::Client,
    path: String,
    query: String,
    rv: Option<String>,
    stream: Option<Stream>,
    streak: Streak,
    idle: Duration,
    budget: Duration,
    /// reconnects so far (dropped, ended, idle): for tests and `-v`
    pub reconnects: u32,
    /// re-lists after the first list (410 Gone)
    pub relists: u32,
    item: PhantomData<fn() -> T>,
}

impl<T: Item> Watcher<T> {
    /// Watch the collection at `path` (e.g. `/api/v1/namespaces/x/pods`);
    /// `query` is `labelSelector=...&fieldSelector=...` or empty.
    pub fn new(client: &kube::Client, path: &str, query: &str) -> Watcher<T> {
        Watcher {
            client: client.clone(),
            path: path.to_string(),
            query: query.to_string(),
            rv: None,
            stream: None,
            streak: Streak::default(),
            idle: idle_timeout(),
            budget: http::retry_budget(),
            reconnects: 0,
            relists: 0,
            item: PhantomData,
        }
    }

    /// Other limits than the defaults: how long a connection may stay
    /// silent, and how long failures in a row may go on.
    pub fn with_limits(mut self, idle: Duration, budget: Duration) -> Watcher<T> {
        self.idle = idle;
        self.budget = budget;
        self
    }

    /// What is watched, for messages.
    pub fn describe(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }

    /// The next event. Errors are final: the caller stops watching.
    pub async fn next(&mut self) -> Result<Event<T>, K8sError> {
        loop {
            if self.rv.is_none() {
                match http::list_all_as(&self.client, &self.path, &self.query).await {
                    Ok((items, rv)) => {
                        self.rv = Some(rv);
                        self.streak = Streak::default();
                        return Ok(Event::Restarted(items));
                    }
                    Err(e) => {
                        self.failed(e).await?;
                        continue;
                    }
                }
            }
            if self.stream.is_none() {
                match self.open().await {
                    Ok(s) => self.stream = Some(s),
                    Err(e) if e.code() == Some(410) => self.relist(),
                    Err(e) => self.failed(e).await?,
                }
                continue;
            }
            match self.read_line().await {
                Ok(Some(line)) => {
                    if let Some(ev) = self.event(&line).await? {
                        return Ok(ev);
                    }
                }
                Ok(None) => {
                    // the server ended the watch (its timeout, a restart)
                    let delivered = self.stream.take().is_some_and(|s| s.delivered);
                    self.reconnects += 1;
                    if !delivered {
                        self.failed(K8sError::Transport(
                            "the watch ended without sending anything".into(),
                        ))
                        .await?;
                    }
                }
                Err(Idle) => {
                    tracing::debug!(
                        "watch of {} silent for {:?}: reconnecting",
                        self.describe(),
                        self.idle
                    );
                    self.stream = None;
                    self.reconnects += 1;
                }
            }
        }
    }

    fn relist(&mut self) {
        self.rv = None;
        self.stream = None;
        self.relists += 1;
    }

    /// One line of the stream as an event; `None` for bookmarks and lines
    /// that move nothing.
    async fn event(&mut self, line: &[u8]) -> Result<Option<Event<T>>, K8sError> {
        // the common case in one pass: an event whose object reads as T
        if let Ok(Line {
            etype: Some(t),
            object: Some(obj),
        }) = serde_json::from_slice::<Line<T>>(line)
        {
            if matches!(t.as_str(), "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK") {
                return Ok(self.delivered(&t, obj));
            }
        }
        // errors, bare Status objects and unreadable lines
        let v: Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            Err(e) => {
                self.stream = None;
                self.failed(K8sError::Transport(format!(
                    "unreadable watch event from {}: {e}",
                    self.path
                )))
                .await?;
                return Ok(None);
            }
        };
        let mut v = v;
        let t = v["type"].as_str().unwrap_or("").to_string();
        if t.is_empty() && v["kind"] == "Status" {
            v["object"] = v.clone();
        }
        // the object is moved out, not copied (a watch of many pods parses
        // tens of thousands of them)
        let obj = v["object"].take();
        let t = t.as_str();
        if t == "ERROR" || (t.is_empty() && obj["kind"] == "Status") {
            let status = &obj;
            let e = status_error(status);
            self.stream = None;
            if e.code() == Some(410) {
                self.relist();
            } else {
                self.failed(e).await?;
            }
            return Ok(None);
        }
        match serde_json::from_value::<T>(obj) {
            Ok(obj) => Ok(self.delivered(t, obj)),
            Err(e) => {
                self.stream = None;
                self.failed(K8sError::Transport(format!(
                    "unreadable {t} event from {}: {e}",
                    self.path
                )))
                .await?;
                Ok(None)
            }
        }
    }

    /// An event arrived: the resume point moves, the failure streak ends.
    fn delivered(&mut self, t: &str, obj: T) -> Option<Event<T>> {
        if let Some(rv) = obj.resource_version() {
            self.rv = Some(rv.to_string());
        }
        if let Some(s) = self.stream.as_mut() {
            s.delivered = true;
        }
        self.streak = Streak::default();
        match t {
            "ADDED" | "MODIFIED" => Some(Event::Applied(obj)),
            "DELETED" => Some(Event::Deleted(obj)),
            _ => None, // BOOKMARK: only the resume point moves
        }
    }

    /// Open the watch from the current resourceVersion.
    async fn open(&mut self) -> Result<Stream, K8sError> {
        let rv = self.rv.clone().unwrap_or_default();
        let uri = format!(
            "{}?watch=1&allowWatchBookmarks=true&timeoutSeconds={SERVER_TIMEOUT_SECONDS}&resourceVersion={}{}{}",
            self.path,
            http::urlencode(&rv),
            if self.query.is_empty() { "" } else { "&" },
            self.query
        );
        let req = ::http::Request::get(uri)
            .header("accept", "application/json")
            .body(kube::client::Body::empty())
            .map_err(|e| K8sError::Transport(format!("bad watch request: {e}")))?;
        let res = tokio::time::timeout(http::READ_TIMEOUT, self.client.send(req))
            .await
            .map_err(|_| K8sError::Transport("no answer to the watch request".into()))?
            .map_err(|e| K8sError::Transport(http::transport_message(&e)))?;
        let code = res.status().as_u16();
        if code >= 300 {
            let body = tokio::time::timeout(http::READ_TIMEOUT, res.into_body().collect())
                .await
                .ok()
                .and_then(|r| r.ok())
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            return Err(http::api_error(code, &body));
        }
        Ok(Stream {
            body: res.into_body(),
            buf: Vec::new(),
            pos: 0,
            delivered: false,
        })
    }

    /// The next line of the open stream; `Ok(None)` when it ended (or
    /// broke: a transport error mid-stream is a reconnect, not a failure of
    /// the watch), `Err(Idle)` when nothing came for the idle timeout.
    async fn read_line(&mut self) -> Result<Option<Vec<u8>>, Idle> {
        let idle = self.idle;
        let Some(s) = self.stream.as_mut() else {
            return Ok(None);
        };
        loop {
            if let Some(i) = s.buf[s.pos..].iter().position(|b| *b == b'\n') {
                let (from, to) = (s.pos, s.pos + i + 1);
                s.pos = to;
                if s.buf[from..to].iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                return Ok(Some(s.buf[from..to].to_vec()));
            }
            // what was read is dropped before more comes in
            if s.pos > 0 {
                s.buf.drain(..s.pos);
                s.pos = 0;
            }
            let frame = match tokio::time::timeout(idle, s.body.frame()).await {
                Err(_) => return Err(Idle),
                Ok(None) | Ok(Some(Err(_))) => {
                    // a last line without a newline still counts
                    if s.buf.iter().any(|b| !b.is_ascii_whitespace()) {
                        return Ok(Some(std::mem::take(&mut s.buf)));
                    }
                    return Ok(None);
                }
                Ok(Some(Ok(f))) => f,
            };
            if let Ok(data) = frame.into_data() {
                let data: Bytes = data;
                s.buf.extend_from_slice(&data);
            }
        }
    }

    /// A failed request: final errors end the watch; transient ones wait a
    /// growing backoff, until the streak outlasts the retry budget.
    async fn failed(&mut self, e: K8sError) -> Result<(), K8sError> {
        if !transient(&e) {
            return Err(self.with_context(e));
        }
        let since = *self.streak.since.get_or_insert_with(Instant::now);
        self.streak.count += 1;
        let delay = BACKOFF_FIRST
            .saturating_mul(1 << self.streak.count.min(8))
            .min(BACKOFF_MAX);
        if since.elapsed() + delay > self.budget {
            let e = match e {
                K8sError::Transport(m) => K8sError::Transport(format!(
                    "{m} ({} failures in a row over {:.0}s)",
                    self.streak.count,
                    since.elapsed().as_secs_f64()
                )),
                other => other,
            };
            return Err(self.with_context(e));
        }
        tracing::debug!("watch of {}: {e}; retrying in {delay:?}", self.describe());
        tokio::time::sleep(delay).await;
        Ok(())
    }

    fn with_context(&self, e: K8sError) -> K8sError {
        match e {
            K8sError::Api {
                code,
                reason,
                message,
            } => K8sError::Api {
                code,
                reason,
                message: format!("watching {}: {message}", self.path),
            },
            K8sError::Transport(m) => K8sError::Transport(format!("watching {}: {m}", self.path)),
            other @ (K8sError::Invalid(_) | K8sError::Command(_)) => other,
        }
    }
}

/// Nothing arrived for the idle timeout.
struct Idle;

/// 5xx, 429 and failures without an answer are worth another try.
fn transient(e: &K8sError) -> bool {
    match e.code() {
        None => true,
        Some(c) => c == 429 || c == 408 || c >= 500,
    }
}

/// A Status object as an error.
fn status_error(s: &Value) -> K8sError {
    K8sError::Api {
        code: s["code"].as_u64().unwrap_or(500) as u16,
        reason: s["reason"].as_str().unwrap_or("").to_string(),
        message: s["message"]
            .as_str()
            .unwrap_or("error event in the watch")
            .to_string(),
    }
}

/// One object, by its item path (`.../namespaces/ns/pods/name`), watched
/// through its collection with `fieldSelector=metadata.name=NAME`.
pub struct ObjectWatch {
    w: Watcher<Value>,
}

impl ObjectWatch {
    pub fn new(client: &kube::Client, item_path: &str) -> ObjectWatch {
        let (coll, name) = item_path.rsplit_once('/').unwrap_or((item_path, ""));
        let sel = format!("fieldSelector=metadata.name%3D{name}");
        ObjectWatch {
            w: Watcher::new(client, coll, &sel),
        }
    }

    /// The object's state after the next change: `None` while it does not
    /// exist (the first call tells the current state).
    pub async fn next(&mut self) -> Result<Option<Value>, K8sError> {
        Ok(match self.w.next().await? {
            Event::Restarted(items) => items.into_iter().next(),
            Event::Applied(o) => Some(o),
            Event::Deleted(_) => None,
        })
    }

    /// Watch until `done` returns a value for the object's state.
    pub async fn until<T>(
        &mut self,
        mut done: impl FnMut(Option<&Value>) -> Option<T>,
    ) -> Result<T, K8sError> {
        loop {
            let state = self.next().await?;
            if let Some(t) = done(state.as_ref()) {
                return Ok(t);
            }
        }
    }
}

/// Wait until the object at `item_path` is gone.
pub async fn wait_gone(
    client: &kube::Client,
    item_path: &str,
    timeout: Duration,
) -> Result<(), K8sError> {
    let mut w = ObjectWatch::new(client, item_path);
    tokio::time::timeout(timeout, w.until(|o| o.is_none().then_some(())))
        .await
        .map_err(|_| {
            K8sError::Transport(format!(
                "{item_path} still exists after {:.0}s",
                timeout.as_secs_f64()
            ))
        })?
}
