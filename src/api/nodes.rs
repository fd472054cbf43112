//! ron (Run On Node), ron_all and node sessions: Rhai wrappers over
//! `k8s/ron` and `k8s/session`.

use crate::api::call::{block_on, client, default_ns, error, k8s_error, RResult};
use crate::api::objects::DEFAULT_TIMEOUT;
use crate::api::opts::Opts;
use crate::host::{Host, Owned};
use crate::k8s::ron::{self, Cleanup, Created, Spec};
use crate::k8s::session::{self, Session};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};
use std::sync::{Arc, Mutex};

pub const RON_OPTS: &[&str] = &[
    "node",
    "cmd",
    "image",
    "pod_name",
    "namespace",
    "nsenter",
    "nsenter_binary",
    "nsenter_opts",
    "mounts",
    "configmap_name",
    "pvc",
    "pvc_name",
    "pvc_size",
    "pvc_access_mode",
    "manage_pvc",
    "auto_copy",
    "auto_copy_dest",
    "cleanup",
    "retry_attempts",
    "retry_delay",
    "show_events",
    "check",
    "timeout",
];

const SESSION_OPTS: &[&str] = &["image", "namespace", "nsenter", "nsenter_opts", "timeout"];

/// A Spec from script options (SPEC.md defaults from `Spec::new`; the
/// script's own differences are listed there).
pub fn spec_from(
    h: &Arc<Host>,
    func: &str,
    o: &Opts,
    node: &str,
    cmd: &Dynamic,
) -> RResult<(Spec, bool)> {
    let argv = crate::api::shell::to_cmd(func, cmd)?.argv();
    let mut s = Spec::new(node, argv, h.run_id());
    let name = |key: &str, default: &str| -> RResult<String> {
        let base = o.string(key)?.unwrap_or_else(|| default.to_string());
        Ok(ron::object_name(&base, node, h.run_id(), None))
    };
    let e = |m: String| error(format!("{func}: {m}"));
    s.pod_name = name("pod_name", &s.pod_name)?;
    s.configmap_name = name("configmap_name", &s.configmap_name)?;
    s.manage_pvc = o.bool("manage_pvc", s.manage_pvc)?;
    s.pvc_name = match (s.manage_pvc, o.string("pvc_name")?) {
        (true, _) => name("pvc_name", &s.pvc_name)?,
        (false, given) => given.unwrap_or(s.pvc_name),
    };
    s.namespace = o.string("namespace")?.unwrap_or_else(|| default_ns(h));
    s.image = o.string("image")?.unwrap_or(s.image);
    s.nsenter = o.bool("nsenter", s.nsenter)?;
    s.nsenter_binary = o.string("nsenter_binary")?.unwrap_or(s.nsenter_binary);
    s.nsenter_opts = o.string("nsenter_opts")?.unwrap_or(s.nsenter_opts);
    let mounts: Vec<_> = o
        .strings("mounts")?
        .unwrap_or_default()
        .iter()
        .map(|p| h.resolve_path(p))
        .collect();
    s.files = ron::spec::read_mounts(&mounts).map_err(e)?;
    s.pvc = o.bool("pvc", s.pvc)?;
    s.pvc_size = o.string("pvc_size")?.unwrap_or(s.pvc_size);
    s.pvc_access_mode = o.string("pvc_access_mode")?.unwrap_or(s.pvc_access_mode);
    s.auto_copy = o.bool("auto_copy", s.auto_copy)?;
    s.auto_copy_dest = match o.string("auto_copy_dest")? {
        Some(d) => h.resolve_path(&d),
        None => h
            .run_dir()
            .unwrap_or_else(|_| h.settings().script_dir.clone())
            .join(format!("{}.tar.gz", s.pod_name)),
    };
    s.cleanup = Cleanup::parse(o.string("cleanup")?.as_deref().unwrap_or("all")).map_err(e)?;
    s.retry_attempts = o
        .int("retry_attempts")?
        .map(|n| n.max(0) as u32)
        .unwrap_or(s.retry_attempts);
    s.retry_delay = o.duration("retry_delay")?.unwrap_or(s.retry_delay);
    s.show_events = o.bool("show_events", s.show_events)?;
    s.timeout = o.duration("timeout")?.unwrap_or(s.timeout);
    s.spill = Some(h.spill_dir());
    Ok((s, o.bool("check", true)?))
}

fn terminal() -> ron::Out {
    Arc::new(|l: &str| crate::ui::out(l))
}

/// Run specs concurrently (at most 8 at a time), then clean up after every
/// one of them, shielded from Ctrl-C, saying loudly what was left.
fn run_specs(h: &Host, func: &str, specs: &[Spec]) -> RResult<Vec<Result<ron::Outcome, String>>> {
    let c = client(h, func)?;
    let createds: Vec<Arc<Mutex<Created>>> = specs.iter().map(ron::new_created).collect();
    for s in specs {
        h.uses_namespace(&s.namespace);
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(8));
    let runs = specs.iter().zip(&createds).map(|(s, cr)| {
        let (c, limit, cr) = (c.clone(), limit.clone(), cr.clone());
        async move {
            let _p = limit.acquire().await;
            ron::run(&c, s, cr, terminal()).await
        }
    });
    let results = h.block_on(futures::future::join_all(runs));
    let left: Vec<String> = h.interrupt().shielded(|| {
        let cleanups = specs.iter().zip(&createds).map(|(s, cr)| {
            let done = cr.lock().unwrap().clone();
            let c = c.clone();
            async move { ron::cleanup(&c, &done, &s.cleanup, s.manage_pvc).await }
        });
        h.rt()
            .block_on(futures::future::join_all(cleanups))
            .into_iter()
            .flatten()
            .collect()
    });
    h.report_left(func, &left);
    results.map_err(|_| crate::api::call::interrupted())
}

fn outcome_map(o: &ron::Outcome) -> Map {
    let mut m = Map::new();
    m.insert("code".into(), Dynamic::from(o.code as i64));
    m.insert("logs".into(), Dynamic::from(o.logs.clone()));
    let artifacts = o
        .artifacts
        .as_ref()
        .map(|p| Dynamic::from(p.display().to_string()));
    m.insert("artifacts".into(), artifacts.unwrap_or(Dynamic::UNIT));
    if let Some(n) = &o.logs_note {
        m.insert("logs_note".into(), Dynamic::from(n.clone()));
    }
    m
}

/// `ron_all`'s result: node -> outcome or `#{error}`, and the failures.
fn per_node(names: &[String], results: Vec<Result<ron::Outcome, String>>) -> (Map, Vec<String>) {
    let mut m = Map::new();
    let mut failed = vec![];
    for (n, r) in names.iter().zip(results) {
        let v = match r {
            Ok(o) => {
                if o.code != 0 {
                    failed.push(format!("{n}: exited with code {}", o.code));
                }
                outcome_map(&o)
            }
            Err(e) => {
                failed.push(format!("{n}: {e}"));
                let mut x = Map::new();
                x.insert("error".into(), Dynamic::from(e));
                x
            }
        };
        m.insert(n.as_str().into(), Dynamic::from_map(v));
    }
    (m, failed)
}

/// Script handle of a node session.
#[derive(Clone)]
pub struct SessionHandle(pub Arc<Session>);

/// Open a session: the pod is recorded before it is created and deleted
/// if opening fails or is interrupted.
fn open_session(h: &Arc<Host>, node: &str, o: &Opts) -> RResult<Arc<Session>> {
    let nsenter = o.bool("nsenter", true)?;
    let number = h.next_session();
    let so = session::Options {
        node: node.to_string(),
        namespace: o.string("namespace")?.unwrap_or_else(|| default_ns(h)),
        image: o.string("image")?.unwrap_or_else(|| "alpine".into()),
        nsenter_opts: nsenter
            .then(|| o.string("nsenter_opts"))
            .transpose()?
            .map(|x| x.unwrap_or_else(|| session::NSENTER_OPTS.into())),
        run_id: h.run_id().to_string(),
        number,
        timeout: o.duration("timeout")?.unwrap_or(DEFAULT_TIMEOUT),
        spill: Some(h.spill_dir()),
    };
    let c = client(h, "node_session")?;
    h.uses_namespace(&so.namespace);
    let created = Session::created_for(&so);
    let r = h.block_on(Session::open(&c, &so, &created));
    if let Ok(Ok(s)) = r {
        return Ok(Arc::new(s));
    }
    let done = created.lock().unwrap().clone();
    let left = h.interrupt().shielded(|| {
        h.rt()
            .block_on(ron::cleanup(&c, &done, &Cleanup::All, false))
    });
    h.report_left("node_session", &left);
    match r {
        Err(_) => Err(crate::api::call::interrupted()),
        Ok(Err(e)) => Err(error(format!("node_session: {e}"))),
        Ok(Ok(_)) => unreachable!("returned above"),
    }
}

/// The options of a default session (image `alpine`, the host's
/// namespaces) on each of `nodes`, its pod in `ns`, numbered by the run.
pub fn session_options(h: &Arc<Host>, nodes: &[String], ns: &str) -> Vec<session::Options> {
    nodes
        .iter()
        .map(|node| session::Options {
            node: node.clone(),
            namespace: ns.to_string(),
            image: "alpine".into(),
            nsenter_opts: Some(session::NSENTER_OPTS.into()),
            run_id: h.run_id().to_string(),
            number: h.next_session(),
            timeout: DEFAULT_TIMEOUT,
            spill: Some(h.spill_dir()),
        })
        .collect()
}

/// A session on each of `nodes` for `func` (in `ns`, else the default
/// namespace), opened at once and owned by the run; on any failure the
/// ones opened are closed and the error names the node.
pub fn open_sessions(
    h: &Arc<Host>,
    func: &str,
    nodes: &[String],
    ns: Option<String>,
) -> RResult<Vec<Arc<Session>>> {
    let c = client(h, func)?;
    let ns = ns.unwrap_or_else(|| default_ns(h));
    h.uses_namespace(&ns);
    let opts = session_options(h, nodes, &ns);
    let created: Vec<_> = opts.iter().map(Session::created_for).collect();
    let opened = block_on(
        h,
        futures::future::join_all(
            opts.iter()
                .zip(&created)
                .map(|(so, cr)| Session::open(&c, so, cr)),
        ),
    )?;
    let mut ok = vec![];
    let mut failed = None;
    for ((r, cr), so) in opened.into_iter().zip(&created).zip(&opts) {
        match r {
            Ok(s) => {
                let s = Arc::new(s);
                h.own(Owned::Session(s.clone()));
                ok.push(s);
            }
            Err(e) => {
                let done = cr.lock().unwrap().clone();
                let left = h.interrupt().shielded(|| {
                    h.rt()
                        .block_on(ron::cleanup(&c, &done, &Cleanup::All, false))
                });
                h.report_left(func, &left);
                failed.get_or_insert(format!("no session on {}: {e}", so.node));
            }
        }
    }
    if let Some(e) = failed {
        close_sessions(h, func, &ok);
        return Err(error(format!("{func}: {e}")));
    }
    Ok(ok)
}

/// Close sessions `open_sessions` opened.
pub fn close_sessions(h: &Arc<Host>, func: &str, sessions: &[Arc<Session>]) {
    for s in sessions {
        let left = h.interrupt().shielded(|| h.rt().block_on(s.close()));
        h.report_left(func, &left);
        h.disown(&Owned::Session(s.clone()));
    }
}

#[export_module]
pub mod nodes_api {
    use super::*;
    use crate::api::call::host;
    use rhai::{EvalAltResult, NativeCallContext};

    /// Run On Node: run `cmd` (string through `sh -c`, or argv) on `node` in
    /// a privileged pod (hostPID, hostNetwork, container `main`, image
    /// `alpine`), stream its logs, and return `#{code, logs, artifacts}`.
    /// A non-zero exit is an error unless `check: false`. Objects are named
    /// per node and run, labelled, and deleted afterwards (also on error and
    /// Ctrl-C).
    ///
    /// ```rhai
    /// ron("minikube-m03", "ethtool -l eth0");
    /// ```
    #[rhai_fn(name = "ron", return_raw)]
    pub fn ron2(
        ctx: NativeCallContext,
        node: &str,
        cmd: Dynamic,
    ) -> Result<Map, Box<EvalAltResult>> {
        let mut m = Map::new();
        m.insert("node".into(), Dynamic::from(node.to_string()));
        m.insert("cmd".into(), cmd);
        ron_map(ctx, m)
    }

    /// `ron` with options, one per flag of `scaffold ron`: `node`, `cmd`,
    /// `image`, `pod_name`, `namespace`, `nsenter` (prefix the command with
    /// `nsenter_binary nsenter_opts`, default `nsenter -t 1 -u -i -n -p`),
    /// `mounts` (files put in a ConfigMap at /configs), `configmap_name`,
    /// `pvc` (a PVC at /store plus a `sleep` container for the copy-out),
    /// `pvc_name`, `pvc_size` ("1Gi"), `pvc_access_mode`, `manage_pvc`
    /// (true), `auto_copy` (true: tar.gz /store to `auto_copy_dest`, default
    /// in the run's artifacts), `cleanup` ("all", "pod", "pvc", "none"),
    /// `retry_attempts` (15), `retry_delay` (1 s; image pulls the kubelet
    /// retries are waited through for attempts x delay), `show_events`,
    /// `check`, `timeout` (s, default 24 h). While a claim is being bound
    /// the run waits and says so; any other scheduling failure is reported
    /// at once. The result's `logs` keeps the last 16 MiB of the output
    /// (`logs_note` says when it is cut and where the whole output is).
    ///
    /// ```rhai
    /// let r = ron(#{node: "kind-worker", cmd: "cp /configs/* /store/", mounts: ["perf.sh"], pvc: true});
    /// print(r.artifacts);
    /// ```
    #[rhai_fn(name = "ron", return_raw)]
    pub fn ron_map(ctx: NativeCallContext, options: Map) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("ron", options, RON_OPTS)?;
        let node = o
            .string("node")?
            .ok_or_else(|| error("ron: option 'node' is required"))?;
        let cmd = o
            .raw("cmd")
            .cloned()
            .ok_or_else(|| error("ron: option 'cmd' is required"))?;
        let (spec, check) = spec_from(&h, "ron", &o, &node, &cmd)?;
        let _t = h.trace("ron", || {
            format!(
                "{} on {node}: {}",
                spec.pod_name,
                crate::shell::Cmd::Argv(spec.argv.clone()).display()
            )
        });
        let out = run_specs(&h, "ron", std::slice::from_ref(&spec))?
            .pop()
            .expect("one result")
            .map_err(|e| error(format!("ron: {e}")))?;
        if check && out.code != 0 {
            let tail =
                crate::util::tail_note("its output", &crate::util::last_lines(&out.logs, 10));
            return Err(error(format!(
                "ron: command exited with code {} on node {node}{tail}",
                out.code
            )));
        }
        Ok(outcome_map(&out))
    }

    /// The same command on many nodes at once (at most 8 at a time); output
    /// lines are prefixed with the node name. Returns a map node -> result
    /// (`#{code, logs, artifacts}`, or `#{error}`); with `check` (default
    /// true) a failure on any node is an error listing every failed node,
    /// after all have finished. Options as for `ron`.
    ///
    /// ```rhai
    /// let r = ron_all(nodes().map(|n| n.name), "sysctl -w net.ipv4.conf.all.rp_filter=0", #{nsenter: true});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn ron_all(
        ctx: NativeCallContext,
        nodes: Array,
        cmd: Dynamic,
        options: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("ron_all", options, RON_OPTS)?;
        let names: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
        if names.is_empty() {
            return Err(error("ron_all: no nodes given"));
        }
        let mut specs = vec![];
        for n in &names {
            let (mut s, _) = spec_from(&h, "ron_all", &o, n, &cmd)?;
            s.prefix = format!("[{n}] ");
            if s.pvc {
                s.auto_copy_dest = s
                    .auto_copy_dest
                    .with_file_name(format!("{}.tar.gz", s.pod_name));
            }
            specs.push(s);
        }
        let _t = h.trace("ron_all", || format!("{} nodes", names.len()));
        let (m, failed) = per_node(&names, run_specs(&h, "ron_all", &specs)?);
        if o.bool("check", true)? && !failed.is_empty() {
            return Err(error(format!(
                "ron_all: {} of {} nodes failed:\n  {}",
                failed.len(),
                names.len(),
                failed.join("\n  ")
            )));
        }
        Ok(m)
    }

    /// `ron_all` with default options.
    #[rhai_fn(name = "ron_all", return_raw)]
    pub fn ron_all2(
        ctx: NativeCallContext,
        nodes: Array,
        cmd: Dynamic,
    ) -> Result<Map, Box<EvalAltResult>> {
        ron_all(ctx, nodes, cmd, Map::new())
    }

    /// A privileged pod kept on a node: `.exec(cmd)` runs commands in the
    /// node's namespaces (through nsenter) without a pod start each and
    /// returns `#{code, stdout, stderr}`; `.copy_from(path, dest)` copies a
    /// file or directory from the node to a local tar.gz; `.close()` deletes
    /// the pod (also done at script end and on Ctrl-C). Options: `image`
    /// ("alpine"), `namespace`, `nsenter` (true), `nsenter_opts` ("-t 1 -m
    /// -u -i -n -p"), `timeout` (for the pod to start, default 300 s).
    /// A session keeps the cluster it was opened on.
    ///
    /// ```rhai
    /// let s = node_session("kind-worker");
    /// for q in 0..4 { print(s.exec("cat /proc/interrupts | grep eth0-" + q).stdout); }
    /// s.close();
    /// ```
    #[rhai_fn(name = "node_session", return_raw)]
    pub fn node_session(
        ctx: NativeCallContext,
        node: &str,
        options: Map,
    ) -> Result<SessionHandle, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("node_session", || format!("{node:?}"));
        let o = Opts::new("node_session", options, SESSION_OPTS)?;
        let s = open_session(&h, node, &o)?;
        h.own(Owned::Session(s.clone()));
        Ok(SessionHandle(s))
    }

    /// `node_session` with default options.
    #[rhai_fn(name = "node_session", return_raw)]
    pub fn node_session1(
        ctx: NativeCallContext,
        node: &str,
    ) -> Result<SessionHandle, Box<EvalAltResult>> {
        node_session(ctx, node, Map::new())
    }

    /// Run a command on the session's node: `#{code, stdout, stderr}`;
    /// non-zero exits are returned, not raised. A command is never run
    /// twice: when the session's connection breaks while it runs, that is
    /// an error.
    #[rhai_fn(name = "exec", return_raw)]
    pub fn session_exec(
        ctx: NativeCallContext,
        s: &mut SessionHandle,
        cmd: Dynamic,
    ) -> Result<Map, Box<EvalAltResult>> {
        session_exec_opts(ctx, s, cmd, Map::new())
    }

    /// `exec` with options: `timeout` (seconds, default 300; the session's
    /// shell is replaced when a command outlives it).
    #[rhai_fn(name = "exec", return_raw)]
    pub fn session_exec_opts(
        ctx: NativeCallContext,
        s: &mut SessionHandle,
        cmd: Dynamic,
        options: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("exec", options, &["timeout"])?;
        let timeout = o.duration("timeout")?.unwrap_or(DEFAULT_TIMEOUT);
        let c = crate::api::shell::to_cmd("exec", &cmd)?;
        let _t = h.trace("session.exec", || format!("{}: {}", s.0.node, c.display()));
        let out = block_on(&h, s.0.exec(&c, timeout))?
            .map_err(|e| k8s_error(&h, "exec", &format!("session on {}: ", s.0.node), &e))?;
        Ok(crate::api::objects::exec_map(out))
    }

    /// Copy a file or directory of the node into a local tar.gz `dest`
    /// (relative to the script); returns the path.
    #[rhai_fn(name = "copy_from", return_raw)]
    pub fn copy_from(
        ctx: NativeCallContext,
        s: &mut SessionHandle,
        path: &str,
        dest: &str,
    ) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("session.copy_from", || format!("{path:?}, {dest:?}"));
        let d = h.resolve_path(dest);
        block_on(&h, s.0.copy_from(path, &d))?
            .map(|p| p.display().to_string())
            .map_err(|e| error(format!("copy_from: {e}")))
    }

    /// Delete the session's pod.
    #[rhai_fn(name = "close", return_raw)]
    pub fn close(ctx: NativeCallContext, s: &mut SessionHandle) -> Result<(), Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("session.close", String::new);
        let left = h.interrupt().shielded(|| h.rt().block_on(s.0.close()));
        h.disown(&Owned::Session(s.0.clone()));
        h.report_left("session.close", &left);
        Ok(())
    }

    /// The session's node.
    #[rhai_fn(get = "node")]
    pub fn node(s: &mut SessionHandle) -> String {
        s.0.node.clone()
    }

    /// Text of a session.
    #[rhai_fn(name = "to_string", name = "to_debug")]
    pub fn session_string(s: &mut SessionHandle) -> String {
        format!("NodeSession({} on {})", s.0.pod, s.0.node)
    }
}
