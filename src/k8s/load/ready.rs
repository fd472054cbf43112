//! Waiting for a load to be ready: a watch per collection, every object
//! judged by the readiness rules, and on timeout what is not ready and why
//! (with the reasons of a workload's pods).

use super::{Load, Resource};
use crate::k8s::http;
use crate::k8s::ready::rules;
use crate::k8s::watch::{Event, Watcher};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

/// One collection to wait in: its path, namespace, kind and resource, and
/// the names to wait for.
struct Wait {
    path: String,
    ns: String,
    kind: rules::Kind,
    res: Resource,
    want: HashSet<String>,
}

impl Wait {
    /// Judge one object: ready ones leave `why`, others say why not; a
    /// failed one is an error.
    fn judge(&self, o: &Value, why: &mut BTreeMap<String, String>) -> Result<(), String> {
        let v = rules::evaluate(self.kind, o);
        if v.failed {
            return Err(format!(
                "{} {} failed: {}",
                self.kind.name(),
                v.id(),
                v.reason
            ));
        }
        if self.want.contains(&v.name) {
            if v.ready {
                why.remove(&v.name);
            } else {
                why.insert(v.name.clone(), v.reason);
            }
        }
        Ok(())
    }
}

impl Load {
    /// Wait until every created object that has a readiness rule (pods,
    /// Deployments, DaemonSets, StatefulSets) is ready; a failed pod is an
    /// error at once. `progress(ready, total)` is called as objects become
    /// ready. On timeout the error names what is not ready and why, with
    /// the reasons of a workload's pods (an image that cannot be pulled, a
    /// pod that cannot be scheduled). `Ok(ready count)`.
    pub async fn wait_ready(
        &self,
        timeout: Duration,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<usize, String> {
        let deadline = Instant::now() + timeout;
        let waits = self.waits();
        let total: usize = waits.iter().map(|w| w.want.len()).sum();
        let mut done = 0;
        progress(0, total);
        for w in waits {
            let n = w.want.len();
            self.wait_collection(&w, deadline, timeout, |left| {
                progress(done + n - left, total)
            })
            .await?;
            done += n;
        }
        Ok(total)
    }

    /// Per collection with a readiness rule, the created objects in it.
    fn waits(&self) -> Vec<Wait> {
        let mut waits = vec![];
        for ((path, ns), res) in self.collections(true) {
            let Ok(kind) = rules::Kind::parse(&res.plural) else {
                continue;
            };
            if !res.group.is_empty() && res.group != "apps" {
                continue;
            }
            let created = self.created.lock().unwrap();
            let want = self
                .items
                .iter()
                .enumerate()
                .filter(|(i, it)| {
                    created.contains(i)
                        && it.res.plural == res.plural
                        && path == it.res.collection(Some(&it.ns))
                })
                .map(|(_, it)| it.name.clone())
                .collect();
            waits.push(Wait {
                path,
                ns,
                kind,
                res,
                want,
            });
        }
        waits
    }

    /// Watch one collection until everything `w` waits for is ready;
    /// `left(n)` is called when the number not ready changes.
    async fn wait_collection(
        &self,
        w: &Wait,
        deadline: Instant,
        timeout: Duration,
        mut left: impl FnMut(usize),
    ) -> Result<(), String> {
        // name -> why it is not ready yet (absent: ready)
        let mut why: BTreeMap<String, String> = w
            .want
            .iter()
            .map(|n| (n.clone(), "not seen yet".to_string()))
            .collect();
        let mut watch = Watcher::new(&self.client, &w.path, &self.selector());
        while !why.is_empty() {
            let rest = deadline.saturating_duration_since(Instant::now());
            let Ok(ev) = tokio::time::timeout(rest, watch.next()).await else {
                let text = self.not_ready_text(w.kind, &w.res, &w.ns, w.want.len(), &why, timeout);
                return Err(text.await);
            };
            let before = why.len();
            match ev.map_err(|e| format!("watching {}: {e}", w.path))? {
                Event::Restarted(items) => {
                    for n in &w.want {
                        why.insert(n.clone(), "not seen yet".to_string());
                    }
                    for o in &items {
                        w.judge(o, &mut why)?;
                    }
                }
                Event::Applied(o) => w.judge(&o, &mut why)?,
                Event::Deleted(o) => {
                    let n = o["metadata"]["name"].as_str().unwrap_or("");
                    if w.want.contains(n) {
                        why.insert(n.to_string(), "deleted".to_string());
                    }
                }
            }
            if why.len() != before {
                left(why.len());
            }
        }
        Ok(())
    }

    /// The timeout error of `wait_ready`: how many of the `want` waited for
    /// in one collection are not ready, the first few with their reason,
    /// and for workloads the reasons of their pods that are not ready.
    async fn not_ready_text(
        &self,
        kind: rules::Kind,
        res: &Resource,
        ns: &str,
        want: usize,
        why: &BTreeMap<String, String>,
        timeout: Duration,
    ) -> String {
        let first: Vec<String> = why
            .iter()
            .take(3)
            .map(|(n, r)| {
                let id = if ns.is_empty() {
                    n.clone()
                } else {
                    format!("{ns}/{n}")
                };
                format!("{} {id} ({r})", kind.name())
            })
            .collect();
        let more = why.len().saturating_sub(first.len());
        let mut text = format!(
            "{} of {} {} not ready after {} s: {}{}",
            why.len(),
            want,
            res.plural,
            timeout.as_secs(),
            first.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        );
        if kind != rules::Kind::Pod && !ns.is_empty() {
            let pods = self.workload_pods_not_ready(ns, why).await;
            if !pods.is_empty() {
                text.push_str(&format!("; their pods: {}", pods.join(", ")));
            }
        }
        text
    }

    /// Up to three pods in `ns` owned by one of the workloads `names` (a
    /// DaemonSet's or StatefulSet's own pods, a Deployment's through its
    /// ReplicaSets) that are not ready, with the reason.
    async fn workload_pods_not_ready(
        &self,
        ns: &str,
        names: &BTreeMap<String, String>,
    ) -> Vec<String> {
        let path = format!("/api/v1/namespaces/{ns}/pods");
        let Ok((pods, _)) = http::list_all(&self.client, &path, "").await else {
            return vec![];
        };
        pods.iter()
            .map(|o| (rules::evaluate(rules::Kind::Pod, o), waiting_message(o)))
            .filter(|(v, _)| !v.ready)
            .filter(|(v, _)| {
                v.owner.as_ref().is_some_and(|o| {
                    names.keys().any(|n| {
                        o.name == *n
                            || (o.kind == "ReplicaSet"
                                && o.name
                                    .strip_prefix(n.as_str())
                                    .is_some_and(|r| r.starts_with('-') && !r[1..].contains('-')))
                    })
                })
            })
            .take(3)
            .map(|(v, msg)| match msg {
                Some(m) => format!("pod {} ({}: {m})", v.name, v.reason),
                None => format!("pod {} ({})", v.name, v.reason),
            })
            .collect()
    }
}

/// The kubelet's message for the first waiting container of a pod (why an
/// image cannot be pulled, say), cut to its first and last 100 characters
/// (a runtime's error says what went wrong at its end: "...: not found").
fn waiting_message(pod: &Value) -> Option<String> {
    let st = &pod["status"];
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|k| st[k].as_array())
        .flatten()
        .find_map(|c| c["state"]["waiting"]["message"].as_str())
        .filter(|m| !m.is_empty())
        .map(|m| {
            let chars: Vec<char> = m.chars().collect();
            if chars.len() <= 200 {
                return m.to_string();
            }
            let head: String = chars[..100].iter().collect();
            let tail: String = chars[chars.len() - 100..].iter().collect();
            format!("{head} ... {tail}")
        })
}
