//! The search-space trait.

use crate::{Arch, CoreError, Decision, Result};
use rand::{Rng, RngCore};

/// A discrete search space: a list of decisions plus validity, canonical
/// form and a human genotype syntax.
///
/// Default `sample` and `mutate` work on any space whose decisions are
/// independent; spaces with constraints override `check` and the samplers
/// retry until `check` passes.
pub trait SearchSpace: Send + Sync + std::fmt::Debug {
    /// The registered name of the space, e.g. `cell` or `fbnet`.
    fn name(&self) -> &str;

    /// The decisions, in genotype order.
    fn decisions(&self) -> &[Decision];

    /// Accepts an architecture that fits the space, or says why not.
    fn check(&self, arch: &Arch) -> Result<()> {
        check_ranges(self.name(), self.decisions(), arch)
    }

    /// A uniform random valid architecture.
    fn sample(&self, rng: &mut dyn RngCore) -> Arch {
        loop {
            let choices = self
                .decisions()
                .iter()
                .map(|d| rng.random_range(0..d.arity().max(1)) as u32)
                .collect();
            let arch = Arch::new(choices);
            if self.check(&arch).is_ok() {
                return arch;
            }
        }
    }

    /// The parent with exactly one decision changed to a different option
    /// (Real et al. 2019): the changed decision is chosen uniformly among
    /// those with more than one option.
    fn mutate(&self, parent: &Arch, rng: &mut dyn RngCore) -> Arch {
        let mutable: Vec<usize> = (0..self.decisions().len())
            .filter(|&i| self.decisions()[i].arity() > 1)
            .collect();
        if mutable.is_empty() {
            return parent.clone();
        }
        loop {
            let position = mutable[rng.random_range(0..mutable.len())];
            let arity = self.decisions()[position].arity() as u32;
            let current = parent.0[position];
            // Draw from the arity-1 other values, so the child always differs.
            let mut value = rng.random_range(0..arity - 1);
            if value >= current {
                value += 1;
            }
            let mut child = parent.clone();
            child.0[position] = value;
            if self.check(&child).is_ok() {
                return child;
            }
        }
    }

    /// A canonical representative: architectures that compute the same
    /// function (isomorphic cells, dead edges) map to one key.
    fn canonical(&self, arch: &Arch) -> Arch {
        arch.clone()
    }

    /// The human genotype string; `parse(format(a)) == a` exactly.
    fn format(&self, arch: &Arch) -> String;

    /// Parses a genotype string, naming the position of any problem.
    fn parse(&self, text: &str) -> Result<Arch>;

    /// Multiply-accumulates of one forward pass (batch 1) when the space can
    /// count them analytically; lets strategies honour a MAC limit without
    /// knowing how networks are built.
    fn macs(&self, arch: &Arch) -> Option<u64> {
        let _ = arch;
        None
    }

    /// The number of architectures in the space (before canonicalisation),
    /// as a float because layer-wise spaces exceed 2^64.
    fn cardinality(&self) -> f64 {
        self.decisions().iter().map(|d| d.arity() as f64).product()
    }
}

/// Checks length and per-decision ranges: the validity every space shares.
pub fn check_ranges(space: &str, decisions: &[Decision], arch: &Arch) -> Result<()> {
    if arch.len() != decisions.len() {
        return Err(CoreError::InvalidArch {
            space: space.to_string(),
            reason: format!("expected {} decisions, got {}", decisions.len(), arch.len()),
        });
    }
    for (i, (choice, decision)) in arch.choices().iter().zip(decisions).enumerate() {
        if *choice as usize >= decision.arity() {
            return Err(CoreError::InvalidArch {
                space: space.to_string(),
                reason: format!(
                    "decision {i} (`{}`) has {} options, got choice {choice}",
                    decision.name,
                    decision.arity()
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Seed;

    /// A tiny space for tests: three decisions of arity 3, 1 and 4, where
    /// the architecture [2, 0, 3] is forbidden.
    #[derive(Debug)]
    pub struct ToySpace {
        decisions: Vec<Decision>,
    }

    impl ToySpace {
        pub fn new() -> Self {
            ToySpace {
                decisions: vec![
                    Decision::new("a", &["x", "y", "z"]),
                    Decision::new("b", &["only"]),
                    Decision::new("c", &["p", "q", "r", "s"]),
                ],
            }
        }
    }

    impl SearchSpace for ToySpace {
        fn name(&self) -> &str {
            "toy"
        }
        fn decisions(&self) -> &[Decision] {
            &self.decisions
        }
        fn check(&self, arch: &Arch) -> Result<()> {
            check_ranges("toy", &self.decisions, arch)?;
            if arch.choices() == [2, 0, 3] {
                return Err(CoreError::InvalidArch {
                    space: "toy".into(),
                    reason: "z with s is forbidden".into(),
                });
            }
            Ok(())
        }
        fn format(&self, arch: &Arch) -> String {
            arch.choices()
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(",")
        }
        fn parse(&self, text: &str) -> Result<Arch> {
            let choices = text
                .split(',')
                .map(|t| t.parse::<u32>())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| CoreError::Parse {
                    space: "toy".into(),
                    position: "?".into(),
                    reason: e.to_string(),
                })?;
            let arch = Arch::new(choices);
            self.check(&arch)?;
            Ok(arch)
        }
    }

    #[test]
    fn sample_is_valid_and_covers_space() {
        let space = ToySpace::new();
        let mut rng = Seed(1).rng();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            let arch = space.sample(&mut rng);
            assert!(space.check(&arch).is_ok());
            seen.insert(arch);
        }
        assert_eq!(seen.len(), 3 * 4 - 1, "all valid architectures appear");
        assert!((space.cardinality() - 12.0).abs() < 1e-9);
    }

    #[test]
    fn mutate_changes_exactly_one_decision() {
        let space = ToySpace::new();
        let mut rng = Seed(2).rng();
        for _ in 0..500 {
            let parent = space.sample(&mut rng);
            let child = space.mutate(&parent, &mut rng);
            let changed = parent
                .choices()
                .iter()
                .zip(child.choices())
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(changed, 1);
            assert_eq!(child.choices()[1], 0, "arity-1 decision never mutates");
            assert!(space.check(&child).is_ok());
        }
    }

    #[test]
    fn check_names_the_bad_decision() {
        let space = ToySpace::new();
        let err = space.check(&Arch::new(vec![0, 1, 0])).unwrap_err();
        assert!(err.to_string().contains("decision 1 (`b`)"), "{err}");
        let err = space.check(&Arch::new(vec![0])).unwrap_err();
        assert!(err.to_string().contains("expected 3 decisions"), "{err}");
    }
}
