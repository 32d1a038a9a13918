//! Drives a one-shot search through its epochs and its derivation,
//! charging everything to the meter and journaling as it goes.

use super::checkpoint::{self, Manifest};
use super::epochs::EpochPlan;
use super::resume::Resume;
use super::search::{run_epoch, score, score_mixture, weight_steps_per_epoch};
use super::session::Search;
use crate::context::Searched;
use crate::progress::{EpochSummary, ProgressEvent};
use crate::Result;
use nasarena_core::{entropy, max_probability};
use nasarena_core::{Arch, Cost, StepContext};
use nasarena_results::{DeriveRecord, EpochRecord, Record, ScoredArch};
use std::time::Instant;

impl Search<'_, '_, '_> {
    /// Runs the remaining epochs; returns how many epochs the run has.
    pub fn epochs(&mut self, resumed: &Resume, plan: &EpochPlan) -> Result<u64> {
        let steps = weight_steps_per_epoch(self.core.data, self.core.trainer.schedule);
        let mut measured = Vec::new();
        let mut done = resumed.epochs_done;
        let mut arch_steps = resumed.arch_steps;
        let mut carried = if resumed.total_epochs.is_none() {
            self.core.meter.spent()
        } else {
            Cost::default()
        };
        for epoch in resumed.next_epoch..plan.total {
            // Between epochs: the checkpoint and record of the last one
            // are written, so a resumed run continues from here.
            self.stop.check(self.writer)?;
            if !self
                .core
                .meter
                .affords(self.core.predicted(plan, epoch, &measured))
            {
                break;
            }
            let ctx = StepContext {
                epoch,
                total_epochs: plan.total,
                step: 0,
                steps_per_epoch: steps,
            };
            let carried_seconds = carried.device_seconds;
            let record = self.one_epoch(ctx, std::mem::take(&mut carried), arch_steps)?;
            arch_steps = record.arch_steps;
            measured.push((epoch, record.cost.device_seconds - carried_seconds));
            done += 1;
            let failed = record.failure.is_some();
            let manifest = Manifest {
                epoch,
                total_epochs: plan.total,
                strategy: self.core.strategy.save_state()?,
                spent: self.core.meter.spent(),
                record: record.clone(),
                tensors: checkpoint::tensors_file(self.journal, epoch),
            };
            checkpoint::save(self.journal, &manifest, self.varmap, self.core.trainer.sgd)?;
            self.writer.append(&Record::Epoch(record.clone()))?;
            self.report(&record, plan.total);
            if failed {
                break;
            }
        }
        Ok(done)
    }

    /// One epoch plus the argmax's validation score; `carried` is cost
    /// already charged (the timing probe) that this record accounts for.
    fn one_epoch(
        &mut self,
        ctx: StepContext,
        carried: Cost,
        arch_steps_before: u64,
    ) -> Result<EpochRecord> {
        let _span = tracing::debug_span!("epoch", epoch = ctx.epoch + 1).entered();
        let started = Instant::now();
        let tau = self.core.strategy.temperature(&ctx);
        let trained_architecture = self.core.strategy.trains_architecture(&ctx);
        let work = run_epoch(
            self.core.trainer,
            self.core.strategy,
            self.core.data,
            ctx,
            self.core.seed.derive("epoch-data", 0),
        )?;
        let derived = self.core.strategy.derive(self.core.space)?;
        let val = score(
            self.core.trainer.net,
            &derived,
            self.core.space,
            self.core.data.val,
            self.core.trainer.schedule.batch_size,
            self.core.trainer.device,
        )?;
        let dist = self.core.strategy.distribution()?;
        let mixture = score_mixture(self.core.trainer, &dist, self.core.data.val)?;
        self.core.trainer.device.synchronize()?;
        let derived_macs = self.core.space.cost(&derived)?.macs;
        let val_len = self.core.data.val.len() as u64;
        let cost = Cost {
            device_seconds: started.elapsed().as_secs_f64(),
            train_samples: work.train_samples,
            eval_samples: 2 * val_len,
            macs: work
                .macs
                .saturating_add(derived_macs.saturating_mul(val_len))
                .saturating_add(mixture.macs.saturating_mul(val_len)),
            evaluations: 0,
        };
        self.core.meter.charge(cost);
        let expected_macs = self.core.trainer.costs.map_or(0.0, |t| t.expected(&dist));
        Ok(EpochRecord {
            epoch: ctx.epoch,
            trained_architecture,
            tau,
            train_loss: work.train_loss,
            arch_loss: work.arch_loss,
            val_loss: val.loss.is_finite().then_some(val.loss),
            val_accuracy: val.accuracy,
            entropy: dist.iter().map(|p| entropy(p)).collect(),
            max_probability: dist.iter().map(|p| max_probability(p)).collect(),
            arch_steps: arch_steps_before + work.arch_steps,
            mixture_val_accuracy: Some(mixture.stats.accuracy),
            derived: self.core.space.format(&derived),
            derived_macs,
            expected_macs,
            failure: work.failure,
            cost: cost.plus(carried),
            cumulative: self.core.meter.spent(),
        })
    }

    /// Tells the log and the progress sink about a journaled epoch.
    fn report(&self, r: &EpochRecord, total: usize) {
        let summary = EpochSummary {
            epoch: r.epoch + 1,
            total,
            tau: r.tau,
            loss: r.train_loss,
            val_accuracy: r.val_accuracy,
            entropy: r.entropy.iter().sum::<f64>() / r.entropy.len().max(1) as f64,
            argmax_mmacs: r.derived_macs as f64 / 1e6,
        };
        let budget = self.core.meter.progress().fraction();
        tracing::info!(
            ?summary,
            budget,
            seconds = r.cost.device_seconds,
            "epoch journaled"
        );
        let event = ProgressEvent::Epoch {
            summary,
            budget,
            seconds: r.cost.device_seconds,
        };
        self.progress.event(self.label, event);
    }

    /// Scores the argmax and the strategy's samples on the validation
    /// split, journals them and returns the best for the final protocol.
    pub fn derive(&mut self, epochs: u64) -> Result<Searched> {
        self.stop.check(self.writer)?;
        let started = Instant::now();
        let argmax = self.core.strategy.derive(self.core.space)?;
        let mut archs: Vec<(Arch, bool)> = vec![(argmax, true)];
        let k = self.core.strategy.derivation_samples();
        for arch in self
            .core
            .strategy
            .sample_architectures(k, self.core.space)?
        {
            let canonical = self.core.space.canonical(&arch);
            if !archs
                .iter()
                .any(|(a, _)| self.core.space.canonical(a) == canonical)
            {
                archs.push((arch, false));
            }
        }
        let mut candidates = Vec::with_capacity(archs.len());
        let mut macs_done = 0u64;
        for (arch, is_argmax) in &archs {
            let stats = score(
                self.core.trainer.net,
                arch,
                self.core.space,
                self.core.data.val,
                self.core.trainer.schedule.batch_size,
                self.core.trainer.device,
            )?;
            let report = self.core.space.cost(arch)?;
            macs_done = macs_done
                .saturating_add(report.macs.saturating_mul(self.core.data.val.len() as u64));
            candidates.push(ScoredArch {
                arch: self.core.space.format(arch),
                val_accuracy: stats.accuracy,
                macs: report.macs,
                params: report.params,
                argmax: *is_argmax,
            });
        }
        self.core.trainer.device.synchronize()?;
        // The best validation accuracy; ties go to the earliest (the argmax).
        let best = (0..candidates.len())
            .rev()
            .max_by(|&a, &b| {
                candidates[a]
                    .val_accuracy
                    .total_cmp(&candidates[b].val_accuracy)
            })
            .unwrap_or(0);
        let cost = Cost {
            device_seconds: started.elapsed().as_secs_f64(),
            train_samples: 0,
            eval_samples: (candidates.len() * self.core.data.val.len()) as u64,
            macs: macs_done,
            evaluations: candidates.len() as u64,
        };
        self.core.meter.charge(cost);
        let chosen = candidates[best].arch.clone();
        let best_val = candidates[best].val_accuracy;
        let derived = ProgressEvent::Derived {
            arch: chosen.clone(),
            val_accuracy: best_val,
            candidates: candidates.len(),
        };
        tracing::info!(arch = %chosen, val_accuracy = best_val, "architecture derived");
        self.writer.append(&Record::Derive(DeriveRecord {
            candidates,
            chosen,
            cost,
            cumulative: self.core.meter.spent(),
        }))?;
        self.progress.event(self.label, derived);
        Ok(Searched {
            recommended: Some(archs[best].0.clone()),
            search_val_accuracy: Some(best_val),
            evaluations: epochs,
        })
    }
}
