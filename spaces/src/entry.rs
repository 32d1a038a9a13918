//! What the registry lists about a space. Each space module declares its
//! own entry and the registry (`registry.rs`) collects them, so the entry
//! type sits here, below both: a space never reaches the registry.

/// A registered search space, as listed by `nasarena spaces`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpaceEntry {
    /// The name used in experiment files and on the command line.
    pub name: &'static str,
    /// One line for listings.
    pub summary: &'static str,
    /// The accepted `key=value` options, for listings and errors.
    pub options: &'static [&'static str],
}
