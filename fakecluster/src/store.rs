//! The in-memory object store: any kind stored generically as JSON, one
//! global resourceVersion, a bounded event history for watches and for
//! list pages read at their first page's resourceVersion. Writes keep
//! `managedFields` (fields.rs), bump `generation` for kinds that have one,
//! and deletions follow the API server: an object with finalizers, a pod
//! on a node or a namespace gets a `deletionTimestamp` and goes when its
//! finalizers (or the kubelet, or the namespace controller) let it.

use crate::fields::{self, Part, Writer};
use crate::kinds::{self, Kind};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

pub use crate::errors::ApiError;

/// How many past events a watch or a continued list can go back.
const HISTORY: usize = 50_000;

/// One change, as watches deliver it.
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    /// resource key (`pods`, `deployments.apps`)
    pub res: String,
    pub ns: String,
    /// ADDED, MODIFIED, DELETED
    pub etype: &'static str,
    /// the object after the change
    pub object: Arc<Stored>,
    /// its JSON with apiVersion and kind: every watcher sends the same
    /// bytes, as the API server's watch cache serializes an event once
    pub typed: bytes::Bytes,
    /// the object before the change (a list page read at an older
    /// resourceVersion sees this one)
    pub prev: Option<Arc<Stored>>,
}

/// A stored object and its JSON, serialized once per write so that large
/// lists are a concatenation of bytes rather than a deep copy. `bare` is
/// the JSON a list item has: without apiVersion and kind for built-in
/// kinds (as the API server lists them), with them for custom resources.
#[derive(Debug)]
pub struct Stored {
    pub value: Value,
    pub bare: bytes::Bytes,
    custom: bool,
}

impl Stored {
    fn new(value: Value, custom: bool) -> Arc<Stored> {
        let bare = if custom {
            serde_json::to_vec(&value).unwrap_or_default()
        } else {
            let mut v = value.clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("apiVersion");
                m.remove("kind");
            }
            serde_json::to_vec(&v).unwrap_or_default()
        };
        Arc::new(Stored {
            value,
            bare: bare.into(),
            custom,
        })
    }

    /// The JSON with apiVersion and kind (a single object, a watch event).
    pub fn typed(&self) -> bytes::Bytes {
        if self.custom {
            return self.bare.clone();
        }
        let head = format!(
            "{{\"apiVersion\":{},\"kind\":{}",
            self.value["apiVersion"], self.value["kind"]
        );
        let mut out = Vec::with_capacity(head.len() + self.bare.len() + 1);
        out.extend_from_slice(head.as_bytes());
        if self.bare.len() > 2 {
            out.push(b',');
            out.extend_from_slice(&self.bare[1..]);
        } else {
            out.push(b'}');
        }
        out.into()
    }
}

type Key = (String, String);

struct Inner {
    rv: u64,
    uid: u64,
    objects: HashMap<String, BTreeMap<Key, Arc<Stored>>>,
    history: VecDeque<Arc<Event>>,
    /// resourceVersions up to this one are compacted away (410 Gone)
    compacted: u64,
}

/// What [`Store::list_page`] returns.
pub struct ListPage {
    pub items: Vec<Arc<Stored>>,
    /// the last key of this page, when more objects follow
    pub next: Option<Key>,
    /// how many follow (only for a list without selectors)
    pub remaining: Option<usize>,
    pub rv: u64,
}

/// Who writes and how its fields are recorded.
#[derive(Clone, Copy)]
pub enum Track<'a> {
    /// an update by this manager (it takes the fields it changed)
    By(&'a str),
    /// managedFields as the object carries them (server-side apply)
    AsGiven,
}

/// Which Event each (object, type, reason, message, source) was recorded
/// as, so a repeat finds it without reading every Event (events.rs).
#[derive(Default)]
pub struct EventIndex(pub Mutex<HashMap<String, String>>);

/// A DELETE's options.
#[derive(Default, Clone)]
pub struct DeleteOptions {
    pub grace: Option<i64>,
    pub propagation: Option<String>,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

/// What a DELETE did.
pub enum Deletion {
    /// removed: the last state
    Gone(Value),
    /// marked for deletion (finalizers, a pod's grace period, a namespace)
    Pending(Value),
}

pub struct Store {
    inner: Mutex<Inner>,
    /// the kinds served (read on every request, written when a CRD is
    /// established: not behind the objects' lock)
    kinds: std::sync::RwLock<Vec<Kind>>,
    tx: broadcast::Sender<Arc<Event>>,
    /// where each repeatable Event was recorded (events.rs)
    pub events: EventIndex,
}

pub use crate::clock::{now, rfc3339};

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

fn is_terminating(o: &Value) -> bool {
    o["metadata"]["deletionTimestamp"].is_string()
}

fn finalizers(o: &Value) -> usize {
    o["metadata"]["finalizers"]
        .as_array()
        .map_or(0, |f| f.len())
}

/// Which part of an object a write replaces.
#[derive(Clone, Copy, PartialEq)]
enum Scope {
    /// all but `.status` for kinds with a status subresource
    Main,
    /// only `.status`
    Status,
    /// everything (the server's own marks: deletion, a namespace's phase)
    Whole,
}

impl Scope {
    fn of(status_only: bool) -> Scope {
        if status_only {
            Scope::Status
        } else {
            Scope::Main
        }
    }
}

fn part(kind: &Kind, scope: Scope) -> Part {
    match scope {
        Scope::Status => Part::Status,
        Scope::Main => Part::Main {
            status_separate: kind.status,
        },
        Scope::Whole => Part::Main {
            status_separate: false,
        },
    }
}

impl Store {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1 << 16);
        let s = Store {
            inner: Mutex::new(Inner {
                rv: 1000,
                uid: 0,
                objects: HashMap::new(),
                history: VecDeque::new(),
                compacted: 0,
            }),
            kinds: std::sync::RwLock::new(kinds::builtin()),
            tx,
            events: Default::default(),
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let k = s.kind("", "Namespace").unwrap();
            let _ = s.create(
                &k,
                "",
                json!({"metadata": {"name": ns}}),
                Track::By("kube-apiserver"),
            );
        }
        s
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    pub fn current_rv(&self) -> u64 {
        self.inner.lock().unwrap().rv
    }

    pub fn kinds(&self) -> Vec<Kind> {
        self.kinds.read().unwrap().clone()
    }

    /// A kind by group and kind name (`""`, `"Pod"`).
    pub fn kind(&self, group: &str, kind: &str) -> Option<Kind> {
        self.kinds
            .read()
            .unwrap()
            .iter()
            .find(|k| k.group == group && k.kind == kind)
            .cloned()
    }

    /// A kind by apiVersion and kind.
    pub fn kind_of(&self, api_version: &str, kind: &str) -> Option<Kind> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.kinds
            .read()
            .unwrap()
            .iter()
            .find(|k| k.group == group && k.version == version && k.kind == kind)
            .cloned()
    }

    /// A kind by URL parts.
    pub fn kind_by_path(&self, group: &str, version: &str, plural: &str) -> Option<Kind> {
        self.kinds
            .read()
            .unwrap()
            .iter()
            .find(|k| k.group == group && k.version == version && k.plural == plural)
            .cloned()
    }

    /// Whether any kind of this group is served.
    pub fn serves_group(&self, group: &str, version: &str) -> bool {
        self.kinds
            .read()
            .unwrap()
            .iter()
            .any(|k| k.group == group && k.version == version)
    }

    /// Serve the kinds of an Established CRD.
    pub fn register_crd(&self, crd: &Value) {
        let mut kinds = self.kinds.write().unwrap();
        for k in kinds::from_crd(crd) {
            if !kinds.contains(&k) {
                kinds.retain(|o| {
                    !(o.group == k.group && o.version == k.version && o.plural == k.plural)
                });
                kinds.push(k);
            }
        }
    }

    fn emit(&self, i: &mut Inner, ev: Event) {
        let ev = Arc::new(ev);
        if i.history.len() == HISTORY {
            if let Some(old) = i.history.pop_front() {
                i.compacted = i.compacted.max(old.rv);
            }
        }
        i.history.push_back(ev.clone());
        let _ = self.tx.send(ev);
    }

    fn event(
        i: &Inner,
        kind: &Kind,
        ns: &str,
        etype: &'static str,
        object: Arc<Stored>,
        prev: Option<Arc<Stored>>,
    ) -> Event {
        Event {
            rv: i.rv,
            res: kind.key(),
            ns: ns.to_string(),
            etype,
            typed: object.typed(),
            object,
            prev,
        }
    }

    /// Forget the event history, as etcd compaction does: a watch from any
    /// earlier resourceVersion gets 410 Gone and must re-list.
    pub fn compact(&self) {
        let mut i = self.inner.lock().unwrap();
        i.history.clear();
        i.compacted = i.rv;
    }

    /// Events after `rv`, or the 410 of a resourceVersion older than the
    /// history kept.
    pub fn events_since(&self, rv: u64) -> Result<Vec<Arc<Event>>, ApiError> {
        let i = self.inner.lock().unwrap();
        let oldest = i
            .history
            .front()
            .map_or(i.rv, |e| e.rv - 1)
            .max(i.compacted);
        if rv < oldest && rv < i.rv {
            return Err(ApiError::new(
                410,
                "Expired",
                format!("too old resource version: {rv} ({oldest})"),
            ));
        }
        Ok(i.history.iter().filter(|e| e.rv > rv).cloned().collect())
    }

    /// Whether a list at exactly `rv` can still be served.
    pub fn can_read_at(&self, rv: u64) -> bool {
        let i = self.inner.lock().unwrap();
        rv >= i.rv || i.history.front().is_some_and(|e| e.rv <= rv + 1) && rv >= i.compacted
    }

    pub fn get(&self, kind: &Kind, ns: &str, name: &str) -> Option<Value> {
        self.get_stored(kind, ns, name).map(|s| s.value.clone())
    }

    pub fn get_stored(&self, kind: &Kind, ns: &str, name: &str) -> Option<Arc<Stored>> {
        let ns = if kind.namespaced { ns } else { "" };
        self.inner
            .lock()
            .unwrap()
            .objects
            .get(&kind.key())
            .and_then(|m| m.get(&(ns.to_string(), name.to_string())))
            .cloned()
    }

    /// Objects of a kind (one namespace, or all with `None`), sorted by namespace and name.
    pub fn list(&self, kind: &Kind, ns: Option<&str>) -> (Vec<Value>, u64) {
        let (items, rv) = self.list_stored(kind, ns);
        (items.iter().map(|s| s.value.clone()).collect(), rv)
    }

    /// Like `list`, without copying: the stored objects and their JSON.
    pub fn list_stored(&self, kind: &Kind, ns: Option<&str>) -> (Vec<Arc<Stored>>, u64) {
        let i = self.inner.lock().unwrap();
        let items = match i.objects.get(&kind.key()) {
            None => vec![],
            Some(m) => match ns.filter(|_| kind.namespaced) {
                Some(ns) => m
                    .range((ns.to_string(), String::new())..)
                    .take_while(|((n, _), _)| n == ns)
                    .map(|(_, v)| v.clone())
                    .collect(),
                None => m.values().cloned().collect(),
            },
        };
        (items, i.rv)
    }

    /// One page of a list, as etcd serves it: the objects after the key
    /// `after` (namespace, name) that `keep` accepts, at most `limit` (0:
    /// all), as they were at resourceVersion `at` (a continued list reads
    /// its first page's snapshot; None: now). Also returns the key to
    /// continue from when more match, how many objects follow (without a
    /// filter; `None` with one, as the API server leaves remainingItemCount
    /// out for selectors) and the resourceVersion read. Each page costs its
    /// own length plus the changes since `at`, not the whole list.
    #[allow(clippy::too_many_arguments)]
    pub fn list_page(
        &self,
        kind: &Kind,
        ns: Option<&str>,
        after: Option<Key>,
        limit: usize,
        filtered: bool,
        at: Option<u64>,
        keep: impl Fn(&Value) -> bool,
    ) -> Result<ListPage, ApiError> {
        let i = self.inner.lock().unwrap();
        let rv = at.unwrap_or(i.rv).min(i.rv);
        let ns = ns.filter(|_| kind.namespaced);
        let empty = BTreeMap::new();
        let current = i.objects.get(&kind.key()).unwrap_or(&empty);
        let then = Self::changed_since(&i, kind, rv)?;
        let in_range =
            |k: &Key| ns.is_none_or(|n| k.0 == n) && after.as_ref().is_none_or(|a| k > a);
        let start = match (&after, ns) {
            (Some(k), _) => std::ops::Bound::Excluded(k.clone()),
            (None, Some(n)) => std::ops::Bound::Included((n.to_string(), String::new())),
            (None, None) => std::ops::Bound::Unbounded,
        };
        let cur_iter = current
            .range((start.clone(), std::ops::Bound::Unbounded))
            .take_while(|(k, _)| ns.is_none_or(|n| k.0 == n))
            .filter(|(k, _)| !then.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()));
        let old_iter = then
            .range((start, std::ops::Bound::Unbounded))
            .filter(|(k, v)| v.is_some() && in_range(k))
            .map(|(k, v)| (k.clone(), v.clone().expect("existed")));
        let mut merged = merge_sorted(cur_iter, old_iter).filter(|(_, v)| keep(&v.value));
        let mut page = ListPage {
            items: vec![],
            next: None,
            remaining: None,
            rv,
        };
        for (k, v) in merged.by_ref() {
            page.items.push(v);
            if limit > 0 && page.items.len() == limit {
                page.next = Some(k);
                break;
            }
        }
        if page.next.is_some() {
            let rest = if filtered {
                merged.next().map_or(0, |_| 1)
            } else {
                merged.count()
            };
            if !filtered {
                page.remaining = Some(rest);
            }
            if rest == 0 {
                page.next = None;
                page.remaining = None;
            }
        }
        Ok(page)
    }

    /// The objects of `kind` changed after `rv`, each as it was at `rv`
    /// (None: it did not exist then).
    fn changed_since(
        i: &Inner,
        kind: &Kind,
        rv: u64,
    ) -> Result<BTreeMap<Key, Option<Arc<Stored>>>, ApiError> {
        let mut then = BTreeMap::new();
        if rv >= i.rv {
            return Ok(then);
        }
        let first = i.history.front().map_or(u64::MAX, |e| e.rv);
        if rv + 1 < first || rv < i.compacted {
            return Err(ApiError::new(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with an inconsistent list may be an issue for your tooling"));
        }
        let key = kind.key();
        let from = i.history.partition_point(|e| e.rv <= rv);
        for e in i.history.range(from..).filter(|e| e.res == key) {
            let name = e.object.value["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .to_string();
            then.entry((e.ns.clone(), name))
                .or_insert_with(|| e.prev.clone());
        }
        Ok(then)
    }

    /// Count of objects of a kind (cheap, for tests and benchmarks).
    pub fn count(&self, kind: &Kind) -> usize {
        self.inner
            .lock()
            .unwrap()
            .objects
            .get(&kind.key())
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Create an object. Fills metadata (uid, timestamps, resourceVersion,
    /// generation, generateName) and apiVersion/kind; a namespace that
    /// does not exist is a 404, one being deleted a 403.
    pub fn create(
        &self,
        kind: &Kind,
        ns: &str,
        mut obj: Value,
        track: Track,
    ) -> Result<Value, ApiError> {
        let mut i = self.inner.lock().unwrap();
        let ns = if kind.namespaced {
            ns.to_string()
        } else {
            String::new()
        };
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        let name = Self::name_for(&mut i, kind, &obj)?;
        if kind.namespaced {
            Self::check_namespace(&i, kind, &ns, &name)?;
        }
        let key = (ns.clone(), name.clone());
        if i.objects
            .get(&kind.key())
            .is_some_and(|m| m.contains_key(&key))
        {
            return Err(ApiError::already_exists(kind, &name));
        }
        i.rv += 1;
        let rv = i.rv;
        let uid = match obj["metadata"]["uid"]
            .as_str()
            .filter(|u| u.starts_with("00000000-0000-4000-8000-"))
        {
            Some(u) => u.to_string(),
            None => {
                i.uid += 1;
                format!("00000000-0000-4000-8000-{:012x}", i.uid)
            }
        };
        Self::fill_new(
            kind,
            &ns,
            &name,
            rv,
            &uid,
            &mut obj,
            matches!(track, Track::By(_)),
        );
        if let Track::By(m) = track {
            fields::track_update(
                None,
                &mut obj,
                &Writer {
                    manager: m,
                    part: part(kind, Scope::Main),
                },
            );
        }
        let stored = Stored::new(obj.clone(), kind.custom);
        i.objects
            .entry(kind.key())
            .or_default()
            .insert(key, stored.clone());
        let ev = Self::event(&i, kind, &ns, "ADDED", stored, None);
        self.emit(&mut i, ev);
        Ok(obj)
    }

    fn name_for(i: &mut Inner, kind: &Kind, obj: &Value) -> Result<String, ApiError> {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        if !name.is_empty() {
            return Ok(name.to_string());
        }
        match obj["metadata"]["generateName"].as_str() {
            Some(prefix) => {
                i.uid += 1;
                Ok(format!("{prefix}{}", suffix(i.uid)))
            }
            None => Err(ApiError::invalid(
                kind,
                "",
                vec![crate::errors::Cause {
                    reason: "FieldValueRequired",
                    field: "metadata.name".into(),
                    message: "Required value: name or generateName is required".into(),
                }],
            )),
        }
    }

    fn check_namespace(i: &Inner, kind: &Kind, ns: &str, name: &str) -> Result<(), ApiError> {
        if ns.is_empty() {
            return Err(ApiError::new(
                400,
                "BadRequest",
                "the namespace of the object must be set",
            ));
        }
        let n = i
            .objects
            .get("namespaces")
            .and_then(|m| m.get(&(String::new(), ns.to_string())));
        match n {
            None => Err(ApiError::namespace_not_found(ns)),
            Some(n) if is_terminating(&n.value) => {
                Err(ApiError::namespace_terminating(kind, name, ns))
            }
            Some(_) => Ok(()),
        }
    }

    fn fill_new(
        kind: &Kind,
        ns: &str,
        name: &str,
        rv: u64,
        uid: &str,
        obj: &mut Value,
        fresh_fields: bool,
    ) {
        obj["apiVersion"] = json!(kind.api_version());
        obj["kind"] = json!(kind.kind);
        let md = obj["metadata"].as_object_mut().expect("metadata");
        md.insert("name".into(), json!(name));
        if kind.namespaced {
            md.insert("namespace".into(), json!(ns));
        } else {
            md.remove("namespace");
        }
        md.insert("uid".into(), json!(uid));
        md.insert("resourceVersion".into(), json!(rv.to_string()));
        md.insert("creationTimestamp".into(), json!(now()));
        for f in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            md.remove(f);
        }
        if fresh_fields {
            md.remove("managedFields");
        }
        if kind.generation {
            md.insert("generation".into(), json!(1));
        }
        if kind.kind == "Namespace" && kind.group.is_empty() {
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
        }
    }

    /// Replace an object. `status_only` writes only `.status` (the status
    /// subresource); otherwise `.status` is kept for kinds that have that
    /// subresource. A stale `resourceVersion` is a 409 Conflict.
    pub fn update(
        &self,
        kind: &Kind,
        ns: &str,
        name: &str,
        obj: Value,
        status_only: bool,
        track: Track,
    ) -> Result<Value, ApiError> {
        self.write(kind, ns, name, obj, Scope::of(status_only), track)
            .map(|s| s.value.clone())
    }

    /// The new state of an object from a replacement: what the server
    /// keeps of the old one (identity, status or spec, deletion), the
    /// generation bump, field ownership.
    fn merge_write(
        kind: &Kind,
        name: &str,
        old: &Value,
        mut obj: Value,
        scope: Scope,
        track: Track,
    ) -> Value {
        let mut new = if scope == Scope::Status {
            let mut n = old.clone();
            n["status"] = obj["status"].take();
            n
        } else {
            if kind.status && scope == Scope::Main {
                match old.get("status") {
                    Some(s) => obj["status"] = s.clone(),
                    None => {
                        if let Some(m) = obj.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
            if !obj["metadata"].is_object() {
                obj["metadata"] = json!({});
            }
            // what only the server sets (its own marks, Scope::Whole, set them)
            let keep: &[&str] = if scope == Scope::Main {
                &[
                    "uid",
                    "creationTimestamp",
                    "namespace",
                    "generation",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                ]
            } else {
                &["uid", "creationTimestamp", "namespace"]
            };
            for f in keep {
                match old["metadata"].get(*f) {
                    Some(v) => obj["metadata"][*f] = v.clone(),
                    None => {
                        if let Some(m) = obj["metadata"].as_object_mut() {
                            m.remove(*f);
                        }
                    }
                }
            }
            obj["metadata"]["name"] = json!(name);
            obj["apiVersion"] = json!(kind.api_version());
            obj["kind"] = json!(kind.kind);
            let changed = if kind.custom {
                Self::without(&obj, &["metadata", "status"])
                    != Self::without(old, &["metadata", "status"])
            } else {
                obj.get("spec") != old.get("spec") && obj.get("spec").is_some()
            };
            if kind.generation && changed && scope == Scope::Main {
                let g = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
                obj["metadata"]["generation"] = json!(g);
            }
            obj
        };
        match track {
            Track::By(m) => {
                new["metadata"]["managedFields"] = old["metadata"]["managedFields"].clone();
                fields::track_update(
                    Some(old),
                    &mut new,
                    &Writer {
                        manager: m,
                        part: part(kind, scope),
                    },
                );
            }
            Track::AsGiven => {}
        }
        new
    }

    fn without(v: &Value, keys: &[&str]) -> Value {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            for k in keys {
                m.remove(*k);
            }
        }
        v
    }

    fn write(
        &self,
        kind: &Kind,
        ns: &str,
        name: &str,
        obj: Value,
        scope: Scope,
        track: Track,
    ) -> Result<Arc<Stored>, ApiError> {
        let mut i = self.inner.lock().unwrap();
        let key = object_key(kind, ns, name);
        let ns = key.0.clone();
        let Some(old_stored) = i
            .objects
            .get(&kind.key())
            .and_then(|m| m.get(&key))
            .cloned()
        else {
            return Err(ApiError::not_found(kind, name));
        };
        let old = &old_stored.value;
        if let Some(want) = obj["metadata"]["resourceVersion"].as_str() {
            if !want.is_empty()
                && want
                    != old["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap_or_default()
            {
                return Err(ApiError::stale(kind, name));
            }
        }
        let mut new = Self::merge_write(kind, name, old, obj, scope, track);
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        if new == *old {
            return Ok(old_stored);
        }
        i.rv += 1;
        new["metadata"]["resourceVersion"] = json!(i.rv.to_string());
        let stored = Stored::new(new, kind.custom);
        // the last finalizer gone from an object being deleted: it goes
        // (a namespace once its spec.finalizers are gone too)
        let done = is_terminating(&stored.value)
            && finalizers(&stored.value) == 0
            && (kind.kind != "Pod" || stored.value["metadata"]["deletionGracePeriodSeconds"] == 0)
            && (kind.kind != "Namespace"
                || stored.value["spec"]["finalizers"]
                    .as_array()
                    .is_none_or(|f| f.is_empty()));
        if done {
            // the DELETED event shows the object as it was stored last
            // (its finalizers still there), at the new resourceVersion
            i.objects.get_mut(&kind.key()).map(|m| m.remove(&key));
            let mut last = old_stored.value.clone();
            last["metadata"]["resourceVersion"] = json!(i.rv.to_string());
            let gone = Stored::new(last, kind.custom);
            let ev = Self::event(&i, kind, &ns, "DELETED", gone, Some(old_stored));
            self.emit(&mut i, ev);
            return Ok(stored);
        }
        i.objects
            .entry(kind.key())
            .or_default()
            .insert(key, stored.clone());
        let ev = Self::event(&i, kind, &ns, "MODIFIED", stored.clone(), Some(old_stored));
        self.emit(&mut i, ev);
        Ok(stored)
    }

    /// Read-modify-write, retried on conflicts (controllers use this).
    pub fn modify(
        &self,
        kind: &Kind,
        ns: &str,
        name: &str,
        status_only: bool,
        by: &str,
        f: impl Fn(&mut Value),
    ) -> Result<Arc<Stored>, ApiError> {
        self.modify_scoped(kind, ns, name, Scope::of(status_only), by, f)
    }

    /// Read-modify-write of the whole object, status included: what the
    /// server itself changes in one write (a pod's binding, a mark).
    pub fn modify_whole(
        &self,
        kind: &Kind,
        ns: &str,
        name: &str,
        by: &str,
        f: impl Fn(&mut Value),
    ) -> Result<Arc<Stored>, ApiError> {
        self.modify_scoped(kind, ns, name, Scope::Whole, by, f)
    }

    /// Reserve a uid for an object about to be created (admission that
    /// needs it, as a Job's selector does); `create` keeps it.
    pub fn reserve_uid(&self) -> String {
        let mut i = self.inner.lock().unwrap();
        i.uid += 1;
        format!("00000000-0000-4000-8000-{:012x}", i.uid)
    }

    fn modify_scoped(
        &self,
        kind: &Kind,
        ns: &str,
        name: &str,
        scope: Scope,
        by: &str,
        f: impl Fn(&mut Value),
    ) -> Result<Arc<Stored>, ApiError> {
        loop {
            let Some(mut obj) = self.get(kind, ns, name) else {
                return Err(ApiError::not_found(kind, name));
            };
            f(&mut obj);
            match self.write(kind, ns, name, obj, scope, Track::By(by)) {
                Err(e) if e.code == 409 => continue,
                r => return r,
            }
        }
    }

    /// A DELETE as the API server does it: preconditions, then either the
    /// object goes now, or it is marked (`deletionTimestamp`, a pod's
    /// `deletionGracePeriodSeconds`, the `orphan` or `foregroundDeletion`
    /// finalizer, a namespace's Terminating phase) and goes later.
    pub fn delete_request(
        &self,
        kind: &Kind,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Deletion, ApiError> {
        let Some(cur) = self.get(kind, ns, name) else {
            return Err(ApiError::not_found(kind, name));
        };
        let uid = cur["metadata"]["uid"].as_str().unwrap_or("");
        if let Some(want) = opts.uid.as_deref().filter(|u| *u != uid) {
            return Err(ApiError::uid_precondition(kind, name, want, uid));
        }
        if let Some(want) = opts.resource_version.as_deref() {
            if want != cur["metadata"]["resourceVersion"].as_str().unwrap_or("") {
                return Err(ApiError::stale(kind, name));
            }
        }
        let is_pod = kind.kind == "Pod" && kind.group.is_empty();
        let grace = if is_pod {
            Self::pod_grace(&cur, opts)
        } else {
            0
        };
        let add = match opts.propagation.as_deref() {
            Some("Orphan") => Some("orphan"),
            Some("Foreground") => Some("foregroundDeletion"),
            _ => None,
        };
        if is_terminating(&cur) {
            return self.delete_again(kind, ns, name, cur, is_pod, grace);
        }
        let is_ns = kind.kind == "Namespace" && kind.group.is_empty();
        let keep = is_ns || grace > 0 || finalizers(&cur) > 0 || add.is_some();
        if !keep {
            return self.delete(kind, ns, name).map(Deletion::Gone);
        }
        // a pod's deletionTimestamp is when its grace period ends
        let stamp =
            rfc3339(std::time::SystemTime::now() + std::time::Duration::from_secs(grace as u64));
        let generation = kind.generation;
        let marked = self.modify_scoped(kind, ns, name, Scope::Whole, "kube-apiserver", |o| {
            o["metadata"]["deletionTimestamp"] = json!(stamp);
            if is_ns {
                o["status"]["phase"] = json!("Terminating");
            } else {
                o["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
            }
            if generation {
                let g = o["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
                o["metadata"]["generation"] = json!(g);
            }
            if let Some(f) = add {
                if !o["metadata"]["finalizers"].is_array() {
                    o["metadata"]["finalizers"] = json!([]);
                }
                let fs = o["metadata"]["finalizers"].as_array_mut().unwrap();
                if !fs.iter().any(|x| x == f) {
                    fs.push(json!(f));
                }
            }
        })?;
        Ok(Deletion::Pending(marked.value.clone()))
    }

    /// A pod's grace period: the DELETE's, else its spec's (30 s); 0 for a
    /// pod no kubelet runs yet.
    fn pod_grace(pod: &Value, opts: &DeleteOptions) -> i64 {
        if pod["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
            return 0;
        }
        opts.grace
            .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
            .unwrap_or(30)
            .max(0)
    }

    /// A DELETE of an object already being deleted: a pod's shorter grace
    /// period is taken (0 ends it: the kubelet's final delete), anything
    /// else answers with the object as it is.
    fn delete_again(
        &self,
        kind: &Kind,
        ns: &str,
        name: &str,
        cur: Value,
        is_pod: bool,
        grace: i64,
    ) -> Result<Deletion, ApiError> {
        let have = cur["metadata"]["deletionGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(0);
        if !is_pod || grace >= have && grace > 0 {
            return Ok(Deletion::Pending(cur));
        }
        let s = self.modify_scoped(kind, ns, name, Scope::Whole, "kube-apiserver", |o| {
            o["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
        })?;
        if grace == 0 && finalizers(&s.value) == 0 {
            return self.delete(kind, ns, name).map(Deletion::Gone);
        }
        Ok(Deletion::Pending(s.value.clone()))
    }

    /// Remove an object now (a namespace takes its contents with it).
    /// Returns its last state.
    pub fn delete(&self, kind: &Kind, ns: &str, name: &str) -> Result<Value, ApiError> {
        let mut i = self.inner.lock().unwrap();
        let key = object_key(kind, ns, name);
        let ns = key.0.clone();
        let Some(prev) = i.objects.get_mut(&kind.key()).and_then(|m| m.remove(&key)) else {
            return Err(ApiError::not_found(kind, name));
        };
        let mut obj = prev.value.clone();
        i.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(i.rv.to_string());
        let stored = Stored::new(obj.clone(), kind.custom);
        let ev = Self::event(&i, kind, &ns, "DELETED", stored, Some(prev));
        self.emit(&mut i, ev);
        if kind.kind == "Namespace" && kind.group.is_empty() {
            self.remove_contents(&mut i, name);
        }
        Ok(obj)
    }

    fn remove_contents(&self, i: &mut Inner, ns: &str) {
        let namespaced: Vec<Kind> = self
            .kinds
            .read()
            .unwrap()
            .iter()
            .filter(|k| k.namespaced)
            .cloned()
            .collect();
        for k in namespaced {
            let keys: Vec<Key> = i
                .objects
                .get(&k.key())
                .map(|m| m.keys().filter(|(n, _)| n == ns).cloned().collect())
                .unwrap_or_default();
            for key in keys {
                if let Some(prev) = i.objects.get_mut(&k.key()).and_then(|m| m.remove(&key)) {
                    let mut o = prev.value.clone();
                    i.rv += 1;
                    o["metadata"]["resourceVersion"] = json!(i.rv.to_string());
                    let ev = Self::event(
                        i,
                        &k,
                        &key.0,
                        "DELETED",
                        Stored::new(o, k.custom),
                        Some(prev),
                    );
                    self.emit(i, ev);
                }
            }
        }
    }
}

/// Two iterators sorted by key, merged in key order.
fn merge_sorted<V>(
    a: impl Iterator<Item = (Key, V)>,
    b: impl Iterator<Item = (Key, V)>,
) -> impl Iterator<Item = (Key, V)> {
    let mut a = a.peekable();
    let mut b = b.peekable();
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some((ka, _)), Some((kb, _))) => {
            if ka <= kb {
                a.next()
            } else {
                b.next()
            }
        }
        (Some(_), None) => a.next(),
        (None, Some(_)) => b.next(),
        (None, None) => None,
    })
}

/// A short random-looking suffix for generateName and pod names.
pub fn suffix(n: u64) -> String {
    const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5bd1_e995;
    (0..5)
        .map(|_| {
            let c = CHARS[(x % CHARS.len() as u64) as usize] as char;
            x /= CHARS.len() as u64;
            x ^= x.rotate_left(13);
            c
        })
        .collect()
}

/// Where an object is kept: (namespace, name), the namespace empty for a
/// cluster-scoped kind.
fn object_key(kind: &Kind, ns: &str, name: &str) -> (String, String) {
    let ns = if kind.namespaced { ns } else { "" };
    (ns.to_string(), name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crud_and_conflicts() {
        let s = Store::new();
        let by = Track::By("test");
        let cm = s.kind("", "ConfigMap").unwrap();
        let o = s
            .create(
                &cm,
                "default",
                json!({"metadata": {"name": "a"}, "data": {"k": "v"}}),
                by,
            )
            .unwrap();
        assert_eq!(o["kind"], "ConfigMap");
        assert_eq!(o["metadata"]["managedFields"][0]["manager"], "test");
        assert!(o["metadata"].get("generation").is_none());
        assert_eq!(
            s.create(&cm, "default", json!({"metadata": {"name": "a"}}), by)
                .unwrap_err()
                .code,
            409
        );
        assert_eq!(
            s.create(&cm, "nope", json!({"metadata": {"name": "a"}}), by)
                .unwrap_err()
                .code,
            404
        );
        let mut stale = o.clone();
        stale["metadata"]["resourceVersion"] = json!("1");
        assert_eq!(
            s.update(&cm, "default", "a", stale, false, by)
                .unwrap_err()
                .code,
            409
        );
        let g = s
            .create(
                &cm,
                "default",
                json!({"metadata": {"generateName": "x-"}}),
                by,
            )
            .unwrap();
        assert!(g["metadata"]["name"].as_str().unwrap().starts_with("x-"));
        let ns = s.kind("", "Namespace").unwrap();
        s.delete(&ns, "", "default").unwrap();
        assert_eq!(s.list(&cm, None).0.len(), 0);
    }

    #[test]
    fn list_items_have_no_type_and_pages_read_their_snapshot() {
        let s = Store::new();
        let by = Track::By("test");
        let cm = s.kind("", "ConfigMap").unwrap();
        for n in ["a", "b", "c"] {
            s.create(&cm, "default", json!({"metadata": {"name": n}}), by)
                .unwrap();
        }
        let p1 = s
            .list_page(&cm, Some("default"), None, 2, false, None, |_| true)
            .unwrap();
        assert!(!String::from_utf8_lossy(&p1.items[0].bare).contains("\"kind\""));
        assert!(String::from_utf8_lossy(&p1.items[0].typed()).contains("\"kind\":\"ConfigMap\""));
        assert_eq!(p1.remaining, Some(1));
        // changes after the first page are not in the next one
        s.create(&cm, "default", json!({"metadata": {"name": "bb"}}), by)
            .unwrap();
        s.delete(&cm, "default", "c").unwrap();
        let p2 = s
            .list_page(&cm, Some("default"), p1.next, 2, false, Some(p1.rv), |_| {
                true
            })
            .unwrap();
        let names: Vec<_> = p2
            .items
            .iter()
            .map(|i| i.value["metadata"]["name"].clone())
            .collect();
        assert_eq!(names, [json!("c")]);
    }

    #[test]
    fn deletion_waits_for_finalizers() {
        let s = Store::new();
        let by = Track::By("test");
        let cm = s.kind("", "ConfigMap").unwrap();
        s.create(
            &cm,
            "default",
            json!({"metadata": {"name": "f", "finalizers": ["x/y"]}}),
            by,
        )
        .unwrap();
        let d = s
            .delete_request(&cm, "default", "f", &DeleteOptions::default())
            .unwrap();
        assert!(
            matches!(d, Deletion::Pending(ref o) if o["metadata"]["deletionTimestamp"].is_string())
        );
        s.modify(&cm, "default", "f", false, "test", |o| {
            o["metadata"]["finalizers"] = json!([])
        })
        .unwrap();
        assert!(s.get(&cm, "default", "f").is_none());
    }
}
