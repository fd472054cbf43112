//! Prometheus remote write (protocol 1.0): a `WriteRequest` protobuf,
//! snappy block-compressed, POSTed to a receiver (Prometheus with
//! `--web.enable-remote-write-receiver`, Mimir, Thanos receive, VictoriaMetrics).
//! The message is small enough to encode by hand; what builds the series
//! from results.json is report/remote_write.rs.

use std::time::Duration;

/// One time series: its labels (with `__name__`) and samples in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Vec<(String, String)>,
    /// (unix milliseconds, value), timestamps strictly increasing
    pub samples: Vec<(i64, f64)>,
}

/// Samples per request: large runs go as several requests, each well under
/// the receivers' default size limits.
pub const SAMPLES_PER_REQUEST: usize = 5_000;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field (wire type 2).
fn field_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// `prometheus.WriteRequest { repeated TimeSeries timeseries = 1; }` with
/// `TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }`,
/// `Label { string name = 1; string value = 2; }` and
/// `Sample { double value = 1; int64 timestamp = 2; }`. Labels go sorted
/// by name, as receivers require.
pub fn encode(series: &[Series]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ts = Vec::new();
    let mut part = Vec::new();
    for s in series {
        ts.clear();
        let mut labels: Vec<&(String, String)> = s.labels.iter().collect();
        labels.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, value) in labels {
            part.clear();
            field_bytes(&mut part, 1, name.as_bytes());
            field_bytes(&mut part, 2, value.as_bytes());
            field_bytes(&mut ts, 1, &part);
        }
        for (t, v) in &s.samples {
            part.clear();
            varint(&mut part, (1 << 3) | 1);
            part.extend_from_slice(&v.to_le_bytes());
            varint(&mut part, 2 << 3);
            varint(&mut part, *t as u64);
            field_bytes(&mut ts, 2, &part);
        }
        field_bytes(&mut out, 1, &ts);
    }
    out
}

/// Split series into requests of at most `max` samples (a long series
/// continues in the next request, still in time order).
pub fn batches(series: Vec<Series>, max: usize) -> Vec<Vec<Series>> {
    let mut out: Vec<Vec<Series>> = vec![];
    let mut cur: Vec<Series> = vec![];
    let mut n = 0;
    for s in series {
        let mut rest = s.samples.as_slice();
        while !rest.is_empty() {
            let take = rest.len().min(max - n);
            cur.push(Series {
                labels: s.labels.clone(),
                samples: rest[..take].to_vec(),
            });
            rest = &rest[take..];
            n += take;
            if n == max {
                out.push(std::mem::take(&mut cur));
                n = 0;
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Write the series to `url`, request by request: the samples written, or
/// the receiver's own answer (with what to change for the common refusals).
pub fn push(url: &str, series: Vec<Series>) -> Result<usize, String> {
    let shown = super::redact_url(url);
    let headers = [
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "snappy"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let mut written = 0;
    for batch in batches(series, SAMPLES_PER_REQUEST) {
        let n: usize = batch.iter().map(|s| s.samples.len()).sum();
        let body = snap::raw::Encoder::new()
            .compress_vec(&encode(&batch))
            .map_err(|e| format!("remote write: compressing: {e}"))?;
        let a = super::request_bytes("POST", url, &headers, body, Duration::from_secs(60))
            .map_err(|e| format!("remote write: {e}"))?;
        if !(200..300).contains(&a.status) {
            return Err(refused(&shown, a.status, a.body.trim(), written));
        }
        written += n;
    }
    Ok(written)
}

/// A receiver's refusal, with the fix for the ones users meet.
fn refused(url: &str, status: u16, body: &str, written: usize) -> String {
    let hint = if status == 404 {
        "; is it a remote-write receiver? Prometheus takes writes only when started \
         with --web.enable-remote-write-receiver (path /api/v1/write)"
    } else if body.contains("out of bounds") || body.contains("too old") {
        "; the receiver refuses samples older than its head block: set \
         storage.tsdb.out_of_order_time_window (e.g. 30d) in prometheus.yml to take \
         older runs (docs/metrics.md)"
    } else if body.contains("out of order") || body.contains("duplicate sample") {
        "; the receiver has newer samples of these series: was this run written \
         before? set storage.tsdb.out_of_order_time_window in prometheus.yml \
         (docs/metrics.md)"
    } else {
        ""
    };
    let before = if written > 0 {
        format!(" ({written} samples were written before)")
    } else {
        String::new()
    };
    format!("remote write to {url}: HTTP {status}: {body}{hint}{before}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of a one-series request, field by field.
    #[test]
    fn encodes_the_write_request() {
        let s = Series {
            labels: vec![("b".into(), "2".into()), ("__name__".into(), "m".into())],
            samples: vec![(1000, 1.5)],
        };
        let got = encode(&[s]);
        let label = |n: &str, v: &str| {
            let mut l = vec![0x0a, n.len() as u8];
            l.extend(n.as_bytes());
            l.extend([0x12, v.len() as u8]);
            l.extend(v.as_bytes());
            l
        };
        let mut ts = vec![];
        for l in [label("__name__", "m"), label("b", "2")] {
            ts.extend([0x0a, l.len() as u8]);
            ts.extend(l);
        }
        let mut sample = vec![0x09];
        sample.extend(1.5f64.to_le_bytes());
        sample.extend([0x10, 0xe8, 0x07]); // 1000 as a varint
        ts.extend([0x12, sample.len() as u8]);
        ts.extend(sample);
        let mut want = vec![0x0a, ts.len() as u8];
        want.extend(ts);
        assert_eq!(got, want);
    }

    #[test]
    fn batches_split_long_series_in_order() {
        let s = |name: &str, n: i64| Series {
            labels: vec![("__name__".into(), name.into())],
            samples: (0..n).map(|t| (t, t as f64)).collect(),
        };
        let b = batches(vec![s("a", 5), s("b", 2)], 3);
        let sizes: Vec<Vec<usize>> = b
            .iter()
            .map(|r| r.iter().map(|s| s.samples.len()).collect())
            .collect();
        assert_eq!(sizes, vec![vec![3], vec![2, 1], vec![1]]);
        assert_eq!(b[1][0].samples[0], (3, 3.0));
        assert_eq!(b[2][0].labels[0].1, "b");
    }

    #[test]
    fn refusals_say_what_to_configure() {
        assert!(refused("u", 404, "404 page not found", 0)
            .contains("--web.enable-remote-write-receiver"));
        let old = refused("u", 400, "out of bounds", 10);
        assert!(old.contains("out_of_order_time_window"), "{old}");
        assert!(old.contains("10 samples were written before"), "{old}");
    }
}
