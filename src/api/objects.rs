//! Cluster objects from scripts: kustomize, apply, delete, get, list,
//! wait_for, exec, logs.

use crate::api::cluster::k8s_error;
use crate::api::opts::Opts;
use crate::api::{block_on, error, from_json, RResult};
use crate::host::Host;
use crate::k8s::discovery::{Discovery, Resource};
use crate::k8s::http;
use crate::k8s::objects::{self, Doc};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};
use std::path::Path;
use std::sync::Arc;

fn client(h: &Host, func: &str) -> RResult<kube::Client> {
    h.cluster()
        .map(|c| c.client)
        .map_err(|e| error(format!("{func}: {e}")))
}

/// The run's discovery (asked once).
pub fn discovery(h: &Host, func: &str) -> RResult<Arc<Discovery>> {
    if let Some(d) = h.discovery.lock().unwrap().clone() {
        return Ok(d);
    }
    let c = client(h, func)?;
    let d = Arc::new(
        block_on(h, Discovery::run(&c))?.map_err(|e| k8s_error(h, func, "discovery: ", &e))?,
    );
    *h.discovery.lock().unwrap() = Some(d.clone());
    Ok(d)
}

fn resolve(h: &Host, func: &str, kind: &str) -> RResult<Resource> {
    let d = discovery(h, func)?;
    match d.resolve(kind) {
        Ok(r) => Ok(r.clone()),
        Err(_) => {
            // a CRD may have been installed since: ask again once
            *h.discovery.lock().unwrap() = None;
            let d = discovery(h, func)?;
            d.resolve(kind)
                .cloned()
                .map_err(|e| error(format!("{func}: {e}")))
        }
    }
}

fn default_ns(h: &Host) -> String {
    h.target()
        .map(|t| t.namespace)
        .unwrap_or_else(|_| "default".into())
}

/// Render a kustomization with `kubectl kustomize` (or `kustomize build`).
pub fn kustomize_dir(h: &Host, func: &str, dir: &Path) -> RResult<String> {
    let (tool, args): (&str, Vec<&str>) = if crate::shell::which("kubectl").is_some() {
        ("kubectl", vec!["kustomize"])
    } else if crate::shell::which("kustomize").is_some() {
        ("kustomize", vec!["build"])
    } else {
        return Err(error(format!("{func}: neither kubectl nor kustomize is on PATH; install kubectl (it includes kustomize)")));
    };
    let mut argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    argv.insert(0, tool.to_string());
    argv.push(dir.display().to_string());
    let cmd = crate::shell::Cmd::Argv(argv);
    let opts = crate::shell::Opts {
        quiet: true,
        capture: true,
        cwd: Some(h.settings.script_dir.clone()),
        ..Default::default()
    };
    let out = crate::api::shell::run(h, func, &cmd, &opts)?;
    if out.code != 0 {
        return Err(error(format!(
            "{func}: {tool} failed on {}:\n{}",
            dir.display(),
            out.stderr.trim()
        )));
    }
    Ok(out.stdout)
}

/// Manifest text and a name for messages, from YAML text, a file or a directory.
fn manifest(h: &Host, func: &str, input: &str) -> RResult<(String, String)> {
    let looks_like_yaml = input.contains('\n') || input.trim_start().starts_with('{');
    if !looks_like_yaml {
        let p = h.resolve_path(input);
        if p.is_dir() {
            let k = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
                .iter()
                .any(|f| p.join(f).is_file());
            if k {
                return Ok((kustomize_dir(h, func, &p)?, input.to_string()));
            }
            let mut files: Vec<_> = std::fs::read_dir(&p)
                .map_err(|e| error(format!("{func}: cannot read {}: {e}", p.display())))?
                .flatten()
                .map(|e| e.path())
                .filter(|f| {
                    f.extension()
                        .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
                })
                .collect();
            files.sort();
            let mut text = String::new();
            for f in files {
                text.push_str("---\n");
                text.push_str(
                    &std::fs::read_to_string(&f)
                        .map_err(|e| error(format!("{func}: cannot read {}: {e}", f.display())))?,
                );
                text.push('\n');
            }
            return Ok((text, input.to_string()));
        }
        if p.is_file() {
            let t = std::fs::read_to_string(&p)
                .map_err(|e| error(format!("{func}: cannot read {}: {e}", p.display())))?;
            return Ok((t, input.to_string()));
        }
        if !input.contains(':') {
            return Err(error(format!(
                "{func}: {} does not exist (give YAML text, a file or a directory)",
                p.display()
            )));
        }
    }
    Ok((input.to_string(), "manifest".to_string()))
}

/// `#{code, stdout, stderr}` of an exec (pod exec and node sessions).
pub fn exec_map(out: objects::ExecOutput) -> Map {
    let mut m = Map::new();
    m.insert("code".into(), Dynamic::from(out.code as i64));
    m.insert("stdout".into(), Dynamic::from(out.stdout));
    m.insert("stderr".into(), Dynamic::from(out.stderr));
    m
}

fn applied_map(a: &objects::Applied) -> Dynamic {
    let mut m = Map::new();
    m.insert("apiVersion".into(), Dynamic::from(a.api_version.clone()));
    m.insert("kind".into(), Dynamic::from(a.kind.clone()));
    m.insert("namespace".into(), Dynamic::from(a.namespace.clone()));
    m.insert("name".into(), Dynamic::from(a.name.clone()));
    m.insert("action".into(), Dynamic::from(a.action.to_string()));
    Dynamic::from_map(m)
}

fn docs_of(h: &Host, func: &str, input: &str) -> RResult<(Vec<Doc>, String)> {
    let (text, source) = manifest(h, func, input)?;
    let docs =
        objects::parse_manifest(&text, &source).map_err(|e| error(format!("{func}: {e}")))?;
    Ok((docs, source))
}

#[export_module]
pub mod objects_api {
    use super::*;
    use crate::api::host;
    use rhai::{EvalAltResult, FnPtr, NativeCallContext};

    /// Render a kustomization directory (relative to the script) to YAML with
    /// `kubectl kustomize` (or `kustomize build`); a failing build is an error
    /// with the tool's own message.
    #[rhai_fn(return_raw)]
    pub fn kustomize(ctx: NativeCallContext, dir: &str) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("kustomize", || format!("{dir:?}"));
        let p = h.resolve_path(dir);
        if !p.is_dir() {
            return Err(error(format!(
                "kustomize: {} is not a directory",
                p.display()
            )));
        }
        kustomize_dir(&h, "kustomize", &p)
    }

    /// Server-side apply (field manager `scaffold`) of YAML text, a file, or a
    /// directory (kustomizations are rendered first). Every document is parsed
    /// and resolved before the first request; Namespaces and CRDs go first.
    /// Returns the applied refs `#{apiVersion, kind, namespace, name, action}`.
    #[rhai_fn(name = "apply", return_raw)]
    pub fn apply(ctx: NativeCallContext, manifest: &str) -> Result<Array, Box<EvalAltResult>> {
        apply_opts(ctx, manifest, Map::new())
    }

    /// `apply` with options: `namespace` (for objects without one; default
    /// the context's), `mode` (`"apply"` or `"create_or_replace"`, the
    /// original's `kubectl create || kubectl replace`), `force` (default
    /// true), `wait` (wait for applied workloads to be ready), `timeout`
    /// (for `wait`, default 300 s), `qps` / `burst` (client-side rate limit,
    /// default 50 / 100 or `--qps` / `--burst`).
    ///
    /// ```rhai
    /// apply("kustomization-dir", #{wait: true});
    /// apply(to_yaml(#{apiVersion: "v1", kind: "ConfigMap", metadata: #{name: "x"}}));
    /// ```
    #[rhai_fn(name = "apply", return_raw)]
    pub fn apply_opts(
        ctx: NativeCallContext,
        manifest: &str,
        options: Map,
    ) -> Result<Array, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new(
            "apply",
            options,
            &[
                "namespace",
                "mode",
                "force",
                "wait",
                "timeout",
                "qps",
                "burst",
            ],
        )?;
        let mode = o.string("mode")?.unwrap_or_else(|| "apply".into());
        if mode != "apply" && mode != "create_or_replace" {
            return Err(error(format!(
                "apply: mode must be \"apply\" or \"create_or_replace\", got \"{mode}\""
            )));
        }
        let ao = objects::ApplyOptions {
            namespace: o.string("namespace")?.unwrap_or_else(|| default_ns(&h)),
            create_or_replace: mode == "create_or_replace",
            force: o.bool("force", true)?,
            qps: o.float("qps")?.or(h.settings.kube.qps).unwrap_or(50.0),
            burst: o
                .int("burst")?
                .map(|b| b.max(1) as u32)
                .or(h.settings.kube.burst)
                .unwrap_or(100),
        };
        let (docs, source) = docs_of(&h, "apply", manifest)?;
        let c = client(&h, "apply")?;
        let mut disc = discovery(&h, "apply")?;
        let _t = h.trace("apply", || format!("{source}: {} objects", docs.len()));
        let applied = block_on(&h, objects::apply(&c, &mut disc, &docs, &source, &ao))?
            .map_err(|e| error(format!("apply: {e}")))?;
        *h.discovery.lock().unwrap() = Some(disc);
        if o.bool("wait", false)? {
            let kinds: Vec<crate::k8s::ready::Kind> = applied
                .iter()
                .filter_map(|a| crate::k8s::ready::Kind::parse(&a.kind).ok())
                .filter(|k| *k != crate::k8s::ready::Kind::Node)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if !kinds.is_empty() {
                let mut namespaces: Vec<String> = applied
                    .iter()
                    .map(|a| a.namespace.clone())
                    .filter(|n| !n.is_empty())
                    .collect();
                namespaces.sort();
                namespaces.dedup();
                let s = crate::k8s::ready::Scope { kinds, namespaces };
                let timeout = o
                    .duration("timeout")?
                    .unwrap_or(std::time::Duration::from_secs(300));
                crate::api::cluster::wait_ready_with(&h, &s, timeout)?;
            }
        }
        Ok(applied.iter().map(applied_map).collect())
    }

    /// Delete every object of a manifest (YAML text, file or directory), in
    /// reverse order; objects already gone are skipped. Returns how many were deleted.
    #[rhai_fn(name = "delete", return_raw)]
    pub fn delete_manifest(
        ctx: NativeCallContext,
        manifest: &str,
    ) -> Result<i64, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("delete_manifest", String::new);
        let (docs, source) = docs_of(&h, "delete", manifest)?;
        let c = client(&h, "delete")?;
        let d = discovery(&h, "delete")?;
        let ns = default_ns(&h);
        let mut n = 0;
        for doc in docs.iter().rev() {
            let Some(r) = d.by_gvk(doc.api_version(), doc.kind()) else {
                continue;
            };
            let dns = doc.obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or(&ns)
                .to_string();
            match block_on(
                &h,
                http::request(&c, "DELETE", &r.item(&dns, doc.name()), None, vec![], true),
            )? {
                Ok(_) => n += 1,
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    return Err(k8s_error(
                        &h,
                        "delete",
                        &format!(
                            "{}: cannot delete {} '{}': ",
                            doc.where_(&source),
                            doc.kind(),
                            doc.name()
                        ),
                        &e,
                    ))
                }
            }
        }
        Ok(n)
    }

    /// Delete one object; true if it existed. Options: `namespace`, `wait`
    /// (until it is gone), `timeout` (default 300 s).
    ///
    /// ```rhai
    /// delete("namespace", "cilium-test", #{wait: true});
    /// ```
    #[rhai_fn(name = "delete", return_raw)]
    pub fn delete_one(
        ctx: NativeCallContext,
        kind: &str,
        name: &str,
        options: Map,
    ) -> Result<bool, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("delete", options, &["namespace", "wait", "timeout"])?;
        let r = resolve(&h, "delete", kind)?;
        let ns = o.string("namespace")?.unwrap_or_else(|| default_ns(&h));
        let c = client(&h, "delete")?;
        let path = r.item(&ns, name);
        let _t = h.trace("delete", || format!("{} {name}", r.display()));
        match block_on(&h, http::request(&c, "DELETE", &path, None, vec![], true))? {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) => {
                return Err(k8s_error(
                    &h,
                    "delete",
                    &format!("cannot delete {} '{ns}/{name}': ", r.kind),
                    &e,
                ))
            }
        }
        if o.bool("wait", false)? {
            let timeout = o
                .duration("timeout")?
                .unwrap_or(std::time::Duration::from_secs(300));
            let gone = block_on(&h, async {
                let mut rx = objects::watch_object(&c, &path).await?;
                tokio::time::timeout(timeout, async {
                    while let Some(ev) = rx.recv().await {
                        if ev.is_none() {
                            return true;
                        }
                    }
                    false
                })
                .await
                .map_err(|_| {
                    http::K8sError::Transport(format!("still there after {}s", timeout.as_secs()))
                })
            })?
            .map_err(|e| {
                k8s_error(
                    &h,
                    "delete",
                    &format!("waiting for {} '{ns}/{name}' to go: ", r.kind),
                    &e,
                )
            })?;
            if !gone {
                return Err(error(format!(
                    "delete: the watch on {} '{ns}/{name}' ended before it was gone",
                    r.kind
                )));
            }
        }
        Ok(true)
    }

    /// `delete` of one object in the context's namespace, without waiting.
    #[rhai_fn(name = "delete", return_raw)]
    pub fn delete_one2(
        ctx: NativeCallContext,
        kind: &str,
        name: &str,
    ) -> Result<bool, Box<EvalAltResult>> {
        delete_one(ctx, kind, name, Map::new())
    }

    /// One object as a map, or `()` when it does not exist. `kind` is
    /// `"Pod"`, `"pods"`, `"apps/v1/Deployment"` or a CRD kind. Option: `namespace`.
    #[rhai_fn(name = "get", return_raw)]
    pub fn get(
        ctx: NativeCallContext,
        kind: &str,
        name: &str,
        options: Map,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("get", options, &["namespace"])?;
        let r = resolve(&h, "get", kind)?;
        let ns = o.string("namespace")?.unwrap_or_else(|| default_ns(&h));
        let c = client(&h, "get")?;
        let _t = h.trace("get", || format!("{} {ns}/{name}", r.kind));
        match block_on(&h, http::get_json(&c, &r.item(&ns, name)))? {
            Ok(v) => Ok(from_json(&v)),
            Err(e) if e.is_not_found() => Ok(Dynamic::UNIT),
            Err(e) => Err(k8s_error(
                &h,
                "get",
                &format!("cannot get {} '{ns}/{name}': ", r.kind),
                &e,
            )),
        }
    }

    /// `get` in the context's namespace.
    #[rhai_fn(name = "get", return_raw)]
    pub fn get2(
        ctx: NativeCallContext,
        kind: &str,
        name: &str,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        get(ctx, kind, name, Map::new())
    }

    /// Objects of a kind as maps. Options: `namespace` (`"*"` for all
    /// namespaces; default the context's), `labels` (a selector like
    /// `"app=web,tier!=db"`), `fields` (like `"spec.nodeName=node-1"`).
    ///
    /// ```rhai
    /// for p in list("pods", #{namespace: "*", labels: "app=web"}) { print(p.metadata.name); }
    /// ```
    #[rhai_fn(name = "list", return_raw)]
    pub fn list(
        ctx: NativeCallContext,
        kind: &str,
        options: Map,
    ) -> Result<Array, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("list", options, &["namespace", "labels", "fields"])?;
        let r = resolve(&h, "list", kind)?;
        let ns = o.string("namespace")?.unwrap_or_else(|| default_ns(&h));
        let mut q = vec![];
        if let Some(l) = o.string("labels")? {
            q.push(format!("labelSelector={}", http::urlencode(&l)));
        }
        if let Some(f) = o.string("fields")? {
            q.push(format!("fieldSelector={}", http::urlencode(&f)));
        }
        let c = client(&h, "list")?;
        let _t = h.trace("list", || {
            format!("{} in {ns} {}", r.display(), q.join("&"))
        });
        let path = r.collection(if ns == "*" { None } else { Some(&ns) });
        let (items, _) = block_on(&h, http::list_all(&c, &path, &q.join("&")))?
            .map_err(|e| k8s_error(&h, "list", &format!("cannot list {}: ", r.display()), &e))?;
        Ok(items.iter().map(from_json).collect())
    }

    /// `list` in the context's namespace.
    #[rhai_fn(name = "list", return_raw)]
    pub fn list1(ctx: NativeCallContext, kind: &str) -> Result<Array, Box<EvalAltResult>> {
        list(ctx, kind, Map::new())
    }

    /// Wait (watching, not polling) until an object exists and its
    /// `condition` holds: a condition type that must be `True`
    /// (`"Available"`), or a closure that gets the object and returns true.
    /// Options: `namespace`, `condition`, `timeout` (default 300 s). Returns
    /// the object. On timeout the error shows its last conditions.
    ///
    /// ```rhai
    /// wait_for("deployment", "grafana", #{namespace: "monitoring", condition: "Available"});
    /// wait_for("pod", "ron", #{condition: |p| p.status.phase == "Succeeded"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn wait_for(
        ctx: NativeCallContext,
        kind: &str,
        name: &str,
        options: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("wait_for", options, &["namespace", "condition", "timeout"])?;
        let r = resolve(&h, "wait_for", kind)?;
        let ns = o.string("namespace")?.unwrap_or_else(|| default_ns(&h));
        let timeout = o
            .duration("timeout")?
            .unwrap_or(std::time::Duration::from_secs(300));
        enum Cond {
            Exists,
            Type(String),
            Closure(FnPtr),
        }
        let cond = match o.raw("condition") {
            None => Cond::Exists,
            Some(v) if v.is_string() => Cond::Type(v.to_string()),
            Some(v) if v.is_fnptr() => Cond::Closure(v.clone().cast::<FnPtr>()),
            Some(v) => {
                return Err(error(format!(
                    "wait_for: condition must be a condition type or a closure, got {}",
                    v.type_name()
                )))
            }
        };
        let c = client(&h, "wait_for")?;
        let path = r.item(&ns, name);
        let _t = h.trace("wait_for", || format!("{} {ns}/{name}", r.kind));
        let deadline = std::time::Instant::now() + timeout;
        let mut last: Option<serde_json::Value> = None;
        'outer: loop {
            let mut rx = block_on(&h, objects::watch_object(&c, &path))?.map_err(|e| {
                k8s_error(
                    &h,
                    "wait_for",
                    &format!("cannot watch {} '{ns}/{name}': ", r.kind),
                    &e,
                )
            })?;
            loop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                let ev = block_on(&h, tokio::time::timeout(left, rx.recv()))?;
                let ev = match ev {
                    Err(_) => break 'outer,
                    Ok(None) => continue 'outer, // watch ended: resume
                    Ok(Some(ev)) => ev,
                };
                last = ev.clone();
                let Some(obj) = ev else { continue };
                let done = match &cond {
                    Cond::Exists => true,
                    Cond::Type(t) => obj["status"]["conditions"].as_array().is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c["type"] == t.as_str() && c["status"] == "True")
                    }),
                    Cond::Closure(f) => crate::api::truthy(
                        &f.call_within_context::<Dynamic>(&ctx, (from_json(&obj),))?,
                    ),
                };
                if done {
                    return Ok(from_json(&obj).cast::<Map>());
                }
            }
        }
        let what = match &cond {
            Cond::Exists => "to exist".to_string(),
            Cond::Type(t) => format!("condition {t}=True"),
            Cond::Closure(_) => "the condition closure".to_string(),
        };
        let state = match &last {
            None => "it does not exist".to_string(),
            Some(o) => {
                let cs: Vec<String> = o["status"]["conditions"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|c| {
                                format!(
                                    "{}={}{}",
                                    c["type"].as_str().unwrap_or(""),
                                    c["status"].as_str().unwrap_or(""),
                                    c["reason"]
                                        .as_str()
                                        .map(|r| format!(" ({r})"))
                                        .unwrap_or_default()
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if cs.is_empty() {
                    "it has no conditions".to_string()
                } else {
                    format!("last conditions: {}", cs.join(", "))
                }
            }
        };
        Err(error(format!(
            "wait_for: {} '{ns}/{name}': timed out after {}s waiting for {what}; {state}",
            r.kind,
            timeout.as_secs_f64()
        )))
    }

    /// Run a command in a pod's container: `#{code, stdout, stderr}`. A string
    /// runs through `sh -c`, an array as argv. Options: `namespace`,
    /// `container`, `stdin` (text fed to the command), `check` (default true:
    /// a non-zero exit is an error).
    ///
    /// ```rhai
    /// let r = exec("pod2pod-client-abc", ["ip", "route"], #{namespace: "default"});
    /// ```
    #[rhai_fn(name = "exec", return_raw)]
    pub fn exec(
        ctx: NativeCallContext,
        pod: &str,
        cmd: Dynamic,
        options: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new(
            "exec",
            options,
            &["namespace", "container", "stdin", "check"],
        )?;
        let argv = match crate::api::shell::to_cmd("exec", &cmd)? {
            crate::shell::Cmd::Shell(s) => vec!["sh".to_string(), "-c".to_string(), s],
            crate::shell::Cmd::Argv(v) => v,
        };
        let ns = o.string("namespace")?.unwrap_or_else(|| default_ns(&h));
        let container = o.string("container")?;
        let stdin = o.string("stdin")?.map(String::into_bytes);
        let c = client(&h, "exec")?;
        let shown = crate::shell::Cmd::Argv(argv.clone()).display();
        let _t = h.trace("exec", || format!("{ns}/{pod}: {shown}"));
        let out = block_on(
            &h,
            objects::exec(&c, &ns, pod, container.as_deref(), argv, stdin),
        )?
        .map_err(|e| {
            k8s_error(
                &h,
                "exec",
                &format!("cannot exec in pod '{ns}/{pod}': "),
                &e,
            )
        })?;
        if o.bool("check", true)? && out.code != 0 {
            let tail: Vec<&str> = out
                .stderr
                .lines()
                .rev()
                .take(10)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(error(format!(
                "exec: command exited with code {} in pod '{ns}/{pod}': {shown}{}",
                out.code,
                if tail.is_empty() {
                    String::new()
                } else {
                    format!("\nlast lines of stderr:\n  {}", tail.join("\n  "))
                }
            )));
        }
        Ok(exec_map(out))
    }

    /// `exec` in the context's namespace, checked.
    #[rhai_fn(name = "exec", return_raw)]
    pub fn exec2(
        ctx: NativeCallContext,
        pod: &str,
        cmd: Dynamic,
    ) -> Result<Map, Box<EvalAltResult>> {
        exec(ctx, pod, cmd, Map::new())
    }

    /// A container's logs. Options: `namespace`, `container`, `follow`
    /// (stream lines to the terminal until the container ends; the text is
    /// also returned), `since` (seconds), `tail` (last N lines).
    #[rhai_fn(name = "logs", return_raw)]
    pub fn logs(
        ctx: NativeCallContext,
        pod: &str,
        options: Map,
    ) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new(
            "logs",
            options,
            &["namespace", "container", "follow", "since", "tail"],
        )?;
        let ns = o.string("namespace")?.unwrap_or_else(|| default_ns(&h));
        let mut q = vec![];
        if let Some(c) = o.string("container")? {
            q.push(format!("container={}", http::urlencode(&c)));
        }
        if let Some(s) = o.int("since")? {
            q.push(format!("sinceSeconds={s}"));
        }
        if let Some(t) = o.int("tail")? {
            q.push(format!("tailLines={t}"));
        }
        let follow = o.bool("follow", false)?;
        if follow {
            q.push("follow=true".into());
        }
        let path = format!(
            "/api/v1/namespaces/{}/pods/{}/log?{}",
            http::urlencode(&ns),
            http::urlencode(pod),
            q.join("&")
        );
        let c = client(&h, "logs")?;
        let _t = h.trace("logs", || format!("{ns}/{pod} {}", q.join("&")));
        if !follow {
            let b = block_on(&h, http::request(&c, "GET", &path, None, vec![], true))?.map_err(
                |e| {
                    k8s_error(
                        &h,
                        "logs",
                        &format!("cannot read logs of pod '{ns}/{pod}': "),
                        &e,
                    )
                },
            )?;
            return Ok(String::from_utf8_lossy(&b).into_owned());
        }
        let text = block_on(&h, async {
            use futures::AsyncBufReadExt;
            let req = ::http::Request::get(&path)
                .body(vec![])
                .expect("log request");
            let stream = c.request_stream(req).await.map_err(|e| match e {
                kube::Error::Api(s) => http::K8sError::Api {
                    code: s.code,
                    reason: s.reason.clone(),
                    message: s.message.clone(),
                },
                other => http::K8sError::Transport(other.to_string()),
            })?;
            let mut lines = stream.lines();
            let mut all = String::new();
            use futures::StreamExt;
            while let Some(l) = lines.next().await {
                let l = l.map_err(|e| http::K8sError::Transport(e.to_string()))?;
                crate::ui::out(&l);
                all.push_str(&l);
                all.push('\n');
            }
            Ok::<_, http::K8sError>(all)
        })?
        .map_err(|e| {
            k8s_error(
                &h,
                "logs",
                &format!("cannot follow logs of pod '{ns}/{pod}': "),
                &e,
            )
        })?;
        Ok(text)
    }

    /// `logs` in the context's namespace.
    #[rhai_fn(name = "logs", return_raw)]
    pub fn logs1(ctx: NativeCallContext, pod: &str) -> Result<String, Box<EvalAltResult>> {
        logs(ctx, pod, Map::new())
    }
}
