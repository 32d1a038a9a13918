//! How many supernet epochs a budget affords, decided before the search
//! starts (temperature and warm-up schedules depend on the total).
//!
//! Sample budgets are exact: an epoch processes the weight part, plus the
//! architecture part once the warm-up is over. Device-time budgets use a
//! timing probe (a few steps on a throw-away copy of the supernet, charged
//! to the budget like everything else) to estimate an epoch's time. Either
//! way the loop also stops before an epoch the remaining budget cannot pay
//! for, so a run overshoots by at most one epoch's misestimate.

use nasarena_core::{Alternation, Budget, BudgetUnit, Cost, OneShotStrategy, StepContext};

/// The most epochs a plan may have (a guard against absurd budgets).
pub const MAX_EPOCHS: usize = 100_000;

/// The sizes that decide what one supernet epoch processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochSizes {
    /// Images of the part that trains the supernet weights.
    pub weights: usize,
    /// Images of the part that trains the architecture.
    pub arch: usize,
    /// Mini-batch size.
    pub batch: usize,
}

impl EpochSizes {
    /// Weight steps per epoch (the last batch may be short).
    pub fn weight_steps(&self) -> usize {
        self.weights.div_ceil(self.batch.max(1))
    }

    /// Size of an architecture batch under per-step alternation: full
    /// batches only (a short one would weigh its few images like a full
    /// one), the whole part when it is smaller than a batch.
    pub fn step_arch_batch(&self) -> usize {
        self.batch.max(1).min(self.arch)
    }

    /// Architecture steps of a post-warm-up epoch: one per weight step
    /// under per-step alternation (DARTS, GDAS), one pass over the part
    /// under per-epoch alternation (FBNet).
    pub fn arch_steps(&self, alternation: Alternation) -> usize {
        match alternation {
            _ if self.arch == 0 => 0,
            Alternation::Step => self.weight_steps(),
            Alternation::Epoch => self.arch.div_ceil(self.batch.max(1)),
        }
    }

    /// Architecture images of a post-warm-up epoch.
    pub fn arch_samples(&self, alternation: Alternation) -> usize {
        match alternation {
            Alternation::Step => self.arch_steps(alternation) * self.step_arch_batch(),
            Alternation::Epoch => self.arch,
        }
    }
}

/// Train samples of epoch `epoch` of `total`.
pub fn epoch_samples(
    strategy: &dyn OneShotStrategy,
    epoch: usize,
    total: usize,
    sizes: EpochSizes,
) -> u64 {
    let ctx = StepContext {
        epoch,
        total_epochs: total,
        step: 0,
        steps_per_epoch: 1,
    };
    let arch = if strategy.trains_architecture(&ctx) {
        sizes.arch_samples(strategy.alternation())
    } else {
        0
    };
    (sizes.weights + arch) as u64
}

/// The largest number of epochs whose train samples fit in `limit`.
pub fn epochs_for_samples(strategy: &dyn OneShotStrategy, limit: f64, sizes: EpochSizes) -> usize {
    let mut best = 0;
    for total in 1..=MAX_EPOCHS {
        let cost: u64 = (0..total)
            .map(|e| epoch_samples(strategy, e, total, sizes))
            .sum();
        if cost as f64 <= limit + 1e-9 {
            best = total;
        } else if (sizes.weights as u64) * total as u64 > limit as u64 {
            break;
        }
    }
    best
}

/// What a supernet epoch costs in seconds, as a timing probe measured it:
/// a price per training image (weight and architecture steps cost alike:
/// both run the supernet forward and backward) and a fixed part per epoch
/// (scoring on the validation part). Warm-up epochs, which skip the
/// architecture part, cost about half an epoch that trains both.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochTiming {
    /// Seconds per training image.
    pub per_train_sample: f64,
    /// Seconds per epoch besides training.
    pub per_epoch: f64,
}

impl EpochTiming {
    /// Estimated seconds of epoch `epoch` of a `total`-epoch run.
    pub fn seconds(
        &self,
        strategy: &dyn OneShotStrategy,
        epoch: usize,
        total: usize,
        sizes: EpochSizes,
    ) -> f64 {
        self.per_train_sample * epoch_samples(strategy, epoch, total, sizes) as f64 + self.per_epoch
    }
}

/// The largest number of epochs whose estimated seconds fit in what is
/// left of a device-time budget after `spent_seconds` and the seconds
/// reserved for deriving the result.
pub fn epochs_for_time(
    strategy: &dyn OneShotStrategy,
    budget: &Budget,
    spent_seconds: f64,
    timing: EpochTiming,
    sizes: EpochSizes,
    reserve_seconds: f64,
) -> usize {
    let left = seconds(budget) - spent_seconds - reserve_seconds;
    let cheapest = timing.per_train_sample * sizes.weights as f64 + timing.per_epoch;
    if cheapest <= 0.0 || left <= 0.0 {
        return 0;
    }
    let mut best = 0;
    for total in 1..=MAX_EPOCHS {
        let cost: f64 = (0..total)
            .map(|e| timing.seconds(strategy, e, total, sizes))
            .sum();
        if cost <= left {
            best = total;
        } else if cheapest * total as f64 > left {
            break;
        }
    }
    best
}

/// A device-time budget's limit in seconds.
pub fn seconds(budget: &Budget) -> f64 {
    match budget.unit {
        BudgetUnit::DeviceHours => budget.limit * 3600.0,
        _ => budget.limit,
    }
}

/// Whether a one-shot search can be budgeted in `unit`.
pub fn supported(unit: BudgetUnit) -> bool {
    matches!(
        unit,
        BudgetUnit::TrainSamples | BudgetUnit::DeviceSeconds | BudgetUnit::DeviceHours
    )
}

/// Budget units that a one-shot search cannot be counted in, as a problem
/// message for the experiment check (`None` when the unit is fine).
pub fn budget_problem(unit: BudgetUnit) -> Option<String> {
    (!supported(unit)).then(|| {
        format!(
            "one-shot strategies cannot be budgeted in {unit:?} (a supernet epoch is not an evaluation and its MACs depend on sampling); use train_samples, device_seconds or device_hours"
        )
    })
}

/// Cost with only device seconds, for the timing probe.
pub fn seconds_cost(seconds: f64) -> Cost {
    Cost {
        device_seconds: seconds,
        ..Cost::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nasarena_core::Seed;
    use nasarena_spaces::{build_space, SpaceOptions};

    fn strategy(preset: &str) -> Box<dyn OneShotStrategy> {
        let space = build_space("cell", SpaceOptions::from_pairs("cell", Default::default()))
            .expect("cell space");
        nasarena_strategies::build_one_shot(
            "gumbel",
            Some(preset),
            // The epoch accounting does not depend on the cost term.
            &serde_json::json!({ "cost_loss": { "kind": "none" } }),
            Seed(3),
            space.as_ref(),
            None,
            &candle_core::Device::Cpu,
        )
        .expect("strategy")
    }

    const SIZES: EpochSizes = EpochSizes {
        weights: 640,
        arch: 160,
        batch: 64,
    };

    fn planned_samples(s: &dyn OneShotStrategy, total: usize) -> u64 {
        (0..total).map(|e| epoch_samples(s, e, total, SIZES)).sum()
    }

    #[test]
    fn sample_budgets_buy_the_most_epochs_that_fit() {
        for preset in ["fbnet", "gdas", "squeezenas", "darts"] {
            let s = strategy(preset);
            for limit in [1280.0, 2400.0, 5000.0, 20_000.0] {
                let total = epochs_for_samples(s.as_ref(), limit, SIZES);
                assert!(total >= 1, "{preset} at {limit}");
                let spent = planned_samples(s.as_ref(), total);
                assert!(
                    spent as f64 <= limit,
                    "{preset} at {limit}: {total} epochs cost {spent}"
                );
                let more = planned_samples(s.as_ref(), total + 1);
                assert!(
                    more as f64 > limit,
                    "{preset} at {limit}: {} epochs also fit",
                    total + 1
                );
            }
        }
    }

    #[test]
    fn an_epoch_charges_the_architecture_part_only_when_it_trains_it() {
        let s = strategy("fbnet");
        let total = 10;
        for epoch in 0..total {
            let ctx = StepContext {
                epoch,
                total_epochs: total,
                step: 0,
                steps_per_epoch: 1,
            };
            let want = if s.trains_architecture(&ctx) {
                800
            } else {
                640
            };
            assert_eq!(epoch_samples(s.as_ref(), epoch, total, SIZES), want);
        }
    }

    #[test]
    fn per_step_alternation_takes_an_architecture_batch_per_weight_step() {
        // 640 weight images in batches of 64: 10 steps, each followed by a
        // full architecture batch drawn from the 160 (reshuffled as needed).
        assert_eq!(SIZES.weight_steps(), 10);
        assert_eq!(SIZES.arch_steps(Alternation::Step), 10);
        assert_eq!(SIZES.arch_samples(Alternation::Step), 640);
        assert_eq!(SIZES.arch_steps(Alternation::Epoch), 3);
        assert_eq!(SIZES.arch_samples(Alternation::Epoch), 160);
        let small = EpochSizes {
            weights: 100,
            arch: 20,
            batch: 64,
        };
        assert_eq!(small.arch_samples(Alternation::Step), 2 * 20);
        let s = strategy("gdas");
        assert_eq!(s.alternation(), Alternation::Step);
        let ctx = |epoch| StepContext {
            epoch,
            total_epochs: 8,
            step: 0,
            steps_per_epoch: 1,
        };
        let last = epoch_samples(s.as_ref(), 7, 8, SIZES);
        assert!(s.trains_architecture(&ctx(7)));
        assert_eq!(last, 640 + 640);
    }

    #[test]
    fn time_budgets_keep_the_derivation_reserve() {
        // DARTS at 800 images (640 weights + 160 architecture, batch 64:
        // 10 weight steps, each followed by an architecture batch of 64):
        // 640 images per warm-up epoch, 1,280 per epoch after it.
        let s = strategy("darts");
        let sizes = EpochSizes {
            weights: 640,
            arch: 160,
            batch: 64,
        };
        let timing = EpochTiming {
            per_train_sample: 0.01,
            per_epoch: 1.6,
        };
        let cost = |total: usize| -> f64 {
            (0..total)
                .map(|e| timing.seconds(&*s, e, total, sizes))
                .sum()
        };
        // 4 epochs (1 warm-up): 8 + 3 x 14.4 = 51.2 s; 5 epochs: 65.6 s.
        assert!((cost(4) - 51.2).abs() < 1e-9, "{}", cost(4));
        assert!((cost(5) - 65.6).abs() < 1e-9, "{}", cost(5));
        let budget = Budget::new(BudgetUnit::DeviceSeconds, 100.0).expect("budget");
        let fits = |spent, reserve| epochs_for_time(&*s, &budget, spent, timing, sizes, reserve);
        assert_eq!(fits(30.0, 5.0), 4);
        assert_eq!(fits(30.0, 4.0), 5);
        assert_eq!(fits(99.0, 0.5), 0);
        let hours = Budget::new(BudgetUnit::DeviceHours, 66.0 / 3600.0).expect("budget");
        assert_eq!(epochs_for_time(&*s, &hours, 0.0, timing, sizes, 0.0), 5);
    }
}
