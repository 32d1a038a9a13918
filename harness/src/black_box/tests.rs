//! The black-box loop against a counting evaluator double: the budget rule
//! in every unit, and a resumed run equal to an uninterrupted one.

use super::*;
use crate::evaluation::double::CountingEvaluator;
use crate::optim::SgdConfig;
use crate::progress::silent;
use nasarena_core::Budget;
use nasarena_results::{read_journal, DatasetInfo, Header, SCHEMA_VERSION};
use nasarena_spaces::{build_space, SpaceOptions};
use std::collections::BTreeMap;

/// Seconds, train and validation samples the double charges per epoch.
const SECONDS: f64 = 2.0;
const TRAIN: u64 = 100;
const VAL: u64 = 20;

fn schedule() -> Schedule {
    Schedule {
        epochs: 1,
        batch_size: 16,
        optimizer: SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 5e-4,
            decoupled_weight_decay: false,
        },
        warmup_epochs: 0,
        grad_clip: None,
        crop_padding: 0,
        horizontal_flip: false,
        random_scale: None,
    }
}

fn header(budget: Budget) -> Header {
    Header {
        schema_version: SCHEMA_VERSION,
        experiment: "loop-test".into(),
        unit: 0,
        space: "cell".into(),
        space_options: Vec::new(),
        strategy: "random".into(),
        preset: "default".into(),
        label: "random".into(),
        seed: 7,
        budget,
        config: serde_json::Value::Null,
        crate_version: "test".into(),
        git_revision: "test".into(),
        features: String::new(),
        device: "cpu".into(),
        cpu_model: "test".into(),
        threads: 1,
        dataset: DatasetInfo {
            name: "double".into(),
            checksum: "double".into(),
            train: TRAIN as usize,
            val: VAL as usize,
            test: 0,
            metric: nasarena_results::ScoreMetric::Accuracy,
        },
        calibration_seconds: 1.0,
        cost_note: "test double".into(),
        host: "test".into(),
        slurm: None,
        search_schedule: None,
    }
}

struct Fixture {
    space: Box<dyn Realize>,
    schedule: Schedule,
    stop: StopFlag,
    label: UnitLabel,
    progress: std::sync::Arc<dyn ProgressSink>,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let options = SpaceOptions::from_pairs("cell", BTreeMap::new());
        Fixture {
            space: build_space("cell", options).expect("cell space"),
            schedule: schedule(),
            stop: StopFlag::new(),
            label: UnitLabel {
                index: 0,
                total: 1,
                name: "loop test".into(),
            },
            progress: silent(),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn search<'a>(
        &'a self,
        evaluator: &'a CountingEvaluator,
        journal: &'a Path,
    ) -> BlackBoxSearch<'a> {
        BlackBoxSearch {
            space: self.space.as_ref(),
            evaluator,
            schedule: &self.schedule,
            seed: Seed(7),
            journal,
            stop: &self.stop,
            progress: self.progress.as_ref(),
            label: &self.label,
        }
    }

    fn strategy(&self, name: &str) -> Box<dyn BlackBoxStrategy> {
        nasarena_strategies::build_black_box(
            name,
            None,
            &serde_json::json!({}),
            Seed(7).derive("strategy", 0),
            self.space.as_ref(),
        )
        .expect("strategy")
    }

    /// Runs `strategy` to the end of `budget`; returns the final state and
    /// the journal's path.
    fn run(&self, name: &str, budget: Budget, file: &str) -> (SearchState, u64, PathBuf) {
        let evaluator = CountingEvaluator::new(SECONDS, TRAIN, VAL);
        let path = self.dir.path().join(file);
        let mut writer = JournalWriter::create(&path, &header(budget)).expect("journal");
        let mut state = SearchState::new(Meter::new(budget));
        let mut strategy = self.strategy(name);
        self.search(&evaluator, &path)
            .run(strategy.as_mut(), &mut state, &mut writer)
            .expect("search");
        (state, evaluator.calls.get(), path)
    }
}

use std::path::PathBuf;

fn budget(unit: BudgetUnit, limit: f64) -> Budget {
    Budget::new(unit, limit).expect("budget")
}

#[test]
fn the_budget_rule_holds_in_every_unit() {
    let f = Fixture::new();
    // (unit, limit, evaluations the limit affords with the double's costs)
    let cases = [
        (BudgetUnit::Evaluations, 7.0, Some(7)),
        (BudgetUnit::TrainSamples, 750.0, Some(7)),
        (BudgetUnit::DeviceSeconds, 9.0, Some(4)),
        (BudgetUnit::DeviceHours, 9.0 / 3600.0, Some(4)),
        // MACs differ per architecture: only the limit is known.
        (BudgetUnit::Macs, 40e9, None),
    ];
    for (unit, limit, expected) in cases {
        let (state, calls, _) = f.run("random", budget(unit, limit), &format!("{unit:?}.jsonl"));
        let spent = state.meter.spent().amount(unit);
        assert!(calls > 0, "{unit:?}: nothing evaluated");
        assert!(spent <= limit + 1e-9, "{unit:?}: spent {spent} of {limit}");
        assert_eq!(
            calls,
            state.trial(),
            "{unit:?}: every evaluation is a trial"
        );
        if let Some(n) = expected {
            assert_eq!(calls, n, "{unit:?}: evaluations under limit {limit}");
        }
    }
}

#[test]
fn the_loop_stops_before_an_evaluation_it_cannot_afford() {
    let f = Fixture::new();
    // 250 samples afford two evaluations of 100; the third would take the
    // total to 300, so it is never started (not started and charged).
    let (state, calls, _) = f.run(
        "evolution",
        budget(BudgetUnit::TrainSamples, 250.0),
        "stop.jsonl",
    );
    assert_eq!(calls, 2);
    assert_eq!(state.meter.spent().train_samples, 200);
    assert!(
        !state.meter.exhausted(),
        "the budget was not spent past its limit"
    );
}

/// The journal's trial records, as written.
fn trial_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("journal")
        .lines()
        .filter(|l| l.contains("\"trial\"") && !l.contains("\"schema_version\""))
        .map(String::from)
        .collect()
}

#[test]
fn a_replayed_and_resumed_run_equals_an_uninterrupted_one() {
    let f = Fixture::new();
    for name in ["random", "evolution", "ga", "reinforce"] {
        let b = budget(BudgetUnit::Evaluations, 12.0);
        let (whole, _, whole_path) = f.run(name, b, &format!("{name}-whole.jsonl"));
        let records = read_journal(&whole_path).expect("journal").records;
        // A run killed after five trials: its journal holds their records.
        let path = f.dir.path().join(format!("{name}-resumed.jsonl"));
        let mut writer = JournalWriter::create(&path, &header(b)).expect("journal");
        let kept: Vec<Record> = records
            .iter()
            .filter(|r| matches!(r, Record::Trial(t) if t.trial < 5))
            .cloned()
            .collect();
        for r in &kept {
            writer.append(r).expect("append");
        }
        let evaluator = CountingEvaluator::new(SECONDS, TRAIN, VAL);
        let search = f.search(&evaluator, &path);
        let mut strategy = f.strategy(name);
        let mut state = SearchState::new(Meter::new(b));
        search
            .replay(strategy.as_mut(), &kept, &mut state)
            .expect("replay");
        assert_eq!(evaluator.calls.get(), 0, "{name}: replay evaluates nothing");
        search
            .run(strategy.as_mut(), &mut state, &mut writer)
            .expect("resumed search");
        assert_eq!(
            evaluator.calls.get(),
            7,
            "{name}: only the missing trials run"
        );
        assert_eq!(state.meter.spent(), whole.meter.spent(), "{name}");
        assert_eq!(trial_lines(&path), trial_lines(&whole_path), "{name}");
    }
}

#[test]
fn replay_refuses_a_journal_another_strategy_wrote() {
    let f = Fixture::new();
    let b = budget(BudgetUnit::Evaluations, 6.0);
    let (_, _, path) = f.run("random", b, "random.jsonl");
    let records = read_journal(&path).expect("journal").records;
    let evaluator = CountingEvaluator::new(SECONDS, TRAIN, VAL);
    let mut other = f.strategy("evolution");
    let mut state = SearchState::new(Meter::new(b));
    let err = f
        .search(&evaluator, &path)
        .replay(other.as_mut(), &records, &mut state);
    // Evolution's first proposals are random too, but not these.
    assert!(matches!(err, Err(Error::JournalMismatch { .. })), "{err:?}");
}
