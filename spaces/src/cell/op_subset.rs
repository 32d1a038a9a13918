//! A reduced cell space: the `ops` option keeps some of the five
//! NAS-Bench-201 operations (e.g. `ops=none,skip_connect,nor_conv_3x3`,
//! 3^6 = 729 cells), small enough to train every cell on a CPU and build a
//! tabular benchmark. Choice `k` of an edge means the `k`-th listed op;
//! everything else (networks, costs, genotype strings) works on the cell
//! written with the full op indices, so a reduced cell and the same cell
//! in the full space are the same network.
//!
//! The canonical form follows NAS-Bench-201's unique-key rule
//! ([`super::canonical::unique_key`]); the representative of a class is its
//! smallest cell *of the reduced space*, so canonical cells always use
//! listed ops only.

use super::genotype::OPS;
use crate::{Error, Result};
use nasarena_core::{Arch, CoreError};
use std::collections::HashMap;

/// The ops of a (possibly reduced) cell space.
#[derive(Clone, Debug)]
pub struct OpSubset {
    /// Full op index of each choice, in the order given.
    ops: Vec<u32>,
    /// Unique key -> smallest reduced cell, only for a reduced space (the
    /// full space uses the shared NAS-Bench-201 table).
    classes: Option<HashMap<String, Vec<u32>>>,
}

impl OpSubset {
    /// All five ops.
    pub fn full() -> Self {
        OpSubset {
            ops: (0..OPS.len() as u32).collect(),
            classes: None,
        }
    }

    /// Parses the `ops` option: comma-separated op names, each at most once.
    pub fn parse(value: &str) -> Result<Self> {
        let bad = |reason: String| Error::Option {
            space: "cell".into(),
            key: "ops".into(),
            reason,
        };
        let mut ops = Vec::new();
        for name in value.split(',').map(str::trim) {
            let Some(i) = OPS.iter().position(|&o| o == name) else {
                return Err(bad(format!(
                    "unknown op `{name}`; valid ops: {}",
                    OPS.join(", ")
                )));
            };
            if ops.contains(&(i as u32)) {
                return Err(bad(format!("op `{name}` is listed twice")));
            }
            ops.push(i as u32);
        }
        if ops.len() < 2 {
            return Err(bad("list at least two ops".into()));
        }
        if ops.len() == OPS.len() && ops.windows(2).all(|w| w[0] < w[1]) {
            return Ok(Self::full());
        }
        let mut s = OpSubset { ops, classes: None };
        s.classes = Some(s.build_classes());
        Ok(s)
    }

    fn build_classes(&self) -> HashMap<String, Vec<u32>> {
        let k = self.ops.len();
        let cells = k.pow(6);
        let mut map = HashMap::new();
        for index in 0..cells {
            let mut rest = index;
            let mut choices = vec![0u32; 6];
            for slot in choices.iter_mut().rev() {
                *slot = (rest % k) as u32;
                rest /= k;
            }
            let key = super::canonical::unique_key(self.to_full(&choices).choices());
            map.entry(key).or_insert(choices);
        }
        map
    }

    /// True when all five ops are kept in their usual order.
    pub fn is_full(&self) -> bool {
        self.classes.is_none()
    }

    /// The names of the kept ops, in choice order.
    pub fn names(&self) -> Vec<&'static str> {
        self.ops.iter().map(|&o| OPS[o as usize]).collect()
    }

    /// The full op index of each choice.
    pub fn full_indices(&self) -> &[u32] {
        &self.ops
    }

    /// The same cell with full op indices (choices out of range map to an
    /// index past the ops, which every consumer rejects or reports).
    pub fn to_full(&self, choices: &[u32]) -> Arch {
        Arch::new(
            choices
                .iter()
                .map(|&c| self.ops.get(c as usize).copied().unwrap_or(u32::MAX))
                .collect(),
        )
    }

    /// The reduced cell of a full-index cell; an error names an op that is
    /// not kept.
    pub fn from_full(&self, full: &Arch) -> nasarena_core::Result<Arch> {
        let mut out = Vec::with_capacity(full.len());
        for (edge, &op) in full.choices().iter().enumerate() {
            let Some(k) = self.ops.iter().position(|&o| o == op) else {
                return Err(CoreError::Parse {
                    space: "cell".into(),
                    position: format!("edge {}", edge + 1),
                    reason: format!(
                        "op `{}` is not in this space (ops={})",
                        OPS.get(op as usize).copied().unwrap_or("?"),
                        self.names().join(",")
                    ),
                });
            };
            out.push(k as u32);
        }
        Ok(Arch::new(out))
    }

    /// The canonical representative of a valid cell of this space.
    pub fn canonical(&self, arch: &Arch) -> Arch {
        match &self.classes {
            None => super::canonical::canonical(arch),
            Some(map) => {
                let key = super::canonical::unique_key(self.to_full(arch.choices()).choices());
                map.get(&key)
                    .map_or_else(|| arch.clone(), |rep| Arch::new(rep.clone()))
            }
        }
    }

    /// Number of canonical classes of this space.
    pub fn classes(&self) -> usize {
        match &self.classes {
            None => super::canonical::unique_cells(),
            Some(map) => map.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_ops_round_trip_and_canonical_forms_stay_in_the_subset() {
        let s = OpSubset::parse("none,skip_connect,nor_conv_3x3").expect("valid");
        assert!(!s.is_full());
        let full = s.to_full(&[2, 0, 1, 1, 2, 0]);
        assert_eq!(full.choices(), &[3, 0, 1, 1, 3, 0]);
        assert_eq!(
            s.from_full(&full).expect("kept ops").choices(),
            &[2, 0, 1, 1, 2, 0]
        );
        for index in (0..729u32).step_by(7) {
            let a: Vec<u32> = (0..6).rev().map(|p| index / 3u32.pow(p) % 3).collect();
            let a = Arch::new(a);
            let c = s.canonical(&a);
            assert!(c <= a && c.choices().iter().all(|&x| x < 3));
            assert_eq!(s.canonical(&c), c);
        }
        assert!(s.classes() < 729 && s.classes() > 50);
    }

    #[test]
    fn bad_op_lists_are_rejected_by_name() {
        let e = OpSubset::parse("none,conv9")
            .expect_err("unknown op")
            .to_string();
        assert!(e.contains("conv9") && e.contains("ops"), "{e}");
        let e = OpSubset::parse("none,none").expect_err("twice").to_string();
        assert!(e.contains("twice"), "{e}");
        assert!(OpSubset::parse("none").is_err());
        let full = OpSubset::parse("none,skip_connect,nor_conv_1x1,nor_conv_3x3,avg_pool_3x3");
        assert!(full.expect("all five").is_full());
    }
}
