//! The fake API server against the recorded answers of a real Kubernetes
//! 1.32 (`tests/traces/`, copied verbatim from the recording; its README
//! lists the facts a fake must reproduce). Each trace file is replayed:
//! the same requests, in the same order, through a raw HTTPS client (see
//! `wire.rs`), watches running alongside as they did. Then, per exchange:
//! the status code, the content type, a Status body's kind, reason, code,
//! message and details, an object's keys (present and absent), a list's
//! items and paging fields, the resourceVersion relations between answers
//! (every page has the first page's), and per watch the sequence of states
//! (`digest.rs`: phase, conditions with reasons, container states, the
//! counters present, finalizers, owners) in order. Names, uids,
//! timestamps, resourceVersion values and timing are normalised away.
//!
//! A difference is a failure unless it is in [`ACCEPTED`], the one table
//! of accepted differences (timing, scale and cluster-specific names
//! only), which docs/ARCHITECTURE.md mirrors with the reasons.

mod digest;
mod portforward;
mod wire;

use digest::{collapse, event_digest, shape, status_diff, Norm};
use fakecluster::{FakeCluster, Options};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wire::{header, Auth, Request, Wire};

/// The differences between the fake and the recording that are accepted:
/// (trace file, exchange label part, what the difference starts with, why).
/// Only timing, scale and names of the recording's cluster may be here.
pub const ACCEPTED: &[(&str, &str, &str, &str)] = &[
    (
        "*",
        "",
        "items: extra in the recording: [\"openshift-service-ca.crt\"]",
        "the recording's cluster publishes a second CA ConfigMap in every namespace (an OpenShift-style distribution feature); stock Kubernetes publishes only kube-root-ca.crt",
    ),
    (
        "discovery-health.json",
        "",
        "groups: extra in the recording: [\"acc.example.com\"]",
        "a CRD group something else had left on the recording's cluster",
    ),
    (
        "discovery-health.json",
        "",
        "items: extra in the recording: [\"acc.example.com\"]",
        "the same CRD group, in aggregated discovery",
    ),
    (
        "exec-websocket.json",
        "exec of a command that does not exist",
        "stderr wording:",
        "the fake's containers run the machine's /bin/sh (dash), not the image's busybox sh: its words for a command it cannot find differ (the exit code, 127, and every frame are the same)",
    ),
    (
        "*",
        "",
        "paging counts the recording's openshift-service-ca.crt",
        "the recording's extra CA ConfigMap is one more item after this page: its remainingItemCount is one higher, and a continue token names it",
    ),
];

/// Where the traces are: a copy in this repository, so a clone has them.
pub fn traces_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/traces")
}

fn load(file: &str) -> Value {
    let p = traces_dir().join(file);
    let s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&s).expect("trace JSON")
}

/// The recording's node.
const TRACE_NODE: &str = "rk8s-node";

/// A watch replayed alongside the other requests.
struct WatchRun {
    label: String,
    /// the recording's watch ended at this time (ms since the start)
    until_ms: f64,
    /// the server closed the recorded stream (an ERROR event)
    server_closes: bool,
    /// the recording's states (collapsed) with the time each was first seen
    want: Vec<(f64, String)>,
    got: Arc<Mutex<Vec<String>>>,
    lines: Arc<Mutex<Vec<Value>>>,
    ended: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WatchRun {
    fn states(&self) -> Vec<String> {
        collapse(&self.got.lock().unwrap())
    }
}

/// One replay of one trace file against a fresh fake.
pub struct Replay {
    pub file: String,
    pub trace: Value,
    pub fc: FakeCluster,
    pub wire: Arc<Wire>,
    pub norm: Norm,
    pub node: String,
    problems: Vec<String>,
    accepted_seen: BTreeSet<String>,
    auth: Vec<(String, Auth)>,
    /// the recording's continue tokens -> the fake's
    tokens: HashMap<String, String>,
    /// the fake's continue tokens -> the resourceVersion of the page that gave them
    token_rv: HashMap<String, String>,
    /// the recording's resourceVersions -> the fake's, and back, per
    /// scope: one object's (by name), or lists'
    rvs: HashMap<(String, String), String>,
    rvs_back: HashMap<(String, String), String>,
    watches: Vec<WatchRun>,
    /// the fake's answer to each exchange, by label
    pub answers: HashMap<String, wire::Response>,
    /// recorded time of the exchange being replayed
    now_ms: f64,
}

/// A raw client for `fc`, with its kubeconfig's CA and token.
pub fn wire_for(fc: &FakeCluster) -> Wire {
    let kc: Value =
        serde_json::from_str(&std::fs::read_to_string(fc.kubeconfig()).unwrap()).unwrap();
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD
        .decode(
            kc["clusters"][0]["cluster"]["certificate-authority-data"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let token = kc["users"][0]["user"]["token"].as_str().unwrap();
    Wire::new(fc.addr(), &ca, token)
}

impl Replay {
    /// A fake with one node and the trace's namespace, ready to replay.
    pub fn new(file: &str) -> Replay {
        let trace = load(file);
        let fc = FakeCluster::start(Options {
            nodes: 1,
            ..Default::default()
        });
        let wire = Arc::new(wire_for(&fc));
        let node = fc.list("v1", "Node")[0]["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        let ns = format!("trace-{}", trace["scenario"].as_str().unwrap());
        fc.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
            .unwrap();
        let mut pairs = vec![
            (TRACE_NODE.to_string(), "<node>".to_string()),
            (node.clone(), "<node>".to_string()),
            (
                fakecluster::controllers::PROVISIONER.to_string(),
                "<provisioner>".to_string(),
            ),
        ];
        // the recording's provisioner, as its StorageClass names it
        for e in trace["exchanges"].as_array().into_iter().flatten() {
            if let Some(p) = e["response_body"]["provisioner"]
                .as_str()
                .filter(|p| p.contains('/') && !p.starts_with("kubernetes.io/"))
            {
                pairs.push((p.to_string(), "<provisioner>".to_string()));
            }
        }
        let norm = Norm { pairs };
        Replay {
            file: file.to_string(),
            trace,
            fc,
            wire,
            norm,
            node,
            problems: vec![],
            accepted_seen: BTreeSet::new(),
            auth: vec![],
            tokens: HashMap::new(),
            token_rv: HashMap::new(),
            rvs: HashMap::new(),
            rvs_back: HashMap::new(),
            watches: vec![],
            answers: HashMap::new(),
            now_ms: 0.0,
        }
    }

    /// Exchanges whose label contains `part` authenticate this way.
    pub fn auth(&mut self, part: &str, a: Auth) {
        self.auth.push((part.to_string(), a));
    }

    /// Record a difference (unless accepted) for exchange `label`.
    pub fn problem(&mut self, label: &str, what: String) {
        for (file, part, start, _) in ACCEPTED {
            if (*file == "*" || *file == self.file)
                && label.contains(part)
                && what.starts_with(start)
            {
                self.accepted_seen.insert(format!("{label}: {what}"));
                return;
            }
        }
        self.problems.push(format!("{label}: {what}"));
    }

    pub fn exchanges(&self) -> Vec<Value> {
        self.trace["exchanges"].as_array().unwrap().clone()
    }

    /// Replay every exchange; `before(replay, label)` runs before each
    /// (waits a recorder made by polling, which the trace does not show).
    pub fn run(&mut self, mut before: impl FnMut(&mut Replay, &str)) {
        for e in self.exchanges() {
            let label = e["label"].as_str().unwrap().to_string();
            let at = e["at_ms"].as_f64().unwrap_or(0.0);
            self.wait_watches_until(at, &label);
            self.stop_watches_ended_before(at);
            // time that passed in the recording passes here too, scaled
            // down (nothing here waits on it: watches order the replay)
            let gap = (at - self.now_ms).max(0.0);
            std::thread::sleep(Duration::from_millis((gap / 20.0).min(250.0) as u64));
            self.now_ms = at;
            before(self, &label);
            if e.get("events").is_some() {
                self.start_watch(&e);
            } else if e.get("frames").is_some() {
                self.websocket(&e);
            } else {
                self.exchange(&e);
            }
        }
    }

    fn request<'a>(&self, e: &'a Value, path: &'a str) -> Request<'a> {
        let label = e["label"].as_str().unwrap_or("");
        let auth = self
            .auth
            .iter()
            .find(|(p, _)| label.contains(p.as_str()))
            .map(|(_, a)| *a)
            .unwrap_or(Auth::Token);
        let headers: Vec<(String, String)> = e["request_headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        let body = match &e["request_body"] {
            Value::Null => None,
            Value::String(s) => Some(s.replace(TRACE_NODE, &self.node).into_bytes()),
            v => {
                let mut v = v.clone();
                let scope = v["metadata"]["name"].as_str().unwrap_or("").to_string();
                if let Some(rv) = v["metadata"]["resourceVersion"].as_str() {
                    if let Some(f) = self.rvs.get(&(scope, rv.to_string())) {
                        v["metadata"]["resourceVersion"] = json!(f);
                    }
                }
                Some(
                    serde_json::to_string(&v)
                        .unwrap()
                        .replace(TRACE_NODE, &self.node)
                        .into_bytes(),
                )
            }
        };
        Request {
            method: e["method"].as_str().unwrap_or("GET"),
            path,
            headers,
            body,
            auth,
        }
    }

    /// The trace's path with its continue tokens swapped for the fake's.
    fn path(&self, e: &Value) -> String {
        let mut p = e["path"].as_str().unwrap().to_string();
        for (t, f) in &self.tokens {
            p = p.replace(t.as_str(), f);
        }
        p
    }

    /// Learn that the recording's resourceVersion `t` is the fake's `f`,
    /// within one scope (an object's name, or "" for lists): a relation
    /// that does not hold (two equal ones became different, or two
    /// different ones equal) is a difference. Across objects the numbers
    /// depend on every other write, so they are not compared.
    fn map_rv(&mut self, label: &str, scope: &str, t: &str, f: &str) {
        let (tk, fk) = (
            (scope.to_string(), t.to_string()),
            (scope.to_string(), f.to_string()),
        );
        match self.rvs.get(&tk) {
            Some(old) if old != f => self.problem(
                label,
                format!("resourceVersion: the recording repeats {t} here, the fake changed ({old} -> {f})"),
            ),
            _ => {}
        }
        match self.rvs_back.get(&fk) {
            Some(old) if old != t => self.problem(
                label,
                format!(
                    "resourceVersion: the recording changed ({old} -> {t}), the fake repeats {f}"
                ),
            ),
            _ => {}
        }
        self.rvs.insert(tk, f.to_string());
        self.rvs_back.insert(fk, t.to_string());
    }

    fn exchange(&mut self, e: &Value) {
        let label = e["label"].as_str().unwrap().to_string();
        let path = self.path(e);
        let req = self.request(e, &path);
        let resp = self.wire.send(&req);
        self.compare(e, &resp);
        self.answers.insert(label, resp);
    }

    /// Compare one answer with the recorded one.
    pub fn compare(&mut self, e: &Value, resp: &wire::Response) {
        let label = e["label"].as_str().unwrap().to_string();
        let want_status = e["status"].as_u64().unwrap_or(0) as u16;
        if resp.status != want_status {
            self.problem(
                &label,
                format!(
                    "status: want {want_status} got {} ({})",
                    resp.status,
                    String::from_utf8_lossy(&resp.body)
                        .chars()
                        .take(300)
                        .collect::<String>()
                ),
            );
            return;
        }
        let want_ct = e["response_headers"]["Content-Type"].as_str().unwrap_or("");
        let got_ct = resp.header("content-type").unwrap_or("");
        let family = |c: &str| c.split(';').next().unwrap_or("").trim().to_string();
        if !want_ct.is_empty() && family(want_ct) != family(got_ct) {
            self.problem(
                &label,
                format!("content-type: want {want_ct:?} got {got_ct:?}"),
            );
        }
        for h in ["Vary", "Etag", "Process-Start-Time-Unix"] {
            if e["response_headers"].get(h).is_some() && resp.header(h).is_none() {
                self.problem(
                    &label,
                    format!("header {h}: the recording has one, the fake none"),
                );
            }
        }
        if let Some(w) = e["response_headers"]["Warning"].as_str() {
            match resp.header("warning") {
                Some(g) if g == w => {}
                g => self.problem(&label, format!("Warning header: want {w:?} got {g:?}")),
            }
        }
        let want = &e["response_body"];
        if let Value::String(text) = want {
            let got = String::from_utf8_lossy(&resp.body).to_string();
            if e["trimmed"] != true && self.norm.text(text) != self.norm.text(&got) {
                self.problem(&label, format!("body: want {text:?} got {got:?}"));
            }
            return;
        }
        if !want.is_object() {
            return;
        }
        let Some(got) = resp.json() else {
            self.problem(
                &label,
                format!("body: not JSON: {}", String::from_utf8_lossy(&resp.body)),
            );
            return;
        };
        self.compare_bodies(&label, want, &got, e["trimmed"] == true);
    }

    fn compare_bodies(&mut self, label: &str, want: &Value, got: &Value, trimmed: bool) {
        if want["kind"] == "Status" || got["kind"] == "Status" {
            for d in status_diff(want, got, &self.norm, true) {
                self.problem(label, d);
            }
            return;
        }
        if want["kind"] != got["kind"] || want["apiVersion"] != got["apiVersion"] {
            self.problem(
                label,
                format!(
                    "kind: want {} {} got {} {}",
                    want["apiVersion"], want["kind"], got["apiVersion"], got["kind"]
                ),
            );
            return;
        }
        if let (Some(w), Some(g)) = (want["items"].as_array(), got["items"].as_array()) {
            self.compare_list(label, want, got, w, g);
            return;
        }
        if let (Some(w), Some(g)) = (want["groups"].as_array(), got["groups"].as_array()) {
            let names = |a: &[Value]| -> BTreeSet<String> {
                a.iter()
                    .filter_map(|x| x["name"].as_str().map(str::to_string))
                    .collect()
            };
            let (wn, gn) = (names(w), names(g));
            let extra: Vec<&String> = wn.difference(&gn).collect();
            let missing: Vec<&String> = gn.difference(&wn).collect();
            if !extra.is_empty() {
                self.problem(label, format!("groups: extra in the recording: {extra:?}"));
            }
            if !missing.is_empty() {
                self.problem(
                    label,
                    format!("groups: the recording does not have {missing:?}"),
                );
            }
            return;
        }
        if trimmed {
            return;
        }
        if want["metadata"].is_object() {
            self.compare_object(label, want, got);
        } else {
            let (ws, gs) = (shape(want), shape(got));
            if ws != gs {
                self.problem(label, format!("keys: want {ws:?} got {gs:?}"));
            }
        }
        // values a reader acts on
        for k in [
            "volumeBindingMode",
            "reclaimPolicy",
            "major",
            "minor",
            "gitVersion",
        ] {
            if want.get(k).is_some() && want[k] != got[k] {
                self.problem(label, format!("{k}: want {} got {}", want[k], got[k]));
            }
        }
        if want["kind"] == "Scale" && want["status"]["selector"] != got["status"]["selector"] {
            self.problem(
                label,
                format!(
                    "Scale status.selector: want {} got {}",
                    want["status"]["selector"], got["status"]["selector"]
                ),
            );
        }
        // server-side apply answers carry their field owners in full
        let mf = &want["metadata"]["managedFields"];
        if mf
            .as_array()
            .is_some_and(|a| a.iter().all(|m| m["fieldsV1"].is_object()))
            && mf.is_array()
        {
            let owners = |v: &Value| -> Vec<String> {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| format!("{} {} {}", m["manager"], m["operation"], m["fieldsV1"]))
                    .collect()
            };
            if owners(mf) != owners(&got["metadata"]["managedFields"]) {
                self.problem(
                    label,
                    format!(
                        "managedFields: want {:?} got {:?}",
                        owners(mf),
                        owners(&got["metadata"]["managedFields"])
                    ),
                );
            }
        }
    }

    fn compare_list(&mut self, label: &str, want: &Value, got: &Value, w: &[Value], g: &[Value]) {
        let names = |a: &[Value]| -> Vec<String> {
            a.iter()
                .map(|i| i["metadata"]["name"].as_str().unwrap_or("").to_string())
                .collect()
        };
        if want["kind"].as_str().is_some_and(|k| k == "EventList") {
            // event names are the object's and a clock: compare what they say, in order
            let digests = |a: &[Value]| -> Vec<String> {
                a.iter()
                    .map(|e| digest::event_item(e, &self.norm))
                    .collect()
            };
            let (wd, gd) = (digests(w), digests(g));
            if wd != gd {
                self.problem(label, format!("events:\n  want {wd:#?}\n  got {gd:#?}"));
            }
            return;
        }
        let (wn, gn) = (names(w), names(g));
        // by position, names as the recording generated them differ:
        // compare names only where they are the ones the requests gave
        let generated = |n: &str| {
            n.contains('-') && n.len() > 6 && n.rsplit('-').next().is_some_and(|s| s.len() == 5)
        };
        let wk: Vec<&String> = wn.iter().filter(|n| !generated(n)).collect();
        let gk: Vec<&String> = gn.iter().filter(|n| !generated(n)).collect();
        if wk != gk {
            let extra: Vec<&String> = wk.iter().filter(|n| !gk.contains(n)).cloned().collect();
            if !extra.is_empty() && gk.iter().all(|n| wk.contains(n)) {
                self.problem(label, format!("items: extra in the recording: {extra:?}"));
            } else {
                self.problem(label, format!("items: want {wn:?} got {gn:?}"));
            }
        } else if wn.len() != gn.len() {
            self.problem(
                label,
                format!(
                    "items: want {} ({wn:?}) got {} ({gn:?})",
                    wn.len(),
                    gn.len()
                ),
            );
        }
        let (wm, gm) = (&want["metadata"], &got["metadata"]);
        // the recording's distribution CA ConfigMap, still to come after this page
        let extra_later = wm["continue"].is_string()
            && !wn.iter().any(|n| n == "openshift-service-ca.crt")
            && self.path_of(label).contains("/configmaps")
            && !self.path_of(label).contains("labelSelector");
        if extra_later {
            let rest = wm["remainingItemCount"].as_i64().unwrap_or(0) - 1;
            let same = if rest <= 0 {
                gm.get("continue").is_none()
            } else {
                gm["remainingItemCount"].as_i64() == Some(rest)
            };
            if same {
                self.problem(
                    label,
                    "paging counts the recording's openshift-service-ca.crt".into(),
                );
            } else {
                self.problem(label, format!("paging: want {} more after this page (the recording's {} less its CA ConfigMap) got {}", rest, wm["remainingItemCount"], gm["remainingItemCount"]));
            }
            self.page_rv(label, wm, gm);
            return;
        }
        for k in ["continue", "remainingItemCount"] {
            if wm.get(k).is_some() != gm.get(k).is_some() {
                self.problem(label, format!("metadata.{k}: want {} got {}", wm[k], gm[k]));
            }
        }
        if wm["remainingItemCount"].is_number()
            && wm["remainingItemCount"] != gm["remainingItemCount"]
        {
            // the recording counts a ConfigMap of its distribution too
            let extra = w
                .iter()
                .filter(|i| i["metadata"]["name"] == "openshift-service-ca.crt")
                .count();
            let want_n = wm["remainingItemCount"].as_i64().unwrap_or(0);
            if gm["remainingItemCount"].as_i64() != Some(want_n - 1) || extra > 0 {
                self.problem(
                    label,
                    format!(
                        "metadata.remainingItemCount: want {} got {}",
                        wm["remainingItemCount"], gm["remainingItemCount"]
                    ),
                );
            }
        }
        self.page_rv(label, wm, gm);
        for (wi, gi) in w.iter().zip(g) {
            if wi["metadata"]["name"] == gi["metadata"]["name"] {
                self.compare_object(label, wi, gi);
            }
        }
    }

    fn compare_object(&mut self, label: &str, want: &Value, got: &Value) {
        let (ws, gs) = (shape(want), shape(got));
        let missing: Vec<&String> = ws.difference(&gs).collect();
        let extra: Vec<&String> = gs.difference(&ws).collect();
        if !missing.is_empty() {
            self.problem(
                label,
                format!("fields missing in the fake: {missing:?} ({})", want["kind"]),
            );
        }
        if !extra.is_empty() {
            self.problem(
                label,
                format!(
                    "fields the recording does not have: {extra:?} ({})",
                    want["kind"]
                ),
            );
        }
        let (wd, gd) = (
            digest::digest(want, &self.norm),
            digest::digest(got, &self.norm),
        );
        if wd != gd {
            self.problem(label, format!("state: want {wd}\n      got  {gd}"));
        }
        if let (Some(t), Some(f), Some(n)) = (
            want["metadata"]["resourceVersion"].as_str(),
            got["metadata"]["resourceVersion"].as_str(),
            want["metadata"]["name"].as_str(),
        ) {
            self.map_rv(label, n, t, f);
        }
    }

    fn start_watch(&mut self, e: &Value) {
        let label = e["label"].as_str().unwrap().to_string();
        let at = e["at_ms"].as_f64().unwrap_or(0.0);
        let norm = self.norm.clone();
        let mut want: Vec<(f64, String)> = vec![];
        for ev in e["events"].as_array().unwrap() {
            let line = match &ev["event"] {
                Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                v => v.clone(),
            };
            let d = event_digest(&line, &norm);
            // only the first BOOKMARK (the end of the initial events) is a
            // state; later ones are timing
            if d.starts_with("BOOKMARK") && !want.is_empty() {
                continue;
            }
            if want.last().map(|(_, s)| s) != Some(&d) {
                want.push((at + ev["at_ms"].as_f64().unwrap_or(0.0), d));
            }
        }
        let ended = e["ended"].as_str().unwrap_or("");
        // a recorder that closed the watch at a stop condition, or at the
        // first event after its time was up: this one stops when it has as
        // many states (what came later the recording could not see)
        let stop_at = (ended.contains("stop condition") || ended.contains("stopped after"))
            .then_some(want.len());
        let until_ms = at + e["duration_ms"].as_f64().unwrap_or(f64::MAX / 4.0);
        let server_closes = ended.contains("server closed");
        let path = self.path(e);
        let req = self.request(e, &path);
        let (method, headers, body, auth) =
            (req.method.to_string(), req.headers, req.body, req.auth);
        let got: Arc<Mutex<Vec<String>>> = Arc::default();
        let lines: Arc<Mutex<Vec<Value>>> = Arc::default();
        let ended = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let opened = Arc::new(AtomicBool::new(false));
        let o2 = opened.clone();
        let wire = self.wire.clone();
        let want_status = e["status"].as_u64().unwrap_or(200) as u16;
        let (g2, l2, e2, s2) = (got.clone(), lines.clone(), ended.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let req = Request {
                method: &method,
                path: &path,
                headers,
                body,
                auth,
            };
            let mut st = wire.open(&req);
            o2.store(true, Ordering::SeqCst);
            if st.status != want_status {
                g2.lock().unwrap().push(format!("HTTP {}", st.status));
                e2.store(true, Ordering::SeqCst);
                return;
            }
            let mut first_bookmark_seen = false;
            while !s2.load(Ordering::SeqCst) {
                match st.next_line(Duration::from_millis(50)) {
                    Some(l) if l.is_empty() => {}
                    Some(l) => {
                        let v: Value =
                            serde_json::from_str(&l).unwrap_or(json!({"type": "UNPARSEABLE"}));
                        let d = event_digest(&v, &norm);
                        l2.lock().unwrap().push(v);
                        if d.starts_with("BOOKMARK") {
                            if first_bookmark_seen || !g2.lock().unwrap().is_empty() {
                                continue;
                            }
                            first_bookmark_seen = true;
                        }
                        let mut g = g2.lock().unwrap();
                        g.push(d);
                        if stop_at.is_some_and(|n| collapse(&g).len() >= n) {
                            break;
                        }
                    }
                    None if st.ended => break,
                    None => {}
                }
            }
            e2.store(true, Ordering::SeqCst);
        });
        // the server subscribed before it answered: later requests' changes reach it
        let t = Instant::now();
        while !opened.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(2));
        }
        self.watches.push(WatchRun {
            label,
            until_ms,
            server_closes,
            want,
            got,
            lines,
            ended,
            stop,
            thread: Some(thread),
        });
    }

    /// Before an exchange recorded at `at`: every watch has reached the
    /// states the recording's watches had seen by then (the recorder
    /// waited for them).
    fn wait_watches_until(&mut self, at: f64, label: &str) {
        for i in 0..self.watches.len() {
            let need = self.watches[i].want.iter().filter(|(t, _)| *t < at).count();
            let t = Instant::now();
            while self.watches[i].states().len() < need
                && !self.watches[i].ended.load(Ordering::SeqCst)
            {
                if t.elapsed() > Duration::from_secs(20) {
                    let w = &self.watches[i];
                    let msg = format!(
                        "before it, watch '{}' should have seen {need} states, saw {}:\n  want {:#?}\n  got {:#?}",
                        w.label,
                        w.states().len(),
                        w.want.iter().map(|(_, s)| s).collect::<Vec<_>>(),
                        w.states()
                    );
                    self.problem(label, msg);
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Watches the recorder had closed before `at` are closed here too.
    fn stop_watches_ended_before(&mut self, at: f64) {
        for w in &mut self.watches {
            if w.until_ms <= at {
                w.stop.store(true, Ordering::SeqCst);
            }
        }
    }

    /// The raw lines a watch received (for facts about particular fields).
    pub fn watch_lines(&self, label_part: &str) -> Vec<Value> {
        self.watches
            .iter()
            .find(|w| w.label.contains(label_part))
            .map(|w| w.lines.lock().unwrap().clone())
            .unwrap_or_default()
    }

    fn websocket(&mut self, e: &Value) {
        let label = e["label"].as_str().unwrap().to_string();
        let path = self.path(e);
        let req = self.request(e, &path);
        let mut ws = self.wire.websocket(&req);
        let want_status = e["status"].as_u64().unwrap_or(0) as u16;
        if ws.status != want_status {
            self.problem(
                &label,
                format!(
                    "status: want {want_status} got {} ({})",
                    ws.status,
                    String::from_utf8_lossy(&ws.body)
                ),
            );
            return;
        }
        if ws.status != 101 {
            let resp = wire::Response {
                status: ws.status,
                headers: ws.headers.clone(),
                body: ws.body.clone(),
            };
            self.compare(e, &resp);
            return;
        }
        if let Some(sl) = e["status_line"].as_str() {
            if sl != ws.status_line {
                self.problem(
                    &label,
                    format!("status line: want {sl:?} got {:?}", ws.status_line),
                );
            }
        }
        for h in ["Upgrade", "Connection", "Sec-WebSocket-Protocol"] {
            let w = e["response_headers"][h].as_str();
            let g = header(&ws.headers, h);
            if w.map(str::to_ascii_lowercase) != g.map(str::to_ascii_lowercase) {
                self.problem(&label, format!("header {h}: want {w:?} got {g:?}"));
            }
        }
        let frames = ws.frames(Duration::from_secs(20));
        let digest_frame = |opcode: u8, masked: bool, payload: &[u8], norm: &Norm| -> String {
            if opcode == 8 {
                let code = if payload.len() >= 2 {
                    u16::from_be_bytes([payload[0], payload[1]])
                } else {
                    0
                };
                return format!("close {code}");
            }
            let ch = payload.first().copied().unwrap_or(255);
            let rest = &payload[payload.len().min(1)..];
            let text = if ch == 3 {
                match serde_json::from_slice::<Value>(rest) {
                    Ok(v) => format!(
                        "status={} reason={} message={:?} causes={}",
                        v["status"],
                        v["reason"],
                        norm.text(v["message"].as_str().unwrap_or("")),
                        norm.text(&v["details"]["causes"].to_string())
                    ),
                    Err(_) => format!("{:?}", String::from_utf8_lossy(rest)),
                }
            } else {
                format!("{:?}", String::from_utf8_lossy(rest))
            };
            format!("op={opcode} masked={masked} ch={ch} {text}")
        };
        let norm = self.norm.clone();
        let want: Vec<String> = e["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                if f["opcode"] == 8 {
                    return format!("close {}", f["close_code"]);
                }
                let mut p = vec![f["channel"].as_u64().unwrap_or(255) as u8];
                p.extend(f["payload"].as_str().unwrap_or("").as_bytes());
                digest_frame(
                    f["opcode"].as_u64().unwrap_or(0) as u8,
                    f["masked"] == true,
                    &p,
                    &norm,
                )
            })
            .collect();
        // a stream's bytes may come in any number of frames: consecutive
        // frames of one output channel are read as one
        let mut merged: Vec<wire::Frame> = vec![];
        for f in frames {
            let ch = f.payload.first().copied();
            match merged.last_mut() {
                Some(last)
                    if f.opcode == 2
                        && last.opcode == 2
                        && matches!(ch, Some(1 | 2))
                        && last.payload.first().copied() == ch
                        && f.payload.len() > 1
                        && last.payload.len() > 1 =>
                {
                    last.payload.extend_from_slice(&f.payload[1..]);
                }
                _ => merged.push(f),
            }
        }
        let got: Vec<String> = merged
            .iter()
            .map(|f| digest_frame(f.opcode, f.masked, &f.payload, &norm))
            .collect();
        // stdout and stderr arrive in either order (the recording says so)
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            let (mut a, mut b) = (None, None);
            for (i, s) in v.iter().enumerate() {
                if s.contains("ch=1 \"out") {
                    a = Some(i);
                }
                if s.contains("ch=2 ") {
                    b = Some(i);
                }
            }
            if let (Some(a), Some(b)) = (a, b) {
                if b < a {
                    v.swap(a, b);
                }
            }
            v
        };
        if sorted(&want) != sorted(&got) {
            let no_stderr = |v: &[String]| -> Vec<String> {
                v.iter()
                    .map(|f| {
                        if f.contains(" ch=2 ") {
                            "stderr".to_string()
                        } else {
                            f.clone()
                        }
                    })
                    .collect()
            };
            if no_stderr(&sorted(&want)) == no_stderr(&sorted(&got)) {
                self.problem(&label, format!("stderr wording: want {want:?} got {got:?}"));
            } else {
                self.problem(&label, format!("frames:\n  want {want:#?}\n  got {got:#?}"));
            }
        }
    }

    /// A list page: a continued one has the resourceVersion of the page
    /// that gave its token (the first page's snapshot), as the
    /// recording's does; tokens are remembered for the next page.
    fn page_rv(&mut self, label: &str, wm: &Value, gm: &Value) {
        let path = self.path_of(label);
        let got_rv = gm["resourceVersion"].as_str().unwrap_or("").to_string();
        if let Some(t) = path
            .split("continue=")
            .nth(1)
            .map(|t| t.split('&').next().unwrap_or(""))
        {
            let fake_token = self.tokens.get(t).cloned().unwrap_or_default();
            if let Some(first) = self.token_rv.get(&fake_token).cloned() {
                if first != got_rv {
                    self.problem(label, format!("resourceVersion: a continued page is at {got_rv}, its first page was at {first}"));
                }
            }
        }
        if let (Some(t), Some(f)) = (wm["continue"].as_str(), gm["continue"].as_str()) {
            // the token is base64url JSON {"v","rv","start"}, as the API server's
            use base64::Engine;
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(f)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
            let ok = decoded.as_ref().is_some_and(|d| {
                d["v"] == "meta.k8s.io/v1"
                    && d["rv"].is_u64()
                    && d["start"].as_str().is_some_and(|s| s.ends_with('\u{0}'))
            });
            if !ok {
                self.problem(
                    label,
                    format!("continue token: not base64url JSON {{v, rv, start}}: {f}"),
                );
            }
            self.tokens.insert(t.to_string(), f.to_string());
            self.token_rv.insert(f.to_string(), got_rv);
        }
    }

    /// The recorded path of the exchange labelled `label`.
    fn path_of(&self, label: &str) -> String {
        self.trace["exchanges"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["label"] == label)
            .and_then(|e| e["path"].as_str())
            .unwrap_or("")
            .to_string()
    }

    /// Stop the watches once they have what the recording had (or 20 s
    /// passed), compare their states, and fail with every difference.
    pub fn finish(mut self) -> Replay {
        for i in 0..self.watches.len() {
            let need = self.watches[i].want.len();
            let t = Instant::now();
            while self.watches[i].states().len() < need
                && !self.watches[i].ended.load(Ordering::SeqCst)
                && t.elapsed() < Duration::from_secs(20)
            {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        // a moment for states the recording does not have to show up
        std::thread::sleep(Duration::from_millis(300));
        for w in &mut self.watches {
            w.stop.store(true, Ordering::SeqCst);
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
        let watches = std::mem::take(&mut self.watches);
        for w in &watches {
            if w.server_closes && !w.ended.load(Ordering::SeqCst) {
                self.problem(&w.label, "the server did not close the stream".into());
            }
            let want: Vec<String> = w.want.iter().map(|(_, s)| s.clone()).collect();
            let got = w.states();
            if want != got {
                let first = want
                    .iter()
                    .zip(&got)
                    .position(|(a, b)| a != b)
                    .unwrap_or(want.len().min(got.len()));
                self.problem(
                    &w.label,
                    format!(
                        "watch states differ from #{first}:\n  want {:#?}\n  got {:#?}",
                        &want[first.min(want.len())..],
                        &got[first.min(got.len())..]
                    ),
                );
            }
        }
        self.watches = watches;
        self
    }

    /// Panic with every difference not accepted.
    pub fn check(self) {
        for a in &self.accepted_seen {
            println!("accepted difference: {a}");
        }
        if !self.problems.is_empty() {
            panic!(
                "{}: the fake differs from the recording in {} place(s):\n- {}",
                self.file,
                self.problems.len(),
                self.problems.join("\n- ")
            );
        }
    }

    /// Wait (at most 20 s) until `f` holds; a difference if it never does.
    pub fn wait(&mut self, label: &str, what: &str, mut f: impl FnMut(&Replay) -> bool) {
        let t = Instant::now();
        while !f(self) {
            if t.elapsed() > Duration::from_secs(20) {
                self.problem(label, format!("never happened: {what}"));
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A pod of the fake's is Ready.
    pub fn pod_ready(&self, ns: &str, name: &str) -> bool {
        self.fc.get("v1", "Pod", ns, name).is_some_and(|p| {
            p["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        })
    }
}

/// The copy in this repository is the recording, byte for byte.
#[test]
fn traces_are_the_recording() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/k8s-traces");
    if !shared.is_dir() {
        println!(
            "SKIP: no ../shared/k8s-traces next to this checkout to compare tests/traces with"
        );
        return;
    }
    let names = |d: &PathBuf| -> BTreeSet<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect()
    };
    assert_eq!(names(&shared), names(&traces_dir()));
    for n in names(&shared) {
        assert!(
            std::fs::read(shared.join(&n)).unwrap()
                == std::fs::read(traces_dir().join(&n)).unwrap(),
            "tests/traces/{n} differs from ../shared/k8s-traces/{n}"
        );
    }
}

#[test]
fn errors() {
    let mut r = Replay::new("errors.json");
    r.auth("an invalid bearer token", Auth::BadToken);
    r.auth("no credentials at all", Auth::Anonymous);
    r.run(|r, label| {
        // the dry run before this stored nothing: ssa still has beta's value
        if label.starts_with("merge patch of a missing object") {
            let k = r.fc.get("v1", "ConfigMap", "trace-errors", "ssa").map(|o| o["data"]["k"].clone());
            if k != Some(json!("second")) {
                r.problem(label, format!("dryRun=All stored something: ssa's k is {k:?}, not \"second\""));
            }
        }
        // the recorder changed ConfigMap one five times (a=2..6) before the
        // list, so its resourceVersion was stale for the PUT after it
        if label.starts_with("LIST with resourceVersion=1&resourceVersionMatch=NotOlderThan") {
            for i in 2..=6 {
                r.fc.update("v1", "ConfigMap", "trace-errors", "one", |o| o["data"]["a"] = json!(i.to_string()))
                    .unwrap();
            }
        }
        // it made three ConfigMaps for the collection DELETE without
        // recording those requests
        if label.starts_with("the ConfigMaps before the collection DELETE") {
            for i in 0..3 {
                r.fc.seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}"), "namespace": "trace-errors", "labels": {"batch": "x"}}}))
                    .unwrap();
            }
        }
    });
    r.finish().check();
}

#[test]
fn pod_lifecycle() {
    let mut r = Replay::new("pod-lifecycle.json");
    r.run(|_, _| {});
    let mut r = r.finish();
    // the first line ends the (empty) initial events and carries the
    // list's blueprint, as the recording's does
    let first = r
        .watch_lines("watch of the namespace's pods")
        .first()
        .cloned()
        .unwrap_or_default();
    let ann = &first["object"]["metadata"]["annotations"];
    if first["type"] != "BOOKMARK"
        || ann["k8s.io/initial-events-end"] != "true"
        || !ann["kubernetes.io/initial-events-list-blueprint"].is_string()
    {
        r.problem(
            "watch of the namespace's pods",
            format!("the first line is not the initial-events-end BOOKMARK: {first}"),
        );
    }
    r.check();
}

#[test]
fn job_lifecycle() {
    let mut r = Replay::new("job-lifecycle.json");
    r.run(|_, _| {});
    r.finish().check();
}

#[test]
fn list_pagination() {
    let mut r = Replay::new("list-pagination.json");
    for i in 0..7 {
        let mut labels = json!({});
        if i % 2 == 0 {
            labels["even"] = json!("true");
        }
        r.fc.seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm{i}"), "namespace": "trace-list-pagination", "labels": labels}, "data": {"i": i.to_string()}}))
            .unwrap();
    }
    r.run(|_, _| {});
    r.finish().check();
}

#[test]
fn namespace_delete() {
    let mut r = Replay::new("namespace-delete.json");
    r.run(|r, label| {
        if label.starts_with("the namespace before") {
            r.wait(label, "pod p Ready", |r| {
                r.pod_ready("trace-namespace-delete", "p")
            });
        }
    });
    // the recorder polled the namespace every 500 ms until it was gone
    let ns = "trace-namespace-delete";
    let mut got = vec![];
    let t = Instant::now();
    loop {
        let o = r.fc.get("v1", "Namespace", "", ns);
        let d = match &o {
            Some(o) => digest::digest(o, &r.norm),
            None => "gone".to_string(),
        };
        got.push(d);
        if o.is_none() || t.elapsed() > Duration::from_secs(30) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut want = vec![];
    let mut last = Value::Null;
    for p in r.trace["polls"].as_array().unwrap() {
        if p["http"] == 404 {
            want.push("gone".to_string());
            continue;
        }
        if p["same_as_previous"] != true {
            last = json!({"kind": "Namespace", "metadata": {"deletionTimestamp": p["deletionTimestamp"], "finalizers": p["finalizers"]}, "spec": p["spec"], "status": p["status"]});
        }
        want.push(digest::digest(&last, &r.norm));
    }
    let (want, got) = (collapse(&want), collapse(&got));
    if want != got {
        r.problem(
            "polls of the namespace until 404",
            format!("states:\n  want {want:#?}\n  got {got:#?}"),
        );
    }
    r.finish().check();
}

#[test]
fn deployment_rollout() {
    let mut r = Replay::new("deployment-rollout.json");
    r.run(|_, _| {});
    r.finish().check();
}

#[test]
fn pvc_wait_for_first_consumer() {
    let mut r = Replay::new("pvc-wait-for-first-consumer.json");
    r.run(|r, label| {
        // the recorder deleted the consumer and the claim without
        // recording those requests
        if label.starts_with("B: the PV after its PVC is deleted") {
            let ns = "trace-pvc-wait-for-first-consumer";
            for p in r.fc.list("v1", "Pod") {
                if p["metadata"]["namespace"] == ns {
                    let _ =
                        r.fc.delete("v1", "Pod", ns, p["metadata"]["name"].as_str().unwrap());
                }
            }
            let _ =
                r.fc.delete_gracefully("v1", "PersistentVolumeClaim", ns, "data-b");
            r.wait(label, "claim data-b gone", |r| {
                r.fc.get("v1", "PersistentVolumeClaim", ns, "data-b")
                    .is_none()
            });
        }
        if label.starts_with("B: PVC data-b Bound") {
            r.wait(label, "the consumer pod Ready", |r| {
                r.fc.list("v1", "Pod").iter().any(|p| {
                    p["metadata"]["namespace"] == "trace-pvc-wait-for-first-consumer"
                        && r.pod_ready(
                            "trace-pvc-wait-for-first-consumer",
                            p["metadata"]["name"].as_str().unwrap_or(""),
                        )
                })
            });
        }
    });
    r.finish().check();
}

#[test]
fn image_pull_failure() {
    let mut r = Replay::new("image-pull-failure.json");
    r.run(|_, _| {});
    r.finish().check();
}

#[test]
fn discovery_health() {
    let mut r = Replay::new("discovery-health.json");
    r.run(|r, label| {
        // the recorded server had had requests before its /metrics; so has this one
        if label.starts_with("/metrics") {
            let req = Request {
                method: "GET",
                path: "/api/v1/namespaces/default/pods",
                headers: vec![],
                body: None,
                auth: Auth::Token,
            };
            r.wire.send(&req);
        }
    });
    let mut r = r.finish();
    discovery_resources(&mut r);
    metric_families(&mut r);
    r.check();
}

/// Aggregated discovery of apps and batch, resource by resource, as recorded.
fn discovery_resources(r: &mut Replay) {
    let label = "/apis with the aggregated discovery v2 Accept: APIGroupDiscoveryList; full resources for apps and batch, resource names only for the other groups";
    let Some(got) = r.answers.get(label).and_then(|a| a.json()) else {
        return r.problem(label, "no answer".into());
    };
    let want = r
        .exchanges()
        .into_iter()
        .find(|e| e["label"] == label)
        .unwrap()["response_body"]
        .clone();
    for item in want["items"].as_array().into_iter().flatten() {
        let g = item["metadata"]["name"].clone();
        let fake = got["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["metadata"]["name"] == g)
            .cloned()
            .unwrap_or_default();
        for res in item["versions"][0]["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|x| x.is_object())
        {
            let f = fake["versions"][0]["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|x| x["resource"] == res["resource"])
                .cloned();
            if f.as_ref() != Some(res) {
                r.problem(
                    label,
                    format!(
                        "{g} {}: want {res}\n      got  {}",
                        res["resource"],
                        f.unwrap_or_default()
                    ),
                );
            }
        }
    }
}

/// The /metrics families of the recording, and the label names of the
/// request and etcd histograms.
fn metric_families(r: &mut Replay) {
    let label = "/metrics (Prometheus text) trimmed";
    let e = r
        .exchanges()
        .into_iter()
        .find(|e| e["label"].as_str().unwrap_or("").starts_with(label))
        .unwrap();
    let want = e["response_body"].as_str().unwrap_or("").to_string();
    let got = String::from_utf8_lossy(&r.answers[e["label"].as_str().unwrap()].body).to_string();
    let families = |t: &str| -> BTreeSet<String> {
        t.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.to_string())
            .collect()
    };
    let missing: Vec<String> = families(&want)
        .difference(&families(&got))
        .cloned()
        .collect();
    if !missing.is_empty() {
        r.problem(
            label,
            format!("families the fake does not have: {missing:?}"),
        );
    }
    let label_names = |t: &str, name: &str| -> BTreeSet<String> {
        t.lines()
            .filter(|l| l.starts_with(name) && l.contains('{'))
            .flat_map(|l| {
                l[l.find('{').unwrap() + 1..l.find('}').unwrap_or(l.len())]
                    .split(',')
                    .map(|p| p.split('=').next().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    for f in [
        "apiserver_request_duration_seconds_bucket",
        "apiserver_request_total",
        "etcd_request_duration_seconds_sum",
    ] {
        let (w, g) = (label_names(&want, f), label_names(&got, f));
        if w != g {
            r.problem(label, format!("labels of {f}: want {w:?} got {g:?}"));
        }
    }
}

#[test]
fn exec_websocket() {
    let mut r = Replay::new("exec-websocket.json");
    r.run(|r, label| {
        if label.starts_with("exec") {
            r.wait(label, "pod sh Ready", |r| {
                r.pod_ready("trace-exec-websocket", "sh")
            });
        }
    });
    r.finish().check();
}
