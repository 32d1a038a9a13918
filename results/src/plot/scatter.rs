//! Accuracy against MACs, one panel per strategy on shared axes: the
//! architectures the strategy evaluated, its Pareto front (a staircase in
//! its colour), the front of all strategies together (thin black, for
//! comparison) and the architectures it recommended (triangles, one per
//! distinct architecture). Panels, not one plot: pooled over 100 seeds
//! every strategy reaches nearly the same front, and drawn on one plot
//! the last strategy hid the others.
//!
//! A tabular benchmark's 100 seeds evaluate some 20,000 architectures per
//! strategy; drawn one by one they made a 9.5 MB SVG. Above [`DOTS_MAX`]
//! points a panel shows its evaluated architectures as a faint grey
//! density on a fixed grid (at most `GRID.0 * GRID.1` cells), so the file
//! size is bounded whatever the number of runs; below it each point is
//! drawn, faint, in the strategy's colour.

use super::charts::{self, e, Entry, Figure, Mark, SIZE, TICK};
use super::figures::{padded, pareto_front};
use crate::load::RunData;
use crate::record::ScoreMetric;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_backend::DrawingBackend;
use std::collections::{BTreeMap, BTreeSet};

/// Above this many evaluated architectures a panel shows a density.
pub const DOTS_MAX: usize = 600;
/// Density cells across and up a panel.
const GRID: (usize, usize) = (60, 40);
/// Height of one row of panels, and of the title above them.
const PANEL_H: u32 = 380;
const TITLE_H: u32 = 50;

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// One strategy's panel.
struct Panel {
    label: String,
    color: RGBColor,
    /// (MMACs, accuracy %) of every evaluated architecture; empty when
    /// `density` replaces them.
    points: Vec<(f64, f64)>,
    /// Evaluated architectures per grid cell (row-major from bottom left).
    density: Option<Vec<u32>>,
    /// The non-dominated points, by increasing MACs.
    front: Vec<(f64, f64)>,
    /// (MMACs, best search validation accuracy %) of each distinct
    /// recommended architecture.
    recommended: Vec<(f64, f64)>,
}

/// The figure.
pub(crate) struct Scatter {
    title: String,
    x: (f64, f64),
    y: (f64, f64),
    panels: Vec<Panel>,
    /// The front of every strategy's points together.
    overall: Vec<(f64, f64)>,
    items: Vec<Entry>,
}

fn cell(v: f64, (lo, hi): (f64, f64), n: usize) -> usize {
    (((v - lo) / (hi - lo) * n as f64).floor().max(0.0) as usize).min(n - 1)
}

fn columns(panels: usize) -> usize {
    if panels <= 1 {
        1
    } else {
        2
    }
}

/// The accuracy-vs-MACs figure of one space; `None` without points.
pub(crate) fn scatter(space: &str, rows: &BTreeMap<String, Vec<&RunData>>) -> Option<Scatter> {
    let mut panels = Vec::new();
    for (i, (label, runs)) in rows.iter().enumerate() {
        let points: Vec<(f64, f64)> = runs
            .iter()
            .flat_map(|r| r.evaluated.iter().map(|e| (e.macs as f64 / 1e6, e.val)))
            .collect();
        if points.is_empty() {
            continue;
        }
        // Distinct recommended architectures, in a fixed order.
        let recommended: BTreeSet<(u64, u64)> = runs
            .iter()
            .filter_map(|r| r.final_record.as_ref())
            .filter_map(|f| {
                f.search_val_accuracy
                    .map(|v| (f.macs, (100.0 * v).to_bits()))
            })
            .collect();
        panels.push(Panel {
            label: label.clone(),
            color: charts::color(i),
            front: pareto_front(&points),
            points,
            density: None,
            recommended: recommended
                .into_iter()
                .map(|(m, v)| (m as f64 / 1e6, f64::from_bits(v)))
                .collect(),
        });
    }
    let metric = ScoreMetric::of_all(rows.values().flatten().map(|r| r.header.dataset.metric));
    let title = format!(
        "{space}: validation {} (%) vs MMACs (batch 1)",
        metric.label()
    );
    assemble(title, panels, |evaluated| {
        vec![
            legend(RGBColor(150, 150, 150), &evaluated, Mark::Square),
            legend(
                charts::color(0),
                "its Pareto front (panel colour)",
                Mark::Line,
            ),
            legend(BLACK, "all strategies' front", Mark::Line),
            legend(
                charts::color(0),
                "its recommended (panel colour)",
                Mark::Triangle,
            ),
        ]
    })
}

/// Test score against MACs of the networks the final protocol trained,
/// one triangle per run, one panel per strategy with its Pareto front and
/// every strategy's front: the trade-off a search delivers (its search
/// scores are not comparable across families: one-shot searches score
/// shared supernet weights); `None` without finished runs.
pub(crate) fn final_scatter(
    space: &str,
    rows: &BTreeMap<String, Vec<&RunData>>,
) -> Option<Scatter> {
    let panels: Vec<Panel> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, (label, runs))| {
            let finals: Vec<(f64, f64)> = runs
                .iter()
                .filter_map(|r| r.final_record.as_ref())
                .filter_map(|f| f.test_accuracy.map(|t| (f.macs as f64 / 1e6, 100.0 * t)))
                .collect();
            (!finals.is_empty()).then(|| Panel {
                label: label.clone(),
                color: charts::color(i),
                front: pareto_front(&finals),
                points: Vec::new(),
                density: None,
                recommended: finals,
            })
        })
        .collect();
    let metric = ScoreMetric::of_all(rows.values().flatten().map(|r| r.header.dataset.metric));
    let title = format!(
        "{space}: test {} (%) of the final networks vs MMACs (batch 1)",
        metric.label()
    );
    assemble(title, panels, |_| {
        vec![
            legend(
                charts::color(0),
                "a run's final network (panel colour)",
                Mark::Triangle,
            ),
            legend(
                charts::color(0),
                "its Pareto front (panel colour)",
                Mark::Line,
            ),
            legend(BLACK, "all strategies' front", Mark::Line),
        ]
    })
}

fn legend(color: RGBColor, label: &str, mark: Mark) -> Entry {
    Entry {
        color,
        label: label.to_string(),
        mark,
    }
}

/// The figure of `panels` on shared axes, with the pooled front; `items`
/// makes the legend from the evaluated-points label.
fn assemble(
    title: String,
    mut panels: Vec<Panel>,
    items: impl FnOnce(String) -> Vec<Entry>,
) -> Option<Scatter> {
    let all = || {
        panels
            .iter()
            .flat_map(|c| c.points.iter().chain(&c.recommended))
    };
    let xl = all().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let xh = all().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let yl = all().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let yh = all().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    if !xl.is_finite() || !yl.is_finite() {
        return None;
    }
    let pooled: Vec<(f64, f64)> = panels.iter().flat_map(|c| c.front.clone()).collect();
    let overall = pareto_front(&pooled);
    let x = padded(xl, xh, 0.06, xh.abs().max(1e-3) * 0.1);
    let y = padded(yl, yh, 0.08, 2.0);
    let (x, y) = ((x.0.max(0.0), x.1), (y.0.max(0.0), y.1.min(100.0)));
    let mut total = 0;
    let mut dense = false;
    for p in &mut panels {
        total += p.points.len();
        if p.points.len() > DOTS_MAX {
            dense = true;
            let mut counts = vec![0u32; GRID.0 * GRID.1];
            for q in std::mem::take(&mut p.points) {
                counts[cell(q.1, y, GRID.1) * GRID.0 + cell(q.0, x, GRID.0)] += 1;
            }
            p.density = Some(counts);
        }
    }
    let evaluated = if dense {
        format!("evaluated ({total}, density)")
    } else {
        format!("evaluated ({total})")
    };
    Some(Scatter {
        title,
        x,
        y,
        panels,
        overall,
        items: items(evaluated),
    })
}

impl Scatter {
    fn density<DB: DrawingBackend>(
        &self,
        chart: &mut Chart<'_, DB>,
        d: &[u32],
    ) -> Result<(), String> {
        let max = d.iter().copied().max().unwrap_or(1).max(1) as f64;
        let (dx, dy) = (
            (self.x.1 - self.x.0) / GRID.0 as f64,
            (self.y.1 - self.y.0) / GRID.1 as f64,
        );
        let cells = d.iter().enumerate().filter(|(_, c)| **c > 0);
        chart
            .draw_series(cells.map(|(k, c)| {
                let x0 = self.x.0 + (k % GRID.0) as f64 * dx;
                let y0 = self.y.0 + (k / GRID.0) as f64 * dy;
                // Log shading: a cell holding one architecture still shows.
                let a = 0.08 + 0.5 * (1.0 + *c as f64).ln() / (1.0 + max).ln();
                Rectangle::new([(x0, y0), (x0 + dx, y0 + dy)], BLACK.mix(a).filled())
            }))
            .map_err(e)?;
        Ok(())
    }

    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        p: &Panel,
    ) -> Result<(), String> {
        let (xd, yd) = (
            charts::decimals(self.x.1 - self.x.0),
            charts::decimals(self.y.1 - self.y.0),
        );
        let mut chart = ChartBuilder::on(area)
            .caption(&p.label, ("sans-serif", TICK).into_font().color(&p.color))
            .margin(10)
            .margin_right(24)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(self.x.0..self.x.1, self.y.0..self.y.1)
            .map_err(e)?;
        chart
            .configure_mesh()
            .label_style(("sans-serif", TICK - 4))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.08))
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&|v| format!("{v:.xd$}"))
            .y_label_formatter(&|v| format!("{v:.yd$}"))
            .draw()
            .map_err(e)?;
        if let Some(d) = &p.density {
            self.density(&mut chart, d)?;
        }
        let dot = |q: &(f64, f64)| Circle::new(*q, 3, p.color.mix(0.3).filled());
        chart.draw_series(p.points.iter().map(dot)).map_err(e)?;
        chart
            .draw_series(LineSeries::new(
                stairs(&self.overall),
                BLACK.stroke_width(1),
            ))
            .map_err(e)?;
        chart
            .draw_series(LineSeries::new(stairs(&p.front), p.color.stroke_width(3)))
            .map_err(e)?;
        let tri = |q: &(f64, f64)| TriangleMarker::new(*q, 9, p.color.filled());
        chart
            .draw_series(p.recommended.iter().map(tri))
            .map_err(e)?;
        Ok(())
    }
}

/// A front as a staircase: accuracy only improves with more MACs.
fn stairs(front: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for (i, p) in front.iter().enumerate() {
        if i > 0 {
            out.push((p.0, front[i - 1].1));
        }
        out.push(*p);
    }
    out
}

impl Figure for Scatter {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(columns(self.panels.len())) as u32;
        (
            SIZE.0,
            TITLE_H + rows * PANEL_H + charts::legend_height(&self.items),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(e)?;
        let (_, h) = root.dim_in_pixel();
        let (top, bottom) = root.split_vertically(h - charts::legend_height(&self.items));
        let (title, grid) = top.split_vertically(TITLE_H);
        title
            .titled(&self.title, ("sans-serif", charts::LABEL))
            .map_err(e)?;
        let cols = columns(self.panels.len());
        let rows = self.panels.len().div_ceil(cols);
        for (p, area) in self.panels.iter().zip(grid.split_evenly((rows, cols))) {
            self.panel(&area, p)?;
        }
        charts::legend(&bottom, &self.items)?;
        root.present().map_err(e)
    }
}
