//! Anytime comparison on a tabular benchmark: for each strategy and budget
//! k (in evaluations), the test accuracy of the architecture a run would
//! have returned after its first k trials (its incumbent: best validation
//! accuracy so far), as NAS-Bench-201 (Dong & Yang 2020, Fig. 7) reports
//! searches. Mean and 95% CI over seeds, the mean rank over seeds (1 =
//! best; seeds pair strategies, which share the repetition seed) and a
//! paired two-sided Wilcoxon signed-rank test against a baseline strategy.
//!
//! Test accuracies come from a caller-supplied lookup (the table), since
//! journals never hold a test accuracy per trial. Kept minimal and on its
//! own so that it can move onto the general statistics module later.

use crate::journal::Journal;
use crate::record::Record;
use crate::stats::Describe as Summary;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One strategy's statistics at one budget.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Budget in evaluations.
    pub budget: u64,
    /// Test accuracy (percent) of the incumbents over seeds.
    pub test: Option<Summary>,
    /// Mean rank over the seeds every strategy reached (1 = best).
    pub mean_rank: f64,
    /// Two-sided p-value of the paired Wilcoxon test against the
    /// baseline (`None` for the baseline itself or without pairs).
    pub p_vs_baseline: Option<f64>,
    /// Mean paired difference to the baseline (points).
    pub diff_vs_baseline: Option<f64>,
}

/// One strategy's curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// Strategy label.
    pub label: String,
    /// Runs (seeds).
    pub runs: usize,
    /// One point per requested budget.
    pub points: Vec<Point>,
}

/// Test accuracy (percent) of each run's incumbent after `k` trials,
/// keyed by label then seed.
fn incumbents(
    journals: &[Journal],
    k: u64,
    test_of: &dyn Fn(&str) -> Option<f64>,
) -> BTreeMap<String, BTreeMap<u64, f64>> {
    let mut out: BTreeMap<String, BTreeMap<u64, f64>> = BTreeMap::new();
    for j in journals {
        let at_k = j.records.iter().find_map(|r| match r {
            Record::Trial(t) if t.trial + 1 == k => Some(t),
            _ => None,
        });
        let entry = out.entry(j.header.label.clone()).or_default();
        if let Some(acc) = at_k
            .and_then(|t| t.incumbent.as_ref())
            .and_then(|i| test_of(&i.arch))
        {
            entry.insert(j.header.seed, 100.0 * acc);
        }
    }
    out
}

/// Average ranks (1 = largest value), ties sharing their mean rank.
fn ranks_desc(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &o in &order[i..=j] {
            ranks[o] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Two-sided p-value of the Wilcoxon signed-rank test of paired
/// differences `d` against zero (exact for small samples, see
/// [`crate::stats::wilcoxon`]); 1 when there is nothing to test.
pub fn wilcoxon_signed_rank(d: &[f64]) -> f64 {
    let zeros = vec![0.0; d.len()];
    crate::stats::wilcoxon(d, &zeros, crate::stats::Alternative::TwoSided)
        .map_or(1.0, |t| t.p_value)
}

/// Curves of every strategy label in `journals` at `budgets`.
pub fn budget_curves(
    journals: &[Journal],
    budgets: &[u64],
    baseline: &str,
    test_of: &dyn Fn(&str) -> Option<f64>,
) -> Vec<Curve> {
    let mut labels: BTreeMap<String, usize> = BTreeMap::new();
    for j in journals {
        *labels.entry(j.header.label.clone()).or_default() += 1;
    }
    let mut curves: Vec<Curve> = labels
        .iter()
        .map(|(l, &runs)| Curve {
            label: l.clone(),
            runs,
            points: Vec::new(),
        })
        .collect();
    for &k in budgets {
        let by = incumbents(journals, k, test_of);
        let seeds: Vec<u64> = by
            .values()
            .flat_map(|m| m.keys().copied())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|s| by.values().all(|m| m.contains_key(s)))
            .collect();
        let mut rank_sum: BTreeMap<&str, f64> = BTreeMap::new();
        for s in &seeds {
            let vals: Vec<f64> = by.values().map(|m| m[s]).collect();
            for (label, r) in by.keys().zip(ranks_desc(&vals)) {
                *rank_sum.entry(label).or_default() += r;
            }
        }
        let base = by.get(baseline);
        for c in &mut curves {
            let mine = by.get(&c.label);
            let xs: Vec<f64> = mine
                .map(|m| m.values().copied().collect())
                .unwrap_or_default();
            let pairs: Vec<f64> = match (mine, base) {
                (Some(m), Some(b)) if c.label != baseline => m
                    .iter()
                    .filter_map(|(s, x)| b.get(s).map(|y| x - y))
                    .collect(),
                _ => Vec::new(),
            };
            c.points.push(Point {
                budget: k,
                test: Summary::of(&xs),
                mean_rank: rank_sum
                    .get(c.label.as_str())
                    .map_or(f64::NAN, |r| r / seeds.len() as f64),
                p_vs_baseline: (!pairs.is_empty()).then(|| wilcoxon_signed_rank(&pairs)),
                diff_vs_baseline: (!pairs.is_empty())
                    .then(|| pairs.iter().sum::<f64>() / pairs.len() as f64),
            });
        }
    }
    curves
}

/// The curves as Markdown: accuracy per budget, rank and significance.
pub fn markdown(curves: &[Curve], baseline: &str) -> String {
    let mut s = String::new();
    let Some(first) = curves.first() else {
        return s;
    };
    let budgets: Vec<u64> = first.points.iter().map(|p| p.budget).collect();
    let cols: String = budgets.iter().map(|b| format!(" @{b} |")).collect();
    let _ = writeln!(
        s,
        "| strategy | runs |{cols} rank @{} | Δ vs {baseline} @{} | p (Wilcoxon) @{} |",
        budgets.last().unwrap_or(&0),
        budgets.last().unwrap_or(&0),
        budgets.last().unwrap_or(&0)
    );
    let _ = writeln!(
        s,
        "|---|---:|{}---:|---:|---:|",
        "---:|".repeat(budgets.len())
    );
    for c in curves {
        let cells: String = c
            .points
            .iter()
            .map(|p| match p.test {
                Some(t) => format!(" {:.2} ± {:.2} |", t.mean, t.ci95.unwrap_or(f64::NAN)),
                None => " – |".to_string(),
            })
            .collect();
        let last = c.points.last();
        let diff = last
            .and_then(|p| p.diff_vs_baseline)
            .map_or("–".into(), |d| format!("{d:+.2}"));
        let p = last
            .and_then(|p| p.p_vs_baseline)
            .map_or("–".into(), |p| format!("{p:.2e}"));
        let rank = last.map_or(f64::NAN, |p| p.mean_rank);
        let _ = writeln!(
            s,
            "| {} | {} |{cells} {rank:.2} | {diff} | {p} |",
            c.label, c.runs
        );
    }
    let _ = writeln!(s, "\nMean ± 95% CI (Student's t over seeds) of the test accuracy (%) of the architecture with the best validation accuracy after k evaluations; rank: mean over seeds (1 = best); p: paired two-sided Wilcoxon signed-rank test against `{baseline}` over seeds.");
    let _ = writeln!(
        s,
        "\n| Δ vs {baseline} (p) |{}",
        budgets
            .iter()
            .map(|b| format!(" @{b} |"))
            .collect::<String>()
    );
    let _ = writeln!(s, "|---|{}", "---:|".repeat(budgets.len()));
    for c in curves {
        let cells: String = c
            .points
            .iter()
            .map(|p| match (p.p_vs_baseline, p.diff_vs_baseline) {
                (Some(pv), Some(d)) => format!(" {d:+.2} (p {pv:.1e}) |"),
                _ => " – |".to_string(),
            })
            .collect();
        let _ = writeln!(s, "| {} |{cells}", c.label);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_share_ties() {
        assert_eq!(ranks_desc(&[3.0, 1.0, 3.0, 2.0]), vec![1.5, 4.0, 1.5, 3.0]);
    }

    #[test]
    fn wilcoxon_matches_hand_computation() {
        // d = 1..=10, all positive: W+ = 55 is the most extreme of the
        // 2^10 equally likely sign patterns, so the exact two-sided p is
        // 2 / 1024.
        let d: Vec<f64> = (1..=10).map(f64::from).collect();
        let p = wilcoxon_signed_rank(&d);
        assert!((p - 2.0 / 1024.0).abs() < 1e-12, "{p}");
        // Symmetric differences: no evidence.
        let sym = [1.0, -1.0, 2.0, -2.0, 3.0, -3.0];
        assert!(wilcoxon_signed_rank(&sym) > 0.9);
        assert_eq!(wilcoxon_signed_rank(&[0.0, 0.0]), 1.0);
    }
}
