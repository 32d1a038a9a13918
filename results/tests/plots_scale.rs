//! Plots of large experiments stay usable: 100 seeds of five strategies
//! with 200 evaluations each (100,000 points, as the NAS-Bench-201
//! experiment has) give SVGs under 1 MB, the accuracy-vs-MACs panels
//! become densities with each strategy's front and recommendations on top,
//! and an axis that counts evaluations has whole-number ticks.

use nasarena_core::BudgetUnit;
use nasarena_results::load::{CurvePoint, Evaluated, RunData};
use nasarena_results::plot::{write_plots, PlotOptions};
use nasarena_results::{load_runs, Loaded};
use std::path::Path;

/// A deterministic pseudo-random number in [0, 1) (no unseeded randomness).
fn hash01(a: u64, b: u64) -> f64 {
    let mut h = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 32;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// `runs` seeds of five strategies, `evals` evaluations each, counted in
/// evaluations with no device time (a replayed table), built on a real
/// journal header.
fn big(runs: u64, evals: u64) -> Loaded {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journals");
    let template: RunData = load_runs(&dir)
        .expect("fixtures")
        .runs
        .into_iter()
        .find(|r| !r.one_shot)
        .expect("a black-box run");
    let mut out = Loaded::default();
    for s in 0..5u64 {
        for seed in 0..runs {
            let mut r = template.clone();
            r.header.label = format!("strategy-{s}");
            r.header.seed = seed;
            r.header.budget.unit = BudgetUnit::Evaluations;
            r.header.budget.limit = evals as f64;
            r.file = format!("s{s}/seed-{seed}.jsonl");
            let (mut best, mut curve, mut evaluated) = (0.0f64, Vec::new(), Vec::new());
            for t in 0..evals {
                let u = hash01(s * 1_000 + seed, t);
                let macs = 1_000_000 + (u * 200.0) as u64 * 100_000;
                let val = 60.0 + 30.0 * u.sqrt() * hash01(seed, t + 7);
                best = best.max(val);
                evaluated.push(Evaluated { macs, val });
                curve.push(CurvePoint {
                    budget: (t + 1) as f64,
                    device_hours: 0.0,
                    best_val: best,
                });
            }
            if let Some(f) = r.final_record.as_mut() {
                f.search_val_accuracy = Some(best / 100.0);
                f.macs = 1_000_000 + (seed % 7) * 2_000_000;
            }
            r.curve = curve;
            r.evaluated = evaluated;
            out.runs.push(r);
        }
    }
    out
}

/// The contents of every `<text>` element of an SVG, trimmed.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| t.split_once('>'))
        .filter_map(|(_, rest)| rest.split_once("</text>"))
        .map(|(body, _)| body.trim().to_string())
        .collect()
}

#[test]
fn large_experiments_give_small_readable_svgs() {
    let loaded = big(100, 200);
    let out = tempfile::tempdir().expect("tempdir");
    let opts = PlotOptions {
        log_x: false,
        svg_only: true,
    };
    let done = write_plots(&loaded, out.path(), opts).expect("plots");
    assert_eq!(
        done.files.len(),
        3,
        "anytime, accuracy vs MACs, final networks vs MACs"
    );
    for f in &done.files {
        let bytes = std::fs::metadata(f).expect("written").len();
        assert!(bytes < 1_000_000, "{}: {bytes} bytes", f.display());
    }
    let scatter = std::fs::read_to_string(&done.files[1]).expect("svg");
    assert!(
        scatter.contains("evaluated (100000, density)"),
        "density legend"
    );
    assert!(scatter.contains("recommended"), "recommendation legend");
    // A density cell is a rectangle; points drawn one by one would be
    // 100,000 circles. One panel per strategy, titled with its label.
    assert!(
        scatter.matches("<circle").count() < 100,
        "points drawn one by one"
    );
    // Counting axis: 0, 50, ..., 200 evaluations, never `50.0`.
    let anytime = std::fs::read_to_string(&done.files[0]).expect("svg");
    assert!(anytime.contains("search cost (evaluations)"), "x axis");
    let labels = texts(&anytime);
    assert!(
        labels.iter().any(|t| t == "50"),
        "tick 50 missing: {labels:?}"
    );
    assert!(!labels.iter().any(|t| t.ends_with(".0")), "{labels:?}");
}

#[test]
fn small_experiments_draw_every_point() {
    let loaded = big(2, 20);
    let out = tempfile::tempdir().expect("tempdir");
    let opts = PlotOptions {
        log_x: false,
        svg_only: true,
    };
    let done = write_plots(&loaded, out.path(), opts).expect("plots");
    let scatter = std::fs::read_to_string(&done.files[1]).expect("svg");
    assert!(scatter.contains("evaluated (200)"), "dot legend");
    assert!(
        scatter.matches("<circle").count() >= 200,
        "every point drawn"
    );
    // A 20-evaluation axis: every label is a whole number.
    let anytime = std::fs::read_to_string(&done.files[0]).expect("svg");
    let labels = texts(&anytime);
    assert!(labels.iter().any(|t| t == "10"), "{labels:?}");
    assert!(!labels.iter().any(|t| t.ends_with(".5")), "{labels:?}");
}
