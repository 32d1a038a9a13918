//! One conformance suite for every black-box strategy and every preset:
//! valid proposals, determinism per seed, seed sensitivity, robustness to
//! failed evaluations, the MAC limit, and exact save/restore.

mod common;

use common::{run, TestSpace};
use nasarena_core::{BlackBoxStrategy, SearchSpace, Seed};
use nasarena_strategies::{build_black_box, Error, BLACK_BOX};
use serde_json::{json, Value};

/// Enough trials to leave every initial random phase (evolution
/// `real2019` fills P = 100 first; the GA breeds from trial 50). The
/// controller updates after every tell, so 60 trials exercise it fully
/// while keeping the LSTM presets (a candle backward pass per tell) cheap.
fn trials(name: &str) -> u64 {
    match name {
        "evolution" | "ga" => 130,
        _ => 60,
    }
}

fn cases() -> Vec<(&'static str, &'static str)> {
    BLACK_BOX
        .iter()
        .flat_map(|(name, presets)| presets.iter().map(move |p| (*name, *p)))
        .collect()
}

fn build(name: &str, preset: &str, overrides: &Value, seed: u64) -> Box<dyn BlackBoxStrategy> {
    build_black_box(name, Some(preset), overrides, Seed(seed), &TestSpace::new())
        .unwrap_or_else(|e| panic!("{name}/{preset}: {e}"))
}

/// Every third evaluation fails.
fn some_fail(t: u64) -> bool {
    t % 3 == 1
}

#[test]
fn every_strategy_and_preset_conforms() {
    let space = TestSpace::new();
    let none = Value::Null;
    for (name, preset) in cases() {
        let label = format!("{name}/{preset}");
        let n = trials(name);
        // Valid proposals, with failures mixed in.
        let mut s = build(name, preset, &none, 1);
        let a = run(s.as_mut(), &space, 0, n, some_fail);
        for arch in &a {
            space.check(arch).unwrap_or_else(|e| panic!("{label}: {e}"));
        }
        assert!(
            s.recommend().is_some(),
            "{label}: recommends after evaluations"
        );

        // Same seed, same sequence.
        let mut s = build(name, preset, &none, 1);
        assert_eq!(
            run(s.as_mut(), &space, 0, n, some_fail),
            a,
            "{label}: same seed"
        );

        // Different seed, different sequence.
        let mut s = build(name, preset, &none, 2);
        assert_ne!(
            run(s.as_mut(), &space, 0, n, some_fail),
            a,
            "{label}: seeds differ"
        );

        // Exact resume: save after 57 trials, restore into a fresh strategy.
        let mut s = build(name, preset, &none, 1);
        run(s.as_mut(), &space, 0, 57, some_fail);
        let text = serde_json::to_string(&s.save_state().expect("save")).expect("json");
        drop(s);
        let mut resumed = build(name, preset, &none, 1);
        let value: Value = serde_json::from_str(&text).expect("parse");
        resumed.restore_state(&value).expect("restore");
        let rest = run(resumed.as_mut(), &space, 57, n, some_fail);
        assert_eq!(rest, a[57..].to_vec(), "{label}: resume continues exactly");
    }
}

#[test]
fn all_failures_never_stall() {
    let space = TestSpace::new();
    for (name, preset) in cases() {
        let n = trials(name);
        let mut s = build(name, preset, &Value::Null, 3);
        let a = run(s.as_mut(), &space, 0, n, |_| true);
        assert_eq!(a.len() as u64, n, "{name}/{preset}");
        assert!(a.iter().all(|x| space.check(x).is_ok()), "{name}/{preset}");
        assert_eq!(s.recommend(), None, "{name}/{preset}: nothing evaluated");
        // Successes after a run of failures are still learned from.
        run(s.as_mut(), &space, n, n + 5, |_| false);
        assert!(s.recommend().is_some(), "{name}/{preset}");
    }
}

#[test]
fn mac_limit_is_respected() {
    let space = TestSpace::new();
    // Roughly the 30th percentile of uniform samples' MACs.
    let limit = 150_000u64;
    let overrides = json!({"objective": {"mac_limit": limit}});
    for (name, preset) in cases() {
        let n = trials(name);
        let mut s = build(name, preset, &overrides, 4);
        let a = run(s.as_mut(), &space, 0, n, some_fail);
        for arch in &a {
            let macs = space.macs(arch).expect("analytic");
            assert!(macs <= limit, "{name}/{preset}: {macs} MACs over {limit}");
        }
    }
}

#[test]
fn mac_limit_needs_a_counting_space() {
    let blind = TestSpace::with_macs(false);
    let overrides = json!({"objective": {"mac_limit": 1000}});
    for (name, preset) in cases() {
        let err = build_black_box(name, Some(preset), &overrides, Seed(1), &blind)
            .err()
            .unwrap_or_else(|| panic!("{name}/{preset} accepted a limit it cannot check"));
        assert!(matches!(err, Error::MacsUnavailable { .. }), "{err}");
        assert!(err.to_string().contains("objective.mac_limit"), "{err}");
    }
}

#[test]
fn unreachable_mac_limit_is_an_error_not_a_hang() {
    let space = TestSpace::new();
    let overrides = json!({"objective": {"mac_limit": 1, "limit_retries": 20}});
    for (name, preset) in cases() {
        let mut s = build(name, preset, &overrides, 5);
        let err = s.ask(0, &space, &common::progress(0, 10)).unwrap_err();
        assert!(
            err.to_string().contains("mac_limit"),
            "{name}/{preset}: {err}"
        );
    }
}

#[test]
fn mnas_reward_is_selectable_everywhere() {
    let space = TestSpace::new();
    let overrides = json!({"objective": {"reward": {"kind": "mnas", "target_macs": 200000}}});
    for (name, preset) in cases() {
        let mut s = build(name, preset, &overrides, 6);
        let a = run(s.as_mut(), &space, 0, 40, some_fail);
        assert!(a.iter().all(|x| space.check(x).is_ok()));
        assert!(s.recommend().is_some(), "{name}/{preset}");
    }
}

#[test]
fn bad_configs_name_the_field() {
    let space = TestSpace::new();
    let bad = [
        (
            "evolution",
            json!({"population_size": 3, "sample_size": 3}),
            "population_size",
        ),
        ("evolution", json!({"sample_size": 0}), "sample_size"),
        ("ga", json!({"crossover_rate": 1.5}), "crossover_rate"),
        ("ga", json!({"mutation_rate": -0.1}), "mutation_rate"),
        ("ga", json!({"elitism": 50}), "elitism"),
        ("reinforce", json!({"adam": {"lr": 0.0}}), "adam.lr"),
        (
            "reinforce",
            json!({"baseline_decay": 2.0}),
            "baseline_decay",
        ),
        ("reinforce", json!({"batch_size": 0}), "batch_size"),
        ("random", json!({"dedup_retries": 0}), "dedup_retries"),
        ("random", json!({"dedupp": true}), "dedupp"),
    ];
    for (name, overrides, field) in bad {
        let err = build_black_box(name, None, &overrides, Seed(1), &space)
            .err()
            .unwrap_or_else(|| panic!("{name} accepted {overrides}"));
        assert!(err.to_string().contains(field), "{name}: {err}");
    }
    let err = build_black_box("annealing", None, &Value::Null, Seed(1), &space).err();
    assert!(err.is_some_and(|e| e.to_string().contains("known strategies")));
    let err = build_black_box("evolution", Some("real2020"), &Value::Null, Seed(1), &space).err();
    assert!(err.is_some_and(|e| e.to_string().contains("real2019, nb201")));
}

#[test]
fn restore_refuses_a_foreign_state() {
    let space = TestSpace::new();
    let mut evo = build("evolution", "nb201", &Value::Null, 1);
    run(evo.as_mut(), &space, 0, 5, |_| false);
    let saved = evo.save_state().expect("save");
    let mut other = build("evolution", "real2019", &Value::Null, 1);
    assert!(other.restore_state(&saved).is_err(), "config differs");
    let mut ga = build("ga", "classic", &Value::Null, 1);
    assert!(ga.restore_state(&saved).is_err(), "strategy differs");
    assert!(ga.restore_state(&json!({"garbage": 1})).is_err());
}

#[test]
fn random_dedup_skips_canonical_repeats() {
    // 40 draws from a space of 2 * 5 * ... options: with dedup, no two
    // proposals share a canonical form.
    let space = TestSpace::new();
    let mut s = build("random", "dedup", &Value::Null, 7);
    let a = run(s.as_mut(), &space, 0, 200, |_| false);
    let keys: std::collections::BTreeSet<_> = a.iter().map(|x| space.canonical(x)).collect();
    assert_eq!(keys.len(), a.len());
}

#[test]
fn reinforce_batches_updates() {
    use nasarena_strategies::reinforce::{preset, Reinforce};
    let space = TestSpace::new();
    let mut config = preset("nb201").expect("preset");
    config.batch_size = 4;
    let mut s = Reinforce::new(config, Seed(1), &space).expect("build");
    run(&mut s, &space, 0, 11, |_| false);
    assert_eq!(s.updates(), 2, "11 tells at m = 4 give 2 updates");
}

#[test]
fn bad_observations_and_spaces_are_errors_not_panics() {
    use nasarena_core::{Arch, Decision};
    let space = TestSpace::new();
    #[derive(Debug)]
    struct Other(Vec<Decision>);
    impl SearchSpace for Other {
        fn name(&self) -> &str {
            "other"
        }
        fn decisions(&self) -> &[Decision] {
            &self.0
        }
        fn format(&self, arch: &Arch) -> String {
            format!("{arch:?}")
        }
        fn parse(&self, _: &str) -> nasarena_core::Result<Arch> {
            Ok(Arch::new(vec![0]))
        }
    }
    let other = Other(vec![Decision::new("x", &["a", "b"])]);
    for (name, preset) in cases() {
        let mut s = build(name, preset, &Value::Null, 8);
        run(s.as_mut(), &space, 0, trials(name), |_| false);
        let short = common::observe(&space, 0, &Arch::new(vec![1]), false);
        let err = s.tell(&short).unwrap_err().to_string();
        assert!(err.contains("does not fit"), "{name}/{preset}: {err}");
        let err = s
            .ask(0, &other, &common::progress(0, 1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("space `other`"), "{name}/{preset}: {err}");
        // Still works with the right space afterwards.
        run(s.as_mut(), &space, 0, 3, |_| false);
    }
}

#[test]
fn reinforce_resumes_exactly_mid_batch() {
    use nasarena_strategies::reinforce::{preset, Reinforce};
    let space = TestSpace::new();
    for name in ["nb201", "enas"] {
        let mut config = preset(name).expect("preset");
        config.batch_size = 4;
        let mut whole = Reinforce::new(config.clone(), Seed(9), &space).expect("build");
        let a = run(&mut whole, &space, 0, 30, some_fail);
        let mut first = Reinforce::new(config.clone(), Seed(9), &space).expect("build");
        run(&mut first, &space, 0, 13, some_fail);
        let saved = first.save_state().expect("save");
        let mut resumed = Reinforce::new(config, Seed(9), &space).expect("build");
        resumed.restore_state(&saved).expect("restore");
        assert_eq!(
            run(&mut resumed, &space, 13, 30, some_fail),
            a[13..].to_vec(),
            "{name}"
        );
        assert_eq!(resumed.updates(), whole.updates());
    }
}
