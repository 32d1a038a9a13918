//! Progress events of a run, for whoever displays them. The harness only
//! emits events through a [`ProgressSink`]; drawing bars, printing log
//! lines or staying silent is the caller's business (the binary renders
//! them), so the library has no terminal logic. Events never reach a
//! journal: what a sink does cannot change a recorded result.

use nasarena_core::Budget;
use std::sync::Arc;

/// Which run an event belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitLabel {
    /// The unit's index in the plan (0-based).
    pub index: usize,
    /// How many units the plan has.
    pub total: usize,
    /// Space, strategy label and seed, e.g. `cell random seed 0`.
    pub name: String,
}

/// How a trial went, as far as progress display cares.
#[derive(Clone, Debug, PartialEq)]
pub enum TrialResult {
    /// Trained and scored: validation accuracy in [0, 1].
    Evaluated(f64),
    /// Recorded as a failure (NaN loss, divergence, ...).
    Failed(String),
}

/// One supernet epoch, summarised.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochSummary {
    /// The epoch just finished (1-based).
    pub epoch: usize,
    /// Epochs the budget affords in all.
    pub total: usize,
    /// Gumbel-Softmax temperature, when the strategy has one.
    pub tau: Option<f64>,
    /// Mean training loss of the supernet weights.
    pub loss: f64,
    /// Validation accuracy of the current argmax with shared weights.
    pub val_accuracy: f64,
    /// Mean entropy of the decisions' distributions.
    pub entropy: f64,
    /// MACs of the current argmax, in millions.
    pub argmax_mmacs: f64,
}

/// What happened. `budget` fields are the fraction of the run's search
/// budget spent so far (may slightly exceed 1 on time budgets).
#[derive(Clone, Debug, PartialEq)]
pub enum ProgressEvent {
    /// The run starts (or restarts on resume) with this budget.
    Started {
        /// The run's search budget.
        budget: Budget,
    },
    /// The run's journal holds a final record already; nothing to do.
    Skipped,
    /// The run continues after `done` recorded trials or epochs.
    Resumed {
        /// Trials or epochs already in the journal.
        done: u64,
        /// Fraction of the budget they spent.
        budget: f64,
    },
    /// A black-box evaluation was journaled.
    Trial {
        /// The trial's number (from 0).
        trial: u64,
        /// Its validation accuracy, or why it failed.
        result: TrialResult,
        /// Best validation accuracy so far.
        best: Option<f64>,
        /// Fraction of the budget spent.
        budget: f64,
        /// Device seconds of this evaluation.
        seconds: f64,
    },
    /// A supernet epoch was journaled.
    Epoch {
        /// What the epoch did.
        summary: EpochSummary,
        /// Fraction of the budget spent.
        budget: f64,
        /// Device seconds of the epoch.
        seconds: f64,
    },
    /// A one-shot search derived its architecture.
    Derived {
        /// The architecture chosen (genotype string).
        arch: String,
        /// Its validation accuracy with the shared weights.
        val_accuracy: f64,
        /// Architectures scored to choose it.
        candidates: usize,
    },
    /// The search is over; the final protocol retrains `arch` (or looks
    /// its result up in the table).
    Retraining {
        /// The architecture retrained (genotype string).
        arch: String,
        /// True when the final protocol is a table lookup, not training.
        looked_up: bool,
    },
    /// The final record was journaled.
    Finished {
        /// The recommended architecture (empty when none was found).
        arch: String,
        /// Its test accuracy after the final protocol.
        test_accuracy: Option<f64>,
    },
}

/// Receives the progress events of every run of a plan; with `--jobs`,
/// from several threads at once.
pub trait ProgressSink: Send + Sync + std::fmt::Debug {
    /// Called after the event's record (if any) is safely journaled.
    fn event(&self, unit: &UnitLabel, event: ProgressEvent);
}

/// A sink that ignores everything (`--quiet`, library callers, tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl ProgressSink for Silent {
    fn event(&self, _unit: &UnitLabel, _event: ProgressEvent) {}
}

/// The silent sink, shared.
pub fn silent() -> Arc<dyn ProgressSink> {
    Arc::new(Silent)
}
