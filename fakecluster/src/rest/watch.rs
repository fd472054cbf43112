//! Watches: the initial events (or the history since `resourceVersion`),
//! a BOOKMARK that ends the initial events, then live events and periodic
//! BOOKMARKs, until `timeoutSeconds`, a fault, or the client leaves. A
//! resourceVersion older than the history answers HTTP 200 and one ERROR
//! event with a 410 Expired Status, then the stream closes, as the API
//! server does (tests/traces/errors.json).

use super::read::{event_v1, matches, selectors, stored_kind};
use super::target::Target;
use crate::errors::ApiError;
use crate::http::{error_response, tokio_stream_from, Body, Query};
use crate::kinds::Kind;
use crate::shared::Shared;
use crate::store::{Event, Stored};
use base64::Engine;
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::Response;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::mpsc::Sender;

/// One line of a watch: `{"type":TYPE,"object":JSON}`.
fn event_line(etype: &str, json: &[u8]) -> Bytes {
    let mut s = Vec::with_capacity(json.len() + etype.len() + 24);
    s.extend_from_slice(b"{\"type\":\"");
    s.extend_from_slice(etype.as_bytes());
    s.extend_from_slice(b"\",\"object\":");
    s.extend_from_slice(json);
    s.extend_from_slice(b"}\n");
    Bytes::from(s)
}

fn value_line(etype: &str, obj: &Value) -> Bytes {
    event_line(etype, &serde_json::to_vec(obj).unwrap_or_default())
}

/// A BOOKMARK's object; the one that ends the initial events says so and
/// carries the list blueprint, as the API server's does.
fn bookmark(kind: &Kind, rv: u64, initial_end: bool) -> Value {
    let mut md = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
    if initial_end {
        let blueprint = format!(
            "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{{}},\"items\":null}}\n",
            kind.kind,
            kind.api_version()
        );
        md["annotations"] = json!({
            "k8s.io/initial-events-end": "true",
            "kubernetes.io/initial-events-list-blueprint": base64::engine::general_purpose::STANDARD.encode(blueprint),
        });
    }
    json!({"kind": kind.kind, "apiVersion": kind.api_version(), "metadata": md})
}

/// What one watch sends.
struct Filter {
    served: Kind,
    res: String,
    ns: Option<String>,
    name: Option<String>,
    labels: crate::select::Selector,
    fields: crate::select::Selector,
}

impl Filter {
    fn keeps(&self, res: &str, ns: &str, obj: &Value) -> bool {
        res == self.res
            && self.ns.as_deref().is_none_or(|n| n == ns)
            && self
                .name
                .as_deref()
                .is_none_or(|n| obj["metadata"]["name"] == n)
            && matches(obj, &self.labels, &self.fields)
    }

    /// The bytes of an object as this watch shows it.
    fn json(&self, typed: &Bytes, obj: &Value) -> Bytes {
        if self.served.group == "events.k8s.io" {
            return Bytes::from(serde_json::to_vec(&event_v1(obj)).unwrap_or_default());
        }
        typed.clone()
    }
}

pub fn watch(sh: Arc<Shared>, t: Target, q: Query) -> Response<Body> {
    let (labels, fields) = match selectors(&t.kind, &q) {
        Ok(x) => x,
        Err(e) => return error_response(&e),
    };
    let stored = stored_kind(&sh, &t.kind);
    let filter = Filter {
        res: stored.key(),
        served: t.kind.clone(),
        ns: t.ns.clone(),
        name: t.name.clone(),
        labels,
        fields,
    };
    let rx = sh.store.subscribe();
    let rv = q.get("resourceVersion").unwrap_or("").to_string();
    let bookmarks = q.flag("allowWatchBookmarks");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(std::time::Duration::from_secs);
    let (tx, body_rx) = tokio::sync::mpsc::channel::<Bytes>(256);
    tokio::spawn(async move {
        let Some(last) = start(&sh, &stored, &filter, &rv, bookmarks, &tx).await else {
            return;
        };
        follow(sh, filter, rx, last, bookmarks, timeout, tx).await;
    });
    let stream = tokio_stream_from(body_rx).map(|b| Ok::<_, std::io::Error>(Frame::data(b)));
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("transfer-encoding", "chunked")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .expect("watch response")
}

/// The first events: every object now (no resourceVersion, or 0), or the
/// history since one; the resourceVersion reached, None when done.
async fn start(
    sh: &Shared,
    kind: &Kind,
    f: &Filter,
    rv: &str,
    bookmarks: bool,
    tx: &Sender<Bytes>,
) -> Option<u64> {
    if let Some(code) = sh.faults.take_watch_error() {
        let st = ApiError::new(code, "Injected", format!("injected watch error {code}")).status();
        let _ = tx.send(value_line("ERROR", &st)).await;
        return None;
    }
    if rv.is_empty() || rv == "0" {
        let (items, now): (Vec<Arc<Stored>>, u64) = sh.store.list_stored(kind, None);
        for o in items {
            let ns = o.value["metadata"]["namespace"].as_str().unwrap_or("");
            if f.keeps(&kind.key(), ns, &o.value)
                && tx
                    .send(event_line("ADDED", &f.json(&o.typed(), &o.value)))
                    .await
                    .is_err()
            {
                return None;
            }
        }
        if bookmarks && rv.is_empty() {
            tx.send(value_line("BOOKMARK", &bookmark(&f.served, now, true)))
                .await
                .ok()?;
        }
        return Some(now);
    }
    let from: u64 = rv.parse().unwrap_or(0);
    match sh.store.events_since(from) {
        Err(e) => {
            let _ = tx.send(value_line("ERROR", &e.status())).await;
            None
        }
        Ok(evs) => {
            let mut last = from;
            for e in evs {
                last = e.rv;
                if f.keeps(&e.res, &e.ns, &e.object.value)
                    && tx
                        .send(event_line(e.etype, &f.json(&e.typed, &e.object.value)))
                        .await
                        .is_err()
                {
                    return None;
                }
            }
            Some(last)
        }
    }
}

/// Live events until the watch ends.
async fn follow(
    sh: Arc<Shared>,
    f: Filter,
    mut rx: tokio::sync::broadcast::Receiver<Arc<Event>>,
    mut last: u64,
    bookmarks: bool,
    timeout: Option<std::time::Duration>,
    tx: Sender<Bytes>,
) {
    let mut dropper = sh.faults.watch_dropper();
    let mut stall = sh.faults.stall_receiver();
    let stop = sh.shutdown.clone();
    let deadline = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
    tick.tick().await;
    // a stalled watch keeps its connection and says nothing
    if sh.faults.watches_stalled() {
        stalled(&sh).await;
        return;
    }
    loop {
        // a drop or a stop wins over a pending event, so a fault is seen
        // where the test put it
        tokio::select! {
            biased;
            _ = dropper.recv() => return,
            _ = &mut deadline => return,
            _ = stop.cancelled() => return,
            _ = stall_started(&mut stall) => {
                stalled(&sh).await;
                return;
            }
            _ = tick.tick(), if bookmarks => {
                let b = bookmark(&f.served, last.max(sh.store.current_rv()), false);
                if tx.send(value_line("BOOKMARK", &b)).await.is_err() { return; }
            }
            ev = rx.recv() => {
                let Ok(ev) = ev else { return };
                if sh.faults.watches_stalled() {
                    stalled(&sh).await;
                    return;
                }
                if ev.rv <= last { continue; }
                last = ev.rv;
                if f.keeps(&ev.res, &ev.ns, &ev.object.value) && tx.send(event_line(ev.etype, &f.json(&ev.typed, &ev.object.value))).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Resolves when the stall fault is switched on.
async fn stall_started(rx: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        let r = rx.changed().await;
        if r.is_err() {
            return std::future::pending().await;
        }
        if *rx.borrow_and_update() {
            return;
        }
    }
}

/// A stalled watch: silent until the fault is healed, then closed (events
/// meanwhile are lost to this connection, as on a dead one).
async fn stalled(sh: &Shared) {
    while sh.faults.watches_stalled() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
