//! Regularized (aging) evolution, Real, Aggarwal, Huang & Le 2019,
//! "Regularized Evolution for Image Classifier Architecture Search".
//!
//! The first P proposals are uniform random architectures. After that each
//! proposal draws S members of the population uniformly WITH replacement,
//! takes the fittest as parent and proposes `SearchSpace::mutate(parent)`
//! (one decision changed). Every told child is pushed onto the population
//! and, once it holds more than P members, the OLDEST is removed (not the
//! worst): that ageing is the regularisation. A failed evaluation joins the
//! population with the worst fitness, so it ages out like any other member
//! and never stalls the loop. Proposals and tells may interleave (the
//! paper's workers are asynchronous): ask uses whatever has been told.

use crate::config::{at_least, ObjectiveConfig};
use crate::reward::{check_space, check_told, rank_key, Incumbent, Objective};
use crate::{state, Error, Result};
use nasarena_core::{
    Arch, BlackBoxStrategy, Observation, Progress, Proposal, SearchSpace, Seed, SeedRng,
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The registered name.
pub const NAME: &str = "evolution";

/// Configuration of regularized evolution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvolutionConfig {
    /// Population size P.
    pub population_size: usize,
    /// Tournament (sample) size S, drawn with replacement.
    pub sample_size: usize,
    /// Reward and MAC limit.
    #[serde(default)]
    pub objective: ObjectiveConfig,
}

impl EvolutionConfig {
    /// Preset names, the default first.
    pub const PRESETS: &'static [&'static str] = &["real2019", "nb201"];

    /// `real2019`: P=100, S=25 (the paper); `nb201`: P=10, S=3
    /// (NAS-Bench-201's REA baseline).
    pub fn preset(name: &str) -> Option<Self> {
        let (p, s) = match name {
            "real2019" => (100, 25),
            "nb201" => (10, 3),
            _ => return None,
        };
        Some(EvolutionConfig {
            population_size: p,
            sample_size: s,
            objective: ObjectiveConfig::default(),
        })
    }

    /// Checks P > S >= 1; errors name the field.
    pub fn validate(&self) -> Result<()> {
        at_least(NAME, "sample_size", self.sample_size, 1)?;
        if self.population_size <= self.sample_size {
            return Err(Error::config(
                NAME,
                "population_size",
                format!(
                    "must exceed sample_size ({}), got {}",
                    self.sample_size, self.population_size
                ),
            ));
        }
        self.objective.validate(NAME)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Member {
    arch: Arch,
    fitness: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct EvolutionState {
    rng: SeedRng,
    /// Oldest at the front.
    population: VecDeque<Member>,
    asked: u64,
    incumbent: Incumbent,
}

/// Regularized evolution.
#[derive(Debug)]
pub struct Evolution {
    arities: Vec<usize>,
    config: EvolutionConfig,
    objective: Objective,
    state: EvolutionState,
}

impl Evolution {
    /// Builds the strategy; the space is used to check the objective.
    pub fn new(config: EvolutionConfig, seed: Seed, space: &dyn SearchSpace) -> Result<Self> {
        config.validate()?;
        let objective = Objective::new(NAME, config.objective.clone(), space)?;
        Ok(Evolution {
            arities: space.decisions().iter().map(|d| d.arity()).collect(),
            config,
            objective,
            state: EvolutionState {
                rng: seed.derive(NAME, 0).rng(),
                population: VecDeque::new(),
                asked: 0,
                incumbent: Incumbent::default(),
            },
        })
    }

    /// Tournament: S uniform draws with replacement; the fittest wins, the
    /// earliest drawn on ties.
    fn tournament(&mut self) -> Option<Arch> {
        let st = &mut self.state;
        let n = st.population.len();
        let mut best: Option<&Member> = None;
        for _ in 0..self.config.sample_size {
            let candidate = &st.population[st.rng.random_range(0..n)];
            if best.is_none_or(|b| rank_key(candidate.fitness) > rank_key(b.fitness)) {
                best = Some(candidate);
            }
        }
        best.map(|m| m.arch.clone())
    }

    fn next_arch(&mut self, space: &dyn SearchSpace) -> Result<Arch> {
        let initial = self.state.asked < self.config.population_size as u64;
        let parent = if initial { None } else { self.tournament() };
        let Evolution {
            objective, state, ..
        } = self;
        match parent {
            // Initial population (or nothing told yet): uniform samples.
            None => objective.propose(space, &mut state.rng, |r| Ok(space.sample(r))),
            Some(parent) => {
                objective.propose(space, &mut state.rng, |r| Ok(space.mutate(&parent, r)))
            }
        }
    }
}

impl BlackBoxStrategy for Evolution {
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
        let arch = self.next_arch(space)?;
        self.state.asked += 1;
        Ok(Proposal::new(arch))
    }

    fn tell(&mut self, observation: &Observation) -> nasarena_core::Result<()> {
        check_told(NAME, &self.arities, &observation.arch)?;
        let fitness = self.objective.fitness(observation);
        let st = &mut self.state;
        st.incumbent.record(&observation.arch, fitness);
        st.population.push_back(Member {
            arch: observation.arch.clone(),
            fitness,
        });
        while st.population.len() > self.config.population_size {
            st.population.pop_front();
        }
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
