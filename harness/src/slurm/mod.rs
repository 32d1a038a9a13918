//! Running an experiment as a Slurm job array: one array task per unit of
//! the plan, each writing only its own journal, so tasks never contend for
//! a file and the experiment folder may live on a network file system (the
//! only file-system guarantee relied on is an atomic rename).
//!
//! The experiment folder (`RUNS/<name>/`) gets a `slurm/` folder with the
//! array script, the task logs and a submission record
//! ([`Submission`], `submission.json`) that names the experiment, a digest
//! of its configuration, the units with their journals and every job
//! submitted for it. `status` and `resubmit` work from that record and the
//! journals; nothing else is shared between tasks.

mod scheduler;
mod script;
mod status;

pub use scheduler::{find_program, sacct_tasks, sbatch, squeue_tasks, TaskState};
pub use script::{array_script, array_spec, ScriptOptions, TaskCommand};
pub use status::{unit_states, JournalProgress, UnitState, UnitStatus};

use crate::experiment::ExperimentFile;
use crate::plan::Plan;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The folder inside an experiment folder that holds the Slurm files.
pub const SLURM_DIR: &str = "slurm";
/// The submission record's file name inside [`SLURM_DIR`].
pub const RECORD_FILE: &str = "submission.json";
/// The array script's file name inside [`SLURM_DIR`].
pub const SCRIPT_FILE: &str = "array.sbatch";
/// The task logs' folder inside [`SLURM_DIR`].
pub const LOG_DIR: &str = "logs";

/// One unit as the submission record lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedUnit {
    /// The unit's index: its array task id.
    pub index: usize,
    /// Its journal, relative to the experiment folder.
    pub journal: PathBuf,
    /// Space, strategy label and repetition, for people reading `status`.
    pub label: String,
}

/// One `sbatch` submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedJob {
    /// The array job id `sbatch --parsable` printed.
    pub job_id: String,
    /// The array task ids it was submitted with (`--array` syntax).
    pub array: String,
}

/// What `slurm submit` records in the experiment folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// The experiment's name.
    pub experiment: String,
    /// The experiment file (absolute).
    pub experiment_file: PathBuf,
    /// sha256 of the experiment's configuration as journal headers record
    /// it: a folder of one configuration is never mixed with another.
    pub config_sha256: String,
    /// The `--runs-dir` the tasks run with (absolute).
    pub runs_root: PathBuf,
    /// The working directory the tasks start in (paths in the experiment
    /// file are relative to it).
    pub workdir: PathBuf,
    /// The units, in plan order.
    pub units: Vec<RecordedUnit>,
    /// Every submission, oldest first.
    pub jobs: Vec<RecordedJob>,
}

/// The configuration as a journal header holds it once read back: written
/// out and parsed again, as the header was, so that floats compare equal
/// even where parsing is not bit-exact.
pub fn config_value(exp: &ExperimentFile) -> Result<serde_json::Value> {
    let internal = |e: serde_json::Error| Error::Internal(e.to_string());
    let written = serde_json::to_string(exp).map_err(internal)?;
    serde_json::from_str(&written).map_err(internal)
}

/// Hex sha256 of a configuration value.
pub fn config_digest(config: &serde_json::Value) -> String {
    let digest = Sha256::digest(config.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Submission {
    /// A record of `plan` with no jobs yet; `experiment_file`, `runs_root`
    /// and `workdir` must be absolute.
    pub fn of_plan(
        plan: &Plan,
        experiment_file: PathBuf,
        runs_root: PathBuf,
        workdir: PathBuf,
    ) -> Result<Self> {
        let units = plan
            .units
            .iter()
            .map(|u| RecordedUnit {
                index: u.index,
                journal: u
                    .journal
                    .strip_prefix(&plan.runs_dir)
                    .unwrap_or(&u.journal)
                    .to_path_buf(),
                label: plan.unit_name(u),
            })
            .collect();
        Ok(Submission {
            experiment: plan.experiment.name.clone(),
            experiment_file,
            config_sha256: config_digest(&config_value(&plan.experiment)?),
            runs_root,
            workdir,
            units,
            jobs: Vec::new(),
        })
    }

    /// Where the record of experiment folder `dir` lives.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(SLURM_DIR).join(RECORD_FILE)
    }

    /// Reads the record of experiment folder `dir`; `Ok(None)` when the
    /// folder has none.
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let path = Self::path_in(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Io { path, source }),
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::Slurm(format!(
                "{}: not a nasarena submission record ({e}); was it edited by hand?",
                path.display()
            ))
        })
    }

    /// Writes the record into experiment folder `dir` through a temporary
    /// file and an atomic rename, so readers on other nodes see the old or
    /// the new record, never half of one.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text =
            serde_json::to_string_pretty(self).map_err(|e| Error::Internal(e.to_string()))?;
        write_atomically(&Self::path_in(dir), &text)
    }

    /// Every array task id, in order.
    pub fn all_indices(&self) -> Vec<usize> {
        self.units.iter().map(|u| u.index).collect()
    }
}

/// Writes `text` to `path` via `path.tmp` and a rename (creating folders).
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(text.as_bytes()).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Checks that experiment folder `dir` holds nothing of another
/// experiment configuration: neither a submission record nor a journal at
/// one of `plan`'s journal paths. Returns the existing record, if any.
pub fn check_folder(plan: &Plan, dir: &Path) -> Result<Option<Submission>> {
    let config = config_value(&plan.experiment)?;
    let digest = config_digest(&config);
    let existing = Submission::load(dir)?;
    if let Some(record) = &existing {
        if record.config_sha256 != digest || record.experiment != plan.experiment.name {
            return Err(Error::Slurm(format!(
                "{} was submitted for another configuration of experiment `{}` (from {}); use another --runs-dir, or remove the folder to start over",
                dir.display(),
                record.experiment,
                record.experiment_file.display()
            )));
        }
    }
    for unit in plan.units.iter().filter(|u| u.journal.exists()) {
        let journal = nasarena_results::read_journal(&unit.journal)?;
        if journal.header.config != config {
            return Err(Error::Slurm(format!(
                "{}: this journal was written by another configuration of experiment `{}`; use another --runs-dir, or remove the folder to start over",
                unit.journal.display(),
                journal.header.experiment
            )));
        }
    }
    Ok(existing)
}

/// Checks that the experiment file recorded for a submission still holds
/// the submitted configuration (tasks read the file when they start).
pub fn check_unchanged(record: &Submission) -> Result<()> {
    let (exp, _) = crate::experiment::load(&record.experiment_file)?;
    if config_digest(&config_value(&exp)?) != record.config_sha256 {
        return Err(Error::Slurm(format!(
            "{} changed since it was submitted: its tasks would run another configuration than the recorded journals; restore it, or submit the new version into another --runs-dir",
            record.experiment_file.display()
        )));
    }
    Ok(())
}
