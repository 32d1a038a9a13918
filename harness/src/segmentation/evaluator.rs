//! Black-box evaluation for segmentation: every architecture a strategy
//! proposes is built with its decoder and trained on the scenes
//! ([`super::train`]); its score is the validation mean IoU after the
//! evaluator's schedule (what SqueezeNAS reports for Cityscapes), carried
//! in the journal's accuracy fields, and the final protocol's is the test
//! mIoU. Device time is measured after a synchronisation, as the
//! classification evaluator does.

use super::data::SceneSplits;
use super::train::{test_scores, train_epochs, SegTraining};
use crate::evaluation::{Evaluator, FinalTest};
use crate::journal::JournalSync;
use crate::trainer::Schedule;
use crate::Result;
use candle_core::Device;
use nasarena_core::{Arch, Cost, Outcome, Seed};
use nasarena_results::DatasetInfo;
use nasarena_spaces::{Realize, SeededInit};
use std::time::Instant;

/// Trains segmentation networks on one experiment's scenes.
#[derive(Debug)]
pub struct SegEvaluator<'a> {
    data: &'a SceneSplits,
    checksum: String,
    device: &'a Device,
}

impl<'a> SegEvaluator<'a> {
    /// Evaluates on `data` on `device`.
    pub fn new(data: &'a SceneSplits, device: &'a Device) -> Self {
        SegEvaluator {
            checksum: data.checksum(),
            data,
            device,
        }
    }

    /// Builds `arch` with seeded weights and trains it with `schedule`;
    /// the network and the training record.
    fn train(
        &self,
        space: &dyn Realize,
        arch: &Arch,
        schedule: &Schedule,
        seed: Seed,
    ) -> Result<(Box<dyn nasarena_spaces::Network>, SegTraining)> {
        let varmap = candle_nn::VarMap::new();
        let vb = SeededInit::var_builder(&varmap, seed.derive("init", 0), self.device);
        let net = space.build(arch, vb)?;
        let trained = train_epochs(
            net.as_ref(),
            &varmap,
            self.data,
            schedule,
            seed,
            self.device,
            |_, _| {},
        )?;
        Ok((net, trained))
    }
}

/// The cost of a training, MACs counted as the classification trainer
/// counts them (one forward pass per sample seen).
fn cost_of(trained: &SegTraining, macs: u64, seconds: f64) -> Cost {
    Cost {
        device_seconds: seconds,
        train_samples: trained.train_samples,
        eval_samples: trained.eval_samples,
        macs: macs.saturating_mul(trained.train_samples + trained.eval_samples),
        evaluations: 0,
    }
}

impl Evaluator for SegEvaluator<'_> {
    fn dataset_info(&self, name: &str) -> DatasetInfo {
        DatasetInfo {
            name: name.to_string(),
            checksum: self.checksum.clone(),
            train: self.data.train.len(),
            val: self.data.val.len(),
            test: self.data.test.len(),
            metric: nasarena_results::ScoreMetric::MeanIou,
        }
    }

    fn cost_note(&self) -> String {
        "device time measured on the host after a device synchronisation; accuracies are mean IoU"
            .into()
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
        let report = space.cost(arch)?;
        let started = Instant::now();
        let (_, trained) = self.train(space, arch, schedule, seed)?;
        self.device.synchronize()?;
        let mut cost = cost_of(&trained, report.macs, started.elapsed().as_secs_f64());
        cost.evaluations = 1;
        let per_epoch: Vec<(f64, f64)> = trained
            .epochs
            .iter()
            .map(|e| (e.val.miou, e.val_loss))
            .collect();
        let failure = trained.failure.as_deref();
        let outcome = crate::evaluation::outcome(failure, &per_epoch, report.macs, report.params);
        Ok((outcome, cost))
    }

    fn final_test(
        &self,
        space: &dyn Realize,
        arch: &Arch,
        schedule: &Schedule,
        seed: Seed,
    ) -> Result<FinalTest> {
        let macs = space.cost(arch)?.macs;
        let started = Instant::now();
        let (net, trained) = self.train(space, arch, schedule, seed)?;
        self.device.synchronize()?;
        let cost = cost_of(&trained, macs, started.elapsed().as_secs_f64());
        let test = match &trained.failure {
            Some(_) => None,
            None => {
                let (test, _) =
                    test_scores(net.as_ref(), self.data, schedule.batch_size, self.device)?;
                Some(test.miou)
            }
        };
        Ok(FinalTest {
            test_accuracy: test,
            failure: trained.failure,
            cost,
            network: None,
        })
    }

    fn scenes(&self) -> Option<&SceneSplits> {
        Some(self.data)
    }
}
