//! The per-space result table: one row per strategy, statistics over seeds.
//!
//! Mean, sample standard deviation, a 95% confidence interval of the mean
//! (Student's t with n-1 degrees of freedom) and the median of the final
//! test accuracy; means of the other columns. Derived from journals only.

use crate::journal::Journal;
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Summary statistics of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Sample size.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for n < 2).
    pub std: f64,
    /// Half width of the 95% confidence interval of the mean (NaN for n < 2).
    pub ci95: f64,
    /// Median.
    pub median: f64,
}

impl Summary {
    /// Statistics of `xs`; `None` when empty.
    pub fn of(xs: &[f64]) -> Option<Summary> {
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
        let ci95 = if n > 1 {
            StudentsT::new(0.0, 1.0, (n - 1) as f64)
                .map(|t| t.inverse_cdf(0.975) * std / (n as f64).sqrt())
                .unwrap_or(f64::NAN)
        } else {
            f64::NAN
        };
        let mut sorted = xs.to_vec();
        sorted.sort_by(f64::total_cmp);
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Summary {
            n,
            mean,
            std,
            ci95,
            median,
        })
    }
}

/// One row of the table: a strategy's runs on one space.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Strategy label.
    pub label: String,
    /// Finished runs (seeds) in the row.
    pub runs: usize,
    /// Final test accuracy (percent) over seeds.
    pub test_accuracy: Option<Summary>,
    /// Best validation accuracy during search (percent), mean over seeds.
    pub search_val_accuracy: Option<f64>,
    /// Mean MACs of the recommended architectures.
    pub macs: f64,
    /// Mean parameters of the recommended architectures.
    pub params: f64,
    /// Mean search cost in device-hours.
    pub search_device_hours: f64,
    /// Mean hardware-normalised search cost.
    pub normalised_cost: f64,
    /// Mean final-protocol cost in device-hours.
    pub final_device_hours: f64,
    /// Mean number of evaluations.
    pub evaluations: f64,
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        s / n as f64
    }
}

/// Rows per space (space -> rows sorted by label) from finished journals.
pub fn build_rows(journals: &[Journal]) -> BTreeMap<String, Vec<Row>> {
    let mut groups: BTreeMap<(String, String), Vec<&Journal>> = BTreeMap::new();
    for j in journals.iter().filter(|j| j.final_record().is_some()) {
        let space = if j.header.space_options.is_empty() {
            j.header.space.clone()
        } else {
            format!("{} ({})", j.header.space, j.header.space_options.join(", "))
        };
        groups
            .entry((space, j.header.label.clone()))
            .or_default()
            .push(j);
    }
    let mut out: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for ((space, label), runs) in groups {
        let finals: Vec<_> = runs.iter().filter_map(|j| j.final_record()).collect();
        let tests: Vec<f64> = finals
            .iter()
            .filter_map(|f| f.test_accuracy.map(|a| 100.0 * a))
            .collect();
        let vals: Vec<f64> = finals
            .iter()
            .filter_map(|f| f.search_val_accuracy.map(|a| 100.0 * a))
            .collect();
        out.entry(space).or_default().push(Row {
            label,
            runs: finals.len(),
            test_accuracy: Summary::of(&tests),
            search_val_accuracy: (!vals.is_empty()).then(|| mean(vals.iter().copied())),
            macs: mean(finals.iter().map(|f| f.macs as f64)),
            params: mean(finals.iter().map(|f| f.params as f64)),
            search_device_hours: mean(finals.iter().map(|f| f.search_cost.device_hours())),
            normalised_cost: mean(finals.iter().map(|f| f.normalised_search_cost)),
            final_device_hours: mean(finals.iter().map(|f| f.cost.device_hours())),
            evaluations: mean(finals.iter().map(|f| f.evaluations as f64)),
        });
    }
    out
}

fn fmt_opt(x: Option<f64>, digits: usize) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "–".to_string(),
    }
}

/// The tables as Markdown, one per space.
pub fn markdown(rows: &BTreeMap<String, Vec<Row>>) -> String {
    let mut s = String::new();
    for (space, rows) in rows {
        let _ = writeln!(s, "### {space}\n");
        let _ = writeln!(
            s,
            "| strategy | runs | test acc % (mean ± std) | 95% CI ± | median | best val acc % | MMACs | params (k) | search device-h | normalised cost | final device-h | evals |"
        );
        let _ = writeln!(
            s,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for r in rows {
            let t = r.test_accuracy;
            let _ = writeln!(
                s,
                "| {} | {} | {} ± {} | {} | {} | {} | {:.2} | {:.1} | {:.4} | {:.1} | {:.4} | {:.1} |",
                r.label,
                r.runs,
                fmt_opt(t.map(|t| t.mean), 2),
                fmt_opt(t.map(|t| t.std), 2),
                fmt_opt(t.map(|t| t.ci95), 2),
                fmt_opt(t.map(|t| t.median), 2),
                fmt_opt(r.search_val_accuracy, 2),
                r.macs / 1e6,
                r.params / 1e3,
                r.search_device_hours,
                r.normalised_cost,
                r.final_device_hours,
                r.evaluations,
            );
        }
        let _ = writeln!(
            s,
            "\nTest accuracy after the shared final protocol; CI: Student's t over seeds. Costs are device-hours (GPU-hours on a GPU); normalised cost = search device-seconds / calibration seconds.\n"
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_statistics() {
        let s = Summary::of(&[90.0, 92.0, 94.0]).expect("non-empty");
        assert_eq!(s.n, 3);
        assert!((s.mean - 92.0).abs() < 1e-12);
        assert!((s.std - 2.0).abs() < 1e-12);
        assert!((s.median - 92.0).abs() < 1e-12);
        // t_{0.975, 2} = 4.302653; half width = 4.302653 * 2 / sqrt(3).
        assert!(
            (s.ci95 - 4.302_653 * 2.0 / 3f64.sqrt()).abs() < 1e-4,
            "{}",
            s.ci95
        );
        let even = Summary::of(&[4.0, 1.0, 3.0, 2.0]).expect("non-empty");
        assert!((even.median - 2.5).abs() < 1e-12);
        assert!(Summary::of(&[]).is_none());
        assert!(Summary::of(&[1.0]).expect("one").ci95.is_nan());
    }
}
