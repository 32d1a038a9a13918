//! Schedules of a `gumbel` search defined over the run the budget affords:
//! the temperature per epoch, the weight-only warm-up, and the
//! architecture learning rate scaled to the number of architecture steps
//! (the rules and their numbers are in the module doc of `gumbel`).

use nasarena_core::EffectiveSchedule;
use serde::{Deserialize, Serialize};

/// The Gumbel-Softmax temperature over the search.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TauSchedule {
    /// Exponential (geometric) from `start` at the run's first epoch to
    /// `end` at its last, whatever the number of epochs: FBNet's decay
    /// stretched over the run.
    Geometric {
        /// Temperature of the first epoch.
        start: f64,
        /// Temperature of the last epoch.
        end: f64,
    },
    /// `start * exp(-decay * epoch)`, independent of the run's length
    /// (FBNet's paper schedule, meant for 90-epoch runs).
    Exponential {
        /// Temperature of epoch 0.
        start: f64,
        /// Decay per epoch.
        decay: f64,
    },
    /// Linear from `start` at the first epoch to `end` at the last (GDAS).
    Linear {
        /// Temperature of the first epoch.
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
    /// The temperature of `epoch` (from 0) of a run of `total` epochs. A
    /// one-epoch run stays at the start value.
    pub fn at(&self, epoch: usize, total: usize) -> f64 {
        let span = total.saturating_sub(1).max(1);
        let f = (epoch as f64 / span as f64).min(1.0);
        match *self {
            TauSchedule::Geometric { start, end } => {
                if epoch >= span && total > 1 {
                    end
                } else {
                    start * (end / start).powf(f)
                }
            }
            TauSchedule::Exponential { start, decay } => start * (-decay * epoch as f64).exp(),
            // Weighted form: exact at both ends.
            TauSchedule::Linear { start, end } => start * (1.0 - f) + end * f,
            TauSchedule::Constant { value } => value,
        }
    }
}

/// How the learning rate of theta follows the number of architecture
/// steps a run affords.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrScaling {
    /// `theta_optimizer.lr` as given, whatever the run's length (the
    /// papers' setting, meant for full-length runs).
    None,
    /// `lr * paper_steps / steps`, clamped to `[lr, max(max_lr, lr)]`: a
    /// short run gets the paper's total step budget `lr * paper_steps` in
    /// fewer, larger steps, never smaller than the paper's and never above
    /// `max_lr`.
    StepBudget {
        /// Architecture steps of the paper's search.
        paper_steps: u64,
        /// The largest learning rate the rule may give.
        max_lr: f64,
    },
}

impl LrScaling {
    /// The learning rate for a run of `steps` architecture steps, given
    /// the configured (paper) learning rate `lr`.
    pub fn effective(&self, lr: f64, steps: u64) -> f64 {
        match *self {
            LrScaling::None => lr,
            LrScaling::StepBudget {
                paper_steps,
                max_lr,
            } => {
                let scaled = lr * paper_steps as f64 / steps.max(1) as f64;
                scaled.min(max_lr.max(lr)).max(lr)
            }
        }
    }
}

/// Leading weight-only epochs of a run of `total` epochs: `fraction` of
/// them, rounded, but never every epoch (at most `total - 1`, so a
/// one-epoch run has no warm-up).
pub fn warmup_epochs(fraction: f64, total: usize) -> usize {
    if total <= 1 {
        return 0;
    }
    ((fraction * total as f64).round() as usize).min(total - 1)
}

/// Whether two schedules agree up to the last bits of their floats (a
/// schedule read back from JSON may differ in the last place).
pub(crate) fn same_schedule(a: &EffectiveSchedule, b: &EffectiveSchedule) -> bool {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0);
    let temps = match (&a.temperature, &b.temperature) {
        (Some(x), Some(y)) => x.len() == y.len() && x.iter().zip(y).all(|(&p, &q)| close(p, q)),
        (None, None) => true,
        _ => false,
    };
    let lrs = match (a.arch_lr, b.arch_lr) {
        (Some(x), Some(y)) => close(x, y),
        (None, None) => true,
        _ => false,
    };
    a.alternation == b.alternation
        && a.affine_batch_norm == b.affine_batch_norm
        && a.total_epochs == b.total_epochs
        && a.warmup_epochs == b.warmup_epochs
        && a.arch_steps == b.arch_steps
        && temps
        && lrs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometric_is_exact_at_both_ends_and_monotone() {
        let t = TauSchedule::Geometric {
            start: 5.0,
            end: 0.1,
        };
        for total in [2, 3, 7, 90] {
            assert_eq!(t.at(0, total), 5.0);
            assert_eq!(t.at(total - 1, total), 0.1);
            for e in 1..total {
                assert!(t.at(e, total) < t.at(e - 1, total));
            }
        }
        assert_eq!(t.at(0, 1), 5.0);
    }

    #[test]
    fn lr_rule_clamps_to_paper_and_cap() {
        let r = LrScaling::StepBudget {
            paper_steps: 1000,
            max_lr: 0.05,
        };
        assert_eq!(r.effective(1e-3, 10), 0.05);
        assert!((r.effective(1e-3, 100) - 0.01).abs() < 1e-15);
        assert_eq!(r.effective(1e-3, 5000), 1e-3);
        assert_eq!(r.effective(1e-3, 0), 0.05);
        assert_eq!(LrScaling::None.effective(1e-3, 10), 1e-3);
    }

    #[test]
    fn warmup_never_takes_every_epoch() {
        assert_eq!(warmup_epochs(0.25, 0), 0);
        assert_eq!(warmup_epochs(0.25, 1), 0);
        assert_eq!(warmup_epochs(0.9, 2), 1);
        assert_eq!(warmup_epochs(0.99, 10), 9);
        assert_eq!(warmup_epochs(0.25, 10), 3);
        assert_eq!(warmup_epochs(10.0 / 90.0, 90), 10);
    }
}
