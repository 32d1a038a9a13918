//! nasarena-spaces: the concrete search spaces, their genotype syntax, exact
//! MAC and parameter counts, and the candle networks and supernets built
//! from them.

mod error;
pub mod init;
pub mod layers;
mod options;
mod realize;
mod registry;

pub use error::{Error, Result};
pub use init::SeededInit;
pub use options::SpaceOptions;
pub use realize::{CostReport, LayerCost, Network, Realize};
pub use registry::{build_space, registry, SpaceEntry};
