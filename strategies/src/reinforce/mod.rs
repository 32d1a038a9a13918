//! An RL controller trained with REINFORCE (Williams 1992) and an
//! exponential-moving-average baseline, as in Zoph & Le 2017, ENAS (Pham et
//! al. 2018) and NAS-Bench-201's baseline (Dong & Yang 2020).
//!
//! `ask` samples a whole architecture from the controller on the host with
//! the strategy's seeded RNG. `tell` turns the observation into a reward
//! `fitness^reward_power` (a failed evaluation earns 0, the worst reward),
//! adds the ENAS entropy bonus if configured, updates the baseline with
//! this reward first and stores the advantage `reward - baseline`. After
//! `batch_size` tells the controller takes one Adam step on
//! `-mean(advantage * log p(arch))`.
//!
//! Samples that fail `SearchSpace::check` or exceed the MAC limit are
//! drawn again from the controller (rejection; after `invalid_retries`
//! invalid draws a uniform valid sample is used), so the policy learns the
//! distribution restricted to valid architectures without spending budget.

mod adam;
mod lstm;
mod lstm_host;
mod params;
mod policy;
mod presets;
mod strategy;
mod table;

pub use adam::AdamConfig;
pub use policy::Shaping;
pub use presets::{preset, PRESETS};
pub use strategy::{Reinforce, NAME};

use crate::config::{at_least, finite, positive, unit_interval, ObjectiveConfig};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which policy network the controller uses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ControllerConfig {
    /// Autoregressive LSTM with embedded previous tokens.
    Lstm {
        /// Units per layer.
        hidden: usize,
        /// Stacked layers.
        layers: usize,
        /// Weights uniform in [-init_range, init_range].
        init_range: f64,
    },
    /// Independent logits per decision.
    Table {
        /// Logits start at `init_std * N(0, 1)`.
        init_std: f64,
    },
}

/// Configuration of the REINFORCE controller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReinforceConfig {
    /// The policy network.
    pub controller: ControllerConfig,
    /// The controller's optimiser.
    pub adam: AdamConfig,
    /// EMA decay of the baseline.
    pub baseline_decay: f64,
    /// Divide the EMA by `1 - decay^t` (NAS-Bench-201).
    pub baseline_bias_correction: bool,
    /// ENAS entropy bonus added to the reward.
    pub entropy_weight: f64,
    /// ENAS logit shaping, if any.
    pub shaping: Option<Shaping>,
    /// Reward = fitness^reward_power (Zoph & Le: 3).
    pub reward_power: f64,
    /// Architectures per controller update (m).
    pub batch_size: usize,
    /// Controller draws of invalid architectures before a uniform sample.
    pub invalid_retries: u32,
    /// Reward and MAC limit.
    #[serde(default)]
    pub objective: ObjectiveConfig,
}

impl ReinforceConfig {
    /// Checks ranges; errors name the field.
    pub fn validate(&self) -> Result<()> {
        match &self.controller {
            ControllerConfig::Lstm {
                hidden,
                layers,
                init_range,
            } => {
                at_least(NAME, "controller.hidden", *hidden, 1)?;
                at_least(NAME, "controller.layers", *layers, 1)?;
                positive(NAME, "controller.init_range", *init_range)?;
            }
            ControllerConfig::Table { init_std } => {
                finite(NAME, "controller.init_std", *init_std)?;
                if *init_std < 0.0 {
                    return Err(Error::config(
                        NAME,
                        "controller.init_std",
                        "must not be negative",
                    ));
                }
            }
        }
        positive(NAME, "adam.lr", self.adam.lr)?;
        for (field, v) in [
            ("adam.beta1", self.adam.beta1),
            ("adam.beta2", self.adam.beta2),
        ] {
            unit_interval(NAME, field, v)?;
            if v >= 1.0 {
                return Err(Error::config(NAME, field, "must be below 1"));
            }
        }
        positive(NAME, "adam.eps", self.adam.eps)?;
        unit_interval(NAME, "baseline_decay", self.baseline_decay)?;
        if self.baseline_bias_correction && self.baseline_decay >= 1.0 {
            return Err(Error::config(
                NAME,
                "baseline_decay",
                "must be below 1 with bias correction",
            ));
        }
        finite(NAME, "entropy_weight", self.entropy_weight)?;
        if self.entropy_weight < 0.0 {
            return Err(Error::config(
                NAME,
                "entropy_weight",
                "must not be negative",
            ));
        }
        if let Some(s) = self.shaping {
            positive(NAME, "shaping.temperature", s.temperature)?;
            positive(NAME, "shaping.tanh_constant", s.tanh_constant)?;
        }
        positive(NAME, "reward_power", self.reward_power)?;
        at_least(NAME, "batch_size", self.batch_size, 1)?;
        at_least(NAME, "invalid_retries", self.invalid_retries as usize, 1)?;
        self.objective.validate(NAME)
    }
}
