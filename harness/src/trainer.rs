//! The trainer: train an architecture on a dataset for a schedule and
//! evaluate it, measuring device time after a device synchronisation.
//!
//! Every random choice (weight init, batch order, augmentation) is derived
//! from the seed passed in, so one (arch, schedule, seed) always gives the
//! same per-epoch losses on the same machine and build. A NaN or infinite
//! loss ends training as a failure (data), never as an error or a panic.

use crate::optim::{clip_grad_norm, cosine_lr, Sgd, SgdConfig};
use crate::{Error, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use nasarena_core::{Arch, Cost, Seed};
use nasarena_datasets::{Augment, BatchConfig, Batcher};
use nasarena_datasets::{Dataset, ImageDataset};
use nasarena_datasets::{Normalization, Splits};
use nasarena_spaces::layers::trainable_vars;
use nasarena_spaces::{Graph, Network, Realize, SeededInit};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// A training schedule (the evaluator settings of an experiment).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Training epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Optimiser (SGD with momentum; `lr` is the cosine schedule's peak).
    pub optimizer: SgdConfig,
    /// Linear warm-up epochs before the cosine decay.
    #[serde(default)]
    pub warmup_epochs: usize,
    /// Gradient clipping by global norm.
    #[serde(default)]
    pub grad_clip: Option<f64>,
    /// Random crop with this padding (0 = off).
    #[serde(default)]
    pub crop_padding: usize,
    /// Random horizontal flips.
    #[serde(default)]
    pub horizontal_flip: bool,
    /// Segmentation only: random scale in `[lo, hi]`, cropped back to size
    /// (see `segmentation::data::joint_augment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_scale: Option<(f32, f32)>,
}

impl Schedule {
    /// Training samples one run of this schedule processes on `train`.
    pub fn train_samples(&self, train_len: usize) -> u64 {
        (self.epochs * train_len) as u64
    }
}

/// Statistics of one training epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// Mean training loss.
    pub train_loss: f64,
    /// Training accuracy (in training mode).
    pub train_accuracy: f64,
    /// Validation loss after the epoch.
    pub val_loss: f64,
    /// Validation accuracy after the epoch.
    pub val_accuracy: f64,
    /// Device seconds of the epoch: training and validation, measured
    /// after a device synchronisation (a per-epoch test is not included).
    pub device_seconds: f64,
    /// Test metrics after the epoch, when asked for every epoch
    /// ([`TestEval::EveryEpoch`], used to build tables).
    pub test: Option<EvalStats>,
}

/// When the trainer evaluates the test split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestEval {
    /// Never (a search's evaluation: test metrics never reach a strategy).
    Never,
    /// Once after training (the final protocol).
    AtEnd,
    /// After every epoch, outside the epoch's timing (tabular benchmarks
    /// record test accuracy per epoch, as NAS-Bench-201 does).
    EveryEpoch,
}

/// Loss and accuracy on a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalStats {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Accuracy in [0, 1].
    pub accuracy: f64,
}

/// What training an architecture produced.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainReport {
    /// One entry per finished epoch.
    pub epochs: Vec<EpochStats>,
    /// Test metrics, when asked for (final protocol only).
    pub test: Option<EvalStats>,
    /// Why training failed, if it did.
    pub failure: Option<String>,
    /// What the work cost.
    pub cost: Cost,
}

/// Where a step sits in its run, for the learning-rate schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepPosition {
    /// Steps taken before this one in the whole run.
    pub step: usize,
    /// Steps of one epoch.
    pub steps_per_epoch: usize,
    /// Epochs of the run.
    pub epochs: usize,
}

/// One weight step of the trainer's recipe, for stand-alone networks and
/// supernets alike: the loss's gradients, clipped by global norm when the
/// schedule says so, then SGD at the cosine learning rate after the
/// schedule's linear warm-up.
pub fn train_step(
    sgd: &mut Sgd,
    loss: &Tensor,
    schedule: &Schedule,
    at: StepPosition,
) -> Result<()> {
    let mut grads = loss.backward()?;
    if let Some(max_norm) = schedule.grad_clip {
        clip_grad_norm(sgd.vars(), &mut grads, max_norm)?;
    }
    sgd.set_lr(cosine_lr(
        at.step,
        at.steps_per_epoch * at.epochs,
        at.steps_per_epoch * schedule.warmup_epochs,
        schedule.optimizer.lr,
        0.0,
    ));
    sgd.step(&grads)?;
    Ok(())
}

/// Trains `arch` of `space` on `data.train`, validating after every epoch;
/// evaluates `data.test` at the end when `with_test`.
pub fn train_and_evaluate(
    space: &dyn Realize,
    arch: &Arch,
    data: &Splits,
    schedule: &Schedule,
    seed: Seed,
    device: &Device,
    with_test: bool,
) -> Result<TrainReport> {
    let test = if with_test {
        TestEval::AtEnd
    } else {
        TestEval::Never
    };
    train_recording(space, arch, data, schedule, seed, device, test)
}

/// [`train_and_evaluate`] with a choice of when to test. Testing never
/// changes training: it runs in inference mode on its own unshuffled
/// batches, so epoch `k`'s values are the same whatever `test` is.
pub fn train_recording(
    space: &dyn Realize,
    arch: &Arch,
    data: &Splits,
    schedule: &Schedule,
    seed: Seed,
    device: &Device,
    test: TestEval,
) -> Result<TrainReport> {
    Ok(train_network(space, arch, data, schedule, seed, device, test)?.0)
}

/// [`train_and_evaluate`] with the test, also giving the trained network's
/// description with its tensors (what the final protocol saves); `None`
/// for a space that cannot describe its networks. Training is the same.
pub fn train_final(
    space: &dyn Realize,
    arch: &Arch,
    data: &Splits,
    schedule: &Schedule,
    seed: Seed,
    device: &Device,
) -> Result<(TrainReport, Option<Graph>)> {
    let (report, net) = train_network(space, arch, data, schedule, seed, device, TestEval::AtEnd)?;
    Ok((report, net.describe()))
}

fn train_network(
    space: &dyn Realize,
    arch: &Arch,
    data: &Splits,
    schedule: &Schedule,
    seed: Seed,
    device: &Device,
    test: TestEval,
) -> Result<(TrainReport, Box<dyn Network>)> {
    if schedule.random_scale.is_some() || space.task() != nasarena_spaces::Task::Classification {
        return Err(Error::Unsupported(format!(
            "{}: the image-classification trainer trains classification networks without random_scale (a segmentation setting)",
            space.name()
        )));
    }
    let macs_per_image = space.cost(arch)?.macs;
    let varmap = VarMap::new();
    let vb = SeededInit::var_builder(&varmap, seed.derive("init", 0), device);
    let net = space.build(arch, vb)?;
    let mut opt = Sgd::new(trainable_vars(&varmap), schedule.optimizer);
    let augment = Augment {
        pad: schedule.crop_padding,
        hflip: schedule.horizontal_flip,
    };
    let mut batcher = Batcher::new(
        &data.train,
        &data.norm,
        BatchConfig {
            batch_size: schedule.batch_size,
            shuffle: true,
            drop_last: false,
            augment,
        },
        seed.derive("batches", 0),
    )?;
    let steps_per_epoch = batcher.batches_per_epoch();

    let mut report = TrainReport {
        epochs: Vec::new(),
        test: None,
        failure: None,
        cost: Cost::default(),
    };
    let started = Instant::now();
    let mut step = 0usize;
    let mut test_seconds = 0.0f64;
    'epochs: for epoch in 0..schedule.epochs {
        let epoch_started = Instant::now();
        batcher.start_epoch(epoch as u64);
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        while let Some(batch) = batcher.next_batch() {
            let x = Tensor::from_slice(batch.images, batch.shape.to_vec(), device)?;
            let y = Tensor::from_slice(batch.labels, batch.shape[0], device)?;
            let logits = net.forward_t(&x, true)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
            let loss_value = f64::from(loss.to_scalar::<f32>()?);
            if !loss_value.is_finite() {
                report.failure = Some(format!(
                    "training loss became {loss_value} at epoch {epoch}, step {step}"
                ));
                report.cost.train_samples += (seen) as u64;
                break 'epochs;
            }
            let at = StepPosition {
                step,
                steps_per_epoch,
                epochs: schedule.epochs,
            };
            train_step(&mut opt, &loss, schedule, at)?;
            let n = batch.shape[0];
            loss_sum += loss_value * n as f64;
            correct += count_correct(&logits, &y)?;
            seen += n;
            step += 1;
        }
        report.cost.train_samples += seen as u64;
        let val = evaluate(
            net.as_ref(),
            &data.val,
            &data.norm,
            schedule.batch_size,
            device,
        )?;
        report.cost.eval_samples += data.val.len() as u64;
        device.synchronize()?;
        let device_seconds = epoch_started.elapsed().as_secs_f64();
        let test_started = Instant::now();
        let epoch_test = match test {
            TestEval::EveryEpoch => {
                let t = evaluate(
                    net.as_ref(),
                    &data.test,
                    &data.norm,
                    schedule.batch_size,
                    device,
                )?;
                device.synchronize()?;
                Some(t)
            }
            _ => None,
        };
        test_seconds += test_started.elapsed().as_secs_f64();
        report.epochs.push(EpochStats {
            train_loss: loss_sum / seen.max(1) as f64,
            train_accuracy: correct as f64 / seen.max(1) as f64,
            val_loss: val.loss,
            val_accuracy: val.accuracy,
            device_seconds,
            test: epoch_test,
        });
        if let Some(e) = report.epochs.last() {
            tracing::debug!(
                epoch = epoch + 1,
                train_loss = e.train_loss,
                val_accuracy = e.val_accuracy,
                "candidate epoch trained"
            );
        }
    }
    if test == TestEval::EveryEpoch {
        // Per-epoch tests are a table's bookkeeping, not the cost of
        // training: the report's cost stays that of a search evaluation.
        report.test = report.epochs.last().and_then(|e| e.test);
    } else if test == TestEval::AtEnd && report.failure.is_none() {
        report.test = Some(evaluate(
            net.as_ref(),
            &data.test,
            &data.norm,
            schedule.batch_size,
            device,
        )?);
        report.cost.eval_samples += data.test.len() as u64;
    }
    device.synchronize()?;
    report.cost.device_seconds = started.elapsed().as_secs_f64() - test_seconds;
    report.cost.macs = macs_per_image.saturating_mul(
        report
            .cost
            .train_samples
            .saturating_add(report.cost.eval_samples),
    );
    Ok((report, net))
}

fn count_correct(logits: &Tensor, labels: &Tensor) -> Result<usize> {
    let predicted = logits.argmax(1)?;
    let hits = predicted.eq(labels)?.to_dtype(DType::F32)?.sum_all()?;
    Ok(hits.to_scalar::<f32>()? as usize)
}

/// Loss and accuracy of `net` (inference mode) on `data`.
pub fn evaluate(
    net: &dyn Network,
    data: &ImageDataset,
    norm: &Normalization,
    batch_size: usize,
    device: &Device,
) -> Result<EvalStats> {
    evaluate_with(|x| net.forward_t(x, false), data, norm, batch_size, device)
}

/// Loss and accuracy of the logits `forward` gives for each batch of
/// `data` (in order, unaugmented).
pub fn evaluate_with(
    forward: impl Fn(&Tensor) -> candle_core::Result<Tensor>,
    data: &ImageDataset,
    norm: &Normalization,
    batch_size: usize,
    device: &Device,
) -> Result<EvalStats> {
    let mut batcher = Batcher::new(
        data,
        norm,
        BatchConfig {
            batch_size,
            shuffle: false,
            drop_last: false,
            augment: Augment::default(),
        },
        Seed(0),
    )?;
    batcher.start_epoch(0);
    let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
    while let Some(batch) = batcher.next_batch() {
        let x = Tensor::from_slice(batch.images, batch.shape.to_vec(), device)?;
        let y = Tensor::from_slice(batch.labels, batch.shape[0], device)?;
        let logits = forward(&x)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
        let n = batch.shape[0];
        loss_sum += f64::from(loss.to_scalar::<f32>()?) * n as f64;
        correct += count_correct(&logits, &y)?;
        seen += n;
    }
    if seen == 0 {
        return Err(Error::EmptyDataset(data.name().to_string()));
    }
    let loss = loss_sum / seen as f64;
    Ok(EvalStats {
        loss: if loss.is_finite() {
            loss
        } else {
            f64::INFINITY
        },
        accuracy: correct as f64 / seen as f64,
    })
}
