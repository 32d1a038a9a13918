//! The long version string: crate version, git revision, features and the
//! kernels' instruction-set path.

/// `0.1.0 (rev abc1234, features: cpu`, assembled at build time.
const BUILD: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (rev ",
    env!("NASARENA_GIT_REV"),
    ", features: ",
    env!("NASARENA_FEATURES"),
);

/// `0.1.0 (rev abc1234, features: cpu, isa: avx2)`: the path is picked at
/// run time (`NASARENA_ISA` may force one), so it is added here.
pub fn long() -> &'static str {
    let isa = match nasarena_ops::init_isa() {
        Ok(isa) => isa.name().to_string(),
        Err(e) => format!("none: {e}"),
    };
    // Built once per process for clap, which wants a `&'static str`.
    Box::leak(format!("{BUILD}, isa: {isa})").into_boxed_str())
}
