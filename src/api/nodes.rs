//! ron (Run On Node), ron_all and node sessions.

use crate::api::cluster::k8s_error;
use crate::api::opts::Opts;
use crate::api::{block_on, error, RResult};
use crate::host::Host;
use crate::k8s::ron::{self, Cleanup, Created, Spec};
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

fn client(h: &Host, func: &str) -> RResult<kube::Client> {
    h.cluster()
        .map(|c| c.client)
        .map_err(|e| error(format!("{func}: {e}")))
}

fn argv_of(func: &str, cmd: &Dynamic) -> RResult<Vec<String>> {
    Ok(match crate::api::shell::to_cmd(func, cmd)? {
        crate::shell::Cmd::Shell(s) => vec!["sh".into(), "-c".into(), s],
        crate::shell::Cmd::Argv(v) => v,
    })
}

/// Mounted files: base names must be unique; read before anything is created.
pub fn read_mounts(func: &str, h: &Host, paths: &[String]) -> RResult<Vec<(String, Vec<u8>)>> {
    let mut files: Vec<(String, Vec<u8>)> = vec![];
    for p in paths {
        let path = h.resolve_path(p);
        let base = path
            .file_name()
            .map(|b| b.to_string_lossy().to_string())
            .unwrap_or_default();
        if files.iter().any(|(b, _)| *b == base) {
            return Err(error(format!("{func}: two mounted files have the base name '{base}'; ConfigMap keys must differ (rename one)")));
        }
        let body = std::fs::read(&path)
            .map_err(|e| error(format!("{func}: cannot read mount {}: {e}", path.display())))?;
        files.push((base, body));
    }
    Ok(files)
}

/// A Spec from script options; `suffix` names objects per node and run.
pub fn spec_from(
    h: &Host,
    func: &str,
    o: &Opts,
    node: &str,
    cmd: &Dynamic,
    suffix: bool,
) -> RResult<(Spec, bool)> {
    let name = |key: &str, default: &str| -> RResult<String> {
        let base = o.string(key)?.unwrap_or_else(|| default.to_string());
        Ok(if suffix {
            ron::dns_name(&[&base, node, &h.run_id])
        } else {
            base
        })
    };
    let cleanup = match o.string("cleanup")?.as_deref().unwrap_or("all") {
        "all" => Cleanup::All,
        "pod" => Cleanup::Pod,
        "pvc" => Cleanup::Pvc,
        "none" => Cleanup::None,
        other => {
            return Err(error(format!(
                "{func}: cleanup must be \"all\", \"pod\", \"pvc\" or \"none\", got \"{other}\""
            )))
        }
    };
    let mounts = o.strings("mounts")?.unwrap_or_default();
    let pod_name = name("pod_name", "ron")?;
    let dest = o
        .string("auto_copy_dest")?
        .map(|d| h.resolve_path(&d))
        .unwrap_or_else(|| {
            h.run_dir()
                .unwrap_or_else(|_| h.settings.script_dir.clone())
                .join(format!("{pod_name}.tar.gz"))
        });
    let spec = Spec {
        node: node.to_string(),
        argv: argv_of(func, cmd)?,
        pod_name,
        image: o.string("image")?.unwrap_or_else(|| "alpine".into()),
        namespace: o.string("namespace")?.unwrap_or_else(|| {
            h.target()
                .map(|t| t.namespace)
                .unwrap_or_else(|_| "default".into())
        }),
        nsenter: o.bool("nsenter", false)?,
        nsenter_binary: o
            .string("nsenter_binary")?
            .unwrap_or_else(|| "nsenter".into()),
        nsenter_opts: o
            .string("nsenter_opts")?
            .unwrap_or_else(|| "-t 1 -u -i -n -p".into()),
        files: read_mounts(func, h, &mounts)?,
        configmap_name: name("configmap_name", "roncm")?,
        pvc: o.bool("pvc", false)?,
        pvc_name: if o.bool("manage_pvc", true)? {
            name("pvc_name", "ron-pvc")?
        } else {
            o.string("pvc_name")?.unwrap_or_else(|| "ron-pvc".into())
        },
        pvc_size: o.string("pvc_size")?.unwrap_or_else(|| "1Gi".into()),
        pvc_access_mode: o
            .string("pvc_access_mode")?
            .unwrap_or_else(|| "ReadWriteOnce".into()),
        manage_pvc: o.bool("manage_pvc", true)?,
        auto_copy: o.bool("auto_copy", true)?,
        auto_copy_dest: dest,
        cleanup,
        retry_attempts: o.int("retry_attempts")?.unwrap_or(15).max(0) as u32,
        retry_delay: o
            .duration("retry_delay")?
            .unwrap_or(std::time::Duration::from_secs(1)),
        show_events: o.bool("show_events", false)?,
        run_id: h.run_id.clone(),
        timeout: o
            .duration("timeout")?
            .unwrap_or(std::time::Duration::from_secs(3600)),
        prefix: String::new(),
    };
    Ok((spec, o.bool("check", true)?))
}

/// Run one spec: the run, then cleanup (shielded from Ctrl-C), then the result.
pub fn run_spec(h: &Host, func: &str, spec: &Spec) -> RResult<ron::Outcome> {
    let c = client(h, func)?;
    let created = Arc::new(Mutex::new(Created::default()));
    let out: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|l: &str| crate::ui::out(l));
    let _t = h.trace(func, || {
        format!(
            "{} on {}: {}",
            spec.pod_name,
            spec.node,
            crate::shell::Cmd::Argv(spec.argv.clone()).display()
        )
    });
    let r = h.block_on(ron::run(&c, spec, created.clone(), out));
    let done = created.lock().unwrap().clone();
    let errors = h.interrupt.shielded(|| {
        h.block_on(ron::cleanup(
            &c,
            &spec.namespace,
            &done,
            &spec.cleanup,
            spec.manage_pvc,
        ))
        .unwrap_or_default()
    });
    for e in &errors {
        crate::ui::warn(&format!("{func}: cleanup: {e}"));
    }
    match r {
        Err(_) => Err(crate::api::interrupted()),
        Ok(Err(e)) => Err(error(format!("{func}: {e}"))),
        Ok(Ok(o)) => Ok(o),
    }
}

fn outcome_map(o: &ron::Outcome) -> Map {
    let mut m = Map::new();
    m.insert("code".into(), Dynamic::from(o.code as i64));
    m.insert("logs".into(), Dynamic::from(o.logs.clone()));
    m.insert(
        "artifacts".into(),
        match &o.artifacts {
            Some(p) => Dynamic::from(p.display().to_string()),
            None => Dynamic::UNIT,
        },
    );
    m
}

/// A privileged pod kept on a node for many commands.
pub struct Session {
    pub node: String,
    pub namespace: String,
    pub pod: String,
    pub nsenter: Vec<String>,
    pub closed: std::sync::atomic::AtomicBool,
    /// the long-lived shell commands go through (opened on first use)
    pub shell: tokio::sync::Mutex<Option<crate::k8s::shellconn::ShellConn>>,
}

/// Script handle of a node session.
#[derive(Clone)]
pub struct SessionHandle(pub Arc<Session>);

fn close_session(h: &Host, s: &Session) {
    if s.closed.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    if let Ok(c) = h.cluster().map(|c| c.client) {
        let created = Created {
            pod: Some(s.pod.clone()),
            ..Default::default()
        };
        let _ = h.interrupt.shielded(|| {
            h.block_on(ron::cleanup(
                &c,
                &s.namespace,
                &created,
                &Cleanup::All,
                false,
            ))
        });
    }
}

/// Close every session (script end).
pub fn close_all(h: &Host) {
    let sessions: Vec<_> = h.sessions.lock().unwrap().drain(..).collect();
    for s in sessions {
        close_session(h, &s);
    }
}

#[export_module]
pub mod nodes_api {
    use super::*;
    use crate::api::host;
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
    /// `retry_attempts` (15), `retry_delay` (1 s), `show_events`, `check`,
    /// `timeout` (s).
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
        let (spec, check) = spec_from(&h, "ron", &o, &node, &cmd, true)?;
        let out = run_spec(&h, "ron", &spec)?;
        if check && out.code != 0 {
            let tail: Vec<&str> = out
                .logs
                .lines()
                .rev()
                .take(10)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(error(format!(
                "ron: command exited with code {} on node {node}{}",
                out.code,
                if tail.is_empty() {
                    String::new()
                } else {
                    format!("\nlast lines of its output:\n  {}", tail.join("\n  "))
                }
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
        let mut check = true;
        for n in &names {
            let (mut s, c) = spec_from(&h, "ron_all", &o, n, &cmd, true)?;
            s.prefix = format!("[{n}] ");
            if s.pvc {
                s.auto_copy_dest = s
                    .auto_copy_dest
                    .with_file_name(format!("{}.tar.gz", s.pod_name));
            }
            check = c;
            specs.push(s);
        }
        let c = client(&h, "ron_all")?;
        let out: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|l: &str| crate::ui::out(l));
        let _t = h.trace("ron_all", || format!("{} nodes", names.len()));
        let createds: Vec<Arc<Mutex<Created>>> = specs
            .iter()
            .map(|_| Arc::new(Mutex::new(Created::default())))
            .collect();
        let limit = Arc::new(tokio::sync::Semaphore::new(8));
        let results = h.block_on(futures::future::join_all(
            specs.iter().zip(createds.iter()).map(|(s, cr)| {
                let (c, out, limit, cr) = (c.clone(), out.clone(), limit.clone(), cr.clone());
                async move {
                    let _p = limit.acquire().await;
                    ron::run(&c, s, cr, out).await
                }
            }),
        ));
        // cleanup of every node, whatever happened
        h.interrupt.shielded(|| {
            let _ = h.block_on(futures::future::join_all(
                specs.iter().zip(createds.iter()).map(|(s, cr)| {
                    let done = cr.lock().unwrap().clone();
                    let c = c.clone();
                    async move {
                        for e in
                            ron::cleanup(&c, &s.namespace, &done, &s.cleanup, s.manage_pvc).await
                        {
                            crate::ui::warn(&format!("ron_all: cleanup: {e}"));
                        }
                    }
                }),
            ));
        });
        let results = results.map_err(|_| crate::api::interrupted())?;
        let mut m = Map::new();
        let mut failed = vec![];
        for (n, r) in names.iter().zip(results) {
            match r {
                Ok(o) => {
                    if o.code != 0 {
                        failed.push(format!("{n}: exited with code {}", o.code));
                    }
                    m.insert(n.as_str().into(), Dynamic::from_map(outcome_map(&o)));
                }
                Err(e) => {
                    failed.push(format!("{n}: {e}"));
                    let mut x = Map::new();
                    x.insert("error".into(), Dynamic::from(e));
                    m.insert(n.as_str().into(), Dynamic::from_map(x));
                }
            }
        }
        if check && !failed.is_empty() {
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
    /// ("alpine"), `namespace`, `nsenter` (true), `nsenter_opts`.
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
        let o = Opts::new(
            "node_session",
            options,
            &["image", "namespace", "nsenter", "nsenter_opts", "timeout"],
        )?;
        let mut m = Map::new();
        m.insert(
            "image".into(),
            Dynamic::from(o.string("image")?.unwrap_or_else(|| "alpine".into())),
        );
        if let Some(ns) = o.string("namespace")? {
            m.insert("namespace".into(), Dynamic::from(ns));
        }
        let so = Opts::new("node_session", m, RON_OPTS)?;
        let sleep = Dynamic::from_array(vec![
            Dynamic::from("sleep".to_string()),
            Dynamic::from("infinity".to_string()),
        ]);
        let (mut spec, _) = spec_from(&h, "node_session", &so, node, &sleep, false)?;
        spec.pod_name = ron::dns_name(&["scaffold-session", node, &h.run_id]);
        spec.cleanup = Cleanup::None;
        let c = client(&h, "node_session")?;
        let created = Arc::new(Mutex::new(Created::default()));
        let timeout = o
            .duration("timeout")?
            .unwrap_or(std::time::Duration::from_secs(300));
        let ns = spec.namespace.clone();
        let pod = spec.pod_name.clone();
        let r = block_on(&h, async {
            // create, then wait until it runs (failures reported at once)
            let out: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|_: &str| {});
            let mut s2 = spec.clone();
            s2.timeout = timeout;
            tokio::select! {
                r = ron::run(&c, &s2, created.clone(), out) => r.map(|_| ()),
                r = wait_running(&c, &ns, &pod, timeout) => r,
            }
        });
        let sess = Arc::new(Session {
            node: node.to_string(),
            namespace: ns.clone(),
            pod: pod.clone(),
            nsenter: if o.bool("nsenter", true)? {
                let mut v = vec!["nsenter".to_string()];
                v.extend(
                    o.string("nsenter_opts")?
                        .unwrap_or_else(|| "-t 1 -m -u -i -n -p".into())
                        .split_whitespace()
                        .map(str::to_string),
                );
                v.push("--".into());
                v
            } else {
                vec![]
            },
            closed: Default::default(),
            shell: tokio::sync::Mutex::new(None),
        });
        match r {
            Ok(Ok(())) => {
                h.sessions.lock().unwrap().push(sess.clone());
                Ok(SessionHandle(sess))
            }
            other => {
                close_session(&h, &sess);
                match other {
                    Err(e) => Err(e),
                    Ok(Err(e)) => Err(error(format!("node_session: {e}"))),
                    Ok(Ok(())) => unreachable!(),
                }
            }
        }
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
    /// non-zero exits are returned, not raised.
    #[rhai_fn(name = "exec", return_raw)]
    pub fn session_exec(
        ctx: NativeCallContext,
        s: &mut SessionHandle,
        cmd: Dynamic,
    ) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        if s.0.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(error(format!("session on {} is closed", s.0.node)));
        }
        let mut argv = s.0.nsenter.clone();
        argv.extend(argv_of("exec", &cmd)?);
        let c = client(&h, "exec")?;
        let _t = h.trace("session.exec", || {
            format!(
                "{}: {}",
                s.0.node,
                crate::shell::Cmd::Argv(argv.clone()).display()
            )
        });
        let sess = s.0.clone();
        let marker = format!("__scaffold_{}_done__", h.run_id);
        let out = block_on(&h, async {
            // one shell stream per session; a broken one is reopened, and a
            // command that cannot use it falls back to its own exec
            let line = match crate::api::shell::to_cmd("exec", &cmd) {
                Ok(crate::shell::Cmd::Shell(s)) => s,
                // argv: the first word quoted, so it is never taken for an
                // assignment or a reserved word
                _ if argv.len() > sess.nsenter.len() => {
                    let words = &argv[sess.nsenter.len()..];
                    let rest = crate::shell::Cmd::Argv(words[1..].to_vec()).display();
                    format!("'{}' {rest}", words[0].replace('\'', "'\\''"))
                }
                _ => String::from("true"),
            };
            let mut guard = sess.shell.lock().await;
            if guard.is_none() {
                *guard = crate::k8s::shellconn::ShellConn::open(
                    &c,
                    &sess.namespace,
                    &sess.pod,
                    "main",
                    &sess.nsenter,
                    &marker,
                )
                .await
                .ok();
            }
            if let Some(conn) = guard.as_mut() {
                match conn.run(&line).await {
                    Ok(o) => return Ok(o),
                    Err(_) => *guard = None,
                }
            }
            drop(guard);
            crate::k8s::objects::exec(&c, &sess.namespace, &sess.pod, Some("main"), argv, None)
                .await
        })?
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
        let c = client(&h, "copy_from")?;
        let p = std::path::Path::new(path);
        let dir = p
            .parent()
            .map(|d| d.display().to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "/".into());
        let base = p
            .file_name()
            .map(|b| b.to_string_lossy().to_string())
            .unwrap_or_else(|| ".".into());
        let mut argv = s.0.nsenter.clone();
        argv.extend([
            "tar".to_string(),
            "czf".into(),
            "-".into(),
            "-C".into(),
            dir,
            base,
        ]);
        let d = h.resolve_path(dest);
        block_on(
            &h,
            ron::copy_tar(&c, &s.0.namespace, &s.0.pod, "main", argv, &d),
        )?
        .map(|p| p.display().to_string())
        .map_err(|e| error(format!("copy_from: {e}")))
    }

    /// Delete the session's pod.
    #[rhai_fn(name = "close", return_raw)]
    pub fn close(ctx: NativeCallContext, s: &mut SessionHandle) -> Result<(), Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("session.close", String::new);
        close_session(&h, &s.0);
        h.sessions.lock().unwrap().retain(|x| !Arc::ptr_eq(x, &s.0));
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

async fn wait_running(
    c: &kube::Client,
    ns: &str,
    pod: &str,
    timeout: std::time::Duration,
) -> Result<(), String> {
    let path = format!(
        "/api/v1/namespaces/{}/pods/{}",
        crate::k8s::http::urlencode(ns),
        crate::k8s::http::urlencode(pod)
    );
    let r = tokio::time::timeout(timeout, async {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let Ok(mut rx) = crate::k8s::objects::watch_object(c, &path).await else {
                continue;
            };
            while let Some(ev) = rx.recv().await {
                if let Some(p) = ev {
                    let running = p["status"]["containerStatuses"]
                        .as_array()
                        .is_some_and(|a| {
                            a.iter()
                                .any(|c| c["name"] == "main" && c["state"]["running"].is_object())
                        });
                    if running {
                        return;
                    }
                }
            }
        }
    })
    .await;
    r.map_err(|_| {
        format!(
            "session pod {ns}/{pod} was not running within {}s",
            timeout.as_secs()
        )
    })
}
