//! What a black-box evaluation is: training live with the trainer, or a
//! lookup in a tabular benchmark (NAS-Bench-201, Dong & Yang 2020: "query
//! the validation accuracy at epoch e and the time it took"). The search
//! loops call one [`Evaluator`] and cannot tell the difference: both return
//! the outcome the strategy is told and the cost the meter is charged.
//! Evaluators are built from a repetition's splits ([`LiveEvaluator`]) or
//! from a table ([`TableEvaluator`]), never from a plan, so a loop can be
//! tested with a double.

#[cfg(test)]
pub(crate) mod double;
mod live;
mod lookup;

pub use live::LiveEvaluator;
pub use lookup::TableEvaluator;

use crate::journal::JournalSync;
use crate::trainer::Schedule;
use crate::Result;
use nasarena_core::{Arch, Cost, Outcome, Seed};
use nasarena_datasets::Splits;
use nasarena_results::DatasetInfo;
use nasarena_spaces::Realize;

/// What a training tells the strategy: its failure, or the validation
/// score and loss of its last epoch (`per_epoch`: score and loss after
/// every epoch) with the architecture's MACs and parameters.
pub(crate) fn outcome(
    failure: Option<&str>,
    per_epoch: &[(f64, f64)],
    macs: u64,
    params: u64,
) -> Outcome {
    match (failure, per_epoch.last()) {
        (Some(reason), _) => Outcome::Failed {
            reason: reason.to_string(),
        },
        (None, None) => Outcome::Failed {
            reason: "no epoch finished".into(),
        },
        (None, Some(&(score, loss))) => Outcome::Evaluated(nasarena_core::Metrics {
            val_accuracy: score,
            val_loss: loss,
            val_accuracy_per_epoch: per_epoch.iter().map(|&(s, _)| s).collect(),
            macs,
            params,
        }),
    }
}

/// The result of the final protocol.
#[derive(Clone, Debug, PartialEq)]
pub struct FinalTest {
    /// Test accuracy, `None` when training failed.
    pub test_accuracy: Option<f64>,
    /// Why training failed.
    pub failure: Option<String>,
    /// What the final training cost (recorded cost for a table).
    pub cost: Cost,
    /// The trained network, when it was trained here and its space can
    /// describe it (not for a table lookup or a failed training).
    pub network: Option<TrainedNetwork>,
}

/// A network the final protocol trained: what is saved next to the
/// journal.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainedNetwork {
    /// Its description, holding the trained tensors.
    pub graph: nasarena_spaces::Graph,
    /// The input normalisation it was trained with.
    pub norm: nasarena_datasets::Normalization,
}

/// How a run's evaluations are made and what the journal says about them.
pub trait Evaluator: std::fmt::Debug {
    /// Dataset provenance for the journal header.
    fn dataset_info(&self, name: &str) -> DatasetInfo;

    /// How costs are measured, for the journal header.
    fn cost_note(&self) -> String;

    /// Journal durability of this run.
    fn journal_sync(&self) -> JournalSync;

    /// Training and validation samples per epoch.
    fn samples_per_epoch(&self) -> (u64, u64);

    /// Evaluates `arch` with `schedule` (its epochs are the fidelity).
    fn evaluate(
        &self,
        space: &dyn Realize,
        arch: &Arch,
        schedule: &Schedule,
        seed: Seed,
    ) -> Result<(Outcome, Cost)>;

    /// The shared final protocol: retrain `arch` and test it, or look its
    /// test accuracy up (no retraining, as NAS-Bench-201 reports).
    fn final_test(
        &self,
        space: &dyn Realize,
        arch: &Arch,
        schedule: &Schedule,
        seed: Seed,
    ) -> Result<FinalTest>;

    /// Whether [`Evaluator::final_test`] trains the network (false where
    /// it looks the result up), so progress lines say what happens.
    fn final_test_retrains(&self) -> bool {
        true
    }

    /// The repetition's images, when this evaluator trains on them (a
    /// one-shot search trains its supernet on the same splits).
    fn splits(&self) -> Option<&Splits> {
        None
    }

    /// The segmentation scenes, when this evaluator trains on them (a
    /// one-shot search of a segmentation space trains its supernet there).
    fn scenes(&self) -> Option<&crate::segmentation::data::SceneSplits> {
        None
    }
}
