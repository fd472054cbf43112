//! Summary statistics of a series: mean, percentiles (linear interpolation
//! between closest ranks, like numpy's default), and the 95% confidence
//! interval of the mean from Student's t distribution.

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

pub use crate::util::percentile;

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
}
