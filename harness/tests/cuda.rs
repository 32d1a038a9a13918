//! GPU checks, compiled only with `--features cuda` and run on a machine
//! with a CUDA GPU (`bench/gpu_check.sh`): training on the GPU follows the
//! CPU run of the same seed (same weights, batches and schedule; only the
//! floating-point summation order differs), device time is measured after
//! a device synchronisation, and journal headers name the GPU.
#![cfg(feature = "cuda")]

mod common;

use candle_core::{Device, Tensor};
use nasarena_core::Seed;
use nasarena_datasets::{split, synthetic, Shape, SyntheticConfig};
use nasarena_harness::device::{describe, open, DeviceChoice};
use nasarena_harness::optim::SgdConfig;
use nasarena_harness::trainer::{train_and_evaluate, Schedule, TrainReport};
use nasarena_spaces::{build_space, SpaceOptions};

fn train(space: &str, opts: &[&str], genotype: &str, device: &Device) -> TrainReport {
    let opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
    let space =
        build_space(space, SpaceOptions::parse(space, &opts).expect("opts")).expect("space");
    let arch = space.parse(genotype).expect("arch");
    let [c, h, w] = space.input_shape();
    let data = |n, s| {
        let shape = Shape::new(c, h, w);
        let cfg = SyntheticConfig {
            samples: n,
            classes: 10,
            shape,
            noise: 40,
        };
        synthetic(cfg, Seed(s)).expect("data")
    };
    let splits = split(&data(128, 1), data(64, 2), 0.25, Seed(3)).expect("split");
    let schedule = Schedule {
        epochs: 2,
        batch_size: 16,
        optimizer: SgdConfig {
            lr: 0.02,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
        },
        warmup_epochs: 0,
        grad_clip: None,
        crop_padding: 0,
        horizontal_flip: false,
        random_scale: None,
    };
    let report = train_and_evaluate(
        space.as_ref(),
        &arch,
        &splits,
        &schedule,
        Seed(7),
        device,
        true,
    )
    .expect("train");
    assert!(report.failure.is_none(), "{:?}", report.failure);
    report
}

fn gpu() -> Device {
    open(DeviceChoice::Cuda(0)).expect("a CUDA GPU (these tests need one)")
}

fn assert_follows_cpu(space: &str, opts: &[&str], genotype: &str) {
    let cpu = train(space, opts, genotype, &Device::Cpu);
    let gpu = train(space, opts, genotype, &gpu());
    for (e, (a, b)) in cpu.epochs.iter().zip(&gpu.epochs).enumerate() {
        let rel = (a.train_loss - b.train_loss).abs() / a.train_loss.abs().max(1e-6);
        assert!(
            rel < 1e-2,
            "{space} epoch {e}: train loss cpu {} gpu {}",
            a.train_loss,
            b.train_loss
        );
        assert!(
            (a.val_accuracy - b.val_accuracy).abs() <= 0.05,
            "{space} epoch {e}: val accuracy cpu {} gpu {}",
            a.val_accuracy,
            b.val_accuracy
        );
    }
    assert!(gpu.cost.device_seconds > 0.0);
}

#[test]
fn cell_training_on_the_gpu_follows_the_cpu() {
    let genotype =
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";
    assert_follows_cpu("cell", &["C=8", "N=1"], genotype);
}

/// Depthwise and grouped convolutions and the fused BN take candle's
/// stock path on CUDA (the custom ops are CPU kernels).
#[test]
fn fbnet_training_on_the_gpu_follows_the_cpu() {
    let genotype = "k3_e1,k3_e1_g2,k5_e3,skip,k3_e3,k5_e1_g2,k3_e1,skip,k5_e1,k3_e1_g2,k3_e1,\
                    skip,k5_e1,k3_e1,k5_e1_g2,skip,k3_e1,k5_e1,k3_e1_g2,skip,k3_e1,k5_e1";
    assert_follows_cpu("fbnet-28", &["width=0.25", "head=32"], genotype);
}

/// GPU work is asynchronous: without a synchronisation the host clock
/// stops before the kernels finish. With it, the measured time covers a
/// fixed amount of queued work, so it cannot be shorter than the same
/// work measured again with a read-back of the result.
#[test]
fn device_time_is_measured_after_a_synchronisation() {
    let device = gpu();
    let a = Tensor::ones((2048, 2048), candle_core::DType::F32, &device).expect("a");
    let work = || {
        let mut x = a.clone();
        for _ in 0..20 {
            x = (x.matmul(&a).expect("matmul") * 1e-3).expect("scale");
        }
        x
    };
    work();
    device.synchronize().expect("sync");
    let started = std::time::Instant::now();
    work();
    device.synchronize().expect("sync");
    let synced = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let x = work();
    let _: f32 = x.sum_all().expect("sum").to_scalar().expect("read back");
    let read_back = started.elapsed().as_secs_f64();
    assert!(synced > 0.0);
    // Same work; the synchronised figure is not a fraction of the real one.
    assert!(
        synced > 0.5 * read_back,
        "synced {synced} s, read back {read_back} s"
    );
}

#[test]
fn the_gpu_is_named_in_headers() {
    let text = describe(&gpu());
    assert!(text.starts_with("cuda:0 ("), "{text}");
    assert!(text.contains("compute capability"), "{text}");
}

/// A one-shot search on the GPU: the architecture parameters and every
/// mixing tensor live on the run's device (candle refuses cross-device
/// ops, so a CPU-side theta would fail at the first step), the
/// architecture steps run and the final record is written.
#[test]
fn a_one_shot_search_runs_on_the_gpu() {
    let text = r#"
name = "gpu-one-shot"
seed = 11
repeats = 1

[dataset]
name = "fashion-mnist-subset"
val_fraction = 0.02
train_limit = 160

[[space]]
name = "cell"
options = { C = "4", N = "1", input = "1x28x28", classes = "10" }

[[strategy]]
name = "gumbel"
preset = "gdas"

[evaluator]
epochs = 1
batch_size = 32
optimizer = { lr = 0.05, momentum = 0.9 }

[budget]
unit = "train_samples"
limit = 480

[final]
schedule = { epochs = 1, batch_size = 32, optimizer = { lr = 0.05, momentum = 0.9 } }
"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = common::run_experiment_on("gpu", text, dir.path(), DeviceChoice::Cuda(0));
    let epochs = common::epochs(&journal);
    let last = epochs.last().expect("an epoch record");
    assert!(last.arch_steps > 0, "no architecture step ran");
    assert!(journal.final_record().is_some(), "no final record");
    assert!(
        journal.header.device.contains("cuda"),
        "{}",
        journal.header.device
    );
}
