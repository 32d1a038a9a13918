//! nasarena-strategies: the search strategies nasarena compares.
//!
//! Black-box strategies ([`nasarena_core::BlackBoxStrategy`]): uniform
//! [`random`] search (Li & Talwalkar 2019), regularized [`evolution`] (Real
//! et al. 2019), a generational genetic algorithm ([`ga`]) and an RL
//! controller trained with REINFORCE ([`reinforce`]; Zoph & Le 2017, ENAS,
//! NAS-Bench-201). Each is configured by a typed, validated config with
//! named presets, draws randomness only from a [`nasarena_core::Seed`],
//! ranks by the scalar of its [`config::ObjectiveConfig`] (accuracy or the
//! MnasNet reward, optionally under a hard MAC limit), and saves its whole
//! state for an exact resume. [`build_black_box`] builds one by name.
//!
//! One-shot strategies ([`nasarena_core::OneShotStrategy`]): differentiable
//! search on a weight-sharing supernet, [`gumbel`] (FBNet, GDAS,
//! SqueezeNAS presets and the DARTS softmax baseline); [`build_one_shot`].

pub mod config;
mod error;
pub mod evolution;
pub mod ga;
pub mod gumbel;
pub mod random;
pub mod registry;
pub mod reinforce;
pub mod reward;
mod state;

pub use error::{Error, Result};
pub use registry::{build_black_box, build_one_shot, is_one_shot, BLACK_BOX, ONE_SHOT};
