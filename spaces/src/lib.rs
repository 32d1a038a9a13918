//! nasarena-spaces: the concrete search spaces, their genotype syntax, exact
//! MAC and parameter counts, and the candle networks and supernets built
//! from them.

pub mod cell;
pub mod chain;
pub mod describe;
mod entry;
mod error;
pub mod fbnet;
pub mod geometry;
pub mod init;
pub mod layers;
pub mod layerwise;
pub mod macro_space;
mod options;
mod realize;
mod registry;
pub mod resample;
pub mod squeezenas;
pub mod supernet;

pub use cell::CellSpace;
pub use chain::ChainSpace;
pub use describe::{Graph, Node};
pub use entry::SpaceEntry;
pub use error::{Error, Result};
pub use fbnet::FbnetSpace;
pub use geometry::{ConvSpec, MacCounter};
pub use init::SeededInit;
pub use macro_space::MacroSpace;
pub use options::SpaceOptions;
pub use realize::{CostReport, LayerCost, Network, Realize, Task};
pub use registry::{build_space, registry};
pub use squeezenas::SqueezeNasSpace;
pub use supernet::Supernet;
