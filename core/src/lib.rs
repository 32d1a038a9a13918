//! nasarena-core: the vocabulary every other nasarena crate speaks.
//!
//! An [`Arch`] is a genotype (one choice per [`Decision`] of a
//! [`SearchSpace`]); a [`Seed`] is the only source of randomness; the
//! harness charges [`Cost`]s against a [`Budget`] and shows strategies a
//! read-only [`Progress`]; strategies implement [`BlackBoxStrategy`]
//! (ask/tell over whole architectures) or [`OneShotStrategy`] (architecture
//! parameters of a weight-sharing supernet). This crate does no I/O and
//! knows nothing of datasets, trainers or network layers.

mod arch;
mod budget;
mod error;
mod one_shot;
mod seed;
mod space;
mod strategy;
mod trial;

pub use arch::{Arch, Decision};
pub use budget::{Budget, BudgetUnit, Cost, Progress};
pub use error::{CoreError, Result};
pub use one_shot::{entropy, max_probability, Alternation, CostTable, EffectiveSchedule, RunShape};
pub use seed::{Seed, SeedRng};
pub use space::{check_ranges, SearchSpace};
pub use strategy::{BlackBoxStrategy, MixingWeights, OneShotStrategy, StepContext};
pub use trial::{Metrics, Observation, Outcome, Proposal};
