//! Architectures as plain values: one choice index per decision.

use serde::{Deserialize, Serialize};

/// A genotype: for each decision of a search space, the index of the chosen
/// option. A value type (hashable, ordered, serialisable), never a model.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Arch(pub Vec<u32>);

impl Arch {
    /// An architecture from its choice indices.
    pub fn new(choices: Vec<u32>) -> Self {
        Arch(choices)
    }

    /// The choice indices, in decision order.
    pub fn choices(&self) -> &[u32] {
        &self.0
    }

    /// The number of decisions.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the architecture has no decisions.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One decision of a search space: a name (for genotype strings, reports
/// and controller inputs) and the names of its options.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Where in the network this decision sits, e.g. `layer3` or `edge1<-0`.
    pub name: String,
    /// Option names, e.g. `k3_e6` or `nor_conv_3x3`; index = choice value.
    pub options: Vec<String>,
}

impl Decision {
    /// A decision from a name and option names.
    pub fn new(name: impl Into<String>, options: &[&str]) -> Self {
        Decision {
            name: name.into(),
            options: options.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The number of options.
    pub fn arity(&self) -> usize {
        self.options.len()
    }

    /// The index of an option by name.
    pub fn index_of(&self, option: &str) -> Option<u32> {
        self.options
            .iter()
            .position(|o| o == option)
            .and_then(|i| u32::try_from(i).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_serde_round_trip() {
        let arch = Arch::new(vec![3, 0, 8, 1]);
        let json = serde_json::to_string(&arch).expect("serialise");
        assert_eq!(json, "[3,0,8,1]");
        let back: Arch = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, arch);
    }

    #[test]
    fn arch_rejects_negative_choices() {
        assert!(serde_json::from_str::<Arch>("[1,-2]").is_err());
    }

    #[test]
    fn decision_lookup() {
        let d = Decision::new("layer0", &["k3_e1", "skip"]);
        assert_eq!(d.arity(), 2);
        assert_eq!(d.index_of("skip"), Some(1));
        assert_eq!(d.index_of("k5"), None);
    }
}
