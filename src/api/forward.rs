//! Port-forwards from scripts, registry access and Prometheus queries.

use crate::api::call::{block_on, client, default_ns, error, from_json, k8s_error, RResult};
use crate::api::opts::Opts;
use crate::host::{Host, Owned};
use crate::k8s::http;
use crate::k8s::portforward::{self, Forward, Target};
use rhai::plugin::*;
use rhai::{Dynamic, Map};
use std::sync::Arc;

/// Script handle of a port-forward.
#[derive(Clone)]
pub struct PortForward(pub Arc<Forward>);

/// Start a forward; it ends with `.stop()` or the script.
pub fn start(
    h: &Host,
    func: &str,
    target: &str,
    port: i64,
    ns: &str,
    local_port: u16,
    address: &str,
) -> RResult<Arc<Forward>> {
    let t = Target::parse(target).map_err(|e| error(format!("{func}: {e}")))?;
    let port: u16 =
        u16::try_from(port).map_err(|_| error(format!("{func}: port {port} is not a TCP port")))?;
    let ip: std::net::IpAddr = address
        .parse()
        .map_err(|_| error(format!("{func}: address '{address}' is not an IP address")))?;
    let c = client(h, func)?;
    let _t = h.trace(func, || {
        format!("{target} {port} -> {address}:{local_port}")
    });
    let f = block_on(
        h,
        portforward::start(
            c,
            ns.to_string(),
            t,
            port,
            std::net::SocketAddr::new(ip, local_port),
        ),
    )?
    .map_err(|e| error(format!("{func}: {target} in {ns}: {e}")))?;
    let f = Arc::new(f);
    h.own(Owned::Forward(f.clone()));
    Ok(f)
}

fn stop(h: &Host, f: &Arc<Forward>) {
    f.stop.cancel();
    h.disown(&Owned::Forward(f.clone()));
}

/// The registry Service (labels of SPEC.md), in any namespace: (namespace, name).
fn find_registry(h: &Host, func: &str) -> RResult<(String, String)> {
    let c = client(h, func)?;
    let sel =
        http::urlencode("app.kubernetes.io/part-of=scaffolding,app.kubernetes.io/name=registry");
    let (svcs, _) = block_on(
        h,
        http::list_all(&c, "/api/v1/services", &format!("labelSelector={sel}")),
    )?
    .map_err(|e| k8s_error(h, func, "cannot list services: ", &e))?;
    let names: Vec<(String, String)> = svcs
        .iter()
        .map(|s| {
            (
                s["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                s["metadata"]["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
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

/// Numbers of a Prometheus sample `[time, "value"]`.
fn sample(v: &serde_json::Value) -> (f64, f64) {
    let t = v[0].as_f64().unwrap_or(f64::NAN);
    let x = v[1]
        .as_str()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    (t, x)
}

#[export_module]
pub mod forward_api {
    use super::*;
    use crate::api::call::host;
    use rhai::{EvalAltResult, FnPtr, NativeCallContext};

    /// Forward a local port to `"svc/NAME"` or `"pod/NAME"` (a Service port
    /// maps to its pod's container port) over the API server. Options:
    /// `namespace`, `local_port` (0 or absent: a free port), `address`
    /// (default 127.0.0.1). The handle has `.local_port`, `.address` and
    /// `.stop()`; it also ends with the script. A broken stream or a vanished
    /// pod makes the next connection re-resolve.
    ///
    /// ```rhai
    /// let pf = port_forward("svc/grafana", 3000, #{namespace: "monitoring"});
    /// print("http://127.0.0.1:" + pf.local_port);
    /// ```
    #[rhai_fn(name = "port_forward", return_raw)]
    pub fn port_forward(
        ctx: NativeCallContext,
        target: &str,
        port: i64,
        options: Map,
    ) -> Result<PortForward, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new(
            "port_forward",
            options,
            &["namespace", "local_port", "address"],
        )?;
        let ns = o.string("namespace")?.unwrap_or_else(|| default_ns(&h));
        let lp = o.int("local_port")?.unwrap_or(0);
        let lp = u16::try_from(lp)
            .map_err(|_| error(format!("port_forward: local_port {lp} is not a TCP port")))?;
        let addr = o.string("address")?.unwrap_or_else(|| "127.0.0.1".into());
        Ok(PortForward(start(
            &h,
            "port_forward",
            target,
            port,
            &ns,
            lp,
            &addr,
        )?))
    }

    /// `port_forward` with default options.
    #[rhai_fn(name = "port_forward", return_raw)]
    pub fn port_forward2(
        ctx: NativeCallContext,
        target: &str,
        port: i64,
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
        port: i64,
        options: Map,
        f: FnPtr,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new(
            "with_port_forward",
            options,
            &["namespace", "local_port", "address"],
        )?;
        let ns = o.string("namespace")?.unwrap_or_else(|| default_ns(&h));
        let lp = o.int("local_port")?.unwrap_or(0);
        let lp = u16::try_from(lp).map_err(|_| {
            error(format!(
                "with_port_forward: local_port {lp} is not a TCP port"
            ))
        })?;
        let addr = o.string("address")?.unwrap_or_else(|| "127.0.0.1".into());
        let pf = start(&h, "with_port_forward", target, port, &ns, lp, &addr)?;
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
        let lp = o.int("local_port")?.unwrap_or(5000);
        let lp = u16::try_from(lp)
            .map_err(|_| error(format!("with_registry: local_port {lp} is not a TCP port")))?;
        let (ns, svc) = find_registry(&h, "with_registry")?;
        let pf = start(
            &h,
            "with_registry",
            &format!("svc/{svc}"),
            5000,
            &ns,
            lp,
            "127.0.0.1",
        )?;
        let registry = format!("localhost:{}", pf.local.port());
        h.scoped_env
            .lock()
            .unwrap()
            .push(("REGISTRY".into(), registry.clone()));
        let r = f.call_within_context::<Dynamic>(&ctx, (Dynamic::from(registry),));
        h.scoped_env
            .lock()
            .unwrap()
            .retain(|(k, _)| k != "REGISTRY");
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
        let lp = o.int("local_port")?.unwrap_or(5000);
        let lp = u16::try_from(lp).map_err(|_| {
            error(format!(
                "exec_with_registry: local_port {lp} is not a TCP port"
            ))
        })?;
        let c = crate::api::shell::to_cmd("exec_with_registry", &cmd)?;
        let (ns, svc) = find_registry(&h, "exec_with_registry")?;
        let pf = start(
            &h,
            "exec_with_registry",
            &format!("svc/{svc}"),
            5000,
            &ns,
            lp,
            "127.0.0.1",
        )?;
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
        let svc = o
            .string("service")?
            .unwrap_or_else(|| "monitoring/prometheus".into());
        let (ns, rest) = svc.split_once('/').unwrap_or(("monitoring", svc.as_str()));
        let (name, port) = match rest.split_once(':') {
            Some((n, p)) => (
                n,
                p.parse::<i64>()
                    .map_err(|_| error(format!("prom_query: bad port in service '{svc}'")))?,
            ),
            None => (rest, 9090),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let at = o.float("at")?.unwrap_or(now);
        let path = match o.float("range")? {
            Some(range) => {
                let step = o.float("step")?.unwrap_or(15.0);
                format!(
                    "/api/v1/query_range?query={}&start={}&end={at}&step={step}",
                    http::urlencode(promql),
                    at - range
                )
            }
            None => format!("/api/v1/query?query={}&time={at}", http::urlencode(promql)),
        };
        let pf = start(
            &h,
            "prom_query",
            &format!("svc/{name}"),
            port,
            ns,
            0,
            "127.0.0.1",
        )?;
        let r = block_on(&h, crate::net::get_local(pf.local, &path));
        stop(&h, &pf);
        let (code, body) = r?.map_err(|e| error(format!("prom_query: {e}")))?;
        let v: serde_json::Value = serde_json::from_str(&body).map_err(|_| {
            error(format!(
                "prom_query: Prometheus answered {code}: {}",
                body.trim()
            ))
        })?;
        if v["status"] != "success" {
            return Err(error(format!(
                "prom_query: Prometheus: {}: {}",
                v["errorType"].as_str().unwrap_or("error"),
                v["error"].as_str().unwrap_or(body.trim())
            )));
        }
        let data = &v["data"];
        let out: rhai::Array = match data["resultType"].as_str().unwrap_or("") {
            "vector" => data["result"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|s| {
                    let (t, x) = sample(&s["value"]);
                    let mut m = Map::new();
                    m.insert("metric".into(), from_json(&s["metric"]));
                    m.insert("value".into(), Dynamic::from(x));
                    m.insert("time".into(), Dynamic::from(t));
                    Dynamic::from_map(m)
                })
                .collect(),
            "matrix" => data["result"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|s| {
                    let values: rhai::Array = s["values"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .map(|v| {
                            let (t, x) = sample(v);
                            Dynamic::from_array(vec![Dynamic::from(t), Dynamic::from(x)])
                        })
                        .collect();
                    let mut m = Map::new();
                    m.insert("metric".into(), from_json(&s["metric"]));
                    m.insert("values".into(), Dynamic::from_array(values));
                    Dynamic::from_map(m)
                })
                .collect(),
            _ => {
                let (t, x) = sample(&data["result"]);
                let mut m = Map::new();
                m.insert("value".into(), Dynamic::from(x));
                m.insert("time".into(), Dynamic::from(t));
                vec![Dynamic::from_map(m)]
            }
        };
        Ok(out)
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
