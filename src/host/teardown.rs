//! The registry of what a run started and must not outlive it (background
//! processes, port-forwards, node sessions, loads), and the two ways it is
//! torn down: in order at the end of the run, and in a hurry on the second
//! Ctrl-C.

use super::run::Run;
use crate::k8s::client::Cluster;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Something a run started that must not outlive it.
#[derive(Clone)]
pub enum Owned {
    Process(Arc<crate::shell::background::BgProcess>),
    Forward(Arc<crate::k8s::portforward::Forward>),
    Session(Arc<crate::k8s::session::Session>),
    /// objects of `create_objects`, deleted unless kept
    Load(Arc<crate::k8s::load::Load>),
}

impl Owned {
    fn same(&self, other: &Owned) -> bool {
        match (self, other) {
            (Owned::Process(a), Owned::Process(b)) => Arc::ptr_eq(a, b),
            (Owned::Forward(a), Owned::Forward(b)) => Arc::ptr_eq(a, b),
            (Owned::Session(a), Owned::Session(b)) => Arc::ptr_eq(a, b),
            (Owned::Load(a), Owned::Load(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Tear-down order: processes first (they may use forwards), then
    /// forwards, then loads and sessions (objects on the cluster).
    fn rank(&self) -> u8 {
        match self {
            Owned::Process(_) => 0,
            Owned::Forward(_) => 1,
            Owned::Load(_) => 2,
            Owned::Session(_) => 3,
        }
    }
}

#[derive(Default)]
pub struct Teardown {
    /// what the run started, in the order it was started
    owned: Mutex<Vec<Owned>>,
    /// namespaces where this run created objects of its own (ron, sessions)
    namespaces_used: Mutex<BTreeSet<String>>,
    /// node sessions opened so far (numbers their pods)
    sessions: AtomicU32,
    /// create_objects loads started so far (numbers their ids)
    loads: AtomicU32,
}

impl Teardown {
    pub fn own(&self, o: Owned) {
        self.owned.lock().unwrap().push(o);
    }

    pub fn disown(&self, o: &Owned) {
        self.owned.lock().unwrap().retain(|x| !x.same(o));
    }

    /// The number of the next `create_objects` load (1, 2, ...).
    pub fn next_load(&self) -> u32 {
        self.loads.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The number of the next node session (1, 2, ...).
    pub fn next_session(&self) -> u32 {
        self.sessions.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub fn uses_namespace(&self, ns: &str) {
        self.namespaces_used.lock().unwrap().insert(ns.to_string());
    }

    /// Tear down everything the run started, in order, whatever was
    /// interrupted: kill background processes (and wait for them), stop
    /// port-forwards, delete loads, close node sessions. Shielded from
    /// Ctrl-C. Returns what could not be removed.
    pub fn run(&self, run: &Run) -> Vec<String> {
        // kept in the registry until done: a second Ctrl-C meanwhile
        // (the emergency path) still sees the loads
        let mut owned: Vec<Owned> = self.owned.lock().unwrap().clone();
        owned.sort_by_key(|o| o.rank());
        let mut left = vec![];
        run.interrupt().shielded(|| {
            for o in &owned {
                if let Owned::Process(p) = o {
                    p.kill();
                }
            }
            for o in &owned {
                match o {
                    Owned::Process(p) => {
                        let _ = run.rt().block_on(p.wait());
                    }
                    Owned::Forward(f) => f.stop.cancel(),
                    Owned::Session(s) => left.extend(run.rt().block_on(s.close())),
                    Owned::Load(l) if !l.keep => left.extend(delete_load(run, l)),
                    Owned::Load(_) => {}
                }
                self.disown(o);
            }
        });
        left
    }

    /// The second Ctrl-C: no orderly teardown, but no leftovers either:
    /// kill every process group this process started; delete every load
    /// not kept (its objects of every kind by the load's label, the
    /// namespaces it made) and the pods, ConfigMaps and PVCs of ron and
    /// node sessions (this run's label) in the namespaces it used; a few
    /// seconds at most.
    pub async fn emergency(&self, run_id: &str, cluster: Option<Cluster>) {
        crate::signals::kill_all_groups();
        let Some(c) = cluster else {
            return;
        };
        let namespaces: Vec<String> = self
            .namespaces_used
            .lock()
            .unwrap()
            .iter()
            .cloned()
            .collect();
        // a kept load's objects carry the run's label too: not these
        let sel = crate::k8s::http::urlencode(&format!(
            "{}={run_id},!{}",
            crate::k8s::labels::RUN_ID,
            crate::k8s::load::LOAD_ID
        ));
        let ron = namespaces.iter().flat_map(|ns| {
            ["pods", "configmaps", "persistentvolumeclaims"].map(|kind| {
                let path = format!(
                    "/api/v1/namespaces/{}/{kind}?labelSelector={sel}&gracePeriodSeconds=0",
                    crate::k8s::http::urlencode(ns)
                );
                let client = c.client.clone();
                Box::pin(async move {
                    let _ =
                        crate::k8s::http::send_once(&client, "DELETE", &path, None, vec![]).await;
                }) as futures::future::BoxFuture<'static, ()>
            })
        });
        let loads: Vec<_> = self
            .owned
            .lock()
            .unwrap()
            .iter()
            .filter_map(|o| match o {
                Owned::Load(l) if !l.keep => Some(l.clone()),
                _ => None,
            })
            .collect();
        let loads = loads.into_iter().map(|l| {
            Box::pin(async move {
                let _ = l.delete_all(None).await;
            }) as futures::future::BoxFuture<'static, ()>
        });
        let all = futures::future::join_all(ron.chain(loads));
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), all).await;
    }
}

/// Delete a load's objects unless the script did already: by label,
/// whatever the load counted as created (a create whose answer never
/// came, or a `.delete()` that partly failed, still left objects).
fn delete_load(run: &Run, l: &crate::k8s::load::Load) -> Vec<String> {
    if l.deleted.load(Ordering::SeqCst) {
        return vec![];
    }
    crate::ui::info(&format!(
        "cleanup: deleting load {} ({} object(s) created{})",
        l.id,
        l.created_count(),
        match l.namespaces.len() {
            0 => String::new(),
            n => format!(", {n} namespace(s)"),
        }
    ));
    run.rt().block_on(l.delete_all(None))
}
