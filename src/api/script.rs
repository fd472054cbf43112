//! Script basics: parameters, arguments, directories, environment, sleeping,
//! retrying, polling, exit handlers, breakpoints and log lines.

use rhai::plugin::*;

fn sleep_for(
    ctx: &rhai::NativeCallContext,
    seconds: rhai::Dynamic,
) -> Result<(), Box<rhai::EvalAltResult>> {
    let h = crate::api::call::host(ctx)?;
    let d = crate::api::call::secs("sleep", &seconds)?;
    let _t = h.trace("sleep", || format!("{}", d.as_secs_f64()));
    crate::api::call::block_on(&h, tokio::time::sleep(d))
}

#[export_module]
pub mod script_api {
    use crate::api::call::{block_on, brief, error, from_json, host, is_interrupt, secs, truthy};
    use rhai::EvalAltResult;
    use rhai::{Array, Dynamic, FnPtr, Map, NativeCallContext, FLOAT, INT};

    /// All `--set key=value` (strings) and `--set-json key=JSON` (typed) parameters as a map.
    ///
    /// ```rhai
    /// for k in params().keys() { print(k); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn params(ctx: NativeCallContext) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("params", String::new);
        let mut m = Map::new();
        for (k, v) in &h.settings().params {
            m.insert(k.as_str().into(), from_json(v));
        }
        Ok(m)
    }

    /// One parameter, or `default` when it was not given. A `--set` string is
    /// converted to the default's type (int, float, bool), so
    /// `param("runs", 3)` gives an int for `--set runs=5`.
    ///
    /// ```rhai
    /// let mode = param("mode", "xdp");
    /// let runs = param("runs", 3);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn param(
        ctx: NativeCallContext,
        name: &str,
        default: Dynamic,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("param", || format!("{name:?}, {}", brief(&default)));
        let Some(v) = h.settings().params.get(name) else {
            return Ok(default);
        };
        let serde_json::Value::String(s) = v else {
            return Ok(from_json(v));
        };
        let bad = |want: &str| {
            error(format!(
                "param '{name}': expected {want} like the default {}, got '{s}'; fix --set {name}=...",
                brief(&default)
            ))
        };
        if default.is_int() {
            s.trim()
                .parse::<INT>()
                .map(Dynamic::from)
                .map_err(|_| bad("an integer"))
        } else if default.is_float() {
            s.trim()
                .parse::<FLOAT>()
                .map(Dynamic::from)
                .map_err(|_| bad("a number"))
        } else if default.is_bool() {
            match s.trim() {
                "true" | "yes" | "1" | "on" => Ok(Dynamic::TRUE),
                "false" | "no" | "0" | "off" => Ok(Dynamic::FALSE),
                _ => Err(bad("true or false")),
            }
        } else {
            Ok(Dynamic::from(s.clone()))
        }
    }

    /// Positional arguments given after the script path.
    #[rhai_fn(name = "args", return_raw)]
    pub fn script_args(ctx: NativeCallContext) -> Result<Array, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("args", String::new);
        Ok(h.settings()
            .args
            .iter()
            .map(|a| Dynamic::from(a.clone()))
            .collect())
    }

    /// Absolute directory of the running script; relative paths resolve against it.
    #[rhai_fn(return_raw)]
    pub fn script_dir(ctx: NativeCallContext) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("script_dir", String::new);
        Ok(h.settings().script_dir.display().to_string())
    }

    /// The repository root: `SCAFFOLD_ROOT`, else the nearest ancestor of the
    /// script's directory that holds `kustomize/`.
    #[rhai_fn(return_raw)]
    pub fn root_dir(ctx: NativeCallContext) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("root_dir", String::new);
        if let Ok(r) = std::env::var("SCAFFOLD_ROOT") {
            return Ok(r);
        }
        h.settings()
            .script_dir
            .ancestors()
            .find(|d| d.join("kustomize").is_dir())
            .map(|d| d.display().to_string())
            .ok_or_else(|| {
                error(format!(
                    "root_dir: no ancestor of {} holds kustomize/; set SCAFFOLD_ROOT",
                    h.settings().script_dir.display()
                ))
            })
    }

    /// An environment variable; an error when it is not set.
    #[rhai_fn(name = "env", return_raw)]
    pub fn env(ctx: NativeCallContext, name: &str) -> Result<String, Box<EvalAltResult>> {
        let _t = crate::api::call::trace(&ctx, "env", || format!("{name:?}"));
        std::env::var(name).map_err(|_| {
            error(format!(
                "env: variable '{name}' is not set; export it or use env(\"{name}\", default)"
            ))
        })
    }

    /// An environment variable, or `default` when it is not set.
    #[rhai_fn(name = "env")]
    pub fn env_or(ctx: NativeCallContext, name: &str, default: &str) -> String {
        let _t = crate::api::call::trace(&ctx, "env", || format!("{name:?}, {default:?}"));
        std::env::var(name).unwrap_or_else(|_| default.to_string())
    }

    /// Full path of an executable on PATH, or `()` when there is none.
    ///
    /// ```rhai
    /// if which("kind") == () { throw "install kind first"; }
    /// ```
    pub fn which(ctx: NativeCallContext, name: &str) -> Dynamic {
        let _t = crate::api::call::trace(&ctx, "which", || format!("{name:?}"));
        match crate::shell::which(name) {
            Some(p) => Dynamic::from(p.display().to_string()),
            None => Dynamic::UNIT,
        }
    }

    /// Sleep for `seconds` (int or float); Ctrl-C interrupts it.
    ///
    /// ```rhai
    /// sleep(0.5);
    /// ```
    #[rhai_fn(name = "sleep", return_raw)]
    pub fn sleep_float(ctx: NativeCallContext, seconds: FLOAT) -> Result<(), Box<EvalAltResult>> {
        sleep_for(&ctx, Dynamic::from(seconds))
    }

    /// Sleep for whole seconds; Ctrl-C interrupts it.
    #[rhai_fn(name = "sleep", return_raw)]
    pub fn sleep_int(ctx: NativeCallContext, seconds: INT) -> Result<(), Box<EvalAltResult>> {
        sleep_for(&ctx, Dynamic::from(seconds))
    }

    /// Call `f` until it succeeds, at most `times` attempts, sleeping `delay`
    /// seconds between them. Returns `f`'s value; after the last failure the
    /// error says how many attempts were made and shows the last error.
    ///
    /// ```rhai
    /// retry(10, 2, || sh("kubectl get ns demo"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn retry(
        ctx: NativeCallContext,
        times: INT,
        delay: Dynamic,
        f: FnPtr,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("retry", || format!("{times}, {}", brief(&delay)));
        let d = secs("retry", &delay)?;
        if times < 1 {
            return Err(error(format!("retry: times must be >= 1, got {times}")));
        }
        let mut last = None;
        for attempt in 1..=times {
            match f.call_within_context::<Dynamic>(&ctx, ()) {
                Ok(v) => return Ok(v),
                Err(e) if is_interrupt(&e) => return Err(e),
                Err(e) => {
                    if h.settings().verbose {
                        crate::ui::err(format!("+ retry: attempt {attempt}/{times} failed: {e}"));
                    }
                    last = Some(e);
                }
            }
            if attempt < times {
                block_on(&h, tokio::time::sleep(d))?;
            }
        }
        let e = last.expect("at least one attempt");
        Err(error(format!(
            "retry: gave up after {times} attempts; last error: {}",
            crate::api::errors::message(&e)
        )))
    }

    /// Call `f` every `interval` seconds until it returns a truthy value
    /// (not `()`, false, 0, "" or empty), which is returned; an error after
    /// `timeout` seconds.
    ///
    /// ```rhai
    /// wait_until(60, 1, || exists("ready.flag"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn wait_until(
        ctx: NativeCallContext,
        timeout: Dynamic,
        interval: Dynamic,
        f: FnPtr,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("wait_until", || {
            format!("{}, {}", brief(&timeout), brief(&interval))
        });
        let timeout = secs("wait_until", &timeout)?;
        let interval = secs("wait_until", &interval)?;
        let start = std::time::Instant::now();
        loop {
            let v = f.call_within_context::<Dynamic>(&ctx, ())?;
            if truthy(&v) {
                return Ok(v);
            }
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                return Err(error(format!(
                    "wait_until: condition not met within {}s (last value: {})",
                    timeout.as_secs_f64(),
                    brief(&v)
                )));
            }
            block_on(&h, tokio::time::sleep(interval.min(timeout - elapsed)))?;
        }
    }

    /// Log an informational line to stderr.
    pub fn info(msg: &str) {
        crate::ui::info(msg);
    }

    /// Log a warning line to stderr.
    pub fn warn(msg: &str) {
        crate::ui::warn(msg);
    }
}
