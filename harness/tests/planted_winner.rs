//! One-shot searches find a planted winner (issue #22): on the `chain`
//! space with `ops=skip_connect,nor_conv_3x3` (six layers, eight channels,
//! 1x28x28 Fashion-MNIST), every 3x3 conv widens the receptive field that
//! global pooling summarises, so the all-conv chain is decisively better
//! at every decision. A search that learns derives conv on at least 5 of 6
//! layers and its mean entropy falls by at least 30% of ln 2; with theta
//! frozen (`theta_optimizer.lr = 0`) the same check fails, so the test
//! measures the architecture steps, not the derivation.
//!
//! GDAS runs on the residual form of the chain (`residual = "true"`: each
//! layer is `x + op(x)`, the supernet adds `x` once to the mixed op). Its
//! straight-through estimator runs only the sampled op, so its logit
//! gradient is the loss's sensitivity to the scale of that op's output; on
//! the plain chain the next BN removes that scale and the logits do not
//! move (entropy stays at ln 2 to 3 decimals), while next to a residual
//! stream the scale matters, as it does in NAS-Bench-201's cell, where
//! edges into a node are summed. It gets 20,000 training samples (6 of 6
//! planted, entropy down 33% of ln 2, on the AVX-512 kernels; at 15,000:
//! 5 of 6, 26%), but that outcome does not survive other rounding or
//! other seeds (see the test), so the check is ignored by default.
//!
//! DARTS runs on the residual chain too, with its batch norms' affine
//! parameters off during the search as the paper prescribes (Liu et al.
//! 2019, appendix A.1.1), at 30,000 samples: 6 of 6 planted, entropy down
//! 38% of ln 2 (seeds 4 and 5: 6 of 6, 31% and 36%). With affine batch
//! norms it kept skip on 3-5 layers (entropy down 14-22%, even at 45,000
//! samples), the skip preference NAS-Bench-201 reports for it (Dong & Yang
//! 2020): a candidate whose scale the next BN can restore gives its mixing
//! weight nothing to learn. On the plain chain it still moves the logits by
//! only 7-11% of ln 2.

mod common;

use common::{epochs, run_experiment};

/// The outcome of one planted-winner search.
struct Found {
    /// Layers whose derived op is the planted `nor_conv_3x3`.
    planted: usize,
    /// Mean entropy fall over the run, as a fraction of ln 2.
    entropy_fall: f64,
    derived: String,
}

impl Found {
    fn learned(&self) -> bool {
        self.planted >= 5 && self.entropy_fall >= 0.30
    }
}

/// Runs `preset` on the planted chain with extra `overrides` (TOML, each
/// starting with a comma) and reads the outcome off the journal.
fn search(preset: &str, overrides: &str) -> Found {
    search_on(preset, overrides, "", 15_000)
}

/// [`search`] with extra chain options (TOML, each starting with a comma)
/// and a budget in training samples.
fn search_on(preset: &str, overrides: &str, space: &str, budget: u64) -> Found {
    let text = format!(
        r#"
name = "planted"
seed = 3
repeats = 1

[dataset]
name = "fashion-mnist-subset"
val_fraction = 0.2
train_limit = 2000

[[space]]
name = "chain"
options = {{ layers = "6", channels = "8", ops = "skip_connect,nor_conv_3x3" {space} }}

[[strategy]]
name = "gumbel"
preset = "{preset}"
overrides = {{ cost_loss = {{ kind = "none" }} {overrides} }}

[evaluator]
epochs = 1
batch_size = 16
optimizer = {{ lr = 0.05, momentum = 0.9 }}

[budget]
unit = "train_samples"
limit = {budget}

[final]
schedule = {{ epochs = 1, batch_size = 32, optimizer = {{ lr = 0.05, momentum = 0.9 }} }}
"#
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = run_experiment(preset, &text, dir.path());
    let e = epochs(&journal);
    let mean = |h: &[f64]| h.iter().sum::<f64>() / h.len() as f64;
    let (first, last) = (e[0], e[e.len() - 1]);
    let found = Found {
        planted: last
            .derived
            .split(',')
            .filter(|op| *op == "nor_conv_3x3")
            .count(),
        entropy_fall: (mean(&first.entropy) - mean(&last.entropy)) / 2f64.ln(),
        derived: last.derived.clone(),
    };
    eprintln!(
        "{preset}{overrides}{space}: {} ({} of 6 planted), entropy fell {:.1}% of ln 2",
        found.derived,
        found.planted,
        100.0 * found.entropy_fall
    );
    found
}

fn assert_learns(preset: &str) {
    assert_learns_on(preset, "", 15_000);
}

fn assert_learns_on(preset: &str, space: &str, budget: u64) {
    let found = search_on(preset, "", space, budget);
    assert!(
        found.learned(),
        "{preset}: derived {} ({} of 6 planted), entropy fell {:.1}% of ln 2",
        found.derived,
        found.planted,
        100.0 * found.entropy_fall
    );
}

#[test]
fn fbnet_finds_the_planted_conv_chain() {
    assert_learns("fbnet");
}

#[test]
fn squeezenas_finds_the_planted_conv_chain() {
    assert_learns("squeezenas");
}

#[test]
fn without_architecture_steps_the_planted_chain_is_not_found() {
    let found = search("fbnet", ", theta_optimizer = { lr = 0.0 }");
    assert!(
        !found.learned(),
        "frozen theta passed the check: {} ({} planted)",
        found.derived,
        found.planted
    );
    assert!(found.entropy_fall.abs() < 1e-12, "frozen theta moved");
}

/// What GDAS does on every ISA measured: its architecture step moves the
/// logits (entropy down 24-36% of ln 2 over the seeds and kernels below;
/// frozen logits do not move at all), even where the derived cell is not
/// the planted one.
#[test]
fn gdas_architecture_step_moves_the_logits_next_to_a_residual_stream() {
    let found = search_on("gdas", "", r#", residual = "true""#, 20_000);
    assert!(
        found.entropy_fall >= 0.20,
        "gdas: entropy fell only {:.1}% of ln 2 ({})",
        100.0 * found.entropy_fall,
        found.derived
    );
}

/// Ignored: the pass was a property of one ISA's rounding, not of GDAS.
/// On the AVX2 kernels (2026-12-05, 2-core AMD EPYC without AVX-512) the
/// same search derives 3 of 6 (entropy down 29.4% of ln 2), and four
/// seeds of it (`repeats = 4`, 20,000 samples) derive 3, 5, 2 and 5 of 6
/// with entropy down 29, 24, 25 and 36%: one of four passes. More samples
/// do not help on AVX2 (30,000: 5 of 6, 47%; 40,000: 4 of 6, 32%). The
/// portable kernels pass at 20,000 (5 of 6, 33%) and 30,000 (5 of 6, 34%)
/// and miss at 40,000 (6 of 6, 29.95%). Its straight-through gradient
/// is too weak a signal here for a per-seed check; run it with
/// `--ignored` when working on GDAS's architecture step.
#[test]
#[ignore = "GDAS learns the planted chain on 1 of 4 seeds on AVX2; see the comment"]
fn gdas_finds_the_planted_conv_chain_next_to_a_residual_stream() {
    assert_learns_on("gdas", r#", residual = "true""#, 20_000);
}

#[test]
fn darts_finds_the_planted_conv_chain_next_to_a_residual_stream() {
    assert_learns_on("darts", r#", residual = "true""#, 30_000);
}
