//! A unit of a plan: one (space, strategy, seed) run, with its kind
//! resolved once.

use crate::experiment::StrategyConfig;
use nasarena_core::CostTable;
use nasarena_core::Seed;
use std::path::PathBuf;
use std::sync::Arc;

/// The cost tables of a one-shot search on one space, resolved once by the
/// planner.
#[derive(Clone, Debug)]
pub struct SearchCosts {
    /// What the search loss charges: the strategy's latency table or the
    /// space's MACs (`None` when the space's costs are not additive).
    pub loss: Option<CostTable>,
    /// The space's MACs, for the journal's accounting whatever the loss
    /// charges.
    pub macs: Option<CostTable>,
}

/// What kind of search a unit runs, resolved once by the planner.
#[derive(Clone, Debug)]
pub enum UnitKind {
    /// A black-box strategy: ask, evaluate, tell.
    BlackBox,
    /// A one-shot strategy training a supernet, with its cost tables.
    OneShot(Arc<SearchCosts>),
}

/// One (space, strategy, seed) run of an experiment.
#[derive(Clone, Debug)]
pub struct Unit {
    /// Position in the plan.
    pub index: usize,
    /// Index into `ExperimentFile::space`.
    pub space: usize,
    /// Index into `ExperimentFile::strategy`.
    pub strategy: usize,
    /// Repetition number.
    pub repeat: usize,
    /// The run's seed: shared by all strategies of one repetition, so
    /// their comparisons pair (same split, same evaluation seeds).
    pub seed: Seed,
    /// Where the run's journal goes.
    pub journal: PathBuf,
    /// The unit's strategy entry.
    pub config: StrategyConfig,
    /// Black-box or one-shot.
    pub kind: UnitKind,
}
