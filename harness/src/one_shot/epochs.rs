//! Sizing a one-shot search in epochs before it starts (the temperature
//! and warm-up schedules depend on the total): exact for sample budgets,
//! from a timing probe on throw-away copies for device-time budgets.

use super::resume::Resume;
use super::search::{run_epoch, score, weight_steps_per_epoch, SearchData, SupernetTrainer};
use super::session::SearchCore;
use crate::optim::Sgd;
use crate::supernet_budget::{
    epoch_samples, epochs_for_samples, epochs_for_time, seconds_cost, EpochTiming,
};
use crate::{Error, Result};
use candle_nn::VarMap;
use nasarena_core::{BudgetUnit, EffectiveSchedule, OneShotStrategy, RunShape, StepContext};
use nasarena_spaces::Supernet;
use std::time::Instant;

/// Weight batches the timing probe times (each followed by an architecture
/// batch under per-step alternation): enough that one scheduler hiccup
/// does not skew the plan (two batches misjudged epochs by 40% either way).
const PROBE_WEIGHT_BATCHES: usize = 8;

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

/// How the epochs of a search were sized.
pub struct EpochPlan {
    /// Epochs the run has.
    pub total: usize,
    /// Estimated seconds of an epoch (time budgets).
    pub timing: EpochTiming,
    /// Seconds kept back for the derivation (time budgets).
    pub reserve_seconds: f64,
}

pub fn time_unit(unit: BudgetUnit) -> bool {
    matches!(unit, BudgetUnit::DeviceSeconds | BudgetUnit::DeviceHours)
}

impl SearchCore<'_, '_> {
    /// Times a short epoch on the probe's copies (after an untimed step
    /// that pays for first-use allocations); returns seconds per training
    /// sample and per evaluation sample, and charges the whole probe.
    fn time_probe(&mut self, probe: &mut Probe) -> Result<(f64, f64)> {
        let probe_started = Instant::now();
        let batch = self.trainer.schedule.batch_size;
        let (w, a, v) = (
            self.data.weights.head(PROBE_WEIGHT_BATCHES * batch)?,
            self.data.arch.head(batch)?,
            self.data.val.head(2 * batch)?,
        );
        let first = self.data.weights.head(batch)?;
        let data = SearchData {
            weights: w.as_ref(),
            arch: a.as_ref(),
            val: v.as_ref(),
        };
        let mut sgd = Sgd::new(
            super::search::searched_vars(&probe.varmap, probe.strategy.as_ref()),
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
        let warm_up = SearchData {
            weights: first.as_ref(),
            ..data
        };
        run_epoch(
            &mut trainer,
            probe.strategy.as_mut(),
            &warm_up,
            ctx,
            self.seed.derive("probe", 1),
        )?;
        self.trainer.device.synchronize()?;
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
            v.as_ref(),
            batch,
            self.trainer.device,
        )?;
        self.trainer.device.synchronize()?;
        let eval_seconds = started.elapsed().as_secs_f64();
        self.meter
            .charge(seconds_cost(probe_started.elapsed().as_secs_f64()));
        Ok((
            train_seconds / work.train_samples.max(1) as f64,
            eval_seconds / v.len().max(1) as f64,
        ))
    }

    /// Sizes the run in epochs: exactly for sample budgets, from a timing
    /// probe for device-time budgets, from the checkpoint on resume.
    pub fn plan_epochs(
        &mut self,
        resumed: &Resume,
        probe: Option<&mut Probe>,
    ) -> Result<EpochPlan> {
        let budget = self.meter.progress().budget;
        let (w_len, a_len, v_len) = (
            self.data.weights.len(),
            self.data.arch.len(),
            self.data.val.len(),
        );
        let sizes = self.data.sizes(self.trainer.schedule.batch_size);
        if let Some(total) = resumed.total_epochs {
            // The epochs done so far price the rest.
            let samples: u64 = (0..resumed.epochs_done as usize)
                .map(|e| epoch_samples(&*self.strategy, e, total, sizes))
                .sum();
            return Ok(EpochPlan {
                total,
                timing: EpochTiming {
                    per_train_sample: self.meter.spent().device_seconds / samples.max(1) as f64,
                    per_epoch: 0.0,
                },
                reserve_seconds: 0.0,
            });
        }
        if !time_unit(budget.unit) {
            let total = epochs_for_samples(&*self.strategy, budget.limit, sizes);
            if total == 0 {
                return Err(Error::Budget(format!(
                    "budget.limit = {} train samples does not afford one supernet epoch ({} samples); raise it",
                    budget.limit,
                    w_len + a_len
                )));
            }
            return Ok(EpochPlan {
                total,
                timing: EpochTiming {
                    per_train_sample: 0.0,
                    per_epoch: 0.0,
                },
                reserve_seconds: 0.0,
            });
        }
        let probe =
            probe.ok_or_else(|| Error::Internal("time budget without a timing probe".into()))?;
        let (per_train, per_eval) = self.time_probe(probe)?;
        // Each epoch scores the argmax and the mixture on the validation part.
        let timing = EpochTiming {
            per_train_sample: per_train,
            per_epoch: 2.0 * per_eval * v_len as f64,
        };
        let reserve_seconds =
            per_eval * v_len as f64 * (1 + self.strategy.derivation_samples()) as f64;
        let total = epochs_for_time(
            &*self.strategy,
            &budget,
            self.meter.spent().device_seconds,
            timing,
            sizes,
            reserve_seconds,
        );
        if total == 0 {
            let epoch_seconds = timing.seconds(&*self.strategy, 0, 1, sizes);
            return Err(Error::Budget(format!(
                "the device-time budget does not afford one supernet epoch (estimated {epoch_seconds:.1} s); raise budget.limit or lower dataset.train_limit"
            )));
        }
        Ok(EpochPlan {
            total,
            timing,
            reserve_seconds,
        })
    }

    /// The predicted cost of epoch `epoch` in the budget's unit: exact for
    /// sample budgets; for time budgets the plan's estimate of that epoch,
    /// corrected by how the epochs `measured` so far (epoch, seconds)
    /// compared with their estimates, plus the derivation's reserve.
    pub fn predicted(&self, plan: &EpochPlan, epoch: usize, measured: &[(usize, f64)]) -> f64 {
        let unit = self.unit();
        let sizes = self.data.sizes(self.trainer.schedule.batch_size);
        if !time_unit(unit) {
            return epoch_samples(&*self.strategy, epoch, plan.total, sizes) as f64;
        }
        let estimate = |e| plan.timing.seconds(&*self.strategy, e, plan.total, sizes);
        let (actual, estimated) = measured
            .iter()
            .fold((0.0, 0.0), |(a, b), &(e, s)| (a + s, b + estimate(e)));
        let correction = if estimated > 0.0 {
            actual / estimated
        } else {
            1.0
        };
        let seconds = estimate(epoch) * correction;
        let reserve = plan.reserve_seconds;
        let secs = seconds + reserve;
        if unit == BudgetUnit::DeviceHours {
            secs / 3600.0
        } else {
            secs
        }
    }

    /// Asks the strategy to plan a run of `total` epochs on this data (its
    /// schedule for the journal header).
    pub fn plan_run(&mut self, total: usize) -> Result<EffectiveSchedule> {
        let sizes = self.data.sizes(self.trainer.schedule.batch_size);
        let shape = RunShape {
            total_epochs: total,
            weight_steps_per_epoch: sizes.weight_steps(),
            arch_steps_per_epoch: sizes.arch_steps(self.strategy.alternation()),
        };
        Ok(self.strategy.plan_run(&shape)?)
    }
}
