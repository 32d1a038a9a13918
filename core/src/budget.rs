//! Costs, budgets and the meter that charges them.
//!
//! Only the harness charges the [`Meter`]; strategies see a read-only
//! [`Progress`]. Device seconds are measured by the harness after a device
//! synchronisation, so the figure includes all queued work.

use crate::{CoreError, Result};
use serde::{Deserialize, Serialize};

/// What a piece of work cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Wall-clock seconds of device work, measured after a device sync.
    pub device_seconds: f64,
    /// Training samples processed (forward + backward).
    pub train_samples: u64,
    /// Evaluation samples processed (forward only).
    pub eval_samples: u64,
    /// Multiply-accumulates performed, forward passes counted once.
    pub macs: u64,
    /// Architectures evaluated (one per black-box trial).
    pub evaluations: u64,
}

impl Cost {
    /// The sum of two costs; counters saturate instead of wrapping.
    pub fn plus(self, other: Cost) -> Cost {
        Cost {
            device_seconds: self.device_seconds + other.device_seconds,
            train_samples: self.train_samples.saturating_add(other.train_samples),
            eval_samples: self.eval_samples.saturating_add(other.eval_samples),
            macs: self.macs.saturating_add(other.macs),
            evaluations: self.evaluations.saturating_add(other.evaluations),
        }
    }

    /// Device-hours (GPU-hours on a CUDA device).
    pub fn device_hours(&self) -> f64 {
        self.device_seconds / 3600.0
    }

    /// The amount of this cost in a budget unit.
    pub fn amount(&self, unit: BudgetUnit) -> f64 {
        match unit {
            BudgetUnit::DeviceSeconds => self.device_seconds,
            BudgetUnit::DeviceHours => self.device_hours(),
            BudgetUnit::TrainSamples => self.train_samples as f64,
            BudgetUnit::Macs => self.macs as f64,
            BudgetUnit::Evaluations => self.evaluations as f64,
        }
    }
}

/// The unit a budget is counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetUnit {
    /// Seconds of device time.
    DeviceSeconds,
    /// Hours of device time (GPU-hours on a GPU).
    DeviceHours,
    /// Training samples processed.
    TrainSamples,
    /// Multiply-accumulates performed.
    Macs,
    /// Architectures evaluated (for tabular benchmarks without times).
    Evaluations,
}

/// A limit in one chosen unit.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// The unit the limit is counted in.
    pub unit: BudgetUnit,
    /// The limit; positive and finite.
    pub limit: f64,
}

impl Budget {
    /// A budget, rejecting non-positive or non-finite limits.
    pub fn new(unit: BudgetUnit, limit: f64) -> Result<Self> {
        if !limit.is_finite() || limit <= 0.0 {
            return Err(CoreError::InvalidBudget(format!(
                "limit must be a positive finite number, got {limit}"
            )));
        }
        Ok(Budget { unit, limit })
    }
}

/// What a strategy may know about the budget: a read-only snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The budget in force.
    pub budget: Budget,
    /// Everything charged so far.
    pub spent: Cost,
}

impl Progress {
    /// Fraction of the budget spent, in [0, 1].
    pub fn fraction(&self) -> f64 {
        (self.spent.amount(self.budget.unit) / self.budget.limit).clamp(0.0, 1.0)
    }

    /// True once the budget is used up.
    pub fn exhausted(&self) -> bool {
        self.spent.amount(self.budget.unit) >= self.budget.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_saturate() {
        let big = Cost {
            macs: u64::MAX - 1,
            ..Cost::default()
        };
        assert_eq!(big.plus(big).macs, u64::MAX);
    }

    #[test]
    fn bad_limits_are_rejected() {
        for limit in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = Budget::new(BudgetUnit::DeviceSeconds, limit).unwrap_err();
            assert!(err.to_string().contains("positive finite"), "{err}");
        }
    }

    #[test]
    fn budget_unit_names() {
        let json = serde_json::to_string(&BudgetUnit::DeviceHours).expect("json");
        assert_eq!(json, "\"device_hours\"");
    }
}
