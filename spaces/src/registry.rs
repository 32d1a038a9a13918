//! The registry of search spaces: names, one-line summaries, constructors.

use crate::entry::SpaceEntry;
use crate::{Error, Realize, Result, SpaceOptions};

/// Every registered space, in listing order.
pub fn registry() -> Vec<SpaceEntry> {
    // Each space module contributes its entries here.
    let mut entries = vec![
        crate::cell::ENTRY,
        crate::chain::ENTRY,
        crate::macro_space::ENTRY,
    ];
    entries.extend(crate::fbnet::entries());
    entries.extend(crate::squeezenas::entries());
    entries
}

/// Builds the space registered as `name` with its options.
pub fn build_space(name: &str, options: SpaceOptions) -> Result<Box<dyn Realize>> {
    // Each space module adds its constructor arm here.
    match name {
        "fbnet" => Ok(Box::new(crate::FbnetSpace::new(
            crate::fbnet::presets::PAPER,
            options,
        )?)),
        "fbnet-28" => Ok(Box::new(crate::FbnetSpace::new(
            crate::fbnet::presets::SMALL_28,
            options,
        )?)),
        "squeezenas-small" => Ok(Box::new(crate::SqueezeNasSpace::new(
            crate::squeezenas::variants::SMALL,
            options,
        )?)),
        "squeezenas-large" => Ok(Box::new(crate::SqueezeNasSpace::new(
            crate::squeezenas::variants::LARGE,
            options,
        )?)),
        "squeezenas-xlarge" => Ok(Box::new(crate::SqueezeNasSpace::new(
            crate::squeezenas::variants::XLARGE,
            options,
        )?)),
        "cell" => Ok(Box::new(crate::cell::CellSpace::from_options(options)?)),
        "chain" => Ok(Box::new(crate::chain::ChainSpace::from_options(options)?)),
        "macro" => Ok(Box::new(crate::macro_space::MacroSpace::from_options(
            options,
        )?)),
        _ => Err(Error::UnknownSpace {
            name: name.to_string(),
            known: registry()
                .iter()
                .map(|e| e.name)
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}
