//! Differentiable architecture search on a weight-sharing supernet with a
//! Gumbel-Softmax (or softmax) relaxation of every decision.
//!
//! The strategy owns only the architecture logits `theta` (one `(1, arity)`
//! row per decision, on the run's device); the harness owns the supernet,
//! its weights and the data. Each step the strategy hands out mixing
//! weights, and on architecture steps it turns the validation task loss
//! into its search loss (optionally cost-aware) and takes an Adam step on
//! `theta`. Before the search the harness tells it the shape of the run
//! ([`nasarena_core::RunShape`]) and the strategy fixes its schedule over
//! that run ([`nasarena_core::EffectiveSchedule`], journaled).
//!
//! # Presets
//!
//! Paper values are in REFERENCES.md. The papers search for 50-250 epochs
//! with 10^4-10^5 architecture steps; a benchmark budget affords a few
//! epochs. Run with the paper's values, such a search does not learn
//! (GDAS: 9 steps at Adam 3e-4 leave the entropy at ln 5 to six decimals;
//! FBNet's per-epoch decay only takes tau from 5.0 to 4.0 over a 6-epoch
//! run), so the default presets keep each paper's relaxation, loss and
//! optimiser but define the schedules over the run; the `*-paper` presets
//! keep the papers' schedules for full-length runs.
//!
//! - `fbnet` (Wu et al. 2019). As the paper: soft Gumbel-Softmax, one
//!   sample per batch, loss `CE * alpha * ln(COST)^beta` with alpha 0.2,
//!   beta 0.6 (reimpl), theta Adam 0.01 with L2 5e-4, weight-only warm-up
//!   for 10/90 of the epochs, per-epoch alternation (weights on 80%, theta
//!   on 20%). Short-run rules: tau decays exponentially from 5.0 at the
//!   run's first epoch to the paper's final value `5 * exp(-0.045 * 89)` ~
//!   0.091 at its last (the paper multiplies by exp(-0.045) per epoch for
//!   90 epochs); the learning rate follows the step rule below; COST is
//!   relative to the space (below).
//! - `gdas` (Dong & Yang 2019). As the paper: hard straight-through
//!   samples (only the sampled candidate runs), tau linear 10 -> 0.1 over
//!   the run's epochs (the paper's schedule is already over its run),
//!   theta Adam 3e-4, betas (0.5, 0.999), L2 1e-3, per-step alternation.
//!   Short-run rules: a weight-only warm-up of 25% of the epochs (the
//!   paper has none; with few epochs the first architecture gradients
//!   would come from an untrained supernet) and the step rule for the lr.
//! - `squeezenas` (Shaw et al. 2019). As the paper: theta initialised to
//!   ones, an independent soft sample per image, `CE + lambda * COST`,
//!   weights alone first (25% of the epochs), then per-step alternation.
//!   REFERENCES gives no temperature or theta optimiser for SqueezeNAS:
//!   the preset uses FBNet's (tau stretched over the run, Adam 0.01) and
//!   FBNet's step count for the lr rule.
//! - `darts` (Liu et al. 2019, first order): plain softmax, no noise, no
//!   cost term, theta Adam 3e-4, betas (0.5, 0.999), L2 1e-3, per-step
//!   alternation, batch norms without affine parameters during the search
//!   (`affine_batch_norm = false`, the paper's appendix A.1.1: otherwise a
//!   BN rescales a candidate's output and undoes its mixing weight; with
//!   them on, DARTS did not find a planted conv chain, keeping skip on 3-5
//!   of 6 layers); the relaxation baseline. Short-run rules: the 25%
//!   warm-up and the step rule, as for `gdas`.
//! - `fbnet-paper`, `gdas-paper`, `squeezenas-paper`, `darts-paper`: the
//!   same with the papers' schedules: the learning rate as given
//!   (`lr_scaling = { kind = "none" }`), FBNet's per-epoch decay
//!   `5 * exp(-0.045 * epoch)` whatever the run's length (`fbnet`,
//!   `squeezenas`), no warm-up for `gdas` and `darts`. The cost term stays
//!   relative (it is not a schedule).
//!
//! # Schedules over the run
//!
//! - Temperature: one value per epoch, `start` at epoch 0 and `end` at the
//!   run's last epoch (`geometric` or `linear`); a one-epoch run stays at
//!   `start`.
//! - Warm-up: `round(warmup_fraction * epochs)` weight-only epochs, at
//!   most `epochs - 1` (a one-epoch run has none), so every run takes at
//!   least one epoch of architecture steps.
//! - Architecture learning rate (`lr_scaling = { kind = "step_budget" }`):
//!   with `S` the architecture steps the run affords (epochs after the
//!   warm-up times architecture steps per epoch) and `S_p` the paper's,
//!   `lr = clamp(lr_p * S_p / S, lr_p, 0.05)`: a short run keeps the
//!   paper's total step budget `lr_p * S_p` (how far Adam, whose steps are
//!   about `lr` in size whatever the gradient's scale, can move a logit),
//!   spent in fewer, larger steps; a run longer than the paper's keeps the
//!   paper's lr. `S_p`: GDAS 97,750 (NAS-Bench-201: 250 epochs x 391
//!   steps of batch 64 on 25,000 validation images), DARTS 19,550 (50
//!   epochs x 391), FBNet and SqueezeNAS 8,000 (an estimate: 80 theta
//!   epochs x ~100 steps of batch 256 on 20% of ImageNet-100). The cap
//!   0.05 is 5x the largest theta lr in the references (FBNet's 0.01): a
//!   logit moves at most ~0.05 per step, so one noisy batch shifts a
//!   probability by at most ~1.3% (p(1-p) * 0.05), and gradient noise
//!   alone moves a logit by about `lr * sqrt(S)` ~ 1.6 nats over 1,000
//!   steps while a consistent gradient can move it `lr * S` = 50. Runs
//!   with fewer steps than `lr_p * S_p / 0.05` (GDAS: 586, DARTS: 117,
//!   FBNet: 1,600) get the cap; a search of a few dozen steps cannot learn
//!   much whatever the rule, which is why the harness alternates per step.
//!
//! # Cost relative to the space
//!
//! COST is the expected cost under the mixing weights divided by the cost
//! of the space's uniform mixture (the fixed part plus every decision's
//! mean candidate cost) and multiplied by `cost_reference`; so a preset
//! puts the same pressure on any space, and a space whose costs are all
//! scaled by a constant gets the same loss. `fbnet`: `cost_reference` 30,
//! so `ln(COST)` ~ 3.4 at the uniform mixture, the scale of the paper's
//! `ln(latency in ms)` (FBNet-B 23.1 ms, FBNet-C 28.1 ms); `ln(COST)` stays
//! positive while the cheapest architecture costs more than 1/30 of the
//! uniform mixture (nasarena's spaces: 0.066-0.45). The pressure at the
//! uniform mixture is then `d ln(loss) / d(relative cost) = beta / ln 30`
//! ~ 0.18. `squeezenas`: `cost_reference` 1 and `lambda` 0.4, the same
//! pressure 0.4 / CE ~ 0.17 at CE = ln 10 (a 10-class supernet early in
//! the search). Setting `cost_unit_macs` switches to the papers' absolute
//! COST (expected MACs, or nanoseconds with a latency table, per unit).
//!
//! # Estimator
//!
//! Theta is updated by Adam with a step count per logit: a logit whose
//! gradient is absent or exactly zero in a step (a decision that sampled
//! an option with zero output, such as `none`, under hard sampling) is not
//! moved, not decayed and does not advance its bias correction.
//!
//! Note on `alpha`: with Adam on theta a constant factor on the whole loss
//! cancels out (Adam is invariant to gradient scale), so in the `fbnet` loss
//! only `beta` moves the accuracy/cost trade-off; `alpha` matters only when
//! the same loss also trains the weights, as it does in FBNet's code.

mod config;
mod relax;
mod schedule;
mod strategy;

pub use config::{
    CostLoss, GumbelConfig, Relaxation, ThetaAdam, DARTS_PAPER_STEPS, FBNET_FINAL_TAU,
    FBNET_PAPER_STEPS, GDAS_PAPER_STEPS, MAX_ARCH_LR,
};
pub use nasarena_core::{entropy, max_probability, CostTable};
pub use relax::{gumbel_noise, probabilities, relax, softmax_rows};
pub use schedule::{warmup_epochs, LrScaling, TauSchedule};
pub use strategy::Gumbel;

/// The strategy's registered name.
pub const NAME: &str = "gumbel";

/// Presets, the default first.
pub const PRESETS: &[&str] = &[
    "fbnet",
    "gdas",
    "squeezenas",
    "darts",
    "fbnet-paper",
    "gdas-paper",
    "squeezenas-paper",
    "darts-paper",
];
