//! Live evaluation: every architecture is trained with the trainer on the
//! repetition's splits, its device time measured after a synchronisation.

use super::{Evaluator, FinalTest, TrainedNetwork};
use crate::journal::JournalSync;
use crate::trainer::{train_and_evaluate, train_final, Schedule, TrainReport};
use crate::Result;
use candle_core::Device;
use nasarena_core::{Arch, Cost, Outcome, Seed};
use nasarena_datasets::{Dataset, Splits};
use nasarena_results::DatasetInfo;
use nasarena_spaces::Realize;

/// Trains with the trainer on one repetition's data.
#[derive(Debug)]
pub struct LiveEvaluator<'a> {
    data: Splits,
    device: &'a Device,
}

impl<'a> LiveEvaluator<'a> {
    /// Evaluates on `data` (a repetition's split) on `device`.
    pub fn new(data: Splits, device: &'a Device) -> Self {
        LiveEvaluator { data, device }
    }
}

fn outcome_of(report: &TrainReport, macs: u64, params: u64) -> Outcome {
    let per_epoch: Vec<(f64, f64)> = report
        .epochs
        .iter()
        .map(|e| (e.val_accuracy, e.val_loss))
        .collect();
    super::outcome(report.failure.as_deref(), &per_epoch, macs, params)
}

impl Evaluator for LiveEvaluator<'_> {
    fn dataset_info(&self, name: &str) -> DatasetInfo {
        DatasetInfo {
            name: name.to_string(),
            checksum: self.data.checksum().to_string(),
            train: self.data.train.len(),
            val: self.data.val.len(),
            test: self.data.test.len(),
            metric: nasarena_results::ScoreMetric::Accuracy,
        }
    }

    fn cost_note(&self) -> String {
        "device time measured on the host after a device synchronisation".into()
    }

    fn journal_sync(&self) -> JournalSync {
        JournalSync::PerRecord
    }

    fn samples_per_epoch(&self) -> (u64, u64) {
        (self.data.train.len() as u64, self.data.val.len() as u64)
    }

    fn evaluate(
        &self,
        space: &dyn Realize,
        arch: &Arch,
        schedule: &Schedule,
        seed: Seed,
    ) -> Result<(Outcome, Cost)> {
        let cost_report = space.cost(arch)?;
        let report =
            train_and_evaluate(space, arch, &self.data, schedule, seed, self.device, false)?;
        let mut cost = report.cost;
        cost.evaluations = 1;
        Ok((
            outcome_of(&report, cost_report.macs, cost_report.params),
            cost,
        ))
    }

    fn final_test(
        &self,
        space: &dyn Realize,
        arch: &Arch,
        schedule: &Schedule,
        seed: Seed,
    ) -> Result<FinalTest> {
        let (report, graph) = train_final(space, arch, &self.data, schedule, seed, self.device)?;
        let trained = report.failure.is_none() && report.test.is_some();
        Ok(FinalTest {
            test_accuracy: report.test.map(|t| t.accuracy),
            failure: report.failure,
            cost: report.cost,
            network: graph.filter(|_| trained).map(|graph| TrainedNetwork {
                graph,
                norm: self.data.norm.clone(),
            }),
        })
    }

    fn splits(&self) -> Option<&Splits> {
        Some(&self.data)
    }
}
