//! The REINFORCE strategy: sampling, baseline, batched controller updates
//! and exact save/restore (weights and Adam moments as plain vectors).

use super::adam::AdamState;
use super::lstm::LstmPolicy;
use super::lstm_host::HostLstm;
use super::params::Params;
use super::table::TablePolicy;
use super::{ControllerConfig, ReinforceConfig};
use crate::reward::{check_space, check_told, Incumbent, Objective};
use crate::{state, Error, Result};
use candle_core::Tensor;
use nasarena_core::{
    Arch, BlackBoxStrategy, Observation, Progress, Proposal, SearchSpace, Seed, SeedRng,
};
use serde::{Deserialize, Serialize};

/// The registered name.
pub const NAME: &str = "reinforce";

#[derive(Debug)]
enum Policy {
    Lstm(LstmPolicy),
    Table(TablePolicy),
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Baseline {
    ema: f64,
    count: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Dynamic {
    rng: SeedRng,
    baseline: Baseline,
    /// (tokens, advantage) awaiting the next controller update.
    batch: Vec<(Vec<u32>, f64)>,
    adam: AdamState,
    updates: u64,
    incumbent: Incumbent,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    dynamic: Dynamic,
    weights: Vec<Vec<f32>>,
}

/// The REINFORCE controller strategy.
#[derive(Debug)]
pub struct Reinforce {
    config: ReinforceConfig,
    objective: Objective,
    arities: Vec<usize>,
    policy: Policy,
    dynamic: Dynamic,
}

fn tensor_err(source: candle_core::Error) -> Error {
    Error::Tensor {
        strategy: NAME.to_string(),
        source,
    }
}

impl Reinforce {
    /// Builds the controller for `space`'s decisions, weights drawn from
    /// `seed.derive("reinforce-init", 0)`.
    pub fn new(config: ReinforceConfig, seed: Seed, space: &dyn SearchSpace) -> Result<Self> {
        config.validate()?;
        let objective = Objective::new(NAME, config.objective.clone(), space)?;
        let arities: Vec<usize> = space.decisions().iter().map(|d| d.arity()).collect();
        if let Some(i) = arities.iter().position(|&a| a == 0) {
            return Err(Error::SpaceMismatch {
                strategy: NAME.into(),
                reason: format!("decision {i} of space `{}` has no options", space.name()),
            });
        }
        let mut init_rng = seed.derive("reinforce-init", 0).rng();
        let policy = match &config.controller {
            ControllerConfig::Lstm {
                hidden,
                layers,
                init_range,
            } => Policy::Lstm(
                LstmPolicy::new(&arities, *hidden, *layers, *init_range, &mut init_rng)
                    .map_err(tensor_err)?,
            ),
            ControllerConfig::Table { init_std } => Policy::Table(
                TablePolicy::new(&arities, *init_std, &mut init_rng).map_err(tensor_err)?,
            ),
        };
        Ok(Reinforce {
            objective,
            arities,
            policy,
            dynamic: Dynamic {
                rng: seed.derive(NAME, 0).rng(),
                baseline: Baseline::default(),
                batch: Vec::new(),
                adam: AdamState::default(),
                updates: 0,
                incumbent: Incumbent::default(),
            },
            config,
        })
    }

    /// Controller updates taken so far.
    pub fn updates(&self) -> u64 {
        self.dynamic.updates
    }

    /// The controller's weights by name, e.g. to write them out with
    /// `VarMap::save` for inspection.
    pub fn controller_varmap(&self) -> &candle_nn::VarMap {
        self.params().varmap()
    }

    fn params(&self) -> &Params {
        match &self.policy {
            Policy::Lstm(p) => p.params(),
            Policy::Table(p) => p.params(),
        }
    }

    fn sample_tokens(&self, host: Option<&HostLstm>, rng: &mut SeedRng) -> Result<Vec<u32>> {
        let shaping = self.config.shaping;
        match (&self.policy, host) {
            (_, Some(mirror)) => Ok(mirror.sample(shaping, rng).0),
            (Policy::Lstm(p), None) => Ok(HostLstm::from_policy(p)
                .map_err(tensor_err)?
                .sample(shaping, rng)
                .0),
            (Policy::Table(p), None) => Ok(p.sample(shaping, rng).map_err(tensor_err)?.0),
        }
    }

    fn log_prob(&self, sequences: &[Vec<u32>]) -> Result<(Tensor, Tensor)> {
        let shaping = self.config.shaping;
        match &self.policy {
            Policy::Lstm(p) => p.log_prob(sequences, shaping),
            Policy::Table(p) => p.log_prob(sequences, shaping),
        }
        .map_err(tensor_err)
    }

    /// A valid, admitted architecture from the controller.
    fn draw(&mut self, space: &dyn SearchSpace) -> Result<Arch> {
        let mut rng = self.dynamic.rng.clone();
        // Weights are copied to the host once per proposal, not per draw.
        let mirror = match &self.policy {
            Policy::Lstm(p) => Some(HostLstm::from_policy(p).map_err(tensor_err)?),
            Policy::Table(_) => None,
        };
        let result = self.objective.propose(space, &mut rng, |r| {
            for _ in 0..self.config.invalid_retries {
                let arch = Arch::new(self.sample_tokens(mirror.as_ref(), r)?);
                if space.check(&arch).is_ok() {
                    return Ok(arch);
                }
            }
            Ok(space.sample(r))
        });
        self.dynamic.rng = rng;
        result
    }

    /// The reward of an observation and the advantage after the baseline
    /// has been updated with it.
    fn advantage(&mut self, observation: &Observation, tokens: &[u32]) -> Result<f64> {
        let fitness = self.objective.fitness(observation);
        let mut reward = fitness.map_or(0.0, |f| f.max(0.0).powf(self.config.reward_power));
        if self.config.entropy_weight > 0.0 {
            let (_, ent) = self.log_prob(&[tokens.to_vec()])?;
            let ent = ent
                .sum_all()
                .and_then(|t| t.to_scalar::<f32>())
                .map_err(tensor_err)?;
            reward += self.config.entropy_weight * ent as f64;
        }
        let b = &mut self.dynamic.baseline;
        let decay = self.config.baseline_decay;
        b.ema = decay * b.ema + (1.0 - decay) * reward;
        b.count += 1;
        let baseline = if self.config.baseline_bias_correction {
            b.ema / (1.0 - decay.powi(b.count.min(i32::MAX as u64) as i32))
        } else {
            b.ema
        };
        Ok(reward - baseline)
    }

    /// One Adam step on `-mean(advantage * log p)` over the batch.
    fn update(&mut self) -> Result<()> {
        let batch = std::mem::take(&mut self.dynamic.batch);
        let sequences: Vec<Vec<u32>> = batch.iter().map(|(s, _)| s.clone()).collect();
        let adv: Vec<f32> = batch.iter().map(|(_, a)| *a as f32).collect();
        let (logp, _) = self.log_prob(&sequences)?;
        let n = adv.len();
        let grads = Tensor::from_vec(adv, n, logp.device())
            .and_then(|a| (logp * a)?.mean_all()?.neg())
            .and_then(|loss| loss.backward())
            .map_err(tensor_err)?;
        let cfg = self.config.adam;
        let params = match &self.policy {
            Policy::Lstm(p) => p.params(),
            Policy::Table(p) => p.params(),
        };
        self.dynamic
            .adam
            .step(&cfg, params, &grads)
            .map_err(tensor_err)?;
        self.dynamic.updates += 1;
        Ok(())
    }
}

impl BlackBoxStrategy for Reinforce {
    fn name(&self) -> &str {
        NAME
    }

    fn ask(
        &mut self,
        _trial: u64,
        space: &dyn SearchSpace,
        _progress: &Progress,
    ) -> nasarena_core::Result<Proposal> {
        check_space(NAME, &self.arities, space)?;
        Ok(Proposal::new(self.draw(space)?))
    }

    fn tell(&mut self, observation: &Observation) -> nasarena_core::Result<()> {
        let tokens = observation.arch.choices();
        check_told(NAME, &self.arities, &observation.arch)?;
        let fitness = self.objective.fitness(observation);
        self.dynamic.incumbent.record(&observation.arch, fitness);
        let advantage = self.advantage(observation, tokens)?;
        self.dynamic.batch.push((tokens.to_vec(), advantage));
        if self.dynamic.batch.len() >= self.config.batch_size {
            self.update()?;
        }
        Ok(())
    }

    fn recommend(&self) -> Option<Arch> {
        self.dynamic.incumbent.arch()
    }

    fn save_state(&self) -> nasarena_core::Result<serde_json::Value> {
        let weights = self.params().to_host().map_err(tensor_err)?;
        let saved = Saved {
            dynamic: self.dynamic.clone(),
            weights,
        };
        Ok(state::save(NAME, &self.config, &saved)?)
    }

    fn restore_state(&mut self, value: &serde_json::Value) -> nasarena_core::Result<()> {
        let saved: Saved = state::restore(NAME, &self.config, value)?;
        self.params()
            .set_from_host(&saved.weights)
            .map_err(|e| Error::state(NAME, e))?;
        self.dynamic = saved.dynamic;
        Ok(())
    }
}
