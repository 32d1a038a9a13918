//! A generational genetic algorithm (Holland 1975; Goldberg 1989), the
//! classic evolutionary baseline beside regularized evolution.
//!
//! Generation 0 is `population_size` uniform random architectures. Each
//! later generation keeps the `elitism` fittest members of the previous one
//! unchanged (their fitness is known, so they are not re-evaluated) and
//! proposes `population_size - elitism` children: two parents by tournament
//! selection (`tournament_size` uniform draws with replacement, fittest
//! wins), uniform crossover with probability `crossover_rate` (each decision
//! from either parent with probability 1/2, otherwise a copy of the first
//! parent), then per-decision mutation with probability `mutation_rate` to a
//! different option.
//!
//! Invalid children are RESAMPLED, not repaired: crossover and mutation are
//! redrawn up to `invalid_retries` times until `SearchSpace::check` passes,
//! then the child falls back to `SearchSpace::mutate(first parent)`, which is
//! valid by construction. Repair would need space-specific knowledge of
//! which decisions conflict; resampling works for any space. Failed
//! evaluations rank below every evaluated member.

use crate::config::{at_least, unit_interval, ObjectiveConfig};
use crate::reward::{check_space, check_told, rank_key, Incumbent, Objective};
use crate::{state, Error, Result};
use nasarena_core::{
    Arch, BlackBoxStrategy, Observation, Progress, Proposal, SearchSpace, Seed, SeedRng,
};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The registered name.
pub const NAME: &str = "ga";

/// Configuration of the genetic algorithm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaConfig {
    /// Members per generation.
    pub population_size: usize,
    /// Tournament size (draws with replacement).
    pub tournament_size: usize,
    /// Probability that a child is made by uniform crossover.
    pub crossover_rate: f64,
    /// Per-decision probability of mutation; `None` means 1 / #decisions.
    pub mutation_rate: Option<f64>,
    /// Fittest members copied unchanged into the next generation.
    pub elitism: usize,
    /// Redraws of an invalid child before falling back to `mutate`.
    pub invalid_retries: u32,
    /// Reward and MAC limit.
    #[serde(default)]
    pub objective: ObjectiveConfig,
}

impl GaConfig {
    /// Preset names, the default first.
    pub const PRESETS: &'static [&'static str] = &["classic"];

    /// `classic`: 50 members, tournament of 3, crossover 0.9,
    /// mutation 1/#decisions, 2 elites: textbook settings.
    pub fn preset(name: &str) -> Option<Self> {
        (name == "classic").then(|| GaConfig {
            population_size: 50,
            tournament_size: 3,
            crossover_rate: 0.9,
            mutation_rate: None,
            elitism: 2,
            invalid_retries: 100,
            objective: ObjectiveConfig::default(),
        })
    }

    /// Checks ranges; errors name the field.
    pub fn validate(&self) -> Result<()> {
        at_least(NAME, "population_size", self.population_size, 2)?;
        at_least(NAME, "tournament_size", self.tournament_size, 1)?;
        unit_interval(NAME, "crossover_rate", self.crossover_rate)?;
        if let Some(rate) = self.mutation_rate {
            unit_interval(NAME, "mutation_rate", rate)?;
        }
        if self.elitism >= self.population_size {
            return Err(Error::config(
                NAME,
                "elitism",
                format!("must be below population_size ({})", self.population_size),
            ));
        }
        at_least(NAME, "invalid_retries", self.invalid_retries as usize, 1)?;
        self.objective.validate(NAME)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Member {
    arch: Arch,
    fitness: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct GaState {
    rng: SeedRng,
    /// The previous generation, fittest first (empty in generation 0).
    parents: Vec<Member>,
    /// Children of the current generation told so far.
    offspring: Vec<Member>,
    generation: u64,
    incumbent: Incumbent,
}

/// The generational genetic algorithm.
#[derive(Debug)]
pub struct Ga {
    arities: Vec<usize>,
    config: GaConfig,
    objective: Objective,
    state: GaState,
}

impl Ga {
    /// Builds the strategy; the space is used to check the objective.
    pub fn new(config: GaConfig, seed: Seed, space: &dyn SearchSpace) -> Result<Self> {
        config.validate()?;
        let objective = Objective::new(NAME, config.objective.clone(), space)?;
        Ok(Ga {
            arities: space.decisions().iter().map(|d| d.arity()).collect(),
            config,
            objective,
            state: GaState {
                rng: seed.derive(NAME, 0).rng(),
                parents: Vec::new(),
                offspring: Vec::new(),
                generation: 0,
                incumbent: Incumbent::default(),
            },
        })
    }

    /// Children told per generation: all members in generation 0, the
    /// non-elite ones after.
    fn children_per_generation(&self) -> usize {
        if self.state.generation == 0 {
            self.config.population_size
        } else {
            self.config.population_size - self.config.elitism
        }
    }

    /// Closes the generation: elites of the last one plus the children,
    /// sorted fittest first (stable, so earlier members win ties).
    fn next_generation(&mut self) {
        let st = &mut self.state;
        let mut pool: Vec<Member> = st.parents.drain(..).take(self.config.elitism).collect();
        pool.append(&mut st.offspring);
        pool.sort_by(|a, b| rank_key(b.fitness).total_cmp(&rank_key(a.fitness)));
        st.parents = pool;
        st.generation += 1;
    }
}

/// Everything needed to breed one child.
struct Breeder<'a> {
    config: &'a GaConfig,
    parents: &'a [Member],
    space: &'a dyn SearchSpace,
}

impl Breeder<'_> {
    fn select(&self, rng: &mut SeedRng) -> &Arch {
        let n = self.parents.len();
        let mut best = rng.random_range(0..n);
        for _ in 1..self.config.tournament_size {
            let c = rng.random_range(0..n);
            if rank_key(self.parents[c].fitness) > rank_key(self.parents[best].fitness) {
                best = c;
            }
        }
        &self.parents[best].arch
    }

    fn vary(&self, a: &Arch, b: &Arch, rng: &mut SeedRng) -> Arch {
        let decisions = self.space.decisions();
        let rate = self
            .config
            .mutation_rate
            .unwrap_or(1.0 / decisions.len().max(1) as f64);
        let cross = rng.random_bool(self.config.crossover_rate);
        let mut child = a.clone();
        for (i, slot) in child.0.iter_mut().enumerate() {
            if cross && rng.random_bool(0.5) {
                *slot = b.0[i];
            }
            let arity = decisions[i].arity() as u32;
            if arity > 1 && rng.random_bool(rate) {
                // Uniform over the other arity-1 options, so it changes.
                let v = rng.random_range(0..arity - 1);
                *slot = if v >= *slot { v + 1 } else { v };
            }
        }
        child
    }

    fn breed(&self, rng: &mut SeedRng) -> Arch {
        let first = self.select(rng).clone();
        let second = self.select(rng).clone();
        for _ in 0..self.config.invalid_retries {
            let child = self.vary(&first, &second, rng);
            if self.space.check(&child).is_ok() {
                return child;
            }
        }
        self.space.mutate(&first, rng)
    }
}

impl BlackBoxStrategy for Ga {
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
        let Ga {
            config,
            objective,
            state,
            ..
        } = self;
        let arch = if state.parents.is_empty() {
            objective.propose(space, &mut state.rng, |r| Ok(space.sample(r)))?
        } else {
            let breeder = Breeder {
                config,
                parents: &state.parents,
                space,
            };
            objective.propose(space, &mut state.rng, |r| Ok(breeder.breed(r)))?
        };
        Ok(Proposal::new(arch))
    }

    fn tell(&mut self, observation: &Observation) -> nasarena_core::Result<()> {
        check_told(NAME, &self.arities, &observation.arch)?;
        let fitness = self.objective.fitness(observation);
        self.state.incumbent.record(&observation.arch, fitness);
        self.state.offspring.push(Member {
            arch: observation.arch.clone(),
            fitness,
        });
        if self.state.offspring.len() >= self.children_per_generation() {
            self.next_generation();
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
