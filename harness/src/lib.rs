//! nasarena-harness: the product's spine. Experiment files, budgets, the
//! trainer, the run loops, the shared final protocol, and crash-safe
//! journals with resume.
//!
//! The modules form layers; each uses only those below it (DESIGN.md,
//! "Inside the harness: layers"; `tests/module_graph.rs` checks that no
//! two modules use each other):
//!
//! 0. [`experiment`], [`trainer`], [`optim`], [`journal`], [`progress`],
//!    [`stop`], [`device`], [`machine`], [`meter`], [`data`], [`lut`],
//!    [`options`], [`supernet_budget`]
//! 1. [`tabular`]: tabular benchmarks (tables, build, merge, import)
//! 2. [`evaluation`]: the [`evaluation::Evaluator`] trait, live and table
//! 3. [`strategies`]: strategy construction
//! 4. [`plan`]: the plan, resolved once into typed units
//! 5. [`context`]: a unit's journal, header and final protocol
//! 6. [`black_box`] and [`one_shot`]: the search loops
//! 7. [`runner`]: running a plan; [`slurm`] above it
//!
//! [`bench`] and [`bench_supernet`] time training and search steps for
//! `nasarena bench` beside all of it.

pub mod bench;
pub mod bench_supernet;
pub mod black_box;
pub mod context;
pub mod data;
pub mod device;
mod error;
pub mod evaluation;
pub mod experiment;
pub mod export;
pub mod journal;
pub mod lut;
pub mod machine;
pub mod meter;
pub mod one_shot;
pub mod optim;
pub mod options;
pub mod plan;
pub mod progress;
pub mod runner;
pub mod saved;
pub mod segmentation;
pub mod slurm;
pub mod stop;
pub mod strategies;
pub mod supernet_budget;
pub mod tabular;
pub mod task_set;
pub mod trainer;

pub use error::{Error, Problem, Result};
