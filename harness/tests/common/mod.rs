//! Running an experiment written in a test through the harness, as the
//! binary's `run` does, and reading its journal back.

use nasarena_harness::device::DeviceChoice;
use nasarena_harness::machine::BuildInfo;
use nasarena_harness::options::RunOptions;
use nasarena_harness::runner::run_plan;
use nasarena_harness::{experiment, plan};
use nasarena_results::{read_journal, EpochRecord, Journal, Record};
use std::path::Path;

/// Writes `text` to `dir/<name>.toml`, plans and runs it under `dir/runs`
/// on the CPU and returns the first unit's journal.
#[allow(dead_code)] // cuda.rs uses only run_experiment_on.
pub fn run_experiment(name: &str, text: &str, dir: &Path) -> Journal {
    run_experiment_on(name, text, dir, DeviceChoice::Cpu)
}

/// [`run_experiment`] on `device`.
pub fn run_experiment_on(name: &str, text: &str, dir: &Path, device: DeviceChoice) -> Journal {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, text).expect("write");
    let (exp, text) = experiment::load(&file).expect("load");
    let plan = plan::plan(exp, &text, &file, &dir.join("runs")).expect("plan");
    let opts = RunOptions {
        build: BuildInfo {
            version: "test".into(),
            git_revision: "test".into(),
            features: String::new(),
        },
        resume: false,
        progress: nasarena_harness::progress::silent(),
        device,
        only_unit: None,
        jobs: 1,
        stop: Default::default(),
    };
    let journals = run_plan(&plan, &opts).expect("run");
    read_journal(&journals[0]).expect("journal")
}

/// The epoch records of a one-shot journal.
#[allow(dead_code)] // not every test file reads epochs.
pub fn epochs(j: &Journal) -> Vec<&EpochRecord> {
    j.records
        .iter()
        .filter_map(|r| match r {
            Record::Epoch(e) => Some(e),
            _ => None,
        })
        .collect()
}
