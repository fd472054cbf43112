//! How many runs a comparison needs, and how small a change the runs at
//! hand could find: the power of the sweep's own test (two-sided
//! Mann–Whitney U at alpha 0.05, compare.rs), found by simulation, since
//! with few runs its exact distribution is far from any formula's normal
//! approximation.
//!
//! The model: each run's value is normal around its group's level with the
//! spread the runs show (the pooled standard deviation of the groups); a
//! change of `d` standard deviations between two groups of `n` runs is
//! found when the U test calls it significant. Power is the share of
//! 2,000 simulated comparisons (fixed seed) that find it; the plan is the
//! smallest `n` with power of at least 80%.

use super::compare::mann_whitney;
use super::Rng;

/// The power a plan aims for.
pub const POWER: f64 = 0.8;
/// Simulated comparisons per power estimate.
pub const SIMS: usize = 2000;

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u1 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let u2 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// The share of `sims` simulated comparisons of two groups of `n` runs,
/// `d` standard deviations apart, that the U test calls significant.
pub fn power(n: usize, d: f64, sims: usize, seed: u64) -> f64 {
    let mut rng = Rng::new(seed);
    let (mut a, mut b) = (vec![0f64; n], vec![0f64; n]);
    let mut found = 0;
    for _ in 0..sims {
        for v in a.iter_mut() {
            *v = normal(&mut rng);
        }
        for v in b.iter_mut() {
            *v = normal(&mut rng) + d;
        }
        if mann_whitney(&a, &b).is_some_and(|t| t.significant()) {
            found += 1;
        }
    }
    found as f64 / sims.max(1) as f64
}

/// The smallest number of runs per group (2..=max) that finds a change of
/// `d` standard deviations with 80% power; None when `max` is not enough.
pub fn runs_needed(d: f64, max: usize) -> Option<usize> {
    if !(d.is_finite() && d > 0.0) {
        return None;
    }
    (2..=max).find(|&n| power(n, d, SIMS, 0x9E57 + n as u64) >= POWER)
}

/// The smallest change, in standard deviations, that two groups of `n`
/// runs find with 80% power (infinite when `n` runs can never show one).
/// Computed once per `n` in a process.
pub fn detectable(n: usize) -> f64 {
    static DONE: std::sync::Mutex<Vec<(usize, f64)>> = std::sync::Mutex::new(Vec::new());
    if let Some((_, d)) = DONE.lock().unwrap().iter().find(|(k, _)| *k == n) {
        return *d;
    }
    let d = detectable_search(n);
    DONE.lock().unwrap().push((n, d));
    d
}

fn detectable_search(n: usize) -> f64 {
    if power(n, 50.0, 200, 1) < POWER {
        return f64::INFINITY;
    }
    let (mut lo, mut hi) = (0.0f64, 50.0f64);
    for _ in 0..24 {
        let mid = (lo + hi) / 2.0;
        if power(n, mid, SIMS / 2, 0x5EED + n as u64) >= POWER {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The pooled standard deviation of groups of runs (each with 2 or more).
pub fn pooled_sd(groups: &[Vec<f64>]) -> Option<f64> {
    let (mut ss, mut df) = (0.0, 0usize);
    for g in groups.iter().filter(|g| g.len() > 1) {
        let m = g.iter().sum::<f64>() / g.len() as f64;
        ss += g.iter().map(|x| (x - m).powi(2)).sum::<f64>();
        df += g.len() - 1;
    }
    (df > 0).then(|| (ss / df as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_grows_with_runs_and_change() {
        assert!(power(10, 1.5, 1000, 1) > power(5, 1.5, 1000, 1));
        assert!(power(10, 2.0, 1000, 1) > power(10, 1.0, 1000, 1));
        // no change: the test's own false-positive rate
        let fp = power(12, 0.0, 4000, 2);
        assert!((0.03..0.07).contains(&fp), "{fp}");
        // three runs a group can never be significant at 0.05
        assert_eq!(power(3, 100.0, 100, 3), 0.0);
    }

    /// The plan holds what it promises: over 1,000 seeded simulated sweeps
    /// whose true change is the one planned for, run at the planned number
    /// of runs, the U test finds it 80% ± 5% of the time.
    #[test]
    fn planned_runs_find_the_change_80_percent_of_the_time() {
        // a 5% change at a 6% spread of the runs (d = 0.83)
        let (level, sd, change) = (100.0, 6.0, 0.05);
        let pilot = [vec![94.0, 100.0, 106.0], vec![100.0, 106.0, 94.0]];
        let est = pooled_sd(&pilot).unwrap();
        assert!((est - sd).abs() < 1e-9);
        let n = runs_needed(level * change / est, 60).unwrap();
        assert!((15..=40).contains(&n), "{n}");
        let mut rng = Rng::new(20261205);
        let mut found = 0;
        for _ in 0..1000 {
            let a: Vec<f64> = (0..n).map(|_| level + sd * normal(&mut rng)).collect();
            let b: Vec<f64> = (0..n)
                .map(|_| level * (1.0 + change) + sd * normal(&mut rng))
                .collect();
            if mann_whitney(&a, &b).is_some_and(|t| t.significant()) {
                found += 1;
            }
        }
        assert!((750..=850).contains(&found), "{found} of 1000 at n = {n}");
    }

    #[test]
    fn detectable_falls_with_runs() {
        assert!(detectable(3).is_infinite());
        let (d5, d20) = (detectable(5), detectable(20));
        assert!(d5 > d20 && d20 > 0.5 && d20 < 1.5, "{d5} {d20}");
        // and agrees with the plan: n runs detect what needs n runs
        let n = runs_needed(d20, 60).unwrap();
        assert!((18..=22).contains(&n), "{n}");
    }
}
