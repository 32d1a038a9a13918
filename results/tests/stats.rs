//! The rank tests checked against published and independently computed
//! values. Reference values: R's `wilcox.test` help-page examples (data from
//! Hollander & Wolfe 1973, pp. 29 and 69) and SciPy 1.17.1
//! (`scipy.stats.wilcoxon` / `mannwhitneyu`, exact, asymptotic with
//! continuity correction, and `PermutationMethod(n_resamples=inf)` for the
//! exact tests with ties), run by hand outside the test suite.

use nasarena_results::stats::{
    holm, mann_whitney, quantile, vargha_delaney_a, wilcoxon, Alternative, Describe, TestKind,
};

fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} vs {b}");
}

// Hollander & Wolfe (1973), p. 29: depression scale before/after (paired).
const HW_X: [f64; 9] = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
// 3.14 is data, not pi.
#[allow(clippy::approx_constant)]
const HW_Y: [f64; 9] = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];

#[test]
fn wilcoxon_exact_matches_textbook() {
    // R: V = 40, p = 0.01953 (greater); SciPy: 0.01953125, 0.0390625, 0.986328125.
    let g = wilcoxon(&HW_X, &HW_Y, Alternative::Greater).unwrap();
    assert_eq!(g.kind, TestKind::Wilcoxon);
    assert!(g.exact);
    close(g.statistic, 40.0, 0.0);
    close(g.p_value, 0.01953125, 1e-12);
    close(
        wilcoxon(&HW_X, &HW_Y, Alternative::TwoSided)
            .unwrap()
            .p_value,
        0.0390625,
        1e-12,
    );
    close(
        wilcoxon(&HW_X, &HW_Y, Alternative::Less).unwrap().p_value,
        0.986328125,
        1e-12,
    );
}

#[test]
fn wilcoxon_exact_with_ties_and_zeros() {
    // Differences 2, 2, 1, 2, 3, 0: the zero is dropped, 2s share a midrank.
    // SciPy permutation test: 0.03125 (greater), 0.0625 (two-sided).
    let p = [3.0, 5.0, 5.0, 7.0, 8.0, 2.0];
    let q = [1.0, 3.0, 4.0, 5.0, 5.0, 2.0];
    let g = wilcoxon(&p, &q, Alternative::Greater).unwrap();
    assert_eq!(g.n, 5);
    close(g.statistic, 15.0, 0.0);
    close(g.p_value, 0.03125, 1e-12);
    close(
        wilcoxon(&p, &q, Alternative::TwoSided).unwrap().p_value,
        0.0625,
        1e-12,
    );
    // All differences zero: nothing to test, p = 1.
    assert_eq!(wilcoxon(&p, &p, Alternative::Less).unwrap().p_value, 1.0);
    assert!(wilcoxon(&p, &q[..3], Alternative::Less).is_none());
}

#[test]
fn wilcoxon_normal_approximation() {
    // 30 pairs, 28 non-zero differences (past the exact limit of 25).
    // SciPy wilcoxon(method="asymptotic", correction=True): W+ = 270,
    // p = 0.06488782374303807 (greater), 0.12977564748607615 (two-sided),
    // 0.9379474415993134 (less).
    let g = [
        0.7, 0.7, 1.0, -0.9, -0.4, -0.1, -0.9, 2.0, -0.2, 0.6, 0.0, 1.9, 1.6, 0.9, -1.9, 0.4, 1.0,
        1.3, -0.3, 2.1, -1.0, -0.4, 1.2, 0.3, 2.3, 0.5, -0.3, -0.1, -0.8, -1.0,
    ];
    let h = [
        0.6, 0.6, 1.3, -0.8, 1.7, -0.3, 1.6, -0.4, -0.7, 0.2, 1.0, 0.2, -0.6, -1.3, -1.4, 0.5, 1.0,
        -0.2, -1.1, 0.9, -1.3, -0.7, 0.6, -2.3, 0.4, -0.6, 0.1, -0.1, 0.2, 0.7,
    ];
    let r = wilcoxon(&g, &h, Alternative::Greater).unwrap();
    assert!(!r.exact);
    assert_eq!(r.n, 28);
    close(r.statistic, 270.0, 1e-9);
    close(r.p_value, 0.06488782374303807, 1e-9);
    close(
        wilcoxon(&g, &h, Alternative::TwoSided).unwrap().p_value,
        0.12977564748607615,
        1e-9,
    );
    close(
        wilcoxon(&g, &h, Alternative::Less).unwrap().p_value,
        0.9379474415993134,
        1e-9,
    );
}

#[test]
fn mann_whitney_exact_matches_textbook() {
    // Hollander & Wolfe (1973), p. 69. R: W = 35, p = 0.1272 (greater).
    // SciPy exact: 0.1272061272061272, 0.2544122544122544, 0.8967698967698967.
    let x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
    let y = [1.15, 0.88, 0.90, 0.74, 1.21];
    let g = mann_whitney(&x, &y, Alternative::Greater).unwrap();
    assert_eq!(g.kind, TestKind::MannWhitney);
    assert!(g.exact);
    close(g.statistic, 35.0, 0.0);
    close(g.p_value, 0.1272061272061272, 1e-12);
    close(
        mann_whitney(&x, &y, Alternative::TwoSided).unwrap().p_value,
        0.2544122544122544,
        1e-12,
    );
    close(
        mann_whitney(&x, &y, Alternative::Less).unwrap().p_value,
        0.8967698967698967,
        1e-12,
    );
}

#[test]
fn mann_whitney_exact_with_ties() {
    // SciPy mannwhitneyu(method=PermutationMethod(n_resamples=inf)):
    // U = 12, p = 0.1148018648018648 (less), 0.2296037296037296
    // (two-sided), 0.8962703962703963 (greater).
    let c = [1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 4.0];
    let d = [2.0, 3.0, 3.0, 5.0, 5.0, 6.0];
    let l = mann_whitney(&c, &d, Alternative::Less).unwrap();
    close(l.statistic, 12.0, 0.0);
    close(l.p_value, 0.1148018648018648, 1e-12);
    close(
        mann_whitney(&c, &d, Alternative::TwoSided).unwrap().p_value,
        0.2296037296037296,
        1e-12,
    );
    close(
        mann_whitney(&c, &d, Alternative::Greater).unwrap().p_value,
        0.8962703962703963,
        1e-12,
    );
    assert!(mann_whitney(&c, &[], Alternative::Less).is_none());
}

#[test]
fn mann_whitney_normal_approximation() {
    // 30 + 25 observations with ties (past the exact limit of 40).
    // SciPy mannwhitneyu(method="asymptotic", use_continuity=True):
    // U = 178.5, p = 0.0004547271304648352 (less), 0.0009094542609296704
    // (two-sided), 0.9995720588524135 (greater).
    let e = [
        0.1, -0.1, 0.6, 0.1, -0.5, 0.4, 1.3, 0.9, -0.7, -1.3, -0.6, 0.0, -2.3, -0.2, -1.2, -0.7,
        -0.5, -0.3, 0.4, 1.0, -0.1, 1.4, -0.7, 0.4, 0.9, 0.1, -0.7, -0.9, -0.5, 0.2,
    ];
    let f = [
        -0.5, 0.3, 0.3, 1.0, 0.7, 0.9, -0.2, 0.4, 1.3, 2.0, -0.8, 2.0, 1.8, 1.3, 0.8, 0.2, 2.0,
        2.5, 2.3, 1.8, 0.9, -0.7, 0.5, 1.2, -0.8,
    ];
    let l = mann_whitney(&e, &f, Alternative::Less).unwrap();
    assert!(!l.exact);
    close(l.statistic, 178.5, 1e-9);
    close(l.p_value, 0.0004547271304648352, 1e-10);
    close(
        mann_whitney(&e, &f, Alternative::TwoSided).unwrap().p_value,
        0.0009094542609296704,
        1e-10,
    );
    close(
        mann_whitney(&e, &f, Alternative::Greater).unwrap().p_value,
        0.9995720588524135,
        1e-10,
    );
}

#[test]
fn holm_adjustment() {
    // Holm (1979) step-down; statsmodels multipletests(method="holm") on
    // [0.01, 0.04, 0.03, 0.005] gives [0.03, 0.06, 0.06, 0.02].
    let adj = holm(&[Some(0.01), Some(0.04), None, Some(0.03), Some(0.005)]);
    let want = [Some(0.03), Some(0.06), None, Some(0.06), Some(0.02)];
    for (a, w) in adj.iter().zip(want) {
        match (a, w) {
            (Some(a), Some(w)) => close(*a, w, 1e-12),
            (None, None) => {}
            _ => panic!("{adj:?}"),
        }
    }
    assert_eq!(holm(&[Some(0.6), Some(0.7)]), vec![Some(1.0), Some(1.0)]);
}

#[test]
fn vargha_delaney() {
    // A = P(X > Y) + P(X = Y)/2, counted by hand: 5 wins, 1 tie of 9 pairs.
    close(
        vargha_delaney_a(&[1.0, 2.0, 3.0], &[0.5, 2.0, 2.5]).unwrap(),
        5.5 / 9.0,
        1e-12,
    );
    // A of x vs y relates to U of x: A = U / (n1 n2) (Vargha & Delaney 2000).
    let x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
    let y = [1.15, 0.88, 0.90, 0.74, 1.21];
    close(vargha_delaney_a(&x, &y).unwrap(), 35.0 / 50.0, 1e-12);
    assert!(vargha_delaney_a(&[], &y).is_none());
}

#[test]
fn describe_and_quantiles() {
    let s = Describe::of(&[90.0, 92.0, 94.0]).unwrap();
    close(s.mean, 92.0, 1e-12);
    close(s.std, 2.0, 1e-12);
    close(s.median, 92.0, 1e-12);
    // t(0.975, 2) = 4.302653 (any t table); half width = t * 2 / sqrt(3).
    close(s.ci95.unwrap(), 4.302_653 * 2.0 / 3f64.sqrt(), 1e-4);
    assert!(Describe::of(&[1.0]).unwrap().ci95.is_none());
    assert!(Describe::of(&[]).is_none());
    // numpy.quantile([1, 2, 3, 4], [0.25, 0.5, 0.75]) = 1.75, 2.5, 3.25.
    close(quantile(&[4.0, 1.0, 3.0, 2.0], 0.25).unwrap(), 1.75, 1e-12);
    close(quantile(&[4.0, 1.0, 3.0, 2.0], 0.5).unwrap(), 2.5, 1e-12);
    close(quantile(&[4.0, 1.0, 3.0, 2.0], 0.75).unwrap(), 3.25, 1e-12);
}
