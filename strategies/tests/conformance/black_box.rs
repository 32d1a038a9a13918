//! The checks every black-box (strategy, preset) pair must pass; the
//! `black_box_conformance!` macro in `conformance.rs` turns each into one
//! test per pair.

use crate::common::{self, run, trials, TestSpace};
use nasarena_core::{Arch, BlackBoxStrategy, Decision, SearchSpace, Seed};
use nasarena_strategies::{build_black_box, Error};
use serde_json::{json, Value};

/// Builds `name`/`preset` on the test space; panics with the pair's name.
pub fn build(name: &str, preset: &str, overrides: &Value, seed: u64) -> Box<dyn BlackBoxStrategy> {
    build_black_box(name, Some(preset), overrides, Seed(seed), &TestSpace::new())
        .unwrap_or_else(|e| panic!("{name}/{preset}: {e}"))
}

/// Every third evaluation fails.
pub fn some_fail(t: u64) -> bool {
    t % 3 == 1
}

/// Valid proposals with failures mixed in, determinism per seed, seed
/// sensitivity, and an exact resume from a saved state.
pub fn proposes_valid_reproducible_resumable_sequences(name: &str, preset: &str) {
    let space = TestSpace::new();
    let none = Value::Null;
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

/// A run of nothing but failures still proposes valid architectures,
/// recommends nothing, and learns from the successes that follow.
pub fn all_failures_never_stall(name: &str, preset: &str) {
    let space = TestSpace::new();
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

/// No proposal exceeds `objective.mac_limit`.
pub fn mac_limit_is_respected(name: &str, preset: &str) {
    let space = TestSpace::new();
    // Roughly the 30th percentile of uniform samples' MACs.
    let limit = 150_000u64;
    let overrides = json!({"objective": {"mac_limit": limit}});
    let n = trials(name);
    let mut s = build(name, preset, &overrides, 4);
    let a = run(s.as_mut(), &space, 0, n, some_fail);
    for arch in &a {
        let macs = space.macs(arch).expect("analytic");
        assert!(macs <= limit, "{name}/{preset}: {macs} MACs over {limit}");
    }
}

/// A MAC limit on a space that cannot count MACs is refused at build time,
/// naming the config key.
pub fn mac_limit_needs_a_counting_space(name: &str, preset: &str) {
    let blind = TestSpace::with_macs(false);
    let overrides = json!({"objective": {"mac_limit": 1000}});
    let err = build_black_box(name, Some(preset), &overrides, Seed(1), &blind)
        .err()
        .unwrap_or_else(|| panic!("{name}/{preset} accepted a limit it cannot check"));
    assert!(matches!(err, Error::MacsUnavailable { .. }), "{err}");
    assert!(err.to_string().contains("objective.mac_limit"), "{err}");
}

/// A limit nothing meets ends `ask` with an error, not an endless loop.
pub fn unreachable_mac_limit_is_an_error_not_a_hang(name: &str, preset: &str) {
    let space = TestSpace::new();
    let overrides = json!({"objective": {"mac_limit": 1, "limit_retries": 20}});
    let mut s = build(name, preset, &overrides, 5);
    let err = s
        .ask(0, &space, &common::progress(0, 10))
        .expect_err("no architecture meets a limit of 1 MAC");
    assert!(
        err.to_string().contains("mac_limit"),
        "{name}/{preset}: {err}"
    );
}

/// The MnasNet reward works with every strategy.
pub fn mnas_reward_is_selectable(name: &str, preset: &str) {
    let space = TestSpace::new();
    let overrides = json!({"objective": {"reward": {"kind": "mnas", "target_macs": 200000}}});
    let mut s = build(name, preset, &overrides, 6);
    let a = run(s.as_mut(), &space, 0, 40, some_fail);
    assert!(a.iter().all(|x| space.check(x).is_ok()));
    assert!(s.recommend().is_some(), "{name}/{preset}");
}

/// A space whose single decision does not match the test space.
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

/// An observation that does not fit the space, or another space given to
/// `ask`, is an error naming the problem; the strategy keeps working.
pub fn bad_observations_and_spaces_are_errors_not_panics(name: &str, preset: &str) {
    let space = TestSpace::new();
    let other = Other(vec![Decision::new("x", &["a", "b"])]);
    let mut s = build(name, preset, &Value::Null, 8);
    run(s.as_mut(), &space, 0, trials(name), |_| false);
    let short = common::observe(&space, 0, &Arch::new(vec![1]), false);
    let err = s
        .tell(&short)
        .expect_err("an architecture of one decision")
        .to_string();
    assert!(err.contains("does not fit"), "{name}/{preset}: {err}");
    let err = s
        .ask(0, &other, &common::progress(0, 1))
        .expect_err("another space")
        .to_string();
    assert!(err.contains("space `other`"), "{name}/{preset}: {err}");
    // Still works with the right space afterwards.
    run(s.as_mut(), &space, 0, 3, |_| false);
}
