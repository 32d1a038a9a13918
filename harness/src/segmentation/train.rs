//! Training a segmentation network: the trainer's recipe (SGD with
//! momentum and weight decay, cosine learning rate after an optional
//! warm-up, [`crate::trainer::train_step`]) on per-pixel cross-entropy with
//! the ignore label ([`super::loss`]), validation mIoU after every epoch
//! and test mIoU at the end ([`super::metric`]). Seeded: batch order and
//! augmentation come from the seed, initial weights from [`SeededInit`].

use super::data::SegSet;
use super::loss::pixel_cross_entropy;
use super::metric::ConfusionMatrix;
use crate::optim::Sgd;
use crate::trainer::{train_step, Schedule, StepPosition};
use crate::{Error, Result};
use candle_core::{DType, Device, Tensor};
use nasarena_core::Seed;
use nasarena_datasets::segmentation::joint::JointAugment;
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

/// The three splits of a segmentation run.
#[derive(Clone, Copy, Debug)]
pub struct SegSplits<'a> {
    /// Training split.
    pub train: &'a SegSet,
    /// Validation split.
    pub val: &'a SegSet,
    /// Test split.
    pub test: &'a SegSet,
}

/// How a segmentation network is trained: the trainer's schedule plus the
/// random-scale range of the joint augmentation (SqueezeNAS trains
/// Cityscapes with random scaling, cropping and flipping).
#[derive(Clone, Copy, Debug)]
pub struct SegRecipe<'a> {
    /// Epochs, batch size, optimizer, warm-up; `horizontal_flip` mirrors.
    pub schedule: &'a Schedule,
    /// Each training sample is scaled by a factor drawn from this range and
    /// cropped (or padded with ignored pixels) back to its size; `(1, 1)`
    /// leaves the scale alone.
    pub scale: (f32, f32),
}

impl SegRecipe<'_> {
    /// The joint augmentation for samples of `shape` (C, H, W).
    fn augment(&self, shape: [usize; 3]) -> JointAugment {
        let scaled = self.scale != (1.0, 1.0);
        JointAugment {
            scale: self.scale,
            crop: scaled.then_some((shape[1], shape[2])),
            flip: self.schedule.horizontal_flip,
        }
    }
}

/// Trains `net` (variables in `varmap`) by `recipe`, calling `epoch_done`
/// after every epoch (progress).
pub fn train_segmentation(
    net: &dyn Network,
    varmap: &candle_nn::VarMap,
    data: &SegSplits<'_>,
    recipe: &SegRecipe<'_>,
    seed: Seed,
    device: &Device,
    mut epoch_done: impl FnMut(usize, &SegEpoch),
) -> Result<SegReport> {
    let classes = data.train.classes.len();
    if data.val.classes != data.train.classes || data.test.classes != data.train.classes {
        return Err(Error::DataMismatch(
            "the splits name different classes".into(),
        ));
    }
    let schedule = recipe.schedule;
    let augment = recipe.augment(data.train.shape);
    let stats = data.train.channel_stats();
    let mut sgd = Sgd::new(trainable_vars(varmap), schedule.optimizer);
    let steps_per_epoch = data.train.len().div_ceil(schedule.batch_size);
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    let mut rng = seed.derive("segmentation-train", 0).rng();
    let mut epochs = Vec::with_capacity(schedule.epochs);
    for epoch in 0..schedule.epochs {
        let t0 = Instant::now();
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        for (k, idx) in order.chunks(schedule.batch_size).enumerate() {
            let (x, y) = data
                .train
                .batch(idx, &stats, Some((&augment, &mut rng)), device)?;
            let loss = pixel_cross_entropy(&net.forward_t(&x, true)?, &y)?;
            loss_sum += loss.to_dtype(DType::F64)?.to_scalar::<f64>()? * idx.len() as f64;
            let at = StepPosition {
                step: epoch * steps_per_epoch + k,
                steps_per_epoch,
                epochs: schedule.epochs,
            };
            train_step(&mut sgd, &loss, schedule, at)?;
        }
        let val = evaluate(net, data.val, &stats, classes, schedule.batch_size, device)?;
        let e = SegEpoch {
            train_loss: loss_sum / data.train.len() as f64,
            val: SegScores::of(&val),
            seconds: t0.elapsed().as_secs_f64(),
        };
        epoch_done(epoch, &e);
        epochs.push(e);
    }
    let test = evaluate(net, data.test, &stats, classes, schedule.batch_size, device)?;
    let mut background = ConfusionMatrix::new(classes);
    let labels = data.test.masks(&(0..data.test.len()).collect::<Vec<_>>());
    background
        .add(&labels, &vec![0; labels.len()])
        .map_err(Error::DataMismatch)?;
    Ok(SegReport {
        epochs,
        test: SegScores::of(&test),
        test_all_background: SegScores::of(&background),
    })
}

/// The confusion matrix of `net` (inference mode) over `set`.
pub fn evaluate(
    net: &dyn Network,
    set: &SegSet,
    stats: &[(f64, f64)],
    classes: usize,
    batch_size: usize,
    device: &Device,
) -> Result<ConfusionMatrix> {
    let mut m = ConfusionMatrix::new(classes);
    let all: Vec<usize> = (0..set.len()).collect();
    for idx in all.chunks(batch_size) {
        let (x, _) = set.batch(idx, stats, None, device)?;
        let logits: Tensor = net.forward_t(&x, false)?;
        let predicted: Vec<u32> = logits.argmax(1)?.flatten_all()?.to_vec1()?;
        m.add(&set.masks(idx), &predicted)
            .map_err(Error::DataMismatch)?;
    }
    Ok(m)
}

/// Builds `arch` of the SqueezeNAS `space` (head=segment) with seeded
/// weights on the CPU and trains it ([`train_segmentation`]).
pub fn train_squeezenas(
    space: &nasarena_spaces::SqueezeNasSpace,
    arch: &nasarena_core::Arch,
    data: &SegSplits<'_>,
    recipe: &SegRecipe<'_>,
    seed: Seed,
    epoch_done: impl FnMut(usize, &SegEpoch),
) -> Result<SegReport> {
    let device = Device::Cpu;
    let varmap = candle_nn::VarMap::new();
    let vb =
        nasarena_spaces::SeededInit::var_builder(&varmap, seed.derive("segment-init", 0), &device);
    let net = space.build_segmentation_counted(arch, vb, None)?;
    train_segmentation(&net, &varmap, data, recipe, seed, &device, epoch_done)
}
