//! The typed configuration of the `gumbel` strategy, its presets and its
//! validation (each error names the field).

use super::schedule::{warmup_epochs, LrScaling, TauSchedule};
use super::NAME;
use crate::{Error, Result};
use nasarena_core::{Alternation, EffectiveSchedule, RunShape};
use serde::{Deserialize, Serialize};

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

/// The resource term of the search loss, on COST: the expected cost under
/// the mixing weights, relative to the space's uniform mixture (see
/// [`GumbelConfig::cost_reference`]).
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
    /// Step size (the paper's; see [`GumbelConfig::lr_scaling`]). Zero
    /// freezes theta at its initial value: the supernet is then trained
    /// under a fixed sampling distribution, which with uniform logits is
    /// weight-sharing random search (Li & Talwalkar 2019), the control
    /// that shows what the architecture steps add.
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
    /// COST of the space's uniform mixture: COST is the expected cost
    /// divided by the uniform mixture's and multiplied by this, so a
    /// setting means the same pressure on every space.
    pub cost_reference: f64,
    /// When set, COST is instead the expected cost in absolute units of
    /// this many MACs (or nanoseconds with a latency table), as the papers
    /// write it; the pressure then depends on the space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_unit_macs: Option<f64>,
    /// Initial value of every logit.
    pub theta_init: f32,
    /// Optimiser of theta.
    pub theta_optimizer: ThetaAdam,
    /// How the learning rate of theta follows the run's architecture steps.
    pub lr_scaling: LrScaling,
    /// Fraction of the search epochs that train weights only (rounded;
    /// never every epoch).
    pub warmup_fraction: f64,
    /// Weight and architecture steps alternate per step or per epoch.
    pub alternate: Alternation,
    /// Architectures sampled from the learned distribution at the end and
    /// scored next to the argmax (0: the argmax alone).
    pub derive_samples: usize,
    /// Whether the supernet's batch norms learn their affine scale and
    /// shift during the search. DARTS disables them so that a candidate's
    /// output cannot be rescaled to undo its mixing weight (Liu et al.
    /// 2019, appendix A.1.1); the statistics are always the batch's.
    #[serde(default = "affine_by_default")]
    pub affine_batch_norm: bool,
}

/// FBNet's temperature at its last epoch: `5 * exp(-0.045 * 89)` ~ 0.0911
/// (90 epochs, Wu et al. 2019; REFERENCES.md).
pub const FBNET_FINAL_TAU: f64 = 0.091_121_446_293_386_52;

/// Architecture steps of FBNet's search (estimate): 80 theta epochs on
/// 20% of ImageNet-100 (~25,600 images) at batch 256 (reimpl) = 100 steps
/// each.
pub const FBNET_PAPER_STEPS: u64 = 8_000;

/// Architecture steps of GDAS on NAS-Bench-201: 250 epochs of 391 steps
/// (25,000 validation images, batch 64).
pub const GDAS_PAPER_STEPS: u64 = 97_750;

/// Architecture steps of first-order DARTS on NAS-Bench-201: 50 epochs of
/// 391 steps (25,000 validation images, batch 64).
pub const DARTS_PAPER_STEPS: u64 = 19_550;

/// The most a scaled theta learning rate may be (5x FBNet's 0.01).
pub const MAX_ARCH_LR: f64 = 0.05;

fn affine_by_default() -> bool {
    true
}

impl GumbelConfig {
    /// The named preset (see the module doc for where each follows its
    /// paper and where a short-run rule replaces the paper's value).
    pub fn preset(name: &str) -> Option<GumbelConfig> {
        let adam = |lr, beta1, weight_decay| ThetaAdam {
            lr,
            beta1,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        };
        let scaled = |paper_steps| LrScaling::StepBudget {
            paper_steps,
            max_lr: MAX_ARCH_LR,
        };
        let fbnet_tau = TauSchedule::Geometric {
            start: 5.0,
            end: FBNET_FINAL_TAU,
        };
        let paper_tau = TauSchedule::Exponential {
            start: 5.0,
            decay: 0.045,
        };
        if let Some(base) = name.strip_suffix("-paper") {
            let mut c = GumbelConfig::preset(base)?;
            c.lr_scaling = LrScaling::None;
            match base {
                "fbnet" | "squeezenas" => c.tau = paper_tau,
                "gdas" | "darts" => c.warmup_fraction = 0.0,
                _ => return None,
            }
            return Some(c);
        }
        Some(match name {
            "fbnet" => GumbelConfig {
                relaxation: Relaxation::Soft,
                per_image: false,
                tau: fbnet_tau,
                cost_loss: CostLoss::Multiplicative {
                    alpha: 0.2,
                    beta: 0.6,
                },
                cost_reference: 30.0,
                cost_unit_macs: None,
                theta_init: 0.0,
                theta_optimizer: adam(0.01, 0.9, 5e-4),
                lr_scaling: scaled(FBNET_PAPER_STEPS),
                warmup_fraction: 10.0 / 90.0,
                alternate: Alternation::Epoch,
                derive_samples: 6,
                affine_batch_norm: true,
            },
            "gdas" => GumbelConfig {
                relaxation: Relaxation::Hard,
                per_image: false,
                tau: TauSchedule::Linear {
                    start: 10.0,
                    end: 0.1,
                },
                cost_loss: CostLoss::None,
                cost_reference: 1.0,
                cost_unit_macs: None,
                theta_init: 0.0,
                theta_optimizer: adam(3e-4, 0.5, 1e-3),
                lr_scaling: scaled(GDAS_PAPER_STEPS),
                warmup_fraction: 0.25,
                alternate: Alternation::Step,
                derive_samples: 0,
                affine_batch_norm: true,
            },
            "squeezenas" => GumbelConfig {
                relaxation: Relaxation::Soft,
                per_image: true,
                tau: fbnet_tau,
                cost_loss: CostLoss::Additive { lambda: 0.4 },
                cost_reference: 1.0,
                cost_unit_macs: None,
                theta_init: 1.0,
                theta_optimizer: adam(0.01, 0.9, 0.0),
                lr_scaling: scaled(FBNET_PAPER_STEPS),
                warmup_fraction: 0.25,
                alternate: Alternation::Step,
                derive_samples: 6,
                affine_batch_norm: true,
            },
            "darts" => GumbelConfig {
                relaxation: Relaxation::Softmax,
                per_image: false,
                tau: TauSchedule::Constant { value: 1.0 },
                cost_loss: CostLoss::None,
                cost_reference: 1.0,
                cost_unit_macs: None,
                theta_init: 0.0,
                theta_optimizer: adam(3e-4, 0.5, 1e-3),
                lr_scaling: scaled(DARTS_PAPER_STEPS),
                warmup_fraction: 0.25,
                alternate: Alternation::Step,
                derive_samples: 0,
                affine_batch_norm: false,
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
            TauSchedule::Geometric { start, end } | TauSchedule::Linear { start, end }
                if !positive(start) || !positive(end) =>
            {
                return bad("tau", "needs start > 0 and end > 0")
            }
            TauSchedule::Exponential { start, decay }
                if !positive(start) || !non_negative(decay) =>
            {
                return bad("tau", "needs start > 0 and decay >= 0")
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
        if !positive(self.cost_reference) {
            return bad("cost_reference", "must be > 0");
        }
        if self.cost_unit_macs.is_some_and(|u| !positive(u)) {
            return bad("cost_unit_macs", "must be > 0 (or left out)");
        }
        let o = &self.theta_optimizer;
        // lr = 0 freezes theta (see `ThetaAdam::lr`).
        if !non_negative(o.lr) || !(0.0..1.0).contains(&o.beta1) || !(0.0..1.0).contains(&o.beta2) {
            return bad("theta_optimizer", "needs lr >= 0 and betas in [0, 1)");
        }
        if !positive(o.eps) || !non_negative(o.weight_decay) {
            return bad("theta_optimizer", "needs eps > 0 and weight_decay >= 0");
        }
        if let LrScaling::StepBudget {
            paper_steps,
            max_lr,
        } = self.lr_scaling
        {
            if paper_steps == 0 || !positive(max_lr) {
                return bad("lr_scaling", "needs paper_steps >= 1 and max_lr > 0");
            }
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

impl GumbelConfig {
    /// The schedule this configuration gives a run of `shape`.
    pub fn plan(&self, shape: &RunShape) -> EffectiveSchedule {
        let total = shape.total_epochs;
        let warmup = warmup_epochs(self.warmup_fraction, total);
        let arch_steps =
            (total.saturating_sub(warmup) as u64).saturating_mul(shape.arch_steps_per_epoch as u64);
        let temperature = (self.relaxation != Relaxation::Softmax)
            .then(|| (0..total).map(|e| self.tau.at(e, total)).collect());
        EffectiveSchedule {
            alternation: self.alternate,
            total_epochs: total,
            warmup_epochs: warmup,
            arch_steps,
            arch_lr: Some(
                self.lr_scaling
                    .effective(self.theta_optimizer.lr, arch_steps),
            ),
            temperature,
            affine_batch_norm: self.affine_batch_norm,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fbnet_final_tau_is_the_papers() {
        let want = 5.0 * (-0.045f64 * 89.0).exp();
        assert!((FBNET_FINAL_TAU - want).abs() < 1e-15, "{want}");
    }

    #[test]
    fn paper_presets_differ_only_in_schedule() {
        for base in ["fbnet", "gdas", "squeezenas", "darts"] {
            let short = GumbelConfig::preset(base).expect("preset");
            let paper = GumbelConfig::preset(&format!("{base}-paper")).expect("paper");
            assert_eq!(paper.lr_scaling, LrScaling::None);
            assert_eq!(paper.cost_loss, short.cost_loss);
            assert_eq!(paper.alternate, short.alternate);
            paper.validate().expect("valid");
        }
        assert!(GumbelConfig::preset("enas-paper").is_none());
    }
}
