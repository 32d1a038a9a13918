//! A test double for the search loops: a deterministic score per
//! architecture, a fixed cost per evaluation in every unit, and a count of
//! the evaluations made, so a loop's budget rule can be checked without
//! training anything.

use super::{Evaluator, FinalTest};
use crate::journal::JournalSync;
use crate::trainer::Schedule;
use crate::Result;
use nasarena_core::{Arch, Cost, Metrics, Outcome, Seed};
use nasarena_results::DatasetInfo;
use nasarena_spaces::Realize;
use std::cell::Cell;

/// Scores architectures by a fixed function of their choices and charges
/// `seconds`, `train` and `val` samples per epoch, and the space's MACs.
#[derive(Debug)]
pub(crate) struct CountingEvaluator {
    /// Device seconds charged per evaluation.
    pub seconds: f64,
    /// Training samples per epoch.
    pub train: u64,
    /// Validation samples per epoch.
    pub val: u64,
    /// Evaluations made so far.
    pub calls: Cell<u64>,
}

impl CountingEvaluator {
    pub(crate) fn new(seconds: f64, train: u64, val: u64) -> Self {
        CountingEvaluator {
            seconds,
            train,
            val,
            calls: Cell::new(0),
        }
    }

    /// A score in [0.1, 0.9) that differs between most architectures.
    fn score(arch: &Arch) -> f64 {
        let h = arch.choices().iter().fold(17u64, |h, &c| {
            h.wrapping_mul(31).wrapping_add(u64::from(c) + 1)
        });
        0.1 + 0.8 * (h % 997) as f64 / 997.0
    }

    fn cost(&self, space: &dyn Realize, arch: &Arch, epochs: usize) -> Result<Cost> {
        let macs = space.cost(arch)?.macs;
        let train_samples = self.train * epochs as u64;
        let eval_samples = self.val * epochs as u64;
        Ok(Cost {
            device_seconds: self.seconds,
            train_samples,
            eval_samples,
            macs: macs.saturating_mul(train_samples + eval_samples),
            evaluations: 1,
        })
    }
}

impl Evaluator for CountingEvaluator {
    fn dataset_info(&self, name: &str) -> DatasetInfo {
        DatasetInfo {
            name: name.to_string(),
            checksum: "double".into(),
            train: self.train as usize,
            val: self.val as usize,
            test: 0,
            metric: nasarena_results::ScoreMetric::Accuracy,
        }
    }

    fn cost_note(&self) -> String {
        "test double".into()
    }

    fn journal_sync(&self) -> JournalSync {
        JournalSync::PerRecord
    }

    fn samples_per_epoch(&self) -> (u64, u64) {
        (self.train, self.val)
    }

    fn evaluate(
        &self,
        space: &dyn Realize,
        arch: &Arch,
        schedule: &Schedule,
        _seed: Seed,
    ) -> Result<(Outcome, Cost)> {
        self.calls.set(self.calls.get() + 1);
        let report = space.cost(arch)?;
        let accuracy = Self::score(arch);
        let outcome = Outcome::Evaluated(Metrics {
            val_accuracy: accuracy,
            val_loss: 1.0 - accuracy,
            val_accuracy_per_epoch: vec![accuracy; schedule.epochs],
            macs: report.macs,
            params: report.params,
        });
        Ok((outcome, self.cost(space, arch, schedule.epochs)?))
    }

    fn final_test(
        &self,
        space: &dyn Realize,
        arch: &Arch,
        schedule: &Schedule,
        _seed: Seed,
    ) -> Result<FinalTest> {
        Ok(FinalTest {
            test_accuracy: Some(Self::score(arch)),
            failure: None,
            cost: self.cost(space, arch, schedule.epochs)?,
            network: None,
        })
    }
}
