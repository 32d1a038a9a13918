//! The two strategy traits.
//!
//! A strategy proposes and learns; the harness trains, measures and charges.
//! A strategy never sees the trainer, the dataset, test metrics or the
//! meter itself, only a read-only [`Progress`].

use crate::{
    Alternation, Arch, CoreError, EffectiveSchedule, Observation, Progress, Proposal, Result,
    RunShape, SearchSpace,
};
use candle_core::{backprop::GradStore, Tensor, Var};

/// A search that evaluates whole architectures: random search, evolution,
/// RL controllers. The strategy draws randomness only from the seeded RNG it
/// was constructed with.
pub trait BlackBoxStrategy: std::fmt::Debug {
    /// The strategy's registered name, e.g. `evolution`.
    fn name(&self) -> &str;

    /// The next architecture to evaluate. `trial` counts from 0.
    fn ask(&mut self, trial: u64, space: &dyn SearchSpace, progress: &Progress)
        -> Result<Proposal>;

    /// Learns from an evaluated (or failed) proposal.
    fn tell(&mut self, observation: &Observation) -> Result<()>;

    /// The architecture the strategy recommends now: by default the best
    /// validation accuracy told so far (ties: the earliest).
    fn recommend(&self) -> Option<Arch>;

    /// The strategy's whole state (RNG included) as JSON, so that a run can
    /// be resumed: a strategy built with the same config and seed and given
    /// this value by [`BlackBoxStrategy::restore_state`] continues exactly
    /// as the uninterrupted one. Strategies that cannot resume say so.
    fn save_state(&self) -> Result<serde_json::Value> {
        Err(CoreError::Strategy {
            strategy: self.name().to_string(),
            reason: "does not support saving its state for resume".into(),
        })
    }

    /// Replaces the strategy's state with one saved by `save_state`.
    fn restore_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let _ = state;
        Err(CoreError::Strategy {
            strategy: self.name().to_string(),
            reason: "does not support restoring a saved state".into(),
        })
    }
}

/// Where a one-shot search is in its schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepContext {
    /// The epoch, counted from 0.
    pub epoch: usize,
    /// The number of search epochs.
    pub total_epochs: usize,
    /// The step within the epoch, counted from 0.
    pub step: usize,
    /// The number of steps per epoch.
    pub steps_per_epoch: usize,
}

/// Mixing weights for one supernet forward pass: one tensor per decision,
/// shaped `(rows, arity)` where `rows` is 1 (one sample for the whole batch)
/// or the batch size (SqueezeNAS: one sample per image).
#[derive(Clone, Debug)]
pub struct MixingWeights {
    /// One tensor per decision.
    pub per_decision: Vec<Tensor>,
    /// True when every row is one-hot, so a supernet may run only the
    /// selected candidate (GDAS).
    pub hard: bool,
}

/// A differentiable search over a weight-sharing supernet. The strategy
/// owns only the architecture parameters; supernet weights, data and the
/// weight optimiser belong to the harness.
pub trait OneShotStrategy: std::fmt::Debug {
    /// The strategy's registered name, e.g. `gumbel`.
    fn name(&self) -> &str;

    /// The architecture parameters (for gradient bookkeeping).
    fn arch_vars(&self) -> Vec<Var>;

    /// Whether architecture parameters are updated in this epoch (false
    /// during weight-only warm-up).
    fn trains_architecture(&self, ctx: &StepContext) -> bool;

    /// How the harness should interleave weight and architecture steps.
    /// The default is FBNet's per-epoch alternation.
    fn alternation(&self) -> Alternation {
        Alternation::Epoch
    }

    /// Fixes the schedule of a run of `shape` (temperature per epoch,
    /// warm-up, the architecture learning rate the run's step count calls
    /// for) and returns it for the journal. The harness calls it once
    /// before the first epoch, and again with the same shape when it
    /// resumes a run; the result survives `save_state`/`restore_state`.
    /// The default plans no warm-up, learning rate or temperature.
    fn plan_run(&mut self, shape: &RunShape) -> Result<EffectiveSchedule> {
        Ok(EffectiveSchedule {
            alternation: self.alternation(),
            total_epochs: shape.total_epochs,
            warmup_epochs: 0,
            arch_steps: (shape.total_epochs as u64)
                .saturating_mul(shape.arch_steps_per_epoch as u64),
            arch_lr: None,
            temperature: None,
            affine_batch_norm: self.affine_batch_norm(),
        })
    }

    /// Mixing weights for the next forward pass of `batch` samples.
    fn mixing_weights(&mut self, ctx: &StepContext, batch: usize) -> Result<MixingWeights>;

    /// The loss whose gradient updates the architecture parameters, built
    /// from the task loss on validation data (e.g. a MAC-aware loss).
    fn search_loss(&self, task_loss: &Tensor, mixing: &MixingWeights) -> Result<Tensor> {
        let _ = mixing;
        Ok(task_loss.clone())
    }

    /// Applies one optimiser step to the architecture parameters.
    fn update_architecture(&mut self, grads: &GradStore) -> Result<()>;

    /// The architecture the current parameters recommend (the argmax).
    fn derive(&self, space: &dyn SearchSpace) -> Result<Arch>;

    /// The sampling temperature of `ctx`'s epoch, if the relaxation has one.
    fn temperature(&self, ctx: &StepContext) -> Option<f64> {
        let _ = ctx;
        None
    }

    /// The current distribution over each decision's options.
    fn distribution(&self) -> Result<Vec<Vec<f64>>>;

    /// How many sampled architectures to score next to the argmax when the
    /// search derives its result (SqueezeNAS, FBNet); 0 for argmax only.
    fn derivation_samples(&self) -> usize {
        0
    }

    /// Whether the supernet's batch norms train their affine scale and
    /// shift during the search (false: they stay at 1 and 0, as DARTS
    /// searches).
    fn affine_batch_norm(&self) -> bool {
        true
    }

    /// `k` architectures drawn from the learned distribution, for scoring
    /// next to the argmax when the search derives its result.
    fn sample_architectures(&mut self, k: usize, space: &dyn SearchSpace) -> Result<Vec<Arch>>;

    /// The whole state (parameters, optimiser moments, RNG) as JSON, for an
    /// exact resume; see [`BlackBoxStrategy::save_state`].
    fn save_state(&self) -> Result<serde_json::Value>;

    /// Replaces the state with one saved by `save_state`.
    fn restore_state(&mut self, state: &serde_json::Value) -> Result<()>;
}
