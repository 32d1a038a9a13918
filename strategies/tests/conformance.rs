//! One conformance suite for every registered strategy and preset, as one
//! generated test per (strategy, preset, check), so that the first failure
//! no longer hides the others.
//!
//! * Black-box strategies (`black_box_checks`): valid proposals,
//!   determinism per seed, seed sensitivity, robustness to failed
//!   evaluations, the MAC limit, and exact save/restore.
//! * One-shot strategies (`one_shot_checks`), driven by a synthetic
//!   stand-in for the supernet (`common::one_shot`): mixing weights that
//!   are distributions, determinism per seed, exact save/restore, valid
//!   derived architectures.
//!
//! `every_registered_preset_has_generated_tests` fails when a strategy or
//! preset is registered (`BLACK_BOX`, `ONE_SHOT`) without a line in the
//! macro calls below: add one there.

#[path = "conformance/black_box.rs"]
mod black_box_checks;
mod common;
#[path = "conformance/one_shot.rs"]
mod one_shot_checks;

use black_box_checks::{build, some_fail};
use common::{run, TestSpace};
use nasarena_core::{BlackBoxStrategy, SearchSpace, Seed};
use nasarena_strategies::{build_black_box, BLACK_BOX, ONE_SHOT};
use serde_json::{json, Value};

/// Emits, per `module: "strategy" / "preset";` line, a module holding one
/// test per black-box check, and the list of pairs it covered.
macro_rules! black_box_conformance {
    ($($module:ident: $name:literal / $preset:literal;)*) => {
        /// The black-box (strategy, preset) pairs with generated tests.
        const BLACK_BOX_TESTED: &[(&str, &str)] = &[$(($name, $preset)),*];
        $(
            mod $module {
                use crate::black_box_checks as check;

                #[test]
                fn proposes_valid_reproducible_resumable_sequences() {
                    check::proposes_valid_reproducible_resumable_sequences($name, $preset);
                }

                #[test]
                fn all_failures_never_stall() {
                    check::all_failures_never_stall($name, $preset);
                }

                #[test]
                fn mac_limit_is_respected() {
                    check::mac_limit_is_respected($name, $preset);
                }

                #[test]
                fn mac_limit_needs_a_counting_space() {
                    check::mac_limit_needs_a_counting_space($name, $preset);
                }

                #[test]
                fn unreachable_mac_limit_is_an_error_not_a_hang() {
                    check::unreachable_mac_limit_is_an_error_not_a_hang($name, $preset);
                }

                #[test]
                fn mnas_reward_is_selectable() {
                    check::mnas_reward_is_selectable($name, $preset);
                }

                #[test]
                fn bad_observations_and_spaces_are_errors_not_panics() {
                    check::bad_observations_and_spaces_are_errors_not_panics($name, $preset);
                }
            }
        )*
    };
}

/// Emits, per `module: "strategy" / "preset";` line, a module holding one
/// test per one-shot check, and the list of pairs it covered.
macro_rules! one_shot_conformance {
    ($($module:ident: $name:literal / $preset:literal;)*) => {
        /// The one-shot (strategy, preset) pairs with generated tests.
        const ONE_SHOT_TESTED: &[(&str, &str)] = &[$(($name, $preset)),*];
        $(
            mod $module {
                use crate::one_shot_checks as check;

                #[test]
                fn mixing_weights_are_distributions() {
                    check::mixing_weights_are_distributions($name, $preset);
                }

                #[test]
                fn same_seed_same_search() {
                    check::same_seed_same_search($name, $preset);
                }

                #[test]
                fn resumes_exactly() {
                    check::resumes_exactly($name, $preset);
                }

                #[test]
                fn derives_valid_architectures() {
                    check::derives_valid_architectures($name, $preset);
                }
            }
        )*
    };
}

black_box_conformance! {
    random_uniform: "random" / "uniform";
    random_dedup: "random" / "dedup";
    evolution_real2019: "evolution" / "real2019";
    evolution_nb201: "evolution" / "nb201";
    ga_classic: "ga" / "classic";
    reinforce_zoph2017: "reinforce" / "zoph2017";
    reinforce_enas: "reinforce" / "enas";
    reinforce_nb201: "reinforce" / "nb201";
}

one_shot_conformance! {
    gumbel_fbnet: "gumbel" / "fbnet";
    gumbel_gdas: "gumbel" / "gdas";
    gumbel_squeezenas: "gumbel" / "squeezenas";
    gumbel_darts: "gumbel" / "darts";
    gumbel_fbnet_paper: "gumbel" / "fbnet-paper";
    gumbel_gdas_paper: "gumbel" / "gdas-paper";
    gumbel_squeezenas_paper: "gumbel" / "squeezenas-paper";
    gumbel_darts_paper: "gumbel" / "darts-paper";
}

/// The registry's (strategy, preset) pairs, sorted.
fn registered(table: &[(&str, &[&str])]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = table
        .iter()
        .flat_map(|(name, presets)| presets.iter().map(|p| (name.to_string(), p.to_string())))
        .collect();
    pairs.sort();
    pairs
}

/// The pairs a macro call generated tests for, sorted.
fn tested(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, p)| (n.to_string(), p.to_string()))
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn every_registered_preset_has_generated_tests() {
    assert_eq!(tested(BLACK_BOX_TESTED), registered(BLACK_BOX), "black-box");
    assert_eq!(tested(ONE_SHOT_TESTED), registered(ONE_SHOT), "one-shot");
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
