//! Pieces shared by the controllers: differentiable log-softmax, ENAS logit
//! shaping and host-side sampling with the strategy's seeded RNG.

use candle_core::{Tensor, D};
use nasarena_core::SeedRng;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// ENAS logit shaping (Pham et al. 2018 code): `c * tanh(logits / T)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shaping {
    /// Temperature T dividing the logits first.
    pub temperature: f64,
    /// Constant c bounding the logits to [-c, c].
    pub tanh_constant: f64,
}

/// Applies optional shaping to a logits tensor.
pub fn shape_logits(logits: &Tensor, shaping: Option<Shaping>) -> candle_core::Result<Tensor> {
    match shaping {
        None => Ok(logits.clone()),
        Some(s) => (logits / s.temperature)?.tanh()? * s.tanh_constant,
    }
}

/// `x - logsumexp(x)` over the last dimension, built from differentiable
/// ops (candle's `softmax_last_dim` has no backward pass). The max is
/// detached: it only guards against overflow and cancels mathematically.
pub fn log_softmax(x: &Tensor) -> candle_core::Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let shifted = x.broadcast_sub(&max)?;
    let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    shifted.broadcast_sub(&lse)
}

/// Entropy `-sum p log p` over the last dimension, from log-probabilities.
pub fn entropy(logp: &Tensor) -> candle_core::Result<Tensor> {
    (logp.exp()? * logp)?.sum(D::Minus1)?.neg()
}

/// Draws an index from the softmax of `logits` on the host, in f64.
/// Returns the index and the entropy of the distribution.
pub fn sample_host(logits: &[f32], rng: &mut SeedRng) -> (u32, f64) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let weights: Vec<f64> = logits.iter().map(|&l| (l as f64 - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    let entropy = -weights
        .iter()
        .map(|w| w / total)
        .filter(|&p| p > 0.0)
        .map(|p| p * p.ln())
        .sum::<f64>();
    let u = rng.random::<f64>() * total;
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        if u < acc {
            return (i as u32, entropy);
        }
    }
    // Rounding can leave u == total: take the last option with weight.
    let last = weights.iter().rposition(|&w| w > 0.0).unwrap_or(0);
    (last as u32, entropy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use nasarena_core::Seed;

    #[test]
    fn log_softmax_matches_reference_and_has_gradient() {
        let x = Var::new(&[[0.3f32, -1.2, 2.0], [5.0, 5.0, -3.0]], &Device::Cpu).unwrap();
        let lp = log_softmax(x.as_tensor()).unwrap();
        let got = lp.to_vec2::<f32>().unwrap();
        for (row, xs) in got.iter().zip([[0.3f64, -1.2, 2.0], [5.0, 5.0, -3.0]]) {
            let lse = xs.iter().map(|v| v.exp()).sum::<f64>().ln();
            for (g, v) in row.iter().zip(xs) {
                assert!((*g as f64 - (v - lse)).abs() < 1e-5);
            }
        }
        // d/dx_j of logp_0 = [j == 0] - p_j.
        let loss = lp
            .narrow(0, 0, 1)
            .unwrap()
            .narrow(1, 0, 1)
            .unwrap()
            .sum_all()
            .unwrap();
        let grads = loss.backward().unwrap();
        let g = grads.get(x.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
        let p: Vec<f64> = {
            let e: Vec<f64> = [0.3f64, -1.2, 2.0].iter().map(|v| v.exp()).collect();
            let s: f64 = e.iter().sum();
            e.iter().map(|v| v / s).collect()
        };
        assert!((g[0][0] as f64 - (1.0 - p[0])).abs() < 1e-5);
        assert!((g[0][2] as f64 + p[2]).abs() < 1e-5);
        assert_eq!(g[1], vec![0.0, 0.0, 0.0]);
    }

    #[test]
    fn host_sampling_follows_probabilities() {
        let mut rng = Seed(3).rng();
        let logits = [0.0f32, (3.0f32).ln(), f32::NEG_INFINITY];
        let mut counts = [0usize; 3];
        for _ in 0..8000 {
            counts[sample_host(&logits, &mut rng).0 as usize] += 1;
        }
        assert_eq!(counts[2], 0);
        let frac = counts[1] as f64 / 8000.0;
        assert!((frac - 0.75).abs() < 0.02, "{frac}");
    }
}
