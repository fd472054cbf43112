//! Container logs: read once, or follow line by line until the container
//! ends (each line handed to the caller as it arrives).

use super::http::{self, K8sError};
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

/// The logs at `path` (`.../pods/NAME/log?...`) as text.
pub async fn read(client: &kube::Client, path: &str) -> Result<String, K8sError> {
    let b = http::request(client, "GET", path, None, vec![], true).await?;
    Ok(String::from_utf8_lossy(&b).into_owned())
}

/// Follow the logs at `path` (with `follow=true`): every line goes to
/// `line` as it arrives; returns the whole text when the stream ends. A
/// stream that breaks is an error (the caller decides what was enough).
pub async fn follow(
    client: &kube::Client,
    path: &str,
    line: &(dyn Fn(&str) + Send + Sync),
) -> Result<String, K8sError> {
    let mut all = String::new();
    follow_into(client, path, &mut |l: &str| {
        line(l);
        all.push_str(l);
        all.push('\n');
    })
    .await?;
    Ok(all)
}

/// Follow, handing each line to `sink`.
pub async fn follow_into(
    client: &kube::Client,
    path: &str,
    sink: &mut (dyn FnMut(&str) + Send),
) -> Result<(), K8sError> {
    use futures::{AsyncBufReadExt, StreamExt};
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
    let mut lines = stream.lines();
    while let Some(l) = lines.next().await {
        let l = l.map_err(|e| K8sError::Transport(format!("the log stream broke: {e}")))?;
        sink(&l);
    }
    Ok(())
}
