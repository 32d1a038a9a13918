//! One-shot strategies scored on a tabular benchmark (NAS-Bench-201's
//! protocol, Dong & Yang 2020): the supernet trains on the table's own
//! images, is charged what it measures, and the recommended architecture's
//! final accuracy and cost are the table's, with no stand-alone
//! retraining. An experiment that differs from the table, or a table whose
//! images cannot be rebuilt, is refused naming the problem.

mod common;

use common::{epochs, run_experiment};
use nasarena_harness::tabular::{reader, TableScores};
use nasarena_harness::{experiment, plan};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn shipped_table() -> PathBuf {
    repo().join("data/tables/fmnist-cell3-1ep.nastable")
}

const SCHEDULE: &str =
    "{ epochs = 1, batch_size = 16, optimizer = { lr = 0.2, momentum = 0.9, nesterov = true, weight_decay = 5e-4 } }";

/// An experiment on the shipped table with one GDAS unit; `c` is the
/// space's `C` option (the table's is 2), `budget` its `[budget]` body.
fn experiment_text(table: &Path, c: &str, budget: &str) -> String {
    format!(
        r#"
name = "table-one-shot"
seed = 7
repeats = 1
[table]
path = "{}"
[dataset]
name = "fashion-mnist-subset"
val_fraction = 0.05
train_limit = 500
[[space]]
name = "cell"
options = {{ C = "{c}", N = "1", input = "1x28x28", classes = "10", ops = "none,skip_connect,nor_conv_3x3" }}
[[strategy]]
name = "gumbel"
preset = "gdas"
[evaluator]
epochs = 1
batch_size = 16
optimizer = {{ lr = 0.2, momentum = 0.9, nesterov = true, weight_decay = 5e-4 }}
[budget]
{budget}
[final]
schedule = {SCHEDULE}
"#,
        table.display()
    )
}

/// The problems planning `text` reports.
fn refusal(text: &str, dir: &Path) -> String {
    let file = dir.join("refused.toml");
    std::fs::write(&file, text).expect("write");
    let (exp, text) = experiment::load(&file).expect("load");
    match plan::plan(exp, &text, &file, &dir.join("runs")) {
        Ok(_) => panic!("the experiment was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_supernet_trains_on_the_tables_images_and_is_scored_by_the_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let table_path = shipped_table();
    // Five epochs of 400 weight images (plus 100 architecture images
    // after the warm-up): counted in samples, so the run is the same
    // length on every machine.
    let text = experiment_text(&table_path, "2", "unit = \"train_samples\"\nlimit = 2600");
    let j = run_experiment("table-one-shot", &text, dir.path());
    let table = reader::open(&table_path).expect("table");

    // The supernet trained on the table's split and was charged what it
    // measured on this machine.
    let h = &j.header;
    assert_eq!(h.dataset.checksum, format!("table:{}", table.checksum()));
    assert_eq!(
        [h.dataset.train, h.dataset.val, h.dataset.test],
        table.header().settings.splits
    );
    assert!(
        h.cost_note.contains("measured on this machine"),
        "{}",
        h.cost_note
    );
    // One thread, as the table was built, even as the plan's only run.
    assert_eq!(h.threads, 1);
    let epochs = epochs(&j);
    assert!(epochs.len() >= 2, "{} epochs", epochs.len());
    assert!(epochs.iter().all(|e| e.cost.device_seconds > 0.0));

    // The final accuracy and cost are the table's for the recommendation.
    let f = j.final_record().expect("final record");
    let scores = TableScores::new(&table, &table_path, 1).expect("scores");
    let looked_up = scores.test_accuracy(&f.arch).expect("in the table");
    assert_eq!(f.test_accuracy, Some(looked_up), "{}", f.arch);
    let space = nasarena_spaces::build_space(
        "cell",
        nasarena_spaces::SpaceOptions::from_pairs("cell", table.header().space_options.clone()),
    )
    .expect("space");
    let arch = space.parse(&f.arch).expect("genotype");
    let i = table
        .find(space.canonical(&arch).choices())
        .expect("canonical entry");
    let recorded = table.values(i, 0, 0).device_seconds;
    assert_eq!(f.cost.device_seconds, recorded);
    assert_eq!(f.cost.evaluations, 0, "no stand-alone retraining");
    assert!(f.search_cost.device_seconds > 0.0);
    assert_eq!(
        f.normalised_search_cost,
        f.search_cost.device_seconds / h.calibration_seconds
    );
}

#[test]
fn a_resumed_supernet_keeps_the_calibration_its_header_recorded() {
    use nasarena_harness::options::RunOptions;
    let dir = tempfile::tempdir().expect("tempdir");
    let text = experiment_text(
        &shipped_table(),
        "2",
        "unit = \"train_samples\"\nlimit = 1200",
    );
    let first = run_experiment("resumed", &text, dir.path());
    // Keep only the header, with a calibration no machine measures, and
    // resume: the run starts over under the header it finds.
    let mut header: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&first.path)
            .expect("journal")
            .lines()
            .next()
            .expect("header"),
    )
    .expect("json");
    header["calibration_seconds"] = serde_json::json!(1000.0);
    std::fs::write(&first.path, format!("{header}\n")).expect("write");
    let file = dir.path().join("resumed.toml");
    let (exp, text) = experiment::load(&file).expect("load");
    let plan = plan::plan(exp, &text, &file, &dir.path().join("runs")).expect("plan");
    let opts = RunOptions {
        build: nasarena_harness::machine::BuildInfo {
            version: "test".into(),
            git_revision: "test".into(),
            features: String::new(),
        },
        resume: true,
        progress: nasarena_harness::progress::silent(),
        device: nasarena_harness::device::DeviceChoice::Cpu,
        only_unit: None,
        jobs: 1,
        stop: Default::default(),
    };
    nasarena_harness::runner::run_plan(&plan, &opts).expect("resume");
    let j = nasarena_results::read_journal(&first.path).expect("journal");
    let f = j.final_record().expect("final");
    assert_eq!(j.header.calibration_seconds, 1000.0);
    assert_eq!(
        f.normalised_search_cost,
        f.search_cost.device_seconds / 1000.0
    );
}

#[test]
fn one_shot_on_a_table_is_refused_where_the_experiment_or_table_differs() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A network option the table was not built with.
    let e = refusal(
        &experiment_text(
            &shipped_table(),
            "4",
            "unit = \"train_samples\"\nlimit = 2600",
        ),
        dir.path(),
    );
    assert!(e.contains("space[0].options") && e.contains("C=4"), "{e}");

    // An imported table: its images cannot be rebuilt for a supernet.
    let nb201 = repo().join("data/tables/nb201-cifar10-12ep.nastable");
    let text = format!(
        r#"
name = "nb201-one-shot"
seed = 1
repeats = 1
[table]
path = "{}"
[dataset]
name = "cifar10"
val_fraction = 0.5
[[space]]
name = "cell"
options = {{ C = "16", N = "5", input = "3x32x32", classes = "10" }}
[[strategy]]
name = "random"
[[strategy]]
name = "gumbel"
preset = "darts"
[evaluator]
epochs = 12
batch_size = 256
optimizer = {{ lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 5e-4 }}
crop_padding = 4
horizontal_flip = true
[budget]
unit = "train_samples"
limit = 100000
[final]
schedule = {{ epochs = 12, batch_size = 256, optimizer = {{ lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 5e-4 }}, crop_padding = 4, horizontal_flip = true }}
"#,
        nb201.display()
    );
    let e = refusal(&text, dir.path());
    assert!(
        e.contains("strategy[1].name") && e.contains("imported") && !e.contains("strategy[0]"),
        "{e}"
    );
}
