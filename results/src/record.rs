//! The journal record schema: one definition shared by the harness (which
//! writes journals) and by `report`/`compare` (which read them).
//!
//! A journal is a JSONL file: the first line is a [`Header`], then one
//! [`Record`] per line, appended and fsynced as events happen. Records are
//! tagged by `kind`; [`SCHEMA_VERSION`] changes when a field changes meaning.

use nasarena_core::{Budget, Cost, EffectiveSchedule, Outcome};
use serde::{Deserialize, Serialize};

/// Version of the record schema written into every header.
pub const SCHEMA_VERSION: u32 = 2;

/// Provenance of a run: everything needed to reproduce or audit it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// [`SCHEMA_VERSION`] at write time.
    pub schema_version: u32,
    /// Experiment name.
    pub experiment: String,
    /// Index of this run in the experiment's plan.
    pub unit: usize,
    /// Search space name.
    pub space: String,
    /// Space options as `key=value` strings.
    pub space_options: Vec<String>,
    /// Strategy name.
    pub strategy: String,
    /// Strategy preset.
    pub preset: String,
    /// Label used in tables (strategy and preset).
    pub label: String,
    /// The run's seed (already derived from the experiment seed).
    pub seed: u64,
    /// The budget of the search phase.
    pub budget: Budget,
    /// The resolved experiment configuration.
    pub config: serde_json::Value,
    /// nasarena version.
    pub crate_version: String,
    /// git revision of the build.
    pub git_revision: String,
    /// Enabled cargo features.
    pub features: String,
    /// Device description, e.g. `cpu` or `cuda:0 (NVIDIA H200)`.
    pub device: String,
    /// CPU model name.
    pub cpu_model: String,
    /// Worker threads used by this run.
    pub threads: usize,
    /// Dataset name and checksum of the exact samples used.
    pub dataset: DatasetInfo,
    /// Seconds the reference workload took on the machine whose device
    /// seconds this run records: this machine at start, or for a table
    /// replay the table's build machine. Device seconds over it are the
    /// normalised costs that compare runs across machines.
    pub calibration_seconds: f64,
    /// What budgets of this run are counted in, in words (e.g. a note that
    /// a tabular benchmark has no times).
    pub cost_note: String,
    /// Short host name of the machine that started the run (empty in
    /// journals written before it was recorded).
    #[serde(default)]
    pub host: String,
    /// The Slurm job that started the run, when it ran under Slurm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm: Option<SlurmIds>,
    /// One-shot runs: the schedule the strategy planned for the run the
    /// budget affords (temperature per epoch, architecture learning rate,
    /// warm-up epochs, alternation), not the paper's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_schedule: Option<EffectiveSchedule>,
}

/// The Slurm job (and array task) a run was started by, from the
/// `SLURM_*` variables of its environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmIds {
    /// `SLURM_JOB_ID`: the job, unique per array task.
    pub job_id: String,
    /// `SLURM_ARRAY_JOB_ID`: the array the task belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_job_id: Option<String>,
    /// `SLURM_ARRAY_TASK_ID`: the task's index in the array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_task_id: Option<String>,
}

/// Dataset provenance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetInfo {
    /// Dataset name, e.g. `fashion-mnist-subset`.
    pub name: String,
    /// Hex sha256 over train, validation and test samples and labels.
    pub checksum: String,
    /// Samples in the training part.
    pub train: usize,
    /// Samples in the validation part.
    pub val: usize,
    /// Samples in the test part.
    pub test: usize,
    /// What the accuracy fields of the journal hold (accuracy unless the
    /// task is segmentation; absent in journals written before).
    #[serde(default, skip_serializing_if = "ScoreMetric::is_accuracy")]
    pub metric: ScoreMetric,
}

/// The score a journal's accuracy fields (validation, test, incumbent)
/// hold: classification accuracy, or segmentation mean IoU (Shaw et al.
/// 2019 report SqueezeNAS by mIoU). Both lie in [0, 1] and higher is
/// better, so every statistic treats them alike; only labels differ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreMetric {
    /// Fraction of images classified right.
    #[default]
    Accuracy,
    /// Mean intersection-over-union over classes.
    MeanIou,
}

impl ScoreMetric {
    /// True for plain accuracy (the default, not written out).
    pub fn is_accuracy(&self) -> bool {
        *self == ScoreMetric::Accuracy
    }

    /// The label in captions and plots: `accuracy` or `mIoU`.
    pub fn label(&self) -> &'static str {
        match self {
            ScoreMetric::Accuracy => "accuracy",
            ScoreMetric::MeanIou => "mIoU",
        }
    }

    /// The label in column heads: `acc` or `mIoU`.
    pub fn short(&self) -> &'static str {
        match self {
            ScoreMetric::Accuracy => "acc",
            ScoreMetric::MeanIou => "mIoU",
        }
    }

    /// The metric of runs whose headers say `metrics`: mean IoU only when
    /// every one does.
    pub fn of_all(mut metrics: impl Iterator<Item = ScoreMetric>) -> ScoreMetric {
        if metrics.all(|m| m == ScoreMetric::MeanIou) {
            ScoreMetric::MeanIou
        } else {
            ScoreMetric::Accuracy
        }
    }
}

/// The best architecture seen so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incumbent {
    /// Genotype string.
    pub arch: String,
    /// Its validation accuracy.
    pub val_accuracy: f64,
    /// The trial that found it.
    pub trial: u64,
}

/// One black-box evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialRecord {
    /// Trial number from 0.
    pub trial: u64,
    /// Genotype string as proposed.
    pub arch: String,
    /// Canonical genotype string.
    pub canonical: String,
    /// Choice indices as proposed (for exact replay on resume).
    pub choices: Vec<u32>,
    /// Epochs of the evaluator schedule (the fidelity).
    pub epochs: usize,
    /// Validation metrics or the failure.
    pub outcome: Outcome,
    /// Cost of this trial.
    pub cost: Cost,
    /// Cost of the run so far, this trial included.
    pub cumulative: Cost,
    /// Best so far, this trial included.
    pub incumbent: Option<Incumbent>,
    /// MACs of the architecture (batch 1).
    pub macs: u64,
    /// Trainable parameters of the architecture.
    pub params: u64,
}

/// One epoch of a one-shot (supernet) search: enough to watch the search
/// converge (temperature, per-decision entropy, the current argmax).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochRecord {
    /// Epoch from 0.
    pub epoch: usize,
    /// Whether the architecture parameters were updated in this epoch
    /// (false during the weight-only warm-up).
    pub trained_architecture: bool,
    /// Gumbel-Softmax temperature used in this epoch (`None` for plain
    /// softmax relaxations such as DARTS).
    pub tau: Option<f64>,
    /// Mean training loss of the supernet weights.
    pub train_loss: f64,
    /// Mean task (cross-entropy) loss of the architecture steps on their
    /// part of the training split; `None` in warm-up epochs.
    pub arch_loss: Option<f64>,
    /// Validation loss of the current argmax architecture run with the
    /// shared weights; `None` when it was not finite.
    pub val_loss: Option<f64>,
    /// Validation accuracy of the current argmax architecture run with the
    /// shared weights.
    pub val_accuracy: f64,
    /// Entropy (nats) of each decision's distribution at the epoch's end.
    pub entropy: Vec<f64>,
    /// The largest probability of each decision's distribution at the
    /// epoch's end (1/K when uniform, 1 when decided).
    #[serde(default)]
    pub max_probability: Vec<f64>,
    /// Architecture steps taken so far in the run.
    #[serde(default)]
    pub arch_steps: u64,
    /// Validation accuracy of the supernet run as the soft mixture of the
    /// current distribution (no sampling): next to `val_accuracy` (the
    /// argmax path) it tells an untrained supernet from a path that
    /// differs from the mixture.
    #[serde(default)]
    pub mixture_val_accuracy: Option<f64>,
    /// Architecture derived (argmax) from the current parameters.
    pub derived: String,
    /// MACs of the derived architecture (batch 1).
    pub derived_macs: u64,
    /// Expected MACs under the current distribution (batch 1).
    pub expected_macs: f64,
    /// Why the search stopped in this epoch (a non-finite loss), if it did.
    pub failure: Option<String>,
    /// Cost of this epoch.
    pub cost: Cost,
    /// Cost of the run so far.
    pub cumulative: Cost,
}

/// One architecture scored when a one-shot search derives its result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoredArch {
    /// Genotype string.
    pub arch: String,
    /// Validation accuracy with the shared supernet weights.
    pub val_accuracy: f64,
    /// MACs (batch 1).
    pub macs: u64,
    /// Trainable parameters of the stand-alone network.
    pub params: u64,
    /// True for the argmax architecture, false for a sampled one.
    pub argmax: bool,
}

/// The derivation step of a one-shot search: the argmax architecture and
/// architectures sampled from the learned distribution, each scored on the
/// validation split; the best is recommended (as SqueezeNAS does).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveRecord {
    /// Every candidate scored, argmax first.
    pub candidates: Vec<ScoredArch>,
    /// Genotype string of the recommended architecture.
    pub chosen: String,
    /// Cost of scoring.
    pub cost: Cost,
    /// Cost of the run so far (search included).
    pub cumulative: Cost,
}

/// The shared final protocol: the recommended architecture retrained from
/// scratch and tested. Outside the search budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalRecord {
    /// Genotype string of the recommended architecture.
    pub arch: String,
    /// Best validation accuracy seen during search (the search signal).
    pub search_val_accuracy: Option<f64>,
    /// Test accuracy after the final retrain; `None` when training failed.
    pub test_accuracy: Option<f64>,
    /// Why the final training failed, if it did.
    pub failure: Option<String>,
    /// MACs (batch 1).
    pub macs: u64,
    /// Trainable parameters.
    pub params: u64,
    /// Epochs of the final schedule.
    pub epochs: usize,
    /// Cost of the final protocol.
    pub cost: Cost,
    /// Total cost of the search phase.
    pub search_cost: Cost,
    /// Search cost divided by the calibration time: budgets in units of
    /// the reference workload, comparable across machines.
    pub normalised_search_cost: f64,
    /// Number of evaluations (black-box) or epochs (one-shot) in the search.
    pub evaluations: u64,
    /// How far the search overshot its budget, in the budget's unit.
    pub budget_overshoot: f64,
    /// The retrained network's weights, saved next to the journal (absent
    /// when nothing was trained: a table lookup, a failed training, or a
    /// space that cannot describe its networks; and in older journals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<SavedWeights>,
}

/// Where the final protocol saved the trained network, and how to feed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedWeights {
    /// The safetensors file, relative to the journal's folder. Tensors are
    /// named `{node}.{name}` after the network description (`nasarena
    /// bench describe`): `weight`, `bias`, `running_mean`, `running_var`.
    pub file: String,
    /// Hex sha256 of the file.
    pub sha256: String,
    /// Per-channel mean the inputs were normalised with (pixels scaled to
    /// [0, 1] first): `x = (pixel / 255 - mean) / std`.
    pub input_mean: Vec<f32>,
    /// Per-channel standard deviation of that normalisation.
    pub input_std: Vec<f32>,
}

/// One line of a journal after the header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// A black-box trial.
    Trial(TrialRecord),
    /// A one-shot search epoch.
    Epoch(EpochRecord),
    /// A one-shot search's derivation (after its last epoch).
    Derive(DeriveRecord),
    /// The final protocol's result; the run is complete after it.
    Final(FinalRecord),
}

/// The first line of a journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HeaderLine {
    /// The provenance header.
    Header(Header),
}
