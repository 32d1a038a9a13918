//! The long version string: crate version, git revision and features.

/// `0.1.0 (rev abc1234, features: cpu)`, assembled at build time.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (rev ",
    env!("NASARENA_GIT_REV"),
    ", features: ",
    env!("NASARENA_FEATURES"),
    ")"
);
