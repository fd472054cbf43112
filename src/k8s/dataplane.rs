//! How fast each node's dataplane follows a Service change: a probe on
//! every node connects to the Service's cluster IP in a tight loop and
//! notes which backend answered and when; a watch of the Service and of
//! its pods notes when the API changed what should answer (the backends
//! an EndpointSlice would hold: ready, with an IP, not terminating); the
//! difference, per node and per change, is the node's programming
//! latency (SIG Scalability's network programming latency, measured in
//! traffic rather than read from kube-proxy's histogram).
//!
//! The probe is bash on the node (through a node session): each attempt
//! is a new TCP connection with a 0.5 s limit, an HTTP GET of `path`
//! whose body names the backend (agnhost `netexec`'s `/hostname`), and
//! the node's wall clock from `$EPOCHREALTIME` (bash 5). Its output is a
//! line per attempt, `MS BACKEND` or `MS !` for a failed one.

use super::watch::{Event, Watcher};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The probe: `bash -c PROBE probe IP PORT NODE SECONDS PATH`.
pub const PROBE: &str = r#"ip=$1 port=$2 node=$3 secs=$4 path=$5
command -v timeout >/dev/null || { echo "the probe needs timeout (coreutils or busybox) on the node" >&2; exit 3; }
t=${EPOCHREALTIME/./}
[ -n "$t" ] || { echo "the probe needs bash 5 (EPOCHREALTIME)" >&2; exit 3; }
end=$(( t / 1000 + secs * 1000 ))
req="GET $path HTTP/1.0\r\nHost: $ip\r\nX-Probe-Node: $node\r\nConnection: close\r\n\r\n"
while :; do
  t=${EPOCHREALTIME/./}; t=$(( t / 1000 ))
  [ "$t" -lt "$end" ] || break
  body=$(timeout 0.5 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1; printf "$2" >&3; IFS= read -r -d "" -t 0.5 r <&3; case "$r" in *$'"'"'\r\n\r\n'"'"'*) printf %s "${r#*$'"'"'\r\n\r\n'"'"'}";; *) exit 1;; esac' "$ip" "$port" "$req" 2>/dev/null)
  if [ $? -eq 0 ] && [ -n "$body" ]; then echo "$t ${body%%[[:space:]]*}"; else echo "$t !"; fi
done
"#;

/// The probe's argv for a node session.
pub fn probe_argv(ip: &str, port: u16, node: &str, seconds: u64, path: &str) -> Vec<String> {
    ["bash", "-c", PROBE, "probe"]
        .iter()
        .map(|s| s.to_string())
        .chain([
            ip.to_string(),
            port.to_string(),
            node.to_string(),
            seconds.to_string(),
            path.to_string(),
        ])
        .collect()
}

/// One attempt: when (unix ms, the node's clock) and who answered.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    pub at: f64,
    pub backend: Option<String>,
}

/// The probe's output; lines that are not probes are skipped.
pub fn parse_probes(text: &str) -> Vec<Probe> {
    text.lines()
        .filter_map(|l| {
            let (t, who) = l.split_once(' ')?;
            let at = t.parse::<f64>().ok()?;
            let who = who.trim();
            Some(Probe {
                at,
                backend: (who != "!" && !who.is_empty()).then(|| who.to_string()),
            })
        })
        .collect()
}

/// What should answer from a moment on: `None` when there is no Service,
/// else the backends (pod names) its endpoints hold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// unix ms, when the watch saw it
    pub at: f64,
    pub backends: Option<BTreeSet<String>>,
    /// create, add, remove, replace, empty, delete
    pub kind: String,
}

fn kind_of(before: &Option<BTreeSet<String>>, after: &Option<BTreeSet<String>>) -> &'static str {
    if before == after {
        return "none";
    }
    match (before, after) {
        (None, Some(_)) => "create",
        (Some(_), None) => "delete",
        (Some(_), Some(a)) if a.is_empty() => "empty",
        (Some(b), Some(a)) if a.is_superset(b) => "add",
        (Some(b), Some(a)) if a.is_subset(b) => "remove",
        _ => "replace",
    }
}

/// The backends a pod gives: its name when it is ready, has an IP and is
/// not being deleted.
fn serves(pod: &Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_null()
        && pod["status"]["podIP"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
        && pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// The expected state as the watches see it.
#[derive(Default)]
pub struct Expected {
    service: bool,
    pods: BTreeMap<String, bool>,
    pub changes: Vec<Change>,
}

impl Expected {
    fn state(&self) -> Option<BTreeSet<String>> {
        self.service.then(|| {
            self.pods
                .iter()
                .filter(|(_, s)| **s)
                .map(|(n, _)| n.clone())
                .collect()
        })
    }

    /// Apply an update, and note a change of state at `at`.
    fn update(&mut self, at: f64, f: impl FnOnce(&mut Self)) {
        let before = self.state();
        f(self);
        let after = self.state();
        if before != after || self.changes.is_empty() {
            let kind = if self.changes.is_empty() {
                "initial"
            } else {
                kind_of(&before, &after)
            };
            self.changes.push(Change {
                at,
                backends: after,
                kind: kind.into(),
            });
        }
    }

    pub fn service_event(&mut self, at: f64, ev: &Event<Value>, name: &str) {
        self.update(at, |s| match ev {
            Event::Restarted(all) => s.service = all.iter().any(|o| o["metadata"]["name"] == name),
            Event::Applied(o) => s.service |= o["metadata"]["name"] == name,
            Event::Deleted(o) => s.service &= o["metadata"]["name"] != name,
        });
    }

    pub fn pod_event(&mut self, at: f64, ev: &Event<Value>) {
        let name = |o: &Value| o["metadata"]["name"].as_str().unwrap_or("").to_string();
        self.update(at, |s| match ev {
            Event::Restarted(all) => {
                s.pods = all.iter().map(|o| (name(o), serves(o))).collect();
            }
            Event::Applied(o) => {
                s.pods.insert(name(o), serves(o));
            }
            Event::Deleted(o) => {
                s.pods.remove(&name(o));
            }
        });
    }
}

/// Watch the Service `name` and the pods of `selector` in `ns` until
/// `stop`, noting every change of what should answer.
pub async fn watch_expected(
    client: &kube::Client,
    ns: &str,
    name: &str,
    selector: &str,
    stop: tokio_util::sync::CancellationToken,
) -> Result<Vec<Change>, String> {
    let mut svc: Watcher<Value> = Watcher::new(
        client,
        &format!("/api/v1/namespaces/{ns}/services"),
        &super::objects::selector_query("", &format!("metadata.name={name}")),
    );
    let mut pods: Watcher<Value> = Watcher::new(
        client,
        &format!("/api/v1/namespaces/{ns}/pods"),
        &super::objects::selector_query(selector, ""),
    );
    let mut e = Expected::default();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(e.changes),
            ev = svc.next() => {
                let ev = ev.map_err(|x| format!("watching service {ns}/{name}: {x}"))?;
                e.service_event(crate::results::unix_ms(std::time::SystemTime::now()) as f64, &ev, name);
            }
            ev = pods.next() => {
                let ev = ev.map_err(|x| format!("watching pods {selector}: {x}"))?;
                e.pod_event(crate::results::unix_ms(std::time::SystemTime::now()) as f64, &ev);
            }
        }
    }
}

/// One node's view of one change.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Seen {
    pub change: usize,
    pub kind: String,
    /// ms from the change to the first probe that showed the new state;
    /// `None` when no probe did before the next change (or the end)
    pub latency_ms: Option<f64>,
}

fn agrees(p: &Probe, want: &Option<BTreeSet<String>>) -> bool {
    match (want, &p.backend) {
        (Some(set), Some(b)) => set.contains(b),
        (Some(set), None) => set.is_empty(),
        (None, b) => b.is_none(),
    }
}

/// Changes closer than this are one: a scale to zero deletes its pods
/// one event at a time, as the EndpointSlice controller's batching
/// would see them together. The merged change keeps the time of its last
/// event (the API only then reached the new state), except a merged
/// addition, whose first backend may answer from the first event.
pub const COALESCE_MS: f64 = 100.0;

/// How much earlier than the watch a dataplane may show a change (both
/// hear of it from the API server; either may hear first): probes that
/// early count for the change, and its latency is then negative.
pub const WATCH_MARGIN_MS: f64 = 50.0;

/// Merge changes less than `within` ms apart into the last of them, its
/// kind from the state before the first.
pub fn coalesce(changes: &[Change], within: f64) -> Vec<Change> {
    let mut out: Vec<Change> = vec![];
    let mut before: Option<BTreeSet<String>> = None;
    for c in changes {
        let merge = out.len() > 1 && out.last().is_some_and(|l| c.at - l.at < within);
        if merge {
            let last = out.last_mut().expect("checked");
            last.backends = c.backends.clone();
            last.kind = kind_of(&before, &c.backends).into();
            // backends added one by one can answer from the first
            if last.kind != "add" {
                last.at = c.at;
            }
        } else {
            before = out.last().and_then(|l| l.backends.clone());
            out.push(c.clone());
        }
    }
    // a merge that ends where it began changed nothing
    out.retain(|c| c.kind != "none");
    out
}

/// When each change showed in a node's probes (`probes` on the client's
/// clock). A change that adds backends shows with the first answer from
/// an added one; any other change shows from the first probe after
/// which every probe until the next change agrees with the new state (a
/// removed backend no longer answers; none answers once there is none).
/// Each change's probes run from [`WATCH_MARGIN_MS`] before it to as
/// much before the next; only an addition can show before the watch saw
/// it (its new backend answered), any other change shows at the first
/// probe after it at the earliest.
pub fn seen(changes: &[Change], probes: &[Probe]) -> Vec<Seen> {
    let mut out = vec![];
    for (i, c) in changes.iter().enumerate().skip(1) {
        let from = c.at - WATCH_MARGIN_MS;
        let until = changes
            .get(i + 1)
            .map_or(f64::INFINITY, |n| n.at - WATCH_MARGIN_MS);
        let window: Vec<&Probe> = probes
            .iter()
            .filter(|p| p.at >= from && p.at < until)
            .collect();
        let at = if c.kind == "add" {
            let before = changes[i - 1].backends.clone().unwrap_or_default();
            window
                .iter()
                .find(|p| p.backend.as_ref().is_some_and(|b| !before.contains(b)))
                .map(|p| p.at)
        } else {
            // the start of the agreeing tail, not before the change: a
            // removed backend that no probe happened to reach just before
            // tells nothing
            let tail = window
                .iter()
                .rposition(|p| !agrees(p, &c.backends))
                .map_or(0, |k| k + 1);
            let first_after = window
                .iter()
                .position(|p| p.at >= c.at)
                .unwrap_or(window.len());
            window.get(tail.max(first_after)).map(|p| p.at)
        };
        out.push(Seen {
            change: i,
            kind: c.kind.clone(),
            latency_ms: at.map(|t| t - c.at),
        });
    }
    out
}

/// Probes that failed while the API said a backend should answer (and
/// had said so for `grace_ms`: a change's own programming time is
/// latency, not an error; nor is a failure [`WATCH_MARGIN_MS`] before
/// the next change, which the dataplane may show before the watch).
pub fn errors(changes: &[Change], probes: &[Probe], grace_ms: f64) -> usize {
    probes
        .iter()
        .filter(|p| p.backend.is_none())
        .filter(|p| {
            let Some(k) = changes.iter().rposition(|c| c.at <= p.at) else {
                return false;
            };
            let c = &changes[k];
            let next_soon = changes
                .get(k + 1)
                .is_some_and(|n| n.at - p.at < WATCH_MARGIN_MS);
            c.backends.as_ref().is_some_and(|s| !s.is_empty())
                && p.at - c.at > grace_ms
                && !next_soon
        })
        .count()
}

/// The gaps between a node's probes (ms): its resolution.
pub fn gaps(probes: &[Probe]) -> Vec<f64> {
    probes.windows(2).map(|w| w[1].at - w[0].at).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(xs: &[&str]) -> Option<BTreeSet<String>> {
        Some(xs.iter().map(|s| s.to_string()).collect())
    }

    fn change(at: f64, b: Option<BTreeSet<String>>, kind: &str) -> Change {
        Change {
            at,
            backends: b,
            kind: kind.into(),
        }
    }

    /// A node probing every `every` ms from 0 to `end` that sees each
    /// change `lag` ms late, answering round-robin from what it sees.
    fn timeline(changes: &[Change], lag: f64, every: f64, end: f64) -> Vec<Probe> {
        let mut out = vec![];
        let mut t = 0.0;
        let mut k = 0usize;
        while t < end {
            let view = changes
                .iter()
                .rev()
                .find(|c| c.at + lag <= t)
                .and_then(|c| c.backends.clone());
            let backend = view.and_then(|s| {
                let v: Vec<_> = s.into_iter().collect();
                (!v.is_empty()).then(|| v[k % v.len()].clone())
            });
            out.push(Probe { at: t, backend });
            k += 1;
            t += every;
        }
        out
    }

    #[test]
    fn a_node_that_lags_shows_its_lag() {
        let changes = vec![
            change(0.0, None, "initial"),
            change(1000.0, set(&["a", "b"]), "create"),
            change(3000.0, set(&["a", "b", "c"]), "add"),
            change(5000.0, set(&["a", "b"]), "remove"),
            change(7000.0, set(&[]), "empty"),
            change(9000.0, set(&["d", "e"]), "replace"),
        ];
        for lag in [0.0, 120.0, 350.0] {
            let probes = timeline(&changes, lag, 4.0, 11000.0);
            let s = seen(&changes, &probes);
            assert_eq!(s.len(), 5);
            for x in &s {
                let l = x
                    .latency_ms
                    .unwrap_or_else(|| panic!("{x:?} unseen at lag {lag}"));
                // within the probe's resolution and the round robin (3 backends)
                assert!((l - lag).abs() <= 10.0, "{x:?} at lag {lag}");
            }
            assert_eq!(errors(&changes, &probes, 500.0), 0, "lag {lag}");
        }
        // a node that never programs the last change: unseen
        let mut probes = timeline(&changes, 0.0, 4.0, 9000.0);
        probes.extend((0..100).map(|i| Probe {
            at: 9000.0 + 20.0 * i as f64,
            backend: Some("a".into()),
        }));
        assert_eq!(seen(&changes, &probes)[4].latency_ms, None);
        // failures where backends should answer are errors, after the grace
        let mut probes = timeline(&changes, 0.0, 10.0, 11000.0);
        for p in probes
            .iter_mut()
            .filter(|p| (4000.0..4100.0).contains(&p.at))
        {
            p.backend = None;
        }
        assert_eq!(errors(&changes, &probes, 500.0), 10);
        assert!(gaps(&probes).iter().all(|g| (*g - 10.0).abs() < 1e-9));
    }

    #[test]
    fn expected_state_from_watch_events() {
        let pod = |name: &str, ready: bool, deleting: bool| {
            let mut p = serde_json::json!({"metadata": {"name": name}, "status": {"podIP": "10.0.0.1",
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}});
            if deleting {
                p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z".into();
            }
            p
        };
        let svc = serde_json::json!({"metadata": {"name": "churn"}});
        let mut e = Expected::default();
        e.pod_event(1.0, &Event::Restarted(vec![pod("a", true, false)]));
        e.service_event(2.0, &Event::Restarted(vec![]), "churn");
        e.service_event(3.0, &Event::Applied(svc.clone()), "churn");
        e.pod_event(4.0, &Event::Applied(pod("b", false, false)));
        e.pod_event(5.0, &Event::Applied(pod("b", true, false)));
        e.pod_event(6.0, &Event::Applied(pod("a", true, true)));
        e.pod_event(7.0, &Event::Deleted(pod("b", true, false)));
        e.service_event(8.0, &Event::Deleted(svc), "churn");
        let kinds: Vec<(f64, &str)> = e.changes.iter().map(|c| (c.at, c.kind.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (1.0, "initial"),
                (3.0, "create"),
                (5.0, "add"),
                (6.0, "remove"),
                (7.0, "empty"),
                (8.0, "delete")
            ]
        );
        assert_eq!(e.changes[2].backends, set(&["a", "b"]));
    }

    #[test]
    fn a_burst_of_changes_is_one() {
        let changes = vec![
            change(0.0, None, "initial"),
            change(1000.0, set(&["a", "b"]), "create"),
            change(3000.0, set(&["b"]), "remove"),
            change(3004.0, set(&[]), "empty"),
            change(5000.0, set(&["c"]), "add"),
            change(5010.0, set(&["c", "d"]), "add"),
            change(7000.0, set(&["c"]), "remove"),
            change(7020.0, set(&["c", "e"]), "add"),
        ];
        let c = coalesce(&changes, COALESCE_MS);
        let kinds: Vec<(f64, &str)> = c.iter().map(|c| (c.at, c.kind.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (0.0, "initial"),
                (1000.0, "create"),
                (3004.0, "empty"),
                (5000.0, "add"),
                (7020.0, "replace")
            ]
        );
        // d replaced by e within the burst; a burst back to where it began is no change
        let back = vec![
            change(0.0, None, "initial"),
            change(1000.0, set(&["a"]), "create"),
            change(2000.0, set(&[]), "empty"),
            change(2010.0, set(&["a"]), "add"),
        ];
        assert_eq!(coalesce(&back, COALESCE_MS).len(), 2);
    }

    #[test]
    fn probe_output() {
        let p = parse_probes("1700000000123 churn-7d9-abc\n1700000000130 !\nwarning: x\n");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].backend.as_deref(), Some("churn-7d9-abc"));
        assert_eq!(p[1].backend, None);
        assert_eq!(p[1].at, 1700000000130.0);
    }
}
