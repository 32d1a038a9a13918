//! Search-step throughput of a space's weight-sharing supernet on random
//! data: the engine half of `nasarena bench supernet`.
//!
//! One search step is what a differentiable one-shot search does per
//! batch pair (FBNet, Wu et al. 2019; GDAS, Dong & Yang 2019): a weight
//! step (forward with detached mixing weights, cross-entropy, backward,
//! SGD momentum on the supernet weights) on one batch, then an
//! architecture step (forward with mixing weights that carry gradients,
//! backward, SGD on the architecture logits) on another. Soft mixing runs
//! every candidate weighted by `softmax(alpha)`; hard mixing runs one
//! sampled candidate per decision with straight-through weights (value 1,
//! gradient of the softmax). Samples come from a seeded generator, so the
//! candidates timed are the same run after run.

use crate::bench::peak_rss_mb;
use crate::optim::{Sgd, SgdConfig};
use crate::{Error, Result};
use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::VarMap;
use nasarena_core::Seed;
use nasarena_spaces::layers::{trainable_params, trainable_vars};
use nasarena_spaces::{Realize, SeededInit};
use rand::Rng;
use serde::Serialize;
use std::time::Instant;

/// What to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SupernetBenchConfig {
    /// Images per batch (each search step uses two batches).
    pub batch: usize,
    /// Timed search steps.
    pub steps: usize,
    /// Untimed search steps first.
    pub warmup: usize,
    /// Hard (one sampled candidate per decision) or soft mixing.
    pub hard: bool,
    /// Seed of the weights, the batches and the samples.
    pub seed: Seed,
}

/// Measured search-step throughput.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SupernetBenchReport {
    /// Seconds per search step (weight step + architecture step).
    pub step_s: f64,
    /// Images through forward and backward per second (two batches per
    /// step).
    pub img_s: f64,
    /// Trainable supernet weights (architecture logits not counted).
    pub params: u64,
    /// Peak resident memory of the process, MB.
    pub peak_rss_mb: f64,
    /// Weight-step loss of the last step (a sanity check: finite).
    pub last_loss: f64,
}

/// Builds `space`'s supernet and times search steps on random batches.
pub fn supernet_throughput(
    space: &dyn Realize,
    config: &SupernetBenchConfig,
) -> Result<SupernetBenchReport> {
    let device = &Device::Cpu;
    let varmap = VarMap::new();
    let vb = SeededInit::var_builder(&varmap, config.seed.derive("init", 0), device);
    let net = space.build_supernet(vb)?;
    let params = trainable_params(&varmap);
    let mut sgd = Sgd::new(trainable_vars(&varmap), sgd_config(0.01));
    let alphas: Vec<Var> = space
        .decisions()
        .iter()
        .map(|d| Var::zeros((1, d.arity()), DType::F32, device))
        .collect::<candle_core::Result<_>>()?;
    let mut arch_sgd = Sgd::new(alphas.clone(), sgd_config(0.001));
    // Separate batches for the two steps, as a search uses separate splits.
    let batch = |i: u64| config.seed.derive("supernet-batch", i);
    let (xw, yw) = crate::bench::random_batch(space, config.batch, batch(0), device)?;
    let (xa, ya) = crate::bench::random_batch(space, config.batch, batch(1), device)?;
    let mut rng = config.seed.derive("samples", 0).rng();
    let mut step = |last: &mut f64| -> Result<()> {
        let mixing = mixing_weights(&alphas, config.hard, &mut rng)?;
        let detached: Vec<Tensor> = mixing.iter().map(|m| m.detach()).collect();
        let logits = net.forward_mixed(&xw, &detached, config.hard)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &yw)?;
        sgd.step(&loss.backward()?)?;
        *last = f64::from(loss.to_scalar::<f32>()?);
        let logits = net.forward_mixed(&xa, &mixing, config.hard)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &ya)?;
        arch_sgd.step(&loss.backward()?)?;
        Ok(())
    };
    let mut last_loss = f64::NAN;
    for _ in 0..config.warmup {
        step(&mut last_loss)?;
    }
    let started = Instant::now();
    for _ in 0..config.steps {
        step(&mut last_loss)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let step_s = seconds / config.steps.max(1) as f64;
    Ok(SupernetBenchReport {
        step_s,
        img_s: 2.0 * config.batch as f64 / step_s,
        params,
        peak_rss_mb: peak_rss_mb(),
        last_loss,
    })
}

fn sgd_config(lr: f64) -> SgdConfig {
    SgdConfig {
        lr,
        momentum: 0.9,
        nesterov: false,
        weight_decay: 0.0,
        decoupled_weight_decay: false,
    }
}

/// Per decision, `softmax(alpha)` (soft) or a sampled one-hot row whose
/// value is exactly one-hot and whose gradient is the softmax's
/// (straight-through, as GDAS).
fn mixing_weights(alphas: &[Var], hard: bool, rng: &mut impl Rng) -> Result<Vec<Tensor>> {
    alphas
        .iter()
        .map(|a| {
            let soft = candle_nn::ops::softmax(a.as_tensor(), D::Minus1)?;
            if !hard {
                return Ok(soft);
            }
            let arity = a.dims()[1];
            let pick = rng.random_range(0..arity);
            let one_hot: Vec<f32> = (0..arity).map(|o| f32::from(o == pick)).collect();
            let one_hot = Tensor::from_vec(one_hot, (1, arity), a.device())?;
            (one_hot - soft.detach())? + soft
        })
        .collect::<candle_core::Result<_>>()
        .map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nasarena_spaces::{build_space, SpaceOptions};

    #[test]
    fn times_soft_and_hard_search_steps_of_a_small_cell_supernet() {
        let opts = ["C=4".to_string(), "N=1".to_string()];
        let space =
            build_space("cell", SpaceOptions::parse("cell", &opts).expect("opts")).expect("space");
        for hard in [false, true] {
            let config = SupernetBenchConfig {
                batch: 4,
                steps: 2,
                warmup: 1,
                hard,
                seed: Seed(5),
            };
            let report = supernet_throughput(space.as_ref(), &config).expect("bench");
            assert!(report.step_s > 0.0 && report.img_s > 0.0, "{report:?}");
            assert!(report.last_loss.is_finite(), "{report:?}");
            assert!(report.params > 0);
        }
    }
}
