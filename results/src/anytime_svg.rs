//! A dependency-free SVG anytime plot of [`crate::budget_curve`] curves:
//! mean test accuracy of the incumbent against evaluations, one line per
//! strategy, with its 95% confidence band.

use crate::budget_curve::Curve;
use std::fmt::Write;

const COLORS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

/// The plot as an SVG document (`title` on top).
pub fn anytime_svg(curves: &[Curve], title: &str) -> String {
    let (w, h, left, right, top, bottom) = (720.0, 440.0, 60.0, 180.0, 36.0, 44.0);
    let pts = curves.iter().flat_map(|c| c.points.iter());
    let max_x = pts.clone().map(|p| p.budget as f64).fold(1.0, f64::max);
    let ys: Vec<f64> = pts
        .filter_map(|p| p.test)
        .flat_map(|t| {
            [
                t.mean - t.ci95.unwrap_or(0.0),
                t.mean + t.ci95.unwrap_or(0.0),
            ]
        })
        .filter(|y| y.is_finite())
        .collect();
    let lo = ys.iter().copied().fold(f64::INFINITY, f64::min).floor();
    let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max).ceil();
    let (lo, hi) = if lo < hi { (lo, hi) } else { (0.0, 100.0) };
    let px = |x: f64| left + (w - left - right) * x / max_x;
    let py = |y: f64| top + (h - top - bottom) * (hi - y) / (hi - lo);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{left}" y="20" font-size="14">{title}</text>"#
    );
    let (x0, x1, y0, y1) = (px(0.0), px(max_x), py(lo), py(hi));
    let _ = writeln!(
        s,
        r#"<path d="M{x0},{y1} V{y0} H{x1}" stroke="black" fill="none"/>"#
    );
    for k in 0..=4 {
        let y = lo + (hi - lo) * f64::from(k) / 4.0;
        let x = max_x * f64::from(k) / 4.0;
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{y:.1}</text><text x="{}" y="{}" text-anchor="middle">{x:.0}</text>"#,
            x0 - 6.0,
            py(y) + 4.0,
            px(x),
            y0 + 16.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">evaluations</text><text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">test accuracy (%)</text>"#,
        (x0 + x1) / 2.0,
        h - 6.0,
        (y0 + y1) / 2.0,
        (y0 + y1) / 2.0
    );
    for (i, c) in curves.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let line: Vec<(f64, f64, f64)> = c
            .points
            .iter()
            .filter_map(|p| {
                p.test
                    .map(|t| (p.budget as f64, t.mean, t.ci95.unwrap_or(0.0)))
            })
            .filter(|(_, m, ci)| m.is_finite() && ci.is_finite())
            .collect();
        let upper: Vec<String> = line
            .iter()
            .map(|(x, m, ci)| format!("{:.1},{:.1}", px(*x), py(m + ci)))
            .collect();
        let lower: Vec<String> = line
            .iter()
            .rev()
            .map(|(x, m, ci)| format!("{:.1},{:.1}", px(*x), py(m - ci)))
            .collect();
        let mean: Vec<String> = line
            .iter()
            .map(|(x, m, _)| format!("{:.1},{:.1}", px(*x), py(*m)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polygon points="{} {}" fill="{color}" fill-opacity="0.15" stroke="none"/>"#,
            upper.join(" "),
            lower.join(" ")
        );
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            mean.join(" ")
        );
        let ly = top + 18.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<rect x="{}" y="{}" width="14" height="3" fill="{color}"/><text x="{}" y="{}">{}</text>"#,
            w - right + 12.0,
            ly + 4.0,
            w - right + 30.0,
            ly + 9.0,
            c.label
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget_curve::Point;
    use crate::stats::Describe as Summary;

    #[test]
    fn one_line_and_band_per_curve() {
        let curve = |label: &str, shift: f64| Curve {
            label: label.into(),
            runs: 3,
            points: [1u64, 10, 20]
                .iter()
                .map(|&b| Point {
                    budget: b,
                    test: Summary::of(&[80.0 + shift + b as f64 / 10.0, 81.0 + shift, 82.0]),
                    mean_rank: 1.0,
                    p_vs_baseline: None,
                    diff_vs_baseline: None,
                })
                .collect(),
        };
        let svg = anytime_svg(&[curve("random", 0.0), curve("evolution", 1.0)], "t");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<polygon").count(), 2);
        assert!(svg.contains(">evolution</text>") && !svg.contains("NaN"));
    }
}
