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
