//! `results.json`: what a run did, written at the end of every run (also on
//! failure and interrupt). `scaffold report` reads this format; bump
//! `SCHEMA` when it changes incompatibly. Documented in docs/results.md.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Version of the results.json format.
pub const SCHEMA: u32 = 1;

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Results {
    pub schema: u32,
    pub script: String,
    pub params: Map<String, Value>,
    pub args: Vec<String>,
    pub start: String,
    pub end: Option<String>,
    pub duration: Option<f64>,
    /// `ok`, `error` or `interrupted`
    pub outcome: String,
    pub error: Option<String>,
    pub environment: Environment,
    pub steps: Vec<Step>,
    pub records: BTreeMap<String, Record>,
    /// alert rules of metrics profiles, evaluated (fired or not)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<Alert>,
}

/// One alert rule of a metrics profile, as evaluated over the run's window.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Alert {
    pub name: String,
    pub expr: String,
    /// `error` (fails the run) or `warning`
    pub severity: String,
    pub description: String,
    /// seconds the expression had to hold (none: at the window's end)
    #[serde(skip_serializing_if = "Option::is_none", rename = "for")]
    pub for_seconds: Option<f64>,
    pub firing: bool,
    /// series the expression returned (that held for the whole `for`)
    pub series: usize,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Environment {
    pub scaffold_version: String,
    pub os: String,
    pub arch: String,
    pub hostname: Option<String>,
    pub kube_context: Option<String>,
    pub server_url: Option<String>,
    pub server_version: Option<String>,
    #[serde(default)]
    pub nodes: Vec<NodeInfo>,
    /// `fingerprint()`: `field -> value` (docs/results.md)
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fingerprint: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct NodeInfo {
    pub name: String,
    pub os_image: String,
    pub kernel: String,
    pub container_runtime: String,
    pub kubelet: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Step {
    pub name: String,
    pub start: String,
    /// seconds
    pub duration: f64,
    /// `ok`, `error` or `interrupted`
    pub outcome: String,
    pub error: Option<String>,
}

/// One recorded metric: a single `value`, or `samples` once recorded twice.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct Record {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub tags: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<Vec<Value>>,
    /// samples that were NaN or infinite: counted, kept out of the values
    /// (and so out of every statistic)
    #[serde(default, skip_serializing_if = "is_zero")]
    pub nan: u64,
    /// when each value was recorded, unix milliseconds, in the order of the
    /// values (empty in files written before scaffold kept them)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<i64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Record {
    /// All values of this record, in recording order, without copying them.
    pub fn iter_values(&self) -> impl Iterator<Item = &Value> {
        self.samples
            .as_deref()
            .unwrap_or(self.value.as_slice())
            .iter()
    }

    /// Each value with the unix millisecond it was recorded at; `None` when
    /// the file does not say (written before scaffold kept the times).
    pub fn timed_values(&self) -> Option<impl Iterator<Item = (i64, &Value)>> {
        let n = self.iter_values().count();
        (n > 0 && self.times.len() == n).then(|| self.times.iter().copied().zip(self.iter_values()))
    }

    /// All values of this record, in recording order.
    pub fn values(&self) -> Vec<Value> {
        match (&self.value, &self.samples) {
            (_, Some(s)) => s.clone(),
            (Some(v), None) => vec![v.clone()],
            _ => vec![],
        }
    }
}

impl Results {
    pub fn new(script: &str, params: Map<String, Value>, args: Vec<String>) -> Self {
        Results {
            schema: SCHEMA,
            script: script.to_string(),
            params,
            args,
            start: rfc3339(SystemTime::now()),
            outcome: "running".into(),
            environment: Environment {
                scaffold_version: env!("CARGO_PKG_VERSION").into(),
                os: std::env::consts::OS.into(),
                arch: std::env::consts::ARCH.into(),
                hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .map(|s| s.trim().to_string()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// Record many values of one series at once (what `record` called once
    /// per value does), all recorded now.
    pub fn record_many(
        &mut self,
        name: &str,
        values: Vec<Value>,
        unit: Option<String>,
        tags: Map<String, Value>,
    ) {
        let now = unix_ms(SystemTime::now());
        let timed = values.into_iter().map(|v| (now, v)).collect();
        self.record_timed(name, timed, unit, tags);
    }

    /// Record many values of one series, each with the unix millisecond it
    /// stands for (e.g. a Prometheus sample's own timestamp).
    pub fn record_timed(
        &mut self,
        name: &str,
        values: Vec<(i64, Value)>,
        unit: Option<String>,
        tags: Map<String, Value>,
    ) {
        let mut values = values.into_iter();
        let Some((t, first)) = values.next() else {
            return;
        };
        self.record_at(name, t, first, unit, tags);
        let (times, rest): (Vec<i64>, Vec<Value>) = values.unzip();
        if rest.is_empty() {
            return;
        }
        let r = self.records.get_mut(name).expect("recorded above");
        r.times.extend(times);
        match r.samples.as_mut() {
            Some(samples) => samples.extend(rest),
            None => r.samples = Some(r.value.take().into_iter().chain(rest).collect()),
        }
    }

    /// Add a value; recording a name again turns it into a series. The
    /// series grows in place (amortised O(1) a value): the first unit and
    /// tags stay, tags not set before are added.
    pub fn record(
        &mut self,
        name: &str,
        value: Value,
        unit: Option<String>,
        tags: Map<String, Value>,
    ) {
        self.record_at(name, unix_ms(SystemTime::now()), value, unit, tags)
    }

    /// `record` with the unix millisecond the value stands for.
    fn record_at(
        &mut self,
        name: &str,
        at: i64,
        value: Value,
        unit: Option<String>,
        tags: Map<String, Value>,
    ) {
        let r = self.records.entry(name.to_string()).or_default();
        r.times.push(at);
        match (r.samples.as_mut(), r.value.take()) {
            (Some(samples), _) => samples.push(value),
            (None, None) => r.value = Some(value),
            (None, Some(first)) => r.samples = Some(vec![first, value]),
        }
        if r.unit.is_none() {
            r.unit = unit;
        }
        for (k, v) in tags {
            r.tags.entry(k).or_insert(v);
        }
    }

    /// A NaN or infinite sample of `name`: counted (`nan`), not a value.
    pub fn record_nan(&mut self, name: &str, unit: Option<String>, tags: Map<String, Value>) {
        let r = self.records.entry(name.to_string()).or_default();
        r.nan += 1;
        if r.unit.is_none() {
            r.unit = unit;
        }
        for (k, v) in tags {
            r.tags.entry(k).or_insert(v);
        }
    }

    pub fn finish(&mut self, outcome: &str, error: Option<String>, started: std::time::Instant) {
        self.outcome = outcome.to_string();
        self.error = error;
        self.end = Some(rfc3339(SystemTime::now()));
        self.duration = Some(started.elapsed().as_secs_f64());
    }

    /// Write atomically (temp file + rename).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        // secret parameters never reach the file (params, errors, tags)
        let mut v = serde_json::to_value(self).map_err(std::io::Error::other)?;
        crate::secrets::redact_json(&mut v);
        let body = serde_json::to_vec_pretty(&v).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, body)?;
        std::fs::rename(&tmp, path)
    }

    pub fn read(path: &Path) -> Result<Self, String> {
        let s = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let r: Results = serde_json::from_str(&s)
            .map_err(|e| format!("{} is not a scaffold results.json: {e}", path.display()))?;
        if r.schema > SCHEMA {
            return Err(format!(
                "{} has schema {} but this scaffold reads up to {SCHEMA}; upgrade scaffold",
                path.display(),
                r.schema
            ));
        }
        Ok(r)
    }
}

/// Unix milliseconds of a time (0 before 1970).
pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn parts(t: SystemTime) -> (i64, u32, u32, u64, u64, u64, u32) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, mo, da) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    (
        y,
        mo,
        da,
        s / 3600,
        (s / 60) % 60,
        s % 60,
        d.subsec_millis(),
    )
}

/// `2026-11-25T03:31:14.123Z`
pub fn rfc3339(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s, ms) = parts(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

/// A new directory `<parent>/<prefix><stamp>` (`-2`, `-3`, ... after it
/// when that exists), created; the parent must exist.
pub fn new_stamped_dir(parent: &Path, prefix: &str) -> std::io::Result<std::path::PathBuf> {
    let stamp = dir_stamp(SystemTime::now());
    let mut dir = parent.join(format!("{prefix}{stamp}"));
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = parent.join(format!("{prefix}{stamp}-{n}"));
    }
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

/// `2026-11-25T03-31-14Z`: a file-name-safe UTC stamp for run directories.
pub fn dir_stamp(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s, _) = parts(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}-{mi:02}-{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        let t = UNIX_EPOCH + Duration::from_millis(1_764_041_474_123);
        assert_eq!(rfc3339(t), "2025-11-25T03:31:14.123Z");
        assert_eq!(dir_stamp(t), "2025-11-25T03-31-14Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(&rfc3339(leap)[..10], "2000-02-29");
    }

    #[test]
    fn record_builds_series() {
        let mut r = Results::new("x", Map::new(), vec![]);
        r.record("a", Value::from(1), Some("ms".into()), Map::new());
        assert_eq!(r.records["a"].value, Some(Value::from(1)));
        r.record("a", Value::from(2), None, Map::new());
        r.record("a", Value::from(3), None, Map::new());
        assert_eq!(r.records["a"].value, None);
        assert_eq!(
            r.records["a"].samples,
            Some(vec![Value::from(1), Value::from(2), Value::from(3)])
        );
        assert_eq!(r.records["a"].unit.as_deref(), Some("ms"));
        r.record_many("a", vec![Value::from(4), Value::from(5)], None, Map::new());
        r.record_many("b", vec![Value::from(6)], None, Map::new());
        assert_eq!(r.records["a"].values().len(), 5);
        assert_eq!(r.records["b"].value, Some(Value::from(6)));
    }

    /// 27.13: recording a name again adds to its series in place, never a
    /// copy of the series (100,000 single records stay linear): the
    /// buffer does not move while it has room.
    #[test]
    fn record_grows_the_series_in_place() {
        let mut r = Results::new("x", Map::new(), vec![]);
        for i in 0..3 {
            r.record("a", Value::from(i), None, Map::new());
        }
        let samples = |r: &Results| r.records["a"].samples.as_ref().unwrap().as_ptr();
        let (before, room) = (
            samples(&r),
            r.records["a"].samples.as_ref().unwrap().capacity(),
        );
        assert!(room > 3, "the series has room to grow ({room})");
        r.record("a", Value::from(3), None, Map::new());
        assert_eq!(samples(&r), before, "the series was copied");
    }
}
