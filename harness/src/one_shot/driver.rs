//! Drives a one-shot search through its epochs and its derivation,
//! charging everything to the meter and journaling as it goes.

use super::budget::{epoch_samples, epochs_for_samples, epochs_for_time};
use super::checkpoint::{self, Manifest};
use super::search::{run_epoch, score, weight_steps_per_epoch, SearchData, SupernetTrainer};
use super::{seconds_cost, Resume};
use crate::journal::JournalWriter;
use crate::optim::Sgd;
use crate::run::Searched;
use crate::stop::StopFlag;
use crate::{Error, Result};
use candle_nn::VarMap;
use nasarena_core::{Arch, BudgetUnit, Cost, Meter, OneShotStrategy, Seed, StepContext};
use nasarena_datasets::Dataset;
use nasarena_results::{DeriveRecord, EpochRecord, Record, ScoredArch};
use nasarena_spaces::layers::trainable_vars;
use nasarena_spaces::{Realize, Supernet};
use nasarena_strategies::gumbel::entropy;
use std::path::Path;
use std::time::Instant;

/// A throw-away supernet and strategy for timing a few steps before a
/// device-time budget is divided into epochs.
pub struct Probe {
    /// The supernet copy.
    pub net: Box<dyn Supernet>,
    /// Its variables.
    pub varmap: VarMap,
    /// A strategy copy.
    pub strategy: Box<dyn OneShotStrategy>,
}

/// Everything a search touches.
pub struct Search<'a, 'b> {
    pub space: &'a dyn Realize,
    pub strategy: &'a mut dyn OneShotStrategy,
    pub trainer: &'a mut SupernetTrainer<'b>,
    pub data: &'a SearchData<'a>,
    pub meter: &'a mut Meter,
    pub writer: &'a mut JournalWriter,
    pub varmap: &'a VarMap,
    pub journal: &'a Path,
    pub seed: Seed,
    pub tag: &'a str,
    pub quiet: bool,
    pub stop: &'a StopFlag,
}

/// How the epochs of a search were sized.
struct EpochPlan {
    total: usize,
    /// Estimated seconds of one epoch (time budgets).
    epoch_seconds: f64,
    /// Seconds kept back for the derivation (time budgets).
    reserve_seconds: f64,
}

fn time_unit(unit: BudgetUnit) -> bool {
    matches!(unit, BudgetUnit::DeviceSeconds | BudgetUnit::DeviceHours)
}

impl Search<'_, '_> {
    fn unit(&self) -> BudgetUnit {
        self.meter.progress().budget.unit
    }

    fn subset(
        data: &nasarena_datasets::ImageDataset,
        n: usize,
    ) -> Result<nasarena_datasets::ImageDataset> {
        use nasarena_datasets::Dataset;
        let idx: Vec<usize> = (0..n.min(data.len())).collect();
        Ok(data.subset(&idx, data.name().to_string())?)
    }

    /// Times a short epoch on the probe's copies; returns seconds per
    /// training sample and per evaluation sample, and charges the probe.
    fn time_probe(&mut self, probe: &mut Probe) -> Result<(f64, f64)> {
        let batch = self.trainer.schedule.batch_size;
        let (w, a, v) = (
            Self::subset(self.data.weights, 2 * batch)?,
            Self::subset(self.data.arch, batch)?,
            Self::subset(self.data.val, batch)?,
        );
        let data = SearchData {
            weights: &w,
            arch: &a,
            val: &v,
            norm: self.data.norm,
        };
        let mut sgd = Sgd::new(
            trainable_vars(&probe.varmap),
            self.trainer.schedule.optimizer,
        );
        let mut trainer = SupernetTrainer {
            net: probe.net.as_ref(),
            sgd: &mut sgd,
            schedule: self.trainer.schedule,
            costs: self.trainer.costs,
            device: self.trainer.device,
        };
        let ctx = StepContext {
            epoch: 0,
            total_epochs: 1,
            step: 0,
            steps_per_epoch: weight_steps_per_epoch(&data, self.trainer.schedule),
        };
        let started = Instant::now();
        let work = run_epoch(
            &mut trainer,
            probe.strategy.as_mut(),
            &data,
            ctx,
            self.seed.derive("probe", 0),
        )?;
        self.trainer.device.synchronize()?;
        let train_seconds = started.elapsed().as_secs_f64();
        let arch = probe.strategy.derive(self.space)?;
        let started = Instant::now();
        score(
            probe.net.as_ref(),
            &arch,
            self.space,
            &v,
            self.data.norm,
            batch,
            self.trainer.device,
        )?;
        self.trainer.device.synchronize()?;
        let eval_seconds = started.elapsed().as_secs_f64();
        self.meter
            .charge(seconds_cost(train_seconds + eval_seconds));
        Ok((
            train_seconds / work.train_samples.max(1) as f64,
            eval_seconds / v.len().max(1) as f64,
        ))
    }

    fn plan_epochs(&mut self, resumed: &Resume, probe: Option<&mut Probe>) -> Result<EpochPlan> {
        let budget = self.meter.progress().budget;
        let (w_len, a_len, v_len) = (
            self.data.weights.len(),
            self.data.arch.len(),
            self.data.val.len(),
        );
        if let Some(total) = resumed.total_epochs {
            let done = resumed.epochs_done.max(1) as f64;
            return Ok(EpochPlan {
                total,
                epoch_seconds: self.meter.spent().device_seconds / done,
                reserve_seconds: 0.0,
            });
        }
        if !time_unit(budget.unit) {
            let total = epochs_for_samples(&*self.strategy, budget.limit, w_len, a_len);
            if total == 0 {
                return Err(Error::Budget(format!(
                    "budget.limit = {} train samples does not afford one supernet epoch ({} samples); raise it",
                    budget.limit,
                    w_len + a_len
                )));
            }
            return Ok(EpochPlan {
                total,
                epoch_seconds: 0.0,
                reserve_seconds: 0.0,
            });
        }
        let probe =
            probe.ok_or_else(|| Error::Internal("time budget without a timing probe".into()))?;
        let (per_train, per_eval) = self.time_probe(probe)?;
        let epoch_seconds = per_train * (w_len + a_len) as f64 + per_eval * v_len as f64;
        let reserve_seconds =
            per_eval * v_len as f64 * (1 + self.strategy.derivation_samples()) as f64;
        let total = epochs_for_time(
            &budget,
            self.meter.spent().device_seconds,
            epoch_seconds,
            reserve_seconds,
        );
        if total == 0 {
            return Err(Error::Budget(format!(
                "the device-time budget does not afford one supernet epoch (estimated {epoch_seconds:.1} s); raise budget.limit or lower dataset.train_limit"
            )));
        }
        Ok(EpochPlan {
            total,
            epoch_seconds,
            reserve_seconds,
        })
    }

    fn predicted(&self, plan: &EpochPlan, epoch: usize, measured: &[f64]) -> f64 {
        let unit = self.unit();
        if !time_unit(unit) {
            return epoch_samples(
                &*self.strategy,
                epoch,
                plan.total,
                self.data.weights.len(),
                self.data.arch.len(),
            ) as f64;
        }
        let seconds = if measured.is_empty() {
            plan.epoch_seconds
        } else {
            measured.iter().sum::<f64>() / measured.len() as f64
        };
        let reserve = plan.reserve_seconds;
        let secs = seconds + reserve;
        if unit == BudgetUnit::DeviceHours {
            secs / 3600.0
        } else {
            secs
        }
    }

    /// Runs the remaining epochs; returns how many epochs the run has.
    pub fn epochs(&mut self, resumed: &Resume, probe: Option<&mut Probe>) -> Result<u64> {
        let plan = self.plan_epochs(resumed, probe)?;
        let steps = weight_steps_per_epoch(self.data, self.trainer.schedule);
        let mut measured = Vec::new();
        let mut done = resumed.epochs_done;
        let mut carried = if resumed.total_epochs.is_none() {
            self.meter.spent()
        } else {
            Cost::default()
        };
        for epoch in resumed.next_epoch..plan.total {
            // Between epochs: the checkpoint and record of the last one
            // are written, so a resumed run continues from here.
            self.stop.check(self.writer)?;
            let spent = self.meter.spent().amount(self.unit());
            let limit = self.meter.progress().budget.limit;
            if spent + self.predicted(&plan, epoch, &measured) > limit + 1e-9 {
                break;
            }
            let ctx = StepContext {
                epoch,
                total_epochs: plan.total,
                step: 0,
                steps_per_epoch: steps,
            };
            let carried_seconds = carried.device_seconds;
            let record = self.one_epoch(ctx, std::mem::take(&mut carried))?;
            measured.push(record.cost.device_seconds - carried_seconds);
            done += 1;
            let failed = record.failure.is_some();
            let manifest = Manifest {
                epoch,
                total_epochs: plan.total,
                strategy: self.strategy.save_state()?,
                spent: self.meter.spent(),
                record: record.clone(),
                tensors: checkpoint::tensors_file(self.journal, epoch),
            };
            checkpoint::save(self.journal, &manifest, self.varmap, self.trainer.sgd)?;
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
    fn one_epoch(&mut self, ctx: StepContext, carried: Cost) -> Result<EpochRecord> {
        let started = Instant::now();
        let tau = self.strategy.temperature(&ctx);
        let trained_architecture = self.strategy.trains_architecture(&ctx);
        let work = run_epoch(
            self.trainer,
            self.strategy,
            self.data,
            ctx,
            self.seed.derive("epoch-data", 0),
        )?;
        let derived = self.strategy.derive(self.space)?;
        let val = score(
            self.trainer.net,
            &derived,
            self.space,
            self.data.val,
            self.data.norm,
            self.trainer.schedule.batch_size,
            self.trainer.device,
        )?;
        self.trainer.device.synchronize()?;
        let derived_macs = self.space.cost(&derived)?.macs;
        let val_len = self.data.val.len() as u64;
        let cost = Cost {
            device_seconds: started.elapsed().as_secs_f64(),
            train_samples: work.train_samples,
            eval_samples: val_len,
            macs: work
                .macs
                .saturating_add(derived_macs.saturating_mul(val_len)),
            evaluations: 0,
        };
        self.meter.charge(cost);
        let dist = self.strategy.distribution()?;
        let expected_macs = self.trainer.costs.map_or(0.0, |t| {
            t.fixed as f64
                + dist
                    .iter()
                    .zip(&t.per_decision)
                    .map(|(p, row)| p.iter().zip(row).map(|(q, &m)| q * m as f64).sum::<f64>())
                    .sum::<f64>()
        });
        Ok(EpochRecord {
            epoch: ctx.epoch,
            trained_architecture,
            tau,
            train_loss: work.train_loss,
            arch_loss: work.arch_loss.is_finite().then_some(work.arch_loss),
            val_loss: val.loss.is_finite().then_some(val.loss),
            val_accuracy: val.accuracy,
            entropy: dist.iter().map(|p| entropy(p)).collect(),
            derived: self.space.format(&derived),
            derived_macs,
            expected_macs,
            failure: work.failure,
            cost: cost.plus(carried),
            cumulative: self.meter.spent(),
        })
    }

    fn report(&self, r: &EpochRecord, total: usize) {
        if self.quiet {
            return;
        }
        let mean_entropy = r.entropy.iter().sum::<f64>() / r.entropy.len().max(1) as f64;
        let tau = r.tau.map_or("-".to_string(), |t| format!("{t:.2}"));
        eprintln!(
            "{}: epoch {:>3}/{total} tau {tau:>5} loss {:.3} val {:>6.2}% entropy {:.3} argmax {:.2} MMACs budget {:>5.1}%  {:.1}s",
            self.tag,
            r.epoch + 1,
            r.train_loss,
            100.0 * r.val_accuracy,
            mean_entropy,
            r.derived_macs as f64 / 1e6,
            100.0 * self.meter.progress().fraction(),
            r.cost.device_seconds,
        );
    }

    /// Scores the argmax and the strategy's samples on the validation
    /// split, journals them and returns the best for the final protocol.
    pub fn derive(&mut self, epochs: u64) -> Result<Searched> {
        self.stop.check(self.writer)?;
        let started = Instant::now();
        let argmax = self.strategy.derive(self.space)?;
        let mut archs: Vec<(Arch, bool)> = vec![(argmax, true)];
        let k = self.strategy.derivation_samples();
        for arch in self.strategy.sample_architectures(k, self.space)? {
            let canonical = self.space.canonical(&arch);
            if !archs
                .iter()
                .any(|(a, _)| self.space.canonical(a) == canonical)
            {
                archs.push((arch, false));
            }
        }
        let mut candidates = Vec::with_capacity(archs.len());
        let mut macs_done = 0u64;
        for (arch, is_argmax) in &archs {
            let stats = score(
                self.trainer.net,
                arch,
                self.space,
                self.data.val,
                self.data.norm,
                self.trainer.schedule.batch_size,
                self.trainer.device,
            )?;
            let report = self.space.cost(arch)?;
            macs_done =
                macs_done.saturating_add(report.macs.saturating_mul(self.data.val.len() as u64));
            candidates.push(ScoredArch {
                arch: self.space.format(arch),
                val_accuracy: stats.accuracy,
                macs: report.macs,
                params: report.params,
                argmax: *is_argmax,
            });
        }
        self.trainer.device.synchronize()?;
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
            eval_samples: (candidates.len() * self.data.val.len()) as u64,
            macs: macs_done,
            evaluations: candidates.len() as u64,
        };
        self.meter.charge(cost);
        let chosen = candidates[best].arch.clone();
        let best_val = candidates[best].val_accuracy;
        if !self.quiet {
            eprintln!(
                "{}: derived {chosen} (val {:.2}% with shared weights, best of {})",
                self.tag,
                100.0 * best_val,
                candidates.len()
            );
        }
        self.writer.append(&Record::Derive(DeriveRecord {
            candidates,
            chosen,
            cost,
            cumulative: self.meter.spent(),
        }))?;
        Ok(Searched {
            recommended: Some(archs[best].0.clone()),
            search_val_accuracy: Some(best_val),
            evaluations: epochs,
        })
    }
}
