//! The genotype syntax of the layer-wise spaces (fbnet, squeezenas): the
//! chosen candidate of every searched layer, in layer order, separated by
//! commas, e.g. `k3_e1,k3_e6,skip,...`. Whitespace around a name is
//! ignored; `format` writes no whitespace, so `parse(format(a)) == a`.

use nasarena_core::{Arch, CoreError, Decision};

/// Writes an architecture as comma-separated candidate names; a choice out
/// of range (never produced by `parse` or the samplers) is written `?`.
pub(crate) fn format_layers(decisions: &[Decision], arch: &Arch) -> String {
    arch.choices()
        .iter()
        .zip(decisions)
        .map(|(&c, d)| d.options.get(c as usize).map_or("?", |s| s.as_str()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses comma-separated candidate names, one per decision. Errors name
/// the layer index and list the valid candidates.
pub(crate) fn parse_layers(
    space: &str,
    decisions: &[Decision],
    text: &str,
) -> nasarena_core::Result<Arch> {
    let tokens: Vec<&str> = text.split(',').map(str::trim).collect();
    if tokens.len() != decisions.len() {
        let (n, want) = (tokens.len(), decisions.len());
        let position = if n < want {
            format!("end of string (layer {n} missing)")
        } else {
            format!("layer {want} (past the last layer)")
        };
        let choices = decisions
            .first()
            .map(|d| d.options.join(", "))
            .unwrap_or_default();
        return Err(CoreError::Parse {
            space: space.to_string(),
            position,
            reason: format!(
                "expected {want} comma-separated candidates (one per searched layer), \
                 got {n}; each is one of: {choices}"
            ),
        });
    }
    let mut choices = Vec::with_capacity(tokens.len());
    for (i, (token, decision)) in tokens.iter().zip(decisions).enumerate() {
        let choice = decision.index_of(token).ok_or_else(|| CoreError::Parse {
            space: space.to_string(),
            position: format!("layer {i}"),
            reason: format!(
                "unknown candidate `{}`; valid candidates: {}",
                token.escape_debug(),
                decision.options.join(", ")
            ),
        })?;
        choices.push(choice);
    }
    Ok(Arch::new(choices))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decisions() -> Vec<Decision> {
        (0..3)
            .map(|i| Decision::new(format!("layer{i}"), &["a", "b", "skip"]))
            .collect()
    }

    #[test]
    fn round_trip_and_whitespace() {
        let d = decisions();
        let arch = parse_layers("t", &d, " a, skip ,b").expect("parse");
        assert_eq!(arch.choices(), &[0, 2, 1]);
        assert_eq!(format_layers(&d, &arch), "a,skip,b");
    }

    #[test]
    fn errors_name_layer_and_choices() {
        let d = decisions();
        let err = parse_layers("t", &d, "a,c,b").unwrap_err().to_string();
        assert!(err.contains("layer 1") && err.contains("`c`"), "{err}");
        assert!(err.contains("a, b, skip"), "{err}");
        let err = parse_layers("t", &d, "a,b").unwrap_err().to_string();
        assert!(err.contains("expected 3") && err.contains("got 2"), "{err}");
        assert!(
            err.contains("layer 2 missing") && err.contains("a, b, skip"),
            "{err}"
        );
        let err = parse_layers("t", &d, "a,b,a,a").unwrap_err().to_string();
        assert!(err.contains("layer 3 (past the last layer)"), "{err}");
        assert!(parse_layers("t", &d, "").is_err());
    }
}
