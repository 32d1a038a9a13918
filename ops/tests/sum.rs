//! Checks the parallel `add_n` against a chain of candle adds: the same
//! bits forward (each element is summed left to right either way) and the
//! same gradients, for two to five terms and for a term used twice.

// Test helpers may panic: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use candle_core::{Tensor, Var};
use nasarena_core::Seed;
use nasarena_ops::add_n;

mod common;

use common::random;

fn bits(t: &Tensor) -> Vec<u32> {
    let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
    v.iter().map(|f| f.to_bits()).collect()
}

/// Output and the variables' gradients (none for a variable no term
/// uses) of `sum(f(terms) * r)`; `picks[i]` says which variable is term
/// `i`.
fn run(
    f: fn(&[Tensor]) -> candle_core::Result<Tensor>,
    vars: &[Var],
    picks: &[usize],
    r: &Tensor,
) -> (Tensor, Vec<Option<Tensor>>) {
    let terms: Vec<Tensor> = picks.iter().map(|&i| vars[i].as_tensor().clone()).collect();
    let y = f(&terms).unwrap();
    let grads = (&y * r).unwrap().sum_all().unwrap().backward().unwrap();
    let grads = vars.iter().map(|v| grads.get(v).cloned()).collect();
    (y, grads)
}

fn chain(terms: &[Tensor]) -> candle_core::Result<Tensor> {
    terms[1..].iter().try_fold(terms[0].clone(), |s, t| s + t)
}

#[test]
fn add_n_is_bit_identical_to_chained_adds() {
    // 70,000 elements: more than two of the op's 32,768-element tasks.
    let dims = [2, 5, 70, 100];
    let seed = Seed(13).derive("ops-sum-test", 0);
    // Products of two draws: one draw's values are multiples of 2^-22,
    // whose sums are exact in any order; products round, so a sum in
    // another order would differ.
    let term = |i: u64| {
        let a = random(seed.derive("term-a", i), &dims);
        let b = random(seed.derive("term-b", i), &dims);
        Var::from_tensor(&((a * b).unwrap() * 3.7).unwrap()).unwrap()
    };
    let vars: Vec<Var> = (0..5).map(term).collect();
    let r = random(seed.derive("r", 0), &dims);
    let cases: &[&[usize]] = &[
        &[0, 1],
        &[0, 1, 2],
        &[0, 1, 2, 3],
        &[0, 1, 2, 3, 4],
        &[0, 1, 0],
    ];
    for picks in cases {
        let (y_want, g_want) = run(chain, &vars[..5], picks, &r);
        let (y, g) = run(add_n, &vars[..5], picks, &r);
        assert_eq!(bits(&y), bits(&y_want), "sum of terms {picks:?}");
        for (i, (got, want)) in g.iter().zip(&g_want).enumerate() {
            assert_eq!(
                got.as_ref().map(bits),
                want.as_ref().map(bits),
                "gradient of variable {i}, sum {picks:?}"
            );
        }
    }
}

#[test]
fn add_n_refuses_nothing_and_mismatched_shapes() {
    let a = random(Seed(1), &[2, 3]);
    let b = random(Seed(2), &[3, 2]);
    let err = add_n(&[]).unwrap_err().to_string();
    assert!(err.contains("nothing to sum"), "{err}");
    assert!(add_n(&[a, b]).is_err());
}
