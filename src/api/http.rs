//! HTTP: small requests to services a scenario talks to (a pushgateway
//! behind a port-forward, grafana.com's dashboard API).

use rhai::plugin::*;

#[export_module]
pub mod http_api {
    use crate::api::call::{error, host};
    use crate::api::opts::Opts;
    use rhai::{EvalAltResult, Map, NativeCallContext};

    /// `http` without options.
    #[rhai_fn(name = "http", return_raw)]
    pub fn http(
        ctx: NativeCallContext,
        method: &str,
        url: &str,
    ) -> Result<Map, Box<EvalAltResult>> {
        http_with(ctx, method, url, Map::new())
    }

    /// An HTTP request; returns `#{status, body}`. Options: `body` (text),
    /// `headers` (map), `timeout` (seconds, default 30), `check` (default
    /// true: a status outside 200..=299 is an error naming it and the start
    /// of the body). `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` apply as for
    /// the cluster; 127.0.0.1 and localhost are always reached directly.
    ///
    /// ```rhai
    /// let r = http("GET", "https://grafana.com/api/dashboards/1860");
    /// http("PUT", "http://127.0.0.1:9091/metrics/job/netperf", #{body: "throughput 9.4\n"});
    /// ```
    #[rhai_fn(name = "http", return_raw)]
    pub fn http_with(
        ctx: NativeCallContext,
        method: &str,
        url: &str,
        options: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        let h = host(&ctx)?;
        let o = Opts::new("http", options, &["body", "headers", "timeout", "check"])?;
        let body = o.string("body")?;
        let timeout = o.float("timeout")?.unwrap_or(30.0);
        let check = o.bool("check", true)?;
        let headers: Vec<(String, String)> = o
            .map("headers")?
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let method = method.to_uppercase();
        let _t = h.trace("http", || {
            format!("{method} {}", crate::net::redact_url(url))
        });
        let timeout = crate::util::duration_from_secs(timeout)
            .map_err(|e| error(format!("http: timeout: {e}")))?;
        let a = crate::net::request(&method, url, &headers, body, timeout)
            .map_err(|e| error(format!("http: {e}")))?;
        let (status, text) = (a.status as i64, a.body);
        if check && !(200..=299).contains(&status) {
            let head: String = text.chars().take(300).collect();
            return Err(error(format!(
                "http: {method} {} answered {status}: {head} (pass check: false to handle it yourself)",
                crate::net::redact_url(url)
            )));
        }
        let mut m = Map::new();
        m.insert("status".into(), status.into());
        m.insert("body".into(), text.into());
        Ok(m)
    }
}
