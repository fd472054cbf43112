//! Port-forwards from scripts, registry access and Prometheus queries.

use crate::api::call::{block_on, client, default_ns, error, k8s_error, RResult};
use crate::api::opts::Opts;
use crate::host::{Host, Owned};
use crate::k8s::portforward::{self, Forward, Ports, Target};
use crate::net::prom;
use rhai::plugin::*;
use rhai::{Dynamic, Map};
use std::sync::Arc;

/// Script handle of a port-forward.
#[derive(Clone)]
pub struct PortForward(pub Arc<Forward>);

const FORWARD_OPTS: &[&str] = &["namespace", "local_port", "address"];

/// Where to forward from a script's arguments: the namespace, the ports
/// (a number or `"REMOTE"`: a free local port unless `local_port` says;
/// `"LOCAL:REMOTE"` as kubectl) and the local address.
fn forward_opts(
    h: &Host,
    func: &str,
    o: &Opts,
    port: &Dynamic,
) -> RResult<(String, Ports, std::net::IpAddr)> {
    let e = |m: String| error(format!("{func}: {m}"));
    let mut ports = if let Ok(n) = port.as_int() {
        let r = u16::try_from(n)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| e(format!("port {n} is not a TCP port")))?;
        Ports {
            local: None,
            remote: r,
        }
    } else if port.is_string() {
        let text = port.to_string();
        let p = Ports::parse(&text).map_err(e)?;
        if text.contains(':') {
            p
        } else {
            Ports { local: None, ..p }
        }
    } else {
        return Err(e(format!(
            "port must be a number or \"[LOCAL:]REMOTE\", got {}",
            port.type_name()
        )));
    };
    if let Some(lp) = o.int("local_port")? {
        if ports.local.is_some() {
            return Err(e(
                "the local port is given twice (in the port and in local_port); give it once"
                    .into(),
            ));
        }
        ports.local =
            Some(u16::try_from(lp).map_err(|_| e(format!("local_port {lp} is not a TCP port")))?);
    }
    let addr = o.string("address")?.unwrap_or_else(|| "127.0.0.1".into());
    let ip = addr
        .parse()
        .map_err(|_| e(format!("address '{addr}' is not an IP address")))?;
    Ok((
        o.string("namespace")?.unwrap_or_else(|| default_ns(h)),
        ports,
        ip,
    ))
}

/// Start a forward; it ends with `.stop()` or the script.
pub fn start(
    h: &Host,
    func: &str,
    target: &str,
    ports: Ports,
    ns: &str,
    ip: std::net::IpAddr,
) -> RResult<Arc<Forward>> {
    let t = Target::parse(target).map_err(|e| error(format!("{func}: {e}")))?;
    let c = client(h, func)?;
    let local = std::net::SocketAddr::new(ip, ports.local.unwrap_or(0));
    let _t = h.trace(func, || format!("{target} {} -> {local}", ports.remote));
    let f = block_on(
        h,
        portforward::start(c, ns.to_string(), t, ports.remote, local),
    )?
    .map_err(|e| error(format!("{func}: {target} in {ns}: {e}")))?;
    let f = Arc::new(f);
    h.own(Owned::Forward(f.clone()));
    Ok(f)
}

const LOCALHOST: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// The registry Service forwarded to `local_port` (default 5000: the port
/// users' push commands name).
fn registry_forward(h: &Host, func: &str, o: &Opts) -> RResult<Arc<Forward>> {
    let lp = o.int("local_port")?.unwrap_or(5000);
    let lp = u16::try_from(lp)
        .map_err(|_| error(format!("{func}: local_port {lp} is not a TCP port")))?;
    let (ns, svc) = find_registry(h, func)?;
    let ports = Ports {
        local: Some(lp),
        remote: 5000,
    };
    start(h, func, &format!("svc/{svc}"), ports, &ns, LOCALHOST)
}

fn stop(h: &Host, f: &Arc<Forward>) {
    f.stop.cancel();
    h.disown(&Owned::Forward(f.clone()));
}

/// The registry Service (labels of SPEC.md), in any namespace: (namespace, name).
fn find_registry(h: &Host, func: &str) -> RResult<(String, String)> {
    let c = client(h, func)?;
    let names = block_on(h, crate::k8s::facts::registry_services(&c))?
        .map_err(|e| k8s_error(h, func, "cannot list services: ", &e))?;
    match names.len() {
        0 => Err(error(format!("{func}: no registry Service found (labels app.kubernetes.io/part-of=scaffolding, app.kubernetes.io/name=registry in any namespace); apply kustomize/registry first"))),
        1 => Ok(names[0].clone()),
        _ => Err(error(format!(
            "{func}: {} Services carry the registry labels ({}); delete the extra ones",
            names.len(),
            names.iter().map(|(n, s)| format!("{n}/{s}")).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// A metrics profile's entries from YAML text.
fn profile_of_text(text: &str) -> Result<Vec<prom::Entry>, String> {
    let mut docs =
        crate::yaml::parse_docs(text).map_err(|e| format!("the profile is not YAML: {e}"))?;
    if docs.len() != 1 {
        return Err(format!(
            "the profile is one YAML list, not {} documents",
            docs.len()
        ));
    }
    prom::profile(docs.remove(0))
}

/// A metrics profile file's entries (`--metrics-profile`).
pub fn read_profile(path: &std::path::Path) -> Result<Vec<prom::Entry>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    profile_of_text(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A metrics profile given to `collect_metrics`: a file (YAML), YAML
/// text, or an array of maps.
fn load_profile(h: &Host, func: &str, profile: &Dynamic) -> RResult<Vec<prom::Entry>> {
    let r = match profile.clone().try_cast::<rhai::ImmutableString>() {
        Some(text) => {
            let path = h.resolve_path(&text);
            if path.is_file() {
                read_profile(&path)
            } else {
                profile_of_text(&text)
            }
        }
        None => prom::profile(crate::api::call::to_json(profile)),
    };
    r.map_err(|e| error(format!("{func}: {e}")))
}

/// Where and how a profile is collected.
struct Window {
    start: f64,
    end: f64,
    step: f64,
    svc: prom::Service,
    record: bool,
}

/// Collect `entries` over `w` through one port-forward to Prometheus:
/// `#{start, end, step, series: #{name: points}, alerts}`, and the alerts
/// of severity error that fired (they fail the run).
fn collect_window(
    h: &Host,
    f: &str,
    entries: &[prom::Entry],
    w: &Window,
) -> RResult<(Map, Vec<String>)> {
    let _t = h.trace(f, || {
        format!("{} queries over {:.0} s", entries.len(), w.end - w.start)
    });
    let ports = Ports {
        local: None,
        remote: w.svc.port,
    };
    let pf = start(
        h,
        f,
        &format!("svc/{}", w.svc.name),
        ports,
        &w.svc.namespace,
        LOCALHOST,
    )?;
    let q = prom::Query {
        at: w.end,
        range: Some(w.end - w.start),
        step: w.step,
    };
    let got = collect(h, f, &pf, entries, &q, w.record)
        .and_then(|got| Ok((got, alerts(h, f, &pf, entries, w)?)));
    stop(h, &pf);
    let (got, alerts) = got?;
    let mut m = Map::new();
    m.insert("start".into(), Dynamic::from(w.start));
    m.insert("end".into(), Dynamic::from(w.end));
    m.insert("step".into(), Dynamic::from(w.step));
    m.insert("series".into(), Dynamic::from_map(got));
    let shown: rhai::Array = alerts
        .iter()
        .filter_map(|a| rhai::serde::to_dynamic(a).ok())
        .collect();
    m.insert("alerts".into(), Dynamic::from_array(shown));
    let failed: Vec<String> = alerts
        .iter()
        .filter(|a| a.firing && a.severity == "error")
        .map(|a| format!("alert {} fired: {}", a.name, a.description))
        .collect();
    Ok((m, failed))
}

/// Evaluate the profile's alert rules at the window's end (over their
/// `for` when they have one), keep them in results.json and say the ones
/// that fired.
fn alerts(
    h: &Host,
    f: &str,
    pf: &Arc<Forward>,
    entries: &[prom::Entry],
    w: &Window,
) -> RResult<Vec<crate::results::Alert>> {
    let mut out = vec![];
    for e in entries {
        let Some(expr) = &e.alert else { continue };
        let for_seconds = e
            .for_seconds()
            .map_err(|err| error(format!("{f}: {err}")))?;
        let q = prom::Query {
            at: w.end,
            range: for_seconds,
            step: w.step,
        };
        let what = |err: String| error(format!("{f}: alert of entry '{}' ({expr}): {err}", e.name));
        let (code, body) = block_on(h, crate::net::get_local(pf.local, &prom::path(expr, &q)))?
            .map_err(|err| what(err.to_string()))?;
        let series = prom::parse(code, &body).map_err(what)?;
        let points = for_seconds.map(|d| (d / w.step).floor() as usize + 1);
        let n = prom::firing(&series, points);
        let a = crate::results::Alert {
            name: e.name.clone(),
            expr: expr.clone(),
            severity: e.severity.clone().unwrap_or_default(),
            description: e.description.clone().unwrap_or_else(|| expr.clone()),
            for_seconds,
            firing: n > 0,
            series: n,
        };
        if a.firing {
            crate::ui::warn(&format!(
                "alert {} ({}) fired: {}",
                a.name, a.severity, a.description
            ));
        }
        out.push(a);
    }
    h.results().alerts.extend(out.iter().cloned());
    Ok(out)
}

/// The start of the run as unix seconds.
fn run_start(h: &Host) -> f64 {
    prom::now() - h.started().elapsed().as_secs_f64()
}

/// `--metrics-profile`: collect the profile over the whole run as it ends
/// (also when it failed); a Prometheus that does not answer is a warning.
/// An alert of severity error that fired fails the run: its message.
pub fn collect_at_end(h: &Host, path: &std::path::Path) -> Option<String> {
    let f = "--metrics-profile";
    let entries = match read_profile(path) {
        Ok(e) => e,
        Err(e) => {
            crate::ui::warn(&format!("{f}: not collected: {e}"));
            return None;
        }
    };
    let end = prom::now();
    let start = run_start(h);
    let w = Window {
        start,
        end,
        step: prom::default_step(end - start),
        svc: prom::Service::parse(None).expect("the default service"),
        record: true,
    };
    match collect_window(h, f, &entries, &w) {
        Ok((m, failed)) => {
            let n = m
                .get("series")
                .and_then(|s| s.read_lock::<Map>().map(|s| s.len()))
                .unwrap_or(0);
            crate::ui::info(&format!(
                "{f}: {n} series of {} collected into results.json",
                path.display()
            ));
            (!failed.is_empty()).then(|| format!("{f}: {}", failed.join("; ")))
        }
        Err(e) => {
            crate::ui::warn(&format!("{f}: not collected ({e})"));
            None
        }
    }
}

/// Record one answer series of a profile entry (NaN samples counted apart).
fn record_series(
    h: &Host,
    name: &str,
    unit: &Option<String>,
    metric: &serde_json::Value,
    values: &[(f64, f64)],
) {
    let tags: serde_json::Map<String, serde_json::Value> = metric
        .as_object()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "__name__")
        .collect();
    let mut r = h.results();
    // each sample at Prometheus' own timestamp (seconds) in unix ms
    let finite: Vec<(i64, serde_json::Value)> = values
        .iter()
        .filter(|(_, x)| x.is_finite())
        .map(|(t, x)| ((t * 1000.0).round() as i64, serde_json::json!(x)))
        .collect();
    for _ in 0..values.len() - finite.len() {
        r.record_nan(name, unit.clone(), tags.clone());
    }
    r.record_timed(name, finite, unit.clone(), tags);
}

/// Run each profile entry as a range query through the open forward,
/// recording its series: each series' name and number of points.
fn collect(
    h: &Host,
    f: &str,
    pf: &Arc<Forward>,
    entries: &[prom::Entry],
    q: &prom::Query,
    record: bool,
) -> RResult<Map> {
    let mut got = Map::new();
    for e in entries {
        let what = |err: String| error(format!("{f}: entry '{}' ({}): {err}", e.name, e.query));
        let (code, body) = block_on(h, crate::net::get_local(pf.local, &prom::path(&e.query, q)))?
            .map_err(|err| what(err.to_string()))?;
        let series = prom::parse(code, &body).map_err(what)?;
        let alone = series.len() == 1;
        for s in &series {
            if let prom::Series::Range { metric, values } = s {
                let name = prom::series_name(&e.name, metric, alone);
                if record {
                    record_series(h, &name, &e.unit, metric, values);
                }
                got.insert(name.into(), Dynamic::from(values.len() as i64));
            }
        }
    }
    Ok(got)
}

#[export_module]
pub mod forward_api {
    use super::*;
    use crate::api::call::host;
    use rhai::{EvalAltResult, FnPtr, NativeCallContext};

    /// Forward a local port to `"pod/NAME"`, `"svc/NAME"` (a Service port
    /// maps to its pod's container port) or `"deploy/NAME"` (a ready pod of
    /// the Deployment) over the API server. `port` is the remote port (a
    /// number or `"8080"`: a free local port), or `"LOCAL:REMOTE"` as with
    /// kubectl. Options: `namespace`, `local_port` (instead of `LOCAL:`),
    /// `address` (default 127.0.0.1). The handle has `.local_port`,
    /// `.address` and `.stop()`; it also ends with the script. A broken
    /// stream or a vanished pod makes the next connection re-resolve. Out
    /// of file descriptors (thousands of connections at once), new
    /// connections wait: said once, retried with back-off, never a spin;
    /// a stream the API server does not open within 30 s is closed.
    ///
    /// ```rhai
    /// let pf = port_forward("svc/grafana", 3000, #{namespace: "monitoring"});
    /// print("http://127.0.0.1:" + pf.local_port);
    /// port_forward("deploy/web", "18081:8080");
    /// ```
    #[rhai_fn(name = "port_forward", return_raw)]
    pub fn port_forward(
        ctx: NativeCallContext,
        target: &str,
        port: Dynamic,
        options: Map,
    ) -> Result<PortForward, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("port_forward", options, FORWARD_OPTS)?;
        let (ns, ports, ip) = forward_opts(&h, "port_forward", &o, &port)?;
        Ok(PortForward(start(
            &h,
            "port_forward",
            target,
            ports,
            &ns,
            ip,
        )?))
    }

    /// `port_forward` with default options.
    #[rhai_fn(name = "port_forward", return_raw)]
    pub fn port_forward2(
        ctx: NativeCallContext,
        target: &str,
        port: Dynamic,
    ) -> Result<PortForward, Box<EvalAltResult>> {
        port_forward(ctx, target, port, Map::new())
    }

    /// The local port of a forward.
    #[rhai_fn(get = "local_port")]
    pub fn local_port(f: &mut PortForward) -> i64 {
        f.0.local.port() as i64
    }

    /// The local address of a forward.
    #[rhai_fn(get = "address")]
    pub fn address(f: &mut PortForward) -> String {
        f.0.local.ip().to_string()
    }

    /// Stop a forward.
    #[rhai_fn(name = "stop", return_raw)]
    pub fn stop_forward(
        ctx: NativeCallContext,
        f: &mut PortForward,
    ) -> Result<(), Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("port_forward.stop", String::new);
        stop(&h, &f.0);
        Ok(())
    }

    /// Text of a forward.
    #[rhai_fn(name = "to_string", name = "to_debug")]
    pub fn forward_string(f: &mut PortForward) -> String {
        format!("PortForward({})", f.0.description)
    }

    /// Run `f` with a forward open; `f` gets `"host:port"`. The forward is
    /// stopped afterwards, also on error. Options as for `port_forward`.
    ///
    /// ```rhai
    /// with_port_forward("svc/prometheus", 9090, #{namespace: "monitoring"}, |addr| {
    ///     sh("curl -s http://" + addr + "/-/ready");
    /// });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn with_port_forward(
        ctx: NativeCallContext,
        target: &str,
        port: Dynamic,
        options: Map,
        f: FnPtr,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("with_port_forward", options, FORWARD_OPTS)?;
        let (ns, ports, ip) = forward_opts(&h, "with_port_forward", &o, &port)?;
        let pf = start(&h, "with_port_forward", target, ports, &ns, ip)?;
        let r = f.call_within_context::<Dynamic>(&ctx, (Dynamic::from(pf.local.to_string()),));
        stop(&h, &pf);
        r
    }

    /// Forward the registry Service (labels `app.kubernetes.io/part-of=scaffolding`,
    /// `app.kubernetes.io/name=registry`, any namespace) to `localhost:5000`,
    /// run `f` with `"localhost:5000"` (and `REGISTRY` set for commands), then
    /// stop the forward, also on failure.
    #[rhai_fn(name = "with_registry", return_raw)]
    pub fn with_registry(ctx: NativeCallContext, f: FnPtr) -> Result<Dynamic, Box<EvalAltResult>> {
        with_registry_opts(ctx, Map::new(), f)
    }

    /// `with_registry` with options: `local_port` (default 5000, the port
    /// users' push commands name; taken is an error).
    #[rhai_fn(name = "with_registry", return_raw)]
    pub fn with_registry_opts(
        ctx: NativeCallContext,
        options: Map,
        f: FnPtr,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("with_registry", options, &["local_port"])?;
        let pf = registry_forward(&h, "with_registry", &o)?;
        let registry = format!("localhost:{}", pf.local.port());
        h.set_scoped_env("REGISTRY", &registry);
        let r = f.call_within_context::<Dynamic>(&ctx, (Dynamic::from(registry),));
        h.unset_scoped_env("REGISTRY");
        stop(&h, &pf);
        r
    }

    /// The original's exec_with_registry.sh: forward the registry to
    /// `localhost:5000`, run `cmd` (string or argv) with `REGISTRY` set, stop
    /// the forward. Returns `#{code, stdout, stderr, duration}`; a non-zero
    /// exit is an error. Options: `local_port`.
    ///
    /// ```rhai
    /// exec_with_registry("crane push image.tar $REGISTRY/netperf:latest");
    /// ```
    #[rhai_fn(name = "exec_with_registry", return_raw)]
    pub fn exec_with_registry(
        ctx: NativeCallContext,
        cmd: Dynamic,
        options: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("exec_with_registry", options, &["local_port"])?;
        let c = crate::api::shell::to_cmd("exec_with_registry", &cmd)?;
        let pf = registry_forward(&h, "exec_with_registry", &o)?;
        let (mut opts, _) = crate::api::shell::base_opts(&h, "exec_with_registry", None)?;
        opts.env
            .push(("REGISTRY".into(), format!("localhost:{}", pf.local.port())));
        opts.capture = true;
        let out = crate::api::shell::run(&h, "exec_with_registry", &c, &opts);
        stop(&h, &pf);
        let out = out?;
        if out.code != 0 {
            return Err(error(crate::api::shell::failure(
                "exec_with_registry",
                &c,
                &out,
            )));
        }
        Ok(crate::api::shell::output_map(&out))
    }

    /// `exec_with_registry` with default options.
    #[rhai_fn(name = "exec_with_registry", return_raw)]
    pub fn exec_with_registry1(
        ctx: NativeCallContext,
        cmd: Dynamic,
    ) -> Result<Map, Box<EvalAltResult>> {
        exec_with_registry(ctx, cmd, Map::new())
    }

    /// Query Prometheus through a port-forward to its Service (default
    /// `monitoring/prometheus`, port 9090). Instant queries return
    /// `[#{metric, value, time}]`; with `range` (seconds back from `at`, or
    /// now) and `step` (default 15) they return `[#{metric, values: [[time,
    /// value]]}]`. Values are numbers. Options: `at` (unix seconds), `range`,
    /// `step`, `service` (`"ns/name"` or `"ns/name:port"`).
    ///
    /// ```rhai
    /// let cpu = prom_query("sum(rate(node_cpu_seconds_total{mode!='idle'}[1m]))");
    /// record("cpu_cores", cpu[0].value);
    /// ```
    #[rhai_fn(name = "prom_query", return_raw)]
    pub fn prom_query(
        ctx: NativeCallContext,
        promql: &str,
        options: Map,
    ) -> Result<rhai::Array, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("prom_query", || format!("{promql:?}"));
        let o = Opts::new("prom_query", options, &["at", "range", "step", "service"])?;
        let svc = prom::Service::parse(o.string("service")?.as_deref())
            .map_err(|e| error(format!("prom_query: {e}")))?;
        let q = prom::Query {
            at: o.float("at")?.unwrap_or_else(prom::now),
            range: o.float("range")?,
            step: o.float("step")?.unwrap_or(15.0),
        };
        let ports = Ports {
            local: None,
            remote: svc.port,
        };
        let target = format!("svc/{}", svc.name);
        let pf = start(&h, "prom_query", &target, ports, &svc.namespace, LOCALHOST)?;
        let r = block_on(&h, crate::net::get_local(pf.local, &prom::path(promql, &q)));
        stop(&h, &pf);
        let (code, body) = r?.map_err(|e| error(format!("prom_query: {e}")))?;
        let series = prom::parse(code, &body).map_err(|e| error(format!("prom_query: {e}")))?;
        series.iter().map(rhai::serde::to_dynamic).collect()
    }

    /// Collect a metrics profile over the run's window, as kube-burner's
    /// metrics profiles do: every entry `#{name, query, unit}` runs as a
    /// range query from `start` to `end` by `step`, and each series it
    /// returns is recorded into results.json (the entry's name, or
    /// `name{label="value",...}` when the query returns several; the labels
    /// are its tags), summarised like any series. `profile` is a YAML file
    /// (see docs/metrics.md and stdlib/metrics/), YAML text, or an array of
    /// maps. Options: `start` (unix seconds; default the run's start),
    /// `end` (default now), `step` (seconds; default about 250 points),
    /// `service` (as prom_query), `record` (true). Entries may carry an
    /// alert rule (`alert`, `severity` error|warning, `description`,
    /// `for`): a fired warning is said, a fired error fails the call; all
    /// are kept in results.json (`alerts`). Returns
    /// `#{start, end, step, series: #{name: points}, alerts}`. A query
    /// Prometheus refuses is an error that names the entry.
    ///
    /// ```rhai
    /// collect_metrics(root_dir() + "/stdlib/metrics/node.yaml");
    /// collect_metrics([#{name: "apiserver_rps", query: "sum(rate(apiserver_request_total[1m]))", unit: "1/s"}], #{step: 5});
    /// ```
    #[rhai_fn(name = "collect_metrics", return_raw)]
    pub fn collect_metrics(
        ctx: NativeCallContext,
        profile: Dynamic,
        options: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        let f = "collect_metrics";
        let h = host(&ctx)?;
        let o = Opts::new(f, options, &["start", "end", "step", "service", "record"])?;
        let entries = load_profile(&h, f, &profile)?;
        let svc = prom::Service::parse(o.string("service")?.as_deref())
            .map_err(|e| error(format!("{f}: {e}")))?;
        let end = o.float("end")?.unwrap_or_else(prom::now);
        let start = o.float("start")?.unwrap_or_else(|| run_start(&h));
        if end.is_nan() || start.is_nan() || end <= start {
            return Err(error(format!("{f}: end {end} must be after start {start}")));
        }
        let step = o
            .float("step")?
            .unwrap_or_else(|| prom::default_step(end - start));
        if step.is_nan() || step <= 0.0 {
            return Err(error(format!("{f}: step must be more than 0 seconds")));
        }
        let w = Window {
            start,
            end,
            step,
            svc,
            record: o.bool("record", true)?,
        };
        let (m, failed) = collect_window(&h, f, &entries, &w)?;
        if !failed.is_empty() {
            return Err(error(format!("{f}: {}", failed.join("; "))));
        }
        Ok(m)
    }

    /// `collect_metrics` with default options (the run's window so far).
    #[rhai_fn(name = "collect_metrics", return_raw)]
    pub fn collect_metrics1(
        ctx: NativeCallContext,
        profile: Dynamic,
    ) -> Result<Map, Box<EvalAltResult>> {
        collect_metrics(ctx, profile, Map::new())
    }

    /// `prom_query` with default options (an instant query now).
    #[rhai_fn(name = "prom_query", return_raw)]
    pub fn prom_query1(
        ctx: NativeCallContext,
        promql: &str,
    ) -> Result<rhai::Array, Box<EvalAltResult>> {
        prom_query(ctx, promql, Map::new())
    }
}
