//! The report as LaTeX tables with booktabs rules, one `table*` per space.
//! Needs `\usepackage{booktabs}` and `\usepackage{graphicx}` (for the
//! `\resizebox` that fits the table to the text width); compiles in a
//! standard `article`.

use super::{caption, pval};
use crate::summary::{Summary, Versus};
use std::fmt::Write;

/// Escapes LaTeX's special characters in text.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                o.push('\\');
                o.push(c);
            }
            '~' => o.push_str("\\textasciitilde{}"),
            '^' => o.push_str("\\textasciicircum{}"),
            '±' => o.push_str("$\\pm$"),
            '–' => o.push_str("--"),
            '|' => o.push_str("\\textbar{}"),
            '<' => o.push_str("\\textless{}"),
            '>' => o.push_str("\\textgreater{}"),
            _ => o.push(c),
        }
    }
    o
}

fn n2(x: Option<f64>) -> String {
    x.filter(|v| v.is_finite())
        .map_or("--".into(), |v| format!("{v:.2}"))
}

fn versus(v: &Option<Versus>) -> String {
    match v {
        Some(v) => format!("{} ({:.2})", escape(&pval(v.p_holm)), v.a12),
        None => "--".into(),
    }
}

/// Renders every space's table.
pub fn render(s: &Summary) -> String {
    let mut o = String::from(
        "% nasarena report: needs \\usepackage{booktabs} and \\usepackage{graphicx}\n",
    );
    for (i, t) in s.spaces.iter().enumerate() {
        let h = if t.hours_unit == "GPU-hours" {
            "GPU-h"
        } else {
            "device-h"
        };
        let _ = writeln!(o, "\\begin{{table*}}[t]\n\\centering");
        let _ = writeln!(
            o,
            "\\caption{{{}: {}}}",
            escape(&t.space),
            escape(&caption(t))
        );
        let _ = writeln!(o, "\\label{{tab:nasarena-{}}}", i + 1);
        let _ = writeln!(o, "\\resizebox{{\\textwidth}}{{!}}{{%");
        let _ = writeln!(o, "\\begin{{tabular}}{{lrrrrrrrrrrrrrrr}}\n\\toprule");
        let m = if t.metric.is_accuracy() {
            "acc.\\"
        } else {
            "mIoU"
        };
        let _ = writeln!(
            o,
            "Strategy & Runs & Test {m} (\\%) & 95\\% CI & Median & Best val.\\ (\\%) & MMACs & Params (k) & Search {h} & Norm.\\ cost & Final {h} & Evals & AUC & Rank & $p$ vs best ($A$) & $p$ vs random ($A$) \\\\\n\\midrule"
        );
        for r in &t.rows {
            let a = r.test_accuracy;
            let ci = match a.and_then(|a| a.ci95) {
                Some([lo, hi]) => format!("[{lo:.2}, {hi:.2}]"),
                None => "--".into(),
            };
            let _ = writeln!(
                o,
                "{} & {} & {} $\\pm$ {} & {} & {} & {} & {:.3} & {:.1} & {:.4} & {:.1} & {:.4} & {:.1} & {:.2} & {} & {} & {} \\\\",
                escape(&r.label),
                r.runs.len(),
                n2(a.map(|a| a.mean)),
                n2(a.map(|a| a.std)),
                ci,
                n2(a.map(|a| a.median)),
                n2(r.best_val),
                r.macs / 1e6,
                r.params / 1e3,
                r.search_hours,
                r.normalised_cost,
                r.final_hours,
                r.evaluations,
                r.anytime_auc,
                n2(r.avg_rank),
                versus(&r.vs_best),
                versus(&r.vs_random),
            );
        }
        let _ = writeln!(o, "\\bottomrule\n\\end{{tabular}}}}\n\\end{{table*}}\n");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_specials() {
        assert_eq!(escape("evolution/nb201_x"), "evolution/nb201\\_x");
        assert_eq!(escape("50% & $1 #2"), "50\\% \\& \\$1 \\#2");
        assert_eq!(escape("a ± b"), "a $\\pm$ b");
        assert_eq!(escape("<0.001"), "\\textless{}0.001");
    }
}
