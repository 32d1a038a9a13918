//! The CI regression gate: is NEW significantly worse than BASELINE?
//!
//! Strategy by strategy (and space), per-seed values of a metric are
//! compared with a one-sided rank test that NEW is worse: Wilcoxon
//! signed-rank (Wilcoxon 1945) when both sides ran the same seeds, else
//! Mann-Whitney U (Mann & Whitney 1947); p-values are Holm-corrected
//! (Holm 1979) across the strategies compared, so that a clean re-run with
//! timing noise does not fail the gate by chance. A strategy regressed when
//! its corrected p <= alpha and its median got worse by more than the
//! tolerance (in the metric's unit).

use crate::curve::cost_to_target;
use crate::stats::{holm, Alternative};
use crate::summary::{rank_test, RunSummary, Summary};

/// What is compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metric {
    /// Normalised area under the best-so-far curve (percent points).
    AnytimeAuc,
    /// Final test accuracy (percent).
    FinalAccuracy,
    /// Device-hours to first reach a validation accuracy (percent).
    CostToTarget(f64),
}

impl Metric {
    /// Name and unit for the output.
    pub fn describe(&self) -> String {
        match self {
            Metric::AnytimeAuc => "anytime AUC (percent points, higher is better)".into(),
            Metric::FinalAccuracy => "final test accuracy (%, higher is better)".into(),
            Metric::CostToTarget(t) => {
                format!("device-hours to reach {t}% validation accuracy (lower is better)")
            }
        }
    }

    fn higher_is_better(&self) -> bool {
        !matches!(self, Metric::CostToTarget(_))
    }

    /// The run's value; cost-to-target is +inf when never reached.
    fn value(&self, r: &RunSummary) -> Option<f64> {
        match self {
            Metric::AnytimeAuc => Some(r.anytime_auc),
            Metric::FinalAccuracy => r.test_accuracy,
            Metric::CostToTarget(t) => Some(cost_to_target(&r.curve, *t).unwrap_or(f64::INFINITY)),
        }
    }
}

/// Settings of the gate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GateOptions {
    /// The metric.
    pub metric: Metric,
    /// Significance level.
    pub alpha: f64,
    /// Worsening of the median (metric units) that is tolerated.
    pub tolerance: f64,
}

/// One strategy's comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct GateLine {
    /// Space.
    pub space: String,
    /// Strategy label.
    pub label: String,
    /// Runs on each side.
    pub n: (usize, usize),
    /// Median on each side (`None`: never reached the target).
    pub medians: (Option<f64>, Option<f64>),
    /// How much worse NEW's median is (positive = worse), in metric units;
    /// `None` when a side never reached the target.
    pub worsening: Option<f64>,
    /// `wilcoxon` or `mann-whitney`.
    pub test: String,
    /// One-sided p-value and its Holm-adjusted value.
    pub p: (f64, f64),
    /// True when this strategy regressed.
    pub regressed: bool,
    /// The smallest p the test can give with these sample sizes.
    pub min_p: f64,
}

/// The gate's result.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GateReport {
    /// Compared strategies.
    pub lines: Vec<GateLine>,
    /// `space / label` present in only one of the two sets.
    pub unmatched: Vec<String>,
}

impl GateReport {
    /// Whether any strategy regressed.
    pub fn regressed(&self) -> bool {
        self.lines.iter().any(|l| l.regressed)
    }
}

fn median(xs: &[f64]) -> Option<f64> {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(s[n / 2]),
        // Written to stay infinite (never NaN) when both middles are.
        _ => Some(if s[n / 2 - 1] == s[n / 2] {
            s[n / 2]
        } else {
            s[n / 2 - 1] / 2.0 + s[n / 2] / 2.0
        }),
    }
}

fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Compares NEW with BASELINE.
pub fn gate(base: &Summary, new: &Summary, opts: &GateOptions) -> GateReport {
    let mut report = GateReport::default();
    let mut raw = Vec::new();
    for bt in &base.spaces {
        let nt = new.spaces.iter().find(|t| t.space == bt.space);
        for br in &bt.rows {
            let Some(nr) = nt.and_then(|t| t.rows.iter().find(|r| r.label == br.label)) else {
                report
                    .unmatched
                    .push(format!("{} / {} (only in BASELINE)", bt.space, br.label));
                continue;
            };
            let vals = |rs: &[RunSummary]| -> Vec<(u64, f64)> {
                rs.iter()
                    .filter_map(|r| opts.metric.value(r).map(|v| (r.seed, v)))
                    .collect()
            };
            let (b, n) = (vals(&br.runs), vals(&nr.runs));
            // Never reaching the target ranks worse than any reached cost:
            // replace +inf by a finite stand-in larger than every cost.
            let finite_max = b
                .iter()
                .chain(&n)
                .map(|p| p.1)
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max);
            let stand_in = 2.0 * finite_max + 1.0;
            let sign = if opts.metric.higher_is_better() {
                1.0
            } else {
                -1.0
            };
            let good = |xs: &[(u64, f64)]| -> Vec<(u64, f64)> {
                xs.iter()
                    .map(|(s, v)| (*s, sign * if v.is_finite() { *v } else { stand_in }))
                    .collect()
            };
            let Some(t) = rank_test(&good(&n), &good(&b), Alternative::Less) else {
                continue;
            };
            let raw_vals = |xs: &[(u64, f64)]| xs.iter().map(|p| p.1).collect::<Vec<_>>();
            let (mb, mn) = (median(&raw_vals(&b)), median(&raw_vals(&n)));
            let worsening = match (mb, mn) {
                (Some(x), Some(y)) if x.is_finite() && y.is_finite() => Some(sign * (x - y) + 0.0),
                _ => None,
            };
            let min_p = if t.kind == crate::stats::TestKind::Wilcoxon {
                0.5f64.powi(b.len() as i32)
            } else {
                1.0 / binomial(b.len() + n.len(), b.len())
            };
            raw.push(GateLine {
                space: bt.space.clone(),
                label: br.label.clone(),
                n: (b.len(), n.len()),
                medians: (mb.filter(|v| v.is_finite()), mn.filter(|v| v.is_finite())),
                worsening,
                test: t.kind.name().to_string(),
                p: (t.p_value, t.p_value),
                regressed: false,
                min_p,
            });
        }
    }
    for nt in &new.spaces {
        for nr in &nt.rows {
            let known = base
                .spaces
                .iter()
                .any(|t| t.space == nt.space && t.rows.iter().any(|r| r.label == nr.label));
            if !known {
                report
                    .unmatched
                    .push(format!("{} / {} (only in NEW)", nt.space, nr.label));
            }
        }
    }
    let adjusted = holm(&raw.iter().map(|l| Some(l.p.0)).collect::<Vec<_>>());
    for (l, adj) in raw.iter_mut().zip(adjusted) {
        l.p.1 = adj.unwrap_or(1.0);
        // Never reaching a target the baseline reached is worse than any
        // tolerance in hours.
        let beyond = match l.worsening {
            Some(w) => w > opts.tolerance,
            None => l.medians.0.is_some() && l.medians.1.is_none(),
        };
        l.regressed = l.p.1 <= opts.alpha && beyond;
    }
    report.lines = raw;
    report
}
