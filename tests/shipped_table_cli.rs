//! The table built with nasarena's own trainer that ships with it
//! (data/tables/fmnist-cell3-1ep.nastable) and the search-efficiency
//! regression gate `.ci/run` runs on it: 100 seeds of every black-box
//! strategy replayed on the table pass `compare` against the committed
//! baseline on this code, and fail it when a strategy is made worse.

mod common;

use common::{nasarena, ok};
use std::path::{Path, PathBuf};
use std::process::Output;

const EXPERIMENT: &str = "experiments/fmnist-cell3.toml";
const BASELINE: &str = "data/baselines/fmnist-cell3.json";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `experiment` from the repository root into `runs` and compares
/// the result with the baseline.
fn gate(experiment: &Path, runs: &Path) -> Output {
    gate_with(experiment, runs, "fmnist-cell3", BASELINE)
}

/// [`gate`] for the experiment called `name` and its `baseline`.
fn gate_with(experiment: &Path, runs: &Path, name: &str, baseline: &str) -> Output {
    let runs_arg = runs.to_str().expect("utf8");
    let exp = experiment.to_str().expect("utf8");
    ok(&nasarena(
        &["run", exp, "--runs-dir", runs_arg, "--quiet"],
        &root(),
    ));
    let new = runs.join(name);
    nasarena(
        &[
            "compare",
            baseline,
            new.to_str().expect("utf8"),
            "--tolerance",
            "0.5",
        ],
        &root(),
    )
}

#[test]
fn the_shipped_table_is_the_one_its_experiment_pins() {
    let info = ok(&nasarena(
        &["tabulate", "info", "data/tables/fmnist-cell3-1ep.nastable"],
        &root(),
    ));
    let exp = std::fs::read_to_string(root().join(EXPERIMENT)).expect("experiment");
    let pin = exp
        .lines()
        .find_map(|l| l.strip_prefix("sha256 = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("the experiment pins the table's sha256");
    for needle in [
        pin,
        "ops=none,skip_connect,nor_conv_3x3",
        "127 (127 canonical classes)",
        "train/val/test [500, 300, 1000]",
        "device seconds",
        "tool: nasarena tabulate build",
    ] {
        assert!(info.contains(needle), "`{needle}` missing from:\n{info}");
    }
}

/// The ground-truth table (data/tables/fmnist16-cell4-2ep-2seed.nastable) is the
/// one its experiment pins, meets the bar (best test at least 85%,
/// non-degenerate cells at least 10 points apart), and the CI gate on it
/// passes on this code.
#[test]
fn the_ground_truth_table_is_pinned_and_its_gate_passes() {
    let info = ok(&nasarena(
        &[
            "tabulate",
            "info",
            "data/tables/fmnist16-cell4-2ep-2seed.nastable",
        ],
        &root(),
    ));
    let exp = std::fs::read_to_string(root().join("experiments/fmnist16-cell4.toml"))
        .expect("experiment");
    let pin = exp
        .lines()
        .find_map(|l| l.strip_prefix("sha256 = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("the experiment pins the table's sha256");
    assert!(info.contains(pin), "{info}");
    assert!(info.contains("1236 (1236 canonical classes)"), "{info}");
    assert!(
        info.contains("train/val/test [14000, 12000, 10000]"),
        "{info}"
    );
    let spread = info
        .lines()
        .find(|l| l.starts_with("spread"))
        .expect("spread line");
    let numbers: Vec<f64> = spread
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|t| t.parse().ok())
        .collect();
    // "... test LO% to HI%, SPREAD points"
    let [.., hi, points] = numbers[..] else {
        panic!("{spread}")
    };
    assert!(hi >= 85.0 && points >= 10.0, "{spread}");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = gate_with(
        &root().join("experiments/fmnist16-cell4.toml"),
        dir.path(),
        "fmnist16-cell4",
        "data/baselines/fmnist16-cell4.json",
    );
    let text = ok(&out);
    assert!(text.contains("no significant regression"), "{text}");
}

#[test]
fn the_regression_gate_passes_on_this_code_and_fails_on_a_weakened_strategy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let same = gate(&root().join(EXPERIMENT), &dir.path().join("same"));
    let text = ok(&same);
    assert!(text.contains("no significant regression"), "{text}");

    // Evolution restricted to cells of at most 0.25 MMACs (no convolution
    // on most edges) but reported under its usual label: a real loss of
    // search efficiency the gate must catch.
    let weakened = std::fs::read_to_string(root().join(EXPERIMENT))
        .expect("experiment")
        .replace(
            "name = \"evolution\"\npreset = \"nb201\"\n",
            "name = \"evolution\"\npreset = \"nb201\"\nlabel = \"evolution/nb201\"\noverrides = { objective = { mac_limit = 250000 } }\n",
        )
        // The copy lives elsewhere: its table path is relative to its folder.
        .replace(
            "\"../data/tables/",
            &format!("\"{}/data/tables/", root().display()),
        );
    let path = dir.path().join("weakened.toml");
    std::fs::write(&path, weakened).expect("write");
    let worse = gate(&path, &dir.path().join("weakened"));
    assert_eq!(worse.status.code(), Some(1), "compare must exit 1");
    let text = String::from_utf8_lossy(&worse.stdout);
    let evolution = text
        .lines()
        .find(|l| l.contains("| evolution/nb201 |"))
        .expect("an evolution line");
    assert!(evolution.ends_with("| REGRESSED |"), "{text}");
    assert!(text.contains("1 of 4 strategies regressed"), "{text}");
}
