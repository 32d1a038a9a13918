//! Property tests of the `macro` genotype syntax: exact round trips and a
//! parser that never panics.

use nasarena_core::{SearchSpace, Seed};
use nasarena_spaces::{MacroSpace, SpaceOptions};
use proptest::prelude::*;

fn space(strides: bool) -> MacroSpace {
    let items: Vec<String> = if strides {
        vec!["strides=3".into(), "layers=7".into()]
    } else {
        vec![]
    };
    MacroSpace::from_options(SpaceOptions::parse("macro", &items).expect("options")).expect("space")
}

proptest! {
    #[test]
    fn format_parse_round_trip(seed in any::<u64>(), strides in any::<bool>()) {
        let s = space(strides);
        let a = s.sample(&mut Seed(seed).rng());
        let text = s.format(&a);
        prop_assert_eq!(s.parse(&text).expect("own output parses"), a);
    }

    #[test]
    fn random_strings_never_panic(text in ".{0,120}", strides in any::<bool>()) {
        let _ = space(strides).parse(&text);
    }

    #[test]
    fn mutated_strings_never_panic(seed in any::<u64>(), at in 0usize..200, len in 0usize..6,
                                   insert in "[|:,x0-9s-]{0,4}", strides in any::<bool>()) {
        let s = space(strides);
        let text = s.format(&s.sample(&mut Seed(seed).rng()));
        let chars: Vec<char> = text.chars().collect();
        let at = at.min(chars.len());
        let end = (at + len).min(chars.len());
        let mutated: String = chars[..at].iter().copied()
            .chain(insert.chars())
            .chain(chars[end..].iter().copied())
            .collect();
        match s.parse(&mutated) {
            Ok(b) => prop_assert!(s.check(&b).is_ok()),
            Err(e) => prop_assert!(e.to_string().contains("macro")),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200_000))]
    /// The long version: `cargo test --release -p nasarena-spaces --test
    /// macro_genotype -- --ignored`.
    #[test]
    #[ignore = "long fuzz (200,000 cases)"]
    fn long_fuzz_never_panics(text in "[|:,x0-9s -]{0,80}", strides in any::<bool>()) {
        let _ = space(strides).parse(&text);
    }
}
