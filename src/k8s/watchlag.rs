//! How late a watch hears of a change (`measure_pods` calibrates with it):
//! a canary ConfigMap, patched `n` times, each patch timed from its request
//! to the watch event that carries it. The lag's p99 is the uncertainty of
//! every watch-observed time.

use super::http::{self, K8sError};
use super::watch::ObjectWatch;
use serde::Serialize;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The watch's lag, seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Lag {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub samples: usize,
}

/// Patches of the canary.
pub const PATCHES: usize = 10;

/// Create the canary `name` in `ns` (with `labels`), time `n` patches to
/// the watch, delete it (also when a step failed).
pub async fn calibrate(
    client: &kube::Client,
    ns: &str,
    name: &str,
    labels: Value,
    n: usize,
) -> Result<Lag, K8sError> {
    let coll = format!("/api/v1/namespaces/{}/configmaps", http::urlencode(ns));
    let item = format!("{coll}/{}", http::urlencode(name));
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels}, "data": {"n": "0"}});
    let json_body = |v: &Value| serde_json::to_vec(v).unwrap_or_default();
    http::request(
        client,
        "POST",
        &coll,
        Some("application/json"),
        json_body(&body),
        true,
    )
    .await?;
    let r = patches(client, &item, n).await;
    let _ =
        super::objects::delete_path(client, &item, super::objects::Propagation::Background).await;
    let mut lags = r?;
    lags.sort_by(f64::total_cmp);
    Ok(Lag {
        p50: crate::stats::percentile(&lags, 50.0),
        p99: crate::stats::percentile(&lags, 99.0),
        max: lags[lags.len() - 1],
        samples: lags.len(),
    })
}

async fn patches(client: &kube::Client, item: &str, n: usize) -> Result<Vec<f64>, K8sError> {
    let mut w = ObjectWatch::new(client, item);
    w.next().await?;
    let mut lags = vec![];
    for k in 1..=n.max(1) {
        let v = k.to_string();
        let patch = serde_json::to_vec(&json!({"data": {"n": v}})).unwrap_or_default();
        let t0 = Instant::now();
        let send = http::request(
            client,
            "PATCH",
            item,
            Some("application/merge-patch+json"),
            patch,
            true,
        );
        let seen =
            w.until(|o| (o.map(|o| o["data"]["n"] == v.as_str()) == Some(true)).then_some(()));
        let seen = tokio::time::timeout(Duration::from_secs(10), seen);
        let (sent, seen) = tokio::join!(send, seen);
        sent?;
        seen.map_err(|_| {
            K8sError::Invalid("the canary's change never reached the watch (10 s)".into())
        })??;
        lags.push(t0.elapsed().as_secs_f64());
    }
    Ok(lags)
}
