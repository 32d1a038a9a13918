//! The family comparison of runs scored on one tabular benchmark: what
//! each family of search found (accuracy, MACs, the accuracy-vs-MACs
//! Pareto front, the shape of its cells) and what reaching the target cost
//! it, with the papers' claims stated next to the numbers (`markdown`).
//!
//! Families, as nasarena compares them: random search; evolutionary search
//! (regularized evolution, Real et al. 2019, and the classic GA); an RL
//! controller (REINFORCE, Zoph & Le 2017); and one-shot search on a
//! weight-sharing supernet (FBNet, Wu et al. 2019; GDAS, Dong & Yang 2019;
//! SqueezeNAS, Shaw et al. 2019; DARTS, Liu et al. 2019, as the relaxation
//! baseline). Scoring every family on one table is NAS-Bench-201's protocol
//! (Dong & Yang 2020).

mod markdown;
#[cfg(test)]
mod tests;

pub use markdown::markdown;

use crate::cost_target::{cost_axis, run_cost_to_target, TargetStat};
use crate::load::RunData;
use crate::stats::Describe;
use std::collections::{BTreeMap, BTreeSet};

/// A family of search strategies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// Random search.
    Random,
    /// Regularized evolution and the GA.
    Evolutionary,
    /// The REINFORCE controller.
    Reinforcement,
    /// Supernet (one-shot) searches.
    OneShot,
    /// Any other black-box strategy, by name.
    Other(String),
}

impl Family {
    /// The family of a run of `strategy` (its registered name).
    pub fn of(strategy: &str, one_shot: bool) -> Family {
        if one_shot {
            return Family::OneShot;
        }
        match strategy {
            "random" => Family::Random,
            "evolution" | "ga" => Family::Evolutionary,
            "reinforce" => Family::Reinforcement,
            other => Family::Other(other.to_string()),
        }
    }

    /// The family's name in tables.
    pub fn name(&self) -> &str {
        match self {
            Family::Random => "random search",
            Family::Evolutionary => "evolutionary",
            Family::Reinforcement => "RL controller",
            Family::OneShot => "one-shot supernet",
            Family::Other(name) => name,
        }
    }
}

/// What one finished run recommended and what reaching the target cost it.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Strategy label (a row of the tables).
    pub label: String,
    /// The strategy's preset (`darts`, `nb201`, ...; empty for none).
    pub preset: String,
    /// Its family.
    pub family: Family,
    /// Genotype of the recommended architecture.
    pub arch: String,
    /// Its test accuracy in percent (the table's); `None` when the final
    /// protocol failed.
    pub test: Option<f64>,
    /// Its test accuracy in percent as the table's mean over its seeds
    /// (what the architecture is worth, whichever seed the run drew);
    /// `None` when the table lacks it.
    pub expected: Option<f64>,
    /// Its MACs, batch 1.
    pub macs: u64,
    /// Search cost until the incumbent reached the target; `None`: never.
    pub cost_to_target: Option<f64>,
}

impl Outcome {
    /// The outcome of `run`; `None` when it has not finished.
    fn of(
        run: &RunData,
        test_of: &dyn Fn(&str) -> Option<f64>,
        target: f64,
        axis: crate::cost_target::CostAxis,
    ) -> Option<Outcome> {
        let f = run.final_record.as_ref()?;
        Some(Outcome {
            label: run.header.label.clone(),
            preset: run.header.preset.clone(),
            family: Family::of(&run.header.strategy, run.one_shot),
            arch: f.arch.clone(),
            test: f.test_accuracy.map(|a| 100.0 * a),
            expected: test_of(&f.arch).map(|a| 100.0 * a),
            macs: f.macs,
            cost_to_target: run_cost_to_target(&run.incumbents, test_of, target, axis),
        })
    }
}

/// Every finished run on one space of one table.
#[derive(Clone, Debug, PartialEq)]
pub struct SpaceFamilies {
    /// Space name and options.
    pub space: String,
    /// The table's best test accuracy, percent.
    pub best: f64,
    /// Points below the best that count as reaching it.
    pub gap: f64,
    /// What costs are counted in, in words.
    pub unit: String,
    /// One per finished run.
    pub outcomes: Vec<Outcome>,
}

/// The outcomes of `runs` (one table's, any spaces) against the table's
/// best test accuracy `best` (percent), one set per space.
pub fn family_reports(
    runs: &[&RunData],
    test_of: &dyn Fn(&str) -> Option<f64>,
    best: f64,
    gap: f64,
) -> Vec<SpaceFamilies> {
    let (axis, unit) = cost_axis(runs);
    let mut spaces: BTreeMap<String, Vec<Outcome>> = BTreeMap::new();
    for r in runs {
        if let Some(o) = Outcome::of(r, test_of, best - gap, axis) {
            spaces.entry(r.space_key()).or_default().push(o);
        }
    }
    spaces
        .into_iter()
        .map(|(space, outcomes)| SpaceFamilies {
            space,
            best,
            gap,
            unit: unit.clone(),
            outcomes,
        })
        .collect()
}

/// One strategy's seeds, summarised.
#[derive(Clone, Debug, PartialEq)]
pub struct StrategyStat {
    /// Strategy label.
    pub label: String,
    /// Its family.
    pub family: Family,
    /// Test accuracy (percent) over the seeds whose final protocol worked.
    pub test: Option<Describe>,
    /// Mean MACs of the recommended architectures, in millions.
    pub mmacs: f64,
    /// Cost-to-target over all its seeds.
    pub cost: TargetStat,
    /// The shape of its recommended cells (`None`: not cell genotypes).
    pub cells: Option<CellShapes>,
}

/// One family's seeds, summarised.
#[derive(Clone, Debug, PartialEq)]
pub struct FamilyStat {
    /// The family.
    pub family: Family,
    /// Its strategies' labels.
    pub strategies: Vec<String>,
    /// Seeds of all its strategies.
    pub seeds: usize,
    /// Test accuracy (percent) over those seeds.
    pub test: Option<Describe>,
    /// Best test accuracy of any seed, percent.
    pub best_test: Option<f64>,
    /// Mean MACs of the recommended architectures, in millions.
    pub mmacs: f64,
    /// The family's strategy with the smallest median cost-to-target.
    pub fastest: StrategyStat,
}

fn tests_of<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> Vec<f64> {
    outcomes.filter_map(|o| o.test).collect()
}

fn mmacs<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> f64 {
    let xs: Vec<f64> = outcomes.map(|o| o.macs as f64 / 1e6).collect();
    Describe::of(&xs).map_or(f64::NAN, |d| d.mean)
}

impl SpaceFamilies {
    /// One row per strategy label, in label order.
    pub fn strategies(&self) -> Vec<StrategyStat> {
        let mut by_label: BTreeMap<&str, Vec<&Outcome>> = BTreeMap::new();
        for o in &self.outcomes {
            by_label.entry(o.label.as_str()).or_default().push(o);
        }
        by_label
            .into_iter()
            .filter_map(|(label, runs)| {
                let costs: Vec<Option<f64>> = runs.iter().map(|o| o.cost_to_target).collect();
                Some(StrategyStat {
                    label: label.to_string(),
                    family: runs[0].family.clone(),
                    test: Describe::of(&tests_of(runs.iter().copied())),
                    mmacs: mmacs(runs.iter().copied()),
                    cost: TargetStat::of(&costs)?,
                    cells: CellShapes::of(runs.iter().map(|o| o.arch.as_str())),
                })
            })
            .collect()
    }

    /// One row per family present, in family order.
    pub fn families(&self) -> Vec<FamilyStat> {
        let strategies = self.strategies();
        let families: BTreeSet<&Family> = strategies.iter().map(|s| &s.family).collect();
        families
            .into_iter()
            .filter_map(|family| {
                let members: Vec<&StrategyStat> =
                    strategies.iter().filter(|s| &s.family == family).collect();
                let fastest = members.iter().copied().min_by(|a, b| {
                    a.cost
                        .median
                        .total_cmp(&b.cost.median)
                        .then(a.cost.never.cmp(&b.cost.never))
                })?;
                let outcomes = || self.outcomes.iter().filter(|o| &o.family == family);
                let tests = tests_of(outcomes());
                Some(FamilyStat {
                    family: family.clone(),
                    strategies: members.iter().map(|s| s.label.clone()).collect(),
                    seeds: outcomes().count(),
                    test: Describe::of(&tests),
                    best_test: tests.iter().copied().reduce(f64::max),
                    mmacs: mmacs(outcomes()),
                    fastest: fastest.clone(),
                })
            })
            .collect()
    }

    /// The accuracy-vs-MACs Pareto front of the architectures `family`
    /// recommended, by their expected test accuracy: fewest MACs first.
    pub fn pareto_front(&self, family: &Family) -> Vec<FrontPoint> {
        let mut by_arch: BTreeMap<&str, FrontPoint> = BTreeMap::new();
        for o in self.outcomes.iter().filter(|o| &o.family == family) {
            let Some(test) = o.expected else { continue };
            let point = by_arch
                .entry(o.arch.as_str())
                .or_insert_with(|| FrontPoint {
                    macs: o.macs,
                    test,
                    found_by: BTreeMap::new(),
                });
            *point.found_by.entry(o.label.clone()).or_default() += 1;
        }
        let points: Vec<FrontPoint> = by_arch.into_values().collect();
        let coordinates: Vec<(u64, f64)> = points.iter().map(|p| (p.macs, p.test)).collect();
        pareto_front(&coordinates)
            .into_iter()
            .map(|i| points[i].clone())
            .collect()
    }
}

/// An architecture on a family's Pareto front.
#[derive(Clone, Debug, PartialEq)]
pub struct FrontPoint {
    /// MACs, batch 1.
    pub macs: u64,
    /// Expected test accuracy (the table's mean over its seeds), percent.
    pub test: f64,
    /// Strategy labels that recommended it, and how many of their seeds.
    pub found_by: BTreeMap<String, usize>,
}

/// Indices of the points (MACs, accuracy) that no other point dominates
/// (as few or fewer MACs and as high or higher accuracy, one of them
/// strictly), fewest MACs first; of equal points only the first.
pub fn pareto_front(points: &[(u64, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        points[a]
            .0
            .cmp(&points[b].0)
            .then(points[b].1.total_cmp(&points[a].1))
    });
    let mut front = Vec::new();
    let mut best = f64::NEG_INFINITY;
    for i in order {
        if points[i].1 > best {
            best = points[i].1;
            front.push(i);
        }
    }
    front
}

/// Operations with no parameters in NAS-Bench-201's cell vocabulary: a
/// cell of these only is what DARTS collapses to (Dong & Yang 2020).
pub const PARAMETER_FREE_OPS: [&str; 4] = ["none", "skip_connect", "avg_pool_3x3", "max_pool_3x3"];

/// The edge operations of a NAS-Bench-201 cell genotype
/// (`|op~0|+|op~0|op~1|+...`); `None` when `arch` is not one.
pub fn cell_ops(arch: &str) -> Option<Vec<&str>> {
    let mut ops = Vec::new();
    for node in arch.split('+') {
        for edge in node.split('|').filter(|e| !e.is_empty()) {
            let (op, input) = edge.split_once('~')?;
            input.parse::<usize>().ok()?;
            ops.push(op);
        }
    }
    (!ops.is_empty()).then_some(ops)
}

/// How the recommended cells of some runs are made up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellShapes {
    /// Cells.
    pub cells: usize,
    /// Cells of parameter-free operations only.
    pub parameter_free: usize,
    /// Edges of all cells.
    pub edges: usize,
    /// Edges that are `skip_connect`.
    pub skips: usize,
    /// Edges that are `none`.
    pub nones: usize,
}

impl CellShapes {
    /// The shapes of `archs`; `None` unless every one is a cell genotype.
    pub fn of<'a>(archs: impl Iterator<Item = &'a str>) -> Option<CellShapes> {
        let mut s = CellShapes {
            cells: 0,
            parameter_free: 0,
            edges: 0,
            skips: 0,
            nones: 0,
        };
        for arch in archs {
            let ops = cell_ops(arch)?;
            s.cells += 1;
            s.parameter_free += usize::from(ops.iter().all(|op| PARAMETER_FREE_OPS.contains(op)));
            s.edges += ops.len();
            s.skips += ops.iter().filter(|op| **op == "skip_connect").count();
            s.nones += ops.iter().filter(|op| **op == "none").count();
        }
        (s.cells > 0).then_some(s)
    }
}
