//! Statistics over seeds: descriptive summaries and the rank tests used to
//! compare strategies.
//!
//! - Student's t confidence interval of the mean (n-1 degrees of freedom).
//! - Wilcoxon signed-rank test for paired samples (Wilcoxon 1945): zero
//!   differences are dropped (Wilcoxon's own convention), ties get midranks.
//! - Mann-Whitney U test for independent samples (Mann & Whitney 1947),
//!   midranks for ties.
//! - Holm's step-down correction for multiple comparisons (Holm 1979).
//! - Vargha-Delaney A effect size (Vargha & Delaney 2000).
//! - Rank correlations: Spearman's rho (midranks) and Kendall's tau-b
//!   (Kendall 1945), e.g. for how faithfully a table ranks architectures.
//!
//! Small samples get exact p-values: the permutation distribution of the
//! rank statistic conditional on the observed ties, counted by dynamic
//! programming over doubled (hence integer) midranks. Larger samples use the
//! normal approximation with the tie-corrected variance and a continuity
//! correction of 1/2. Normal CDF and t quantiles come from `statrs`.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Paired tests are exact up to this many non-zero differences.
pub const EXACT_MAX_PAIRED: usize = 25;
/// Unpaired tests are exact up to this many observations in both samples.
pub const EXACT_MAX_POOLED: usize = 40;

/// Descriptive statistics of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Describe {
    /// Sample size.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for n < 2).
    pub std: f64,
    /// Half width of the 95% confidence interval of the mean (`None` for n < 2).
    pub ci95: Option<f64>,
    /// Median.
    pub median: f64,
}

impl Describe {
    /// Statistics of `xs`; `None` when empty.
    pub fn of(xs: &[f64]) -> Option<Describe> {
        let n = xs.len();
        if n == 0 {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        let std = var.sqrt();
        let ci95 = (n > 1)
            .then(|| StudentsT::new(0.0, 1.0, (n - 1) as f64).ok())
            .flatten()
            .map(|t| t.inverse_cdf(0.975) * std / (n as f64).sqrt());
        Some(Describe {
            n,
            mean,
            std,
            ci95,
            median: quantile(xs, 0.5).unwrap_or(f64::NAN),
        })
    }
}

/// The `q` quantile with linear interpolation between order statistics
/// (Hyndman & Fan 1996, type 7); `None` when empty.
pub fn quantile(xs: &[f64], q: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let h = (s.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(s[lo] + (h - lo as f64) * (s[hi] - s[lo]))
}

/// Which way the alternative hypothesis points (for the first sample, or
/// for the differences `x - y` of a paired test).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alternative {
    /// x differs from y in either direction.
    TwoSided,
    /// x tends to be smaller than y.
    Less,
    /// x tends to be larger than y.
    Greater,
}

/// Which test produced a [`TestResult`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestKind {
    /// Wilcoxon signed-rank (paired).
    Wilcoxon,
    /// Mann-Whitney U (unpaired).
    MannWhitney,
}

impl TestKind {
    /// Short name for tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            TestKind::Wilcoxon => "wilcoxon",
            TestKind::MannWhitney => "mann-whitney",
        }
    }
}

/// Outcome of a rank test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TestResult {
    /// The test.
    pub kind: TestKind,
    /// W+ (signed-rank) or U of the first sample (Mann-Whitney).
    pub statistic: f64,
    /// The p-value.
    pub p_value: f64,
    /// True when the p-value is exact, false for the normal approximation.
    pub exact: bool,
    /// Observations used (non-zero pairs, or n1 + n2).
    pub n: usize,
}

/// Midranks (1-based) of `xs`, and the sizes of the tie groups.
fn midranks(xs: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..xs.len()).collect();
    idx.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut ranks = vec![0.0; xs.len()];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && xs[idx[j + 1]] == xs[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        ties.push(j - i + 1);
        i = j + 1;
    }
    (ranks, ties)
}

fn tie_term(ties: &[usize]) -> f64 {
    ties.iter().map(|&t| (t * t * t - t) as f64).sum()
}

/// Tail probabilities `(P(S <= s), P(S >= s))` from counts over doubled sums.
fn tails(counts: &[f64], observed2: usize) -> (f64, f64) {
    let total: f64 = counts.iter().sum();
    let le: f64 = counts.iter().take(observed2 + 1).sum();
    let ge: f64 = counts.iter().skip(observed2).sum();
    (le / total, ge / total)
}

fn combine(alt: Alternative, le: f64, ge: f64) -> f64 {
    match alt {
        Alternative::Less => le,
        Alternative::Greater => ge,
        Alternative::TwoSided => (2.0 * le.min(ge)).min(1.0),
    }
}

fn std_normal() -> Normal {
    // Mean 0, sd 1 are valid parameters: construction cannot fail.
    Normal::standard()
}

/// Normal approximation with continuity correction 1/2.
fn normal_p(alt: Alternative, stat: f64, mean: f64, var: f64) -> f64 {
    if var <= 0.0 {
        return 1.0;
    }
    let sd = var.sqrt();
    let n = std_normal();
    match alt {
        Alternative::Greater => 1.0 - n.cdf((stat - mean - 0.5) / sd),
        Alternative::Less => n.cdf((stat - mean + 0.5) / sd),
        Alternative::TwoSided => {
            let z = ((stat - mean).abs() - 0.5).max(0.0) / sd;
            (2.0 * (1.0 - n.cdf(z))).min(1.0)
        }
    }
}

/// Wilcoxon signed-rank test of paired samples `x`, `y` (same length).
/// `None` when the lengths differ.
pub fn wilcoxon(x: &[f64], y: &[f64], alt: Alternative) -> Option<TestResult> {
    if x.len() != y.len() {
        return None;
    }
    let d: Vec<f64> = x
        .iter()
        .zip(y)
        .map(|(a, b)| a - b)
        .filter(|d| *d != 0.0)
        .collect();
    let n = d.len();
    if n == 0 {
        return Some(TestResult {
            kind: TestKind::Wilcoxon,
            statistic: 0.0,
            p_value: 1.0,
            exact: true,
            n,
        });
    }
    let abs: Vec<f64> = d.iter().map(|v| v.abs()).collect();
    let (ranks, ties) = midranks(&abs);
    let w_plus: f64 = ranks
        .iter()
        .zip(&d)
        .filter(|(_, d)| **d > 0.0)
        .map(|(r, _)| r)
        .sum();
    let (p_value, exact) = if n <= EXACT_MAX_PAIRED {
        // Every sign pattern is equally likely under H0: count W+ sums.
        let r2: Vec<usize> = ranks.iter().map(|r| (2.0 * r).round() as usize).collect();
        let max: usize = r2.iter().sum();
        let mut counts = vec![0.0; max + 1];
        counts[0] = 1.0;
        for &r in &r2 {
            for s in (r..=max).rev() {
                counts[s] += counts[s - r];
            }
        }
        let (le, ge) = tails(&counts, (2.0 * w_plus).round() as usize);
        (combine(alt, le, ge), true)
    } else {
        let nf = n as f64;
        let mean = nf * (nf + 1.0) / 4.0;
        let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term(&ties) / 48.0;
        (normal_p(alt, w_plus, mean, var), false)
    };
    Some(TestResult {
        kind: TestKind::Wilcoxon,
        statistic: w_plus,
        p_value,
        exact,
        n,
    })
}

/// Mann-Whitney U test of independent samples `x`, `y`; the statistic is
/// U of `x` (pairs with x > y, ties counting 1/2). `None` if either is empty.
pub fn mann_whitney(x: &[f64], y: &[f64], alt: Alternative) -> Option<TestResult> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let pooled: Vec<f64> = x.iter().chain(y).copied().collect();
    let (ranks, ties) = midranks(&pooled);
    let r1: f64 = ranks[..n1].iter().sum();
    let u = r1 - (n1 * (n1 + 1)) as f64 / 2.0;
    let n = n1 + n2;
    let (p_value, exact) = if n <= EXACT_MAX_POOLED {
        // Every choice of n1 of the pooled ranks is equally likely under H0:
        // count rank sums of size-n1 subsets (doubled ranks are integers).
        let r2: Vec<usize> = ranks.iter().map(|r| (2.0 * r).round() as usize).collect();
        let max: usize = r2.iter().sum();
        let mut counts = vec![vec![0.0; max + 1]; n1 + 1];
        counts[0][0] = 1.0;
        for &r in &r2 {
            for k in (1..=n1).rev() {
                let (lo, hi) = counts.split_at_mut(k);
                for s in (r..=max).rev() {
                    hi[0][s] += lo[k - 1][s - r];
                }
            }
        }
        let (le, ge) = tails(&counts[n1], (2.0 * r1).round() as usize);
        (combine(alt, le, ge), true)
    } else {
        let (a, b, nf) = (n1 as f64, n2 as f64, n as f64);
        let var = a * b / 12.0 * ((nf + 1.0) - tie_term(&ties) / (nf * (nf - 1.0)));
        (normal_p(alt, u, a * b / 2.0, var), false)
    };
    Some(TestResult {
        kind: TestKind::MannWhitney,
        statistic: u,
        p_value,
        exact,
        n,
    })
}

/// Holm's step-down adjusted p-values, in the input order; `None` entries
/// (comparisons not made) are left out of the family and stay `None`.
pub fn holm(ps: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut idx: Vec<usize> = (0..ps.len()).filter(|&i| ps[i].is_some()).collect();
    idx.sort_by(|&a, &b| {
        ps[a]
            .unwrap_or(f64::NAN)
            .total_cmp(&ps[b].unwrap_or(f64::NAN))
    });
    let m = idx.len();
    let mut out = vec![None; ps.len()];
    let mut running: f64 = 0.0;
    for (j, &i) in idx.iter().enumerate() {
        let p = ps[i].unwrap_or(1.0);
        running = running.max(((m - j) as f64 * p).min(1.0));
        out[i] = Some(running);
    }
    out
}

/// Vargha-Delaney A: the probability that a value drawn from `x` is larger
/// than one drawn from `y`, ties counting half. 0.5 means no effect.
pub fn vargha_delaney_a(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.is_empty() || y.is_empty() {
        return None;
    }
    let mut wins = 0.0;
    for a in x {
        for b in y {
            if a > b {
                wins += 1.0;
            } else if a == b {
                wins += 0.5;
            }
        }
    }
    Some(wins / (x.len() * y.len()) as f64)
}

/// Vargha & Delaney's (2000) magnitude labels for an A value.
pub fn a_magnitude(a: f64) -> &'static str {
    let d = (a - 0.5).abs();
    if d < 0.06 {
        "negligible"
    } else if d < 0.14 {
        "small"
    } else if d < 0.21 {
        "medium"
    } else {
        "large"
    }
}

/// Midranks of `xs` where rank 1 goes to the largest value (best accuracy).
pub fn descending_ranks(xs: &[f64]) -> Vec<f64> {
    let neg: Vec<f64> = xs.iter().map(|x| -x).collect();
    midranks(&neg).0
}

/// Spearman's rho: Pearson's correlation of the average ranks (NaN when
/// either side is constant).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let (rx, ry) = (midranks(x).0, midranks(y).0);
    let n = rx.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// Kendall's tau-b (ties on either side counted as in Kendall 1945).
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> f64 {
    let (mut concordant, mut discordant, mut ties_x, mut ties_y) = (0f64, 0f64, 0f64, 0f64);
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            let (dx, dy) = (x[i] - x[j], y[i] - y[j]);
            match (dx == 0.0, dy == 0.0) {
                (true, true) => {}
                (true, false) => ties_x += 1.0,
                (false, true) => ties_y += 1.0,
                _ if (dx > 0.0) == (dy > 0.0) => concordant += 1.0,
                _ => discordant += 1.0,
            }
        }
    }
    let n_x = concordant + discordant + ties_x;
    let n_y = concordant + discordant + ties_y;
    (concordant - discordant) / (n_x * n_y).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_share_ties() {
        assert_eq!(midranks(&[3.0, 1.0, 3.0, 2.0]).0, vec![3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn spearman_matches_hand_computed_values() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!((spearman(&x, &[10.0, 20.0, 30.0, 40.0, 50.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&x, &[5.0, 4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // d = (0, 0, 1, -1, 0): rho = 1 - 6 * 2 / (5 * 24) = 0.9.
        assert!((spearman(&x, &[1.0, 2.0, 4.0, 3.0, 5.0]) - 0.9).abs() < 1e-12);
        assert!(spearman(&x, &[1.0; 5]).is_nan());
    }

    #[test]
    fn kendall_matches_hand_computed_values() {
        // One discordant pair of ten: (9 - 1) / 10.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let tau = kendall_tau_b(&x, &[1.0, 2.0, 4.0, 3.0, 5.0]);
        assert!((tau - 0.8).abs() < 1e-12);
        // A tie in y: 9 concordant of 9 untied-in-y pairs, tau-b = 9 / sqrt(10 * 9).
        let tau = kendall_tau_b(&x, &[1.0, 2.0, 3.0, 3.0, 5.0]);
        assert!((tau - 9.0 / 90f64.sqrt()).abs() < 1e-12);
    }
}
