//! Cluster objects from scripts: kustomize, apply, delete, get, list,
//! wait_for, exec, logs.

use crate::api::call::{block_on, client, default_ns, error, from_json, k8s_error, RResult};
use crate::api::manifests::{docs_of, kustomize_dir};
use crate::api::opts::Opts;
use crate::host::Host;
use crate::k8s::apply::{self, Applied, ApplyOptions};
use crate::k8s::discovery::{Discovery, Resource};
use crate::k8s::exec::ExecOutput;
use crate::k8s::objects::{self, Propagation};
use rhai::plugin::*;
use rhai::{Array, Dynamic, FnPtr, Map, NativeCallContext};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::k8s::apply::{DEFAULT_BURST, DEFAULT_QPS};

/// The default for every timeout (API.md: 300 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The run's discovery (asked once).
pub fn discovery(h: &Host, func: &str) -> RResult<Arc<Discovery>> {
    if let Some(d) = h.discovery() {
        return Ok(d);
    }
    let c = client(h, func)?;
    let d = Arc::new(
        block_on(h, Discovery::run(&c))?.map_err(|e| k8s_error(h, func, "discovery: ", &e))?,
    );
    h.set_discovery(Some(d.clone()));
    Ok(d)
}

/// A kind as a user names it; a CRD installed since is found by asking again.
pub fn resolve(h: &Host, func: &str, kind: &str) -> RResult<Resource> {
    if let Ok(r) = discovery(h, func)?.resolve(kind) {
        return Ok(r.clone());
    }
    h.set_discovery(None);
    discovery(h, func)?
        .resolve(kind)
        .cloned()
        .map_err(|e| error(format!("{func}: {e}")))
}

/// `#{code, stdout, stderr}` of an exec (pod exec and node sessions).
pub fn exec_map(out: ExecOutput) -> Map {
    let mut m = Map::new();
    m.insert("code".into(), Dynamic::from(out.code as i64));
    m.insert("stdout".into(), Dynamic::from(out.stdout));
    m.insert("stderr".into(), Dynamic::from(out.stderr));
    m
}

fn applied_map(a: &Applied) -> Dynamic {
    let mut m = Map::new();
    m.insert("apiVersion".into(), Dynamic::from(a.api_version.clone()));
    m.insert("kind".into(), Dynamic::from(a.kind.clone()));
    m.insert("namespace".into(), Dynamic::from(a.namespace.clone()));
    m.insert("name".into(), Dynamic::from(a.name.clone()));
    m.insert("action".into(), Dynamic::from(a.action.to_string()));
    if let Some(d) = &a.diff {
        m.insert("diff".into(), Dynamic::from(d.clone()));
    }
    Dynamic::from_map(m)
}

const APPLY_OPTS: &[&str] = &[
    "namespace",
    "mode",
    "force",
    "wait",
    "timeout",
    "qps",
    "burst",
    "dry_run",
    "diff",
    "field_manager",
];

fn apply_options(h: &Host, o: &Opts) -> RResult<ApplyOptions> {
    let mode = o.string("mode")?.unwrap_or_else(|| "apply".into());
    if mode != "apply" && mode != "create_or_replace" {
        return Err(error(format!(
            "apply: mode must be \"apply\" or \"create_or_replace\", got \"{mode}\""
        )));
    }
    Ok(ApplyOptions {
        namespace: o.string("namespace")?.unwrap_or_else(|| default_ns(h)),
        create_or_replace: mode == "create_or_replace",
        force: o.bool("force", true)?,
        field_manager: field_manager(o)?,
        qps: o
            .float("qps")?
            .or(h.settings().kube.qps)
            .unwrap_or(DEFAULT_QPS),
        burst: o
            .int("burst")?
            .map(|b| b.max(1) as u32)
            .or(h.settings().kube.burst)
            .unwrap_or(DEFAULT_BURST),
    })
}

/// `field_manager`: the server's limit is 128 printable characters.
fn field_manager(o: &Opts) -> RResult<String> {
    let m = o
        .string("field_manager")?
        .unwrap_or_else(|| "scaffold".into());
    if m.is_empty() || m.len() > 128 || m.chars().any(|c| c.is_control()) {
        return Err(error(format!(
            "apply: field_manager must be 1 to 128 printable characters, got {m:?}"
        )));
    }
    Ok(m)
}

/// What `wait_for` waits for.
enum Cond {
    Exists,
    Type(String),
    Closure(FnPtr),
}

impl Cond {
    fn from(o: &Opts) -> RResult<Cond> {
        match o.raw("condition") {
            None => Ok(Cond::Exists),
            Some(v) if v.is_string() => Ok(Cond::Type(v.to_string())),
            Some(v) if v.is_fnptr() => Ok(Cond::Closure(v.clone().cast::<FnPtr>())),
            Some(v) => Err(error(format!(
                "wait_for: condition must be a condition type or a closure, got {}",
                v.type_name()
            ))),
        }
    }

    fn holds(&self, ctx: &NativeCallContext, obj: &Value) -> RResult<bool> {
        Ok(match self {
            Cond::Exists => true,
            Cond::Type(t) => obj["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == t.as_str() && c["status"] == "True")
            }),
            Cond::Closure(f) => {
                crate::api::call::truthy(&f.call_within_context::<Dynamic>(ctx, (from_json(obj),))?)
            }
        })
    }

    fn describe(&self) -> String {
        match self {
            Cond::Exists => "it to exist".to_string(),
            Cond::Type(t) => format!("condition {t}=True"),
            Cond::Closure(_) => "the condition closure".to_string(),
        }
    }
}

/// The last state seen, for the timeout message and the progress line.
fn state_text(last: Option<&Value>) -> String {
    let Some(o) = last else {
        return "it does not exist".to_string();
    };
    let cs: Vec<String> = o["status"]["conditions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
                    let r = c["reason"]
                        .as_str()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default();
                    format!("{}={}{r}", s("type"), s("status"))
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

/// Where to exec or read logs: (namespace, container).
fn pod_opts(h: &Host, o: &Opts) -> RResult<(String, Option<String>)> {
    Ok((
        o.string("namespace")?.unwrap_or_else(|| default_ns(h)),
        o.string("container")?,
    ))
}

/// The logs request path, and whether it follows.
fn logs_path(ns: &str, pod: &str, o: &Opts) -> RResult<(String, bool)> {
    let lo = crate::k8s::logs::LogOptions {
        container: o.string("container")?,
        since: o.duration("since")?,
        tail: o.int("tail")?,
        follow: o.bool("follow", false)?,
    };
    let path = crate::k8s::logs::path(ns, pod, &lo).map_err(|e| error(format!("logs: {e}")))?;
    Ok((path, lo.follow))
}

#[export_module]
pub mod objects_api {
    use super::*;
    use crate::api::call::host;
    use rhai::EvalAltResult;

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
    /// default 100 / 200 or `--qps` / `--burst`: a manifest of up to 200
    /// objects goes at once, larger ones at 100 a second). `dry_run: true`
    /// changes nothing: every object is dry-run on the server and `action`
    /// says `would create`, `would change` or `unchanged`; `diff: true`
    /// does the same and adds `diff`, a unified diff of the live object
    /// against the result (empty when unchanged), like `kubectl diff`.
    /// `field_manager` (default `scaffold`): the server removes fields a
    /// manager stops applying, so parts of one object applied separately
    /// (keys of a ConfigMap added one by one) need a manager each.
    ///
    /// ```rhai
    /// apply("kustomization-dir", #{wait: true});
    /// let changes = apply("manifests/", #{diff: true}).filter(|r| r.diff != "");
    /// apply(to_yaml(#{apiVersion: "v1", kind: "ConfigMap", metadata: #{name: "x"}}));
    /// ```
    #[rhai_fn(name = "apply", return_raw)]
    pub fn apply_opts(
        ctx: NativeCallContext,
        manifest: &str,
        options: Map,
    ) -> Result<Array, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("apply", options, APPLY_OPTS)?;
        let ao = apply_options(&h, &o)?;
        let (docs, source) = docs_of(&h, "apply", manifest)?;
        let c = client(&h, "apply")?;
        let mut disc = discovery(&h, "apply")?;
        let _t = h.trace("apply", || format!("{source}: {} objects", docs.len()));
        let req = apply::Request {
            options: ao,
            dry_run: o.bool("dry_run", false)?,
            diff: o.bool("diff", false)?,
            wait: o
                .bool("wait", false)?
                .then_some(o.duration("timeout")?.unwrap_or(DEFAULT_TIMEOUT)),
        };
        let p = req
            .wait
            .map(|_| crate::ui::Progress::start("apply: waiting for /readyz"));
        let run = apply::run(&c, &mut disc, &docs, &source, &req, |n, total| {
            if let Some(p) = &p {
                p.set(&format!(
                    "apply: {}",
                    crate::k8s::ready::pending_text(n, total)
                ))
            }
        });
        let applied = block_on(&h, run)?.map_err(|e| error(format!("apply: {e}")))?;
        drop(p);
        if !(req.dry_run || req.diff) {
            h.set_discovery(Some(disc));
        }
        Ok(applied.iter().map(applied_map).collect())
    }

    /// Delete every object of a manifest (YAML text, file or directory), in
    /// reverse order, with Background propagation (what the objects own goes
    /// too, as with kubectl); objects already gone are skipped. Returns how
    /// many were deleted.
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
        if let Some(doc) = docs.iter().find(|d| d.name().trim().is_empty()) {
            return Err(error(format!(
                "delete: {}: {} has only metadata.generateName, so there is no name to delete; delete it by kind and name",
                doc.where_(&source),
                doc.kind()
            )));
        }
        let mut n = 0;
        for doc in docs.iter().rev() {
            let Some(r) = d.by_gvk(doc.api_version(), doc.kind()) else {
                continue;
            };
            let dns = doc.obj["metadata"]["namespace"].as_str().unwrap_or(&ns);
            let what = format!(
                "{}: cannot delete {} '{}': ",
                doc.where_(&source),
                doc.kind(),
                doc.name()
            );
            let bg = Propagation::Background;
            match block_on(&h, objects::delete(&c, r, dns, doc.name(), bg))? {
                Ok(existed) => n += i64::from(existed),
                Err(e) => return Err(k8s_error(&h, "delete", &what, &e)),
            }
        }
        Ok(n)
    }

    /// Delete one object; true if it existed. Options: `namespace`, `wait`
    /// (until it is gone), `timeout` (default 300 s), `propagation`
    /// (`"background"`, the default as with kubectl: what the object owns,
    /// e.g. a Job's pods, is deleted too; `"foreground"`: the object stays
    /// until they are gone; `"orphan"`: they are left).
    ///
    /// ```rhai
    /// delete("namespace", "cilium-test", #{wait: true});
    /// delete("job", "load", #{propagation: "foreground", wait: true});
    /// ```
    #[rhai_fn(name = "delete", return_raw)]
    pub fn delete_one(
        ctx: NativeCallContext,
        kind: &str,
        name: &str,
        options: Map,
    ) -> Result<bool, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new(
            "delete",
            options,
            &["namespace", "wait", "timeout", "propagation"],
        )?;
        let r = resolve(&h, "delete", kind)?;
        let ns = o.string("namespace")?.unwrap_or_else(|| default_ns(&h));
        let p = match o.string("propagation")? {
            Some(s) => Propagation::parse(&s).map_err(|e| error(format!("delete: {e}")))?,
            None => Propagation::Background,
        };
        let item = r
            .item(&ns, name)
            .map_err(|e| error(format!("delete: {e}")))?;
        let c = client(&h, "delete")?;
        let _t = h.trace("delete", || format!("{} {name}", r.display()));
        let what = format!("cannot delete {} '{ns}/{name}': ", r.kind);
        let r = if o.bool("wait", false)? {
            let timeout = o.duration("timeout")?.unwrap_or(DEFAULT_TIMEOUT);
            block_on(&h, objects::delete_and_wait(&c, &item, p, timeout))?
        } else {
            block_on(&h, objects::delete_path(&c, &item, p))?
        };
        r.map_err(|e| k8s_error(&h, "delete", &what, &e))
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
    /// A name two API groups serve goes to Kubernetes' own group, as with
    /// kubectl (`"events"` is `v1` Events); two CRDs of one kind are an
    /// error naming both: say `"widgets.example.com"` or
    /// `"example.com/v1/Widget"` (the same for every function taking a kind).
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
        let what = format!("cannot get {} '{ns}/{name}': ", r.kind);
        let v = block_on(&h, objects::get(&c, &r, &ns, name))?
            .map_err(|e| k8s_error(&h, "get", &what, &e))?;
        Ok(v.map(|v| from_json(&v)).unwrap_or(Dynamic::UNIT))
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
    /// `"app=web,tier!=db"`, or a map `#{app: "web"}`), `fields` (like
    /// `"spec.nodeName=node-1"`, or a map).
    ///
    /// ```rhai
    /// for p in list("pods", #{namespace: "*", labels: #{app: "web"}}) { print(p.metadata.name); }
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
        let q = objects::selector_query(&o.selector("labels")?, &o.selector("fields")?);
        let c = client(&h, "list")?;
        let _t = h.trace("list", || format!("{} in {ns} {q}", r.display()));
        let scope = if ns == "*" { None } else { Some(ns.as_str()) };
        let what = format!("cannot list {}: ", r.display());
        let items = block_on(&h, objects::list(&c, &r, scope, &q))?
            .map_err(|e| k8s_error(&h, "list", &what, &e))?;
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
        let timeout = o.duration("timeout")?.unwrap_or(DEFAULT_TIMEOUT);
        let cond = Cond::from(&o)?;
        let item = r
            .item(&ns, name)
            .map_err(|e| error(format!("wait_for: {e}")))?;
        let c = client(&h, "wait_for")?;
        let _t = h.trace("wait_for", || format!("{} {ns}/{name}", r.kind));
        let what = format!("{} '{ns}/{name}'", r.kind);
        let progress = crate::ui::Progress::start(&format!(
            "wait_for: {what}: waiting for {}",
            cond.describe()
        ));
        let deadline = Instant::now() + timeout;
        let mut w = crate::k8s::watch::ObjectWatch::new(&c, &item);
        let mut last: Option<Value> = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(state) = block_on(&h, tokio::time::timeout(left, w.next()))? else {
                break;
            };
            last = state
                .map_err(|e| k8s_error(&h, "wait_for", &format!("cannot watch {what}: "), &e))?;
            if let Some(obj) = &last {
                if cond.holds(&ctx, obj)? {
                    return Ok(from_json(obj).cast::<Map>());
                }
            }
            progress.set(&format!(
                "wait_for: {what}: waiting for {}; {}",
                cond.describe(),
                state_text(last.as_ref())
            ));
        }
        Err(error(format!(
            "wait_for: {what}: timed out after {}s waiting for {}; {}",
            timeout.as_secs_f64(),
            cond.describe(),
            state_text(last.as_ref())
        )))
    }

    /// Run a command in a pod's container: `#{code, stdout, stderr}`. A string
    /// runs through `sh -c`, an array as argv. Options: `namespace`,
    /// `container`, `stdin` (text fed to the command while its output is
    /// read), `check` (default true: a non-zero exit is an error), `timeout`
    /// (default 300 s; the command is abandoned after it).
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
            &["namespace", "container", "stdin", "check", "timeout"],
        )?;
        let argv = crate::api::shell::to_cmd("exec", &cmd)?.argv();
        let (ns, container) = pod_opts(&h, &o)?;
        let stdin = o.string("stdin")?.map(String::into_bytes);
        let timeout = o.duration("timeout")?.unwrap_or(DEFAULT_TIMEOUT);
        let c = client(&h, "exec")?;
        let shown = crate::shell::Cmd::Argv(argv.clone()).display();
        let _t = h.trace("exec", || format!("{ns}/{pod}: {shown}"));
        let run = crate::k8s::exec::exec(
            &c,
            &ns,
            pod,
            container.as_deref(),
            argv,
            stdin,
            Some(h.spill_dir()),
        );
        let out = block_on(&h, tokio::time::timeout(timeout, run))?
            .map_err(|_| {
                error(format!(
                    "exec: command in pod '{ns}/{pod}' did not finish within {}s: {shown}",
                    timeout.as_secs_f64()
                ))
            })?
            .map_err(|e| {
                k8s_error(
                    &h,
                    "exec",
                    &format!("cannot exec in pod '{ns}/{pod}': "),
                    &e,
                )
            })?;
        for n in &out.notes {
            crate::ui::warn(&format!("exec in pod '{ns}/{pod}': {n}"));
        }
        if o.bool("check", true)? && out.code != 0 {
            let tail = crate::util::tail_note("stderr", &crate::util::last_lines(&out.stderr, 10));
            return Err(error(format!(
                "exec: command exited with code {} in pod '{ns}/{pod}': {shown}{tail}",
                out.code
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
    /// also returned), `since` (seconds), `tail` (last N lines). The log
    /// is streamed, so a big one takes as long as it takes (only a stream
    /// silent for 30 s is an error); the text returned is at most its last
    /// 16 MiB, and a bigger log is kept whole in the run's artifacts
    /// (`output/logs-POD.log`, said in a warning). `exec` keeps its
    /// outputs the same way.
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
        let (ns, _) = pod_opts(&h, &o)?;
        let (path, follow) = logs_path(&ns, pod, &o)?;
        let c = client(&h, "logs")?;
        let _t = h.trace("logs", || path.clone());
        let what = format!("cannot read logs of pod '{ns}/{pod}': ");
        let out = |l: &str| crate::ui::out(l);
        let name = format!("logs-{pod}");
        let got = block_on(
            &h,
            crate::k8s::logs::capture(&c, &path, follow, &name, Some(h.spill_dir()), &out),
        )?
        .map_err(|e| k8s_error(&h, "logs", &what, &e))?;
        if let Some(n) = got.note() {
            crate::ui::warn(&format!("logs of pod '{ns}/{pod}': {n}"));
        }
        Ok(got.text)
    }

    /// `logs` in the context's namespace.
    #[rhai_fn(name = "logs", return_raw)]
    pub fn logs1(ctx: NativeCallContext, pod: &str) -> Result<String, Box<EvalAltResult>> {
        logs(ctx, pod, Map::new())
    }
}
