//! The report's data: per space, one row per strategy with statistics over
//! seeds, significance against the best strategy and against random search,
//! and the per-seed values behind them. Serialised, this is the stable JSON
//! artifact (`report --format json`) that `compare` reads as a baseline.
//!
//! Significance: a two-sided Wilcoxon signed-rank test (Wilcoxon 1945) when
//! both strategies ran the same seeds (the harness derives seeds from the
//! repeat index, so runs pair by seed), a Mann-Whitney U test (Mann &
//! Whitney 1947) otherwise; p-values Holm-corrected (Holm 1979) across the
//! table's comparisons; Vargha-Delaney A (Vargha & Delaney 2000) as effect
//! size. Average rank: per seed, strategies ranked by test accuracy (1 =
//! best, ties share the mean rank), averaged over seeds.

use crate::curve::anytime_auc;
use crate::load::{CurvePoint, Loaded, RunData, Skipped};
use crate::record::ScoreMetric;
use crate::stats::{
    descending_ranks, holm, mann_whitney, vargha_delaney_a, wilcoxon, Alternative, Describe,
    TestResult,
};
use nasarena_core::Budget;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Value of [`Summary::format`].
pub const SUMMARY_FORMAT: &str = "nasarena-summary";
/// Version of the summary layout.
pub const SUMMARY_VERSION: u32 = 1;

/// A whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Always [`SUMMARY_FORMAT`].
    pub format: String,
    /// [`SUMMARY_VERSION`].
    pub version: u32,
    /// One table per search space.
    pub spaces: Vec<SpaceTable>,
    /// Runs without a final record (not in the tables).
    pub unfinished: Vec<Unfinished>,
    /// Journals that could not be read (not in the tables).
    pub skipped: Vec<Skipped>,
    /// Problems in journals that were still used.
    pub warnings: Vec<Skipped>,
}

/// A run that has not finished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unfinished {
    /// Journal path relative to the runs directory.
    pub file: String,
    /// Strategy label.
    pub label: String,
    /// Seed.
    pub seed: u64,
    /// Trials or epochs recorded so far.
    pub progress: usize,
}

/// One space's table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceTable {
    /// Space name and options.
    pub space: String,
    /// The search budget of the runs.
    pub budget: Budget,
    /// `GPU-hours` on CUDA devices, `device-hours` otherwise.
    pub hours_unit: String,
    /// What the accuracy columns hold (mean IoU for segmentation runs).
    #[serde(default, skip_serializing_if = "ScoreMetric::is_accuracy")]
    pub metric: ScoreMetric,
    /// Label of the strategy with the best mean test accuracy.
    pub best: Option<String>,
    /// Label of random search, if it ran.
    pub random: Option<String>,
    /// Distinct comparisons in the Holm family.
    pub comparisons: usize,
    /// One row per strategy, sorted by label.
    pub rows: Vec<Row>,
}

/// Mean, spread and interval of a sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stat {
    /// Sample size.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub std: f64,
    /// 95% t confidence interval of the mean (`None` for n < 2).
    pub ci95: Option<[f64; 2]>,
    /// Median.
    pub median: f64,
}

/// A significance test of one row against another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Versus {
    /// Label of the other strategy.
    pub against: String,
    /// `wilcoxon` or `mann-whitney`.
    pub test: String,
    /// Observations used (non-zero pairs, or n1 + n2).
    pub n: usize,
    /// W+ of the differences row - other, or U of the row.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Holm-adjusted p-value.
    pub p_holm: f64,
    /// Whether `p` is exact.
    pub exact: bool,
    /// Vargha-Delaney A: P(row's accuracy > other's).
    pub a12: f64,
}

/// One strategy on one space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    /// Strategy label.
    pub label: String,
    /// Strategy name.
    pub strategy: String,
    /// True for one-shot (supernet) searches.
    pub one_shot: bool,
    /// Final test accuracy (percent) over seeds.
    pub test_accuracy: Option<Stat>,
    /// Best validation accuracy during search (percent), mean.
    pub best_val: Option<f64>,
    /// MACs of the recommended architectures, mean.
    pub macs: f64,
    /// Parameters of the recommended architectures, mean.
    pub params: f64,
    /// Search cost in device-hours, mean.
    pub search_hours: f64,
    /// Hardware-normalised search cost, mean.
    pub normalised_cost: f64,
    /// Final-protocol cost in device-hours, mean.
    pub final_hours: f64,
    /// Evaluations (black-box) or epochs (one-shot), mean.
    pub evaluations: f64,
    /// Anytime AUC (percent points), mean.
    pub anytime_auc: f64,
    /// Average rank across seeds (1 = best).
    pub avg_rank: Option<f64>,
    /// Test against the best strategy (`None` for the best itself).
    pub vs_best: Option<Versus>,
    /// Test against random search (`None` for random search itself).
    pub vs_random: Option<Versus>,
    /// The runs, sorted by seed.
    pub runs: Vec<RunSummary>,
}

/// One seed's run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSummary {
    /// Journal path relative to the runs directory.
    pub file: String,
    /// The run's seed.
    pub seed: u64,
    /// Final test accuracy, percent (`None` if the final training failed).
    pub test_accuracy: Option<f64>,
    /// Best validation accuracy during search, percent.
    pub best_val: Option<f64>,
    /// MACs of the recommended architecture.
    pub macs: u64,
    /// Parameters of the recommended architecture.
    pub params: u64,
    /// Search cost, device-hours.
    pub search_hours: f64,
    /// Hardware-normalised search cost.
    pub normalised_cost: f64,
    /// Final-protocol cost, device-hours.
    pub final_hours: f64,
    /// Evaluations or epochs.
    pub evaluations: u64,
    /// Anytime AUC, percent points.
    pub anytime_auc: f64,
    /// Best-so-far curve: its steps, at most
    /// [`SUMMARY_POINTS`](crate::curve::SUMMARY_POINTS) points (see
    /// [`summary_curve`](crate::curve::summary_curve)).
    pub curve: Vec<CurvePoint>,
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        0.0
    } else {
        s / n as f64
    }
}

fn run_summary(r: &RunData) -> Option<RunSummary> {
    let f = r.final_record.as_ref()?;
    Some(RunSummary {
        file: r.file.clone(),
        seed: r.header.seed,
        test_accuracy: f.test_accuracy.map(|a| 100.0 * a),
        best_val: f.search_val_accuracy.map(|a| 100.0 * a),
        macs: f.macs,
        params: f.params,
        search_hours: f.search_cost.device_hours(),
        normalised_cost: f.normalised_search_cost,
        final_hours: f.cost.device_hours(),
        evaluations: f.evaluations,
        anytime_auc: anytime_auc(&r.curve, r.header.budget.limit),
        curve: crate::curve::summary_curve(&r.curve),
    })
}

fn stat(xs: &[f64]) -> Option<Stat> {
    Describe::of(xs).map(|d| Stat {
        n: d.n,
        mean: d.mean,
        std: d.std,
        ci95: d.ci95.map(|h| [d.mean - h, d.mean + h]),
        median: d.median,
    })
}

fn row(label: String, runs: &[&RunData]) -> Row {
    let mut rs: Vec<RunSummary> = runs.iter().filter_map(|r| run_summary(r)).collect();
    rs.sort_by(|a, b| a.seed.cmp(&b.seed).then(a.file.cmp(&b.file)));
    let tests: Vec<f64> = rs.iter().filter_map(|r| r.test_accuracy).collect();
    let vals: Vec<f64> = rs.iter().filter_map(|r| r.best_val).collect();
    Row {
        label,
        strategy: runs
            .first()
            .map_or(String::new(), |r| r.header.strategy.clone()),
        one_shot: runs.iter().any(|r| r.one_shot),
        test_accuracy: stat(&tests),
        best_val: (!vals.is_empty()).then(|| mean(vals.iter().copied())),
        macs: mean(rs.iter().map(|r| r.macs as f64)),
        params: mean(rs.iter().map(|r| r.params as f64)),
        search_hours: mean(rs.iter().map(|r| r.search_hours)),
        normalised_cost: mean(rs.iter().map(|r| r.normalised_cost)),
        final_hours: mean(rs.iter().map(|r| r.final_hours)),
        evaluations: mean(rs.iter().map(|r| r.evaluations as f64)),
        anytime_auc: mean(rs.iter().map(|r| r.anytime_auc)),
        avg_rank: None,
        vs_best: None,
        vs_random: None,
        runs: rs,
    }
}

/// (seed, test accuracy) pairs of a row.
fn seeded(r: &Row) -> Vec<(u64, f64)> {
    r.runs
        .iter()
        .filter_map(|x| x.test_accuracy.map(|a| (x.seed, a)))
        .collect()
}

/// Wilcoxon when both rows ran exactly the same distinct seeds, else
/// Mann-Whitney; `alt` is about `x` relative to `y`.
pub fn rank_test(x: &[(u64, f64)], y: &[(u64, f64)], alt: Alternative) -> Option<TestResult> {
    let sorted = |v: &[(u64, f64)]| {
        let mut v = v.to_vec();
        v.sort_by_key(|p| p.0);
        v
    };
    let (x, y) = (sorted(x), sorted(y));
    let xs: Vec<u64> = x.iter().map(|p| p.0).collect();
    let ys: Vec<u64> = y.iter().map(|p| p.0).collect();
    let mut distinct = xs.clone();
    distinct.dedup();
    let paired = !xs.is_empty() && xs == ys && distinct.len() == xs.len();
    let xv: Vec<f64> = x.iter().map(|p| p.1).collect();
    let yv: Vec<f64> = y.iter().map(|p| p.1).collect();
    if paired {
        wilcoxon(&xv, &yv, alt)
    } else {
        mann_whitney(&xv, &yv, alt)
    }
}

fn average_ranks(rows: &mut [Row]) {
    let all: Vec<Vec<(u64, f64)>> = rows.iter().map(seeded).collect();
    let same_seeds = all.windows(2).all(|w| {
        w[0].iter().map(|p| p.0).collect::<Vec<_>>() == w[1].iter().map(|p| p.0).collect::<Vec<_>>()
    });
    // Rank within each seed when seeds pair, else within each repeat index.
    let mut groups: BTreeMap<u64, Vec<(usize, f64)>> = BTreeMap::new();
    for (i, runs) in all.iter().enumerate() {
        for (k, (seed, acc)) in runs.iter().enumerate() {
            let key = if same_seeds { *seed } else { k as u64 };
            groups.entry(key).or_default().push((i, *acc));
        }
    }
    let mut sums = vec![(0.0, 0usize); rows.len()];
    for members in groups.values() {
        let accs: Vec<f64> = members.iter().map(|m| m.1).collect();
        for (m, r) in members.iter().zip(descending_ranks(&accs)) {
            sums[m.0].0 += r;
            sums[m.0].1 += 1;
        }
    }
    for (row, (s, n)) in rows.iter_mut().zip(sums) {
        row.avg_rank = (n > 0).then(|| s / n as f64);
    }
}

fn significance(rows: &mut [Row]) -> (Option<String>, Option<String>, usize) {
    let means: Vec<Option<f64>> = rows
        .iter()
        .map(|r| r.test_accuracy.map(|t| t.mean))
        .collect();
    let best = (0..rows.len())
        .filter(|&i| means[i].is_some())
        .max_by(|&a, &b| {
            means[a]
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&means[b].unwrap_or(f64::NEG_INFINITY))
                .then(b.cmp(&a))
        });
    let random = rows.iter().position(|r| r.strategy == "random");
    // The family of distinct (row, other) pairs.
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for i in 0..rows.len() {
        for other in [best, random].into_iter().flatten() {
            if other != i && !pairs.contains(&(i, other)) {
                pairs.push((i, other));
            }
        }
    }
    let seeds: Vec<Vec<(u64, f64)>> = rows.iter().map(seeded).collect();
    let results: Vec<Option<TestResult>> = pairs
        .iter()
        .map(|&(i, o)| rank_test(&seeds[i], &seeds[o], Alternative::TwoSided))
        .collect();
    let adjusted = holm(
        &results
            .iter()
            .map(|r| r.map(|t| t.p_value))
            .collect::<Vec<_>>(),
    );
    let comparisons = results.iter().filter(|r| r.is_some()).count();
    for ((&(i, o), res), adj) in pairs.iter().zip(&results).zip(&adjusted) {
        let (Some(t), Some(p_holm)) = (res, adj) else {
            continue;
        };
        let xv: Vec<f64> = seeds[i].iter().map(|p| p.1).collect();
        let yv: Vec<f64> = seeds[o].iter().map(|p| p.1).collect();
        let v = Versus {
            against: rows[o].label.clone(),
            test: t.kind.name().to_string(),
            n: t.n,
            statistic: t.statistic,
            p: t.p_value,
            p_holm: *p_holm,
            exact: t.exact,
            a12: vargha_delaney_a(&xv, &yv).unwrap_or(0.5),
        };
        if Some(o) == best {
            rows[i].vs_best = Some(v.clone());
        }
        if Some(o) == random {
            rows[i].vs_random = Some(v);
        }
    }
    (
        best.map(|i| rows[i].label.clone()),
        random.map(|i| rows[i].label.clone()),
        comparisons,
    )
}

/// Builds the report from loaded runs.
pub fn summarise(loaded: &Loaded) -> Summary {
    let mut groups: BTreeMap<String, BTreeMap<String, Vec<&RunData>>> = BTreeMap::new();
    for r in &loaded.runs {
        groups
            .entry(r.space_key())
            .or_default()
            .entry(r.header.label.clone())
            .or_default()
            .push(r);
    }
    let spaces = groups
        .into_iter()
        .filter_map(|(space, by_label)| {
            let first = by_label.values().flatten().next()?;
            // A supernet trained on a table's images records the budget in
            // its own machine's seconds (equal in normalised units); a
            // black-box run's is the experiment's as written.
            let budget = by_label
                .values()
                .flatten()
                .find(|r| !r.one_shot)
                .unwrap_or(first)
                .header
                .budget;
            let gpu = by_label
                .values()
                .flatten()
                .all(|r| r.header.device.starts_with("cuda"));
            let metric =
                ScoreMetric::of_all(by_label.values().flatten().map(|r| r.header.dataset.metric));
            let mut rows: Vec<Row> = by_label
                .into_iter()
                .map(|(label, runs)| row(label, &runs))
                .collect();
            average_ranks(&mut rows);
            let (best, random, comparisons) = significance(&mut rows);
            Some(SpaceTable {
                space,
                budget,
                hours_unit: if gpu { "GPU-hours" } else { "device-hours" }.to_string(),
                metric,
                best,
                random,
                comparisons,
                rows,
            })
        })
        .collect();
    let mut unfinished: Vec<Unfinished> = loaded
        .unfinished
        .iter()
        .map(|r| Unfinished {
            file: r.file.clone(),
            label: r.header.label.clone(),
            seed: r.header.seed,
            progress: r.curve.len(),
        })
        .collect();
    unfinished.sort_by(|a, b| a.file.cmp(&b.file));
    Summary {
        format: SUMMARY_FORMAT.to_string(),
        version: SUMMARY_VERSION,
        spaces,
        unfinished,
        skipped: loaded.skipped.clone(),
        warnings: loaded.warnings.clone(),
    }
}

impl SpaceTable {
    /// The tests used in this table, for the caption.
    pub fn tests_used(&self) -> Vec<&str> {
        let mut t: Vec<&str> = self
            .rows
            .iter()
            .flat_map(|r| [&r.vs_best, &r.vs_random])
            .flatten()
            .map(|v| v.test.as_str())
            .collect();
        t.sort_unstable();
        t.dedup();
        t
    }
}
