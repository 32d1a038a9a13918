//! The MAC-aware FBNet search on a reduced `fbnet-28` (width 0.25) over a
//! slice of the bundled Fashion-MNIST: the per-layer distributions
//! sharpen (mean entropy falls over the epochs under the cost term) and a stronger cost term
//! derives an architecture with fewer MACs than a search without one.

mod common;

use common::{epochs, run_experiment};
use nasarena_results::Journal;

fn experiment_text(beta: f64) -> String {
    format!(
        r#"
name = "mac-aware-beta-{beta}"
seed = 3
repeats = 1

[dataset]
name = "fashion-mnist-subset"
val_fraction = 0.01
train_limit = 40

[[space]]
name = "fbnet-28"
options = {{ width = "0.25" }}

[[strategy]]
name = "gumbel"
preset = "fbnet"
overrides = {{ warmup_fraction = 0.0, derive_samples = 0, cost_unit_macs = 1e5, cost_loss = {{ kind = "multiplicative", alpha = 0.2, beta = {beta} }} }}

[evaluator]
epochs = 1
batch_size = 8
optimizer = {{ lr = 0.05, momentum = 0.9 }}

[budget]
unit = "train_samples"
limit = 80

[final]
schedule = {{ epochs = 1, batch_size = 8, optimizer = {{ lr = 0.05, momentum = 0.9 }} }}
"#
    )
}

fn search(beta: f64, dir: &std::path::Path) -> Journal {
    run_experiment(&format!("beta-{beta}"), &experiment_text(beta), dir)
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

#[test]
fn stronger_cost_term_derives_fewer_macs_and_entropy_falls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = search(0.0, dir.path());
    let costly = search(8.0, dir.path());
    let (p, c) = (epochs(&plain), epochs(&costly));
    assert_eq!(
        (p.len(), c.len()),
        (2, 2),
        "32 + 8 samples per epoch, 80 in all"
    );
    let uniform = 9f64.ln();
    for run in [&p, &c] {
        assert!(mean(&run[1].entropy) < uniform);
    }
    let (first, last) = (mean(&c[0].entropy), mean(&c[1].entropy));
    assert!(last < first, "entropy {first} -> {last}");
    let (p_last, c_last) = (p[p.len() - 1], c[c.len() - 1]);
    eprintln!(
        "beta 0: {} MACs (expected {:.0}); beta 8: {} MACs (expected {:.0})",
        p_last.derived_macs, p_last.expected_macs, c_last.derived_macs, c_last.expected_macs
    );
    assert!(
        c_last.derived_macs < p_last.derived_macs,
        "beta 8 derived {} MACs, beta 0 derived {}",
        c_last.derived_macs,
        p_last.derived_macs
    );
    assert!(c_last.expected_macs < p_last.expected_macs);
}
