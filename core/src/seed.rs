//! Seeds: the only source of randomness in nasarena.
//!
//! Every random choice (architecture sampling, weight initialisation, data
//! shuffling, Gumbel noise) draws from an RNG built from a [`Seed`] derived
//! from the experiment seed by a named stream and an index, e.g.
//! `seed.derive("init", layer)`. Derivation is a documented, platform
//! independent function of 64-bit integers, so a given experiment seed yields
//! the same streams on every machine and with every build:
//!
//! * `h = FNV-1a-64(stream as UTF-8 bytes)`
//! * `derive(stream, index) = mix(mix(seed XOR h) XOR index)`
//!
//! where `mix` is the SplitMix64 output function (Steele, Lea & Flood 2014):
//! add `0x9E3779B97F4A7C15`, then xor-shift-multiply by `0xBF58476D1CE4E5B9`
//! and `0x94D049BB133111EB` with shifts 30, 27, 31.
//!
//! [`Seed::rng`] builds a ChaCha8 generator whose 32-byte key is four
//! successive `mix` outputs (little endian) starting from the seed. ChaCha8
//! is specified by its algorithm, not by a crate version, so its stream does
//! not change when `rand` is upgraded.

use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// The RNG every nasarena component draws from.
pub type SeedRng = rand_chacha::ChaCha8Rng;

/// A 64-bit seed from which named sub-seeds and RNGs are derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seed(pub u64);

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64 output function: a bijective 64-bit mixer.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN_GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a 64-bit hash of a stream name.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
    }
    hash
}

impl Seed {
    /// A child seed for the named stream and index. Different streams or
    /// indices give statistically independent seeds.
    pub fn derive(self, stream: &str, index: u64) -> Seed {
        Seed(mix(mix(self.0 ^ fnv1a64(stream.as_bytes())) ^ index))
    }

    /// A fresh ChaCha8 RNG keyed by this seed.
    pub fn rng(self) -> SeedRng {
        let mut key = [0u8; 32];
        let mut state = self.0;
        for chunk in key.chunks_exact_mut(8) {
            state = mix(state);
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        SeedRng::from_seed(key)
    }
}

impl std::fmt::Display for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn derivation_matches_golden_values() {
        // Golden values pin the documented algorithm: if these change, every
        // recorded journal stops being reproducible.
        assert_eq!(mix(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        let derived = Seed(42).derive("init", 3);
        assert_eq!(derived, Seed(mix(mix(42 ^ fnv1a64(b"init")) ^ 3)));
        assert_eq!(derived.0, GOLDEN_INIT_3);
        let mut rng = Seed(42).rng();
        assert_eq!(rng.next_u64(), GOLDEN_RNG_FIRST);
    }

    // Computed independently with a Python transcription of the documented formula.
    const GOLDEN_INIT_3: u64 = 15_885_888_724_247_380_937;
    // Pinned from the first run: ChaCha8 keyed as documented; guards against
    // a silent change of generator or key schedule.
    const GOLDEN_RNG_FIRST: u64 = 7_296_272_285_688_312_206;

    #[test]
    fn streams_and_indices_differ() {
        let s = Seed(7);
        assert_ne!(s.derive("init", 0), s.derive("init", 1));
        assert_ne!(s.derive("init", 0), s.derive("data", 0));
        assert_ne!(s.derive("init", 0), Seed(8).derive("init", 0));
        assert_eq!(s.derive("init", 0), s.derive("init", 0));
    }

    #[test]
    fn rng_is_reproducible() {
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Seed(9).rng(), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Seed(9).rng(), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        let c: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Seed(10).rng(), |r, _| Some(r.next_u64()))
            .collect();
        assert_ne!(a, c);
    }
}
