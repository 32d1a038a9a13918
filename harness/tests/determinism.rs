//! A fixed seed gives identical per-epoch losses across two runs of the
//! trainer (same machine, same build): weights, batch order and
//! augmentation all come from the seed, and the CPU kernels reduce in a
//! fixed order whatever the thread scheduling.

use candle_core::Device;
use nasarena_core::Seed;
use nasarena_datasets::{split, synthetic, Shape, SyntheticConfig};
use nasarena_harness::optim::SgdConfig;
use nasarena_harness::trainer::{train_and_evaluate, Schedule, TrainReport};
use nasarena_spaces::{build_space, SpaceOptions};

fn run(space: &str, opts: &[&str], genotype: &str, seed: Seed) -> TrainReport {
    let opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
    let space =
        build_space(space, SpaceOptions::parse(space, &opts).expect("opts")).expect("space");
    let arch = space.parse(genotype).expect("arch");
    let [c, h, w] = space.input_shape();
    let data = |n, s| {
        synthetic(
            SyntheticConfig {
                samples: n,
                classes: 10,
                shape: Shape::new(c, h, w),
                noise: 40,
            },
            Seed(s),
        )
        .expect("data")
    };
    let splits = split(&data(96, 1), data(32, 2), 0.25, Seed(3)).expect("split");
    let schedule = Schedule {
        epochs: 3,
        batch_size: 16,
        optimizer: SgdConfig {
            lr: 0.05,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-4,
            decoupled_weight_decay: false,
        },
        warmup_epochs: 1,
        grad_clip: Some(5.0),
        crop_padding: 2,
        horizontal_flip: true,
        random_scale: None,
    };
    train_and_evaluate(
        space.as_ref(),
        &arch,
        &splits,
        &schedule,
        seed,
        &Device::Cpu,
        true,
    )
    .expect("train")
}

fn losses(report: &TrainReport) -> Vec<(u64, u64)> {
    assert!(report.failure.is_none(), "{:?}", report.failure);
    report
        .epochs
        .iter()
        .map(|e| (e.train_loss.to_bits(), e.val_loss.to_bits()))
        .collect()
}

#[test]
fn same_seed_same_fbnet_losses() {
    // Grouped, depthwise (k3, k5, stride 2) and dense convs all run.
    let genotype = "k3_e1,k3_e1_g2,k5_e3,skip,k3_e3,k5_e1_g2,k3_e1,skip,k5_e1,k3_e1_g2,k3_e1,\
                    skip,k5_e1,k3_e1,k5_e1_g2,skip,k3_e1,k5_e1,k3_e1_g2,skip,k3_e1,k5_e1";
    let opts = ["width=0.25", "head=32"];
    let a = run("fbnet-28", &opts, genotype, Seed(7));
    let b = run("fbnet-28", &opts, genotype, Seed(7));
    assert_eq!(losses(&a), losses(&b));
    assert_eq!(a.test, b.test);
    let c = run("fbnet-28", &opts, genotype, Seed(8));
    assert_ne!(losses(&a), losses(&c), "a different seed changes the run");
}

#[test]
fn same_seed_same_cell_losses() {
    let genotype =
        "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|";
    let opts = ["C=4", "N=1", "input=3x16x16"];
    let a = run("cell", &opts, genotype, Seed(11));
    let b = run("cell", &opts, genotype, Seed(11));
    assert_eq!(losses(&a), losses(&b));
}
