//! `measure_cpu`: what nodes' CPUs spent while a test ran, so that a
//! test's cost can be put per Gbit or per million packets. The work is
//! `k8s/cpu.rs`.

use crate::api::call::{block_on, error, from_json};
use crate::api::nodes::{close_sessions, open_sessions};
use crate::api::opts::Opts;
use crate::k8s::cpu::{NodeReads, Sampler};
use crate::k8s::session::Session;
use rhai::plugin::*;
use rhai::Map;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A sampling in progress and the sessions it reads through.
type Sampling = (Sampler, Vec<Arc<Session>>);

/// Script handle of a CPU measurement (taken by `.stop()`).
#[derive(Clone)]
pub struct CpuMeasure(pub Arc<Mutex<Option<Sampling>>>);

/// The reads of every node as the script's map: per node its usage and
/// busy percent per interval, the total over nodes, and the nodes whose
/// reading failed.
fn summary(reads: &[NodeReads]) -> Map {
    let mut nodes = Map::new();
    let mut errors = Map::new();
    let mut total = crate::k8s::cpu::Usage::default();
    let mut seconds: f64 = 0.0;
    for r in reads {
        if let Some(e) = &r.error {
            errors.insert(r.node.as_str().into(), e.clone().into());
        }
        let Some((u, series)) = r.summary() else {
            continue;
        };
        seconds = seconds.max(u.seconds);
        total.cpus += u.cpus;
        total.user += u.user;
        total.system += u.system;
        total.irq += u.irq;
        total.softirq += u.softirq;
        total.iowait += u.iowait;
        total.steal += u.steal;
        total.busy += u.busy;
        total.net_rx += u.net_rx;
        total.net_tx += u.net_tx;
        let mut m = from_json(&serde_json::to_value(&u).unwrap_or_default()).cast::<Map>();
        m.insert("samples".into(), (r.reads.len() as i64).into());
        let s: rhai::Array = series
            .iter()
            .map(|(t, p)| {
                let mut x = Map::new();
                x.insert("time".into(), (*t).into());
                x.insert("busy_percent".into(), (*p).into());
                x.into()
            })
            .collect();
        m.insert("series".into(), s.into());
        nodes.insert(r.node.as_str().into(), m.into());
    }
    total.seconds = seconds;
    if seconds > 0.0 && total.cpus > 0 {
        total.busy_percent = 100.0 * total.busy / (seconds * total.cpus as f64);
    }
    let mut out = Map::new();
    out.insert("seconds".into(), seconds.into());
    out.insert("nodes".into(), nodes.into());
    out.insert(
        "total".into(),
        from_json(&serde_json::to_value(&total).unwrap_or_default()),
    );
    out.insert("errors".into(), errors.into());
    out
}

#[export_module]
pub mod cpu_api {
    use super::*;
    use crate::api::call::host;
    use rhai::{EvalAltResult, NativeCallContext};

    /// Start measuring what `nodes` (names) spend on their CPUs: a node
    /// session on each reads `/proc/uptime`, `/proc/stat` and
    /// `/proc/softirqs` now, every `interval` seconds (1; 0 reads only at
    /// the start and the stop: one command per node per interval, and
    /// nothing else runs on the node), and at `.stop()`. `.stop()` closes
    /// the sessions and returns `#{seconds, nodes: #{NAME: usage},
    /// total: usage, errors: #{NAME: why}}`, a usage being CPU-seconds
    /// `user` (with nice), `system`, `irq`, `softirq`, `iowait`, `steal`,
    /// `busy` (user + system + irq + softirq), `busy_percent` (of all the
    /// node's CPUs over the node's own elapsed `seconds`), `cpus`,
    /// `net_rx`/`net_tx` (NET_RX/NET_TX softirqs run), and per node
    /// `samples` and `series` (`[#{time, busy_percent}]` per interval,
    /// time in unix ms). A node whose read fails midway keeps what it
    /// read and says why in `errors`. Options: `nodes` (required),
    /// `interval`, `namespace` (of the session pods). `netperf::cpu_cost`
    /// puts the total per Gbit or per million packets.
    ///
    /// ```rhai
    /// let cpu = measure_cpu(#{nodes: ["kind-worker", "kind-worker2"]});
    /// let r = netperf::iperf3(#{pod: client, server: ip, udp: true, length: 64});
    /// let c = cpu.stop();
    /// print(`${c.total.busy} CPU-seconds, softirq ${c.total.softirq}`);
    /// ```
    #[rhai_fn(name = "measure_cpu", return_raw)]
    pub fn measure_cpu(
        ctx: NativeCallContext,
        options: Map,
    ) -> Result<CpuMeasure, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("measure_cpu", options, &["nodes", "interval", "namespace"])?;
        let nodes = o.strings("nodes")?.unwrap_or_default();
        if nodes.is_empty() {
            return Err(error(
                "measure_cpu: give `nodes`, the names of the nodes to measure (e.g. #{nodes: [\"kind-worker\"]})",
            ));
        }
        let interval = o.duration("interval")?.unwrap_or(Duration::from_secs(1));
        let _t = h.trace("measure_cpu", || nodes.join(", "));
        let ns = o.string("namespace")?;
        let sessions = open_sessions(&h, "measure_cpu", &nodes, ns)?;
        let started = {
            let _g = h.rt().enter();
            block_on(&h, Sampler::start(sessions.clone(), interval))
        };
        match started {
            Ok(Ok(s)) => Ok(CpuMeasure(Arc::new(Mutex::new(Some((s, sessions)))))),
            Ok(Err(e)) => {
                close_sessions(&h, "measure_cpu", &sessions);
                Err(error(format!("measure_cpu: {e}")))
            }
            Err(e) => {
                close_sessions(&h, "measure_cpu", &sessions);
                Err(e)
            }
        }
    }

    /// Stop a CPU measurement: the usage (see `measure_cpu`).
    #[rhai_fn(name = "stop", return_raw)]
    pub fn stop_cpu(ctx: NativeCallContext, m: &mut CpuMeasure) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let Some((sampler, sessions)) = m.0.lock().unwrap().take() else {
            return Err(error("stop: this measurement was stopped already"));
        };
        let reads = block_on(&h, sampler.finish());
        close_sessions(&h, "measure_cpu", &sessions);
        Ok(summary(&reads?))
    }
}
