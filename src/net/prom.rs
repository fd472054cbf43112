//! Prometheus's HTTP API as `prom_query` uses it: which Service to reach,
//! the query path (instant or range), and the answer as numbers.

use serde::Serialize;
use serde_json::Value;

/// The Prometheus Service: namespace, name, port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    pub port: u16,
}

impl Service {
    /// `NS/NAME[:PORT]`, `NAME[:PORT]` (namespace monitoring), or the
    /// default `monitoring/prometheus:9090`.
    pub fn parse(svc: Option<&str>) -> Result<Service, String> {
        let svc = svc.unwrap_or("monitoring/prometheus");
        let (ns, rest) = svc.split_once('/').unwrap_or(("monitoring", svc));
        let (name, port) = match rest.split_once(':') {
            Some((n, p)) => (
                n,
                p.parse::<u16>()
                    .map_err(|_| format!("bad port in service '{svc}'"))?,
            ),
            None => (rest, 9090),
        };
        Ok(Service {
            namespace: ns.to_string(),
            name: name.to_string(),
            port,
        })
    }
}

/// An instant query at `at`, or a range of `range` seconds ending at `at`
/// by `step` seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Query {
    pub at: f64,
    pub range: Option<f64>,
    pub step: f64,
}

/// Seconds since the Unix epoch, now.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// The path of `promql` under Prometheus's HTTP API.
pub fn path(promql: &str, q: &Query) -> String {
    let promql = crate::util::urlencode(promql);
    let at = q.at;
    match q.range {
        Some(range) => format!(
            "/api/v1/query_range?query={promql}&start={}&end={at}&step={}",
            at - range,
            q.step
        ),
        None => format!("/api/v1/query?query={promql}&time={at}"),
    }
}

/// One series of an answer: a vector's sample, a matrix's samples, or a
/// scalar.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Series {
    Instant {
        metric: Value,
        value: f64,
        time: f64,
    },
    Range {
        metric: Value,
        values: Vec<(f64, f64)>,
    },
    Scalar {
        value: f64,
        time: f64,
    },
}

/// `[time, "value"]` as numbers (NaN when missing).
fn sample(v: &Value) -> (f64, f64) {
    let t = v[0].as_f64().unwrap_or(f64::NAN);
    let x = v[1]
        .as_str()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    (t, x)
}

/// Prometheus's answer (HTTP `code`, `body`) as series; its error says
/// what Prometheus said.
pub fn parse(code: u16, body: &str) -> Result<Vec<Series>, String> {
    let v: Value = serde_json::from_str(body)
        .map_err(|_| format!("Prometheus answered {code}: {}", body.trim()))?;
    if v["status"] != "success" {
        return Err(format!(
            "Prometheus: {}: {}",
            v["errorType"].as_str().unwrap_or("error"),
            v["error"].as_str().unwrap_or(body.trim())
        ));
    }
    let data = &v["data"];
    let series = || data["result"].as_array().cloned().unwrap_or_default();
    Ok(match data["resultType"].as_str().unwrap_or("") {
        "vector" => series()
            .iter()
            .map(|s| {
                let (time, value) = sample(&s["value"]);
                Series::Instant {
                    metric: s["metric"].clone(),
                    value,
                    time,
                }
            })
            .collect(),
        "matrix" => series()
            .iter()
            .map(|s| Series::Range {
                metric: s["metric"].clone(),
                values: s["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(sample)
                    .collect(),
            })
            .collect(),
        _ => {
            let (time, value) = sample(&data["result"]);
            vec![Series::Scalar { value, time }]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_paths() {
        let d = Service::parse(None).unwrap();
        assert_eq!(
            (d.namespace.as_str(), d.name.as_str(), d.port),
            ("monitoring", "prometheus", 9090)
        );
        let s = Service::parse(Some("obs/prom:9091")).unwrap();
        assert_eq!((s.namespace.as_str(), s.port), ("obs", 9091));
        assert!(Service::parse(Some("obs/prom:x"))
            .unwrap_err()
            .contains("bad port"));
        let q = Query {
            at: 100.0,
            range: Some(60.0),
            step: 15.0,
        };
        assert_eq!(
            path("up", &q),
            "/api/v1/query_range?query=up&start=40&end=100&step=15"
        );
        let q = Query { range: None, ..q };
        assert_eq!(
            path("rate(x[1m])", &q),
            "/api/v1/query?query=rate%28x%5B1m%5D%29&time=100"
        );
    }

    #[test]
    fn answers_as_numbers() {
        let v = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"a"},"value":[1.5,"2"]}]}}"#;
        let s = parse(200, v).unwrap();
        assert_eq!(
            s,
            vec![Series::Instant {
                metric: serde_json::json!({"job":"a"}),
                value: 2.0,
                time: 1.5
            }]
        );
        let m = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"4"]]}]}}"#;
        assert!(
            matches!(&parse(200, m).unwrap()[0], Series::Range { values, .. } if values == &vec![(1.0, 1.0), (2.0, 4.0)])
        );
        let e = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert_eq!(
            parse(400, e).unwrap_err(),
            "Prometheus: bad_data: parse error"
        );
        assert!(parse(502, "bad gateway")
            .unwrap_err()
            .contains("answered 502"));
    }
}

/// One entry of a metrics profile (kube-burner's metrics-profile spirit):
/// a name for the series, the PromQL, and the unit of its values.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub name: String,
    pub query: String,
    #[serde(default)]
    pub unit: Option<String>,
    /// an alert rule: PromQL that fires when it returns any series
    #[serde(default)]
    pub alert: Option<String>,
    /// `error` (fails the run) or `warning`; required with `alert`
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// how long the alert must hold: seconds, or `30s`, `5m`
    #[serde(default, rename = "for")]
    pub for_: Option<Value>,
}

impl Entry {
    /// The alert's `for` in seconds, checked.
    pub fn for_seconds(&self) -> Result<Option<f64>, String> {
        match &self.for_ {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => {
                crate::util::parse_duration(&n.to_string()).map(|d| Some(d.as_secs_f64()))
            }
            Some(Value::String(s)) => crate::util::parse_duration(s).map(|d| Some(d.as_secs_f64())),
            Some(other) => Err(format!("for: {other} is not a duration (30, 30s, 5m)")),
        }
    }
}

/// A metrics profile from its YAML (a list of entries) or JSON value.
pub fn profile(v: Value) -> Result<Vec<Entry>, String> {
    let list = match v {
        Value::Array(a) => a,
        other => {
            return Err(format!(
                "a profile is a list of #{{name, query, unit}}, not {other}"
            ))
        }
    };
    let mut out = vec![];
    for (i, e) in list.into_iter().enumerate() {
        let e: Entry = serde_json::from_value(e).map_err(|err| {
            format!(
                "entry {}: {err} (each has name, query and optionally unit)",
                i + 1
            )
        })?;
        if e.name.trim().is_empty() || e.query.trim().is_empty() {
            return Err(format!("entry {}: name and query must not be empty", i + 1));
        }
        if e.alert.is_some() {
            match e.severity.as_deref() {
                Some("error" | "warning") => {}
                other => {
                    return Err(format!(
                        "entry {} ({}): an alert needs severity error or warning, not {}",
                        i + 1,
                        e.name,
                        other.unwrap_or("none")
                    ))
                }
            }
        } else if e.severity.is_some() || e.description.is_some() || e.for_.is_some() {
            return Err(format!(
                "entry {} ({}): severity, description and for go with an alert",
                i + 1,
                e.name
            ));
        }
        e.for_seconds()
            .map_err(|err| format!("entry {} ({}): {err}", i + 1, e.name))?;
        out.push(e);
    }
    if out.is_empty() {
        return Err("the profile has no entries".into());
    }
    Ok(out)
}

/// The series name of one answer series of `entry`: the entry's name when
/// the query gave one series, else with the series' labels, `name{k="v"}`
/// (the labels are the record's tags too).
pub fn series_name(entry: &str, metric: &Value, alone: bool) -> String {
    let labels: Vec<String> = metric
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap_or("")))
        .collect();
    if alone || labels.is_empty() {
        entry.to_string()
    } else {
        format!("{entry}{{{}}}", labels.join(","))
    }
}

/// Whether an alert fired, from its answer: without `for`, an instant
/// query that returned any series; with it, a range query over the last
/// `for` seconds where a series has a sample at every step (it held the
/// whole time). The number of such series.
pub fn firing(series: &[Series], for_points: Option<usize>) -> usize {
    series
        .iter()
        .filter(|s| match (s, for_points) {
            (Series::Range { values, .. }, Some(n)) => {
                values.iter().filter(|(_, x)| !x.is_nan()).count() >= n
            }
            (Series::Instant { value, .. }, None) => !value.is_nan(),
            (Series::Scalar { value, .. }, None) => !value.is_nan() && *value != 0.0,
            _ => false,
        })
        .count()
}

/// A step that gives at most about 250 points over `secs` (at least 1 s).
pub fn default_step(secs: f64) -> f64 {
    (secs / 250.0).ceil().max(1.0)
}
