//! Shared configuration pieces: validation helpers, the objective (reward)
//! config every ranking strategy embeds, and preset + override merging.

use crate::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Which scalar a strategy ranks architectures by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reward {
    /// Validation accuracy alone.
    Accuracy,
    /// MnasNet (Tan et al. 2019): `acc * (MACs / target_macs)^exponent`.
    Mnas {
        /// The MAC count at which the penalty factor is 1.
        target_macs: u64,
        /// The exponent `w`; the paper's soft constraint uses -0.07.
        #[serde(default = "default_mnas_exponent")]
        exponent: f64,
    },
}

fn default_mnas_exponent() -> f64 {
    -0.07
}

fn default_limit_retries() -> u32 {
    1000
}

/// The objective of a search: the reward and an optional hard MAC limit.
///
/// Architectures over `mac_limit` are never proposed: every strategy draws
/// its proposal again (rejection sampling, at most `limit_retries` draws)
/// until `SearchSpace::macs` is within the limit. We reject rather than
/// penalise because the limit is hard: an over-limit network is useless
/// whatever its accuracy, so evaluating it would spend budget on a
/// certain loss, while the analytic MAC count makes rejection nearly free.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveConfig {
    /// The scalar fitness.
    #[serde(default = "default_reward")]
    pub reward: Reward,
    /// Hard limit on multiply-accumulates of one forward pass.
    #[serde(default)]
    pub mac_limit: Option<u64>,
    /// Draws per proposal before giving up on the MAC limit.
    #[serde(default = "default_limit_retries")]
    pub limit_retries: u32,
}

fn default_reward() -> Reward {
    Reward::Accuracy
}

impl Default for ObjectiveConfig {
    fn default() -> Self {
        ObjectiveConfig {
            reward: Reward::Accuracy,
            mac_limit: None,
            limit_retries: default_limit_retries(),
        }
    }
}

impl ObjectiveConfig {
    /// Checks ranges; errors name the field.
    pub fn validate(&self, strategy: &str) -> Result<()> {
        if let Reward::Mnas {
            target_macs,
            exponent,
        } = &self.reward
        {
            if *target_macs == 0 {
                return Err(Error::config(
                    strategy,
                    "objective.reward.target_macs",
                    "must be positive",
                ));
            }
            finite(strategy, "objective.reward.exponent", *exponent)?;
        }
        if self.mac_limit == Some(0) {
            return Err(Error::config(
                strategy,
                "objective.mac_limit",
                "must be positive",
            ));
        }
        if self.limit_retries == 0 {
            return Err(Error::config(
                strategy,
                "objective.limit_retries",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// Rejects non-finite numbers.
pub(crate) fn finite(strategy: &str, field: &str, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::config(
            strategy,
            field,
            format!("must be finite, got {value}"),
        ))
    }
}

/// Requires a probability in [0, 1].
pub(crate) fn unit_interval(strategy: &str, field: &str, value: f64) -> Result<()> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::config(
            strategy,
            field,
            format!("must be in [0, 1], got {value}"),
        ))
    }
}

/// Requires a positive finite number.
pub(crate) fn positive(strategy: &str, field: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            strategy,
            field,
            format!("must be positive and finite, got {value}"),
        ))
    }
}

/// Requires an integer of at least `min`.
pub(crate) fn at_least(strategy: &str, field: &str, value: usize, min: usize) -> Result<()> {
    if value >= min {
        Ok(())
    } else {
        Err(Error::config(
            strategy,
            field,
            format!("must be at least {min}, got {value}"),
        ))
    }
}

/// A preset with user overrides merged in, read into the typed config.
/// Overrides are a JSON object; nested objects merge key by key, so
/// `{"objective": {"mac_limit": 5}}` keeps the preset's reward. Unknown keys
/// are rejected by the config's `deny_unknown_fields`.
pub fn merge_overrides<C>(strategy: &str, preset: &C, overrides: &serde_json::Value) -> Result<C>
where
    C: Serialize + DeserializeOwned,
{
    let syntax = |reason: String| Error::ConfigSyntax {
        strategy: strategy.to_string(),
        reason,
    };
    let mut base = serde_json::to_value(preset).map_err(|e| syntax(e.to_string()))?;
    match overrides {
        serde_json::Value::Null => {}
        serde_json::Value::Object(_) => merge(&mut base, overrides),
        other => {
            return Err(syntax(format!(
                "overrides must be a table/object of fields, got {other}"
            )))
        }
    }
    serde_json::from_value(base).map_err(|e| syntax(e.to_string()))
}

fn merge(base: &mut serde_json::Value, patch: &serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (key, value) in p {
                match b.get_mut(key) {
                    // A reward patch with a new kind replaces the whole reward.
                    Some(slot) if value.get("kind").is_none() => merge(slot, value),
                    _ => {
                        b.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (slot, value) => *slot = value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objective_parses_and_rejects_unknown_fields() {
        let o: ObjectiveConfig = serde_json::from_value(serde_json::json!({
            "reward": {"kind": "mnas", "target_macs": 1000}, "mac_limit": 5000
        }))
        .unwrap();
        assert_eq!(
            o.reward,
            Reward::Mnas {
                target_macs: 1000,
                exponent: -0.07
            }
        );
        let bad = serde_json::from_value::<ObjectiveConfig>(serde_json::json!({"mac_limt": 5}));
        assert!(bad.unwrap_err().to_string().contains("mac_limt"));
        let bad = serde_json::from_value::<ObjectiveConfig>(serde_json::json!({
            "reward": {"kind": "mnas", "target_macs": 1, "w": 0.1}
        }));
        assert!(bad.is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let o = ObjectiveConfig {
            mac_limit: Some(0),
            ..ObjectiveConfig::default()
        };
        let err = o.validate("random").unwrap_err().to_string();
        assert!(err.contains("objective.mac_limit"), "{err}");
    }

    #[test]
    fn overrides_merge_nested() {
        let base = ObjectiveConfig {
            reward: Reward::Mnas {
                target_macs: 10,
                exponent: -0.07,
            },
            ..ObjectiveConfig::default()
        };
        let merged: ObjectiveConfig =
            merge_overrides("x", &base, &serde_json::json!({"mac_limit": 7})).unwrap();
        assert_eq!(merged.mac_limit, Some(7));
        assert_eq!(merged.reward, base.reward);
        let err = merge_overrides("x", &base, &serde_json::json!([1])).unwrap_err();
        assert!(err.to_string().contains("overrides must be"), "{err}");
    }
}
