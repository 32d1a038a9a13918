//! The report as CSV (RFC 4180): one line per space and strategy, full
//! precision, machine-friendly column names; empty cells for missing values.

use super::unit_name;
use crate::summary::{Summary, Versus};
use std::fmt::Write;

const COLUMNS: &[&str] = &[
    "space",
    "strategy",
    "runs",
    "test_acc_mean",
    "test_acc_std",
    "test_acc_ci95_low",
    "test_acc_ci95_high",
    "test_acc_median",
    "best_val_acc",
    "macs",
    "params",
    "hours_unit",
    "search_hours",
    "normalised_search_cost",
    "final_hours",
    "evaluations",
    "budget_unit",
    "budget_limit",
    "anytime_auc",
    "avg_rank",
    "test",
    "p_vs_best",
    "p_holm_vs_best",
    "a12_vs_best",
    "p_vs_random",
    "p_holm_vs_random",
    "a12_vs_random",
];

/// One CSV field, quoted when it holds a comma, quote or line break.
pub(crate) fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(x: Option<f64>) -> String {
    x.filter(|v| v.is_finite())
        .map_or(String::new(), |v| v.to_string())
}

fn versus(v: &Option<Versus>) -> [String; 3] {
    match v {
        Some(v) => [v.p.to_string(), v.p_holm.to_string(), v.a12.to_string()],
        None => Default::default(),
    }
}

/// Renders all spaces into one CSV table.
pub fn render(s: &Summary) -> String {
    let mut o = COLUMNS.join(",");
    o.push('\n');
    for t in &s.spaces {
        for r in &t.rows {
            let a = r.test_accuracy;
            let test = r
                .vs_best
                .as_ref()
                .or(r.vs_random.as_ref())
                .map_or("", |v| v.test.as_str());
            let mut cells = vec![
                field(&t.space),
                field(&r.label),
                r.runs.len().to_string(),
                opt(a.map(|a| a.mean)),
                opt(a.map(|a| a.std)),
                opt(a.and_then(|a| a.ci95).map(|c| c[0])),
                opt(a.and_then(|a| a.ci95).map(|c| c[1])),
                opt(a.map(|a| a.median)),
                opt(r.best_val),
                r.macs.to_string(),
                r.params.to_string(),
                t.hours_unit.clone(),
                r.search_hours.to_string(),
                r.normalised_cost.to_string(),
                r.final_hours.to_string(),
                r.evaluations.to_string(),
                unit_name(t.budget.unit).to_string(),
                t.budget.limit.to_string(),
                r.anytime_auc.to_string(),
                opt(r.avg_rank),
                test.to_string(),
            ];
            cells.extend(versus(&r.vs_best));
            cells.extend(versus(&r.vs_random));
            let _ = writeln!(o, "{}", cells.join(","));
        }
    }
    o
}
