//! Differentiable architecture search on a weight-sharing supernet with a
//! Gumbel-Softmax (or softmax) relaxation of every decision.
//!
//! The strategy owns only the architecture logits `theta` (one `(1, arity)`
//! row per decision); the harness owns the supernet, its weights and the
//! data. Each step the strategy hands out mixing weights, and on
//! architecture steps it turns the validation task loss into its search
//! loss (optionally MAC-aware) and takes an Adam step on `theta`.
//!
//! Presets follow the papers (details and numbers in REFERENCES.md):
//! - `fbnet` (Wu et al. 2019): soft Gumbel-Softmax, one sample per batch,
//!   `tau = 5 * exp(-0.045 * epoch)`, loss `CE * alpha * ln(COST)^beta` with
//!   COST the expected MACs (in millions), weight-only warm-up for the first
//!   ninth of the epochs (10 of 90), theta Adam 0.01 with L2 5e-4.
//! - `gdas` (Dong & Yang 2019): hard straight-through samples (only the
//!   sampled candidate runs), tau linear 10 -> 0.1, theta Adam 3e-4 with
//!   betas (0.5, 0.999) and L2 1e-3.
//! - `squeezenas` (Shaw et al. 2019): theta initialised to ones, an
//!   independent soft sample per image, loss `CE + lambda * E[MMACs]`,
//!   weight-only phase first (a quarter of the epochs here).
//! - `darts` (Liu et al. 2019, first order): plain softmax over theta, no
//!   noise, no cost term; the relaxation baseline.
//!
//! Note on `alpha`: with Adam on theta a constant factor on the whole loss
//! cancels out (Adam is invariant to gradient scale), so in the `fbnet` loss
//! only `beta` moves the accuracy/MACs trade-off; `alpha` matters only when
//! the same loss also trains the weights, as it does in FBNet's code.

mod relax;
mod strategy;

pub use relax::{entropy, gumbel_noise, probabilities, relax, softmax_rows};
pub use strategy::{CostTable, Gumbel};

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The strategy's registered name.
pub const NAME: &str = "gumbel";

/// Presets, the default first.
pub const PRESETS: &[&str] = &["fbnet", "gdas", "squeezenas", "darts"];

/// How a decision's logits become mixing weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relaxation {
    /// `softmax((theta + g) / tau)`, every candidate runs.
    Soft,
    /// One-hot in value, soft gradient (straight-through); only the sampled
    /// candidate runs.
    Hard,
    /// `softmax(theta)` without noise or temperature (DARTS).
    Softmax,
}

/// The Gumbel-Softmax temperature over the search.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TauSchedule {
    /// `start * exp(-decay * epoch)` (FBNet).
    Exponential {
        /// Temperature of epoch 0.
        start: f64,
        /// Decay per epoch.
        decay: f64,
    },
    /// Linear from `start` at the first epoch to `end` at the last (GDAS).
    Linear {
        /// Temperature of epoch 0.
        start: f64,
        /// Temperature of the last epoch.
        end: f64,
    },
    /// A fixed temperature.
    Constant {
        /// The temperature.
        value: f64,
    },
}

impl TauSchedule {
    /// The temperature of `epoch` of `total`.
    pub fn at(&self, epoch: usize, total: usize) -> f64 {
        match *self {
            TauSchedule::Exponential { start, decay } => start * (-decay * epoch as f64).exp(),
            TauSchedule::Linear { start, end } => {
                let span = total.saturating_sub(1).max(1) as f64;
                let f = (epoch as f64 / span).min(1.0);
                // Weighted form: exact at both ends.
                start * (1.0 - f) + end * f
            }
            TauSchedule::Constant { value } => value,
        }
    }
}

/// The resource term of the search loss, on the expected MACs under the
/// mixing weights (in units of `cost_unit_macs`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CostLoss {
    /// The task loss alone.
    None,
    /// `CE * alpha * ln(COST)^beta` (FBNet).
    Multiplicative {
        /// Overall factor.
        alpha: f64,
        /// Exponent of the log cost: the trade-off knob.
        beta: f64,
    },
    /// `CE + lambda * COST` (SqueezeNAS).
    Additive {
        /// Weight of the cost.
        lambda: f64,
    },
}

/// Adam for theta with L2 weight decay added to the gradient (as
/// `torch.optim.Adam(weight_decay=...)` in the papers' code).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThetaAdam {
    /// Step size.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator guard.
    pub eps: f64,
    /// L2 penalty coefficient.
    pub weight_decay: f64,
}

/// Configuration of the `gumbel` strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GumbelConfig {
    /// Soft, hard (straight-through) or plain softmax.
    pub relaxation: Relaxation,
    /// One independent sample per image (SqueezeNAS) instead of per batch.
    pub per_image: bool,
    /// Temperature schedule (ignored by `softmax`).
    pub tau: TauSchedule,
    /// Resource term of the search loss.
    pub cost_loss: CostLoss,
    /// MACs per cost unit (1e6: COST in millions of MACs).
    pub cost_unit_macs: f64,
    /// Initial value of every logit.
    pub theta_init: f32,
    /// Optimiser of theta.
    pub theta_optimizer: ThetaAdam,
    /// Fraction of the search epochs that train weights only.
    pub warmup_fraction: f64,
    /// Architectures sampled from the learned distribution at the end and
    /// scored next to the argmax (0: the argmax alone).
    pub derive_samples: usize,
}

impl GumbelConfig {
    /// The named preset.
    pub fn preset(name: &str) -> Option<GumbelConfig> {
        let adam = |lr, beta1, weight_decay| ThetaAdam {
            lr,
            beta1,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        };
        Some(match name {
            "fbnet" => GumbelConfig {
                relaxation: Relaxation::Soft,
                per_image: false,
                tau: TauSchedule::Exponential {
                    start: 5.0,
                    decay: 0.045,
                },
                cost_loss: CostLoss::Multiplicative {
                    alpha: 0.2,
                    beta: 0.6,
                },
                cost_unit_macs: 1e6,
                theta_init: 0.0,
                theta_optimizer: adam(0.01, 0.9, 5e-4),
                warmup_fraction: 10.0 / 90.0,
                derive_samples: 6,
            },
            "gdas" => GumbelConfig {
                relaxation: Relaxation::Hard,
                per_image: false,
                tau: TauSchedule::Linear {
                    start: 10.0,
                    end: 0.1,
                },
                cost_loss: CostLoss::None,
                cost_unit_macs: 1e6,
                theta_init: 0.0,
                theta_optimizer: adam(3e-4, 0.5, 1e-3),
                warmup_fraction: 0.0,
                derive_samples: 0,
            },
            "squeezenas" => GumbelConfig {
                relaxation: Relaxation::Soft,
                per_image: true,
                tau: TauSchedule::Exponential {
                    start: 5.0,
                    decay: 0.045,
                },
                cost_loss: CostLoss::Additive { lambda: 0.01 },
                cost_unit_macs: 1e6,
                theta_init: 1.0,
                theta_optimizer: adam(0.01, 0.9, 0.0),
                warmup_fraction: 0.25,
                derive_samples: 6,
            },
            "darts" => GumbelConfig {
                relaxation: Relaxation::Softmax,
                per_image: false,
                tau: TauSchedule::Constant { value: 1.0 },
                cost_loss: CostLoss::None,
                cost_unit_macs: 1e6,
                theta_init: 0.0,
                theta_optimizer: adam(3e-4, 0.5, 1e-3),
                warmup_fraction: 0.0,
                derive_samples: 0,
            },
            _ => return None,
        })
    }

    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, reason: &str| Err(Error::config(NAME, field, reason));
        let positive = |x: f64| x.is_finite() && x > 0.0;
        let non_negative = |x: f64| x.is_finite() && x >= 0.0;
        match self.tau {
            TauSchedule::Exponential { start, decay }
                if !positive(start) || !non_negative(decay) =>
            {
                return bad("tau", "needs start > 0 and decay >= 0")
            }
            TauSchedule::Linear { start, end } if !positive(start) || !positive(end) => {
                return bad("tau", "needs start > 0 and end > 0")
            }
            TauSchedule::Constant { value } if !positive(value) => {
                return bad("tau.value", "must be > 0")
            }
            _ => {}
        }
        match self.cost_loss {
            CostLoss::Multiplicative { alpha, beta } if !positive(alpha) || !non_negative(beta) => {
                return bad("cost_loss", "needs alpha > 0 and beta >= 0")
            }
            CostLoss::Additive { lambda } if !non_negative(lambda) => {
                return bad("cost_loss.lambda", "must be >= 0")
            }
            _ => {}
        }
        if !positive(self.cost_unit_macs) {
            return bad("cost_unit_macs", "must be > 0");
        }
        let o = &self.theta_optimizer;
        if !positive(o.lr) || !(0.0..1.0).contains(&o.beta1) || !(0.0..1.0).contains(&o.beta2) {
            return bad("theta_optimizer", "needs lr > 0 and betas in [0, 1)");
        }
        if !positive(o.eps) || !non_negative(o.weight_decay) {
            return bad("theta_optimizer", "needs eps > 0 and weight_decay >= 0");
        }
        if !(0.0..1.0).contains(&self.warmup_fraction) {
            return bad("warmup_fraction", "must be in [0, 1)");
        }
        if !self.theta_init.is_finite() {
            return bad("theta_init", "must be finite");
        }
        if self.per_image && self.relaxation == Relaxation::Softmax {
            return bad(
                "per_image",
                "has no meaning for the noise-free softmax relaxation",
            );
        }
        Ok(())
    }
}
