//! Cost-to-target on a tabular benchmark: the normalised search cost
//! (device seconds over the calibration seconds of the machine that spent
//! them) until the architecture a run would return has a table test
//! accuracy within `gap` points of the table's best. It is the
//! fixed-target view of NAS-Bench-201's anytime comparison (Dong & Yang
//! 2020, Fig. 7: test accuracy of the incumbent over search time) and of
//! COCO's runtime-to-target (Hansen et al. 2021), and it compares families
//! whose costs were paid on different machines: replays are charged the
//! table's recorded seconds, supernets the seconds they measured.
//!
//! A run's incumbent is its best-validation architecture so far
//! (black-box) or its argmax after each epoch, then the architecture its
//! derivation chose (one-shot). A run reaches the target at the first
//! point its incumbent is good enough, even if a later incumbent is worse.
//! Over seeds, a run that never reaches it counts as infinitely costly, so
//! medians and quartiles stay order statistics of all seeds, and the count
//! of such seeds is reported next to them.

use crate::load::{IncumbentAt, RunData};
use std::collections::BTreeMap;
use std::fmt::Write;

/// What costs are counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CostAxis {
    /// Device seconds over calibration seconds.
    Normalised,
    /// The budget's unit (tables without recorded times).
    Budget,
}

impl CostAxis {
    fn of(&self, i: &IncumbentAt) -> f64 {
        match self {
            CostAxis::Normalised => i.normalised,
            CostAxis::Budget => i.budget,
        }
    }
}

/// Cost (on `axis`) at which the first incumbent with a test accuracy of
/// at least `target` percent appears; `None` when none does. `test_of`
/// gives an architecture's test accuracy in [0, 1] (the table's).
pub fn run_cost_to_target(
    incumbents: &[IncumbentAt],
    test_of: &dyn Fn(&str) -> Option<f64>,
    target: f64,
    axis: CostAxis,
) -> Option<f64> {
    incumbents
        .iter()
        .find(|i| test_of(&i.arch).is_some_and(|a| 100.0 * a >= target - 1e-9))
        .map(|i| axis.of(i))
}

/// Order statistics of the costs-to-target of one strategy's seeds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TargetStat {
    /// Seeds.
    pub runs: usize,
    /// Seeds that never reached the target.
    pub never: usize,
    /// Median (infinite when half the seeds or more never reached it).
    pub median: f64,
    /// First quartile.
    pub q1: f64,
    /// Third quartile.
    pub q3: f64,
}

/// Linear-interpolation quantile (type 7) of sorted values that may end in
/// infinities: interpolating towards an infinity is infinite.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    let (a, b) = (sorted[lo], sorted[hi]);
    if lo == hi || a == b {
        a
    } else if b.is_infinite() {
        f64::INFINITY
    } else {
        a + (h - lo as f64) * (b - a)
    }
}

impl TargetStat {
    /// The statistics of per-seed costs (`None`: never reached); `None`
    /// for no seeds.
    pub fn of(costs: &[Option<f64>]) -> Option<TargetStat> {
        if costs.is_empty() {
            return None;
        }
        let mut xs: Vec<f64> = costs.iter().map(|c| c.unwrap_or(f64::INFINITY)).collect();
        xs.sort_by(f64::total_cmp);
        Some(TargetStat {
            runs: xs.len(),
            never: costs.iter().filter(|c| c.is_none()).count(),
            median: quantile(&xs, 0.5),
            q1: quantile(&xs, 0.25),
            q3: quantile(&xs, 0.75),
        })
    }
}

/// One strategy's cost-to-target.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetRow {
    /// Strategy label.
    pub label: String,
    /// True for one-shot (supernet) searches.
    pub one_shot: bool,
    /// Over its seeds.
    pub stat: TargetStat,
}

/// Cost-to-target of every strategy on one space.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetTable {
    /// Space name and options.
    pub space: String,
    /// The table's best test accuracy, percent.
    pub best: f64,
    /// Points below the best that count as reaching it.
    pub gap: f64,
    /// What the costs are counted in, in words.
    pub unit: String,
    /// One row per strategy, by label.
    pub rows: Vec<TargetRow>,
}

impl TargetTable {
    /// The accuracy (percent) a run must reach.
    pub fn target(&self) -> f64 {
        self.best - self.gap
    }
}

/// The axis costs-to-target of `runs` are counted on, and its name in
/// words: normalised, or the budget's unit when no run records device time
/// (an imported table without times).
pub fn cost_axis(runs: &[&RunData]) -> (CostAxis, String) {
    let timed = runs
        .iter()
        .any(|r| r.incumbents.iter().any(|i| i.normalised > 0.0));
    match runs.first() {
        Some(r) if !timed => (
            CostAxis::Budget,
            format!(
                "search cost in {} (the table records no times)",
                crate::format::unit_name(r.header.budget.unit)
            ),
        ),
        _ => (
            CostAxis::Normalised,
            "normalised search cost (device seconds / calibration seconds of the machine that spent them: the table's build machine for replays, this machine for supernets)".to_string(),
        ),
    }
}

/// Cost-to-target of `runs` (one table's, any spaces) against the table's
/// best test accuracy `best` (percent), one table per space. Costs are
/// normalised, or in the budget's unit when no run records device time
/// (an imported table without times).
pub fn target_tables(
    runs: &[&RunData],
    test_of: &dyn Fn(&str) -> Option<f64>,
    best: f64,
    gap: f64,
) -> Vec<TargetTable> {
    let (axis, unit) = cost_axis(runs);
    type ByLabel = BTreeMap<String, (bool, Vec<Option<f64>>)>;
    let mut spaces: BTreeMap<String, ByLabel> = BTreeMap::new();
    for r in runs {
        let cost = run_cost_to_target(&r.incumbents, test_of, best - gap, axis);
        let row = spaces
            .entry(r.space_key())
            .or_default()
            .entry(r.header.label.clone())
            .or_default();
        row.0 |= r.one_shot;
        row.1.push(cost);
    }
    spaces
        .into_iter()
        .map(|(space, labels)| TargetTable {
            space,
            best,
            gap,
            unit: unit.clone(),
            rows: labels
                .into_iter()
                .filter_map(|(label, (one_shot, costs))| {
                    Some(TargetRow {
                        label,
                        one_shot,
                        stat: TargetStat::of(&costs)?,
                    })
                })
                .collect(),
        })
        .collect()
}

/// A cost as tables show it: one decimal, or `never` for an infinite one.
pub(crate) fn cost(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "never".into()
    }
}

/// The tables as Markdown, with the ratio of each median to the smallest.
pub fn markdown(tables: &[TargetTable]) -> String {
    let mut o = String::new();
    for t in tables {
        let _ = writeln!(o, "### Cost-to-target: {}\n", t.space);
        let _ = writeln!(
            o,
            "| strategy | family | seeds | median | IQR | × fastest | never reached |"
        );
        let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---:|");
        let fastest = t
            .rows
            .iter()
            .map(|r| r.stat.median)
            .filter(|m| m.is_finite() && *m > 0.0)
            .fold(f64::INFINITY, f64::min);
        for r in &t.rows {
            let s = r.stat;
            let ratio = if s.median.is_finite() && fastest.is_finite() {
                format!("{:.1}", s.median / fastest)
            } else {
                "–".into()
            };
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | [{}, {}] | {} | {} |",
                r.label,
                if r.one_shot { "one-shot" } else { "black-box" },
                s.runs,
                cost(s.median),
                cost(s.q1),
                cost(s.q3),
                ratio,
                s.never
            );
        }
        let _ = writeln!(
            o,
            "\nCost-to-target: {} until the incumbent's table test accuracy is within {} points of the table's best ({:.2}%, so at least {:.2}%). Median and interquartile range over seeds; a seed that never reaches the target counts as infinitely costly (`never`).\n",
            t.unit,
            t.gap,
            t.best,
            t.target()
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(points: &[(f64, &str)]) -> Vec<IncumbentAt> {
        points
            .iter()
            .map(|&(normalised, arch)| IncumbentAt {
                normalised,
                budget: 10.0 * normalised,
                arch: arch.to_string(),
            })
            .collect()
    }

    fn test_of(arch: &str) -> Option<f64> {
        match arch {
            "a" => Some(0.40),
            "b" => Some(0.455),
            "c" => Some(0.46),
            _ => None,
        }
    }

    #[test]
    fn first_incumbent_within_the_gap_decides() {
        // Best 46%, gap 0.5: target 45.5; `b` reaches it exactly.
        let n = CostAxis::Normalised;
        let c = curve(&[(1.0, "a"), (3.0, "b"), (4.0, "a"), (9.0, "c")]);
        assert_eq!(run_cost_to_target(&c, &test_of, 45.5, n), Some(3.0));
        assert_eq!(run_cost_to_target(&c, &test_of, 45.9, n), Some(9.0));
        let b = CostAxis::Budget;
        assert_eq!(run_cost_to_target(&c, &test_of, 45.5, b), Some(30.0));
        // An architecture the table lacks never counts.
        let lost = curve(&[(1.0, "z"), (2.0, "a")]);
        assert_eq!(run_cost_to_target(&lost, &test_of, 45.5, n), None);
        assert_eq!(run_cost_to_target(&[], &test_of, 10.0, n), None);
    }

    #[test]
    fn median_and_iqr_count_never_as_infinite() {
        // 1, 2, 3, 4, 5: median 3, quartiles 2 and 4 (type 7).
        let all: Vec<Option<f64>> = (1..=5).map(|x| Some(f64::from(x))).collect();
        let s = TargetStat::of(&all).expect("stat");
        assert_eq!(
            (s.runs, s.never, s.q1, s.median, s.q3),
            (5, 0, 2.0, 3.0, 4.0)
        );
        // 1, 3, never, never: median between 3 and never is never; the
        // first quartile interpolates 1 and 3 at 0.75.
        let some = [Some(3.0), None, Some(1.0), None];
        let s = TargetStat::of(&some).expect("stat");
        assert_eq!((s.runs, s.never), (4, 2));
        assert_eq!(s.q1, 2.5);
        assert!(s.median.is_infinite() && s.q3.is_infinite());
        assert_eq!(TargetStat::of(&[]), None);
        let none = TargetStat::of(&[None, None]).expect("stat");
        assert!(none.median.is_infinite() && none.q1.is_infinite());
    }

    #[test]
    fn markdown_shows_never_and_ratios() {
        let row = |label: &str, one_shot, costs: &[Option<f64>]| TargetRow {
            label: label.into(),
            one_shot,
            stat: TargetStat::of(costs).expect("stat"),
        };
        let t = TargetTable {
            space: "cell".into(),
            best: 46.0,
            gap: 0.5,
            unit: "normalised search cost".into(),
            rows: vec![
                row("gumbel/gdas", true, &[Some(2.0), Some(4.0), Some(6.0)]),
                row("random", false, &[Some(40.0), None, Some(20.0)]),
                row("ga", false, &[None, None, Some(1.0)]),
            ],
        };
        let md = markdown(&[t]);
        assert!(
            md.contains("| gumbel/gdas | one-shot | 3 | 4.0 | [3.0, 5.0] | 1.0 | 0 |"),
            "{md}"
        );
        assert!(
            md.contains("| random | black-box | 3 | 40.0 | [30.0, never] | 10.0 | 1 |"),
            "{md}"
        );
        assert!(
            md.contains("| ga | black-box | 3 | never | [never, never] | – | 2 |"),
            "{md}"
        );
        assert!(md.contains("at least 45.50%"), "{md}");
    }
}
