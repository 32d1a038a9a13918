//! Random search (Li & Talwalkar 2019): uniform sampling of valid
//! architectures via `SearchSpace::sample`, the baseline every comparison
//! needs.
//!
//! With `dedup` on, an architecture whose canonical form
//! (`SearchSpace::canonical`) was already proposed is drawn again, at most
//! `dedup_retries` times; after that a repeat is proposed rather than
//! stalling, which only happens once the space is (nearly) exhausted.

use crate::config::{at_least, ObjectiveConfig};
use crate::reward::{check_space, check_told, Incumbent, Objective};
use crate::{state, Result};
use nasarena_core::{
    Arch, BlackBoxStrategy, Observation, Progress, Proposal, SearchSpace, Seed, SeedRng,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The registered name.
pub const NAME: &str = "random";

/// Configuration of random search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomConfig {
    /// Skip architectures whose canonical form was already proposed.
    pub dedup: bool,
    /// Draws per proposal before a repeat is accepted.
    pub dedup_retries: u32,
    /// Reward and MAC limit.
    #[serde(default)]
    pub objective: ObjectiveConfig,
}

impl RandomConfig {
    /// The presets: `uniform` (Li & Talwalkar) and `dedup`.
    pub fn preset(name: &str) -> Option<Self> {
        let dedup = match name {
            "uniform" => false,
            "dedup" => true,
            _ => return None,
        };
        Some(RandomConfig {
            dedup,
            dedup_retries: 100,
            objective: ObjectiveConfig::default(),
        })
    }

    /// Preset names, the default first.
    pub const PRESETS: &'static [&'static str] = &["uniform", "dedup"];

    /// Checks ranges; errors name the field.
    pub fn validate(&self) -> Result<()> {
        at_least(NAME, "dedup_retries", self.dedup_retries as usize, 1)?;
        self.objective.validate(NAME)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct RandomState {
    rng: SeedRng,
    seen: BTreeSet<Arch>,
    incumbent: Incumbent,
}

/// Random search.
#[derive(Debug)]
pub struct RandomSearch {
    arities: Vec<usize>,
    config: RandomConfig,
    objective: Objective,
    state: RandomState,
}

impl RandomSearch {
    /// Builds the strategy; the space is used to check the objective.
    pub fn new(config: RandomConfig, seed: Seed, space: &dyn SearchSpace) -> Result<Self> {
        config.validate()?;
        let objective = Objective::new(NAME, config.objective.clone(), space)?;
        Ok(RandomSearch {
            arities: space.decisions().iter().map(|d| d.arity()).collect(),
            config,
            objective,
            state: RandomState {
                rng: seed.derive(NAME, 0).rng(),
                seen: BTreeSet::new(),
                incumbent: Incumbent::default(),
            },
        })
    }

    fn draw(&mut self, space: &dyn SearchSpace) -> Result<Arch> {
        let objective = &self.objective;
        let st = &mut self.state;
        let tries = if self.config.dedup {
            self.config.dedup_retries
        } else {
            1
        };
        let mut arch = objective.propose(space, &mut st.rng, |r| Ok(space.sample(r)))?;
        for _ in 1..tries {
            if !st.seen.contains(&space.canonical(&arch)) {
                break;
            }
            arch = objective.propose(space, &mut st.rng, |r| Ok(space.sample(r)))?;
        }
        if self.config.dedup {
            st.seen.insert(space.canonical(&arch));
        }
        Ok(arch)
    }
}

impl BlackBoxStrategy for RandomSearch {
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
        check_told(NAME, &self.arities, &observation.arch)?;
        let fitness = self.objective.fitness(observation);
        self.state.incumbent.record(&observation.arch, fitness);
        Ok(())
    }

    fn recommend(&self) -> Option<Arch> {
        self.state.incumbent.arch()
    }

    fn save_state(&self) -> nasarena_core::Result<serde_json::Value> {
        Ok(state::save(NAME, &self.config, &self.state)?)
    }

    fn restore_state(&mut self, value: &serde_json::Value) -> nasarena_core::Result<()> {
        self.state = state::restore(NAME, &self.config, value)?;
        Ok(())
    }
}
