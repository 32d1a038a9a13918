//! Property tests of the `cell` genotype syntax: exact round trips, and a
//! parser that answers every string with a value or an error, never a panic.

use nasarena_core::{Arch, SearchSpace};
use nasarena_spaces::{CellSpace, SpaceOptions};
use proptest::prelude::*;

fn space() -> CellSpace {
    CellSpace::from_options(SpaceOptions::default()).expect("space")
}

fn arch() -> impl Strategy<Value = Arch> {
    proptest::collection::vec(0u32..5, 6).prop_map(Arch::new)
}

proptest! {
    #[test]
    fn format_parse_round_trip(a in arch()) {
        let s = space();
        let text = s.format(&a);
        prop_assert_eq!(s.parse(&text).expect("own output parses"), a.clone());
        prop_assert_eq!(s.format(&s.canonical(&a)), s.format(&s.parse(&s.format(&s.canonical(&a))).expect("canonical parses")));
    }

    #[test]
    fn random_strings_never_panic(text in ".{0,120}") {
        let _ = space().parse(&text);
    }

    #[test]
    fn mutated_strings_never_panic(a in arch(), at in 0usize..200, len in 0usize..6, insert in "[|~+0-9a-z_]{0,4}") {
        let s = space();
        let text = s.format(&a);
        let chars: Vec<char> = text.chars().collect();
        let at = at.min(chars.len());
        let end = (at + len).min(chars.len());
        let mutated: String = chars[..at].iter().copied()
            .chain(insert.chars())
            .chain(chars[end..].iter().copied())
            .collect();
        match s.parse(&mutated) {
            Ok(b) => prop_assert!(s.check(&b).is_ok()),
            Err(e) => prop_assert!(e.to_string().contains("cell")),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200_000))]
    /// The long version: `cargo test --release -p nasarena-spaces --test
    /// cell_genotype -- --ignored`.
    #[test]
    #[ignore = "long fuzz (200,000 cases)"]
    fn long_fuzz_never_panics(text in "[|~+0-9a-z_ ]{0,120}") {
        let _ = space().parse(&text);
    }
}
