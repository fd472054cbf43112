//! Everything scaffold created by itself, found by its label
//! (`app.kubernetes.io/managed-by=scaffold`) in every kind the server can
//! list and delete, grouped by run: what `scaffold cleanup` shows and
//! deletes.

use super::discovery::{Discovery, Resource};
use super::http::{self, K8sError};
use super::labels::{MANAGED_BY, RUN_HOST, RUN_ID, RUN_PID, RUN_STARTED};
use super::objects::{self, Propagation};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// One labelled object.
#[derive(Clone, Debug)]
pub struct Found {
    pub resource: Resource,
    pub namespace: String,
    pub name: String,
    pub run_id: String,
    /// how long ago it was created (None: the server did not say)
    pub age: Option<Duration>,
    /// how long ago its run started (None: made before runs said so)
    pub run_age: Option<Duration>,
    /// the machine and process of its run
    pub host: String,
    pub pid: Option<u32>,
}

impl Found {
    pub fn describe(&self) -> String {
        let what = self.resource.display();
        if self.namespace.is_empty() {
            format!("{what} {}", self.name)
        } else {
            format!("{what} {}/{}", self.namespace, self.name)
        }
    }
}

/// Seconds since an RFC 3339 UTC time (`2026-11-25T03:31:14Z`).
pub fn age_of(ts: &str) -> Option<Duration> {
    let b = ts.as_bytes();
    if ts.len() < 20 || b[4] != b'-' || b[10] != b'T' {
        return None;
    }
    let secs = super::podlatency::parse_time(ts)?.floor();
    let now = super::podlatency::now().floor();
    Some(Duration::from_secs((now - secs).max(0.0) as u64))
}

/// Kinds worth searching: listable and deletable, one version per kind.
fn searchable(disc: &Discovery) -> Vec<Resource> {
    let mut seen = std::collections::HashSet::new();
    disc.resources
        .iter()
        .filter(|r| r.verbs.iter().any(|v| v == "list") && r.verbs.iter().any(|v| v == "delete"))
        .filter(|r| r.kind != "Event" && r.group != "events.k8s.io")
        .filter(|r| seen.insert((r.group.clone(), r.kind.clone())))
        .cloned()
        .collect()
}

fn found(r: &Resource, o: &Value) -> Found {
    let md = &o["metadata"];
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    Found {
        resource: r.clone(),
        namespace: s(&md["namespace"]),
        name: s(&md["name"]),
        run_id: s(&md["labels"][RUN_ID]),
        age: md["creationTimestamp"].as_str().and_then(age_of),
        run_age: md["labels"][RUN_STARTED]
            .as_str()
            .and_then(|t| t.parse::<f64>().ok())
            .map(|t| Duration::from_secs((super::podlatency::now() - t).max(0.0) as u64)),
        host: s(&md["labels"][RUN_HOST]),
        pid: md["labels"][RUN_PID].as_str().and_then(|p| p.parse().ok()),
    }
}

/// Every labelled object (of one run, if given), in every kind.
pub async fn find(
    client: &kube::Client,
    disc: &Discovery,
    run: Option<&str>,
) -> Result<Vec<Found>, K8sError> {
    let mut sel = format!("{MANAGED_BY}=scaffold");
    if let Some(r) = run {
        sel.push_str(&format!(",{RUN_ID}={r}"));
    }
    let q = format!("labelSelector={}", http::urlencode(&sel));
    let kinds = searchable(disc);
    let lists = futures::future::join_all(kinds.iter().map(|r| {
        let q = q.clone();
        async move { (r, objects::list(client, r, None, &q).await) }
    }))
    .await;
    let mut out = vec![];
    for (r, l) in lists {
        match l {
            Ok(items) => out.extend(items.iter().map(|o| found(r, o))),
            // a kind we may not list cannot hold objects we made
            Err(e) if matches!(e.code(), Some(403..=405)) => {}
            Err(e) => return Err(e),
        }
    }
    out.sort_by(|a, b| {
        (&a.run_id, a.resource.display(), &a.namespace, &a.name).cmp(&(
            &b.run_id,
            b.resource.display(),
            &b.namespace,
            &b.name,
        ))
    });
    Ok(out)
}

/// One run's objects, as found.
#[derive(Clone, Debug, Default)]
pub struct Run {
    pub objects: usize,
    /// the oldest object's age
    pub oldest: Option<Duration>,
    /// how long ago the run started, as its labels say
    pub started: Option<Duration>,
    pub host: String,
    pub pid: Option<u32>,
}

impl Run {
    /// The run's age: since it started, or (for objects made before runs
    /// said when they started) since its oldest object was made.
    pub fn age(&self) -> Option<Duration> {
        self.started.or(self.oldest)
    }

    /// Its process is alive on this machine (a scaffold still running).
    pub fn alive_here(&self) -> bool {
        let Some(pid) = self.pid else { return false };
        !self.host.is_empty()
            && self.host == super::labels::this_host()
            && crate::signals::alive(pid)
            && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim().starts_with("scaffold"))
    }
}

/// Per run id: its objects' count, ages, machine and process.
pub fn by_run(found: &[Found]) -> BTreeMap<String, Run> {
    let mut m: BTreeMap<String, Run> = BTreeMap::new();
    for f in found {
        let e = m.entry(f.run_id.clone()).or_default();
        e.objects += 1;
        e.oldest = e.oldest.max(f.age);
        e.started = e.started.max(f.run_age);
        if e.pid.is_none() && f.pid.is_some() {
            e.pid = f.pid;
            e.host = f.host.clone();
        }
    }
    m
}

/// Delete one found object (Background propagation); namespaces last is
/// the caller's order.
pub async fn delete(client: &kube::Client, f: &Found) -> Result<(), K8sError> {
    objects::delete(
        client,
        &f.resource,
        &f.namespace,
        &f.name,
        Propagation::Background,
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_from_timestamps() {
        let a = age_of("2020-01-01T00:00:00Z").unwrap();
        assert!(a > Duration::from_secs(5 * 365 * 86_400));
        assert!(age_of("not a time").is_none());
        let now = crate::results::rfc3339(std::time::SystemTime::now());
        assert!(age_of(&now).unwrap() < Duration::from_secs(5));
    }
}
