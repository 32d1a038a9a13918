//! The meter: the one place costs are charged against a run's budget.

use nasarena_core::{Budget, Cost, Progress};

/// Accumulates charges against a budget. Only the harness owns one: a
/// strategy sees the read-only [`Progress`].
#[derive(Clone, Debug)]
pub struct Meter {
    budget: Budget,
    spent: Cost,
}

impl Meter {
    /// A meter with nothing spent.
    pub fn new(budget: Budget) -> Self {
        Meter {
            budget,
            spent: Cost::default(),
        }
    }

    /// A meter resumed with an amount already spent (after a restart).
    pub fn resumed(budget: Budget, spent: Cost) -> Self {
        Meter { budget, spent }
    }

    /// Charges a cost. Work that started before exhaustion is always
    /// charged in full, so the total may overshoot the limit by one step.
    pub fn charge(&mut self, cost: Cost) {
        self.spent = self.spent.plus(cost);
    }

    /// The read-only view given to strategies.
    pub fn progress(&self) -> Progress {
        Progress {
            budget: self.budget,
            spent: self.spent,
        }
    }

    /// True once the budget is used up.
    pub fn exhausted(&self) -> bool {
        self.progress().exhausted()
    }

    /// Everything charged so far.
    pub fn spent(&self) -> Cost {
        self.spent
    }

    /// The budget rule of every search loop: work whose predicted cost (in
    /// the budget's unit) would take the total past the limit is not
    /// started. The tolerance absorbs float rounding of summed charges.
    pub fn affords(&self, predicted: f64) -> bool {
        self.spent.amount(self.budget.unit) + predicted <= self.budget.limit + 1e-9
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nasarena_core::BudgetUnit;

    fn eval(seconds: f64) -> Cost {
        Cost {
            device_seconds: seconds,
            train_samples: 100,
            eval_samples: 10,
            macs: 1_000,
            evaluations: 1,
        }
    }

    #[test]
    fn charging_accumulates_and_exhausts() {
        let mut meter = Meter::new(Budget::new(BudgetUnit::Evaluations, 3.0).expect("budget"));
        assert!(!meter.exhausted());
        meter.charge(eval(1.0));
        meter.charge(eval(2.0));
        assert!(!meter.exhausted());
        assert!((meter.progress().fraction() - 2.0 / 3.0).abs() < 1e-12);
        meter.charge(eval(0.5));
        assert!(meter.exhausted());
        assert_eq!(meter.spent().train_samples, 300);
        assert_eq!(meter.spent().evaluations, 3);
        assert!((meter.spent().device_seconds - 3.5).abs() < 1e-12);
    }

    #[test]
    fn device_hours_budget() {
        let mut meter = Meter::new(Budget::new(BudgetUnit::DeviceHours, 0.5).expect("budget"));
        meter.charge(eval(1700.0));
        assert!(!meter.exhausted());
        meter.charge(eval(100.0));
        assert!(meter.exhausted());
        assert!((meter.progress().fraction() - 1.0).abs() < 1e-12);
        assert!((meter.spent().device_hours() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn affords_stops_before_the_limit_is_passed() {
        let mut meter = Meter::new(Budget::new(BudgetUnit::TrainSamples, 250.0).expect("budget"));
        assert!(meter.affords(250.0));
        assert!(!meter.affords(250.5));
        meter.charge(eval(1.0));
        assert!(meter.affords(150.0));
        assert!(!meter.affords(151.0));
    }
}
