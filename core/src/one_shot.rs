//! Vocabulary shared by one-shot strategies and the harness loop that
//! drives them: how weight and architecture steps alternate, the shape of
//! a run the budget affords, the schedule a strategy derives from it, the
//! per-candidate cost table of MAC-aware losses, and the diagnostics of a
//! mixing distribution.

use serde::{Deserialize, Serialize};

/// How a one-shot search interleaves supernet weight steps with
/// architecture steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alternation {
    /// One architecture step after every weight step (DARTS, GDAS,
    /// SqueezeNAS: a training batch then a validation batch).
    Step,
    /// A whole epoch of weight steps, then an epoch of architecture steps
    /// (FBNet, Wu et al. 2019, Sec. 3.3).
    Epoch,
}

/// The shape of a search run, fixed by the harness from the budget before
/// the first epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunShape {
    /// Search epochs the budget affords.
    pub total_epochs: usize,
    /// Supernet weight steps per epoch.
    pub weight_steps_per_epoch: usize,
    /// Architecture steps per epoch once the warm-up is over.
    pub arch_steps_per_epoch: usize,
}

/// What a one-shot strategy will do over a run of a given [`RunShape`]:
/// the values a journal header records so that a reader sees the schedule
/// actually used, not the paper's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EffectiveSchedule {
    /// How weight and architecture steps interleave.
    pub alternation: Alternation,
    /// Search epochs of the run.
    pub total_epochs: usize,
    /// Leading epochs that train supernet weights only.
    pub warmup_epochs: usize,
    /// Architecture steps of the whole run (after the warm-up).
    pub arch_steps: u64,
    /// Learning rate of the architecture parameters over the run, when the
    /// strategy has one.
    pub arch_lr: Option<f64>,
    /// Sampling temperature of each epoch, when the relaxation has one.
    pub temperature: Option<Vec<f64>>,
    /// Whether the supernet's batch norms train their affine parameters
    /// (DARTS searches without; journals written before this field
    /// trained them).
    #[serde(default = "affine_by_default")]
    pub affine_batch_norm: bool,
}

fn affine_by_default() -> bool {
    true
}

/// Per-candidate costs of a space such that an architecture costs
/// `fixed + sum_d per_decision[d][choice_d]` (MACs, or nanoseconds from a
/// latency table).
#[derive(Clone, Debug, PartialEq)]
pub struct CostTable {
    /// Cost outside the searched decisions (stem, head, reductions).
    pub fixed: u64,
    /// `per_decision[d][o]`: cost of option `o` of decision `d`.
    pub per_decision: Vec<Vec<u64>>,
}

impl CostTable {
    /// The expected cost under per-decision distributions `dist` (each a
    /// probability vector over that decision's options).
    pub fn expected(&self, dist: &[Vec<f64>]) -> f64 {
        self.fixed as f64
            + dist
                .iter()
                .zip(&self.per_decision)
                .map(|(p, row)| p.iter().zip(row).map(|(q, &c)| q * c as f64).sum::<f64>())
                .sum::<f64>()
    }

    /// The expected cost of the uniform mixture: the fixed part plus, for
    /// every decision, the mean cost of its options. Cost terms are
    /// measured relative to it so that one setting means the same pressure
    /// on every space.
    pub fn uniform(&self) -> f64 {
        self.fixed as f64
            + self
                .per_decision
                .iter()
                .filter(|row| !row.is_empty())
                .map(|row| row.iter().map(|&c| c as f64).sum::<f64>() / row.len() as f64)
                .sum::<f64>()
    }

    /// The cost of the cheapest architecture (the cheapest option of
    /// every decision).
    pub fn cheapest(&self) -> f64 {
        self.fixed as f64
            + self
                .per_decision
                .iter()
                .map(|row| row.iter().copied().min().unwrap_or(0) as f64)
                .sum::<f64>()
    }
}

/// Entropy in nats of a probability vector (`ln n` when uniform over `n`
/// options, 0 when one option has all the mass).
pub fn entropy(p: &[f64]) -> f64 {
    p.iter().filter(|&&q| q > 0.0).map(|&q| -q * q.ln()).sum()
}

/// The largest probability of a distribution (`1/n` when uniform, 1 when
/// decided): how firmly a decision has settled, read next to [`entropy`].
/// 0 for an empty vector.
pub fn max_probability(p: &[f64]) -> f64 {
    p.iter().copied().fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_and_max_probability_of_uniform_and_decided() {
        let uniform = [0.25; 4];
        assert!((entropy(&uniform) - 4f64.ln()).abs() < 1e-12);
        assert!((max_probability(&uniform) - 0.25).abs() < 1e-12);
        let decided = [0.0, 1.0, 0.0];
        assert_eq!(entropy(&decided), 0.0);
        assert_eq!(max_probability(&decided), 1.0);
        assert_eq!(max_probability(&[]), 0.0);
    }

    #[test]
    fn cost_table_uniform_cheapest_and_expected() {
        let t = CostTable {
            fixed: 10,
            per_decision: vec![vec![0, 4], vec![3, 6, 9]],
        };
        assert!((t.uniform() - (10.0 + 2.0 + 6.0)).abs() < 1e-12);
        assert!((t.cheapest() - 13.0).abs() < 1e-12);
        let e = t.expected(&[vec![0.5, 0.5], vec![1.0, 0.0, 0.0]]);
        assert!((e - 15.0).abs() < 1e-12);
    }

    #[test]
    fn schedule_round_trips_through_json() {
        let s = EffectiveSchedule {
            alternation: Alternation::Step,
            total_epochs: 3,
            warmup_epochs: 1,
            arch_steps: 20,
            arch_lr: Some(0.05),
            temperature: Some(vec![10.0, 5.05, 0.1]),
            affine_batch_norm: false,
        };
        let text = serde_json::to_string(&s).expect("json");
        assert!(text.contains("\"alternation\":\"step\""), "{text}");
        let back: EffectiveSchedule = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, s);
    }
}
