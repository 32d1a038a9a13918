//! One supernet search epoch: weight steps on one part of the training
//! split, then (after the warm-up) architecture steps on the other part,
//! as FBNet does (Wu et al. 2019, Sec. 3.3: weights on 80%, theta on 20%,
//! alternating per epoch); then the current argmax architecture is scored
//! on the validation split with the shared weights.

use crate::optim::Sgd;
use crate::trainer::{evaluate_with, train_step, EvalStats, Schedule, StepPosition};
use crate::Result;
use candle_core::{Device, Tensor};
use nasarena_core::CostTable;
use nasarena_core::{Arch, MixingWeights, OneShotStrategy, SearchSpace, StepContext};
use nasarena_datasets::{Augment, BatchConfig, Batcher, Dataset, ImageDataset, Normalization};
use nasarena_spaces::supernet::{active_options, one_hot_mixing, Supernet};

/// The data of a one-shot search.
pub struct SearchData<'a> {
    /// Trains the supernet weights.
    pub weights: &'a ImageDataset,
    /// Trains the architecture parameters.
    pub arch: &'a ImageDataset,
    /// Scores architectures (the experiment's validation split).
    pub val: &'a ImageDataset,
    /// Normalisation of the training split.
    pub norm: &'a Normalization,
}

/// The supernet and the weight optimiser.
pub struct SupernetTrainer<'a> {
    /// The supernet.
    pub net: &'a dyn Supernet,
    /// SGD over its trainable variables.
    pub sgd: &'a mut Sgd,
    /// The weight schedule (batch size, lr, augmentation).
    pub schedule: &'a Schedule,
    /// Per-candidate MACs, to count the MACs that ran.
    pub costs: Option<&'a CostTable>,
    /// Where tensors live.
    pub device: &'a Device,
}

/// What one epoch did.
#[derive(Clone, Debug, Default)]
pub struct EpochWork {
    /// Mean cross-entropy of the weight steps.
    pub train_loss: f64,
    /// Mean cross-entropy of the architecture steps (NaN when none ran).
    pub arch_loss: f64,
    /// Samples through forward and backward passes.
    pub train_samples: u64,
    /// MACs of everything that ran (batch-1 MACs times samples).
    pub macs: u64,
    /// Why the epoch stopped early (a non-finite loss).
    pub failure: Option<String>,
}

/// MACs of one sample through the candidates a mixing runs.
pub fn mixing_macs(mixing: &MixingWeights, costs: Option<&CostTable>) -> Result<u64> {
    let Some(table) = costs else { return Ok(0) };
    let mut total = table.fixed;
    for (w, row) in mixing.per_decision.iter().zip(&table.per_decision) {
        for o in active_options(w, mixing.hard)? {
            total += row.get(o).copied().unwrap_or(0);
        }
    }
    Ok(total)
}

fn detached(mixing: &MixingWeights) -> MixingWeights {
    MixingWeights {
        per_decision: mixing.per_decision.iter().map(|t| t.detach()).collect(),
        hard: mixing.hard,
    }
}

fn batcher<'d>(
    data: &'d ImageDataset,
    norm: &Normalization,
    schedule: &Schedule,
    seed: nasarena_core::Seed,
    epoch: usize,
) -> Result<Batcher<'d>> {
    let mut b = Batcher::new(
        data,
        norm,
        BatchConfig {
            batch_size: schedule.batch_size,
            shuffle: true,
            drop_last: false,
            augment: Augment {
                pad: schedule.crop_padding,
                hflip: schedule.horizontal_flip,
            },
        },
        seed,
    )?;
    b.start_epoch(epoch as u64);
    Ok(b)
}

/// Steps per epoch of the weight part (for the learning-rate schedule).
pub fn weight_steps_per_epoch(data: &SearchData, schedule: &Schedule) -> usize {
    data.weights.len().div_ceil(schedule.batch_size.max(1))
}

/// Runs epoch `ctx.epoch`: weight steps, then architecture steps when the
/// strategy trains the architecture in this epoch.
pub fn run_epoch(
    trainer: &mut SupernetTrainer,
    strategy: &mut dyn OneShotStrategy,
    data: &SearchData,
    ctx: StepContext,
    seed: nasarena_core::Seed,
) -> Result<EpochWork> {
    let mut work = EpochWork::default();
    let (mut loss_sum, mut seen) = (0.0, 0usize);
    let mut weights = batcher(
        data.weights,
        data.norm,
        trainer.schedule,
        seed.derive("weights", 0),
        ctx.epoch,
    )?;
    let mut step = 0;
    while let Some(batch) = weights.next_batch() {
        let x = Tensor::from_slice(batch.images, batch.shape.to_vec(), trainer.device)?;
        let y = Tensor::from_slice(batch.labels, batch.shape[0], trainer.device)?;
        let n = batch.shape[0];
        let step_ctx = StepContext { step, ..ctx };
        let mixing = detached(&strategy.mixing_weights(&step_ctx, n)?);
        let logits = trainer
            .net
            .forward_mixed(&x, &mixing.per_decision, mixing.hard)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
        let value = f64::from(loss.to_scalar::<f32>()?);
        if !value.is_finite() {
            work.failure = Some(format!(
                "supernet loss became {value} at epoch {}, step {step}",
                ctx.epoch
            ));
            return Ok(work);
        }
        let at = StepPosition {
            step: ctx.epoch * ctx.steps_per_epoch + step,
            steps_per_epoch: ctx.steps_per_epoch,
            epochs: ctx.total_epochs,
        };
        train_step(trainer.sgd, &loss, trainer.schedule, at)?;
        loss_sum += value * n as f64;
        seen += n;
        work.train_samples += n as u64;
        work.macs += mixing_macs(&mixing, trainer.costs)? * n as u64;
        step += 1;
    }
    work.train_loss = loss_sum / seen.max(1) as f64;
    work.arch_loss = f64::NAN;
    if !strategy.trains_architecture(&ctx) {
        return Ok(work);
    }
    let (mut arch_sum, mut arch_seen) = (0.0, 0usize);
    let mut arch = batcher(
        data.arch,
        data.norm,
        trainer.schedule,
        seed.derive("arch", 0),
        ctx.epoch,
    )?;
    while let Some(batch) = arch.next_batch() {
        let x = Tensor::from_slice(batch.images, batch.shape.to_vec(), trainer.device)?;
        let y = Tensor::from_slice(batch.labels, batch.shape[0], trainer.device)?;
        let n = batch.shape[0];
        let mixing = strategy.mixing_weights(&ctx, n)?;
        let logits = trainer
            .net
            .forward_mixed(&x, &mixing.per_decision, mixing.hard)?;
        let task = candle_nn::loss::cross_entropy(&logits, &y)?;
        let value = f64::from(task.to_scalar::<f32>()?);
        if !value.is_finite() {
            work.failure = Some(format!(
                "architecture loss became {value} at epoch {}",
                ctx.epoch
            ));
            return Ok(work);
        }
        let loss = strategy.search_loss(&task, &mixing)?;
        strategy.update_architecture(&loss.backward()?)?;
        arch_sum += value * n as f64;
        arch_seen += n;
        work.train_samples += n as u64;
        work.macs += mixing_macs(&mixing, trainer.costs)? * n as u64;
    }
    work.arch_loss = arch_sum / arch_seen.max(1) as f64;
    Ok(work)
}

/// Accuracy and loss of `arch` run inside the supernet (shared weights,
/// batch statistics) on `data`.
pub fn score(
    net: &dyn Supernet,
    arch: &Arch,
    space: &dyn SearchSpace,
    data: &ImageDataset,
    norm: &Normalization,
    batch_size: usize,
    device: &Device,
) -> Result<EvalStats> {
    let arities: Vec<usize> = space.decisions().iter().map(|d| d.arity()).collect();
    let mixing = one_hot_mixing(arch.choices(), &arities, device)?;
    evaluate_with(
        |x| net.forward_mixed(x, &mixing, true),
        data,
        norm,
        batch_size,
        device,
    )
}
