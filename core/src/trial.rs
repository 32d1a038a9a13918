//! What passes between a black-box strategy and the harness.

use crate::{Arch, Cost};
use serde::{Deserialize, Serialize};

/// A strategy's request to evaluate an architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// The architecture to evaluate.
    pub arch: Arch,
}

impl Proposal {
    /// A proposal for one architecture.
    pub fn new(arch: Arch) -> Self {
        Proposal { arch }
    }
}

/// Validation metrics of an evaluated architecture. Test metrics never
/// appear here: they are only measured by the final protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Validation accuracy in [0, 1] after the evaluator's schedule.
    pub val_accuracy: f64,
    /// Mean validation cross-entropy.
    pub val_loss: f64,
    /// Validation accuracy after each epoch of the schedule (may be empty
    /// for sources that only report the last epoch).
    pub val_accuracy_per_epoch: Vec<f64>,
    /// Multiply-accumulates of one forward pass, batch 1.
    pub macs: u64,
    /// Trainable parameters.
    pub params: u64,
}

/// The result of evaluating a proposal. A failed evaluation is data that a
/// strategy learns from, never an error that stops the search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Training finished and validation metrics were measured.
    Evaluated(Metrics),
    /// Training failed (NaN loss, divergence, out of memory, ...).
    Failed {
        /// What went wrong, in words.
        reason: String,
    },
}

impl Outcome {
    /// The validation accuracy, or `None` for a failure.
    pub fn val_accuracy(&self) -> Option<f64> {
        match self {
            Outcome::Evaluated(m) => Some(m.val_accuracy),
            Outcome::Failed { .. } => None,
        }
    }
}

/// A proposal together with its outcome and what it cost, as told to the
/// strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The trial number, counted from 0 within a run.
    pub trial: u64,
    /// The evaluated architecture (as proposed, not canonicalised).
    pub arch: Arch,
    /// Validation metrics or the failure.
    pub outcome: Outcome,
    /// What the evaluation cost.
    pub cost: Cost,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_outcome_is_data() {
        let failed = Outcome::Failed {
            reason: "loss became NaN at epoch 2".into(),
        };
        assert_eq!(failed.val_accuracy(), None);
        let json = serde_json::to_string(&failed).expect("json");
        assert_eq!(
            json,
            r#"{"status":"failed","reason":"loss became NaN at epoch 2"}"#
        );
        let back: Outcome = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, failed);
    }

    #[test]
    fn observation_round_trip() {
        let obs = Observation {
            trial: 4,
            arch: Arch::new(vec![1, 2]),
            outcome: Outcome::Evaluated(Metrics {
                val_accuracy: 0.875,
                val_loss: 0.4,
                val_accuracy_per_epoch: vec![0.5, 0.875],
                macs: 12_345,
                params: 678,
            }),
            cost: Cost {
                device_seconds: 1.5,
                evaluations: 1,
                ..Cost::default()
            },
        };
        let json = serde_json::to_string(&obs).expect("json");
        let back: Observation = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, obs);
        assert_eq!(back.outcome.val_accuracy(), Some(0.875));
    }
}
