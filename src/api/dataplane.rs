//! `probe_service`: each node's dataplane programming latency, measured in
//! traffic. The work is `k8s/dataplane.rs`.

use crate::api::call::{block_on, client, default_ns, error, from_json, RResult};
use crate::api::nodes::{close_sessions, open_sessions};
use crate::api::opts::Opts;
use crate::host::Host;
use crate::k8s::dataplane::{self as dp, Change, Probe};
use crate::k8s::session::Session;
use rhai::plugin::*;
use rhai::Map;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

type ProbeTask = tokio::task::JoinHandle<(String, f64, f64, Result<String, String>)>;

/// What a probing holds until `.wait()`.
pub struct Probing {
    sessions: Vec<Arc<Session>>,
    probes: Vec<ProbeTask>,
    watch: tokio::task::JoinHandle<Result<Vec<Change>, String>>,
    stop: CancellationToken,
}

/// Script handle of a probing.
#[derive(Clone)]
pub struct ServiceProbe(pub Arc<Mutex<Option<Probing>>>);

/// The node's clock against this machine's, read through the session:
/// (offset ms, ± ms): node time − this machine's at the read's middle.
async fn clock_offset(s: &Session) -> Result<(f64, f64), String> {
    let cmd = crate::shell::Cmd::Argv(
        ["bash", "-c", "echo ${EPOCHREALTIME/./}"]
            .map(String::from)
            .to_vec(),
    );
    let now = || crate::results::unix_ms(std::time::SystemTime::now()) as f64;
    // the first exec opens the session's shell: time a second one
    let _ = s.exec(&cmd, Duration::from_secs(10)).await;
    let before = now();
    let out = s
        .exec(&cmd, Duration::from_secs(10))
        .await
        .map_err(|e| e.to_string())?;
    let after = now();
    let us: f64 = out
        .stdout
        .trim()
        .parse()
        .map_err(|_| format!("no bash 5 on {}: {:?}", s.node, out.stderr.trim()))?;
    Ok((us / 1000.0 - (before + after) / 2.0, (after - before) / 2.0))
}

/// Percentile of unsorted values (`None` when there are none).
fn pct(xs: &[f64], p: f64) -> Option<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| crate::stats::percentile(&v, p))
}

fn num(x: Option<f64>) -> Dynamic {
    x.map(Dynamic::from).unwrap_or(Dynamic::UNIT)
}

/// One node's result as the script's map; its latencies go into `all`.
fn node_summary(
    changes: &[Change],
    probes: &[Probe],
    offset: (f64, f64),
    all: &mut Vec<f64>,
) -> Map {
    let seen = dp::seen(changes, probes);
    let lat: Vec<f64> = seen.iter().filter_map(|s| s.latency_ms).collect();
    all.extend(&lat);
    let gaps = dp::gaps(probes);
    let mut m = Map::new();
    m.insert("probes".into(), (probes.len() as i64).into());
    m.insert(
        "errors".into(),
        (dp::errors(changes, probes, 1000.0) as i64).into(),
    );
    m.insert("offset_ms".into(), offset.0.into());
    m.insert("offset_uncertainty_ms".into(), offset.1.into());
    m.insert("resolution_p50_ms".into(), num(pct(&gaps, 50.0)));
    m.insert("resolution_p99_ms".into(), num(pct(&gaps, 99.0)));
    m.insert("p50_ms".into(), num(pct(&lat, 50.0)));
    m.insert("p99_ms".into(), num(pct(&lat, 99.0)));
    m.insert("max_ms".into(), num(lat.iter().copied().reduce(f64::max)));
    m.insert(
        "unseen".into(),
        (seen.iter().filter(|s| s.latency_ms.is_none()).count() as i64).into(),
    );
    m.insert(
        "seen".into(),
        from_json(&serde_json::to_value(&seen).unwrap_or_default()),
    );
    m
}

/// What `probe_service` was asked to probe.
struct Target {
    service: String,
    ns: String,
    port: u16,
    ip: String,
    selector: String,
    seconds: u64,
    path: String,
    nodes: Vec<String>,
}

fn target(h: &Arc<Host>, c: &kube::Client, o: &Opts) -> RResult<Target> {
    let f = "probe_service";
    let service = o
        .string("service")?
        .ok_or_else(|| error(format!("{f}: give `service`, the Service's name")))?;
    let ns = o.string("namespace")?.unwrap_or_else(|| default_ns(h));
    let port = o
        .int("port")?
        .filter(|p| (1..=65535).contains(p))
        .ok_or_else(|| {
            error(format!(
                "{f}: give `port`, the Service's TCP port (1-65535)"
            ))
        })? as u16;
    let ip = o
        .string("ip")?
        .ok_or_else(|| error(format!("{f}: give `ip`, the Service's cluster IP (the Service may not exist yet: create it once, read spec.clusterIP, and create it again with that address)")))?;
    let selector = o.string("selector")?.ok_or_else(|| {
        error(format!(
            "{f}: give `selector`, the label selector of the Service's pods (e.g. \"app=churn\")"
        ))
    })?;
    let seconds = o
        .int("seconds")?
        .filter(|s| *s > 0)
        .ok_or_else(|| error(format!("{f}: give `seconds`, how long the probes run")))?
        as u64;
    let path = o.string("path")?.unwrap_or_else(|| "/hostname".into());
    let nodes = match o.strings("nodes")? {
        Some(n) => n,
        None => block_on(h, crate::k8s::facts::nodes(c))?
            .map_err(|e| error(format!("{f}: cannot list nodes: {e}")))?
            .into_iter()
            .map(|n| n.name)
            .collect(),
    };
    Ok(Target {
        service,
        ns,
        port,
        ip,
        selector,
        seconds,
        path,
        nodes,
    })
}

fn start(h: &Arc<Host>, o: &Opts) -> RResult<Probing> {
    let f = "probe_service";
    let c = client(h, f)?;
    let Target {
        service,
        ns,
        port,
        ip,
        selector,
        seconds,
        path,
        nodes,
    } = target(h, &c, o)?;
    let sessions = open_sessions(h, f, &nodes, Some(ns.clone()))?;
    let offsets = block_on(
        h,
        futures::future::join_all(sessions.iter().map(|s| clock_offset(s))),
    )?;
    let mut offs = vec![];
    for (s, r) in sessions.iter().zip(offsets) {
        match r {
            Ok(x) => offs.push(x),
            Err(e) => {
                close_sessions(h, f, &sessions);
                return Err(error(format!(
                    "{f}: cannot read the clock of {}: {e}",
                    s.node
                )));
            }
        }
    }
    let stop = CancellationToken::new();
    let _g = h.rt().enter();
    let watch = {
        let (c, ns, service, selector, stop) = (
            c.clone(),
            ns.clone(),
            service.clone(),
            selector.clone(),
            stop.clone(),
        );
        tokio::spawn(async move { dp::watch_expected(&c, &ns, &service, &selector, stop).await })
    };
    let probes = sessions
        .iter()
        .zip(offs)
        .map(|(s, (off, unc))| {
            let s = s.clone();
            let argv = dp::probe_argv(&ip, port, &s.node, seconds, &path);
            tokio::spawn(async move {
                let cmd = crate::shell::Cmd::Argv(argv);
                let r = s.exec(&cmd, Duration::from_secs(seconds + 60)).await;
                let r = match r {
                    Ok(x) if x.code == 0 => Ok(x.stdout),
                    Ok(x) => Err(format!(
                        "the probe exited with {}: {}",
                        x.code,
                        x.stderr.trim()
                    )),
                    Err(e) => Err(e.to_string()),
                };
                (s.node.clone(), off, unc, r)
            })
        })
        .collect();
    Ok(Probing {
        sessions,
        probes,
        watch,
        stop,
    })
}

fn finish(h: &Arc<Host>, p: Probing) -> RResult<Map> {
    let f = "probe_service";
    let outs = block_on(h, futures::future::join_all(p.probes));
    p.stop.cancel();
    let watched = block_on(h, p.watch);
    close_sessions(h, f, &p.sessions);
    let changes = match watched? {
        Ok(Ok(c)) => dp::coalesce(&c, dp::COALESCE_MS),
        Ok(Err(e)) => return Err(error(format!("{f}: {e}"))),
        Err(e) => return Err(error(format!("{f}: the watch failed: {e}"))),
    };
    let mut nodes = Map::new();
    let mut all = vec![];
    let mut node_p99 = vec![];
    let (mut probes_n, mut errors_n) = (0i64, 0i64);
    for out in outs? {
        let (node, off, unc, r) = out.map_err(|e| error(format!("{f}: a probe failed: {e}")))?;
        let text = r.map_err(|e| error(format!("{f}: the probe on {node}: {e}")))?;
        // every attempt, on the node's clock, for a look afterwards
        if let Ok(dir) = h.run_dir() {
            let d = dir.join("probes");
            let _ = std::fs::create_dir_all(&d);
            let _ = std::fs::write(d.join(format!("{node}.txt")), &text);
        }
        // onto this machine's clock
        let probes: Vec<Probe> = dp::parse_probes(&text)
            .into_iter()
            .map(|p| Probe {
                at: p.at - off,
                ..p
            })
            .collect();
        let m = node_summary(&changes, &probes, (off, unc), &mut all);
        if let Ok(x) = m["p99_ms"].as_float() {
            node_p99.push(x);
        }
        probes_n += m["probes"].as_int().unwrap_or(0);
        errors_n += m["errors"].as_int().unwrap_or(0);
        nodes.insert(node.into(), m.into());
    }
    let mut out = Map::new();
    out.insert(
        "changes".into(),
        from_json(&serde_json::to_value(&changes).unwrap_or_default()),
    );
    out.insert("nodes".into(), nodes.into());
    out.insert("p50_ms".into(), num(pct(&all, 50.0)));
    out.insert("p99_ms".into(), num(pct(&all, 99.0)));
    out.insert("p99_of_node_p99_ms".into(), num(pct(&node_p99, 99.0)));
    out.insert("probes".into(), probes_n.into());
    out.insert("errors".into(), errors_n.into());
    Ok(out)
}

#[export_module]
pub mod dataplane_api {
    use super::*;
    use crate::api::call::host;
    use rhai::{EvalAltResult, NativeCallContext};

    /// Measure how fast each node's dataplane follows changes of a
    /// Service, in traffic. On every node (`nodes`, default all) a probe
    /// runs through a node session for `seconds`: bash (5, for
    /// `$EPOCHREALTIME`) connects to `ip`:`port` in a tight loop, a new
    /// TCP connection each time with a 0.5 s limit, GETs `path`
    /// ("/hostname": agnhost `netexec` answers its pod's name) and notes
    /// when and who answered. Meanwhile a watch of the Service `service`
    /// and of the pods of `selector` in `namespace` notes each change of
    /// what should answer (create, add, remove, replace, empty, delete:
    /// the backends an EndpointSlice holds). `.wait()` waits for the
    /// probes to end and returns `#{changes, nodes: #{NAME: #{seen:
    /// [#{change, kind, latency_ms}], p50_ms, p99_ms, max_ms, unseen,
    /// probes, errors, resolution_p50_ms, resolution_p99_ms, offset_ms,
    /// offset_uncertainty_ms}}, p50_ms, p99_ms, p99_of_node_p99_ms,
    /// probes, errors}`: per node and change, the time from the watch
    /// seeing the change to the first probe that shows it (an added
    /// backend answers; a removed one no longer does), the "99th of
    /// per-node 99ths" of SIG Scalability's network programming SLO,
    /// and connection errors (probes that failed more than 1 s after the
    /// API said a backend should answer). Node clocks are put on this
    /// machine's from a read timed through the session
    /// (`offset_uncertainty_ms`); the probe's resolution is the gap
    /// between its attempts. Every attempt is kept in the run's
    /// `probes/NODE.txt` (`MS BACKEND`, or `MS !` for a failure). The probe sends `X-Probe-Node: NODE`, which
    /// backends ignore (the fake API server's simulated dataplane reads
    /// it). Options: `service`, `ip`, `port`, `selector`, `seconds`
    /// (required), `namespace`, `nodes`, `path`.
    ///
    /// ```rhai
    /// let p = probe_service(#{service: "churn", ip: ip, port: 80, selector: "app=churn", seconds: 40});
    /// apply(service_yaml);
    /// sleep(5);
    /// // ... more changes ...
    /// let r = p.wait();
    /// print(`p99 ${r.p99_ms} ms, 99th of node 99ths ${r.p99_of_node_p99_ms} ms`);
    /// ```
    #[rhai_fn(name = "probe_service", return_raw)]
    pub fn probe_service(
        ctx: NativeCallContext,
        options: Map,
    ) -> Result<ServiceProbe, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new(
            "probe_service",
            options,
            &[
                "service",
                "namespace",
                "ip",
                "port",
                "selector",
                "seconds",
                "path",
                "nodes",
            ],
        )?;
        let _t = h.trace("probe_service", String::new);
        let p = start(&h, &o)?;
        Ok(ServiceProbe(Arc::new(Mutex::new(Some(p)))))
    }

    /// Wait for the probes to end: the programming latencies (see
    /// `probe_service`).
    #[rhai_fn(name = "wait", return_raw)]
    pub fn wait_probe(
        ctx: NativeCallContext,
        p: &mut ServiceProbe,
    ) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let Some(x) = p.0.lock().unwrap().take() else {
            return Err(error("wait: these probes were waited for already"));
        };
        finish(&h, x)
    }
}
