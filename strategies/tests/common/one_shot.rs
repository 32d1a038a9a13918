//! A deterministic stand-in for a supernet, so one-shot strategies can be
//! driven without training: the "task loss" of a step is the expected
//! synthetic error `sum_d sum_o w[d][o] * (1 - score(d, o))` under the
//! strategy's mixing weights `w`, so its gradient reaches the architecture
//! parameters exactly as a supernet's validation loss would.

use super::{table, TestSpace, ARITIES};
use candle_core::{Device, Tensor};
use nasarena_core::{OneShotStrategy, Seed, StepContext};
use nasarena_strategies::build_one_shot;
use nasarena_strategies::gumbel::CostTable;

/// Images per synthetic batch (per-image relaxations draw one row each).
pub const BATCH: usize = 4;

/// Steps per synthetic epoch; ten epochs make a short schedule in which the
/// warm-up of `fbnet` and `squeezenas` ends.
pub const STEPS_PER_EPOCH: usize = 3;

/// Epochs of the synthetic schedule.
pub const EPOCHS: usize = 10;

/// Option `o` of every decision costs `(arity - o)` million MACs, so the
/// cost term pulls towards the last options while the synthetic error
/// pulls towards `common::optimum()`.
pub fn costs() -> CostTable {
    CostTable {
        fixed: 2_000_000,
        per_decision: ARITIES
            .iter()
            .map(|&a| (0..a).map(|o| ((a - o) as u64) * 1_000_000).collect())
            .collect(),
    }
}

/// Builds a one-shot strategy on the test space with the synthetic costs.
pub fn build(name: &str, preset: &str, seed: u64) -> Box<dyn OneShotStrategy> {
    build_one_shot(
        name,
        Some(preset),
        &serde_json::Value::Null,
        Seed(seed),
        &TestSpace::new(),
        Some(&costs()),
        &candle_core::Device::Cpu,
    )
    .unwrap_or_else(|e| panic!("{name}/{preset}: {e}"))
}

/// The schedule position of global step `k`.
pub fn context(k: usize) -> StepContext {
    StepContext {
        epoch: k / STEPS_PER_EPOCH,
        total_epochs: EPOCHS,
        step: k % STEPS_PER_EPOCH,
        steps_per_epoch: STEPS_PER_EPOCH,
    }
}

/// The synthetic task loss of one forward pass under `weights` (one
/// `(rows, arity)` tensor per decision): the row-averaged expected error.
pub fn synthetic_loss(weights: &[Tensor]) -> candle_core::Result<Tensor> {
    let mut total = Tensor::new(0f32, &Device::Cpu)?;
    for (d, w) in weights.iter().enumerate() {
        let (rows, arity) = w.dims2()?;
        let error: Vec<f32> = (0..arity as u32)
            .map(|o| (1.0 - table(d, o)) as f32)
            .collect();
        let error = Tensor::from_vec(error, (1, arity), &Device::Cpu)?;
        let expected = (w.broadcast_mul(&error)?.sum_all()? / rows as f64)?;
        total = (total + expected)?;
    }
    Ok(total)
}

/// Runs global steps `from..to` of the synthetic search: mixing weights,
/// synthetic loss, search loss, backward and an architecture update on the
/// steps where the strategy trains its parameters (weight-only warm-up
/// steps still draw mixing weights, as the harness does).
pub fn search(strategy: &mut dyn OneShotStrategy, from: usize, to: usize) {
    for k in from..to {
        let ctx = context(k);
        let mixing = strategy.mixing_weights(&ctx, BATCH).expect("mixing");
        if !strategy.trains_architecture(&ctx) {
            continue;
        }
        let task = synthetic_loss(&mixing.per_decision).expect("synthetic loss");
        let loss = strategy.search_loss(&task, &mixing).expect("search loss");
        let grads = loss.backward().expect("backward");
        strategy.update_architecture(&grads).expect("update");
    }
}

/// All steps of the synthetic schedule.
pub fn total_steps() -> usize {
    EPOCHS * STEPS_PER_EPOCH
}
