//! Comparing groups of runs the way benchstat does: one value per run (never
//! samples of different runs pooled into one test), each group's median with
//! a distribution-free 95% confidence interval, and for two groups the
//! two-sided Mann–Whitney U test and a bootstrap confidence interval of the
//! change of the median. The U test follows scipy's `mannwhitneyu` (method
//! "auto"): the exact distribution when a sample is small and there are no
//! ties, else the normal approximation with tie and continuity corrections.

use super::Rng;
use super::{median, percentile};

/// The significance level of every comparison.
pub const ALPHA: f64 = 0.05;

/// Result of a two-sided Mann–Whitney U test of `x` against `y`.
#[derive(Debug, Clone, PartialEq)]
pub struct UTest {
    /// U of the first sample (scipy's `statistic`)
    pub u: f64,
    pub p: f64,
    /// "exact" or "asymptotic"
    pub method: &'static str,
    /// the smallest p-value these sample sizes can give: when it is not
    /// below ALPHA, no difference could ever be called significant
    pub min_p: f64,
}

impl UTest {
    /// Enough runs that a difference could show at all.
    pub fn can_tell(&self) -> bool {
        self.min_p < ALPHA
    }
    pub fn significant(&self) -> bool {
        self.can_tell() && self.p < ALPHA
    }
}

/// Ranks 1..=n with ties given their average rank, and the tie sizes.
fn ranks(all: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..all.len()).collect();
    idx.sort_by(|&a, &b| all[a].total_cmp(&all[b]));
    let mut r = vec![0f64; all.len()];
    let mut ties = vec![];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && all[idx[j + 1]] == all[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        if j > i {
            ties.push(j - i + 1);
        }
        i = j + 1;
    }
    (r, ties)
}

/// Counts of U = 0..=m*n over all C(m+n, m) arrangements: the coefficients
/// of the Gaussian binomial [m+n choose m]_q = prod_{i=1..m} (1-q^(n+i))/(1-q^i).
fn u_counts(m: usize, n: usize) -> Vec<f64> {
    let deg = m * n;
    let mut c = vec![0f64; deg + 1];
    c[0] = 1.0;
    for i in 1..=m {
        // multiply by (1 - q^(n+i)): from the top down
        let s = n + i;
        for k in (s..=deg).rev() {
            c[k] -= c[k - s];
        }
        // divide by (1 - q^i): running sums with stride i
        for k in i..=deg {
            c[k] += c[k - i];
        }
    }
    c
}

/// C(a, b) as a float.
fn choose(a: usize, b: usize) -> f64 {
    let b = b.min(a - b);
    (0..b).fold(1f64, |acc, i| acc * (a - i) as f64 / (i + 1) as f64)
}

/// Upper tail of the standard normal distribution.
fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Complementary error function (W. J. Cody's rational approximations via
/// the Numerical Recipes form, relative error below 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Two-sided Mann–Whitney U test; None when a sample is empty.
pub fn mann_whitney(x: &[f64], y: &[f64]) -> Option<UTest> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 || x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let all: Vec<f64> = x.iter().chain(y).copied().collect();
    let (r, ties) = ranks(&all);
    let r1: f64 = r[..n1].iter().sum();
    let u1 = r1 - (n1 * (n1 + 1)) as f64 / 2.0;
    let nn = (n1 * n2) as f64;
    let u = u1.max(nn - u1);
    let total = choose(n1 + n2, n1);
    let min_p = (2.0 / total).min(1.0);
    if ties.is_empty() && n1.min(n2) <= 8 {
        let c = u_counts(n1, n2);
        // P(U >= u) over all arrangements
        let tail: f64 = c[u.round() as usize..].iter().sum();
        return Some(UTest {
            u: u1,
            p: (2.0 * tail / total).min(1.0),
            method: "exact",
            min_p,
        });
    }
    let n = (n1 + n2) as f64;
    let tie_term: f64 = ties.iter().map(|&t| (t * t * t - t) as f64).sum::<f64>();
    let var = nn / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    let p = if var <= 0.0 {
        1.0 // every value the same
    } else {
        let z = (u - nn / 2.0 - 0.5) / var.sqrt();
        (2.0 * normal_sf(z)).min(1.0)
    };
    Some(UTest {
        u: u1,
        p,
        method: "asymptotic",
        min_p,
    })
}

/// Percentile-bootstrap 95% interval of the change of the median from
/// `base` to `other`, as a fraction (0.12 = +12%): both groups resampled
/// with replacement, 4000 times, with a fixed seed.
pub fn change_ci(base: &[f64], other: &[f64]) -> Option<(f64, f64, f64)> {
    if base.is_empty() || other.is_empty() {
        return None;
    }
    let mb = median(base);
    if mb == 0.0 {
        return None;
    }
    let change = median(other) / mb - 1.0;
    const B: usize = 4000;
    let mut rng = Rng::new(0x5CAF_F01D);
    let mut a = vec![0f64; base.len()];
    let mut b = vec![0f64; other.len()];
    let mut out = Vec::with_capacity(B);
    for _ in 0..B {
        for v in a.iter_mut() {
            *v = base[rng.below(base.len())];
        }
        for v in b.iter_mut() {
            *v = other[rng.below(other.len())];
        }
        let ma = median(&a);
        if ma != 0.0 {
            out.push(median(&b) / ma - 1.0);
        }
    }
    if out.is_empty() {
        return None;
    }
    out.sort_by(|x, y| x.total_cmp(y));
    Some((change, percentile(&out, 2.5), percentile(&out, 97.5)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u_distribution_counts_arrangements() {
        // m = n = 2: U over the 6 arrangements is 0,1,2,2,3,4
        assert_eq!(u_counts(2, 2), vec![1.0, 1.0, 2.0, 1.0, 1.0]);
        let c = u_counts(5, 7);
        assert_eq!(c.iter().sum::<f64>(), choose(12, 5));
        // symmetric
        for k in 0..c.len() {
            assert_eq!(c[k], c[c.len() - 1 - k]);
        }
    }

    #[test]
    fn identical_groups_are_not_different() {
        let a = [10.0, 11.0, 12.0, 13.0, 14.0];
        let t = mann_whitney(&a, &a).unwrap();
        assert!(t.p > 0.9 && !t.significant(), "{t:?}");
        // three runs a side can never show a difference
        let t = mann_whitney(&[1.0, 2.0, 3.0], &[7.0, 8.0, 9.0]).unwrap();
        assert!(!t.can_tell() && (t.p - 0.1).abs() < 1e-12, "{t:?}");
    }

    /// Expected values from scipy 1.17.1:
    /// `scipy.stats.mannwhitneyu(x, y, alternative="two-sided")` (method
    /// "auto"), printed with repr().
    #[test]
    fn u_test_matches_scipy() {
        type Case<'a> = (&'a [f64], &'a [f64], f64, f64, &'a str);
        let cases: &[Case] = &[
            (
                &[1., 2., 3., 4., 5.],
                &[6., 7., 8., 9., 10.],
                0.0,
                0.007936507936507936,
                "exact",
            ),
            (
                &[1.1, 2.4, 3.3, 4.9, 5.2],
                &[2.0, 3.1, 6.5, 7.7, 8.8],
                7.0,
                0.30952380952380953,
                "exact",
            ),
            (
                &[10., 11., 12., 13., 14., 15., 16., 17., 18., 19.],
                &[12.5, 14.5, 16.5, 18.5, 20.5, 22.5, 24.5, 26.5, 28.5, 30.5],
                16.0,
                0.011329696684474665,
                "asymptotic",
            ),
            (
                &[1., 2., 2., 3., 3., 3., 4.],
                &[3., 4., 4., 5., 5., 6., 7.],
                3.5,
                0.007659988586736321,
                "asymptotic",
            ),
            (
                &[9.1, 9.3, 9.2, 9.8, 9.0, 9.4],
                &[9.6, 9.9, 10.2, 9.7, 10.1, 10.0, 9.5, 10.3, 9.45],
                4.0,
                0.004795204795204795,
                "exact",
            ),
            (
                &[1., 2., 3., 4., 5., 6., 7., 8., 9., 10., 11., 12.],
                &[5., 6., 7., 8., 9., 10., 11., 12., 13., 14., 15., 16.],
                32.0,
                0.02234157056409974,
                "asymptotic",
            ),
        ];
        for (x, y, u, p, method) in cases {
            let t = mann_whitney(x, y).unwrap();
            assert_eq!((t.u, t.method), (*u, *method), "{x:?} {y:?}");
            assert!(
                (t.p - p).abs() < 1e-6 * p.max(1e-3),
                "{x:?} {y:?}: {} vs {p}",
                t.p
            );
        }
        // the exact distribution for 10 against 10 (scipy method="exact"
        // gives 0.00893069778518695 for the third case)
        let c = u_counts(10, 10);
        let tail: f64 = c[84..].iter().sum();
        assert!((2.0 * tail / choose(20, 10) - 0.00893069778518695).abs() < 1e-12);
    }

    #[test]
    fn bootstrap_interval_holds_the_change() {
        let a = [100.0, 101.0, 99.0, 100.5, 99.5];
        let b = [110.0, 111.0, 109.0, 110.5, 109.5];
        let (c, lo, hi) = change_ci(&a, &b).unwrap();
        assert!((c - 0.10).abs() < 1e-9);
        assert!(lo > 0.05 && hi < 0.15 && lo <= c && c <= hi, "{lo} {hi}");
    }
}
