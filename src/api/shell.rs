//! `sh`, `sh_output`, `sh_bg`: local commands with the cluster's KUBECONFIG,
//! running in the script's directory.

use crate::api::call::error;
use crate::api::opts::Opts as OptMap;
use crate::host::{Host, Owned};
use crate::shell::background::BgProcess;
use crate::shell::{self, Cmd};
use rhai::plugin::*;
use rhai::EvalAltResult;
use rhai::{Dynamic, Map};
use std::sync::Arc;

/// Script handle of a background process.
#[derive(Clone)]
pub struct BgHandle(pub Arc<BgProcess>);

impl BgHandle {
    /// Wait for the process from the script thread (Ctrl-C stops waiting).
    fn wait(&self, h: &Host) -> Result<shell::Output, Box<EvalAltResult>> {
        crate::api::call::block_on(h, self.0.wait())?.map_err(|e| error(format!("sh_bg: {e}")))
    }
}

pub(crate) const SH_OPTS: &[&str] = &["check", "cwd", "env", "timeout", "quiet", "stdin"];

pub(crate) fn to_cmd(func: &str, cmd: &Dynamic) -> Result<Cmd, Box<EvalAltResult>> {
    if cmd.is_string() {
        return Ok(Cmd::Shell(cmd.to_string()));
    }
    if cmd.is_array() {
        let v: Vec<String> = cmd
            .clone()
            .into_array()
            .unwrap_or_default()
            .iter()
            // numbers and bools are fine as argv words too
            .map(|a| a.to_string())
            .collect();
        if v.is_empty() {
            return Err(error(format!("{func}: empty command array")));
        }
        return Ok(Cmd::Argv(v));
    }
    Err(error(format!(
        "{func}: command must be a string (run by sh -c) or an array (argv), got {}",
        cmd.type_name()
    )))
}

/// Options shared by sh and sh_bg.
pub(crate) fn base_opts(
    h: &Arc<Host>,
    func: &str,
    o: Option<&OptMap>,
) -> Result<(shell::Opts, bool), Box<EvalAltResult>> {
    let mut opts = shell::Opts {
        cwd: Some(h.settings().script_dir.clone()),
        env: h.child_env(),
        spill: Some(h.spill_dir()),
        ..Default::default()
    };
    let mut check = true;
    if let Some(o) = o {
        check = o.bool("check", true)?;
        if let Some(c) = o.string("cwd")? {
            opts.cwd = Some(h.resolve_path(&c));
        }
        if let Some(env) = o.map("env")? {
            for (k, v) in env {
                opts.env.push((k.to_string(), v.to_string()));
            }
        }
        opts.timeout = o.duration("timeout")?;
        opts.quiet = o.bool("quiet", false)?;
        opts.stdin = o.string("stdin")?;
    }
    if let Some(d) = &opts.cwd {
        if !d.is_dir() {
            return Err(error(format!(
                "{func}: working directory {} does not exist",
                d.display()
            )));
        }
    }
    Ok((opts, check))
}

pub(crate) fn output_map(o: &shell::Output) -> Map {
    let mut m = Map::new();
    m.insert("code".into(), Dynamic::from(o.code as i64));
    m.insert("stdout".into(), Dynamic::from(o.stdout.clone()));
    m.insert("stderr".into(), Dynamic::from(o.stderr.clone()));
    m.insert("duration".into(), Dynamic::from(o.duration.as_secs_f64()));
    m
}

/// The error for a failed command: code and the last stderr lines.
pub(crate) fn failure(func: &str, cmd: &Cmd, o: &shell::Output) -> String {
    let what = if o.timed_out {
        format!("timed out after {:.1}s", o.duration.as_secs_f64())
    } else {
        format!("exited with code {}", o.code)
    };
    let mut s = format!("{func}: command {what}: {}", cmd.display());
    if !o.stderr_tail.is_empty() {
        s.push_str("\nlast lines of stderr:");
        for l in o.stderr_tail.iter().rev().take(10).rev() {
            s.push_str("\n  ");
            s.push_str(l);
        }
    }
    s
}

/// Run a command to its end (used by sh, sh_output and other modules).
/// Ctrl-C reaches the command through its own cancel path (SIGTERM to its
/// process group, SIGKILL after a grace period), so the future is not
/// raced and dropped here.
pub(crate) fn run(
    h: &Host,
    func: &str,
    cmd: &Cmd,
    opts: &shell::Opts,
) -> Result<shell::Output, Box<EvalAltResult>> {
    let _t = h.trace(func, || cmd.display());
    let token = h.interrupt().token();
    if token.is_cancelled() {
        return Err(crate::api::call::interrupted());
    }
    let out = h
        .rt()
        .block_on(shell::run(cmd, opts, token))
        .map_err(|e| error(format!("{func}: {e}")))?;
    if out.interrupted {
        return Err(crate::api::call::interrupted());
    }
    for n in &out.notes {
        crate::ui::warn(&format!("{func}: {n}"));
    }
    Ok(out)
}

#[export_module]
pub mod shell_api {
    use super::*;
    use rhai::NativeCallContext;

    /// Run a command with its output streamed live. A string runs through
    /// `sh -c`, an array runs as argv without a shell. Runs in the script's
    /// directory with `KUBECONFIG` of the script's cluster. Returns 0; a
    /// non-zero exit is an error with the code and the last stderr lines.
    ///
    /// ```rhai
    /// sh("kubectl get nodes -o wide");
    /// sh(["ping", "-c", "1", ip]);
    /// ```
    #[rhai_fn(name = "sh", return_raw)]
    pub fn sh(ctx: NativeCallContext, cmd: Dynamic) -> Result<i64, Box<EvalAltResult>> {
        let h = crate::api::call::host(&ctx)?;
        let c = to_cmd("sh", &cmd)?;
        let (opts, _) = base_opts(&h, "sh", None)?;
        let out = run(&h, "sh", &c, &opts)?;
        if out.code != 0 || out.timed_out {
            return Err(error(failure("sh", &c, &out)));
        }
        Ok(0)
    }

    /// `sh` with options; returns `#{code, stdout, stderr, duration}`.
    /// Options: `check` (default true: non-zero exit is an error),
    /// `cwd` (relative to the script), `env` (map of extra variables),
    /// `timeout` (seconds), `quiet` (do not echo output), `stdin` (text fed
    /// to the command).
    ///
    /// ```rhai
    /// let r = sh("cilium status", #{check: false, quiet: true});
    /// if r.code != 0 { warn(r.stderr); }
    /// ```
    #[rhai_fn(name = "sh", return_raw)]
    pub fn sh_opts(
        ctx: NativeCallContext,
        cmd: Dynamic,
        options: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        let h = crate::api::call::host(&ctx)?;
        let c = to_cmd("sh", &cmd)?;
        let o = OptMap::new("sh", options, SH_OPTS)?;
        let (mut opts, check) = base_opts(&h, "sh", Some(&o))?;
        opts.capture = true;
        let out = run(&h, "sh", &c, &opts)?;
        if check && (out.code != 0 || out.timed_out) {
            return Err(error(failure("sh", &c, &out)));
        }
        Ok(output_map(&out))
    }

    /// Run a command quietly and return its stdout, trimmed. Non-zero exit is an error.
    ///
    /// ```rhai
    /// let ctx = sh_output("kubectl config current-context");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sh_output(ctx: NativeCallContext, cmd: Dynamic) -> Result<String, Box<EvalAltResult>> {
        let h = crate::api::call::host(&ctx)?;
        let c = to_cmd("sh_output", &cmd)?;
        let (mut opts, _) = base_opts(&h, "sh_output", None)?;
        opts.capture = true;
        opts.quiet = true;
        let out = run(&h, "sh_output", &c, &opts)?;
        if out.code != 0 || out.timed_out {
            return Err(error(failure("sh_output", &c, &out)));
        }
        Ok(out.stdout.trim().to_string())
    }

    /// Start a command in the background (load generators, monitors) and
    /// return a handle: `.wait()` gives `#{code, stdout, stderr, duration}`,
    /// `.kill()` stops it, `.running()` tells. Killed when the script ends.
    /// Options as for `sh` (`check` applies to `.wait()`).
    ///
    /// ```rhai
    /// let mon = sh_bg("vmstat 1", #{quiet: true});
    /// sleep(5);
    /// mon.kill();
    /// print(mon.wait().stdout);
    /// ```
    #[rhai_fn(name = "sh_bg", return_raw)]
    pub fn sh_bg_opts(
        ctx: NativeCallContext,
        cmd: Dynamic,
        options: Map,
    ) -> Result<BgHandle, Box<EvalAltResult>> {
        let h = crate::api::call::host(&ctx)?;
        let c = to_cmd("sh_bg", &cmd)?;
        let o = OptMap::new("sh_bg", options, SH_OPTS)?;
        let (mut opts, _check) = base_opts(&h, "sh_bg", Some(&o))?;
        opts.capture = true;
        let _t = h.trace("sh_bg", || c.display());
        let p = BgProcess::spawn(h.rt(), &c, opts);
        h.own(Owned::Process(p.clone()));
        Ok(BgHandle(p))
    }

    /// `sh_bg` without options.
    #[rhai_fn(name = "sh_bg", return_raw)]
    pub fn sh_bg(ctx: NativeCallContext, cmd: Dynamic) -> Result<BgHandle, Box<EvalAltResult>> {
        sh_bg_opts(ctx, cmd, Map::new())
    }

    /// Wait for a background process to end; returns `#{code, stdout, stderr, duration}`.
    #[rhai_fn(name = "wait", return_raw)]
    pub fn wait(ctx: NativeCallContext, p: &mut BgHandle) -> Result<Map, Box<EvalAltResult>> {
        let h = crate::api::call::host(&ctx)?;
        let _t = h.trace("process.wait", || p.0.cmd.clone());
        Ok(output_map(&p.wait(&h)?))
    }

    /// Stop a background process (SIGTERM, then SIGKILL after 2 s).
    #[rhai_fn(name = "kill")]
    pub fn kill(ctx: NativeCallContext, p: &mut BgHandle) {
        let _t = crate::api::call::trace(&ctx, "process.kill", || p.0.cmd.clone());
        p.0.kill();
    }

    /// True while a background process runs.
    #[rhai_fn(name = "running")]
    pub fn running(p: &mut BgHandle) -> bool {
        p.0.running()
    }

    /// The command line of a background process.
    #[rhai_fn(get = "cmd")]
    pub fn cmd(p: &mut BgHandle) -> String {
        p.0.cmd.clone()
    }

    /// Text of a background process handle.
    #[rhai_fn(name = "to_string", name = "to_debug")]
    pub fn to_string(p: &mut BgHandle) -> String {
        format!("BgProcess({})", p.0.cmd)
    }
}
