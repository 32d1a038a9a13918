//! Golden recommendations: for every registered strategy and preset and
//! seeds `0..SEEDS`, what the strategy does on the shared test space under
//! a deterministic synthetic objective (no training), compared with the
//! record in `tests/golden/recommendations.json` (as nevergrad keeps
//! recorded recommendations per optimizer). Any change in a strategy's
//! draws or arithmetic shows up here as a diff, even one that every
//! property test in `conformance.rs` still accepts.
//!
//! * Black-box entries: the genotype strings of the proposals of
//!   `common::trials(strategy)` ask/tell rounds (every fifth evaluation
//!   fails, so the failure path is recorded too) and the recommendation
//!   after them.
//! * One-shot entries: after the synthetic search of
//!   `common::one_shot::search` (the "task loss" is the expected synthetic
//!   error under the mixing weights), the derived architecture and three
//!   architectures sampled from the learned distribution.
//!
//! Regenerating is an explicit step: run
//!
//! ```text
//! NASARENA_BLESS=1 cargo test -p nasarena-strategies --release --test golden
//! ```
//!
//! and commit the rewritten file with the change that explains it. Any
//! other value of `NASARENA_BLESS` re-records only the entries whose key
//! contains it, e.g. `NASARENA_BLESS=gumbel/` for the one-shot presets.
//!
//! The record holds genotype strings only, no floats; the LSTM controller
//! and the one-shot strategies compute with candle, whose CPU kernels are
//! chosen per instruction set, so re-record on the machine class CI uses
//! if last-bit differences ever flip a draw there.

mod common;

use common::one_shot::{build as build_one_shot, search, total_steps};
use common::{run, trials, TestSpace};
use nasarena_core::{Arch, SearchSpace, Seed};
use nasarena_strategies::{build_black_box, BLACK_BOX, ONE_SHOT};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Seeds recorded per strategy and preset.
const SEEDS: u64 = 4;

/// Architectures sampled from a one-shot strategy's final distribution.
const SAMPLES: usize = 3;

/// What one black-box strategy, preset and seed did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlackBoxRecord {
    /// The proposals' genotypes, in trial order.
    proposals: Vec<String>,
    /// The recommendation after the last trial, if any.
    recommendation: Option<String>,
}

/// What one one-shot strategy, preset and seed derived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OneShotRecord {
    /// The derived genotype, or the error `derive` returned.
    derived: String,
    /// Sampled genotypes, or the one error `sample_architectures` returned.
    samples: Vec<String>,
}

/// The whole golden file, keyed `strategy/preset/seed=N`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Golden {
    black_box: BTreeMap<String, BlackBoxRecord>,
    one_shot: BTreeMap<String, OneShotRecord>,
}

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/recommendations.json")
}

fn key(name: &str, preset: &str, seed: u64) -> String {
    format!("{name}/{preset}/seed={seed}")
}

/// Every fifth evaluation fails.
fn fails(t: u64) -> bool {
    t % 5 == 4
}

fn genotype_or_error(space: &TestSpace, arch: nasarena_core::Result<Arch>) -> String {
    match arch {
        Ok(a) => space.format(&a),
        Err(e) => format!("error: {e}"),
    }
}

fn record_black_box(name: &str, preset: &str, seed: u64) -> BlackBoxRecord {
    let space = TestSpace::new();
    let mut s = build_black_box(
        name,
        Some(preset),
        &serde_json::Value::Null,
        Seed(seed),
        &space,
    )
    .unwrap_or_else(|e| panic!("{name}/{preset}: {e}"));
    let proposals = run(s.as_mut(), &space, 0, trials(name), fails);
    BlackBoxRecord {
        proposals: proposals.iter().map(|a| space.format(a)).collect(),
        recommendation: s.recommend().map(|a| space.format(&a)),
    }
}

fn record_one_shot(name: &str, preset: &str, seed: u64) -> OneShotRecord {
    let space = TestSpace::new();
    let mut s = build_one_shot(name, preset, seed);
    search(s.as_mut(), 0, total_steps());
    let derived = genotype_or_error(&space, s.derive(&space));
    let samples = match s.sample_architectures(SAMPLES, &space) {
        Ok(archs) => archs.iter().map(|a| space.format(a)).collect(),
        Err(e) => vec![format!("error: {e}")],
    };
    OneShotRecord { derived, samples }
}

/// What every registered strategy, preset and seed does now.
fn record_all() -> Golden {
    let mut golden = Golden::default();
    for (name, presets) in BLACK_BOX {
        for preset in presets.iter() {
            for seed in 0..SEEDS {
                let r = record_black_box(name, preset, seed);
                golden.black_box.insert(key(name, preset, seed), r);
            }
        }
    }
    for (name, presets) in ONE_SHOT {
        for preset in presets.iter() {
            for seed in 0..SEEDS {
                let r = record_one_shot(name, preset, seed);
                golden.one_shot.insert(key(name, preset, seed), r);
            }
        }
    }
    golden
}

/// The differences of one map, one line per entry.
fn diff_map<T: PartialEq>(
    family: &str,
    expected: &BTreeMap<String, T>,
    actual: &BTreeMap<String, T>,
    describe: impl Fn(&T, &T) -> String,
    out: &mut Vec<String>,
) {
    for (k, want) in expected {
        match actual.get(k) {
            None => out.push(format!("{family} {k}: recorded but no longer produced")),
            Some(got) if got != want => out.push(format!("{family} {k}: {}", describe(want, got))),
            Some(_) => {}
        }
    }
    for k in actual.keys().filter(|k| !expected.contains_key(*k)) {
        out.push(format!("{family} {k}: produced but not recorded"));
    }
}

fn describe_black_box(want: &BlackBoxRecord, got: &BlackBoxRecord) -> String {
    let first = want
        .proposals
        .iter()
        .zip(&got.proposals)
        .position(|(a, b)| a != b);
    match first {
        Some(t) => format!(
            "proposal {t} was `{}`, is `{}`",
            want.proposals[t], got.proposals[t]
        ),
        None if want.proposals.len() != got.proposals.len() => format!(
            "{} proposals recorded, {} produced",
            want.proposals.len(),
            got.proposals.len()
        ),
        None => format!(
            "recommendation was {:?}, is {:?}",
            want.recommendation, got.recommendation
        ),
    }
}

fn describe_one_shot(want: &OneShotRecord, got: &OneShotRecord) -> String {
    format!(
        "derived `{}` then samples {:?}; now `{}` then {:?}",
        want.derived, want.samples, got.derived, got.samples
    )
}

/// `fresh` entries whose key contains `filter` over `old` (all of `fresh`
/// for the filter "1").
fn blessed(old: Golden, fresh: Golden, filter: &str) -> Golden {
    if filter == "1" {
        return fresh;
    }
    fn merge<T>(
        mut old: BTreeMap<String, T>,
        fresh: BTreeMap<String, T>,
        filter: &str,
    ) -> BTreeMap<String, T> {
        old.retain(|k, _| !k.contains(filter));
        old.extend(fresh.into_iter().filter(|(k, _)| k.contains(filter)));
        old
    }
    Golden {
        black_box: merge(old.black_box, fresh.black_box, filter),
        one_shot: merge(old.one_shot, fresh.one_shot, filter),
    }
}

fn read_golden() -> Result<Golden, String> {
    let path = golden_path();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[test]
fn recommendations_match_the_golden_file() {
    let fresh = record_all();
    if let Ok(filter) = std::env::var("NASARENA_BLESS") {
        let merged = blessed(read_golden().unwrap_or_default(), fresh, &filter);
        let text = serde_json::to_string_pretty(&merged).expect("serialise") + "\n";
        let path = golden_path();
        std::fs::create_dir_all(path.parent().expect("tests/golden")).expect("mkdir");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let recorded = read_golden().unwrap_or_else(|e| {
        panic!("{e}\nrecord it with NASARENA_BLESS=1 cargo test -p nasarena-strategies --release --test golden")
    });
    let mut diffs = Vec::new();
    diff_map(
        "black-box",
        &recorded.black_box,
        &fresh.black_box,
        describe_black_box,
        &mut diffs,
    );
    diff_map(
        "one-shot",
        &recorded.one_shot,
        &fresh.one_shot,
        describe_one_shot,
        &mut diffs,
    );
    assert!(
        diffs.is_empty(),
        "{} entries differ from {}:\n  {}\nIf the change is intended, re-record with \
         NASARENA_BLESS=1 cargo test -p nasarena-strategies --release --test golden \
         (NASARENA_BLESS=gumbel/ for the one-shot presets only) and commit the file.",
        diffs.len(),
        golden_path().display(),
        diffs.join("\n  ")
    );
}
