//! Fault injection, switchable at run time from a test.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::broadcast;

pub struct Faults {
    /// answer the next N requests with 429
    throttle_next: AtomicU64,
    /// answer the next N requests with 500
    error_next: AtomicU64,
    /// carry out the next N POSTs but answer them with 504 Timeout
    lose_next_creates: AtomicU64,
    /// answer every POST with 429 (an API server shedding writes)
    throttle_creates: std::sync::atomic::AtomicBool,
    /// a validating webhook that cannot be reached yet: (kind, webhook
    /// name, service, until)
    webhook_down: Mutex<Option<(String, String, String, std::time::Instant)>>,
    /// latency added to every response (ms)
    latency_ms: AtomicU64,
    /// answers held back after the work was done (ms)
    response_delay_ms: AtomicU64,
    /// `/readyz` fails (the check name)
    readyz_failing: Mutex<Option<String>>,
    /// tell open watches / streams to drop
    drop_watches: broadcast::Sender<()>,
    drop_streams: broadcast::Sender<()>,
    /// the next N watches get an ERROR event with this Status code (code, n)
    watch_error: Mutex<(u16, u64)>,
    /// the token may only touch these namespaces (namespace-scoped RBAC)
    rbac_namespaces: Mutex<Option<Vec<String>>>,
    /// open and new watches send nothing (a half-open connection)
    stall_watches: tokio::sync::watch::Sender<bool>,
    /// how long the provisioner takes to bind a new claim (ms)
    pvc_bind_delay_ms: AtomicU64,
    /// verbs the token lacks (`attach`, `exec`...), answered with 403
    denied_verbs: Mutex<Vec<String>>,
    /// `/metrics` answers 403
    metrics_denied: std::sync::atomic::AtomicBool,
    /// how long scheduling each new pod takes (ms)
    schedule_delay_ms: AtomicU64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            throttle_next: AtomicU64::new(0),
            error_next: AtomicU64::new(0),
            lose_next_creates: AtomicU64::new(0),
            throttle_creates: Default::default(),
            webhook_down: Mutex::new(None),
            latency_ms: AtomicU64::new(0),
            response_delay_ms: AtomicU64::new(0),
            readyz_failing: Mutex::new(None),
            drop_watches: broadcast::channel(16).0,
            drop_streams: broadcast::channel(16).0,
            watch_error: Mutex::new((0, 0)),
            rbac_namespaces: Mutex::new(None),
            stall_watches: tokio::sync::watch::channel(false).0,
            denied_verbs: Mutex::new(vec![]),
            metrics_denied: Default::default(),
            schedule_delay_ms: AtomicU64::new(0),
            pvc_bind_delay_ms: AtomicU64::new(0),
        }
    }
}

/// What the request handler should do before serving.
pub enum Injected {
    None,
    Throttle,
    Error,
}

impl Faults {
    /// Answer the next `n` requests with 429 Too Many Requests (Retry-After: 1).
    pub fn throttle_next(&self, n: u64) {
        self.throttle_next.store(n, Ordering::SeqCst);
    }
    /// Answer the next `n` requests with 500.
    pub fn fail_next(&self, n: u64) {
        self.error_next.store(n, Ordering::SeqCst);
    }
    /// Carry out the next `n` POSTs but answer each with 504 Timeout, as
    /// an API server does when its storage answers after the request's
    /// deadline: the object exists although the client was told otherwise.
    pub fn lose_next_creates(&self, n: u64) {
        self.lose_next_creates.store(n, Ordering::SeqCst);
    }
    /// Answer every POST with 429 Too Many Requests (Retry-After: 1) while
    /// on, as an overloaded API server shedding writes; reads go through.
    pub fn throttle_creates(&self, on: bool) {
        self.throttle_creates.store(on, Ordering::SeqCst);
    }
    /// For `d` from now, writes (create, update, patch) of `kind` fail the
    /// way the API server fails them while a validating webhook's service
    /// has no ready endpoint yet (a freshly installed MetalLB): 500
    /// InternalError "failed calling webhook ...: connect: connection
    /// refused" (metallb#1540, #1597, #2486).
    pub fn webhook_down_for(&self, kind: &str, webhook: &str, service: &str, d: Duration) {
        *self.webhook_down.lock().unwrap() = Some((
            kind.to_string(),
            webhook.to_string(),
            service.to_string(),
            std::time::Instant::now() + d,
        ));
    }
    pub(crate) fn webhook_refuses(
        &self,
        kind: &crate::kinds::Kind,
        verb: &str,
    ) -> Option<crate::errors::ApiError> {
        let w = self.webhook_down.lock().unwrap();
        let (k, hook, svc, until) = w.as_ref()?;
        if *k != kind.kind
            || !matches!(verb, "create" | "update" | "patch")
            || std::time::Instant::now() >= *until
        {
            return None;
        }
        Some(crate::errors::ApiError::new(
            500,
            "InternalError",
            format!(
                "Internal error occurred: failed calling webhook \"{hook}\": failed to call webhook: Post \"https://{svc}:443/validate-{}-{}-{}?timeout=10s\": dial tcp 10.96.0.99:443: connect: connection refused",
                kind.group.replace('.', "-"),
                kind.version,
                kind.kind.to_lowercase()
            ),
        ))
    }
    /// Whether this POST's answer is to be lost (counts it down).
    pub(crate) fn take_lost_create(&self) -> bool {
        self.lose_next_creates
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
            .is_ok()
    }
    /// Add latency to every response.
    pub fn set_latency(&self, d: Duration) {
        self.latency_ms
            .store(d.as_millis() as u64, Ordering::SeqCst);
    }
    /// Do each request's work at once but hold its answer back for `d`
    /// (a create that happens although the client never hears of it).
    pub fn set_response_delay(&self, d: Duration) {
        self.response_delay_ms
            .store(d.as_millis() as u64, Ordering::SeqCst);
    }
    pub fn response_delay(&self) -> Duration {
        Duration::from_millis(self.response_delay_ms.load(Ordering::SeqCst))
    }
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::SeqCst))
    }
    /// How long the scheduler takes to bind each new pod.
    pub fn set_schedule_delay(&self, d: Duration) {
        self.schedule_delay_ms
            .store(d.as_millis() as u64, Ordering::SeqCst);
    }
    pub fn schedule_delay(&self) -> Duration {
        Duration::from_millis(self.schedule_delay_ms.load(Ordering::SeqCst))
    }
    /// Answer `/metrics` with 403, like a user without the nonResourceURL.
    pub fn deny_metrics(&self, on: bool) {
        self.metrics_denied.store(on, Ordering::SeqCst);
    }
    pub fn denies_metrics(&self) -> bool {
        self.metrics_denied.load(Ordering::SeqCst)
    }
    /// Make one `/readyz` check fail (`None` heals it).
    pub fn set_readyz_failing(&self, check: Option<&str>) {
        *self.readyz_failing.lock().unwrap() = check.map(str::to_string);
    }
    pub fn readyz_failing(&self) -> Option<String> {
        self.readyz_failing.lock().unwrap().clone()
    }
    /// End every open watch now (clients must resume).
    pub fn drop_watches(&self) {
        let _ = self.drop_watches.send(());
    }
    /// Close every open exec, attach and port-forward stream now.
    pub fn drop_streams(&self) {
        let _ = self.drop_streams.send(());
    }
    /// The next `n` watches answer 200 and then one ERROR event carrying a
    /// Status with `code` (as the API server reports 410 Gone, 403 or 500
    /// inside a watch), then end.
    pub fn watch_error_next(&self, code: u16, n: u64) {
        *self.watch_error.lock().unwrap() = (code, n);
    }
    pub(crate) fn take_watch_error(&self) -> Option<u16> {
        let mut w = self.watch_error.lock().unwrap();
        if w.1 == 0 {
            return None;
        }
        w.1 -= 1;
        Some(w.0)
    }
    /// Open and new watches go silent: no events, no bookmarks, the
    /// connection kept open (a half-open connection); `false` heals it.
    pub fn stall_watches(&self, on: bool) {
        self.stall_watches.send_replace(on);
    }
    pub fn watches_stalled(&self) -> bool {
        *self.stall_watches.borrow()
    }
    pub(crate) fn stall_receiver(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stall_watches.subscribe()
    }
    /// Act like a token with namespace-scoped RBAC (a RoleBinding in each
    /// of `namespaces`): requests outside them, cluster-wide requests for
    /// namespaced kinds, and any request for cluster-scoped kinds (nodes)
    /// get 403 worded like the real authorizer's. `None` lifts it.
    pub fn restrict_to_namespaces(&self, namespaces: Option<&[&str]>) {
        *self.rbac_namespaces.lock().unwrap() =
            namespaces.map(|n| n.iter().map(|s| s.to_string()).collect());
    }
    /// Bind new claims only after `d`, like a real provisioner (a second
    /// or two): until then pods using them are Unschedulable with "pod has
    /// unbound immediate PersistentVolumeClaims".
    pub fn set_pvc_bind_delay(&self, d: Duration) {
        self.pvc_bind_delay_ms
            .store(d.as_millis() as u64, Ordering::SeqCst);
    }
    pub fn pvc_bind_delay(&self) -> Duration {
        Duration::from_millis(self.pvc_bind_delay_ms.load(Ordering::SeqCst))
    }
    /// Act like a token without these verbs (subresources such as
    /// `attach`, `exec`, `portforward`, `log`, or `create`, `delete`...):
    /// 403 worded like the real authorizer's. An empty list lifts it.
    pub fn deny_verbs(&self, verbs: &[&str]) {
        *self.denied_verbs.lock().unwrap() = verbs.iter().map(|s| s.to_string()).collect();
    }
    pub(crate) fn rbac_denies(
        &self,
        kind: &crate::kinds::Kind,
        ns: Option<&str>,
        verb: &str,
    ) -> Option<crate::errors::ApiError> {
        if self.denied_verbs.lock().unwrap().iter().any(|v| v == verb) {
            let (res, v) = match verb {
                "attach" | "exec" | "portforward" => (format!("{}/{verb}", kind.plural), "create"),
                "log" => (format!("{}/log", kind.plural), "get"),
                _ => (kind.plural.clone(), verb),
            };
            return Some(crate::errors::ApiError::new(
                403,
                "Forbidden",
                format!(
                    "{res} is forbidden: User \"scaffold-test\" cannot {v} resource \"{res}\" in API group \"{}\" in the namespace \"{}\"",
                    kind.group,
                    ns.unwrap_or("")
                ),
            ));
        }
        let allowed = self.rbac_namespaces.lock().unwrap().clone()?;
        let ok = kind.namespaced && ns.is_some_and(|n| allowed.iter().any(|a| a == n));
        if ok {
            return None;
        }
        let verb = match verb {
            "watch" | "list" | "get" | "create" | "update" | "patch" | "delete"
            | "deletecollection" => verb,
            _ => "get",
        };
        let scope = match ns {
            Some(n) if kind.namespaced => format!("in the namespace \"{n}\""),
            _ => "at the cluster scope".into(),
        };
        Some(crate::errors::ApiError::new(
            403,
            "Forbidden",
            format!(
                "{} is forbidden: User \"system:serviceaccount:bench:limited\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
                kind.plural, kind.plural, kind.group
            ),
        ))
    }
    pub(crate) fn watch_dropper(&self) -> broadcast::Receiver<()> {
        self.drop_watches.subscribe()
    }
    pub(crate) fn stream_dropper(&self) -> broadcast::Receiver<()> {
        self.drop_streams.subscribe()
    }

    pub(crate) fn take(&self, post: bool) -> Injected {
        if post && self.throttle_creates.load(Ordering::SeqCst) {
            return Injected::Throttle;
        }
        let dec = |a: &AtomicU64| {
            a.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
                .is_ok()
        };
        if dec(&self.throttle_next) {
            Injected::Throttle
        } else if dec(&self.error_next) {
            Injected::Error
        } else {
            Injected::None
        }
    }
}
