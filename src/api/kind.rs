//! kind clusters and tools fetched on demand.

use crate::api::call::{error, RResult};
use crate::api::opts::Opts;
use crate::exit::Failure;
use crate::host::Host;
use rhai::plugin::*;
use rhai::Map;

fn config_options(o: &Opts) -> RResult<crate::kind::ConfigOptions> {
    let d = crate::kind::ConfigOptions::default();
    Ok(crate::kind::ConfigOptions {
        name: o.string("name")?.unwrap_or(d.name),
        workers: o.int("workers")?.unwrap_or(d.workers),
        control_planes: o.int("control_planes")?.unwrap_or(d.control_planes),
        with_cni: o.bool("with_cni", d.with_cni)?,
        image: o.string("image")?,
    })
}

/// Run the kind binary with live output.
fn run_kind(
    h: &std::sync::Arc<Host>,
    func: &str,
    args: &[&str],
    stdin: Option<String>,
    quiet: bool,
) -> RResult<crate::shell::Output> {
    if let Some(why) = crate::kind::missing_tools() {
        return Err(error(format!("{func}: {why}")));
    }
    let mut argv = vec!["kind".to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let cmd = crate::shell::Cmd::Argv(argv);
    let (mut opts, _) = crate::api::shell::base_opts(h, func, None)?;
    opts.stdin = stdin;
    opts.capture = true;
    opts.quiet = quiet;
    let out = crate::api::shell::run(h, func, &cmd, &opts)?;
    if out.code != 0 {
        return Err(error(crate::api::shell::failure(func, &cmd, &out)));
    }
    Ok(out)
}

#[export_module]
pub mod kind_api {
    use super::*;
    use crate::api::call::host;
    use rhai::{EvalAltResult, NativeCallContext};

    /// A kind cluster config (the text of `scaffold lazyget kind-config`).
    /// Options: `name` (default "kind"), `workers` (0), `control_planes` (1),
    /// `with_cni` (false: the default CNI is disabled), `image` (default the
    /// newest pinned node image).
    ///
    /// ```rhai
    /// let cfg = kind_config(#{name: "bench", workers: 2, image: kind_image("1.33")});
    /// ```
    #[rhai_fn(name = "kind_config", return_raw)]
    pub fn kind_config(ctx: NativeCallContext, options: Map) -> Result<String, Box<EvalAltResult>> {
        let _t = crate::api::call::trace(&ctx, "kind_config", || {
            crate::api::call::brief(&Dynamic::from_map(options.clone()))
        });
        let o = Opts::new(
            "kind_config",
            options,
            &["name", "workers", "control_planes", "with_cni", "image"],
        )?;
        crate::kind::config(&config_options(&o)?).map_err(|e| error(format!("kind_config: {e}")))
    }

    /// `kind_config` with the defaults.
    #[rhai_fn(name = "kind_config", return_raw)]
    pub fn kind_config0(ctx: NativeCallContext) -> Result<String, Box<EvalAltResult>> {
        kind_config(ctx, Map::new())
    }

    /// The kind node image pinned by digest for a Kubernetes version
    /// (`"1.33"`, `"v1.33"`, `"1.33.4"`, `"v1.33.4"`).
    #[rhai_fn(return_raw)]
    pub fn kind_image(ctx: NativeCallContext, version: &str) -> Result<String, Box<EvalAltResult>> {
        let _t = crate::api::call::trace(&ctx, "kind_image", || format!("{version:?}"));
        crate::kind::image(version).map_err(|e| error(format!("kind_image: {e}")))
    }

    /// Create a kind cluster (config on stdin, output streamed), then point
    /// this run's cluster functions and commands at it. Options: `name`
    /// (default "kind"), `config` (YAML text; default `kind_config(#{name})`),
    /// `wait` (seconds for kind's `--wait`, default 300). Returns the path of
    /// the new cluster's kubeconfig.
    ///
    /// ```rhai
    /// kind_create(#{name: "bench", config: kind_config(#{name: "bench", workers: 2})});
    /// on_exit(|| kind_delete("bench"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn kind_create(ctx: NativeCallContext, options: Map) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("kind_create", || {
            crate::api::call::brief(&Dynamic::from_map(options.clone()))
        });
        let o = Opts::new("kind_create", options, &["name", "config", "wait"])?;
        let name = o.string("name")?.unwrap_or_else(|| "kind".into());
        let config = match o.string("config")? {
            Some(c) => c,
            None => crate::kind::config(&crate::kind::ConfigOptions {
                name: name.clone(),
                ..Default::default()
            })
            .map_err(|e| error(format!("kind_create: {e}")))?,
        };
        let wait = o
            .duration("wait")?
            .unwrap_or(std::time::Duration::from_secs(300));
        let wait_arg = format!("{}s", wait.as_secs());
        let display = crate::ui::StepDisplay::start(&format!("kind create cluster {name}"));
        let t = std::time::Instant::now();
        let r = run_kind(
            &h,
            "kind_create",
            &[
                "create", "cluster", "--name", &name, "--config", "-", "--wait", &wait_arg,
            ],
            Some(config),
            false,
        );
        display.finish(
            t.elapsed().as_secs_f64(),
            r.as_ref().err().map(|e| e.to_string()).as_deref(),
        );
        r?;
        // quiet: a kubeconfig holds client keys, never printed
        let kc = run_kind(
            &h,
            "kind_create",
            &["get", "kubeconfig", "--name", &name],
            None,
            true,
        )?;
        let path =
            crate::paths::kind_kubeconfig(&name).map_err(|e| error(format!("kind_create: {e}")))?;
        crate::paths::write_private(&path, kc.stdout.as_bytes())
            .map_err(|e| error(format!("kind_create: {e}")))?;
        h.switch_cluster(path.clone(), &format!("kind-{name}"));
        Ok(path.display().to_string())
    }

    /// Delete a kind cluster (`kind delete cluster --name NAME`).
    #[rhai_fn(return_raw)]
    pub fn kind_delete(ctx: NativeCallContext, name: &str) -> Result<(), Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("kind_delete", || format!("{name:?}"));
        run_kind(
            &h,
            "kind_delete",
            &["delete", "cluster", "--name", name],
            None,
            false,
        )?;
        if let Ok(p) = crate::paths::kind_kubeconfig(name) {
            let _ = std::fs::remove_file(p);
        }
        Ok(())
    }

    /// Download a tool (`"cilium"`, `"crane"`) for this platform, verify its
    /// published sha256 before unpacking, and return the binary's path; a
    /// verified copy of the same version is reused. Options: `version`
    /// (pinned default, or `"latest"`), `dest` (default the shared cache,
    /// `$XDG_CACHE_HOME/scaffold/tools/TOOL`), `platform`, `arch`, `keep`
    /// (keep the archive and checksums).
    ///
    /// ```rhai
    /// let cilium = lazyget("cilium");
    /// sh([cilium, "status", "--wait"]);
    /// ```
    #[rhai_fn(name = "lazyget", return_raw)]
    pub fn lazyget(
        ctx: NativeCallContext,
        tool: &str,
        options: Map,
    ) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new(
            "lazyget",
            options,
            &["version", "dest", "platform", "arch", "keep"],
        )?;
        let dest = match o.string("dest")? {
            Some(d) => h.resolve_path(&d),
            None => crate::lazyget::cache_dir().join(tool),
        };
        let req = crate::lazyget::Request {
            tool: tool.to_string(),
            version: o.string("version")?,
            platform: o.string("platform")?,
            arch: o.string("arch")?,
            dest,
            keep: o.bool("keep", false)?,
        };
        let _t = h.trace("lazyget", || tool.to_string());
        let interrupt = h.interrupt().clone();
        let p = crate::lazyget::fetch(&req, true, &|| interrupt.is_set()).map_err(|e| match e {
            Failure::Interrupted => crate::api::call::interrupted(),
            Failure::Error(e) => error(format!("lazyget: {e}")),
        })?;
        Ok(p.display().to_string())
    }

    /// `lazyget` with the defaults.
    #[rhai_fn(name = "lazyget", return_raw)]
    pub fn lazyget1(ctx: NativeCallContext, tool: &str) -> Result<String, Box<EvalAltResult>> {
        lazyget(ctx, tool, Map::new())
    }
}
