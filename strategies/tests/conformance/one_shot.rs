//! The checks every one-shot (strategy, preset) pair must pass, driven by
//! the synthetic supernet stand-in of `common::one_shot` (no training);
//! the `one_shot_conformance!` macro in `conformance.rs` turns each into
//! one test per pair.

use crate::common::one_shot::{build, context, search, total_steps, BATCH};
use crate::common::TestSpace;
use nasarena_core::{OneShotStrategy, SearchSpace};

/// The mixing weights of one step as plain numbers, for comparisons.
fn mixing_values(s: &mut dyn OneShotStrategy, k: usize) -> Vec<Vec<Vec<f32>>> {
    let m = s.mixing_weights(&context(k), BATCH).expect("mixing");
    m.per_decision
        .iter()
        .map(|w| w.to_vec2::<f32>().expect("values"))
        .collect()
}

/// One parameter row per decision, and mixing weights that are a
/// distribution over each decision's options: `(rows, arity)` with one
/// row per image for per-image relaxations, finite, non-negative, rows
/// summing to one, one-hot when the strategy says they are hard.
pub fn mixing_weights_are_distributions(name: &str, preset: &str) {
    let space = TestSpace::new();
    let mut s = build(name, preset, 1);
    assert_eq!(
        s.arch_vars().len(),
        space.decisions().len(),
        "{name}/{preset}"
    );
    let m = s.mixing_weights(&context(0), BATCH).expect("mixing");
    assert_eq!(m.per_decision.len(), space.decisions().len());
    for (d, w) in m.per_decision.iter().enumerate() {
        let (rows, arity) = w.dims2().expect("two dimensions");
        assert_eq!(
            arity,
            space.decisions()[d].arity(),
            "{name}/{preset}: decision {d}"
        );
        assert!(rows == 1 || rows == BATCH, "{name}/{preset}: {rows} rows");
        for row in w.to_vec2::<f32>().expect("values") {
            assert!(row.iter().all(|x| x.is_finite() && *x >= 0.0), "{row:?}");
            let sum: f32 = row.iter().sum();
            assert!(
                (sum - 1.0).abs() < 1e-5,
                "{name}/{preset}: row sums to {sum}"
            );
            if m.hard {
                assert_eq!(row.iter().filter(|&&x| x == 1.0).count(), 1, "{row:?}");
            }
        }
    }
}

/// The same seed gives the same search bit for bit; another seed gives
/// other mixing weights unless the relaxation draws no noise (DARTS).
pub fn same_seed_same_search(name: &str, preset: &str) {
    let steps = total_steps();
    let mut a = build(name, preset, 1);
    search(a.as_mut(), 0, steps);
    let mut b = build(name, preset, 1);
    search(b.as_mut(), 0, steps);
    assert_eq!(
        a.distribution().expect("distribution"),
        b.distribution().expect("distribution"),
        "{name}/{preset}: same seed"
    );
    assert_eq!(
        mixing_values(a.as_mut(), steps),
        mixing_values(b.as_mut(), steps)
    );
    let mut c = build(name, preset, 2);
    search(c.as_mut(), 0, steps);
    let noisy = a.temperature(&context(0)).is_some();
    if noisy {
        assert_ne!(
            mixing_values(a.as_mut(), steps + 1),
            mixing_values(c.as_mut(), steps + 1),
            "{name}/{preset}: seeds differ"
        );
    } else {
        // Without noise the seed only reaches the derivation samples.
        assert_eq!(
            a.distribution().expect("distribution"),
            c.distribution().expect("distribution"),
            "{name}/{preset}: a noise-free search ignores the seed"
        );
    }
}

/// Saving mid-search and restoring into a fresh strategy continues
/// exactly as the uninterrupted search (parameters, moments and RNG).
pub fn resumes_exactly(name: &str, preset: &str) {
    let (steps, cut) = (total_steps(), total_steps() / 2 + 1);
    let mut whole = build(name, preset, 3);
    search(whole.as_mut(), 0, steps);
    let mut first = build(name, preset, 3);
    search(first.as_mut(), 0, cut);
    let text = serde_json::to_string(&first.save_state().expect("save")).expect("json");
    drop(first);
    let mut resumed = build(name, preset, 3);
    let value: serde_json::Value = serde_json::from_str(&text).expect("parse");
    resumed.restore_state(&value).expect("restore");
    search(resumed.as_mut(), cut, steps);
    assert_eq!(
        resumed.distribution().expect("distribution"),
        whole.distribution().expect("distribution"),
        "{name}/{preset}: resume continues exactly"
    );
    assert_eq!(
        mixing_values(resumed.as_mut(), steps),
        mixing_values(whole.as_mut(), steps)
    );
}

/// After the search, the distribution is one per decision, and the
/// derived and sampled architectures fit the space (or are refused with
/// an error, never a panic or an invalid architecture).
pub fn derives_valid_architectures(name: &str, preset: &str) {
    let space = TestSpace::new();
    let mut s = build(name, preset, 4);
    search(s.as_mut(), 0, total_steps());
    for row in s.distribution().expect("distribution") {
        let sum: f64 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6, "{name}/{preset}: {row:?}");
    }
    if let Ok(arch) = s.derive(&space) {
        space
            .check(&arch)
            .unwrap_or_else(|e| panic!("{name}/{preset}: {e}"));
    }
    if let Ok(archs) = s.sample_architectures(5, &space) {
        assert_eq!(archs.len(), 5);
        assert!(
            archs.iter().all(|a| space.check(a).is_ok()),
            "{name}/{preset}"
        );
    }
}
