//! The in-memory object store: any kind stored generically as JSON, one
//! global resourceVersion, a bounded event history for watches.

use crate::kinds::{self, Kind};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// How many past events a watch can resume from.
const HISTORY: usize = 50_000;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
        }
    }
    pub fn not_found(kind: &Kind, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", kind.key()),
        )
    }
    pub fn status(&self) -> Value {
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": self.message, "reason": self.reason, "code": self.code,
        })
    }
}

/// One change, as watches deliver it.
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    /// resource key (`pods`, `deployments.apps`)
    pub res: String,
    pub ns: String,
    /// ADDED, MODIFIED, DELETED
    pub etype: &'static str,
    /// the object and its JSON: every watcher sends the same bytes, as the
    /// API server's watch cache serializes an event once for all watchers
    pub object: Arc<Stored>,
}

/// A stored object and its JSON, serialized once per write so that large
/// lists are a concatenation of bytes rather than a deep copy.
#[derive(Debug)]
pub struct Stored {
    pub value: Value,
    pub json: bytes::Bytes,
}

impl Stored {
    fn new(value: Value) -> Arc<Stored> {
        let json = bytes::Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
        Arc::new(Stored { value, json })
    }
}

struct Inner {
    rv: u64,
    uid: u64,
    objects: HashMap<String, BTreeMap<(String, String), Arc<Stored>>>,
    history: VecDeque<Arc<Event>>,
    /// resourceVersions up to this one are compacted away (410 Gone)
    compacted: u64,
}

/// What [`Store::list_page`] returns.
pub struct ListPage {
    pub items: Vec<Arc<Stored>>,
    /// the last key of this page, when more objects follow
    pub next: Option<(String, String)>,
    /// how many follow (only for a list without selectors)
    pub remaining: Option<usize>,
    pub rv: u64,
}

pub struct Store {
    inner: Mutex<Inner>,
    /// the kinds served (read on every request, written when a CRD is
    /// established: not behind the objects' lock)
    kinds: std::sync::RwLock<Vec<Kind>>,
    tx: broadcast::Sender<Arc<Event>>,
}

pub fn now() -> String {
    rfc3339(std::time::SystemTime::now())
}

/// `2026-11-25T03:31:14Z`
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let s = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
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
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let k = s.kind("", "Namespace").unwrap();
            let _ = s.create(&k, "", json!({"metadata": {"name": ns}}));
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

    fn emit(&self, i: &mut Inner, res: &str, ns: &str, etype: &'static str, object: Arc<Stored>) {
        let ev = Arc::new(Event {
            rv: i.rv,
            res: res.into(),
            ns: ns.into(),
            etype,
            object,
        });
        if i.history.len() == HISTORY {
            i.history.pop_front();
        }
        i.history.push_back(ev.clone());
        let _ = self.tx.send(ev);
    }

    /// Forget the event history, as etcd compaction does: a watch from any
    /// earlier resourceVersion gets 410 Gone and must re-list.
    pub fn compact(&self) {
        let mut i = self.inner.lock().unwrap();
        i.history.clear();
        i.compacted = i.rv;
    }

    /// Events after `rv`, or Err when `rv` is older than the history kept (410 Gone).
    pub fn events_since(&self, rv: u64) -> Result<Vec<Arc<Event>>, ApiError> {
        let i = self.inner.lock().unwrap();
        if rv < i.compacted {
            return Err(ApiError::new(
                410,
                "Expired",
                format!("too old resource version: {rv} ({})", i.compacted),
            ));
        }
        if let Some(first) = i.history.front() {
            if rv + 1 < first.rv && rv < i.rv {
                return Err(ApiError::new(
                    410,
                    "Expired",
                    format!("too old resource version: {rv} ({})", first.rv - 1),
                ));
            }
        }
        Ok(i.history.iter().filter(|e| e.rv > rv).cloned().collect())
    }

    pub fn get(&self, kind: &Kind, ns: &str, name: &str) -> Option<Value> {
        let ns = if kind.namespaced { ns } else { "" };
        self.inner
            .lock()
            .unwrap()
            .objects
            .get(&kind.key())
            .and_then(|m| m.get(&(ns.to_string(), name.to_string())))
            .map(|s| s.value.clone())
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
    /// all). Also returns the key to continue from when more match, how
    /// many objects follow (without a filter; `None` with one, as the API
    /// server leaves remainingItemCount out for selectors) and the current
    /// resourceVersion. Each page costs its own length, not the whole list's.
    pub fn list_page(
        &self,
        kind: &Kind,
        ns: Option<&str>,
        after: Option<(String, String)>,
        limit: usize,
        filtered: bool,
        keep: impl Fn(&Value) -> bool,
    ) -> ListPage {
        use std::ops::Bound;
        let i = self.inner.lock().unwrap();
        let mut page = ListPage {
            items: vec![],
            next: None,
            remaining: None,
            rv: i.rv,
        };
        let Some(m) = i.objects.get(&kind.key()) else {
            return page;
        };
        let ns = ns.filter(|_| kind.namespaced);
        let start = match (after, ns) {
            (Some(k), _) => Bound::Excluded(k),
            (None, Some(ns)) => Bound::Included((ns.to_string(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        let mut it = m
            .range((start, Bound::Unbounded))
            .take_while(|((n, _), _)| ns.is_none_or(|ns| n == ns))
            .filter(|(_, v)| keep(&v.value));
        for (k, v) in it.by_ref() {
            page.items.push(v.clone());
            if limit > 0 && page.items.len() == limit {
                page.next = Some(k.clone());
                break;
            }
        }
        if page.next.is_some() {
            if filtered {
                // a continue token only when another object matches
                if it.next().is_none() {
                    page.next = None;
                }
            } else {
                let rest = it.count();
                page.remaining = Some(rest);
                if rest == 0 {
                    page.next = None;
                }
            }
        }
        page
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
    /// generation, generateName) and apiVersion/kind.
    pub fn create(&self, kind: &Kind, ns: &str, mut obj: Value) -> Result<Value, ApiError> {
        let mut i = self.inner.lock().unwrap();
        let ns = if kind.namespaced {
            ns.to_string()
        } else {
            String::new()
        };
        if kind.namespaced {
            if ns.is_empty() {
                return Err(ApiError::new(
                    400,
                    "BadRequest",
                    "the namespace of the object must be set",
                ));
            }
            let has_ns = i
                .objects
                .get("namespaces")
                .is_some_and(|m| m.contains_key(&(String::new(), ns.clone())));
            if !has_ns {
                return Err(ApiError::new(
                    404,
                    "NotFound",
                    format!("namespaces \"{ns}\" not found"),
                ));
            }
        }
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        let mut name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            match obj["metadata"]["generateName"].as_str() {
                Some(prefix) => {
                    i.uid += 1;
                    name = format!("{prefix}{}", suffix(i.uid));
                }
                None => {
                    return Err(ApiError::new(422, "Invalid", format!("{} is invalid: metadata.name: Required value: name or generateName is required", kind.kind)))
                }
            }
        }
        let key = (ns.clone(), name.clone());
        if i.objects
            .get(&kind.key())
            .is_some_and(|m| m.contains_key(&key))
        {
            return Err(ApiError::new(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", kind.key()),
            ));
        }
        i.rv += 1;
        i.uid += 1;
        let rv = i.rv;
        let uid = format!("00000000-0000-4000-8000-{:012x}", i.uid);
        obj["apiVersion"] = json!(kind.api_version());
        obj["kind"] = json!(kind.kind);
        let md = obj["metadata"].as_object_mut().unwrap();
        md.insert("name".into(), json!(name));
        if kind.namespaced {
            md.insert("namespace".into(), json!(ns));
        } else {
            md.remove("namespace");
        }
        md.insert("uid".into(), json!(uid));
        md.insert("resourceVersion".into(), json!(rv.to_string()));
        md.insert("creationTimestamp".into(), json!(now()));
        md.remove("deletionTimestamp");
        if obj.get("spec").is_some() {
            obj["metadata"]["generation"] = json!(1);
        }
        if kind.kind == "Namespace" {
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
        }
        let stored = Stored::new(obj.clone());
        i.objects
            .entry(kind.key())
            .or_default()
            .insert(key, stored.clone());
        self.emit(&mut i, &kind.key(), &ns, "ADDED", stored);
        Ok(obj)
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
    ) -> Result<Value, ApiError> {
        self.write(kind, ns, name, obj, status_only)
            .map(|s| s.value.clone())
    }

    /// [`Store::update`], returning the stored object (no copy).
    fn write(
        &self,
        kind: &Kind,
        ns: &str,
        name: &str,
        mut obj: Value,
        status_only: bool,
    ) -> Result<Arc<Stored>, ApiError> {
        let mut i = self.inner.lock().unwrap();
        let ns = if kind.namespaced {
            ns.to_string()
        } else {
            String::new()
        };
        let key = (ns.clone(), name.to_string());
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
                return Err(ApiError::new(409, "Conflict", format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                    kind.key()
                )));
            }
        }
        let new = if status_only {
            let mut n = old.clone();
            n["status"] = obj["status"].take();
            n
        } else {
            if kind.status {
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
            for f in [
                "uid",
                "creationTimestamp",
                "namespace",
                "generation",
                "deletionTimestamp",
            ] {
                match old["metadata"].get(f) {
                    Some(v) => obj["metadata"][f] = v.clone(),
                    None => {
                        if let Some(m) = obj["metadata"].as_object_mut() {
                            m.remove(f);
                        }
                    }
                }
            }
            obj["metadata"]["name"] = json!(name);
            obj["apiVersion"] = json!(kind.api_version());
            obj["kind"] = json!(kind.kind);
            if obj.get("spec") != old.get("spec") && obj.get("spec").is_some() {
                let g = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
                obj["metadata"]["generation"] = json!(g);
            }
            obj
        };
        if new == *old {
            return Ok(old_stored);
        }
        let mut new = new;
        i.rv += 1;
        new["metadata"]["resourceVersion"] = json!(i.rv.to_string());
        let stored = Stored::new(new);
        i.objects
            .entry(kind.key())
            .or_default()
            .insert(key, stored.clone());
        self.emit(&mut i, &kind.key(), &ns, "MODIFIED", stored.clone());
        Ok(stored)
    }

    /// Read-modify-write under one lock-free retry loop (controllers use this).
    pub fn modify(
        &self,
        kind: &Kind,
        ns: &str,
        name: &str,
        status_only: bool,
        f: impl Fn(&mut Value),
    ) -> Result<Arc<Stored>, ApiError> {
        loop {
            let Some(mut obj) = self.get(kind, ns, name) else {
                return Err(ApiError::not_found(kind, name));
            };
            f(&mut obj);
            match self.write(kind, ns, name, obj, status_only) {
                Err(e) if e.code == 409 => continue,
                r => return r,
            }
        }
    }

    /// Delete an object (a namespace takes its contents with it). Returns the object.
    pub fn delete(&self, kind: &Kind, ns: &str, name: &str) -> Result<Value, ApiError> {
        let mut i = self.inner.lock().unwrap();
        let ns = if kind.namespaced {
            ns.to_string()
        } else {
            String::new()
        };
        let key = (ns.clone(), name.to_string());
        let Some(obj) = i.objects.get_mut(&kind.key()).and_then(|m| m.remove(&key)) else {
            return Err(ApiError::not_found(kind, name));
        };
        let mut obj = obj.value.clone();
        i.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(i.rv.to_string());
        self.emit(
            &mut i,
            &kind.key(),
            &ns,
            "DELETED",
            Stored::new(obj.clone()),
        );
        if kind.kind == "Namespace" {
            let namespaced: Vec<String> = self
                .kinds
                .read()
                .unwrap()
                .iter()
                .filter(|k| k.namespaced)
                .map(|k| k.key())
                .collect();
            for res in namespaced {
                let keys: Vec<(String, String)> = i
                    .objects
                    .get(&res)
                    .map(|m| m.keys().filter(|(n, _)| n == name).cloned().collect())
                    .unwrap_or_default();
                for k in keys {
                    if let Some(o) = i.objects.get_mut(&res).and_then(|m| m.remove(&k)) {
                        let mut o = o.value.clone();
                        i.rv += 1;
                        o["metadata"]["resourceVersion"] = json!(i.rv.to_string());
                        self.emit(&mut i, &res, &k.0, "DELETED", Stored::new(o));
                    }
                }
            }
        }
        Ok(obj)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crud_and_conflicts() {
        let s = Store::new();
        let cm = s.kind("", "ConfigMap").unwrap();
        let o = s
            .create(
                &cm,
                "default",
                json!({"metadata": {"name": "a"}, "data": {"k": "v"}}),
            )
            .unwrap();
        assert_eq!(o["kind"], "ConfigMap");
        assert!(
            s.create(&cm, "default", json!({"metadata": {"name": "a"}}))
                .unwrap_err()
                .code
                == 409
        );
        assert!(
            s.create(&cm, "nope", json!({"metadata": {"name": "a"}}))
                .unwrap_err()
                .code
                == 404
        );
        let mut stale = o.clone();
        stale["metadata"]["resourceVersion"] = json!("1");
        assert_eq!(
            s.update(&cm, "default", "a", stale, false)
                .unwrap_err()
                .code,
            409
        );
        let g = s
            .create(&cm, "default", json!({"metadata": {"generateName": "x-"}}))
            .unwrap();
        assert!(g["metadata"]["name"].as_str().unwrap().starts_with("x-"));
        let ns = s.kind("", "Namespace").unwrap();
        s.delete(&ns, "", "default").unwrap();
        assert_eq!(s.list(&cm, None).0.len(), 0);
    }
}
