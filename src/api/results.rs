//! Steps and results: timed steps, recorded metrics, the run's artifacts directory.

use rhai::plugin::*;

#[export_module]
pub mod results_api {
    use crate::api::call::{error, host, is_interrupt, to_json};
    use crate::api::opts::Opts;
    use rhai::EvalAltResult;
    use rhai::{Dynamic, FnPtr, Map, NativeCallContext};

    /// Run `f` as a named, timed step: a spinner on a terminal, start/end
    /// lines otherwise; recorded in results.json with its outcome. Returns `f`'s value.
    ///
    /// ```rhai
    /// step("install cilium", || sh("cilium install --wait"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn step(
        ctx: NativeCallContext,
        name: &str,
        f: FnPtr,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("step", || format!("{name:?}"));
        let start = std::time::SystemTime::now();
        let t = std::time::Instant::now();
        let display = crate::ui::StepDisplay::start(name);
        let r = f.call_within_context::<Dynamic>(&ctx, ());
        let secs = t.elapsed().as_secs_f64();
        let (outcome, err) = match &r {
            Ok(_) => ("ok", None),
            Err(e) if is_interrupt(e) => ("interrupted", Some("interrupted".to_string())),
            Err(e) => ("error", Some(crate::api::errors::message(e))),
        };
        display.finish(secs, err.as_deref());
        h.results().steps.push(crate::results::Step {
            name: name.to_string(),
            start: crate::results::rfc3339(start),
            duration: secs,
            outcome: outcome.into(),
            error: err,
        });
        r
    }

    /// Record a metric or fact in results.json. Recording the same name
    /// again builds a series of samples that `scaffold report` summarises.
    /// A NaN or infinite number is not a sample: it is counted (`nan` in
    /// results.json) and the series stays numeric.
    ///
    /// ```rhai
    /// record("kernel", sh_output("uname -r"));
    /// ```
    #[rhai_fn(name = "record", return_raw)]
    pub fn record(
        ctx: NativeCallContext,
        name: &str,
        value: Dynamic,
    ) -> Result<(), Box<EvalAltResult>> {
        record_opts(ctx, name, value, Map::new())
    }

    /// The values recorded under `name` so far in this run, in recording
    /// order (`[]` when nothing was): what a script's own summary table
    /// reads back.
    ///
    /// ```rhai
    /// record("throughput", 9.41);
    /// print(summary(recorded("throughput")).mean);
    /// ```
    #[rhai_fn(name = "recorded", return_raw)]
    pub fn recorded(ctx: NativeCallContext, name: &str) -> Result<rhai::Array, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let r = h.results();
        Ok(match r.records.get(name) {
            Some(rec) => rec.iter_values().map(crate::api::call::from_json).collect(),
            None => vec![],
        })
    }

    /// `record` with options: `unit` (e.g. "Gbit/s") and `tags` (a map).
    ///
    /// ```rhai
    /// record("throughput", 9.41, #{unit: "Gbit/s", tags: #{mode: "xdp"}});
    /// ```
    #[rhai_fn(name = "record", return_raw)]
    pub fn record_opts(
        ctx: NativeCallContext,
        name: &str,
        value: Dynamic,
        options: Map,
    ) -> Result<(), Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("record", options, &["unit", "tags"])?;
        let unit = o.string("unit")?;
        let tags = match o.map("tags")? {
            Some(m) => match to_json(&Dynamic::from_map(m)) {
                serde_json::Value::Object(m) => m,
                _ => serde_json::Map::new(),
            },
            None => serde_json::Map::new(),
        };
        if name.is_empty() {
            return Err(error("record: name must not be empty"));
        }
        let _t = h.trace("record", || {
            format!("{name:?}, {}", crate::api::call::brief(&value))
        });
        match value.as_float() {
            // NaN or ±inf (a Prometheus NaN, a division by zero): counted, never a value
            Ok(f) if !f.is_finite() => {
                let n = {
                    let mut r = h.results();
                    r.record_nan(name, unit, tags);
                    r.records[name].nan
                };
                if n == 1 {
                    crate::ui::warn(&format!(
                        "record: {name} got {f}; such samples are left out of the statistics and counted (\"nan\" in results.json)"
                    ));
                }
            }
            _ => h.results().record(name, to_json(&value), unit, tags),
        }
        Ok(())
    }

    /// Statistics of an array of numbers, the same `scaffold report` prints:
    /// `#{n, mean, p50, p95, min, max, ci95}` (`ci95`: half-width of the 95%
    /// confidence interval of the mean, Student's t; `()` for one sample).
    /// An empty array gives `#{n: 0}`. NaN and infinite values are left out
    /// and counted (`nan`).
    ///
    /// ```rhai
    /// let s = summary([9.1, 9.3, 9.2]);
    /// print(s.mean + " ± " + s.ci95);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn summary(ctx: NativeCallContext, xs: rhai::Array) -> Result<Map, Box<EvalAltResult>> {
        let _t = crate::api::call::trace(&ctx, "summary", || format!("{} values", xs.len()));
        let mut nums = Vec::with_capacity(xs.len());
        let mut nan = 0i64;
        for x in &xs {
            match x.as_float().or_else(|_| x.as_int().map(|i| i as f64)) {
                Ok(f) if !f.is_finite() => nan += 1,
                Ok(f) => nums.push(f),
                Err(t) => {
                    return Err(error(format!(
                        "summary: the array must hold numbers, found a {t}"
                    )))
                }
            }
        }
        let mut m = Map::new();
        if nan > 0 {
            m.insert("nan".into(), nan.into());
        }
        let Some(s) = crate::stats::Summary::of(&nums) else {
            m.insert("n".into(), 0i64.into());
            return Ok(m);
        };
        m.insert("n".into(), (s.n as i64).into());
        for (k, v) in [
            ("mean", s.mean),
            ("p50", s.p50),
            ("p95", s.p95),
            ("min", s.min),
            ("max", s.max),
        ] {
            m.insert(k.into(), v.into());
        }
        m.insert(
            "ci95".into(),
            s.ci95.map(Dynamic::from_float).unwrap_or(Dynamic::UNIT),
        );
        Ok(m)
    }

    /// This run's own directory (`artifacts/<UTC timestamp>/`, parent set by
    /// `--artifacts`), created on first use. results.json is written there.
    #[rhai_fn(return_raw)]
    pub fn artifacts_dir(ctx: NativeCallContext) -> Result<String, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let _t = h.trace("artifacts_dir", String::new);
        h.run_dir()
            .map(|p| p.display().to_string())
            .map_err(|e| error(format!("artifacts_dir: {e}")))
    }
}
