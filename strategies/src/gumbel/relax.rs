//! Continuous relaxations of a categorical choice, with gradients in candle:
//! plain softmax (DARTS, Liu et al. 2019), Gumbel-Softmax (Jang et al.
//! 2017; Maddison et al. 2017) and its straight-through hard variant (the
//! forward value is one-hot, the gradient is the soft sample's; GDAS, Dong
//! & Yang 2019).
//!
//! candle's `sampling::gumbel_softmax` returns indices (no gradient) and
//! `ops::softmax_last_dim` has no backward, so the softmax here is composed
//! of differentiable primitives. The Gumbel noise comes from the caller's
//! seeded RNG, never from candle's (unseedable) CPU generator.

use candle_core::{DType, Result, Tensor};
use rand::Rng;

/// Row-wise softmax of a `(rows, arity)` tensor, differentiable.
pub fn softmax_rows(x: &Tensor) -> Result<Tensor> {
    // Subtracting the (constant) row maximum changes nothing but overflow.
    let max = x.max_keepdim(1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(1)?)
}

/// Standard Gumbel noise `-ln(-ln u)`, `u` uniform in the open interval.
pub fn gumbel_noise(rows: usize, arity: usize, rng: &mut impl Rng) -> Vec<f32> {
    (0..rows * arity)
        .map(|_| {
            let u: f64 = rng.random::<f64>().clamp(1e-12, 1.0 - 1e-12);
            (-(-u.ln()).ln()) as f32
        })
        .collect()
}

/// Mixing weights `(rows, arity)` from logits `theta` `(1, arity)`:
/// `softmax((theta + g) / tau)` with `g` the noise (`None`: plain softmax,
/// one row), made one-hot in value with the soft gradient when `hard`.
pub fn relax(theta: &Tensor, noise: Option<&Tensor>, tau: f64, hard: bool) -> Result<Tensor> {
    let logits = match noise {
        Some(g) => g.broadcast_add(theta)?,
        None => theta.clone(),
    };
    let soft = softmax_rows(&(logits / tau)?)?;
    if !hard {
        return Ok(soft);
    }
    let (rows, arity) = soft.dims2()?;
    let picks: Vec<u32> = soft.argmax(1)?.to_vec1()?;
    let mut one_hot = vec![0f32; rows * arity];
    for (r, &p) in picks.iter().enumerate() {
        one_hot[r * arity + p as usize] = 1.0;
    }
    let one_hot =
        Tensor::from_vec(one_hot, (rows, arity), soft.device())?.to_dtype(soft.dtype())?;
    // Value: exactly the one-hot (x - s + s == x for the zeros); gradient:
    // the soft sample's.
    (one_hot - soft.detach())? + soft
}

/// Probabilities `softmax(theta)` of one decision as host values.
pub fn probabilities(theta: &Tensor) -> Result<Vec<f64>> {
    let p = softmax_rows(&theta.to_dtype(DType::F64)?)?;
    p.flatten_all()?.to_vec1::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use nasarena_core::{entropy, Seed};

    fn weighted_sum(theta: &[f64], noise: &[f64], tau: f64, hard: bool) -> (f64, Vec<f64>) {
        let dev = Device::Cpu;
        let n = theta.len();
        let theta = Var::from_vec(theta.to_vec(), (1, n), &dev).expect("theta");
        let rows = noise.len() / n;
        let g = Tensor::from_vec(noise.to_vec(), (rows, n), &dev).expect("noise");
        let y = relax(theta.as_tensor(), Some(&g), tau, hard).expect("relax");
        let coef: Vec<f64> = (0..rows * n).map(|i| 0.3 + (i * 7 % 5) as f64).collect();
        let c = Tensor::from_vec(coef, (rows, n), &dev).expect("coef");
        let f = (y * c).and_then(|t| t.sum_all()).expect("f");
        let grads = f.backward().expect("backward");
        let g: Vec<f64> = grads
            .get(theta.as_tensor())
            .expect("grad")
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .expect("g");
        (f.to_scalar::<f64>().expect("value"), g)
    }

    fn noise(rows: usize, n: usize) -> Vec<f64> {
        gumbel_noise(rows, n, &mut Seed(4).rng())
            .into_iter()
            .map(f64::from)
            .collect()
    }

    /// Soft Gumbel-Softmax: autograd against central differences, one row
    /// and per-image rows.
    #[test]
    fn soft_gradient_matches_finite_differences() {
        let theta = [0.3, -0.2, 0.9, 0.0, 0.5];
        for rows in [1, 3] {
            let g = noise(rows, 5);
            let (_, grad) = weighted_sum(&theta, &g, 0.7, false);
            for i in 0..5 {
                let (mut p, mut m) = (theta, theta);
                p[i] += 1e-6;
                m[i] -= 1e-6;
                let fd = (weighted_sum(&p, &g, 0.7, false).0 - weighted_sum(&m, &g, 0.7, false).0)
                    / 2e-6;
                assert!((fd - grad[i]).abs() < 1e-6, "{i}: {fd} vs {}", grad[i]);
            }
        }
    }

    /// Straight-through: the value is one-hot at the soft sample's argmax
    /// and the gradient is the soft sample's (finite differences of the
    /// soft sum).
    #[test]
    fn straight_through_is_one_hot_with_the_soft_gradient() {
        let theta = [0.3, -0.2, 0.9, 0.0, 0.5];
        let g = noise(2, 5);
        let (_, hard_grad) = weighted_sum(&theta, &g, 1.5, true);
        for i in 0..5 {
            let (mut p, mut m) = (theta, theta);
            p[i] += 1e-6;
            m[i] -= 1e-6;
            let fd =
                (weighted_sum(&p, &g, 1.5, false).0 - weighted_sum(&m, &g, 1.5, false).0) / 2e-6;
            assert!(
                (fd - hard_grad[i]).abs() < 1e-6,
                "{i}: {fd} vs {}",
                hard_grad[i]
            );
        }
        let dev = Device::Cpu;
        let t = Tensor::from_vec(theta.to_vec(), (1, 5), &dev).expect("t");
        let gt = Tensor::from_vec(g.clone(), (2, 5), &dev).expect("g");
        let y: Vec<Vec<f64>> = relax(&t, Some(&gt), 1.5, true)
            .and_then(|y| y.to_vec2())
            .expect("y");
        for row in &y {
            assert_eq!(row.iter().filter(|&&v| v == 0.0).count(), 4, "{row:?}");
            assert!(row.iter().any(|&v| (v - 1.0).abs() < 1e-12), "{row:?}");
        }
    }

    /// The Gumbel-max trick: the argmax of theta + g is distributed as
    /// softmax(theta).
    #[test]
    fn gumbel_argmax_follows_the_softmax() {
        let theta = [1.0f64, 0.0, -1.0];
        let mut rng = Seed(8).rng();
        let mut counts = [0usize; 3];
        let trials = 20_000;
        for _ in 0..trials {
            let g = gumbel_noise(1, 3, &mut rng);
            let best = (0..3)
                .max_by(|&a, &b| {
                    (theta[a] + f64::from(g[a])).total_cmp(&(theta[b] + f64::from(g[b])))
                })
                .expect("max");
            counts[best] += 1;
        }
        let z: f64 = theta.iter().map(|t| t.exp()).sum();
        for i in 0..3 {
            let want = theta[i].exp() / z;
            let got = counts[i] as f64 / trials as f64;
            assert!((got - want).abs() < 0.015, "{i}: {got} vs {want}");
        }
    }

    #[test]
    fn entropy_of_uniform_is_log_n() {
        let dev = Device::Cpu;
        let t = Tensor::zeros((1, 4), DType::F32, &dev).expect("t");
        let p = probabilities(&t).expect("p");
        assert!((entropy(&p) - 4f64.ln()).abs() < 1e-9);
    }
}
