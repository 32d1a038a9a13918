//! The `gumbel` strategy's schedules over the run (temperature, warm-up,
//! the architecture learning rate), its per-logit Adam, cost terms
//! relative to the space and the planned schedule across save/restore.

mod common;

use candle_core::{Device, Tensor};
use common::{TestSpace, ARITIES};
use nasarena_core::{Alternation, EffectiveSchedule, OneShotStrategy, RunShape, StepContext};
use nasarena_strategies::build_one_shot;
use nasarena_strategies::gumbel::{
    CostTable, DARTS_PAPER_STEPS, FBNET_FINAL_TAU, FBNET_PAPER_STEPS, GDAS_PAPER_STEPS,
    MAX_ARCH_LR, NAME, PRESETS,
};
use serde_json::json;

/// Option `o` of every decision costs `(arity - o)` million MACs.
fn costs() -> CostTable {
    CostTable {
        fixed: 2_000_000,
        per_decision: ARITIES
            .iter()
            .map(|&a| (0..a).map(|o| ((a - o) as u64) * 1_000_000).collect())
            .collect(),
    }
}

/// A table shaped like a tiny NAS-Bench-201 cell space (C = 2 at 28x28):
/// `none` and `skip` cost nothing, convolutions a few thousand MACs, and
/// the fixed part is 0.1 million MACs, so with `cost_unit_macs = 1e6` the
/// paper's `ln(COST)` would be negative.
fn cell_like() -> CostTable {
    CostTable {
        fixed: 102_000,
        per_decision: ARITIES
            .iter()
            .map(|&a| {
                // none, skip, 1x1 conv, 3x3 conv, then again.
                (0..a).map(|o| [0, 0, 3_136, 28_224][o % 4]).collect()
            })
            .collect(),
    }
}

fn scaled(t: &CostTable, k: u64) -> CostTable {
    CostTable {
        fixed: t.fixed * k,
        per_decision: t
            .per_decision
            .iter()
            .map(|row| row.iter().map(|c| c * k).collect())
            .collect(),
    }
}

fn try_build(
    preset: &str,
    overrides: serde_json::Value,
    seed: u64,
    table: &CostTable,
) -> nasarena_strategies::Result<Box<dyn OneShotStrategy>> {
    build_one_shot(
        NAME,
        Some(preset),
        &overrides,
        nasarena_core::Seed(seed),
        &TestSpace::new(),
        Some(table),
        &Device::Cpu,
    )
}

fn build(preset: &str, overrides: serde_json::Value, seed: u64) -> Box<dyn OneShotStrategy> {
    try_build(preset, overrides, seed, &costs()).expect("build")
}

fn shape(total_epochs: usize, steps: usize) -> RunShape {
    RunShape {
        total_epochs,
        weight_steps_per_epoch: steps,
        arch_steps_per_epoch: steps,
    }
}

fn ctx(epoch: usize, total: usize) -> StepContext {
    StepContext {
        epoch,
        total_epochs: total,
        step: 0,
        steps_per_epoch: 1,
    }
}

fn plan(preset: &str, s: RunShape) -> EffectiveSchedule {
    build(preset, json!({}), 1).plan_run(&s).expect("plan")
}

/// First and last temperature of every preset on short and long runs, and
/// the per-epoch values agree with `temperature(ctx)`.
#[test]
fn temperature_at_first_and_last_epoch_of_every_preset() {
    for &total in &[1usize, 2, 5, 90, 300] {
        for preset in PRESETS {
            let mut s = build(preset, json!({}), 1);
            let p = s.plan_run(&shape(total, 10)).expect("plan");
            assert_eq!(p.total_epochs, total);
            let Some(t) = &p.temperature else {
                assert!(preset.starts_with("darts"), "{preset}");
                assert_eq!(s.temperature(&ctx(0, total)), None);
                continue;
            };
            assert_eq!(t.len(), total, "{preset}");
            for (e, &tau) in t.iter().enumerate() {
                assert_eq!(s.temperature(&ctx(e, total)), Some(tau), "{preset} {e}");
            }
            let (first, last) = (t[0], t[total - 1]);
            let want_last = match *preset {
                _ if total == 1 => first,
                "fbnet" | "squeezenas" => FBNET_FINAL_TAU,
                "fbnet-paper" | "squeezenas-paper" => 5.0 * (-0.045 * (total - 1) as f64).exp(),
                "gdas" | "gdas-paper" => 0.1,
                other => panic!("unexpected preset {other}"),
            };
            let want_first = if preset.starts_with("gdas") {
                10.0
            } else {
                5.0
            };
            assert!((first - want_first).abs() < 1e-12, "{preset} {total}");
            assert!(
                (last - want_last).abs() < 1e-12,
                "{preset} {total}: {last} vs {want_last}"
            );
        }
    }
    // The paper's schedule reaches the paper's final value only on a
    // 90-epoch run; the default reaches it on any run.
    let short = plan("fbnet-paper", shape(6, 10));
    let last = short.temperature.as_ref().and_then(|t| t.last().copied());
    assert!(last.is_some_and(|t| t > 3.9), "{last:?}");
    let long = plan("fbnet-paper", shape(90, 10));
    let last = long.temperature.as_ref().and_then(|t| t.last().copied());
    assert!(last.is_some_and(|t| (t - FBNET_FINAL_TAU).abs() < 1e-12));
}

/// Warm-up is a rounded fraction of the run, never every epoch, and
/// `trains_architecture` agrees with the plan.
#[test]
fn warmup_is_clamped_and_matches_trains_architecture() {
    let cases = [
        ("fbnet", json!({}), 90, 10),
        ("fbnet", json!({}), 5, 1),
        ("gdas", json!({}), 4, 1),
        ("gdas", json!({}), 10, 3),
        ("gdas", json!({}), 1, 0),
        ("darts", json!({}), 2, 1),
        ("squeezenas", json!({}), 3, 1),
        ("gdas-paper", json!({}), 10, 0),
        ("gdas", json!({"warmup_fraction": 0.99}), 3, 2),
        ("gdas", json!({"warmup_fraction": 0.99}), 1, 0),
        ("fbnet", json!({"warmup_fraction": 0.0}), 7, 0),
    ];
    for (preset, overrides, total, want) in cases {
        let mut s = build(preset, overrides.clone(), 1);
        let p = s.plan_run(&shape(total, 4)).expect("plan");
        assert_eq!(p.warmup_epochs, want, "{preset} {overrides} {total}");
        assert_eq!(p.arch_steps, ((total - want) * 4) as u64);
        for e in 0..total {
            assert_eq!(s.trains_architecture(&ctx(e, total)), e >= want);
        }
    }
}

/// The lr rule: the paper's step budget spread over the run's steps,
/// between the paper's lr and the cap; the paper presets keep the paper's.
#[test]
fn arch_lr_follows_the_step_budget() {
    let lr = |preset: &str, s: RunShape| plan(preset, s).arch_lr.expect("lr");
    // gdas, 10 epochs of 100 steps, 3 warm-up: 700 steps.
    let want = 3e-4 * GDAS_PAPER_STEPS as f64 / 700.0;
    assert!((lr("gdas", shape(10, 100)) - want).abs() < 1e-12);
    assert!(want < MAX_ARCH_LR && want > 3e-4);
    // Short runs get the cap, long runs the paper's lr.
    assert_eq!(lr("gdas", shape(4, 3)), MAX_ARCH_LR);
    assert_eq!(lr("gdas", shape(400, 400)), 3e-4);
    // darts, 5 epochs of 100 steps, 1 warm-up: 400 steps.
    let darts = 3e-4 * DARTS_PAPER_STEPS as f64 / 400.0;
    assert!((lr("darts", shape(5, 100)) - darts).abs() < 1e-12);
    assert!(darts < MAX_ARCH_LR);
    // fbnet: 20 epochs (2 warm-up) of 100 steps: 0.01 * 8000 / 1800;
    // 10 epochs would ask for 0.089, above the cap.
    let fb = 0.01 * FBNET_PAPER_STEPS as f64 / 1_800.0;
    assert!((lr("fbnet", shape(20, 100)) - fb).abs() < 1e-12);
    assert_eq!(lr("fbnet", shape(10, 100)), MAX_ARCH_LR);
    for preset in [
        "fbnet-paper",
        "gdas-paper",
        "darts-paper",
        "squeezenas-paper",
    ] {
        let paper = if preset.starts_with("fbnet") || preset.starts_with("squeezenas") {
            0.01
        } else {
            3e-4
        };
        assert_eq!(lr(preset, shape(3, 2)), paper, "{preset}");
    }
    // The plan also records the alternation of the preset.
    assert_eq!(plan("fbnet", shape(3, 2)).alternation, Alternation::Epoch);
    for preset in ["gdas", "darts", "squeezenas"] {
        assert_eq!(plan(preset, shape(3, 2)).alternation, Alternation::Step);
        assert_eq!(build(preset, json!({}), 1).alternation(), Alternation::Step);
    }
    let s = build("gdas", json!({"alternate": "epoch"}), 1);
    assert_eq!(s.alternation(), Alternation::Epoch);
    let err = try_build("gdas", json!({"alternate": "batch"}), 1, &costs()).expect_err("bad");
    assert!(err.to_string().contains("`batch`"), "{err}");
}

/// The first Adam step moves a logit with a gradient by the effective lr
/// (bias-corrected), so the planned lr is the one used.
#[test]
fn update_uses_the_planned_lr() {
    let mut s = build("darts", json!({}), 1);
    let lr = s.plan_run(&shape(4, 3)).expect("plan").arch_lr.expect("lr");
    assert_eq!(lr, MAX_ARCH_LR);
    let before = logits(s.as_ref());
    let m = s.mixing_weights(&ctx(3, 4), 2).expect("mixing");
    // Squares: no option's coefficient equals its decision's mean, so
    // every logit has a clear gradient.
    let loss = linear_loss(&m, |d, o| (d + o * o) as f32, None);
    s.update_architecture(&loss.backward().expect("grads"))
        .expect("update");
    let after = logits(s.as_ref());
    let moved: Vec<f64> = before
        .iter()
        .flatten()
        .zip(after.iter().flatten())
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).abs())
        .filter(|d| *d > 0.0)
        .collect();
    assert!(!moved.is_empty());
    for d in moved {
        assert!((d - lr).abs() < 1e-4 * lr, "{d} vs {lr}");
    }
}

fn logits(s: &dyn OneShotStrategy) -> Vec<Vec<f32>> {
    s.arch_vars()
        .iter()
        .map(|v| {
            v.as_tensor()
                .flatten_all()
                .and_then(|t| t.to_vec1())
                .expect("theta")
        })
        .collect()
}

/// `sum_d sum_o coef(d, o) * m[d][o]`, over all rows; with `only_picked`
/// each decision's term keeps only the options set in the given masks
/// (what a hard supernet runs: the others are not in the graph).
fn linear_loss(
    m: &nasarena_core::MixingWeights,
    coef: impl Fn(usize, usize) -> f32,
    only_picked: Option<&[Tensor]>,
) -> Tensor {
    let mut total = Tensor::new(0f32, &Device::Cpu).expect("zero");
    for (d, w) in m.per_decision.iter().enumerate() {
        let (rows, arity) = w.dims2().expect("dims");
        let c: Vec<f32> = (0..rows * arity).map(|i| coef(d, i % arity)).collect();
        let c = Tensor::from_vec(c, (rows, arity), &Device::Cpu).expect("coef");
        let mut term = (w * c).expect("mul");
        if let Some(masks) = only_picked {
            term = (term * &masks[d]).expect("mask");
        }
        total = (total + term.sum_all().expect("sum")).expect("add");
    }
    total
}

/// GDAS's hard straight-through samples and SqueezeNAS's per-image soft
/// samples both give every decision a gradient.
#[test]
fn hard_and_per_image_paths_give_gradients() {
    for preset in ["gdas", "squeezenas", "fbnet", "darts"] {
        let mut s = build(preset, json!({"warmup_fraction": 0.0}), 7);
        let before = logits(s.as_ref());
        let m = s.mixing_weights(&ctx(0, 4), 3).expect("mixing");
        let task = linear_loss(&m, |d, o| 0.5 + ((d * 3 + o * 7) % 5) as f32, None);
        let loss = s.search_loss(&task, &m).expect("loss");
        s.update_architecture(&loss.backward().expect("grads"))
            .expect("update");
        let after = logits(s.as_ref());
        for (d, (a, b)) in before.iter().zip(&after).enumerate() {
            assert_ne!(a, b, "{preset}: decision {d} got no update");
        }
    }
}

/// A decision whose sampled candidate contributes nothing (a `none` edge
/// under hard sampling) gets no Adam update and no bias-correction step:
/// its first real update is then a full first step of size lr.
#[test]
fn adam_does_not_advance_a_decision_without_gradient() {
    let mut s = build("gdas", json!({"warmup_fraction": 0.0}), 9);
    let lr = s.plan_run(&shape(2, 3)).expect("plan").arch_lr.expect("lr");
    let start = logits(s.as_ref());
    for _ in 0..5 {
        let m = s.mixing_weights(&ctx(0, 2), 1).expect("mixing");
        let picked: Vec<Tensor> = m.per_decision.iter().map(|w| w.detach()).collect();
        // Decision 0's sampled candidate outputs zero.
        let task = linear_loss(
            &m,
            |d, _| if d == 0 { 0.0 } else { 1.0 + d as f32 },
            Some(&picked),
        );
        s.update_architecture(&task.backward().expect("grads"))
            .expect("update");
    }
    let mid = logits(s.as_ref());
    assert_eq!(mid[0], start[0], "decision 0 moved without a gradient");
    assert!(mid[1..].iter().zip(&start[1..]).all(|(a, b)| a != b));
    let state = s.save_state().expect("save");
    let steps = &state["moments"]["steps"];
    assert_eq!(steps[0], json!([0, 0]), "{steps}");
    assert!(steps[1]
        .as_array()
        .expect("row")
        .iter()
        .all(|v| v == &json!(5)));
    // Now decision 0 gets a gradient: its first step has size lr exactly
    // (bias correction of step 1), not that of a sixth step.
    let m = s.mixing_weights(&ctx(0, 2), 1).expect("mixing");
    let picked: Vec<Tensor> = m.per_decision.iter().map(|w| w.detach()).collect();
    let task = linear_loss(&m, |d, _| if d == 0 { 2.0 } else { 0.0 }, Some(&picked));
    s.update_architecture(&task.backward().expect("grads"))
        .expect("update");
    let end = logits(s.as_ref());
    for (a, b) in end[0].iter().zip(&mid[0]) {
        let d = (f64::from(*a) - f64::from(*b)).abs();
        assert!((d - lr).abs() < 1e-4 * lr, "{d} vs {lr}");
    }
    assert_eq!(end[1..], mid[1..]);
}

/// The fbnet preset builds on a cell-like table where the papers' absolute
/// COST (in millions of MACs) would make ln(COST) negative, and every
/// preset builds on every table.
#[test]
fn relative_cost_makes_every_preset_valid() {
    let err = try_build("fbnet", json!({"cost_unit_macs": 1e6}), 1, &cell_like())
        .expect_err("absolute COST below one unit");
    assert!(err.to_string().contains("cost_unit_macs"), "{err}");
    for table in [costs(), cell_like(), scaled(&cell_like(), 1000)] {
        for preset in PRESETS {
            try_build(preset, json!({}), 1, &table).expect(preset);
        }
    }
    // A reference too small for the table is named.
    let err = try_build("fbnet", json!({"cost_reference": 1.0}), 1, &cell_like())
        .expect_err("ln(COST) <= 0 at the cheapest");
    assert!(err.to_string().contains("cost_reference"), "{err}");
    let free = CostTable {
        fixed: 0,
        per_decision: ARITIES.iter().map(|&a| vec![0; a]).collect(),
    };
    let err = try_build("squeezenas", json!({}), 1, &free).expect_err("nothing costs");
    assert!(err.to_string().contains("cost_loss"), "{err}");
}

/// Two spaces whose costs differ by a constant factor give the same search
/// loss; at the uniform mixture COST is `cost_reference`.
#[test]
fn relative_cost_gives_the_same_loss_on_scaled_spaces() {
    let task = Tensor::new(1.5f32, &Device::Cpu).expect("task");
    for preset in ["fbnet", "squeezenas"] {
        let base = cell_like();
        let mut values = Vec::new();
        for table in [base.clone(), scaled(&base, 37)] {
            let mut s = try_build(preset, json!({}), 11, &table).expect("build");
            let m = s.mixing_weights(&ctx(1, 4), 4).expect("mixing");
            let loss = s.search_loss(&task, &m).expect("loss");
            values.push(loss.to_scalar::<f32>().expect("value"));
        }
        assert!(
            (values[0] - values[1]).abs() <= 1e-5 * values[0].abs(),
            "{preset}: {values:?}"
        );
    }
    // darts-like uniform mixing: fbnet's factor is alpha * ln(30)^beta.
    let mut s =
        try_build("fbnet", json!({"relaxation": "softmax"}), 1, &cell_like()).expect("build");
    let m = s.mixing_weights(&ctx(0, 4), 1).expect("mixing");
    let loss = s.search_loss(&task, &m).expect("loss");
    let want = 1.5 * 0.2 * 30f64.ln().powf(0.6);
    let got = f64::from(loss.to_scalar::<f32>().expect("value"));
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
}

/// The planned schedule survives save/restore in either order with
/// `plan_run`, and a different shape on resume is refused.
#[test]
fn save_and_restore_keep_the_effective_schedule() {
    let run = shape(7, 5);
    let mut a = build("gdas", json!({}), 5);
    let planned = a.plan_run(&run).expect("plan");
    let m = a.mixing_weights(&ctx(3, 7), 1).expect("mixing");
    let loss = linear_loss(&m, |d, o| (d * o) as f32, None);
    a.update_architecture(&loss.backward().expect("grads"))
        .expect("update");
    let state = a.save_state().expect("save");

    // Restore, then plan again with the same numbers.
    let mut b = build("gdas", json!({}), 5);
    b.restore_state(&state).expect("restore");
    assert_eq!(b.plan_run(&run).expect("replan"), planned);
    // Plan, then restore.
    let mut c = build("gdas", json!({}), 5);
    c.plan_run(&run).expect("plan");
    c.restore_state(&state).expect("restore");
    assert_eq!(c.plan_run(&run).expect("replan"), planned);
    // Restored without planning again: the saved plan is in force.
    let mut d = build("gdas", json!({}), 5);
    d.restore_state(&state).expect("restore");
    assert_eq!(d.save_state().expect("save"), state);

    // Both continue exactly as the original with the planned lr.
    for s in [&mut a, &mut b, &mut c, &mut d] {
        let m = s.mixing_weights(&ctx(4, 7), 1).expect("mixing");
        let loss = linear_loss(&m, |d, o| (d + 2 * o) as f32, None);
        s.update_architecture(&loss.backward().expect("grads"))
            .expect("update");
    }
    let want = a.distribution().expect("a");
    for s in [&b, &c, &d] {
        assert_eq!(s.distribution().expect("dist"), want);
    }

    let mut e = build("gdas", json!({}), 5);
    e.restore_state(&state).expect("restore");
    let err = e.plan_run(&shape(8, 5)).expect_err("other shape");
    assert!(err.to_string().contains("planned"), "{err}");
    let mut f = build("gdas", json!({}), 5);
    f.plan_run(&shape(8, 5)).expect("plan");
    assert!(f.restore_state(&state).is_err());
    // A configuration that gives another schedule is refused.
    let mut g = build("gdas", json!({"warmup_fraction": 0.5}), 5);
    let err = g.restore_state(&state).expect_err("changed config");
    assert!(err.to_string().contains("configuration"), "{err}");
}
