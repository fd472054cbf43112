//! `scaffold sweep`: the plan (grid points × repeats in an order) and the
//! sweep directory's `sweep.json`; run.rs runs it. Each run is a normal
//! `scaffold script` run in its own directory under the sweep directory,
//! with its grid point set as `--set` parameters; `scaffold report
//! SWEEP_DIR` compares the grid points (report/sweep.rs).

pub mod repeats;
pub mod run;

use crate::stats::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub use crate::cli::Order;

/// One grid parameter and its values, in the order given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    pub key: String,
    pub values: Vec<String>,
}

/// `KEY=V1,V2,...`
pub fn parse_axis(s: &str) -> Result<Axis, String> {
    let (k, v) = s
        .split_once('=')
        .filter(|(k, _)| !k.trim().is_empty())
        .ok_or_else(|| {
            format!("--grid {s}: expected KEY=V1,V2,... e.g. --grid mode=nkpr,kpr,xdp")
        })?;
    let values: Vec<String> = v.split(',').map(|x| x.trim().to_string()).collect();
    if values.iter().any(String::is_empty) {
        return Err(format!(
            "--grid {s}: an empty value; list the values separated by commas"
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(d) = values.iter().find(|x| !seen.insert(x.as_str())) {
        return Err(format!(
            "--grid {s}: '{d}' twice; each value once (use --repeat for more runs)"
        ));
    }
    Ok(Axis {
        key: k.trim().to_string(),
        values,
    })
}

/// Every combination of the axes, the first axis slowest.
pub fn points(axes: &[Axis]) -> Vec<Map<String, Value>> {
    let mut out = vec![Map::new()];
    for a in axes {
        let mut next = vec![];
        for p in &out {
            for v in &a.values {
                let mut q = p.clone();
                q.insert(a.key.clone(), Value::String(v.clone()));
                next.push(q);
            }
        }
        out = next;
    }
    out
}

/// `mode=xdp,size=64`: how a grid point is named in output and reports.
pub fn label(point: &Map<String, Value>) -> String {
    if point.is_empty() {
        return "all".into();
    }
    point
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::util::plain(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// One run of the sweep, as sweep.json records it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunEntry {
    /// 1-based position in the run order
    pub index: usize,
    pub point: Map<String, Value>,
    /// which repetition of its point (1-based)
    pub repeat: u32,
    /// the run directory, relative to the sweep directory
    pub dir: String,
    /// pending, running, ok, failed, timeout, interrupted
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// seconds
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// the run's process id while it runs (`--resume` refuses to start a
    /// run whose process is still alive)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// its process group (the run leads its own, except with `--break`)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgid: Option<u32>,
}

/// `sweep.json`: what was asked and how every run went. Written after each
/// run (atomically), so an interrupted sweep can be resumed and reported.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepFile {
    pub schema: u32,
    /// the script, absolute
    pub script: String,
    pub created: String,
    pub grid: Vec<Axis>,
    pub repeat: u32,
    pub order: Order,
    pub seed: u64,
    /// fixed `--set` values (as strings) and `--set-json` values; secret
    /// parameters appear as `<secret>`
    pub params: Map<String, Value>,
    /// names of `--set-json` parameters (their values are JSON)
    #[serde(default)]
    pub json_params: Vec<String>,
    /// names of secret parameters (resume needs them again)
    #[serde(default)]
    pub secret_params: Vec<String>,
    pub args: Vec<String>,
    #[serde(default)]
    pub run_timeout: Option<f64>,
    /// `--metrics-profile`, passed to every run (an absolute path)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_profile: Option<String>,
    /// `--detect`: the repeats are planned after a pilot (repeats.rs)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect: Option<Detect>,
    /// the plan made from the pilot, fixed before the measured runs
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<RepeatPlan>,
    pub runs: Vec<RunEntry>,
}

/// What `--detect` asked for.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Detect {
    /// the change to find, a fraction of the level (0.05: 5%)
    pub change: f64,
    /// runs per point before planning
    pub pilot: u32,
    /// the most runs per point the plan may ask for
    pub max_repeat: u32,
    /// the series planned for (empty: every numeric one)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<String>,
}

/// The repeats `--detect` planned, and why.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RepeatPlan {
    /// runs per point, the pilot's among them
    pub repeat: u32,
    /// a series needed more than --max-repeat
    pub capped: bool,
    /// the finished pilot runs it was made from
    pub from_runs: usize,
    pub metrics: Vec<PlanMetric>,
    pub reasoning: String,
}

/// One series' part of a plan.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PlanMetric {
    pub name: String,
    /// the median of the pilot's values, and their pooled spread
    pub level: f64,
    pub sd: f64,
    /// the change to find, in spreads
    pub spreads: f64,
    /// runs per point for 80% power (none: more than --max-repeat)
    pub needed: Option<u32>,
}

pub const SCHEMA: u32 = 1;

impl SweepFile {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("sweep.json")
    }

    pub fn read(dir: &Path) -> Result<SweepFile, String> {
        let p = Self::path(dir);
        let s = std::fs::read_to_string(&p).map_err(|e| {
            format!(
                "cannot read {}: {e}; is {} a sweep directory?",
                p.display(),
                dir.display()
            )
        })?;
        let f: SweepFile = serde_json::from_str(&s)
            .map_err(|e| format!("{} is not a scaffold sweep.json: {e}", p.display()))?;
        if f.schema > SCHEMA {
            return Err(format!(
                "{} has schema {} but this scaffold reads up to {SCHEMA}; upgrade scaffold",
                p.display(),
                f.schema
            ));
        }
        Ok(f)
    }

    pub fn write(&self, dir: &Path) -> Result<(), String> {
        let p = Self::path(dir);
        let tmp = dir.join("sweep.json.tmp");
        let mut v = serde_json::to_value(self).map_err(|e| e.to_string())?;
        crate::secrets::redact_json(&mut v);
        let body = serde_json::to_vec_pretty(&v).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, body)
            .and_then(|_| std::fs::rename(&tmp, &p))
            .map_err(|e| format!("cannot write {}: {e}", p.display()))
    }
}

/// The runs in order: `repeat` runs of every point.
pub fn plan(axes: &[Axis], repeat: u32, order: Order, seed: u64) -> Vec<RunEntry> {
    let pts = points(axes);
    let mut pairs: Vec<(usize, u32)> = match order {
        Order::Grouped => (0..pts.len())
            .flat_map(|p| (1..=repeat).map(move |r| (p, r)))
            .collect(),
        _ => (1..=repeat)
            .flat_map(|r| (0..pts.len()).map(move |p| (p, r)))
            .collect(),
    };
    if order == Order::Random {
        // Fisher-Yates with the recorded seed
        let mut rng = Rng::new(seed);
        for i in (1..pairs.len()).rev() {
            let j = rng.below(i + 1);
            pairs.swap(i, j);
        }
    }
    pairs
        .into_iter()
        .enumerate()
        .map(|(i, (p, r))| RunEntry {
            index: i + 1,
            point: pts[p].clone(),
            repeat: r,
            dir: format!("run-{:03}", i + 1),
            status: "pending".into(),
            exit_code: None,
            start: None,
            duration: None,
            context: None,
            pid: None,
            pgid: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes() -> Vec<Axis> {
        vec![
            parse_axis("mode=nkpr,kpr,xdp").unwrap(),
            parse_axis("size=64,1500").unwrap(),
        ]
    }

    #[test]
    fn grid_is_every_combination() {
        let p = points(&axes());
        assert_eq!(p.len(), 6);
        assert_eq!(label(&p[0]), "mode=nkpr,size=64");
        assert_eq!(label(&p[5]), "mode=xdp,size=1500");
        assert_eq!(points(&[]).len(), 1);
    }

    #[test]
    fn orders() {
        let lab = |runs: &[RunEntry]| {
            runs.iter()
                .map(|r| format!("{}#{}", label(&r.point), r.repeat))
                .collect::<Vec<_>>()
        };
        let a = vec![parse_axis("m=a,b").unwrap()];
        assert_eq!(
            lab(&plan(&a, 2, Order::Interleaved, 0)),
            ["m=a#1", "m=b#1", "m=a#2", "m=b#2"]
        );
        assert_eq!(
            lab(&plan(&a, 2, Order::Grouped, 0)),
            ["m=a#1", "m=a#2", "m=b#1", "m=b#2"]
        );
        let r1 = lab(&plan(&axes(), 5, Order::Random, 42));
        let r2 = lab(&plan(&axes(), 5, Order::Random, 42));
        let r3 = lab(&plan(&axes(), 5, Order::Random, 43));
        assert_eq!(r1, r2, "the same seed gives the same order");
        assert_ne!(r1, r3);
        let mut sorted = r1.clone();
        sorted.sort();
        let mut all = lab(&plan(&axes(), 5, Order::Grouped, 0));
        all.sort();
        assert_eq!(sorted, all, "a permutation of the same runs");
        let p = plan(&axes(), 5, Order::Interleaved, 0);
        assert_eq!(
            (p.len(), p[29].index, p[29].dir.as_str()),
            (30, 30, "run-030")
        );
    }

    #[test]
    fn bad_axes_say_how() {
        for bad in ["mode", "=a,b", "mode=a,,b", "mode=a,a"] {
            let e = parse_axis(bad).unwrap_err();
            assert!(e.contains("--grid"), "{e}");
        }
    }
}
