//! The instruction set every kernel of this crate runs with, picked once
//! per process.
//!
//! The fastest path this CPU has is used unless `NASARENA_ISA` names
//! another (`avx512`, `avx2`, `neon` or `portable`), so that every path can
//! be tested and benchmarked on one machine. A forced path the CPU lacks is
//! refused with an error, never replaced by another: [`init_isa`] reports
//! it (the binary calls it first thing), and [`isa`] panics with the same
//! message if a library user skipped that. Each kernel family notes the
//! path it actually ran ([`isas_used`]), so a test can check that a forced
//! path was not silently swapped for another.
//!
//! Results may differ between paths in the last bits (the matrix products
//! sum in another order), never between runs on one path.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use crate::{Error, Result};

/// The environment variable that forces a path.
pub const ISA_ENV: &str = "NASARENA_ISA";

/// The kernel paths of this crate, each with register blocking sized for
/// its instruction set's registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// Plain Rust for the target's baseline (any CPU).
    Portable,
    /// aarch64 Advanced SIMD: 32 registers of 4 f32.
    Neon,
    /// x86-64 AVX2 with FMA: 16 registers of 8 f32.
    Avx2,
    /// x86-64 AVX-512F: 32 registers of 16 f32.
    Avx512,
}

impl Isa {
    /// Every path, in the order of [`Isa::bit`].
    pub const ALL: [Isa; 4] = [Isa::Portable, Isa::Neon, Isa::Avx2, Isa::Avx512];

    /// The name `NASARENA_ISA` takes and reports use.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Neon => "neon",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run the path (std caches the probes).
    pub fn supported(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                // The AVX-512 kernels also run AVX2 + FMA code (the direct
                // convolution kernels have no 16-lane version).
                std::arch::is_x86_feature_detected!("avx512f") && Isa::Avx2.supported()
            }
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Every path this CPU can run, slowest first (portable always).
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.supported()).collect()
    }

    /// The fastest path this CPU can run.
    pub fn best() -> Isa {
        Isa::available().last().copied().unwrap_or(Isa::Portable)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Isa {
    type Err = Error;

    fn from_str(s: &str) -> Result<Isa> {
        Isa::ALL
            .into_iter()
            .find(|i| i.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| Error::BadIsa {
                reason: format!(
                    "`{s}` is not an instruction-set path; use one of avx512, avx2, neon, portable"
                ),
            })
    }
}

/// The path `NASARENA_ISA` asks for (or the best one when it is unset or
/// empty), checked against this CPU.
fn from_env() -> Result<Isa> {
    let forced = match std::env::var(ISA_ENV) {
        Ok(v) if !v.trim().is_empty() => v,
        Ok(_) | Err(std::env::VarError::NotPresent) => return Ok(Isa::best()),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(Error::BadIsa {
                reason: format!("{ISA_ENV} is not valid UTF-8"),
            })
        }
    };
    let isa: Isa = forced.parse()?;
    if !isa.supported() {
        let have: Vec<&str> = Isa::available().iter().map(|i| i.name()).collect();
        return Err(Error::BadIsa {
            reason: format!(
                "{ISA_ENV}={} asks for a path this CPU cannot run; it has: {}",
                isa.name(),
                have.join(", ")
            ),
        });
    }
    Ok(isa)
}

static SELECTED: OnceLock<std::result::Result<Isa, String>> = OnceLock::new();

fn selected() -> &'static std::result::Result<Isa, String> {
    SELECTED.get_or_init(|| {
        from_env().map_err(|e| match e {
            Error::BadIsa { reason } => reason,
            other => other.to_string(),
        })
    })
}

/// Picks the path (reading `NASARENA_ISA` once) and returns it, or the
/// reason a forced path cannot run. Call it before any kernel runs to
/// turn a bad `NASARENA_ISA` into an error instead of a panic.
pub fn init_isa() -> Result<Isa> {
    selected()
        .clone()
        .map_err(|reason| Error::BadIsa { reason })
}

/// The path every kernel runs with.
///
/// # Panics
/// When `NASARENA_ISA` forces a path this CPU cannot run (see
/// [`init_isa`]): running another would make the forced benchmark or test
/// lie.
pub fn isa() -> Isa {
    match selected() {
        Ok(isa) => *isa,
        Err(reason) => panic!("nasarena-ops: {reason}"),
    }
}

static USED: AtomicU8 = AtomicU8::new(0);

/// Records that a kernel ran with `isa` (cheap: one relaxed load, and a
/// store only the first time).
#[inline]
pub(crate) fn note(isa: Isa) {
    if USED.load(Ordering::Relaxed) & isa.bit() == 0 {
        USED.fetch_or(isa.bit(), Ordering::Relaxed);
    }
}

/// The paths kernels of this process ran with so far: exactly `[isa()]`
/// once any kernel ran, unless a path was silently swapped.
pub fn isas_used() -> Vec<Isa> {
    let used = USED.load(Ordering::Relaxed);
    Isa::ALL
        .into_iter()
        .filter(|i| used & i.bit() != 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_are_refused() {
        for isa in Isa::ALL {
            assert_eq!(isa.name().parse::<Isa>().ok(), Some(isa));
        }
        assert_eq!(" AVX2 ".parse::<Isa>().ok(), Some(Isa::Avx2));
        let err = "sse9".parse::<Isa>().map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("sse9") && err.contains("portable"), "{err}");
    }

    #[test]
    fn portable_is_always_available_and_best_is_last() {
        let all = Isa::available();
        assert_eq!(all[0], Isa::Portable);
        assert_eq!(Isa::best(), *all.last().unwrap_or(&Isa::Portable));
        #[cfg(target_arch = "x86_64")]
        assert!(!Isa::Neon.supported());
    }
}
