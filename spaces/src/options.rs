//! `key=value` options of a space (`--opt input=1x28x28`, or a TOML table
//! in an experiment file), with errors that name the key.

use crate::{Error, Result};
use std::collections::BTreeMap;

/// The options given for one space. Each key must be taken exactly once by
/// the space's constructor; [`SpaceOptions::finish`] rejects leftovers, so
/// a typo never silently falls back to a default.
#[derive(Clone, Debug, Default)]
pub struct SpaceOptions {
    space: String,
    pairs: BTreeMap<String, String>,
}

impl SpaceOptions {
    /// Options for `space` from `key=value` strings.
    pub fn parse(space: &str, items: &[String]) -> Result<Self> {
        let mut pairs = BTreeMap::new();
        for item in items {
            let (key, value) = item.split_once('=').ok_or_else(|| Error::Option {
                space: space.to_string(),
                key: item.clone(),
                reason: "expected `key=value`".into(),
            })?;
            if pairs
                .insert(key.trim().to_string(), value.trim().to_string())
                .is_some()
            {
                return Err(Error::Option {
                    space: space.to_string(),
                    key: key.to_string(),
                    reason: "given more than once".into(),
                });
            }
        }
        Ok(SpaceOptions {
            space: space.to_string(),
            pairs,
        })
    }

    /// Options from already separated pairs.
    pub fn from_pairs(space: &str, pairs: BTreeMap<String, String>) -> Self {
        SpaceOptions {
            space: space.to_string(),
            pairs,
        }
    }

    fn error(&self, key: &str, reason: String) -> Error {
        Error::Option {
            space: self.space.clone(),
            key: key.to_string(),
            reason,
        }
    }

    /// The options not taken yet, as given.
    pub fn pairs(&self) -> &BTreeMap<String, String> {
        &self.pairs
    }

    /// Removes and returns the raw value of `key`.
    pub fn take(&mut self, key: &str) -> Option<String> {
        self.pairs.remove(key)
    }

    /// A positive integer option.
    pub fn take_usize(&mut self, key: &str, default: usize) -> Result<usize> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(self.error(key, format!("expected a positive integer, got `{v}`"))),
            },
        }
    }

    /// A positive finite float option.
    pub fn take_f64(&mut self, key: &str, default: f64) -> Result<f64> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
                _ => Err(self.error(key, format!("expected a positive number, got `{v}`"))),
            },
        }
    }

    /// A shape option written `CxHxW`, e.g. `input=3x224x224`.
    pub fn take_shape(&mut self, key: &str, default: [usize; 3]) -> Result<[usize; 3]> {
        let Some(v) = self.take(key) else {
            return Ok(default);
        };
        let parts: Vec<Option<usize>> = v
            .split('x')
            .map(|p| p.trim().parse::<usize>().ok().filter(|&n| n > 0))
            .collect();
        match parts.as_slice() {
            [Some(c), Some(h), Some(w)] => Ok([*c, *h, *w]),
            _ => Err(self.error(key, format!("expected CxHxW like 3x224x224, got `{v}`"))),
        }
    }

    /// Fails if any option was not taken, listing the accepted keys.
    pub fn finish(self, accepted: &[&str]) -> Result<()> {
        match self.pairs.keys().next() {
            None => Ok(()),
            Some(key) => Err(self.error(
                key,
                format!("unknown option; accepted: {}", accepted.join(", ")),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(items: &[&str]) -> Result<SpaceOptions> {
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        SpaceOptions::parse("fbnet", &items)
    }

    #[test]
    fn parses_and_takes_values() {
        let mut o = opts(&["input=1x28x28", "classes=10", "width=0.5"]).expect("parse");
        assert_eq!(
            o.take_shape("input", [3, 224, 224]).expect("shape"),
            [1, 28, 28]
        );
        assert_eq!(o.take_usize("classes", 1000).expect("classes"), 10);
        assert_eq!(o.take_usize("head", 1984).expect("default"), 1984);
        assert!((o.take_f64("width", 1.0).expect("width") - 0.5).abs() < 1e-12);
        o.finish(&["input", "classes", "head", "width"])
            .expect("all taken");
    }

    #[test]
    fn errors_name_the_key() {
        let err = opts(&["classes"]).unwrap_err().to_string();
        assert!(
            err.contains("`classes`") && err.contains("key=value"),
            "{err}"
        );
        let mut o = opts(&["classes=-3"]).expect("parse");
        let err = o.take_usize("classes", 10).unwrap_err().to_string();
        assert!(err.contains("`classes`") && err.contains("-3"), "{err}");
        let mut o = opts(&["input=3x224"]).expect("parse");
        assert!(o.take_shape("input", [3, 1, 1]).is_err());
        let o = opts(&["widht=2"]).expect("parse");
        let err = o.finish(&["width"]).unwrap_err().to_string();
        assert!(
            err.contains("`widht`") && err.contains("accepted: width"),
            "{err}"
        );
        assert!(opts(&["a=1", "a=2"]).is_err());
    }
}
