//! One supernet search epoch: weight steps on one part of the training
//! split (80%) and, after the warm-up, architecture steps on the other part
//! (20%, FBNet, Wu et al. 2019, Sec. 3.3), alternating per step as the
//! official DARTS and GDAS code does (a weight batch, then an architecture
//! batch) or per epoch as FBNet does; then the current argmax architecture
//! is scored on the validation split with the shared weights.

use crate::optim::Sgd;
use crate::supernet_budget::EpochSizes;
use crate::task_set::{BatchStream, TaskSet};
use crate::trainer::{train_step, EvalStats, Schedule, StepPosition};
use crate::Result;
use candle_core::{Device, Tensor};
use nasarena_core::CostTable;
use nasarena_core::{Alternation, Arch, MixingWeights, OneShotStrategy, SearchSpace, StepContext};
use nasarena_spaces::supernet::{active_options, one_hot_mixing, Supernet};

/// The data of a one-shot search (images or scenes, see
/// [`crate::task_set`]); the task's loss and score come with it.
#[derive(Clone, Copy)]
pub struct SearchData<'a> {
    /// Trains the supernet weights.
    pub weights: &'a dyn TaskSet,
    /// Trains the architecture parameters.
    pub arch: &'a dyn TaskSet,
    /// Scores architectures (the experiment's validation split).
    pub val: &'a dyn TaskSet,
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
    /// Mean cross-entropy of the architecture steps (`None` when none ran).
    pub arch_loss: Option<f64>,
    /// Architecture steps taken.
    pub arch_steps: u64,
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

/// Steps per epoch of the weight part (for the learning-rate schedule).
pub fn weight_steps_per_epoch(data: &SearchData, schedule: &Schedule) -> usize {
    data.sizes(schedule.batch_size).weight_steps()
}

impl SearchData<'_> {
    /// The sizes that decide what an epoch on this data processes.
    pub fn sizes(&self, batch: usize) -> EpochSizes {
        EpochSizes {
            weights: self.weights.len(),
            arch: self.arch.len(),
            batch,
        }
    }
}

/// Architecture batches drawn one at a time, reshuffled each time the
/// architecture part is used up (per-step alternation takes more
/// architecture batches per epoch than that part holds).
struct ArchStream<'d> {
    batches: Box<dyn BatchStream + 'd>,
    pass: u64,
}

impl<'d> ArchStream<'d> {
    fn new(batches: Box<dyn BatchStream + 'd>) -> Self {
        let mut stream = ArchStream { batches, pass: 0 };
        stream.batches.start_epoch(0);
        stream
    }

    fn next(&mut self, device: &Device) -> Result<Option<(Tensor, Tensor, usize)>> {
        for _ in 0..2 {
            if let Some(batch) = self.batches.next(device)? {
                return Ok(Some(batch));
            }
            self.pass += 1;
            self.batches.start_epoch(self.pass);
        }
        Ok(None)
    }
}

/// Runs epoch `ctx.epoch`: weight steps on the weight part and, once the
/// warm-up is over, architecture steps on the architecture part, either
/// one after every weight step or all after the weight steps, as the
/// strategy's [`Alternation`] says.
pub fn run_epoch(
    trainer: &mut SupernetTrainer,
    strategy: &mut dyn OneShotStrategy,
    data: &SearchData,
    ctx: StepContext,
    seed: nasarena_core::Seed,
) -> Result<EpochWork> {
    let mut work = EpochWork::default();
    let schedule = trainer.schedule;
    let batch_size = schedule.batch_size;
    let trains_arch = strategy.trains_architecture(&ctx) && !data.arch.is_empty();
    let per_step = strategy.alternation() == Alternation::Step;
    let mut weights =
        data.weights
            .batches(schedule, batch_size, false, seed.derive("weights", 0))?;
    weights.start_epoch(ctx.epoch as u64);
    let mut arch_stream = if trains_arch && per_step {
        let size = data.sizes(batch_size).step_arch_batch();
        let seed = seed.derive("arch-steps", ctx.epoch as u64);
        Some(ArchStream::new(
            data.arch.batches(schedule, size, true, seed)?,
        ))
    } else {
        None
    };
    let (mut loss_sum, mut seen) = (0.0, 0usize);
    let (mut arch_sum, mut arch_seen) = (0.0, 0usize);
    let mut step = 0;
    while let Some((x, y, n)) = weights.next(trainer.device)? {
        let step_ctx = StepContext { step, ..ctx };
        let Some(value) = weight_step(
            trainer,
            strategy,
            data.weights,
            (&x, &y),
            step_ctx,
            &mut work,
        )?
        else {
            return Ok(work);
        };
        loss_sum += value * n as f64;
        seen += n;
        step += 1;
        if let Some(stream) = arch_stream.as_mut() {
            if let Some((x, y, n)) = stream.next(trainer.device)? {
                let Some(value) =
                    arch_step(trainer, strategy, data.arch, (&x, &y), step_ctx, &mut work)?
                else {
                    return Ok(work);
                };
                arch_sum += value * n as f64;
                arch_seen += n;
            }
        }
    }
    work.train_loss = loss_sum / seen.max(1) as f64;
    if trains_arch && !per_step {
        let mut arch = data
            .arch
            .batches(schedule, batch_size, false, seed.derive("arch", 0))?;
        arch.start_epoch(ctx.epoch as u64);
        while let Some((x, y, n)) = arch.next(trainer.device)? {
            let Some(value) = arch_step(trainer, strategy, data.arch, (&x, &y), ctx, &mut work)?
            else {
                return Ok(work);
            };
            arch_sum += value * n as f64;
            arch_seen += n;
        }
    }
    // No architecture batch ran (warm-up): no architecture loss, not 0.
    work.arch_loss = (arch_seen > 0).then(|| arch_sum / arch_seen as f64);
    Ok(work)
}

/// The task loss (of `set`'s task) of the supernet run with `mixing` on a
/// batch, and its value.
fn mixed_loss(
    trainer: &SupernetTrainer,
    set: &dyn TaskSet,
    (x, y): (&Tensor, &Tensor),
    mixing: &MixingWeights,
) -> Result<(Tensor, f64)> {
    let logits = trainer
        .net
        .forward_mixed(x, &mixing.per_decision, mixing.hard)?;
    let loss = set.loss(&logits, y)?;
    let value = f64::from(loss.to_scalar::<f32>()?);
    Ok((loss, value))
}

/// One weight step on a batch with the strategy's (detached) mixing
/// weights, through the trainer's step; `None` (and a recorded failure)
/// when the loss is not finite.
fn weight_step(
    trainer: &mut SupernetTrainer,
    strategy: &mut dyn OneShotStrategy,
    set: &dyn TaskSet,
    (x, y): (&Tensor, &Tensor),
    ctx: StepContext,
    work: &mut EpochWork,
) -> Result<Option<f64>> {
    let n = x.dim(0)?;
    let mixing = detached(&strategy.mixing_weights(&ctx, n)?);
    let (loss, value) = mixed_loss(trainer, set, (x, y), &mixing)?;
    if !value.is_finite() {
        work.failure = Some(format!(
            "supernet loss became {value} at epoch {}, step {}",
            ctx.epoch, ctx.step
        ));
        return Ok(None);
    }
    let at = StepPosition {
        step: ctx.epoch * ctx.steps_per_epoch + ctx.step,
        steps_per_epoch: ctx.steps_per_epoch,
        epochs: ctx.total_epochs,
    };
    train_step(trainer.sgd, &loss, trainer.schedule, at)?;
    work.train_samples += n as u64;
    work.macs += mixing_macs(&mixing, trainer.costs)? * n as u64;
    Ok(Some(value))
}

/// One architecture step: the task loss of the mixed supernet on a batch,
/// the strategy's search loss built from it, and the strategy's update;
/// `None` (and a recorded failure) when the loss is not finite.
fn arch_step(
    trainer: &mut SupernetTrainer,
    strategy: &mut dyn OneShotStrategy,
    set: &dyn TaskSet,
    (x, y): (&Tensor, &Tensor),
    ctx: StepContext,
    work: &mut EpochWork,
) -> Result<Option<f64>> {
    let n = x.dim(0)?;
    let mixing = strategy.mixing_weights(&ctx, n)?;
    let (task, value) = mixed_loss(trainer, set, (x, y), &mixing)?;
    if !value.is_finite() {
        work.failure = Some(format!(
            "architecture loss became {value} at epoch {}",
            ctx.epoch
        ));
        return Ok(None);
    }
    let loss = strategy.search_loss(&task, &mixing)?;
    strategy.update_architecture(&loss.backward()?)?;
    work.train_samples += n as u64;
    work.arch_steps += 1;
    work.macs += mixing_macs(&mixing, trainer.costs)? * n as u64;
    Ok(Some(value))
}

/// Score (accuracy or mIoU) and loss of `arch` run inside the supernet
/// (shared weights, batch statistics) on `data`.
pub fn score(
    net: &dyn Supernet,
    arch: &Arch,
    space: &dyn SearchSpace,
    data: &dyn TaskSet,
    batch_size: usize,
    device: &Device,
) -> Result<EvalStats> {
    let arities: Vec<usize> = space.decisions().iter().map(|d| d.arity()).collect();
    let mixing = one_hot_mixing(arch.choices(), &arities, device)?;
    data.score(&|x| net.forward_mixed(x, &mixing, true), batch_size, device)
}

/// The supernet scored as the soft mixture of a distribution, and the
/// MACs of one image through it.
#[derive(Clone, Copy, Debug)]
pub struct MixtureScore {
    /// Loss and score (accuracy or mIoU) on the data.
    pub stats: EvalStats,
    /// MACs per image (every candidate runs).
    pub macs: u64,
}

/// Score of the supernet run with each decision's candidates weighted
/// by `dist` (no sampling, no temperature): the relaxed network the
/// architecture parameters describe.
pub fn score_mixture(
    trainer: &SupernetTrainer,
    dist: &[Vec<f64>],
    data: &dyn TaskSet,
) -> Result<MixtureScore> {
    let per_decision = dist
        .iter()
        .map(|p| {
            let row: Vec<f32> = p.iter().map(|&q| q as f32).collect();
            Tensor::from_vec(row, (1, p.len()), trainer.device)
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    let mixing = MixingWeights {
        per_decision,
        hard: false,
    };
    let stats = data.score(
        &|x| trainer.net.forward_mixed(x, &mixing.per_decision, false),
        trainer.schedule.batch_size,
        trainer.device,
    )?;
    Ok(MixtureScore {
        stats,
        macs: mixing_macs(&mixing, trainer.costs)?,
    })
}

/// The supernet variables the weight steps train: every trainable one, or
/// all but the batch norms' affine parameters when the strategy searches
/// without them (DARTS).
pub(crate) fn searched_vars(
    varmap: &candle_nn::VarMap,
    strategy: &dyn nasarena_core::OneShotStrategy,
) -> Vec<candle_core::Var> {
    if strategy.affine_batch_norm() {
        nasarena_spaces::layers::trainable_vars(varmap)
    } else {
        nasarena_spaces::layers::trainable_vars_without_bn_affine(varmap)
    }
}
