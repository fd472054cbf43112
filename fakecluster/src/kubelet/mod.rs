//! The simulated kubelet. Containers of "runnable" images (`alpine*`,
//! `busybox*` by default) run their command as real local processes, with
//! the pod's volumes bind-mounted at their mountPath in a private mount
//! namespace and an `nsenter` shim first on PATH; every other container is
//! simulated (no process). Either way a pod goes through the states a
//! real kubelet reports, in the recorded order (tests/traces/
//! pod-lifecycle.json, job-lifecycle.json, image-pull-failure.json):
//! ContainerCreating, then running (ready at once, or after its readiness
//! probe), or terminated; a deleted pod's containers are stopped within
//! its grace period (a main process that does not handle SIGTERM ignores
//! it, as PID 1 does in a container) and the pod ends Failed or
//! Succeeded before it goes.
//!
//! `status.rs` computes the pod status, `pull.rs` image pulls and their
//! back-off, `process.rs` containers as processes, `volumes.rs` volumes.

mod process;
mod pull;
mod state;
mod status;
mod volumes;

use crate::store::DeleteOptions;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub use process::resolve_program;
pub use state::{
    is_manual, CState, ContainerRt, Kubelet, LogBuf, PodRt, MANUAL, SANDBOX_GONE, SANDBOX_NONE,
    SANDBOX_READY,
};

impl Kubelet {
    /// A pod was added or changed: start it if it is ours to run, stop it
    /// if it is being deleted.
    pub fn ensure(self: &Arc<Self>, pod: &Value) {
        if is_manual(pod) || pod["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
            return;
        }
        let uid = pod["metadata"]["uid"].as_str().unwrap_or("").to_string();
        let existing = self.pods.lock().unwrap().get(&uid).cloned();
        let deleting = pod["metadata"]["deletionTimestamp"].is_string();
        match existing {
            Some(rt) if deleting && !rt.terminate.is_cancelled() => {
                rt.terminate.cancel();
                let (me, pod) = (self.clone(), pod.clone());
                tokio::spawn(async move { me.terminate(rt, pod).await });
            }
            Some(_) => {}
            None if deleting => self.finish_deletion(pod),
            None if matches!(
                pod["status"]["phase"].as_str(),
                Some("Succeeded" | "Failed")
            ) => {}
            None => self.admit(pod, uid),
        }
    }

    fn admit(self: &Arc<Self>, pod: &Value, uid: String) {
        let n = self.ips.fetch_add(1, Ordering::SeqCst);
        let node = pod["spec"]["nodeName"].as_str().unwrap_or("").to_string();
        let host_ip = self.node_ip(&node);
        let pod_ip = if pod["spec"]["hostNetwork"] == true {
            host_ip.clone()
        } else if self.loopback_ips.load(Ordering::SeqCst) {
            format!("127.0.{}.{}", (n / 250) % 250, n % 250 + 2)
        } else {
            format!("10.244.{}.{}", (n / 250) % 250, n % 250 + 2)
        };
        let rt = Arc::new(PodRt {
            ns: pod["metadata"]["namespace"].as_str().unwrap_or("").into(),
            name: pod["metadata"]["name"].as_str().unwrap_or("").into(),
            dir: self.root.join("pods").join(&uid),
            uid: uid.clone(),
            node,
            containers: Mutex::new(vec![]),
            stop: CancellationToken::new(),
            terminate: CancellationToken::new(),
            pod_ip,
            host_ip,
            restart_policy: pod["spec"]["restartPolicy"]
                .as_str()
                .unwrap_or("Always")
                .to_string(),
            initialized: AtomicBool::new(true),
            ready_gate: AtomicBool::new(true),
            sandbox: AtomicU8::new(SANDBOX_NONE),
            ever_running: AtomicBool::new(false),
            phase: Mutex::new("Pending".into()),
        });
        self.pods.lock().unwrap().insert(uid, rt.clone());
        let me = self.clone();
        let pod = pod.clone();
        tokio::spawn(async move { me.start(rt, pod).await });
    }

    /// A pod is gone from the API: stop its processes and forget it.
    pub fn stop(&self, pod: &Value) {
        let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
        if let Some(rt) = self.pods.lock().unwrap().remove(uid) {
            rt.terminate.cancel();
            rt.stop.cancel();
            let dir = rt.dir.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                let _ = std::fs::remove_dir_all(dir);
            });
        }
    }

    /// Kill everything (shutdown).
    pub fn stop_all(&self) {
        let pods: Vec<_> = self.pods.lock().unwrap().drain().map(|(_, p)| p).collect();
        for p in pods {
            p.terminate.cancel();
            p.stop.cancel();
            for c in p.containers.lock().unwrap().iter() {
                if let Some(pid) = *c.pid.lock().unwrap() {
                    unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
                }
            }
        }
    }

    /// Start a pod: its volumes, ContainerCreating, the sandbox, then each
    /// container (pull, create, start).
    async fn start(self: Arc<Self>, rt: Arc<PodRt>, pod: Value) {
        let Some(mounts) = self.mount_volumes(&rt, &pod).await else {
            return;
        };
        let containers = self.containers(&rt, &pod, mounts);
        *rt.containers.lock().unwrap() = containers.clone();
        let [d_init, d_start, d_ready] = *self.phase_delays.lock().unwrap();
        if !d_ready.is_zero() {
            rt.ready_gate.store(false, Ordering::SeqCst);
        }
        if !d_init.is_zero() {
            rt.initialized.store(false, Ordering::SeqCst);
        }
        self.sync(&rt).await;
        if !self.pause(&rt, d_init).await {
            return;
        }
        rt.initialized.store(true, Ordering::SeqCst);
        rt.sandbox.store(SANDBOX_READY, Ordering::SeqCst);
        if !d_init.is_zero() {
            self.sync(&rt).await;
        }
        if !self.pause(&rt, d_start).await {
            return;
        }
        if !d_ready.is_zero() {
            let (me, rt2) = (self.clone(), rt.clone());
            tokio::spawn(async move {
                if me.pause(&rt2, d_ready).await {
                    rt2.ready_gate.store(true, Ordering::SeqCst);
                    me.sync(&rt2).await;
                }
            });
        }
        let mut started = vec![];
        for c in containers {
            let (me, rt2, pod2) = (self.clone(), rt.clone(), pod.clone());
            started.push(tokio::spawn(async move { me.run(rt2, c, pod2).await }));
        }
        for s in started {
            let _ = s.await;
        }
    }

    /// The pod's containers, as the runtime will run them.
    fn containers(
        &self,
        rt: &PodRt,
        pod: &Value,
        mounts: HashMap<String, PathBuf>,
    ) -> Vec<Arc<ContainerRt>> {
        pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| Arc::new(self.container(rt, pod, c, &mounts)))
            .collect()
    }

    fn container(
        &self,
        rt: &PodRt,
        pod: &Value,
        c: &Value,
        vols: &HashMap<String, PathBuf>,
    ) -> ContainerRt {
        let image = c["image"].as_str().unwrap_or("").to_string();
        let runnable = self.is_runnable(&image);
        let mut state = CState::Waiting {
            reason: "ContainerCreating".into(),
            message: String::new(),
        };
        let mut mounts = vec![];
        for m in c["volumeMounts"].as_array().into_iter().flatten() {
            let (Some(name), Some(path)) = (m["name"].as_str(), m["mountPath"].as_str()) else {
                continue;
            };
            match vols.get(name) {
                Some(dir) => mounts.push((dir.clone(), path.to_string())),
                None if volumes::is_service_account(name) || !runnable => {}
                None => {
                    state = CState::Waiting {
                        reason: "CreateContainerConfigError".into(),
                        message: format!("volume \"{name}\" not found"),
                    }
                }
            }
        }
        ContainerRt {
            name: c["name"].as_str().unwrap_or("").to_string(),
            env: process::env(self, rt, pod, c),
            image,
            runnable,
            logs: LogBuf::new(),
            pid: Mutex::new(None),
            stdin: tokio::sync::Mutex::new(None),
            stdin_once: c["stdinOnce"] == true,
            state: Mutex::new(state),
            last_state: Mutex::new(None),
            backoff: Mutex::new(None),
            restarts: AtomicU32::new(0),
            mounts,
            has_probe: c["readinessProbe"].is_object(),
            probe_ok: AtomicBool::new(!c["readinessProbe"].is_object()),
            spec: c.clone(),
        }
    }

    /// One container: pulled, created, started, and (a process) watched.
    async fn run(self: Arc<Self>, rt: Arc<PodRt>, c: Arc<ContainerRt>, pod: Value) {
        let config_error = matches!(&*c.state.lock().unwrap(), CState::Waiting { reason, .. } if reason != "ContainerCreating");
        if config_error {
            let msg = match &*c.state.lock().unwrap() {
                CState::Waiting { message, .. } => message.clone(),
                _ => String::new(),
            };
            self.event(
                &pod,
                &rt.node,
                "Warning",
                "Failed",
                &format!("Error: {msg}"),
                Some(&c.name),
            );
            self.sync(&rt).await;
            return;
        }
        if !self.pull_and_create(&rt, &c, &pod).await {
            return;
        }
        if c.runnable {
            self.run_process(rt, c, pod).await;
        } else {
            c.logs.begin_run();
            *c.state.lock().unwrap() = CState::Running {
                started: crate::store::now(),
            };
            self.event(
                &pod,
                &rt.node,
                "Normal",
                "Started",
                &format!("Started container {}", c.name),
                Some(&c.name),
            );
            rt.ever_running.store(true, Ordering::SeqCst);
            self.sync(&rt).await;
            self.probe(&rt, &c).await;
            tokio::select! {
                _ = rt.stop.cancelled() => {}
                _ = rt.terminate.cancelled() => {}
            }
        }
    }

    /// A deleted pod: each container stopped within the grace period, the
    /// pod reported Failed or Succeeded, then removed for good.
    async fn terminate(self: Arc<Self>, rt: Arc<PodRt>, pod: Value) {
        let grace = Duration::from_secs(
            pod["metadata"]["deletionGracePeriodSeconds"]
                .as_u64()
                .unwrap_or(0),
        );
        let containers = rt.containers.lock().unwrap().clone();
        for c in &containers {
            if matches!(*c.state.lock().unwrap(), CState::Running { .. }) {
                self.event(
                    &pod,
                    &rt.node,
                    "Normal",
                    "Killing",
                    &format!("Stopping container {}", c.name),
                    Some(&c.name),
                );
            }
        }
        let mut waits = vec![];
        for c in containers {
            waits.push(tokio::spawn(process::stop_container(c, grace)));
        }
        for w in waits {
            let _ = w.await;
        }
        rt.sandbox.store(SANDBOX_GONE, Ordering::SeqCst);
        self.sync(&rt).await;
        self.finish_deletion(&pod);
    }

    /// The kubelet's last word on a deleted pod: a DELETE with no grace.
    fn finish_deletion(&self, pod: &Value) {
        let k = self.store.kind("", "Pod").expect("pods");
        let ns = pod["metadata"]["namespace"].as_str().unwrap_or("");
        let name = pod["metadata"]["name"].as_str().unwrap_or("");
        let still = self
            .store
            .get(&k, ns, name)
            .is_some_and(|p| p["metadata"]["uid"] == pod["metadata"]["uid"]);
        if still {
            let _ = self.store.delete_request(
                &k,
                ns,
                name,
                &DeleteOptions {
                    grace: Some(0),
                    ..Default::default()
                },
            );
        }
    }

    /// Record an Event about an object (for the controllers' own use).
    pub fn record(&self, obj: &Value, etype: &str, reason: &str, message: &str) {
        let node = obj["spec"]["nodeName"].as_str().unwrap_or("");
        self.event(obj, node, etype, reason, message, None);
    }
}
