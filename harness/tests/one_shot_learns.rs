//! One-shot searches feel their cost term (issue #22): on real data, a
//! stronger MAC term derives a network with fewer MACs, for FBNet's
//! multiplicative `ln(COST)^beta` and SqueezeNAS's additive
//! `lambda * COST`, both relative to the space's uniform-mixture cost; a
//! search without the term derives a different (costlier) network.

mod common;

use common::{epochs, run_experiment};
use std::path::Path;

/// A search with `cost_loss` (TOML inline table) on a reduced fbnet-28 or
/// squeezenas-small over a slice of the bundled Fashion-MNIST; returns the
/// derived architecture's MACs.
fn derived_macs(space: &str, preset: &str, cost_loss: &str, limit: u32, dir: &Path) -> u64 {
    let options = match space {
        "fbnet-28" => r#"{ width = "0.25" }"#,
        _ => r#"{ head = "classify", input = "1x28x28", classes = "10", drop_strides = "2" }"#,
    };
    let name = format!(
        "{preset}-{}",
        cost_loss.len() + cost_loss.matches('.').count()
    );
    let text = format!(
        r#"
name = "pressure"
seed = 3
repeats = 1

[dataset]
name = "fashion-mnist-subset"
val_fraction = 0.01
train_limit = 40

[[space]]
name = "{space}"
options = {options}

[[strategy]]
name = "gumbel"
preset = "{preset}"
overrides = {{ warmup_fraction = 0.0, derive_samples = 0, cost_loss = {cost_loss} }}

[evaluator]
epochs = 1
batch_size = 8
optimizer = {{ lr = 0.05, momentum = 0.9 }}

[budget]
unit = "train_samples"
limit = {limit}

[final]
schedule = {{ epochs = 1, batch_size = 8, optimizer = {{ lr = 0.05, momentum = 0.9 }} }}
"#
    );
    let sub = dir.join(format!(
        "{name}-{}",
        cost_loss.replace([' ', '{', '}', '=', ',', '"'], "")
    ));
    std::fs::create_dir_all(&sub).expect("dir");
    let journal = run_experiment(preset, &text, &sub);
    let e = epochs(&journal);
    e[e.len() - 1].derived_macs
}

/// The derived MACs fall strictly over three increasing strengths of the
/// cost term, and are the same for every strength with the term off.
fn assert_cost_pressure(space: &str, preset: &str, limit: u32, on: [String; 3], off: String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let macs: Vec<u64> = on
        .iter()
        .map(|c| derived_macs(space, preset, c, limit, dir.path()))
        .collect();
    eprintln!("{preset} on {space}: derived MACs {macs:?} for {on:?}");
    assert!(
        macs.windows(2).all(|w| w[1] < w[0]),
        "{preset}: MACs {macs:?} do not fall over {on:?}"
    );
    let plain = derived_macs(space, preset, &off, limit, dir.path());
    assert_ne!(
        plain, macs[2],
        "{preset}: the strongest term changed nothing"
    );
}

#[test]
fn fbnet_cost_term_derives_fewer_macs_as_beta_grows() {
    let on = [0.1, 1.0, 10.0]
        .map(|b| format!(r#"{{ kind = "multiplicative", alpha = 0.2, beta = {b} }}"#));
    // 320 samples: eight epochs of 32 weight and 8 architecture images.
    assert_cost_pressure("fbnet-28", "fbnet", 320, on, r#"{ kind = "none" }"#.into());
}

#[test]
fn squeezenas_cost_term_derives_fewer_macs_as_lambda_grows() {
    let on = [0.2, 1.0, 4.0].map(|l| format!(r#"{{ kind = "additive", lambda = {l} }}"#));
    // 160 samples: per-step alternation takes 32 + 32 images an epoch.
    assert_cost_pressure(
        "squeezenas-small",
        "squeezenas",
        160,
        on,
        r#"{ kind = "none" }"#.into(),
    );
}
