//! Renderings of a [`Summary`](crate::summary::Summary): Markdown (the
//! terminal and README view), CSV (spreadsheets), LaTeX with booktabs
//! (papers), JSON (the stable artifact `compare` reads) and a self-contained
//! HTML page; per-trial CSV comes from the journals themselves.

pub mod csv;
pub mod html;
pub mod json;
pub mod latex;
pub mod markdown;
pub mod trials;

use crate::summary::{SpaceTable, Versus};
use nasarena_core::BudgetUnit;

/// `x` with `digits` decimals, or an en dash when missing or not finite.
pub(crate) fn num(x: Option<f64>, digits: usize) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "–".to_string(),
    }
}

/// A p-value for a table: three decimals, or `<0.001`.
pub(crate) fn pval(p: f64) -> String {
    if p < 0.001 {
        "<0.001".to_string()
    } else {
        format!("{p:.3}")
    }
}

/// The budget unit as written in experiment files.
pub(crate) fn unit_name(unit: BudgetUnit) -> &'static str {
    match unit {
        BudgetUnit::DeviceSeconds => "device_seconds",
        BudgetUnit::DeviceHours => "device_hours",
        BudgetUnit::TrainSamples => "train_samples",
        BudgetUnit::Macs => "macs",
        BudgetUnit::Evaluations => "evaluations",
    }
}

/// "p (A)" of a comparison, Holm-adjusted p.
pub(crate) fn versus_cell(v: &Option<Versus>) -> String {
    match v {
        Some(v) => format!("{} ({:.2})", pval(v.p_holm), v.a12),
        None => "–".to_string(),
    }
}

/// The caption sentence that names the significance test.
pub(crate) fn test_sentence(t: &SpaceTable) -> String {
    let tests = t.tests_used();
    if tests.is_empty() {
        return "No significance tests (fewer than two strategies with test accuracies).".into();
    }
    let exact = t
        .rows
        .iter()
        .flat_map(|r| [&r.vs_best, &r.vs_random])
        .flatten()
        .all(|v| v.exact);
    let name = match tests.as_slice() {
        ["wilcoxon"] => "two-sided Wilcoxon signed-rank test, runs paired by seed",
        ["mann-whitney"] => "two-sided Mann-Whitney U test (seeds do not pair)",
        _ => "two-sided Wilcoxon signed-rank test where seeds pair, Mann-Whitney U test otherwise",
    };
    format!(
        "p: {name}, {}, Holm-corrected over the {} comparison{} in this table; A: Vargha-Delaney effect size, P(row > other).",
        if exact {
            "exact p-values"
        } else {
            "exact p-values for small samples, normal approximation with tie and continuity correction otherwise"
        },
        t.comparisons,
        if t.comparisons == 1 { "" } else { "s" },
    )
}

/// The caption's description of the columns.
pub(crate) fn caption(t: &SpaceTable) -> String {
    let metric = t.metric.label();
    let seeds = t.rows.iter().map(|r| r.runs.len()).max().unwrap_or(0);
    format!(
        "Test {metric} (%) of the recommended architecture after the shared final protocol over {seeds} seed{}: mean ± sample std, 95% Student-t CI, median. Best val: best validation {metric} during search. Costs in {}; normalised cost = search device-seconds / calibration seconds. AUC: normalised area under the best-so-far validation {metric} over the budget ({} {}). Rank: average rank across seeds (1 = best). {}",
        if seeds == 1 { "" } else { "s" },
        t.hours_unit,
        t.budget.limit,
        unit_name(t.budget.unit),
        test_sentence(t),
    )
}
