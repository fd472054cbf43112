//! Load at a rate (`create_objects`): many objects created with a
//! client-side rate limit and a bound on requests in flight, 429s retried
//! (within a budget) and counted, every object labelled with the run and
//! the load, and the whole load waited for, churned and deleted as one.
//! A load takes nothing that is not its own: an object or namespace of
//! that name made by anyone else is an error, never adopted.

use super::discovery::Resource;
use super::http;
use super::labels::RUN_ID;
use super::ratelimit::RateLimit;
use delivery::Timing;
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub mod churn;
pub mod delivery;
pub mod items;
pub mod ready;

/// The label that names one `create_objects` load.
pub const LOAD_ID: &str = "scaffold.load/id";

/// One object to create.
#[derive(Clone, Debug)]
pub struct Item {
    pub res: Resource,
    pub ns: String,
    pub name: String,
    pub body: Value,
}

/// How fast to create.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub qps: f64,
    pub burst: u32,
    pub concurrency: usize,
}

/// A load: what it asked for, what was created, and the counts.
pub struct Load {
    pub id: String,
    pub client: kube::Client,
    pub items: Vec<Item>,
    /// indices into `items` that exist now
    pub created: Mutex<HashSet<usize>>,
    pub failed: AtomicU64,
    pub throttled: AtomicU64,
    /// milliseconds spent waiting out 429s (summed over requests)
    pub throttled_ms: AtomicU64,
    /// how long one object's create may be throttled (429) before it fails
    pub timeout: Duration,
    /// the first few errors, for messages
    pub errors: Mutex<Vec<String>>,
    /// namespaces the load spreads over
    pub namespaces: Vec<String>,
    /// those of `namespaces` this load made (deleted whole with it); the
    /// others are another load's of this run (their objects of this load
    /// are deleted by label, the namespace is left to its maker) or were
    /// never made (an error stopped the load)
    made: Mutex<Vec<String>>,
    pub keep: bool,
    /// seconds the creation took
    pub duration: Mutex<f64>,
    /// the creation's offered against achieved load
    pub delivery: Mutex<delivery::Delivery>,
    /// deleted as a whole (nothing left for the end of the run)
    pub deleted: std::sync::atomic::AtomicBool,
}

/// The labels of every object of a load: the run's, and the load's id.
pub fn labels(run_id: &str, load_id: &str) -> Value {
    let mut l = super::labels::labels(run_id);
    l[LOAD_ID] = json!(load_id);
    l
}

impl Load {
    pub fn new(
        client: kube::Client,
        id: String,
        items: Vec<Item>,
        namespaces: Vec<String>,
        keep: bool,
    ) -> Load {
        Load {
            id,
            client,
            items,
            created: Mutex::new(HashSet::new()),
            failed: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            throttled_ms: AtomicU64::new(0),
            timeout: Duration::from_secs(300),
            errors: Mutex::new(vec![]),
            namespaces,
            made: Mutex::new(vec![]),
            keep,
            duration: Mutex::new(0.0),
            delivery: Default::default(),
            deleted: Default::default(),
        }
    }

    pub fn created_count(&self) -> usize {
        self.created.lock().unwrap().len()
    }

    fn note_error(&self, e: String) {
        let mut errs = self.errors.lock().unwrap();
        if errs.len() < 5 {
            errs.push(e);
        }
    }

    /// Create the namespaces the load spreads over (labelled like the
    /// load, so `scaffold cleanup` finds them). One that exists already is
    /// used only when it carries this run's label; one being deleted is
    /// waited for (up to the load's timeout) and made again; anyone
    /// else's is an error that says what to do.
    pub async fn make_namespaces(&self, run_id: &str) -> Result<(), String> {
        for ns in &self.namespaces {
            self.make_namespace(run_id, ns).await?;
        }
        Ok(())
    }

    async fn make_namespace(&self, run_id: &str, ns: &str) -> Result<(), String> {
        let body = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": labels(run_id, &self.id)}});
        let path = format!("/api/v1/namespaces/{}", http::urlencode(ns));
        let deadline = Instant::now() + self.timeout;
        loop {
            let r = http::request(
                &self.client,
                "POST",
                "/api/v1/namespaces",
                Some("application/json"),
                serde_json::to_vec(&body).unwrap_or_default(),
                true,
            )
            .await;
            match r {
                Ok(_) => {
                    self.made.lock().unwrap().push(ns.to_string());
                    return Ok(());
                }
                Err(e) if e.code() == Some(409) => {}
                Err(e) => return Err(format!("cannot create namespace {ns}: {e}")),
            }
            let o = match http::get_json(&self.client, &path).await {
                Ok(o) => o,
                // deleted between the POST and the GET: make it again
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(format!("cannot check namespace {ns}: {e}")),
            };
            let labels = &o["metadata"]["labels"];
            if o["metadata"]["deletionTimestamp"].is_string() {
                let left = deadline.saturating_duration_since(Instant::now());
                super::watch::wait_gone(&self.client, &path, left)
                    .await
                    .map_err(|e| {
                        format!(
                            "namespace {ns} is being deleted and did not go within {} s ({e}); \
                             wait for it (kubectl get namespace {ns}) or pick another namespace_prefix",
                            self.timeout.as_secs()
                        )
                    })?;
                continue;
            }
            if labels[RUN_ID] != run_id {
                let whose = match labels[RUN_ID].as_str() {
                    Some(r) => format!("scaffold run {r}'s"),
                    None => "not made by scaffold".into(),
                };
                return Err(format!(
                    "namespace {ns} already exists ({whose}) and a load never takes what \
                     is not this run's: pick another namespace_prefix, or delete it \
                     (kubectl delete namespace {ns}) if it is a leftover"
                ));
            }
            if labels[LOAD_ID] == self.id.as_str() {
                // made by this load's own POST whose answer was lost
                self.made.lock().unwrap().push(ns.to_string());
            }
            return Ok(());
        }
    }

    /// The namespaces this load made (deleted whole with it).
    fn made_namespaces(&self) -> Vec<String> {
        self.made.lock().unwrap().clone()
    }

    /// Create the objects `which` (indices into items) at `rate`: each
    /// request's intended, sent and answered time (delivery.rs), seconds
    /// after the start.
    pub async fn create(&self, which: &[usize], rate: Rate) -> Vec<Timing> {
        let limit = RateLimit::new(rate.qps, rate.burst);
        let start = Instant::now();
        if !delivery::timings_on() {
            self.create_untimed(which, &limit, rate).await;
            *self.duration.lock().unwrap() = start.elapsed().as_secs_f64();
            return vec![];
        }
        let since = |t: Instant| t.duration_since(start).as_secs_f32();
        let mut timings: Vec<Timing> = (0..which.len())
            .map(|k| Timing {
                intended: delivery::slot(k, rate.qps, rate.burst) as f32,
                ..Default::default()
            })
            .collect();
        let done: Vec<(usize, f32, f32)> = futures::stream::iter(which.iter().copied().enumerate())
            .map(|(k, i)| {
                let limit = &limit;
                async move {
                    limit.acquire().await;
                    let sent = self.create_one(i).await;
                    (k, since(sent), since(Instant::now()))
                }
            })
            .buffer_unordered(rate.concurrency.max(1))
            .collect()
            .await;
        for (k, sent, answered) in done {
            timings[k].sent = Some(sent);
            timings[k].answered = Some(answered);
        }
        *self.duration.lock().unwrap() = start.elapsed().as_secs_f64();
        timings
    }

    /// POST one object. A 429 (the server did not process it) is waited
    /// out and retried for up to the load's timeout; transient 5xx and
    /// lost connections within the retry budget. A 409 is success only
    /// after such a failure (the lost attempt may have created it) and
    /// only when the object there carries this load's label; anything
    /// else counts as failed.
    /// `create` without the bookkeeping (`SCAFFOLD_LOAD_TIMINGS=off`).
    async fn create_untimed(&self, which: &[usize], limit: &RateLimit, rate: Rate) {
        futures::stream::iter(which.iter().copied())
            .map(|i| async move {
                limit.acquire().await;
                self.create_one(i).await;
            })
            .buffer_unordered(rate.concurrency.max(1))
            .for_each(|_| async {})
            .await;
    }

    /// When its first attempt went out.
    async fn create_one(&self, i: usize) -> Instant {
        let it = &self.items[i];
        let path = it.res.collection(Some(&it.ns));
        let body = serde_json::to_vec(&it.body).unwrap_or_default();
        let start = Instant::now();
        self.create_tries(i, &path, body).await;
        start
    }

    async fn create_tries(&self, i: usize, path: &str, body: Vec<u8>) {
        let start = Instant::now();
        let mut attempt = 0u32;
        // an earlier attempt may have created the object unheard
        let mut maybe_done = false;
        loop {
            attempt += 1;
            let r = http::send_once(
                &self.client,
                "POST",
                path,
                Some("application/json"),
                body.clone(),
            )
            .await;
            let delay = match r {
                Ok((code, _, _)) if code < 300 => return self.made(i),
                Ok((409, _, _)) if maybe_done && self.exists(i).await => return self.made(i),
                Ok((409, _, b)) => {
                    let e = http::api_error(409, &b);
                    return self.fail(
                        i,
                        format!("{e} (not made by this load: it is left alone; delete it or change the template's names)"),
                    );
                }
                Ok((429, ra, _)) => {
                    self.throttled.fetch_add(1, Ordering::Relaxed);
                    if start.elapsed() > self.timeout {
                        return self.fail(
                            i,
                            format!(
                                "still throttled (429) after {} s (the load's timeout)",
                                self.timeout.as_secs()
                            ),
                        );
                    }
                    let d = ra
                        .map(Duration::from_secs)
                        .unwrap_or(Duration::from_secs(1))
                        .min(Duration::from_secs(5));
                    self.throttled_ms
                        .fetch_add(d.as_millis() as u64, Ordering::Relaxed);
                    d
                }
                Ok((code, _, b)) if code >= 500 => {
                    maybe_done = true;
                    if start.elapsed() > http::retry_budget() {
                        return self.fail(i, http::api_error(code, &b).to_string());
                    }
                    Duration::from_millis(100 << attempt.min(4))
                }
                Ok((code, _, b)) => return self.fail(i, http::api_error(code, &b).to_string()),
                Err(e) => {
                    maybe_done = true;
                    if start.elapsed() > http::retry_budget() {
                        return self.fail(i, e.to_string());
                    }
                    Duration::from_millis(200 << attempt.min(3))
                }
            };
            tokio::time::sleep(delay.min(Duration::from_secs(5))).await;
        }
    }

    fn made(&self, i: usize) {
        self.created.lock().unwrap().insert(i);
    }

    fn fail(&self, i: usize, why: String) {
        let it = &self.items[i];
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.note_error(format!("{} {}/{}: {why}", it.res.kind, it.ns, it.name));
    }

    /// Whether object `i` exists and is this load's (carries its label).
    async fn exists(&self, i: usize) -> bool {
        let it = &self.items[i];
        match it.res.item(&it.ns, &it.name) {
            Ok(p) => http::get_json(&self.client, &p)
                .await
                .is_ok_and(|o| o["metadata"]["labels"][LOAD_ID] == self.id.as_str()),
            Err(_) => false,
        }
    }

    /// The collections the load's objects are in: (resource, namespace).
    fn collections(&self, only_created: bool) -> BTreeMap<(String, String), Resource> {
        let created = self.created.lock().unwrap().clone();
        let mut out = BTreeMap::new();
        for (i, it) in self.items.iter().enumerate() {
            if only_created && !created.contains(&i) {
                continue;
            }
            let ns = if it.res.namespaced {
                it.ns.clone()
            } else {
                String::new()
            };
            out.entry((it.res.collection(Some(&ns)), ns))
                .or_insert_with(|| it.res.clone());
        }
        out
    }

    fn selector(&self) -> String {
        format!(
            "labelSelector={}",
            http::urlencode(&format!("{LOAD_ID}={}", self.id))
        )
    }

    /// Delete the objects `which` one by one (background propagation);
    /// with `wait`, until they are gone. Deleted objects leave `created`.
    pub async fn delete_items(
        &self,
        which: &[usize],
        rate: Rate,
        wait: Option<Duration>,
    ) -> Vec<String> {
        let limit = RateLimit::new(rate.qps, rate.burst);
        let left = Mutex::new(vec![]);
        futures::stream::iter(which.iter().copied())
            .map(|i| {
                let (limit, left) = (&limit, &left);
                async move {
                    limit.acquire().await;
                    let it = &self.items[i];
                    let Ok(path) = it.res.item(&it.ns, &it.name) else {
                        return;
                    };
                    let r = super::objects::delete_path(
                        &self.client,
                        &path,
                        super::objects::Propagation::Background,
                    )
                    .await;
                    match r {
                        Ok(_) => {}
                        Err(e) if e.is_not_found() => {}
                        Err(e) => {
                            left.lock()
                                .unwrap()
                                .push(format!("{} {}/{}: {e}", it.res.kind, it.ns, it.name));
                            return;
                        }
                    }
                    if let Some(t) = wait {
                        if let Err(e) = super::watch::wait_gone(&self.client, &path, t).await {
                            left.lock()
                                .unwrap()
                                .push(format!("{} {}/{}: {e}", it.res.kind, it.ns, it.name));
                            return;
                        }
                    }
                    self.created.lock().unwrap().remove(&i);
                }
            })
            .buffer_unordered(rate.concurrency.max(1))
            .for_each(|_| async {})
            .await;
        left.into_inner().unwrap()
    }

    /// Delete the whole load: its namespaces when it made them, else every
    /// object by its label (a deletecollection per collection). With
    /// `wait`, until everything is gone. What could not be deleted.
    pub async fn delete_all(&self, wait: Option<Duration>) -> Vec<String> {
        let mut left = vec![];
        let made = self.made_namespaces();
        for ns in &made {
            let path = format!("/api/v1/namespaces/{}", http::urlencode(ns));
            match super::objects::delete_path(
                &self.client,
                &path,
                super::objects::Propagation::Background,
            )
            .await
            {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => left.push(format!("namespace {ns}: {e}")),
            }
        }
        // objects outside the namespaces it made (or all, without them)
        for ((path, ns), _) in self.collections(false) {
            if made.contains(&ns) {
                continue;
            }
            let q = format!("{path}?{}&propagationPolicy=Background", self.selector());
            match http::request(&self.client, "DELETE", &q, None, vec![], true).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => left.push(format!("{path} ({LOAD_ID}={}): {e}", self.id)),
            }
        }
        if let Some(t) = wait {
            let deadline = Instant::now() + t;
            for (path, _) in self.collections(false).into_keys() {
                loop {
                    let gone = match http::list_all(&self.client, &path, &self.selector()).await {
                        Ok((items, _)) => items.is_empty(),
                        Err(e) => e.is_not_found(),
                    };
                    if gone {
                        break;
                    }
                    if Instant::now() > deadline {
                        left.push(format!("{path}: still there after {} s", t.as_secs()));
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            for ns in &made {
                let path = format!("/api/v1/namespaces/{}", http::urlencode(ns));
                if let Err(e) = super::watch::wait_gone(
                    &self.client,
                    &path,
                    deadline.saturating_duration_since(Instant::now()),
                )
                .await
                {
                    left.push(format!("namespace {ns}: {e}"));
                }
            }
        }
        self.created.lock().unwrap().clear();
        if left.is_empty() {
            self.deleted.store(true, Ordering::SeqCst);
        }
        left
    }
}
