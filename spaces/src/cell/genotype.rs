//! The NAS-Bench-201 genotype string (Dong & Yang 2020), the syntax the
//! community pastes from papers and the official API:
//!
//! ```text
//! |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|
//! ```
//!
//! One `+`-separated group per intermediate node (1, 2, 3); node `j` lists
//! its `j` incoming edges as `|op~source|`. [`format`] writes the sources in
//! increasing order, which is also the decision order of the space:
//! edges 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2. [`parse`] accepts the entries
//! of a node in any order (each source exactly once), ignores whitespace
//! around the whole string, and reports problems by node, entry and
//! character offset (0-based, in the string as given).

use nasarena_core::{Arch, CoreError};

/// The five operations, in option order.
pub const OPS: [&str; 5] = [
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
];

/// The six edges `(to, from)` in decision order.
pub const EDGES: [(usize, usize); 6] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];

/// The decision index of edge `to <- from`.
pub fn edge_index(to: usize, from: usize) -> Option<usize> {
    EDGES.iter().position(|&e| e == (to, from))
}

/// The genotype string of a (valid, 6-decision) architecture.
pub fn format(arch: &Arch) -> String {
    let mut out = String::new();
    for node in 1..=3 {
        if node > 1 {
            out.push('+');
        }
        out.push('|');
        for from in 0..node {
            let op = edge_index(node, from)
                .and_then(|d| arch.choices().get(d))
                .and_then(|&c| OPS.get(c as usize))
                .copied()
                .unwrap_or("?");
            out.push_str(op);
            out.push('~');
            out.push_str(&from.to_string());
            out.push('|');
        }
    }
    out
}

fn error(position: String, reason: String) -> CoreError {
    CoreError::Parse {
        space: "cell".into(),
        position,
        reason,
    }
}

const EXAMPLE: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";

/// Parses a genotype string into an architecture.
pub fn parse(text: &str) -> Result<Arch, CoreError> {
    let lead = text.len() - text.trim_start().len();
    let body = text.trim();
    let groups: Vec<(usize, &str)> = split_with_offsets(body, '+', lead);
    if groups.len() != 3 {
        return Err(error(
            format!("character {lead}"),
            format!(
                "expected 3 node groups separated by `+`, found {}; example: {EXAMPLE}",
                groups.len()
            ),
        ));
    }
    let mut choices: [Option<u32>; 6] = [None; 6];
    for (k, (offset, group)) in groups.into_iter().enumerate() {
        parse_node(k + 1, offset, group, &mut choices)?;
    }
    let choices = choices
        .iter()
        .map(|c| c.ok_or_else(|| error("end".into(), "an edge is missing".into())))
        .collect::<Result<Vec<u32>, _>>()?;
    Ok(Arch::new(choices))
}

/// Splits `s` on `sep`, returning each piece with its absolute offset.
fn split_with_offsets(s: &str, sep: char, base: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, ch) in s.char_indices() {
        if ch == sep {
            out.push((base + start, &s[start..i]));
            start = i + ch.len_utf8();
        }
    }
    out.push((base + start, &s[start..]));
    out
}

fn parse_node(
    node: usize,
    offset: usize,
    group: &str,
    choices: &mut [Option<u32>; 6],
) -> Result<(), CoreError> {
    let at = |off: usize| format!("node {node} (character {off})");
    if !group.starts_with('|') || !group.ends_with('|') || group.len() < 2 {
        return Err(error(
            at(offset),
            format!("a node group must look like `|op~source|...|`, got `{group}`"),
        ));
    }
    let inner = &group[1..group.len() - 1];
    let entries = split_with_offsets(inner, '|', offset + 1);
    if entries.len() != node {
        return Err(error(
            at(offset),
            format!(
                "node {node} takes exactly {node} incoming edge(s) (sources 0..{}), found {}",
                node - 1,
                entries.len()
            ),
        ));
    }
    for (e, (off, entry)) in entries.into_iter().enumerate() {
        let place = format!("node {node}, edge {} (character {off})", e + 1);
        let Some((op, source)) = entry.split_once('~') else {
            return Err(error(place, format!("expected `op~source`, got `{entry}`")));
        };
        let from = match source.parse::<usize>() {
            Ok(f) if f < node && source.bytes().all(|b| b.is_ascii_digit()) => f,
            _ => {
                return Err(error(
                    place,
                    format!(
                        "source `{source}` must be a node number below {node} (0..{})",
                        node - 1
                    ),
                ))
            }
        };
        let Some(op_index) = OPS.iter().position(|&o| o == op) else {
            return Err(error(
                place,
                format!("unknown op `{op}`; valid ops: {}", OPS.join(", ")),
            ));
        };
        let Some(d) = edge_index(node, from) else {
            return Err(error(place, format!("no edge {node}<-{from}")));
        };
        if choices[d].is_some() {
            return Err(error(place, format!("edge {node}<-{from} is given twice")));
        }
        choices[d] = Some(op_index as u32);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_round_trips() {
        let arch = parse(EXAMPLE).expect("parse");
        assert_eq!(arch.choices(), &[3, 3, 4, 1, 3, 1]);
        assert_eq!(format(&arch), EXAMPLE);
    }

    #[test]
    fn entries_in_any_order_and_whitespace() {
        let text = "  |none~0|+|skip_connect~1|none~0|+|none~2|none~1|none~0| ";
        let arch = parse(text).expect("parse");
        assert_eq!(arch.choices(), &[0, 0, 1, 0, 0, 0]);
    }

    #[test]
    fn errors_name_the_position_and_the_choices() {
        let bad = "|nor_conv_3x3~0|+|nor_conv_5x5~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";
        let err = parse(bad).unwrap_err().to_string();
        assert!(err.contains("node 2, edge 1 (character 18)"), "{err}");
        assert!(
            err.contains("nor_conv_5x5") && err.contains("avg_pool_3x3"),
            "{err}"
        );
        let err = parse("|none~0|+|none~0|+|none~0|").unwrap_err().to_string();
        assert!(err.contains("node 2") && err.contains("exactly 2"), "{err}");
        let err = parse("|none~0|").unwrap_err().to_string();
        assert!(err.contains("3 node groups"), "{err}");
        let err = parse("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("node 1, edge 1") && err.contains("below 1"),
            "{err}"
        );
        let err = parse("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|")
            .unwrap_err()
            .to_string();
        assert!(err.contains("given twice"), "{err}");
        assert!(parse("|none~+0|+|none~0|none~1|+|none~0|none~1|none~2|").is_err());
    }
}
