//! The state a one-shot search works on, shared by the epoch planning
//! ([`super::epochs`]) and the epoch loop ([`super::driver`]).

use super::search::{SearchData, SupernetTrainer};
use crate::journal::JournalWriter;
use crate::meter::Meter;
use crate::progress::{ProgressSink, UnitLabel};
use crate::stop::StopFlag;
use candle_nn::VarMap;
use nasarena_core::{BudgetUnit, OneShotStrategy, Seed};
use nasarena_spaces::Realize;
use std::path::Path;

/// What a search trains and charges: enough to size the run in epochs
/// before its journal exists, and to run its epochs after.
pub struct SearchCore<'a, 'b> {
    /// The space searched.
    pub space: &'a dyn Realize,
    /// The one-shot strategy (architecture parameters).
    pub strategy: &'a mut dyn OneShotStrategy,
    /// The supernet and its weight optimiser.
    pub trainer: &'a mut SupernetTrainer<'b>,
    /// Weight, architecture and validation data.
    pub data: &'a SearchData<'a>,
    /// What was charged against the budget.
    pub meter: &'a mut Meter,
    /// The unit's seed.
    pub seed: Seed,
}

impl SearchCore<'_, '_> {
    /// The unit the budget is counted in.
    pub fn unit(&self) -> BudgetUnit {
        self.meter.progress().budget.unit
    }
}

/// Everything a search touches: its core, the journal and checkpoints,
/// and what it reports to.
pub struct Search<'a, 'b, 'c> {
    /// The supernet, strategy, data and meter.
    pub core: &'c mut SearchCore<'a, 'b>,
    /// The unit's journal.
    pub writer: &'c mut JournalWriter,
    /// The supernet's variables (for checkpoints).
    pub varmap: &'c VarMap,
    /// The journal's path (checkpoints go next to it).
    pub journal: &'c Path,
    /// The unit's name in progress events.
    pub label: &'c UnitLabel,
    /// Receives a progress event per epoch.
    pub progress: &'c dyn ProgressSink,
    /// Raised to stop after the current record.
    pub stop: &'c StopFlag,
}
