//! Robustness of the IDX and CIFAR parsers: mutated copies of valid files
//! (bit flips, byte overwrites, truncation, insertion, corrupted header
//! dimensions), plain and gzipped, must parse or fail with an error, never
//! panic or allocate absurdly. 20,000 cases run in the normal suite; the
//! ignored test runs 1,000,000:
//! `cargo test --release -p nasarena-datasets --test fuzz -- --ignored`.

// Test helpers outside #[test] fns may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use flate2::{write::GzEncoder, Compression};
use nasarena_core::{Seed, SeedRng};
use nasarena_datasets::cifar::{encode_records, parse_records, CifarKind, IMAGE_BYTES};
use nasarena_datasets::idx::{encode_images, encode_labels, parse_images, parse_labels};
use nasarena_datasets::idxset::from_idx_bytes;
use nasarena_datasets::io::decode_maybe_gzip;
use proptest::prelude::*;
use rand::Rng;
use std::io::Write;

fn gz(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn seeds() -> Vec<Vec<u8>> {
    let px: Vec<u8> = (0..3 * 6 * 5).map(|i| (i * 31 % 256) as u8).collect();
    let images = encode_images(3, 6, 5, &px);
    let labels = encode_labels(&[0, 9, 4]);
    let cpx: Vec<u8> = (0..2 * IMAGE_BYTES).map(|i| (i % 7) as u8).collect();
    let c10 = encode_records(&[(3, None), (9, None)], &cpx);
    let c100 = encode_records(&[(19, Some(99)), (0, Some(0))], &cpx);
    let mut all = vec![images, labels, c10, c100];
    let zipped: Vec<Vec<u8>> = all[..2].iter().map(|b| gz(b)).collect();
    all.extend(zipped);
    all.push(gz(&all[2][..IMAGE_BYTES + 1]));
    all
}

fn mutate(src: &[u8], rng: &mut SeedRng) -> Vec<u8> {
    let mut b = src.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = b.len().max(1);
        match rng.random_range(0..6) {
            0 => {
                let i = rng.random_range(0..len);
                if let Some(x) = b.get_mut(i) {
                    *x ^= 1 << rng.random_range(0..8);
                }
            }
            1 => {
                let i = rng.random_range(0..len);
                if let Some(x) = b.get_mut(i) {
                    *x = rng.random();
                }
            }
            2 => b.truncate(rng.random_range(0..len)),
            3 => {
                let i = rng.random_range(0..=b.len());
                let extra: Vec<u8> = (0..rng.random_range(1..9)).map(|_| rng.random()).collect();
                b.splice(i..i, extra);
            }
            4 => {
                // A random dimension: huge sizes must not allocate.
                let at = 4 * rng.random_range(1..4usize);
                if b.len() >= at + 4 {
                    b[at..at + 4].copy_from_slice(&rng.random::<u32>().to_be_bytes());
                }
            }
            _ => {
                let k = rng.random_range(0..len);
                b.drain(..k.min(b.len()));
            }
        }
    }
    b
}

/// Feeds one byte string to every parser; returns how many accepted it.
fn parse_all(bytes: &[u8], valid: &[Vec<u8>]) -> usize {
    let mut ok = 0;
    if let Ok(raw) = decode_maybe_gzip(bytes, "fuzz") {
        ok += usize::from(parse_images(&raw, "fuzz").is_ok());
        ok += usize::from(parse_labels(&raw, "fuzz").is_ok());
        for kind in [
            CifarKind::Ten,
            CifarKind::HundredFine,
            CifarKind::HundredCoarse,
        ] {
            let (mut p, mut l) = (Vec::new(), Vec::new());
            ok += usize::from(parse_records(&raw, kind, "fuzz", &mut p, &mut l).is_ok());
        }
    }
    // Pair the mutant with a valid partner file, in both roles.
    let (images, labels) = (&valid[0], &valid[1]);
    ok += usize::from(from_idx_bytes((bytes, "i"), (labels, "l"), "f", None).is_ok());
    ok += usize::from(from_idx_bytes((images, "i"), (bytes, "l"), "f", None).is_ok());
    ok
}

fn run(cases: u64) -> (u64, usize) {
    let seeds = seeds();
    let mut accepted = 0;
    for case in 0..cases {
        let mut rng = Seed(2024).derive("fuzz", case).rng();
        let src = &seeds[(case as usize) % seeds.len()];
        accepted += parse_all(&mutate(src, &mut rng), &seeds);
    }
    (cases, accepted)
}

#[test]
fn mutated_files_never_panic_20k() {
    let (cases, accepted) = run(20_000);
    // Some mutations (pixel bytes) keep files valid; most break them.
    assert!(
        accepted > 0 && (accepted as u64) < cases,
        "{accepted} of {cases}"
    );
}

#[test]
#[ignore = "a million cases: run explicitly"]
fn mutated_files_never_panic_1m() {
    let t = std::time::Instant::now();
    let (cases, accepted) = run(1_000_000);
    eprintln!(
        "{cases} cases, {accepted} parses accepted, {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64),
                                   header in 0usize..3) {
        // Prefix a valid magic number so the parsers get past the first check.
        let magic: &[u8] = [&[][..], &[0, 0, 8, 1][..], &[0, 0, 8, 3][..]][header];
        let data = [magic, &bytes].concat();
        parse_all(&data, &seeds());
    }
}
