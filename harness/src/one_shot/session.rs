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

/// Everything a search touches.
pub struct Search<'a, 'b> {
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
    /// The unit's journal.
    pub writer: &'a mut JournalWriter,
    /// The supernet's variables (for checkpoints).
    pub varmap: &'a VarMap,
    /// The journal's path (checkpoints go next to it).
    pub journal: &'a Path,
    /// The unit's seed.
    pub seed: Seed,
    /// The unit's name in progress events.
    pub label: &'a UnitLabel,
    /// Receives a progress event per epoch.
    pub progress: &'a dyn ProgressSink,
    /// Raised to stop after the current record.
    pub stop: &'a StopFlag,
}

impl Search<'_, '_> {
    /// The unit the budget is counted in.
    pub fn unit(&self) -> BudgetUnit {
        self.meter.progress().budget.unit
    }
}
