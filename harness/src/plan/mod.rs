//! From a parsed experiment file to validated runs: every space, strategy,
//! dataset and budget is checked before any compute is spent, and every
//! problem is reported at once with its key path.

mod check;
pub mod scenes;
mod unit;

use crate::data::prepare_splits;
use crate::experiment::{base_dir, find_line, ExperimentFile};
use crate::tabular::TableSource;
use crate::{Error, Problem, Result};
use check::{load_data, one_shot_table_images, strategy_problems};
use nasarena_core::{Budget, Seed};
use nasarena_datasets::{Splits, TrainTest};
use nasarena_spaces::{build_space, Realize, SpaceOptions};
use std::path::{Path, PathBuf};
pub use unit::{SearchCosts, Unit, UnitKind};

/// A validated experiment ready to run.
#[derive(Debug)]
pub struct Plan {
    /// The experiment as written.
    pub experiment: ExperimentFile,
    /// The spaces, built.
    pub spaces: Vec<Box<dyn Realize>>,
    /// The images (`None` when evaluations are looked up in a table).
    pub data: Option<TrainTest>,
    /// The table evaluations are looked up in, if the experiment has one.
    pub table: Option<TableSource>,
    /// The table's own images, rebuilt when one-shot strategies train
    /// supernets on them (they are scored by the table like the rest).
    pub table_images: Option<Splits>,
    /// Segmentation scenes (a segmentation dataset), read once; every
    /// repetition uses their fixed splits.
    pub scenes: Option<crate::segmentation::data::SceneSplits>,
    /// The budget of every run.
    pub budget: Budget,
    /// The runs.
    pub units: Vec<Unit>,
    /// The runs folder of this experiment.
    pub runs_dir: PathBuf,
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Validates `exp` (read from `origin`, whose text is `text`) and plans its
/// runs under `runs_root/<name>/`. Files the experiment names are read
/// relative to `origin`'s folder.
pub fn plan(exp: ExperimentFile, text: &str, origin: &Path, runs_root: &Path) -> Result<Plan> {
    let base = base_dir(origin);
    let files = exp.with_paths_from(base);
    let mut problems: Vec<(String, String)> = exp.value_problems();
    let mut spaces = Vec::new();
    for (i, s) in exp.space.iter().enumerate() {
        let options = SpaceOptions::from_pairs(&s.name, s.options.clone());
        match build_space(&s.name, options) {
            Ok(space) => spaces.push(space),
            Err(e) => problems.push((format!("space[{i}]"), e.to_string())),
        }
    }
    let mut one_shot_costs = Vec::new();
    for (i, st) in files.strategy.iter().enumerate() {
        let (found, costs) = strategy_problems(i, st, &files, &spaces);
        problems.extend(found);
        one_shot_costs.push(costs);
    }
    scenes::task_problems(&exp, &spaces, &mut problems);
    let mut scene_data = None;
    let (table, data, table_images) = match &exp.table {
        Some(cfg) => {
            let (table, found) = crate::tabular::check::check(&exp, cfg, base, &spaces);
            // Rebuilding the images is only worth it for a table that fits.
            let images = match &table {
                Some(t) if found.is_empty() => one_shot_table_images(&exp, t, &mut problems),
                _ => None,
            };
            problems.extend(found);
            (table, None, images)
        }
        None if crate::segmentation::data::is_segmentation(&exp.dataset.name) => {
            scene_data = scenes::load_scenes(&files, &spaces, &mut problems);
            (None, None, None)
        }
        None => (None, load_data(&files, &spaces, &mut problems), None),
    };
    if !problems.is_empty() {
        return Err(Error::Config {
            path: origin.to_path_buf(),
            problems: problems
                .into_iter()
                .map(|(key, message)| Problem {
                    line: find_line(text, &key),
                    key,
                    message,
                })
                .collect(),
        });
    }
    let budget = Budget::new(exp.budget.unit, exp.budget.limit)?;
    let runs_dir = runs_root.join(slug(&exp.name));
    let mut units = Vec::new();
    for (si, s) in exp.space.iter().enumerate() {
        let space_dir = if s.options.is_empty() {
            slug(&s.name)
        } else {
            slug(&format!("{}-{}", s.name, s.option_strings().join("-")))
        };
        for (ti, st) in exp.strategy.iter().enumerate() {
            let kind = match &one_shot_costs[ti][si] {
                Some(costs) => UnitKind::OneShot(costs.clone()),
                None => UnitKind::BlackBox,
            };
            for repeat in 0..st.seeds(exp.repeats) {
                units.push(Unit {
                    index: units.len(),
                    space: si,
                    strategy: ti,
                    repeat,
                    seed: Seed(exp.seed).derive("repeat", repeat as u64),
                    journal: runs_dir
                        .join(&space_dir)
                        .join(slug(&st.label()))
                        .join(format!("seed-{repeat}.jsonl")),
                    config: st.clone(),
                    kind: kind.clone(),
                });
            }
        }
    }
    Ok(Plan {
        experiment: exp,
        spaces,
        data,
        table,
        table_images,
        scenes: scene_data,
        budget,
        units,
        runs_dir,
    })
}

impl Plan {
    /// The data of one repetition: split, then limited.
    pub fn repetition_data(&self, unit: &Unit) -> Result<Splits> {
        let d = &self.experiment.dataset;
        let data = self.data.as_ref().ok_or(Error::NoImages)?;
        prepare_splits(data, d.val_fraction, d.train_limit, unit.seed)
    }

    /// A unit's name in progress events, logs and Slurm listings.
    pub fn unit_name(&self, unit: &Unit) -> String {
        format!(
            "{} {} seed {}",
            self.experiment.space[unit.space].name,
            unit.config.label(),
            unit.repeat
        )
    }

    /// The units to run: all, or only unit `only` (an array task), which
    /// must exist.
    pub fn select(&self, only: Option<usize>) -> Result<Vec<&Unit>> {
        if let Some(unit) = only.filter(|&u| u >= self.units.len()) {
            return Err(Error::UnitOutOfRange {
                unit,
                units: self.units.len(),
            });
        }
        Ok(self
            .units
            .iter()
            .filter(|u| only.is_none_or(|i| i == u.index))
            .collect())
    }

    /// True when every run replays a table (no one-shot strategy trains a
    /// supernet on its images): runs take milliseconds and do no training.
    fn replays_only(&self) -> bool {
        self.table.is_some() && self.table_images.is_none()
    }

    /// Whether `unit`'s costs are measured on this machine (live training,
    /// or a supernet trained on a table's images), not recorded in a table:
    /// they are normalised by this machine's calibration.
    pub fn measured_here(&self, unit: &Unit) -> bool {
        self.table.is_none() || matches!(unit.kind, UnitKind::OneShot(_))
    }

    /// How many of `selected` runs go at once when `requested` were asked
    /// for. On a table, one per core unless told more: replays take
    /// milliseconds, and a supernet trained on a table's images must spend
    /// its seconds as the table's build spent them (`tabulate build` runs
    /// one-thread shards side by side, one per core), or a run with every
    /// core would buy more training per second than the black-box runs it
    /// is compared with. Runs that train without a table go as requested.
    pub fn concurrent_runs(&self, requested: usize, selected: usize) -> usize {
        let wanted = if self.table.is_some() {
            requested.max(available_cores())
        } else {
            requested
        };
        wanted.clamp(1, selected.max(1))
    }

    /// Threads of each run's pool when `jobs` runs go at once: on a table
    /// always one, as `tabulate build` trains (see
    /// [`Plan::concurrent_runs`]).
    pub fn threads_per_run(&self, jobs: usize) -> usize {
        if self.table.is_some() {
            return 1;
        }
        (available_cores() / jobs.max(1)).max(1)
    }

    /// Whether tensor kernels should run on one thread: table replays do
    /// no training; the only tensor work is a strategy's tiny controller
    /// update, where candle's per-matmul thread hand-off costs far more
    /// than it saves, and runs go one per core anyway. The binary applies
    /// it (`RAYON_NUM_THREADS`) before any worker thread starts.
    pub fn single_threaded_kernels(&self) -> bool {
        self.replays_only()
    }
}

fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
