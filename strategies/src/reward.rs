//! Turning observations into a scalar fitness, and honouring a MAC limit.
//!
//! Fitness is computed from validation metrics only (an [`Observation`]
//! carries no test metrics). A failed evaluation has no fitness (`None`),
//! which every strategy ranks below any evaluated architecture: it is data,
//! never an error. The MnasNet reward is from Tan et al. 2019 (soft
//! constraint, `w = -0.07`).

use crate::config::{ObjectiveConfig, Reward};
use crate::{Error, Result};
use nasarena_core::{Arch, Observation, Outcome, SearchSpace, Seed, SeedRng};
use serde::{Deserialize, Serialize};

/// The runtime form of an [`ObjectiveConfig`].
#[derive(Clone, Debug)]
pub struct Objective {
    strategy: String,
    config: ObjectiveConfig,
}

impl Objective {
    /// Checks the config against the space: a MAC limit or MnasNet reward
    /// needs `SearchSpace::macs` to count MACs.
    pub fn new(strategy: &str, config: ObjectiveConfig, space: &dyn SearchSpace) -> Result<Self> {
        config.validate(strategy)?;
        let needs_macs = if config.mac_limit.is_some() {
            Some("objective.mac_limit")
        } else if matches!(config.reward, Reward::Mnas { .. }) {
            Some("objective.reward")
        } else {
            None
        };
        if let Some(field) = needs_macs {
            // A fixed probe seed: this draw never influences the search.
            let probe = space.sample(&mut Seed(0).derive("macs-probe", 0).rng());
            if space.macs(&probe).is_none() {
                return Err(Error::MacsUnavailable {
                    strategy: strategy.to_string(),
                    space: space.name().to_string(),
                    field: field.to_string(),
                });
            }
        }
        Ok(Objective {
            strategy: strategy.to_string(),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ObjectiveConfig {
        &self.config
    }

    /// The scalar fitness of an observation; `None` for failures, for
    /// non-finite accuracies and (defensively, should a caller evaluate one
    /// anyway) for architectures over the MAC limit.
    pub fn fitness(&self, observation: &Observation) -> Option<f64> {
        let Outcome::Evaluated(metrics) = &observation.outcome else {
            return None;
        };
        let acc = metrics.val_accuracy;
        if !acc.is_finite() {
            return None;
        }
        if self
            .config
            .mac_limit
            .is_some_and(|limit| metrics.macs > limit)
        {
            return None;
        }
        let value = match self.config.reward {
            Reward::Accuracy => acc,
            Reward::Mnas {
                target_macs,
                exponent,
            } => {
                // max(1): a zero-MAC network would give 0^w = infinity.
                let ratio = metrics.macs.max(1) as f64 / target_macs as f64;
                acc * ratio.powf(exponent)
            }
        };
        value.is_finite().then_some(value)
    }

    /// Whether an architecture may be proposed under the MAC limit.
    pub fn admits(&self, space: &dyn SearchSpace, arch: &Arch) -> bool {
        match self.config.mac_limit {
            None => true,
            Some(limit) => space.macs(arch).is_some_and(|m| m <= limit),
        }
    }

    /// Draws from `draw` until the result is admitted (rejection sampling
    /// with at most `limit_retries` draws).
    pub fn propose(
        &self,
        space: &dyn SearchSpace,
        rng: &mut SeedRng,
        mut draw: impl FnMut(&mut SeedRng) -> Result<Arch>,
    ) -> Result<Arch> {
        if self.config.mac_limit.is_none() {
            return draw(rng);
        }
        for _ in 0..self.config.limit_retries {
            let arch = draw(rng)?;
            if self.admits(space, &arch) {
                return Ok(arch);
            }
        }
        Err(Error::MacLimitUnreachable {
            strategy: self.strategy.clone(),
            limit: self.config.mac_limit.unwrap_or(0),
            tries: self.config.limit_retries,
        })
    }
}

/// The best architecture told so far by fitness (ties: the earliest).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Incumbent {
    best: Option<(Arch, f64)>,
}

impl Incumbent {
    /// Records an observation's fitness.
    pub fn record(&mut self, arch: &Arch, fitness: Option<f64>) {
        let Some(f) = fitness else { return };
        if self.best.as_ref().is_none_or(|(_, best)| f > *best) {
            self.best = Some((arch.clone(), f));
        }
    }

    /// The recommended architecture.
    pub fn arch(&self) -> Option<Arch> {
        self.best.as_ref().map(|(a, _)| a.clone())
    }

    /// The best fitness.
    pub fn fitness(&self) -> Option<f64> {
        self.best.as_ref().map(|(_, f)| *f)
    }
}

/// Orders fitnesses with failures (`None`) below every value.
pub fn rank_key(fitness: Option<f64>) -> f64 {
    fitness.unwrap_or(f64::NEG_INFINITY)
}

/// Checks that a told architecture fits the decisions a strategy was built
/// for, so a bad observation is an error rather than a panic later (when a
/// parent of the wrong shape would be mutated or crossed over).
pub fn check_told(strategy: &str, arities: &[usize], arch: &Arch) -> Result<()> {
    let fits = arch.len() == arities.len()
        && arch
            .choices()
            .iter()
            .zip(arities)
            .all(|(&c, &a)| (c as usize) < a);
    if fits {
        Ok(())
    } else {
        Err(Error::SpaceMismatch {
            strategy: strategy.to_string(),
            reason: format!(
                "told architecture {:?} does not fit the space's {} decisions",
                arch.choices(),
                arities.len()
            ),
        })
    }
}

/// Checks that `ask` got the space the strategy was built for.
pub fn check_space(strategy: &str, arities: &[usize], space: &dyn SearchSpace) -> Result<()> {
    if space
        .decisions()
        .iter()
        .map(|d| d.arity())
        .eq(arities.iter().copied())
    {
        Ok(())
    } else {
        Err(Error::SpaceMismatch {
            strategy: strategy.to_string(),
            reason: format!(
                "built for {} decisions of arities {arities:?}, asked with space `{}`",
                arities.len(),
                space.name()
            ),
        })
    }
}
