//! The `gumbel` one-shot strategy on the shared test space: presets, the
//! shapes and values of its mixing weights, the direction of its MAC-aware
//! losses, the temperature schedules and an exact save/restore (schedules
//! over the run, the lr rule and cost normalisation: gumbel_schedule.rs).

mod common;

use candle_core::{Device, Tensor};
use common::{TestSpace, ARITIES};
use nasarena_core::{OneShotStrategy, SearchSpace, Seed, StepContext};
use nasarena_strategies::build_one_shot;
use nasarena_strategies::gumbel::{CostTable, GumbelConfig, FBNET_FINAL_TAU, NAME, PRESETS};
use serde_json::json;

/// Option `o` of every decision costs `(arity - o)` million MACs: the last
/// option is the cheapest (and all-last is a valid architecture).
fn costs() -> CostTable {
    CostTable {
        fixed: 2_000_000,
        per_decision: ARITIES
            .iter()
            .map(|&a| (0..a).map(|o| ((a - o) as u64) * 1_000_000).collect())
            .collect(),
    }
}

fn build(preset: &str, overrides: serde_json::Value, seed: u64) -> Box<dyn OneShotStrategy> {
    build_one_shot(
        NAME,
        Some(preset),
        &overrides,
        Seed(seed),
        &TestSpace::new(),
        Some(&costs()),
        &Device::Cpu,
    )
    .expect("build")
}

fn ctx(epoch: usize, total: usize) -> StepContext {
    StepContext {
        epoch,
        total_epochs: total,
        step: 0,
        steps_per_epoch: 1,
    }
}

/// A task loss that does not depend on theta: only the cost term moves it.
fn constant_task_loss() -> Tensor {
    Tensor::new(1.5f32, &Device::Cpu).expect("loss")
}

fn run_cost_only(strategy: &mut dyn OneShotStrategy, steps: usize) {
    for step in 0..steps {
        let c = ctx(step / 10, steps / 10);
        let mixing = strategy.mixing_weights(&c, 4).expect("mixing");
        let loss = strategy
            .search_loss(&constant_task_loss(), &mixing)
            .expect("loss");
        let grads = loss.backward().expect("backward");
        strategy.update_architecture(&grads).expect("update");
    }
}

#[test]
fn every_preset_builds_and_unknown_ones_are_named() {
    for preset in PRESETS {
        let s = build(preset, json!({}), 1);
        assert_eq!(s.arch_vars().len(), ARITIES.len());
    }
    let err = build_one_shot(
        NAME,
        Some("enas"),
        &json!({}),
        Seed(1),
        &TestSpace::new(),
        None,
        &Device::Cpu,
    )
    .expect_err("unknown preset");
    assert!(
        err.to_string().contains("fbnet, gdas, squeezenas, darts"),
        "{err}"
    );
    let err = build_one_shot(
        NAME,
        Some("fbnet"),
        &json!({}),
        Seed(1),
        &TestSpace::new(),
        None,
        &Device::Cpu,
    )
    .expect_err("fbnet needs costs");
    assert!(err.to_string().contains("cost_loss"), "{err}");
    let err = build_one_shot(
        NAME,
        Some("gdas"),
        &json!({"tau": {"kind": "linear", "start": 0.0, "end": 1.0}}),
        Seed(1),
        &TestSpace::new(),
        None,
        &Device::Cpu,
    )
    .expect_err("bad tau");
    assert!(err.to_string().contains("`tau`"), "{err}");
}

#[test]
fn mixing_rows_and_values_follow_the_relaxation() {
    let c = ctx(0, 10);
    // fbnet: one soft row per decision summing to 1, nothing exactly zero.
    let mut s = build("fbnet", json!({}), 2);
    let m = s.mixing_weights(&c, 8).expect("mixing");
    assert!(!m.hard);
    for (w, &a) in m.per_decision.iter().zip(ARITIES) {
        let rows: Vec<Vec<f32>> = w.to_vec2().expect("rows");
        assert_eq!((rows.len(), rows[0].len()), (1, a));
        assert!((rows[0].iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(rows[0].iter().all(|&v| v > 0.0));
    }
    // squeezenas: one row per image.
    let mut s = build("squeezenas", json!({}), 2);
    let m = s.mixing_weights(&c, 8).expect("mixing");
    assert_eq!(m.per_decision[0].dims(), &[8, ARITIES[0]]);
    // gdas: hard one-hot rows.
    let mut s = build("gdas", json!({}), 2);
    let m = s.mixing_weights(&c, 8).expect("mixing");
    assert!(m.hard);
    for w in &m.per_decision {
        let row: Vec<f32> = w.flatten_all().and_then(|t| t.to_vec1()).expect("row");
        assert_eq!(row.iter().filter(|&&v| v == 0.0).count(), row.len() - 1);
    }
    // darts: the noise-free softmax of theta (uniform at the start).
    let mut s = build("darts", json!({}), 2);
    let m = s.mixing_weights(&c, 8).expect("mixing");
    let row: Vec<f32> = m.per_decision[3]
        .flatten_all()
        .and_then(|t| t.to_vec1())
        .expect("row");
    assert!(row.iter().all(|&v| (v - 1.0 / 7.0).abs() < 1e-6), "{row:?}");
    assert_eq!(s.temperature(&c), None);
}

#[test]
fn temperature_schedules_follow_the_run_or_the_paper() {
    // fbnet: 5.0 at the first epoch, the paper's final value at the last,
    // whatever the run's length.
    let s = build("fbnet", json!({}), 1);
    for total in [2, 6, 90] {
        assert_eq!(s.temperature(&ctx(0, total)), Some(5.0));
        assert_eq!(s.temperature(&ctx(total - 1, total)), Some(FBNET_FINAL_TAU));
    }
    // fbnet-paper: the paper's per-epoch decay.
    let p = build("fbnet-paper", json!({}), 1);
    let t10 = p.temperature(&ctx(10, 90)).expect("tau");
    assert!((t10 - 5.0 * (-0.45f64).exp()).abs() < 1e-12);
    let g = build("gdas", json!({}), 1);
    assert!((g.temperature(&ctx(0, 50)).expect("tau") - 10.0).abs() < 1e-12);
    assert!((g.temperature(&ctx(49, 50)).expect("tau") - 0.1).abs() < 1e-12);
    // Warm-up: fbnet trains weights only for the first ninth, gdas for a
    // quarter (rounded), gdas-paper not at all.
    assert!(!s.trains_architecture(&ctx(9, 90)));
    assert!(s.trains_architecture(&ctx(10, 90)));
    assert!(!g.trains_architecture(&ctx(12, 50)));
    assert!(g.trains_architecture(&ctx(13, 50)));
    let gp = build("gdas-paper", json!({}), 1);
    assert!(gp.trains_architecture(&ctx(0, 50)));
}

/// With a task loss that ignores the architecture, the MAC-aware losses
/// drive every decision to its cheapest option (the last one here).
#[test]
fn mac_aware_losses_prefer_cheap_candidates() {
    let space = TestSpace::new();
    for (preset, overrides) in [
        ("fbnet", json!({"warmup_fraction": 0.0})),
        (
            "squeezenas",
            json!({"warmup_fraction": 0.0, "cost_loss": {"kind": "additive", "lambda": 0.05}}),
        ),
    ] {
        let mut s = build(preset, overrides, 3);
        run_cost_only(s.as_mut(), 300);
        let arch = s.derive(&space).expect("derive");
        let cheapest: Vec<u32> = ARITIES.iter().map(|&a| a as u32 - 1).collect();
        assert_eq!(arch.choices(), cheapest.as_slice(), "{preset}");
    }
}

/// Without a cost term a constant task loss gives theta no gradient, so
/// the distribution stays uniform (the entropy does not move).
#[test]
fn no_cost_term_no_drift() {
    let mut s = build("gdas", json!({}), 4);
    run_cost_only(s.as_mut(), 50);
    for (p, &a) in s.distribution().expect("dist").iter().zip(ARITIES) {
        assert!(
            p.iter().all(|&q| (q - 1.0 / a as f64).abs() < 1e-3),
            "{p:?}"
        );
    }
}

#[test]
fn save_and_restore_continue_exactly() {
    let space = TestSpace::new();
    let mut a = build("fbnet", json!({"warmup_fraction": 0.0}), 5);
    run_cost_only(a.as_mut(), 20);
    let state = a.save_state().expect("save");
    let mut b = build("fbnet", json!({"warmup_fraction": 0.0}), 5);
    b.restore_state(&state).expect("restore");
    run_cost_only(a.as_mut(), 20);
    run_cost_only(b.as_mut(), 20);
    assert_eq!(a.distribution().expect("a"), b.distribution().expect("b"));
    let sa = a.sample_architectures(5, &space).expect("samples");
    let sb = b.sample_architectures(5, &space).expect("samples");
    assert_eq!(sa, sb);
    let err = b
        .restore_state(&json!({"theta": [[0.0]]}))
        .expect_err("bad state");
    assert!(err.to_string().contains("state"), "{err}");
}

#[test]
fn samples_follow_the_learned_distribution() {
    let space = TestSpace::new();
    let mut s = build("fbnet", json!({"warmup_fraction": 0.0}), 6);
    run_cost_only(s.as_mut(), 300);
    let dist = s.distribution().expect("dist");
    let samples = s.sample_architectures(400, &space).expect("samples");
    for (d, p) in dist.iter().enumerate() {
        let last = p.len() - 1;
        let share = samples
            .iter()
            .filter(|a| a.choices()[d] as usize == last)
            .count() as f64
            / samples.len() as f64;
        assert!(
            (share - p[last]).abs() < 0.08,
            "decision {d}: {share} vs {}",
            p[last]
        );
    }
    assert!(samples.iter().all(|a| space.check(a).is_ok()));
}

#[test]
fn fbnet_config_round_trips_through_json() {
    let cfg = GumbelConfig::preset("fbnet").expect("preset");
    let text = serde_json::to_string(&cfg).expect("json");
    let back: GumbelConfig = serde_json::from_str(&text).expect("parse");
    assert_eq!(cfg, back);
}
