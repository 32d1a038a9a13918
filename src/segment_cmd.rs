//! `nasarena segment`: train one SqueezeNAS segmentation network
//! (`head=segment`) on a Cityscapes-layout folder (Cityscapes itself, or
//! Fashion-MNIST scenes from `nasarena data scenes`) and report validation
//! mIoU per epoch and test mIoU, next to the all-background floor.

use anyhow::{bail, Context, Result};
use clap::Args;
use nasarena_core::{SearchSpace, Seed};
use nasarena_harness::segmentation::data::SceneSplits;
use nasarena_harness::segmentation::data::SegSet;
use nasarena_harness::segmentation::train::train_squeezenas;
use nasarena_harness::trainer::Schedule;
use nasarena_spaces::squeezenas::variants;
use nasarena_spaces::{Realize, SpaceOptions, SqueezeNasSpace};
use std::path::PathBuf;

/// Arguments of `nasarena segment`.
#[derive(Debug, Args)]
pub struct SegmentArgs {
    /// The Cityscapes-layout folder (splits `train`, `val`, `test`).
    #[arg(long)]
    data: PathBuf,
    /// squeezenas-small, squeezenas-large or squeezenas-xlarge.
    #[arg(long, default_value = "squeezenas-small")]
    space: String,
    /// A space option `key=value` (repeatable), e.g. `input=1x64x64`,
    /// `classes=11`.
    #[arg(long = "opt", value_name = "KEY=VALUE")]
    opts: Vec<String>,
    /// The architecture (genotype); default: one drawn from the space with
    /// the seed.
    #[arg(long)]
    arch: Option<String>,
    /// The training schedule as JSON (as `tabulate build` takes it).
    #[arg(
        long,
        default_value = r#"{"epochs":10,"batch_size":32,"optimizer":{"lr":0.05,"momentum":0.9,"nesterov":true,"weight_decay":0.0001},"horizontal_flip":true}"#
    )]
    schedule: String,
    /// Random-scale augmentation `LO,HI`: each training scene is scaled by a
    /// factor drawn from [LO, HI] and cropped (or padded with ignored
    /// pixels) back to its size (the schedule's `random_scale`); `1,1`
    /// leaves the schedule's setting.
    #[arg(long, default_value = "1,1", value_parser = parse_scale)]
    scale: (f32, f32),
    /// Seeds the weights, the batch order and a drawn architecture.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Runs `nasarena segment`.
pub fn run(a: SegmentArgs) -> Result<()> {
    crate::tabulate_build_cmd::set_training_threads(a.threads)?;
    let variant = [variants::SMALL, variants::LARGE, variants::XLARGE]
        .into_iter()
        .find(|v| v.name == a.space)
        .with_context(|| format!("--space `{}`: segmentation needs squeezenas-small, squeezenas-large or squeezenas-xlarge", a.space))?;
    let space = SqueezeNasSpace::new(variant, SpaceOptions::parse(&a.space, &a.opts)?)?;
    let mut schedule: Schedule = serde_json::from_str(&a.schedule)
        .with_context(|| format!("--schedule `{}` is not a schedule in JSON", a.schedule))?;
    if a.scale != (1.0, 1.0) {
        schedule.random_scale = Some(a.scale);
    }
    if schedule.epochs == 0 || schedule.batch_size == 0 {
        bail!("--schedule: epochs and batch_size must be at least 1");
    }
    let load = |split: &str| {
        SegSet::load(&a.data, split).with_context(|| format!("reading the `{split}` split"))
    };
    let splits = SceneSplits::new(load("train")?, load("val")?, load("test")?)
        .with_context(|| format!("reading {}", a.data.display()))?;
    let (train, val, test) = (&splits.train, &splits.val, &splits.test);
    if train.shape != space.input_shape() || train.classes.len() != space.classes() {
        bail!(
            "{} holds {:?} images in {} classes, the space expects {:?} in {}; set --opt input=CxHxW and --opt classes=N",
            a.data.display(), train.shape, train.classes.len(), space.input_shape(), space.classes()
        );
    }
    let seed = Seed(a.seed);
    let arch = match &a.arch {
        Some(text) => space.parse(text).context("--arch")?,
        None => space.sample(&mut seed.derive("segment-arch", 0).rng()),
    };
    let cost = space.cost(&arch)?;
    eprintln!(
        "{} {}: {} MACs, {} parameters; {} train / {} val / {} test images, {} epochs",
        a.space,
        space.format(&arch),
        cost.macs,
        cost.params,
        train.len(),
        val.len(),
        test.len(),
        schedule.epochs
    );
    let started = std::time::Instant::now();
    let report = train_squeezenas(&space, &arch, &splits, &schedule, seed, |k, e| {
        eprintln!(
            "epoch {}/{}: train loss {:.3}, val mIoU {:.1}% (pixel accuracy {:.1}%), {:.0} s",
            k + 1,
            schedule.epochs,
            e.train_loss,
            100.0 * e.val.miou,
            100.0 * e.val.pixel_accuracy,
            e.seconds
        );
    })?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "test mIoU {:.1}% (pixel accuracy {:.1}%) after {:.0} s of training; predicting background everywhere scores {:.1}% mIoU",
        100.0 * report.test.miou, 100.0 * report.test.pixel_accuracy, seconds, 100.0 * report.test_all_background.miou
    );
    for (name, iou) in train.classes.iter().zip(&report.test.iou) {
        println!(
            "  {name:<14} {}",
            iou.map_or("absent".to_string(), |v| format!("{:.1}%", 100.0 * v))
        );
    }
    if let Some(path) = &a.json {
        let doc = serde_json::json!({
            "space": a.space, "options": a.opts, "arch": space.format(&arch),
            "macs": cost.macs, "params": cost.params, "schedule": schedule,
            "seed": a.seed, "seconds": seconds, "report": report,
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// `--scale LO,HI`: a positive range, LO <= HI.
fn parse_scale(text: &str) -> Result<(f32, f32), String> {
    let bad = || format!("`{text}` is not a scale range LO,HI with 0 < LO <= HI (e.g. 0.75,1.25)");
    let (lo, hi) = text.split_once(',').ok_or_else(bad)?;
    let lo: f32 = lo.trim().parse().map_err(|_| bad())?;
    let hi: f32 = hi.trim().parse().map_err(|_| bad())?;
    if !(lo > 0.0 && lo <= hi && hi.is_finite()) {
        return Err(bad());
    }
    Ok((lo, hi))
}
