//! Training a segmentation network: the trainer's recipe (SGD with
//! momentum and weight decay, cosine learning rate after an optional
//! warm-up, [`crate::trainer::train_step`]) on per-pixel cross-entropy with
//! the ignore label ([`super::loss`]), validation mIoU after every epoch
//! and test mIoU at the end ([`super::metric`]). Seeded: batch order and
//! augmentation come from the seed, initial weights from [`SeededInit`].

use super::data::{joint_augment, SceneSplits, SegSet};
use super::loss::pixel_cross_entropy;
use super::metric::ConfusionMatrix;
use super::score::confusion;
use crate::optim::Sgd;
use crate::trainer::{train_step, Schedule, StepPosition};
use crate::{Error, Result};
use candle_core::{DType, Device};
use nasarena_core::Seed;
use nasarena_spaces::layers::trainable_vars;
use nasarena_spaces::Network;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Scores of a segmentation network on one split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegScores {
    /// Mean IoU over the classes present (labels or predictions).
    pub miou: f64,
    /// Fraction of labelled pixels right.
    pub pixel_accuracy: f64,
    /// IoU per class (`null` where the class is absent).
    pub iou: Vec<Option<f64>>,
}

impl SegScores {
    fn of(m: &ConfusionMatrix) -> Self {
        SegScores {
            miou: m.mean_iou(),
            pixel_accuracy: m.pixel_accuracy(),
            iou: m.iou(),
        }
    }
}

/// One epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegEpoch {
    /// Mean training loss.
    pub train_loss: f64,
    /// Mean per-pixel validation loss after the epoch.
    pub val_loss: f64,
    /// Validation scores after the epoch.
    pub val: SegScores,
    /// Seconds of the epoch (training and validation).
    pub seconds: f64,
}

/// What training did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegReport {
    /// Every epoch.
    pub epochs: Vec<SegEpoch>,
    /// Test scores at the end.
    pub test: SegScores,
    /// Test scores of predicting class 0 (background) everywhere: the floor
    /// a network must beat.
    pub test_all_background: SegScores,
}

/// What the training epochs did.
#[derive(Clone, Debug, PartialEq)]
pub struct SegTraining {
    /// Every epoch that finished.
    pub epochs: Vec<SegEpoch>,
    /// Why training stopped early (a loss that is not finite).
    pub failure: Option<String>,
    /// Training samples through forward and backward passes.
    pub train_samples: u64,
    /// Samples through validation forward passes.
    pub eval_samples: u64,
}

/// Trains `net` (variables in `varmap`) on `data.train` with `schedule`,
/// scoring `data.val` after every epoch and calling `epoch_done` (progress);
/// `data.test` is not touched.
pub fn train_epochs(
    net: &dyn Network,
    varmap: &candle_nn::VarMap,
    data: &SceneSplits,
    schedule: &Schedule,
    seed: Seed,
    device: &Device,
    mut epoch_done: impl FnMut(usize, &SegEpoch),
) -> Result<SegTraining> {
    let augment = joint_augment(schedule, data.train.shape);
    let stats = &data.stats;
    let mut sgd = Sgd::new(trainable_vars(varmap), schedule.optimizer);
    let steps_per_epoch = data.train.len().div_ceil(schedule.batch_size);
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    let mut rng = seed.derive("segmentation-train", 0).rng();
    let mut done = SegTraining {
        epochs: Vec::with_capacity(schedule.epochs),
        failure: None,
        train_samples: 0,
        eval_samples: 0,
    };
    for epoch in 0..schedule.epochs {
        let t0 = Instant::now();
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        for (k, idx) in order.chunks(schedule.batch_size).enumerate() {
            let (x, y) = data
                .train
                .batch(idx, stats, Some((&augment, &mut rng)), device)?;
            let loss = pixel_cross_entropy(&net.forward_t(&x, true)?, &y)?;
            let value = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            if !value.is_finite() {
                done.failure = Some(format!(
                    "training loss became {value} at epoch {epoch}, step {k}"
                ));
                return Ok(done);
            }
            loss_sum += value * idx.len() as f64;
            let at = StepPosition {
                step: epoch * steps_per_epoch + k,
                steps_per_epoch,
                epochs: schedule.epochs,
            };
            train_step(&mut sgd, &loss, schedule, at)?;
        }
        let (val, val_loss) = evaluate(net, &data.val, stats, schedule.batch_size, device)?;
        done.train_samples += data.train.len() as u64;
        done.eval_samples += data.val.len() as u64;
        let e = SegEpoch {
            train_loss: loss_sum / data.train.len() as f64,
            val_loss,
            val: SegScores::of(&val),
            seconds: t0.elapsed().as_secs_f64(),
        };
        epoch_done(epoch, &e);
        done.epochs.push(e);
    }
    Ok(done)
}

/// Test scores of `net` (normalised with the training split's statistics)
/// and of predicting background everywhere.
pub fn test_scores(
    net: &dyn Network,
    data: &SceneSplits,
    batch_size: usize,
    device: &Device,
) -> Result<(SegScores, SegScores)> {
    let (test, _) = evaluate(net, &data.test, &data.stats, batch_size, device)?;
    let mut background = ConfusionMatrix::new(data.test.classes.len());
    let labels = data.test.masks(&(0..data.test.len()).collect::<Vec<_>>());
    background
        .add(&labels, &vec![0; labels.len()])
        .map_err(Error::DataMismatch)?;
    Ok((SegScores::of(&test), SegScores::of(&background)))
}

/// The confusion matrix and mean per-pixel loss of `net` (inference
/// mode) over `set`.
pub fn evaluate(
    net: &dyn Network,
    set: &SegSet,
    stats: &[(f64, f64)],
    batch_size: usize,
    device: &Device,
) -> Result<(ConfusionMatrix, f64)> {
    confusion(&|x| net.forward_t(x, false), set, stats, batch_size, device)
}

/// Builds `arch` of the SqueezeNAS `space` (head=segment) with seeded
/// weights on the CPU, trains it ([`train_epochs`]) and tests it.
pub fn train_squeezenas(
    space: &nasarena_spaces::SqueezeNasSpace,
    arch: &nasarena_core::Arch,
    data: &SceneSplits,
    schedule: &Schedule,
    seed: Seed,
    epoch_done: impl FnMut(usize, &SegEpoch),
) -> Result<SegReport> {
    let device = Device::Cpu;
    let varmap = candle_nn::VarMap::new();
    let vb =
        nasarena_spaces::SeededInit::var_builder(&varmap, seed.derive("segment-init", 0), &device);
    let net = space.build_segmentation_counted(arch, vb, None)?;
    let trained = train_epochs(&net, &varmap, data, schedule, seed, &device, epoch_done)?;
    if let Some(reason) = trained.failure {
        return Err(Error::Unsupported(reason));
    }
    let (test, test_all_background) = test_scores(&net, data, schedule.batch_size, &device)?;
    Ok(SegReport {
        epochs: trained.epochs,
        test,
        test_all_background,
    })
}
