//! SVG plots need no font: in this test process no font is ever registered
//! (PNGs are switched off), and every figure must still be written with its
//! axis labels and legend as SVG text.

use nasarena_results::load_runs;
use nasarena_results::plot::{write_plots, PlotOptions};
use std::path::Path;

#[test]
fn svg_plots_without_any_font() {
    let runs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journals");
    let loaded = load_runs(&runs).unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = PlotOptions {
        log_x: true,
        svg_only: true,
    };
    let done = write_plots(&loaded, out.path(), opts).unwrap();
    let names: Vec<String> = done
        .files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let stem = "cell-c-4-n-1-classes-10-input-1x28x28";
    assert_eq!(
        names,
        [
            format!("{stem}-anytime.svg"),
            format!("{stem}-acc-macs.svg"),
            format!("{stem}-final-macs.svg"),
            format!("{stem}-gumbel-fbnet-entropy.svg"),
        ]
    );
    let anytime = std::fs::read_to_string(&done.files[0]).unwrap();
    for needle in [
        "<svg",
        "search cost (device-hours, log scale)",
        "best validation accuracy so far (%)",
        "evolution/nb201",
        "gumbel/fbnet",
        "random",
        "reinforce/nb201",
    ] {
        assert!(anytime.contains(needle), "{needle} missing from the SVG");
    }
    let scatter = std::fs::read_to_string(&done.files[1]).unwrap();
    assert!(scatter.contains("validation accuracy (%) vs MMACs (batch 1)"));
    let finals = std::fs::read_to_string(&done.files[2]).unwrap();
    assert!(finals.contains("test accuracy (%) of the final networks vs MMACs"));
    let entropy = std::fs::read_to_string(&done.files[3]).unwrap();
    assert!(entropy.contains("entropy of the decision (nats)") && entropy.contains("decision 5"));
    // Same input, same bytes: SVG text is measured without the font.
    let again = tempfile::tempdir().unwrap();
    let done2 = write_plots(&loaded, again.path(), opts).unwrap();
    assert_eq!(std::fs::read(&done2.files[0]).unwrap(), anytime.as_bytes());
}
