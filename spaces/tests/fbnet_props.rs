//! Property tests of the layer-wise genotype syntax (fbnet, squeezenas):
//! exact round trips over random architectures, and a parser that never
//! panics on random or mutated strings.

use nasarena_core::{Arch, SearchSpace};
use nasarena_spaces::fbnet::presets;
use nasarena_spaces::squeezenas::variants;
use nasarena_spaces::{FbnetSpace, SqueezeNasSpace};
use proptest::prelude::*;

fn spaces() -> Vec<Box<dyn SearchSpace>> {
    vec![
        Box::new(FbnetSpace::paper()),
        Box::new(FbnetSpace::with_defaults(presets::SMALL_28)),
        Box::new(SqueezeNasSpace::with_defaults(variants::SMALL)),
        Box::new(SqueezeNasSpace::with_defaults(variants::LARGE)),
        Box::new(SqueezeNasSpace::with_defaults(variants::XLARGE)),
    ]
}

/// A random architecture of space `which`, from raw indices.
fn arch_of(space: &dyn SearchSpace, raw: &[u32]) -> Arch {
    let choices = space
        .decisions()
        .iter()
        .zip(raw.iter().cycle())
        .map(|(d, &r)| r % d.arity() as u32)
        .collect();
    Arch::new(choices)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn genotype_round_trips(which in 0usize..5, raw in prop::collection::vec(any::<u32>(), 22)) {
        let spaces = spaces();
        let space = spaces[which].as_ref();
        let arch = arch_of(space, &raw);
        let text = space.format(&arch);
        prop_assert_eq!(space.parse(&text).expect("own format parses"), arch.clone());
        prop_assert!(space.macs(&arch).is_some());
    }

    #[test]
    fn parser_never_panics_on_random_text(which in 0usize..5, text in "\\PC{0,400}") {
        let spaces = spaces();
        let _ = spaces[which].parse(&text);
    }

    #[test]
    fn parser_rejects_or_accepts_mutations_cleanly(
        which in 0usize..5,
        raw in prop::collection::vec(any::<u32>(), 22),
        cut in any::<prop::sample::Index>(),
        insert in "[a-z0-9_, ]{0,6}",
        drop in 0usize..8,
    ) {
        let spaces = spaces();
        let space = spaces[which].as_ref();
        let text = space.format(&arch_of(space, &raw));
        let chars: Vec<char> = text.chars().collect();
        let at = cut.index(chars.len() + 1);
        let end = (at + drop).min(chars.len());
        let mutated: String = chars[..at].iter().chain(insert.chars().collect::<Vec<_>>().iter())
            .chain(chars[end..].iter()).collect();
        match space.parse(&mutated) {
            // Whatever parses is a valid architecture that formats back to
            // the canonical (whitespace-free) form of the same text.
            Ok(arch) => {
                prop_assert!(space.check(&arch).is_ok());
                let canonical: String = mutated.split(',').map(str::trim).collect::<Vec<_>>().join(",");
                prop_assert_eq!(space.format(&arch), canonical);
            }
            Err(e) => prop_assert!(e.to_string().contains("layer"), "{}", e),
        }
    }
}

/// A longer fuzz run: `cargo test --release -p nasarena-spaces --test
/// fbnet_props -- --ignored`.
#[test]
#[ignore]
fn parser_fuzz_long() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 200_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let spaces = spaces();
    runner
        .run(&(0usize..5, "\\PC{0,600}"), |(which, text)| {
            let _ = spaces[which].parse(&text);
            Ok(())
        })
        .expect("no panics");
}
