//! nasarena-harness: the product's spine. Experiment files, budgets, the
//! trainer, the run loops, the shared final protocol, and crash-safe
//! journals with resume.

pub mod bench;
pub mod bench_supernet;
pub mod device;
mod error;
pub mod evaluator;
pub mod experiment;
pub mod journal;
pub mod lut;
pub mod machine;
pub mod one_shot;
pub mod optim;
pub mod plan;
pub mod progress;
pub mod run;
pub mod slurm;
pub mod stop;
pub mod table;
pub mod trainer;

pub use error::{Error, Result};
