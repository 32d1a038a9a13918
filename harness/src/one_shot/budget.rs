//! How many supernet epochs a budget affords, decided before the search
//! starts (temperature and warm-up schedules depend on the total).
//!
//! Sample budgets are exact: an epoch processes the weight part, plus the
//! architecture part once the warm-up is over. Device-time budgets use a
//! timing probe (a few steps on a throw-away copy of the supernet, charged
//! to the budget like everything else) to estimate an epoch's time. Either
//! way the loop also stops before an epoch the remaining budget cannot pay
//! for, so a run overshoots by at most one epoch's misestimate.

use nasarena_core::{Budget, BudgetUnit, OneShotStrategy, StepContext};

/// The most epochs a plan may have (a guard against absurd budgets).
pub const MAX_EPOCHS: usize = 100_000;

/// Train samples of epoch `epoch` of `total`.
pub fn epoch_samples(
    strategy: &dyn OneShotStrategy,
    epoch: usize,
    total: usize,
    weight_len: usize,
    arch_len: usize,
) -> u64 {
    let ctx = StepContext {
        epoch,
        total_epochs: total,
        step: 0,
        steps_per_epoch: 1,
    };
    let arch = if strategy.trains_architecture(&ctx) {
        arch_len
    } else {
        0
    };
    (weight_len + arch) as u64
}

/// The largest number of epochs whose train samples fit in `limit`.
pub fn epochs_for_samples(
    strategy: &dyn OneShotStrategy,
    limit: f64,
    weight_len: usize,
    arch_len: usize,
) -> usize {
    let mut best = 0;
    for total in 1..=MAX_EPOCHS {
        let cost: u64 = (0..total)
            .map(|e| epoch_samples(strategy, e, total, weight_len, arch_len))
            .sum();
        if cost as f64 <= limit + 1e-9 {
            best = total;
        } else if (weight_len as u64) * total as u64 > limit as u64 {
            break;
        }
    }
    best
}

/// Epochs that fit in a device-time budget given the estimated seconds of
/// one epoch and the seconds reserved for deriving the result.
pub fn epochs_for_time(
    budget: &Budget,
    spent_seconds: f64,
    epoch_seconds: f64,
    reserve_seconds: f64,
) -> usize {
    let left = seconds(budget) - spent_seconds - reserve_seconds;
    if epoch_seconds <= 0.0 || left <= 0.0 {
        return 0;
    }
    ((left / epoch_seconds).floor() as usize).min(MAX_EPOCHS)
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
