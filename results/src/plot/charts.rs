//! Two of the figures, drawn on any plotters backend: anytime curves
//! (median and interquartile band across seeds of the best-so-far
//! validation accuracy against search cost) and per-decision entropy of a
//! one-shot search over epochs; the legend and styles every figure shares
//! (accuracy against MACs is drawn in `scatter`).

use super::backend::text_width;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_backend::DrawingBackend;
use std::ops::Range;

/// A figure that can be drawn on any backend (SVG always, PNG when a font
/// is found). It lives here, below the figures that implement it, so that
/// `figures` needs only the charts and never the plot module that calls it.
pub(crate) trait Figure {
    /// Draws the whole figure on `root`; the error is the backend's message.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;

    /// Size in pixels (taller for figures of several panels).
    fn size(&self) -> (u32, u32) {
        SIZE
    }
}

/// Figure size in pixels: at a 3.3 in paper column the 24 px text is about
/// 6.5 pt, the size of a typical figure label.
pub const SIZE: (u32, u32) = (900, 640);
pub(crate) const LABEL: u32 = 28;
pub(crate) const TICK: u32 = 24;
const LEGEND: u32 = 24;

/// Colour-blind-safe palette (Okabe & Ito 2008), strategy by index.
pub fn color(i: usize) -> RGBColor {
    const P: [RGBColor; 7] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
        RGBColor(0, 0, 0),
    ];
    P[i % P.len()]
}

/// Sequential colour for layer `i` of `n` (dark blue to yellow, after
/// viridis).
pub fn ramp(i: usize, n: usize) -> RGBColor {
    const A: [(f64, f64, f64); 4] = [
        (68.0, 1.0, 84.0),
        (49.0, 104.0, 142.0),
        (53.0, 183.0, 121.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if n <= 1 {
        0.0
    } else {
        i as f64 / (n - 1) as f64
    } * 0.9;
    let s = t * 3.0;
    let k = (s.floor() as usize).min(2);
    let f = s - k as f64;
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    RGBColor(
        mix(A[k].0, A[k + 1].0),
        mix(A[k].1, A[k + 1].1),
        mix(A[k].2, A[k + 1].2),
    )
}

pub(crate) type Err = String;

pub(crate) fn e<T: std::fmt::Display>(x: T) -> Err {
    x.to_string()
}

/// A tick label on an axis that counts things (evaluations, epochs,
/// samples): whole numbers without decimals, and no label at a fractional
/// tick (plotters may place ticks at halves on short axes).
pub(crate) fn count_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{:.0}", v.round())
    } else {
        String::new()
    }
}

/// Decimals for tick labels over an axis span of `span`.
pub(crate) fn decimals(span: f64) -> usize {
    if span >= 10.0 {
        0
    } else if span >= 1.0 {
        1
    } else {
        2
    }
}

/// How a legend entry is marked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mark {
    /// A line (a curve or a Pareto front).
    #[default]
    Line,
    /// A filled triangle (recommended architectures).
    Triangle,
    /// A filled square (a density of points).
    Square,
}

/// One legend entry: a colour, a mark and a label.
pub struct Entry {
    /// Colour.
    pub color: RGBColor,
    /// Text.
    pub label: String,
    /// The mark drawn before the text.
    pub mark: Mark,
}

/// Draws the legend in rows below the plot; returns nothing useful.
pub(crate) fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[Entry],
) -> Result<(), Err> {
    let (w, _) = area.dim_in_pixel();
    let style = ("sans-serif", LEGEND).into_font().color(&BLACK);
    let (mut x, mut y) = (90i32, 8i32);
    for it in items {
        let item_w = 50 + text_width(&it.label, LEGEND as f64) as i32 + 30;
        if x + item_w > w as i32 && x > 90 {
            x = 90;
            y += LEGEND as i32 + 10;
        }
        let mid = y + LEGEND as i32 / 2;
        match it.mark {
            Mark::Line => area.draw(&PathElement::new(
                vec![(x, mid), (x + 40, mid)],
                it.color.stroke_width(4),
            )),
            Mark::Triangle => area.draw(&TriangleMarker::new((x + 20, mid), 10, it.color.filled())),
            Mark::Square => area.draw(&Rectangle::new(
                [(x + 10, mid - 10), (x + 30, mid + 10)],
                it.color.filled(),
            )),
        }
        .map_err(e)?;
        area.draw(&Text::new(it.label.clone(), (x + 50, y), style.clone()))
            .map_err(e)?;
        x += item_w;
    }
    Ok(())
}

/// Height in pixels the legend needs at the figure width.
pub fn legend_height(items: &[Entry]) -> u32 {
    let mut rows = 1;
    let mut x = 90;
    for it in items {
        let item_w = 50 + text_width(&it.label, LEGEND as f64) as i32 + 30;
        if x + item_w > SIZE.0 as i32 && x > 90 {
            x = 90;
            rows += 1;
        }
        x += item_w;
    }
    rows * (LEGEND + 10) + 12
}

/// A median line and its interquartile band, as steps over `x`.
pub struct Band {
    /// Colour.
    pub color: RGBColor,
    /// Breakpoints (x) with (q1, median, q3) from each breakpoint on.
    pub steps: Vec<(f64, [f64; 3])>,
    /// Where the last step ends.
    pub end: f64,
}

fn stepped(steps: &[(f64, [f64; 3])], end: f64, k: usize) -> Vec<(f64, f64)> {
    let mut pts = Vec::new();
    for (i, (x, v)) in steps.iter().enumerate() {
        let next = steps.get(i + 1).map_or(end, |s| s.0);
        pts.push((*x, v[k]));
        pts.push((next, v[k]));
    }
    pts
}

/// The anytime figure. `x` is the (linear or log) x-axis specification;
/// `count_x`: the axis counts evaluations or samples (whole-number ticks).
#[allow(clippy::too_many_arguments)]
pub fn anytime<DB: DrawingBackend, X>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    count_x: bool,
    x: X,
    y: Range<f64>,
    bands: &[Band],
    items: &[Entry],
) -> Result<(), Err>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    root.fill(&WHITE).map_err(e)?;
    let (_, h) = root.dim_in_pixel();
    let yd = decimals(y.end - y.start);
    let (top, bottom) = root.split_vertically(h - legend_height(items));
    let mut chart = ChartBuilder::on(&top)
        .caption(title, ("sans-serif", LABEL))
        .margin(14)
        .margin_right(30)
        .x_label_area_size(70)
        .y_label_area_size(90)
        .build_cartesian_2d(x, y)
        .map_err(e)?;
    let mut mesh = chart.configure_mesh();
    if count_x {
        mesh.x_label_formatter(&count_label);
    }
    mesh.x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(("sans-serif", LABEL))
        .label_style(("sans-serif", TICK))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.08))
        .x_labels(6)
        .y_labels(6)
        .y_label_formatter(&|v| format!("{v:.yd$}"))
        .draw()
        .map_err(e)?;
    for b in bands {
        let q1 = stepped(&b.steps, b.end, 0);
        let q3 = stepped(&b.steps, b.end, 2);
        let poly: Vec<(f64, f64)> = q1.iter().copied().chain(q3.into_iter().rev()).collect();
        chart
            .draw_series(std::iter::once(Polygon::new(
                poly,
                b.color.mix(0.18).filled(),
            )))
            .map_err(e)?;
        chart
            .draw_series(LineSeries::new(
                stepped(&b.steps, b.end, 1),
                b.color.stroke_width(3),
            ))
            .map_err(e)?;
    }
    legend(&bottom, items)?;
    root.present().map_err(e)
}

/// Entropy of each decision over epochs (median across seeds).
pub fn entropy<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    epochs: usize,
    y_max: f64,
    lines: &[Vec<f64>],
    items: &[Entry],
) -> Result<(), Err> {
    root.fill(&WHITE).map_err(e)?;
    let (_, h) = root.dim_in_pixel();
    let (top, bottom) = root.split_vertically(h - legend_height(items));
    let x_max = epochs.saturating_sub(1).max(1) as f64;
    let mut chart = ChartBuilder::on(&top)
        .caption(title, ("sans-serif", LABEL))
        .margin(14)
        .margin_right(30)
        .x_label_area_size(70)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("search epoch")
        .y_desc("entropy of the decision (nats)")
        .axis_desc_style(("sans-serif", LABEL))
        .label_style(("sans-serif", TICK))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.08))
        .x_labels(epochs.clamp(2, 8))
        .x_label_formatter(&count_label)
        .y_labels(6)
        .draw()
        .map_err(e)?;
    let n = lines.len();
    for (i, line) in lines.iter().enumerate() {
        chart
            .draw_series(LineSeries::new(
                line.iter().enumerate().map(|(k, v)| (k as f64, *v)),
                ramp(i, n).stroke_width(3),
            ))
            .map_err(e)?;
    }
    legend(&bottom, items)?;
    root.present().map_err(e)
}
