//! Turning runs into figure data: step-wise median/IQR bands of the
//! best-so-far curves (at most [`BAND_STEPS`] steps, so the SVG stays
//! small for any number of runs), Pareto fronts, median entropies.

use super::charts::{self, Band, Entry, Figure, Mark};
use crate::curve::value_at_hours;
use crate::load::{CurvePoint, RunData};
use crate::record::ScoreMetric;
use crate::stats::quantile;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_backend::DrawingBackend;
use std::collections::BTreeMap;

pub(crate) struct Anytime {
    title: String,
    x_desc: String,
    y_desc: String,
    log_x: bool,
    /// The x axis counts evaluations, samples or MACs: whole-number ticks.
    count_x: bool,
    x: (f64, f64),
    y: (f64, f64),
    bands: Vec<Band>,
    items: Vec<Entry>,
}

impl Figure for Anytime {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (x, y) = (self.x.0..self.x.1, self.y.0..self.y.1);
        let (t, b, i) = (&self.title, &self.bands, &self.items);
        let d = (self.x_desc.as_str(), self.y_desc.as_str());
        let c = self.count_x;
        if self.log_x {
            charts::anytime(root, t, d, c, x.log_scale(), y, b, i)
        } else {
            charts::anytime(root, t, d, c, x, y, b, i)
        }
    }
}

pub(crate) struct Entropy {
    title: String,
    epochs: usize,
    y_max: f64,
    lines: Vec<Vec<f64>>,
    items: Vec<Entry>,
}

impl Figure for Entropy {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (t, l, i) = (&self.title, &self.lines, &self.items);
        charts::entropy(root, t, self.epochs, self.y_max, l, i)
    }
}

pub(crate) fn padded(lo: f64, hi: f64, frac: f64, min_span: f64) -> (f64, f64) {
    let span = (hi - lo).max(min_span);
    (lo - frac * span, hi + frac * span)
}

type XOf = fn(&RunData, &CurvePoint) -> f64;

/// Most steps of one band. Up to this many breakpoints the band is exact;
/// beyond (100 seeds timed in device seconds have ~20,000) it is sampled
/// on an even grid (log-spaced on a log axis), finer than the plot's
/// pixels, so size and drawing time stay bounded.
pub const BAND_STEPS: usize = 600;

/// At most [`BAND_STEPS`] positions: `xs` itself when it is short enough.
fn thinned(xs: Vec<f64>, end: f64, log_x: bool) -> Vec<f64> {
    let Some(&first) = xs.first() else {
        return xs;
    };
    if xs.len() <= BAND_STEPS || end <= first {
        return xs;
    }
    let n = BAND_STEPS - 1;
    (0..=n)
        .map(|k| {
            let t = k as f64 / n as f64;
            if log_x && first > 0.0 {
                first * (end / first).powf(t)
            } else {
                first + (end - first) * t
            }
        })
        .collect()
}

/// Median and quartiles across runs at every breakpoint up to `end`, from
/// the point where every run has a result (so the median of the monotone
/// best-so-far curves is monotone too).
fn band(runs: &[&RunData], x_of: XOf, end: f64, log_x: bool) -> Vec<(f64, [f64; 3])> {
    let curves: Vec<Vec<CurvePoint>> = runs
        .iter()
        .map(|r| {
            r.curve
                .iter()
                .map(|p| CurvePoint {
                    device_hours: x_of(r, p),
                    ..*p
                })
                .collect()
        })
        .collect();
    let mut xs: Vec<f64> = curves.iter().flatten().map(|p| p.device_hours).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs.retain(|x| *x <= end);
    let mut steps = Vec::new();
    for x in thinned(xs, end, log_x) {
        let vals: Vec<f64> = curves.iter().filter_map(|c| value_at_hours(c, x)).collect();
        if !vals.is_empty() && vals.len() == curves.len() {
            let q = |p| quantile(&vals, p).unwrap_or(f64::NAN);
            steps.push((x, [q(0.25), q(0.5), q(0.75)]));
        }
    }
    steps
}

fn by_hours(_: &RunData, p: &CurvePoint) -> f64 {
    p.device_hours
}

fn by_budget(_: &RunData, p: &CurvePoint) -> f64 {
    p.budget
}

/// Device seconds over the calibration seconds of the machine that spent
/// them: a table's recorded costs and a supernet's measured ones on one
/// axis.
fn by_normalised(r: &RunData, p: &CurvePoint) -> f64 {
    let c = r.header.calibration_seconds;
    if c > 0.0 {
        p.device_hours * 3600.0 / c
    } else {
        0.0
    }
}

/// Anytime curves of every strategy on one space.
pub(crate) fn anytime(
    space: &str,
    rows: &BTreeMap<String, Vec<&RunData>>,
    log_x: bool,
) -> Option<Anytime> {
    let all: Vec<&RunData> = rows.values().flatten().copied().collect();
    let first = all.first()?;
    let points = || {
        all.iter()
            .flat_map(|r| r.curve.iter().map(move |p| (*r, p)))
    };
    // Imported tabular benchmarks have no device time: fall back to the
    // budget unit. Runs scored on a table (replays charged the build
    // machine's seconds, supernets this machine's) share the normalised
    // axis.
    let hours = points().map(|(r, p)| by_hours(r, p)).fold(0.0, f64::max) > 0.0;
    let normalised = hours && all.iter().any(|r| r.table_checksum().is_some());
    let x_of: XOf = match (hours, normalised) {
        (true, true) => by_normalised,
        (true, false) => by_hours,
        _ => by_budget,
    };
    let end = points().map(|(r, p)| x_of(r, p)).fold(0.0, f64::max);
    let mut bands = Vec::new();
    let mut items = Vec::new();
    for (i, (label, runs)) in rows.iter().enumerate() {
        let steps = band(runs, x_of, end, log_x);
        if !steps.is_empty() {
            bands.push(Band {
                color: charts::color(i),
                steps,
                end,
            });
            items.push(Entry {
                color: charts::color(i),
                label: label.clone(),
                mark: Mark::Line,
            });
        }
    }
    let steps = || bands.iter().flat_map(|b| b.steps.iter());
    let lo = steps().map(|s| s.1[0]).fold(f64::INFINITY, f64::min);
    let hi = steps().map(|s| s.1[2]).fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() || end <= 0.0 {
        return None;
    }
    let first_x = steps().map(|s| s.0).fold(end, f64::min);
    let x = if log_x {
        (first_x.max(end * 1e-6) / 1.3, end * 1.3)
    } else {
        (0.0, end * 1.03)
    };
    let (ylo, yhi) = padded(lo, hi, 0.08, 2.0);
    let seeds = rows.values().map(Vec::len).max().unwrap_or(0);
    let gpu = all.iter().all(|r| r.header.device.starts_with("cuda"));
    let scale = if log_x { ", log scale" } else { "" };
    let x_desc = if normalised {
        format!("search cost (device seconds / calibration seconds{scale})")
    } else if hours {
        let unit = if gpu { "GPU-hours" } else { "device-hours" };
        format!("search cost ({unit}{scale})")
    } else {
        let unit = crate::format::unit_name(first.header.budget.unit);
        format!("search cost ({unit}{scale})")
    };
    Some(Anytime {
        title: format!("{space}: median and IQR over {seeds} seeds"),
        x_desc,
        y_desc: format!(
            "best validation {} so far (%)",
            ScoreMetric::of_all(all.iter().map(|r| r.header.dataset.metric)).label()
        ),
        log_x,
        count_x: !hours
            && !matches!(
                first.header.budget.unit,
                nasarena_core::BudgetUnit::DeviceSeconds | nasarena_core::BudgetUnit::DeviceHours
            ),
        x,
        y: (ylo.max(0.0), yhi.min(100.0)),
        bands,
        items,
    })
}

/// Non-dominated points (fewer MACs, higher accuracy), by increasing MACs.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut p = points.to_vec();
    p.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut front: Vec<(f64, f64)> = Vec::new();
    for q in p {
        if front.last().is_none_or(|l| q.1 > l.1) {
            front.push(q);
        }
    }
    front
}

/// Per-decision entropy of one one-shot strategy, median over seeds.
pub(crate) fn entropy(space: &str, label: &str, runs: &[&RunData]) -> Option<Entropy> {
    let epochs = runs.iter().map(|r| r.entropy.len()).max()?;
    let decisions = runs
        .iter()
        .flat_map(|r| r.entropy.iter().map(Vec::len))
        .max()?;
    if epochs == 0 || decisions == 0 {
        return None;
    }
    let median = |e: usize, d: usize| {
        let vals: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.entropy.get(e).and_then(|v| v.get(d)).copied())
            .collect();
        quantile(&vals, 0.5).unwrap_or(f64::NAN)
    };
    let lines: Vec<Vec<f64>> = (0..decisions)
        .map(|d| (0..epochs).map(|e| median(e, d)).collect())
        .collect();
    let y_max = lines
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        * 1.1;
    let shown: Vec<usize> = if decisions <= 8 {
        (0..decisions).collect()
    } else {
        vec![0, decisions / 2, decisions - 1]
    };
    let items = shown
        .into_iter()
        .map(|d| Entry {
            color: charts::ramp(d, decisions),
            label: format!("decision {d}"),
            mark: Mark::Line,
        })
        .collect();
    Some(Entropy {
        title: format!("{space}, {label}: median over {} seeds", runs.len()),
        epochs,
        y_max: y_max.max(1e-3),
        lines,
        items,
    })
}
