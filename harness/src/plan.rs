//! From a parsed experiment file to validated runs: every space, strategy,
//! dataset and budget is checked before any compute is spent, and every
//! problem is reported at once with its key path.

use crate::experiment::{find_line, ExperimentFile, Problem};
use crate::{Error, Result};
use nasarena_core::{Budget, Seed};
use nasarena_datasets::{load_named, Dataset, ImageDataset, TrainTest};
use nasarena_spaces::{build_space, Realize, SpaceOptions};
use rand::seq::SliceRandom;
use std::path::{Path, PathBuf};

/// One (space, strategy, seed) run of an experiment.
#[derive(Clone, Debug)]
pub struct Unit {
    /// Position in the plan.
    pub index: usize,
    /// Index into `ExperimentFile::space`.
    pub space: usize,
    /// Index into `ExperimentFile::strategy`.
    pub strategy: usize,
    /// Repetition number.
    pub repeat: usize,
    /// The run's seed: shared by all strategies of one repetition, so
    /// their comparisons pair (same split, same evaluation seeds).
    pub seed: Seed,
    /// Where the run's journal goes.
    pub journal: PathBuf,
}

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
    pub table: Option<crate::evaluator::TableSource>,
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
/// runs under `runs_root/<name>/`.
pub fn plan(exp: ExperimentFile, text: &str, origin: &Path, runs_root: &Path) -> Result<Plan> {
    let mut problems: Vec<(String, String)> = exp.value_problems();
    let mut spaces = Vec::new();
    for (i, s) in exp.space.iter().enumerate() {
        let options = SpaceOptions::from_pairs(&s.name, s.options.clone());
        match build_space(&s.name, options) {
            Ok(space) => spaces.push(space),
            Err(e) => problems.push((format!("space[{i}]"), e.to_string())),
        }
    }
    for (i, st) in exp.strategy.iter().enumerate() {
        problems.extend(strategy_problems(i, st, &exp, &spaces));
    }
    let (table, data) = match &exp.table {
        Some(cfg) => {
            let (table, found) = crate::table::plan::check(&exp, cfg, &spaces);
            problems.extend(found);
            (table, None)
        }
        None => (None, load_data(&exp, &spaces, &mut problems)),
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
            for repeat in 0..exp.repeats {
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
                });
            }
        }
    }
    Ok(Plan {
        experiment: exp,
        spaces,
        data,
        table,
        budget,
        units,
        runs_dir,
    })
}

/// Loads the experiment's images and checks them against the spaces.
fn load_data(
    exp: &ExperimentFile,
    spaces: &[Box<dyn Realize>],
    problems: &mut Vec<(String, String)>,
) -> Option<TrainTest> {
    let missing_dir = exp.dataset.data_dir.as_ref().filter(|d| !d.is_dir());
    if let Some(dir) = missing_dir {
        problems.push((
            "dataset.data_dir".into(),
            format!("folder {} does not exist", dir.display()),
        ));
    }
    let data = match load_named(&exp.dataset.name, exp.dataset.data_dir.as_deref()) {
        Ok(d) => Some(d),
        Err(_) if missing_dir.is_some() => None,
        Err(e) => {
            let key = if exp.dataset.data_dir.is_some() {
                "dataset.data_dir"
            } else {
                "dataset.name"
            };
            problems.push((key.into(), e.to_string()));
            None
        }
    };
    if let Some(d) = &data {
        let shape = d.train.shape();
        for (i, space) in spaces.iter().enumerate() {
            let want = space.input_shape();
            if [shape.channels, shape.height, shape.width] != want {
                problems.push((
                    format!("space[{i}].options.input"),
                    format!(
                        "the space expects input {}x{}x{} but dataset `{}` has {}x{}x{}",
                        want[0],
                        want[1],
                        want[2],
                        exp.dataset.name,
                        shape.channels,
                        shape.height,
                        shape.width
                    ),
                ));
            }
            if space.classes() != d.train.num_classes() {
                problems.push((
                    format!("space[{i}].options.classes"),
                    format!(
                        "the space has {} classes, dataset `{}` has {}",
                        space.classes(),
                        exp.dataset.name,
                        d.train.num_classes()
                    ),
                ));
            }
        }
    }
    data
}

/// Problems with strategy `i`: unknown name, a preset or override the
/// strategy rejects on some space, a one-shot strategy on a space without a
/// supernet or with a budget unit it cannot be counted in.
fn strategy_problems(
    i: usize,
    st: &crate::experiment::StrategyConfig,
    exp: &ExperimentFile,
    spaces: &[Box<dyn Realize>],
) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let black_box = nasarena_strategies::BLACK_BOX;
    let one_shot = nasarena_strategies::ONE_SHOT;
    let is_one_shot = nasarena_strategies::is_one_shot(&st.name);
    if !is_one_shot && !black_box.iter().any(|(name, _)| *name == st.name) {
        let names: Vec<&str> = black_box.iter().chain(one_shot).map(|(n, _)| *n).collect();
        problems.push((
            format!("strategy[{i}].name"),
            format!(
                "unknown strategy `{}`; known: {}",
                st.name,
                names.join(", ")
            ),
        ));
        return problems;
    }
    if !is_one_shot && st.latency_table.is_some() {
        problems.push((
            format!("strategy[{i}].latency_table"),
            format!("`{}` is a black-box strategy; only one-shot strategies (gumbel) use a latency table", st.name),
        ));
    }
    if is_one_shot {
        if let Some(message) = crate::one_shot::budget_problem(exp.budget.unit) {
            problems.push(("budget.unit".into(), message));
        }
        if exp.table.is_some() {
            problems.push((
                format!("strategy[{i}].name"),
                format!("`{}` trains a weight-sharing supernet on images; it cannot run on a tabular benchmark (looking its derived architecture up in the table is not built yet)", st.name),
            ));
        }
    }
    for (si, space) in spaces.iter().enumerate() {
        let built = if is_one_shot {
            crate::one_shot::search_costs(st, &exp.space[si], space.as_ref())
                .and_then(|costs| {
                    crate::one_shot::build_one_shot_strategy(
                        st,
                        Seed(0),
                        space.as_ref(),
                        costs.as_ref(),
                        &candle_core::Device::Cpu,
                    )
                })
                .and_then(|_| {
                    let vb = candle_nn::VarBuilder::zeros(
                        candle_core::DType::F32,
                        &candle_core::Device::Cpu,
                    );
                    space.build_supernet(vb).map(|_| ()).map_err(Into::into)
                })
        } else {
            crate::run::build_strategy(st, Seed(0), space.as_ref()).map(|_| ())
        };
        if let Err(e) = built {
            let key = if is_one_shot {
                format!("space[{si}].name")
            } else {
                format!("strategy[{i}]")
            };
            let key = match e {
                Error::Space(_) => key,
                Error::Table { .. } | Error::Io { .. } => format!("strategy[{i}].latency_table"),
                _ => format!("strategy[{i}]"),
            };
            problems.push((key, e.to_string()));
            break;
        }
    }
    problems
}

/// At most `limit` samples of `data`, the same number from every class
/// (as far as classes allow), chosen by a seeded shuffle; original order.
pub fn stratified_limit(data: &ImageDataset, limit: usize, seed: Seed) -> Result<ImageDataset> {
    if limit >= data.len() {
        return Ok(data.clone());
    }
    let mut by_class = vec![Vec::new(); data.num_classes()];
    for (i, &l) in data.labels().iter().enumerate() {
        by_class[usize::from(l)].push(i);
    }
    for (c, members) in by_class.iter_mut().enumerate() {
        members.shuffle(&mut seed.derive("train-limit", c as u64).rng());
    }
    let mut chosen = Vec::with_capacity(limit);
    let mut round = 0;
    while chosen.len() < limit {
        let before = chosen.len();
        for members in &by_class {
            if chosen.len() < limit {
                if let Some(&i) = members.get(round) {
                    chosen.push(i);
                }
            }
        }
        if chosen.len() == before {
            break;
        }
        round += 1;
    }
    chosen.sort_unstable();
    Ok(data.subset(&chosen, data.name().to_string())?)
}
