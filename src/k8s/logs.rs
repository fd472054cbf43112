//! Container logs: read once, or follow line by line until the container
//! ends (each line handed to the caller as it arrives); streamed either
//! way, into a bounded capture, so a log of gigabytes neither fills memory
//! nor runs into a whole-request timeout.

use super::http::{self, K8sError};
use crate::capture::{Capture, Captured, SpillDir};
use std::time::Duration;

/// Which logs to read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogOptions {
    pub container: Option<String>,
    /// only the last this long (at least a second)
    pub since: Option<Duration>,
    /// only the last lines
    pub tail: Option<i64>,
    pub follow: bool,
}

/// The logs path of a pod.
pub fn path(ns: &str, pod: &str, o: &LogOptions) -> Result<String, String> {
    let mut q = vec![];
    if let Some(c) = &o.container {
        q.push(format!("container={}", http::urlencode(c)));
    }
    if let Some(s) = o.since {
        q.push(format!("sinceSeconds={}", s.as_secs().max(1)));
    }
    if let Some(t) = o.tail {
        q.push(format!("tailLines={t}"));
    }
    if o.follow {
        q.push("follow=true".into());
    }
    let pods = format!("/api/v1/namespaces/{}/pods", http::urlencode(ns));
    let item = http::item_path(&pods, "pod", pod).map_err(|e| e.to_string())?;
    Ok(format!("{item}/log?{}", q.join("&")))
}

/// Read the logs at `path` (`.../pods/NAME/log?...`), streamed into a
/// bounded capture: the last [`crate::capture::LIMIT`] bytes in memory,
/// all of it (byte for byte) in a file under `spill` once it outgrows
/// that. With `follow` (the path asks for `follow=true`) every line also
/// goes to `line` as it arrives, until the container ends; without, the
/// read ends with the log (a stream silent for the request timeout is an
/// error, however long the whole log takes).
pub async fn capture(
    client: &kube::Client,
    path: &str,
    follow: bool,
    name: &str,
    spill: Option<SpillDir>,
    line: &(dyn Fn(&str) + Send + Sync),
) -> Result<Captured, K8sError> {
    let mut all = Capture::new(name, spill);
    let idle = (!follow).then_some(http::READ_TIMEOUT);
    each_line(client, path, idle, &mut |b: &[u8]| {
        if follow {
            line(&text_of(b));
        }
        all.push(b);
    })
    .await?;
    Ok(all.finish())
}

/// A line as text: invalid UTF-8 replaced, the line end dropped.
fn text_of(b: &[u8]) -> String {
    let t = String::from_utf8_lossy(b);
    t.trim_end_matches('\n').trim_end_matches('\r').to_string()
}

/// Follow, handing each line to `sink` (as text, without its line end);
/// with `idle`, a stream that sends nothing for that long is an error.
pub async fn follow_into(
    client: &kube::Client,
    path: &str,
    idle: Option<Duration>,
    sink: &mut (dyn FnMut(&str) + Send),
) -> Result<(), K8sError> {
    each_line(client, path, idle, &mut |b: &[u8]| sink(&text_of(b))).await
}

/// A line longer than this is handed on in pieces (a binary log with no
/// newline must not grow one buffer without end).
const MAX_LINE: usize = 1 << 20;

/// Stream the log at `path`, handing each line (with its newline, bytes
/// as sent) to `sink`.
async fn each_line(
    client: &kube::Client,
    path: &str,
    idle: Option<Duration>,
    sink: &mut (dyn FnMut(&[u8]) + Send),
) -> Result<(), K8sError> {
    use futures::AsyncBufReadExt;
    let req = ::http::Request::get(path)
        .body(vec![])
        .map_err(|e| K8sError::Invalid(format!("bad log request {path}: {e}")))?;
    let stream = client.request_stream(req).await.map_err(|e| match e {
        kube::Error::Api(s) => K8sError::Api {
            code: s.code,
            reason: s.reason.clone(),
            message: s.message.clone(),
        },
        other => K8sError::Transport(http::transport_message(&other)),
    })?;
    let mut r = Box::pin(stream);
    let mut partial: Vec<u8> = vec![];
    loop {
        let chunk = match idle {
            Some(t) => tokio::time::timeout(t, r.fill_buf()).await.map_err(|_| {
                K8sError::Transport(format!("the log stream sent nothing for {} s", t.as_secs()))
            })?,
            None => r.fill_buf().await,
        }
        .map_err(|e| K8sError::Transport(format!("the log stream broke: {e}")))?;
        if chunk.is_empty() {
            if !partial.is_empty() {
                sink(&partial);
            }
            return Ok(());
        }
        let n = chunk.len();
        let mut rest = chunk;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            if partial.is_empty() {
                sink(&rest[..=i]);
            } else {
                partial.extend_from_slice(&rest[..=i]);
                sink(&partial);
                partial.clear();
            }
            rest = &rest[i + 1..];
        }
        partial.extend_from_slice(rest);
        if partial.len() >= MAX_LINE {
            sink(&partial);
            partial.clear();
        }
        r.consume_unpin(n);
    }
}
