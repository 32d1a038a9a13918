//! Times training steps of a stand-alone network against the same
//! architecture run inside the supernet with hard (one-hot) mixing and with
//! soft (all candidates) mixing, on random data: the supernet's overhead.
//!
//! `cargo run --release -p nasarena-harness --example supernet_step -- cell C=8 N=1 input=1x28x28`

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use nasarena_core::Seed;
use nasarena_harness::optim::{Sgd, SgdConfig};
use nasarena_spaces::layers::trainable_vars;
use nasarena_spaces::supernet::one_hot_mixing;
use nasarena_spaces::{build_space, SeededInit, SpaceOptions};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().cloned().unwrap_or_else(|| "cell".into());
    let space = build_space(
        &name,
        SpaceOptions::parse(&name, &args[1.min(args.len())..])?,
    )?;
    let device = Device::Cpu;
    let [c, h, w] = space.input_shape();
    // Batch size from the environment (default 64): soft supernets need much memory.
    let batch: usize = std::env::var("BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(64);
    let steps = 5;
    let x = Tensor::from_vec(
        (0..batch * c * h * w)
            .map(|i| ((i * 31 % 97) as f32) / 50.0 - 1.0)
            .collect::<Vec<_>>(),
        (batch, c, h, w),
        &device,
    )?;
    let y = Tensor::from_vec(
        (0..batch as u32)
            .map(|i| i % space.classes() as u32)
            .collect::<Vec<_>>(),
        batch,
        &device,
    )?;
    let arch = space.sample(&mut Seed(1).rng());
    let cfg = SgdConfig {
        lr: 0.01,
        momentum: 0.9,
        nesterov: false,
        weight_decay: 0.0,
        decoupled_weight_decay: false,
    };

    let vm = VarMap::new();
    let net = space.build(&arch, SeededInit::var_builder(&vm, Seed(1), &device))?;
    let mut sgd = Sgd::new(trainable_vars(&vm), cfg);
    let started = Instant::now();
    for _ in 0..steps {
        let loss = candle_nn::loss::cross_entropy(&net.forward_t(&x, true)?, &y)?;
        sgd.step(&loss.backward()?)?;
    }
    let standalone = started.elapsed().as_secs_f64() / steps as f64;

    let vm = VarMap::new();
    let sup = space.build_supernet(SeededInit::var_builder(&vm, Seed(1), &device))?;
    let mut sgd = Sgd::new(trainable_vars(&vm), cfg);
    let arities: Vec<usize> = space.decisions().iter().map(|d| d.arity()).collect();
    let hard = one_hot_mixing(arch.choices(), &arities, &device)?;
    let soft: Vec<Tensor> = arities
        .iter()
        .map(|&a| Tensor::full(1.0 / a as f32, (1, a), &device))
        .collect::<candle_core::Result<_>>()?;
    let mut time = |mixing: &[Tensor], is_hard: bool| -> anyhow::Result<f64> {
        let started = Instant::now();
        for _ in 0..steps {
            let loss =
                candle_nn::loss::cross_entropy(&sup.forward_mixed(&x, mixing, is_hard)?, &y)?;
            sgd.step(&loss.backward()?)?;
        }
        Ok(started.elapsed().as_secs_f64() / steps as f64)
    };
    let hard_s = time(&hard, true)?;
    let soft_s = time(&soft, false)?;
    println!("{} arch {}", space.name(), space.format(&arch));
    println!("seconds per step of {batch}: standalone {standalone:.3}  supernet hard {hard_s:.3}  supernet soft {soft_s:.3}");
    Ok(())
}
