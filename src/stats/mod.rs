//! Statistics, in one place: percentiles of a series (linear between
//! closest ranks, like numpy's default), its summary with the 95%
//! confidence interval of the mean (Student's t), the median with a
//! distribution-free interval, quantiles of a cumulative histogram (as
//! Prometheus's `histogram_quantile`), the p50/p90/p99/max of a set of
//! latencies, a seeded generator (`Rng`); comparisons of groups of runs
//! (compare.rs: the Mann–Whitney U test, the bootstrap interval of a
//! change) and their power (power.rs: how many runs a change needs). A
//! leaf: it imports nothing from the crate.

pub mod compare;
pub mod power;

/// `p` in 0..=100 of sorted values (linear between closest ranks, like
/// numpy's default).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    let rank = p / 100.0 * (n - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub stddev: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub min: f64,
    pub max: f64,
    /// half-width of the 95% CI of the mean; None for a single sample
    pub ci95: Option<f64>,
}

impl Summary {
    pub fn of(xs: &[f64]) -> Option<Summary> {
        if xs.is_empty() || xs.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let n = xs.len();
        let mut s = xs.to_vec();
        s.sort_by(|a, b| a.total_cmp(b));
        let mean = s.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            s.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        let stddev = var.sqrt();
        Some(Summary {
            n,
            mean,
            stddev,
            p50: percentile(&s, 50.0),
            p90: percentile(&s, 90.0),
            p95: percentile(&s, 95.0),
            p99: percentile(&s, 99.0),
            min: s[0],
            max: s[n - 1],
            ci95: (n > 1).then(|| t975(n - 1) * stddev / (n as f64).sqrt()),
        })
    }
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        31..=60 => 2.042 - (df - 30) as f64 * (2.042 - 2.000) / 30.0,
        61..=120 => 2.000 - (df - 60) as f64 * (2.000 - 1.980) / 60.0,
        _ => 1.960,
    }
}

/// A group's median and the interval that holds the true median with
/// probability `level` (0.95, or less when too few runs allow no more).
#[derive(Debug, Clone, PartialEq)]
pub struct MedianCi {
    pub median: f64,
    pub lo: f64,
    pub hi: f64,
    pub level: f64,
}

fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut s = xs.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s
}

pub fn median(xs: &[f64]) -> f64 {
    percentile(&sorted(xs), 50.0)
}

/// P(X <= k) for X ~ Binomial(n, 1/2).
fn binom_half_cdf(n: usize, k: usize) -> f64 {
    let mut c = 1f64; // C(n, 0)
    let mut sum = 0f64;
    for i in 0..=k.min(n) {
        if i > 0 {
            c = c * (n - i + 1) as f64 / i as f64;
        }
        sum += c;
    }
    sum / 2f64.powi(n as i32)
}

/// The median with its order-statistic confidence interval
/// `[x(k), x(n+1-k)]`, the widest `k` whose coverage is at least 95%
/// (exact, no assumption about the distribution). With five runs or fewer
/// no interval reaches 95%: the interval is min..max and `level` says what
/// it covers (93.8% for five runs).
pub fn median_ci(xs: &[f64]) -> Option<MedianCi> {
    if xs.is_empty() || xs.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let s = sorted(xs);
    let n = s.len();
    let coverage = |k: usize| 1.0 - 2.0 * binom_half_cdf(n, k - 1);
    let mut k = 1;
    while k < n.div_ceil(2) && coverage(k + 1) >= 0.95 {
        k += 1;
    }
    Some(MedianCi {
        median: percentile(&s, 50.0),
        lo: s[k - 1],
        hi: s[n - k],
        level: if n == 1 { 0.0 } else { coverage(k) },
    })
}

/// The quantile `q` (0..1) of a cumulative histogram, as Prometheus's
/// histogram_quantile: linear inside the bucket; in the +Inf bucket, the
/// highest finite bound.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut prev = (0.0, 0.0);
    for &(le, c) in buckets {
        if c >= rank {
            if le.is_infinite() {
                return Some(prev.0);
            }
            if c == prev.1 {
                return Some(le);
            }
            return Some(prev.0 + (le - prev.0) * (rank - prev.1) / (c - prev.1));
        }
        prev = (le, c);
    }
    Some(prev.0)
}

/// The bucket `[lower, upper]` of a cumulative histogram that holds its
/// quantile `q`: where the true value lies, whatever `histogram_quantile`
/// interpolates (the +Inf bucket: from the highest finite bound up).
pub fn histogram_bucket(q: f64, buckets: &[(f64, f64)]) -> Option<(f64, f64)> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut prev = 0.0;
    for &(le, c) in buckets {
        if c >= rank {
            return Some((prev, le));
        }
        prev = le;
    }
    Some((prev, f64::INFINITY))
}

/// n, p50, p90, p99 and max of a set of values (seconds, usually); the
/// quantiles are None when there are no values.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Quantiles {
    pub n: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl Quantiles {
    pub fn of(xs: &[f64]) -> Quantiles {
        let s = sorted(xs);
        let at = |p: f64| (!s.is_empty()).then(|| percentile(&s, p));
        Quantiles {
            n: s.len(),
            p50: at(50.0),
            p90: at(90.0),
            p99: at(99.0),
            max: s.last().copied(),
        }
    }
}

/// A small deterministic generator (splitmix64): the same seed gives the
/// same numbers (report intervals, a sweep's random order).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_a_series() {
        let s = Summary::of(&[4.0, 1.0, 3.0, 2.0, 5.0]).unwrap();
        assert_eq!((s.n, s.mean, s.p50, s.min, s.max), (5, 3.0, 3.0, 1.0, 5.0));
        assert!((s.p95 - 4.8).abs() < 1e-9);
        // stddev sqrt(2.5), t(4) = 2.776
        let ci = s.ci95.unwrap();
        assert!(
            (ci - 2.776 * 2.5f64.sqrt() / 5f64.sqrt()).abs() < 1e-9,
            "{ci}"
        );
    }

    #[test]
    fn one_sample_has_no_interval() {
        let s = Summary::of(&[7.0]).unwrap();
        assert_eq!((s.p50, s.p95, s.ci95), (7.0, 7.0, None));
        assert!(Summary::of(&[]).is_none());
        assert!(Summary::of(&[f64::NAN]).is_none());
    }

    #[test]
    fn t_quantiles() {
        assert_eq!(t975(1), 12.706);
        assert_eq!(t975(30), 2.042);
        assert_eq!(t975(1000), 1.96);
        assert!(t975(45) < 2.042 && t975(45) > 2.0);
    }
    #[test]
    fn median_interval_coverage() {
        // n = 5: no 95% interval exists; min..max covers 1 - 2/32
        let m = median_ci(&[5.0, 1.0, 4.0, 2.0, 3.0]).unwrap();
        assert_eq!((m.median, m.lo, m.hi), (3.0, 1.0, 5.0));
        assert!((m.level - 0.9375).abs() < 1e-12);
        // n = 10: [x(2), x(9)] covers 97.9%, [x(3), x(8)] only 89%
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        let m = median_ci(&xs).unwrap();
        assert_eq!((m.lo, m.hi), (2.0, 9.0));
        assert!((m.level - (1.0 - 2.0 * 11.0 / 1024.0)).abs() < 1e-12);
        assert!(median_ci(&[]).is_none());
    }

    #[test]
    fn quantiles_of_latencies() {
        let q = Quantiles::of(&[3.0, 1.0, 2.0]);
        assert_eq!((q.n, q.p50, q.max), (3, Some(2.0), Some(3.0)));
        assert_eq!(Quantiles::of(&[]), Quantiles::default());
    }

    #[test]
    fn histogram_quantile_in_the_inf_bucket() {
        let b = [(0.1, 5.0), (f64::INFINITY, 10.0)];
        assert_eq!(histogram_quantile(0.99, &b), Some(0.1));
        assert_eq!(histogram_quantile(0.5, &[(0.1, 0.0)]), None);
    }
}
