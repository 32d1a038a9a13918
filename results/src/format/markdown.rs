//! The report as Markdown: one table per space with its caption, then the
//! runs that are not in the tables (unfinished, skipped) and why.

use super::{caption, num, versus_cell};
use crate::summary::Summary;
use std::fmt::Write;

fn hours_abbrev(unit: &str) -> &str {
    if unit == "GPU-hours" {
        "GPU-h"
    } else {
        "device-h"
    }
}

/// Renders the whole summary.
pub fn render(s: &Summary) -> String {
    let mut o = String::new();
    for t in &s.spaces {
        let h = hours_abbrev(&t.hours_unit);
        let m = t.metric.short();
        let val = if t.metric.is_accuracy() { "" } else { " mIoU" };
        let _ = writeln!(o, "### {}\n", t.space);
        let _ = writeln!(
            o,
            "| strategy | runs | test {m} % (mean ± std) | 95% CI | median | best val{val} % | MMACs | params (k) | search {h} | normalised cost | final {h} | evals | AUC | rank | p vs best (A) | p vs random (A) |"
        );
        let _ = writeln!(
            o,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for r in &t.rows {
            let acc = r.test_accuracy;
            let ci = match acc.and_then(|a| a.ci95) {
                Some([lo, hi]) => format!("[{lo:.2}, {hi:.2}]"),
                None => "–".to_string(),
            };
            let _ = writeln!(
                o,
                "| {} | {} | {} ± {} | {} | {} | {} | {:.3} | {:.1} | {:.4} | {:.1} | {:.4} | {:.1} | {:.2} | {} | {} | {} |",
                r.label,
                r.runs.len(),
                num(acc.map(|a| a.mean), 2),
                num(acc.map(|a| a.std), 2),
                ci,
                num(acc.map(|a| a.median), 2),
                num(r.best_val, 2),
                r.macs / 1e6,
                r.params / 1e3,
                r.search_hours,
                r.normalised_cost,
                r.final_hours,
                r.evaluations,
                r.anytime_auc,
                num(r.avg_rank, 2),
                versus_cell(&r.vs_best),
                versus_cell(&r.vs_random),
            );
        }
        let _ = writeln!(o, "\n{}\n", caption(t));
    }
    if !s.unfinished.is_empty() {
        let _ = writeln!(o, "Unfinished runs (no final record; not in the tables):\n");
        for u in &s.unfinished {
            let _ = writeln!(
                o,
                "- {} ({}, seed {}, {} results so far)",
                u.file, u.label, u.seed, u.progress
            );
        }
        let _ = writeln!(o);
    }
    if !s.skipped.is_empty() {
        let _ = writeln!(o, "Skipped journals (unreadable; not in the tables):\n");
        for k in &s.skipped {
            let _ = writeln!(o, "- {}", location(&k.file, k.line, &k.reason));
        }
        let _ = writeln!(o);
    }
    if !s.warnings.is_empty() {
        let _ = writeln!(o, "Warnings:\n");
        for k in &s.warnings {
            let _ = writeln!(o, "- {}", location(&k.file, k.line, &k.reason));
        }
        let _ = writeln!(o);
    }
    o
}

/// `file:line: reason`, the way compilers name a place.
pub fn location(file: &str, line: Option<usize>, reason: &str) -> String {
    match line {
        Some(l) => format!("{file}:{l}: {reason}"),
        None => format!("{file}: {reason}"),
    }
}
