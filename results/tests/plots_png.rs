//! PNG plots render text with a system TrueType font found at run time. On
//! a machine without one the PNGs are skipped with a warning that says how
//! to get one (SVGs are still written); both outcomes are checked here.

use nasarena_results::load_runs;
use nasarena_results::plot::{ensure_font, pareto_front, write_plots, PlotOptions};
use std::path::Path;

#[test]
fn png_plots_when_a_font_is_found() {
    let runs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journals");
    let loaded = load_runs(&runs).unwrap();
    let out = tempfile::tempdir().unwrap();
    let done = write_plots(&loaded, out.path(), PlotOptions::default()).unwrap();
    let pngs: Vec<_> = done
        .files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    match ensure_font() {
        Ok(_) => {
            assert_eq!(pngs.len(), 4);
            for p in pngs {
                let bytes = std::fs::read(p).unwrap();
                assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", p.display());
                assert!(bytes.len() > 10_000, "{} looks empty", p.display());
            }
        }
        Err(why) => {
            assert!(pngs.is_empty());
            assert!(why.contains("NASARENA_FONT"), "{why}");
            assert!(done.warnings[0].contains("PNG plots skipped"));
        }
    }
}

#[test]
fn pareto_front_keeps_non_dominated_points() {
    let pts = [
        (1.0, 50.0),
        (2.0, 40.0),
        (2.0, 60.0),
        (3.0, 60.0),
        (4.0, 70.0),
        (0.5, 20.0),
    ];
    assert_eq!(
        pareto_front(&pts),
        vec![(0.5, 20.0), (1.0, 50.0), (2.0, 60.0), (4.0, 70.0)]
    );
}
