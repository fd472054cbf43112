//! The kubelet's state: the pods it runs and their containers (state,
//! output, processes), and the kubelet itself (its images, its faults,
//! its delays), with what every part of it uses: events, pauses that end
//! when the pod stops.

use crate::events::{self, Source};
use crate::store::Store;
use bytes::Bytes;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// Annotation that keeps controllers and the kubelet away from an object
/// (tests set statuses by hand).
pub const MANUAL: &str = "fake.scaffold.dev/manual";

pub fn is_manual(o: &Value) -> bool {
    o["metadata"]["annotations"][MANUAL] == "true"
}

/// How long the kubelet takes to see a started container's state (its
/// PLEG relists about once a second; scaled down like the back-offs).
pub(super) const PLEG: Duration = Duration::from_millis(60);
/// From the last container stopped to the sandbox gone (the pod terminal).
pub(super) const TEARDOWN: Duration = Duration::from_millis(100);
/// A readiness probe's first success after the container started.
pub(super) const PROBE: Duration = Duration::from_millis(40);

/// A container's captured output, followable, run by run: each start of
/// the container begins a run, as each start writes a new log file on a
/// real node (`kubectl logs` shows the current run, `--previous` the one
/// before, and following ends with the run).
pub struct LogBuf {
    pub lines: Mutex<Vec<(SystemTime, Bytes)>>,
    /// where each run begins in `lines`
    starts: Mutex<Vec<usize>>,
    /// runs that have ended
    ended: AtomicUsize,
    changed: tokio::sync::watch::Sender<u64>,
    closed: AtomicBool,
}

impl LogBuf {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(LogBuf {
            lines: Mutex::new(vec![]),
            starts: Mutex::new(vec![]),
            ended: AtomicUsize::new(0),
            changed: tokio::sync::watch::channel(0).0,
            closed: AtomicBool::new(false),
        })
    }
    pub(super) fn push(&self, b: Bytes) {
        self.lines.lock().unwrap().push((SystemTime::now(), b));
        self.changed.send_modify(|n| *n += 1);
    }
    /// A new run of the container begins.
    pub(super) fn begin_run(&self) {
        let at = self.lines.lock().unwrap().len();
        self.starts.lock().unwrap().push(at);
    }
    /// The current run ended (its output is all in).
    pub(super) fn end_run(&self) {
        self.ended.fetch_add(1, Ordering::SeqCst);
        self.changed.send_modify(|n| *n += 1);
    }
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.changed.send_modify(|n| *n += 1);
    }
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }
    /// The current run: its number (1 for the first; 0 before any) and
    /// where it begins in `lines`.
    pub fn current_run(&self) -> (usize, usize) {
        let starts = self.starts.lock().unwrap();
        (starts.len(), starts.last().copied().unwrap_or(0))
    }
    /// The run before the current one, as a range of `lines`.
    pub fn previous_run(&self) -> Option<std::ops::Range<usize>> {
        let starts = self.starts.lock().unwrap();
        let n = starts.len();
        (n >= 2).then(|| starts[n - 2]..starts[n - 1])
    }
    /// Where run `n` ends in `lines` so far: the next run's start, or the
    /// end of what was written.
    pub fn run_end(&self, n: usize) -> usize {
        let next = self.starts.lock().unwrap().get(n).copied();
        next.unwrap_or_else(|| self.lines.lock().unwrap().len())
    }
    /// Whether run `n` (from [`current_run`](Self::current_run)) has ended.
    pub fn run_ended(&self, n: usize) -> bool {
        self.ended.load(Ordering::SeqCst) >= n
    }
}

#[derive(Clone, Debug)]
pub enum CState {
    Waiting {
        reason: String,
        message: String,
    },
    Running {
        started: String,
    },
    Terminated {
        code: i32,
        reason: String,
        started: String,
        finished: String,
    },
}

pub struct ContainerRt {
    pub name: String,
    pub image: String,
    pub runnable: bool,
    pub logs: Arc<LogBuf>,
    pub pid: Mutex<Option<u32>>,
    pub stdin: tokio::sync::Mutex<Option<tokio::process::ChildStdin>>,
    /// stdin closes when the first attach ends (`stdinOnce`)
    pub stdin_once: bool,
    pub state: Mutex<CState>,
    /// how the previous run ended (`lastState`)
    pub last_state: Mutex<Option<CState>>,
    /// the restart back-off: when it was last set, and its real length
    pub backoff: Mutex<Option<(std::time::Instant, Duration)>>,
    pub restarts: AtomicU32,
    pub mounts: Vec<(PathBuf, String)>,
    pub env: Vec<(String, String)>,
    /// a readiness probe passed (or there is none)
    pub probe_ok: AtomicBool,
    pub has_probe: bool,
    /// the container's spec
    pub spec: Value,
}

/// Where a pod's sandbox is.
pub const SANDBOX_NONE: u8 = 0;
pub const SANDBOX_READY: u8 = 1;
pub const SANDBOX_GONE: u8 = 2;

pub struct PodRt {
    pub ns: String,
    pub name: String,
    pub uid: String,
    pub node: String,
    pub dir: PathBuf,
    pub containers: Mutex<Vec<Arc<ContainerRt>>>,
    /// everything stops now (the pod is gone from the API)
    pub stop: CancellationToken,
    /// the pod is being deleted: containers stop within the grace period
    pub terminate: CancellationToken,
    pub pod_ip: String,
    pub host_ip: String,
    pub restart_policy: String,
    /// Initialized=True may be reported (see Kubelet::set_phase_delays)
    pub initialized: AtomicBool,
    /// Ready may be reported once the containers run
    pub ready_gate: AtomicBool,
    pub sandbox: AtomicU8,
    /// a container was reported running once
    pub ever_running: AtomicBool,
    /// the phase last reported (kept while containers have stopped but
    /// the pod is not terminal yet)
    pub phase: Mutex<String>,
}

pub struct Kubelet {
    pub(super) store: Arc<Store>,
    pub(super) root: PathBuf,
    pub shim_dir: PathBuf,
    /// processes may have a UTS namespace (a hostname) of their own
    uts_ok: bool,
    pub nsenter: Option<PathBuf>,
    pub mounts_ok: bool,
    pub(super) runnable: Vec<String>,
    pub(super) unpullable: Vec<String>,
    pub(super) pods: Mutex<HashMap<String, Arc<PodRt>>>,
    pub(super) ips: AtomicU32,
    pub(super) loopback_ips: AtomicBool,
    pub(super) image_bin: Mutex<Option<PathBuf>>,
    /// image repository -> program (Options::image_programs)
    pub(super) image_programs: Mutex<Vec<(String, String)>>,
    /// the next N image pulls fail like a throttling registry (429), then
    /// the kubelet's own retry pulls
    pub(super) flaky_pulls: Mutex<(String, u32)>,
    /// per pod: before Initialized, then before the containers start, then
    /// before Ready (known, distinct times of each transition for tests)
    pub(super) phase_delays: Mutex<[Duration; 3]>,
    /// images present on each node (`IfNotPresent` pulls them once)
    pub(super) pulled: Mutex<HashSet<(String, String)>>,
}

impl Kubelet {
    pub fn new(
        store: Arc<Store>,
        root: PathBuf,
        runnable: Vec<String>,
        unpullable: Vec<String>,
    ) -> Self {
        let shim_dir = root.join("shim");
        Kubelet {
            uts_ok: uts_ok(),
            store,
            root,
            nsenter: find_nsenter(),
            mounts_ok: mounts_ok(),
            shim_dir,
            runnable,
            unpullable,
            pods: Mutex::new(HashMap::new()),
            ips: AtomicU32::new(0),
            loopback_ips: AtomicBool::new(false),
            image_bin: Mutex::new(None),
            image_programs: Mutex::new(vec![]),
            flaky_pulls: Mutex::new((String::new(), 0)),
            phase_delays: Mutex::new([Duration::ZERO; 3]),
            pulled: Mutex::new(HashSet::new()),
        }
    }

    /// Fail the next `n` pulls of images named with `image` with a
    /// registry's 429; each is retried by the kubelet a moment later
    /// (ErrImagePull, ImagePullBackOff, then the pull again), as a real
    /// kubelet does.
    pub fn fail_next_pulls(&self, image: &str, n: u32) {
        *self.flaky_pulls.lock().unwrap() = (image.to_string(), n);
    }

    /// Delays of each pod's start: before Initialized, before its
    /// containers start (after Initialized), before Ready (after they run).
    pub fn set_phase_delays(&self, init: Duration, start: Duration, ready: Duration) {
        *self.phase_delays.lock().unwrap() = [init, start, ready];
    }

    /// Give pods 127.0.x.y addresses (see Options::loopback_ips).
    pub fn set_loopback_ips(&self, on: bool) {
        self.loopback_ips.store(on, Ordering::SeqCst);
    }

    /// See Options::image_bin.
    pub fn set_image_bin(&self, dir: Option<PathBuf>) {
        *self.image_bin.lock().unwrap() = dir;
    }

    /// See Options::image_programs.
    pub fn set_image_programs(&self, map: Vec<(String, String)>) {
        *self.image_programs.lock().unwrap() = map;
    }

    /// The program an image runs as (Options::image_programs), matched on
    /// its repository: `quay.io/prometheus/prometheus:v3.1.0@sha256:..`
    /// is `quay.io/prometheus/prometheus`.
    pub fn program_for(&self, image: &str) -> Option<String> {
        let no_digest = image.split('@').next().unwrap_or(image);
        let repo = match no_digest.rsplit_once(':') {
            Some((r, tag)) if !tag.contains('/') => r,
            _ => no_digest,
        };
        self.image_programs
            .lock()
            .unwrap()
            .iter()
            .find(|(i, _)| i == repo)
            .map(|(_, p)| p.clone())
    }

    pub fn is_runnable(&self, image: &str) -> bool {
        let base = image.rsplit('/').next().unwrap_or(image);
        self.runnable
            .iter()
            .any(|p| base.starts_with(p.as_str()) || image.starts_with(p.as_str()))
            || self.program_for(image).is_some()
    }

    pub fn pod(&self, ns: &str, name: &str) -> Option<Arc<PodRt>> {
        self.pods
            .lock()
            .unwrap()
            .values()
            .find(|p| p.ns == ns && p.name == name)
            .cloned()
    }

    /// Number of containers with running local processes.
    pub fn running_processes(&self) -> usize {
        let pods: Vec<Arc<PodRt>> = self.pods.lock().unwrap().values().cloned().collect();
        pods.iter()
            .map(|p| {
                p.containers
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|c| c.pid.lock().unwrap().is_some())
                    .count()
            })
            .sum()
    }

    /// PATH of a container on `node`: its nsenter shim first.
    pub fn path_env(&self, node: &str) -> String {
        write_shim(&self.shim_dir, node, self.uts_ok);
        let extra = self
            .image_bin
            .lock()
            .unwrap()
            .as_ref()
            .map(|d| format!("{}:", d.display()))
            .unwrap_or_default();
        format!(
            "{}:{extra}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            self.shim_dir.join(node).display()
        )
    }

    pub(super) fn event(
        &self,
        pod: &Value,
        node: &str,
        etype: &str,
        reason: &str,
        message: &str,
        container: Option<&str>,
    ) {
        let fp = container.map(|c| format!("spec.containers{{{c}}}"));
        events::record(
            &self.store,
            pod,
            etype,
            reason,
            message,
            Source::Kubelet { node },
            fp.as_deref(),
        );
    }

    pub(super) fn node_ip(&self, node: &str) -> String {
        let k = self.store.kind("", "Node").expect("node kind");
        self.store
            .get(&k, "", node)
            .and_then(|n| {
                n["status"]["addresses"]
                    .as_array()?
                    .iter()
                    .find(|a| a["type"] == "InternalIP")
                    .and_then(|a| a["address"].as_str().map(str::to_string))
            })
            .unwrap_or_else(|| "127.0.0.1".into())
    }

    /// Sleep unless the pod stops meanwhile; false when it stopped.
    pub(super) async fn pause(&self, rt: &PodRt, d: Duration) -> bool {
        if d.is_zero() {
            return !rt.stop.is_cancelled();
        }
        tokio::select! {
            _ = rt.stop.cancelled() => false,
            _ = rt.terminate.cancelled() => false,
            _ = tokio::time::sleep(d) => true,
        }
    }
}

/// fakecluster's nsenter, one per node (NODE and UTS filled in).
const SHIM: &str = r#"#!/bin/sh
# fakecluster's nsenter on node NODE: runs the command without entering any
# namespace of this machine, so `nsenter -t 1 ...` in a test never touches
# its PID 1. Entering the UTS namespace (-u, --uts, -a) gives the command
# the node's hostname, in a UTS namespace of its own.
uts=
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; break ;;
    -t|--target|-S|--setuid|-G|--setgid) shift 2 ;;
    --uts|--uts=*|--all|-a) uts=1; shift ;;
    --*) shift ;;
    -*u*) uts=1; shift ;;
    -*) shift ;;
    *) break ;;
  esac
done
if [ -n "$uts" ] && [ -n "UTS" ]; then
  exec unshare --uts /bin/sh -c 'hostname "$0" 2>/dev/null; exec "$@"' 'NODE' "$@"
fi
exec "$@"
"#;

/// The nsenter shim of `node` in `dir/NODE/`; `uts`: this machine lets
/// a process have a UTS namespace of its own.
fn write_shim(dir: &Path, node: &str, uts: bool) {
    let dir = dir.join(node);
    if dir.join("nsenter").exists() {
        return;
    }
    std::fs::create_dir_all(&dir).expect("shim dir");
    let shim = dir.join("nsenter");
    let body = SHIM
        .replace("NODE", &node.replace('\'', ""))
        .replace("\"UTS\"", if uts { "\"1\"" } else { "\"\"" });
    std::fs::write(&shim, body).expect("shim");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).expect("shim mode");
}

fn uts_ok() -> bool {
    std::process::Command::new("unshare")
        .args(["--uts", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn find_nsenter() -> Option<PathBuf> {
    ["/usr/bin/nsenter", "/bin/nsenter", "/usr/sbin/nsenter"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn mounts_ok() -> bool {
    std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Images run as programs by repository, whatever their tag or digest.
    #[test]
    fn images_map_to_programs_by_repository() {
        let dir = tempfile::tempdir().unwrap();
        let k = Kubelet::new(
            Arc::new(Store::new()),
            dir.path().to_path_buf(),
            vec![],
            vec![],
        );
        assert!(!k.is_runnable("quay.io/prometheus/prometheus:v3.1.0"));
        k.set_image_programs(crate::Options::monitoring_programs());
        for image in [
            "quay.io/prometheus/prometheus:v3.1.0",
            "quay.io/prometheus/prometheus",
            "quay.io/prometheus/prometheus:v3.1.0@sha256:abc",
            "prom/prometheus:latest",
        ] {
            assert_eq!(
                k.program_for(image).as_deref(),
                Some("prometheus"),
                "{image}"
            );
            assert!(k.is_runnable(image), "{image}");
        }
        assert_eq!(
            k.program_for("quay.io/prometheus/node-exporter:v1.8.2")
                .as_deref(),
            Some("prometheus-node-exporter")
        );
        for other in [
            "quay.io/prometheus/alertmanager:v0.27.0",
            "127.0.0.1:5000/prometheus",
            "quay.io/prometheus/prometheus-extra:1",
        ] {
            assert_eq!(k.program_for(other), None, "{other}");
        }
    }
}
