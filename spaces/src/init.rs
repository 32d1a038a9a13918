//! Reproducible weight initialisation on the host.
//!
//! candle's CPU RNG cannot be seeded, so [`SeededInit`] is a VarBuilder
//! backend that creates every variable from nasarena's own seeded RNG. Each
//! variable's values come from `seed.derive(name, 0)`, so they depend only
//! on the experiment seed and the variable's path, not on the order in
//! which layers are built. The distribution is the `Init` hint the layer
//! constructor passes (candle's `conv2d`/`linear` use Kaiming-style hints;
//! builders that want PyTorch's defaults pass `Uniform(+-1/sqrt(fan_in))`).

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::init::{FanInOut, NormalOrUniform};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};
use nasarena_core::{Seed, SeedRng};
use rand::Rng;

/// A VarBuilder backend that stores variables in a [`VarMap`] and
/// initialises new ones from a [`Seed`].
#[derive(Clone)]
pub struct SeededInit {
    varmap: VarMap,
    seed: Seed,
}

impl std::fmt::Debug for SeededInit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeededInit")
            .field("seed", &self.seed)
            .finish()
    }
}

impl SeededInit {
    /// A backend writing into `varmap`, initialising from `seed`.
    pub fn new(varmap: VarMap, seed: Seed) -> Self {
        SeededInit { varmap, seed }
    }

    /// A VarBuilder over a fresh backend.
    pub fn var_builder(varmap: &VarMap, seed: Seed, device: &Device) -> VarBuilder<'static> {
        VarBuilder::from_backend(
            Box::new(SeededInit::new(varmap.clone(), seed)),
            DType::F32,
            device.clone(),
        )
    }
}

/// Host values for an init hint, drawn from `rng`.
pub fn host_values(init: Init, shape: &Shape, rng: &mut SeedRng) -> Vec<f32> {
    let n = shape.elem_count();
    match init {
        Init::Const(v) => vec![v as f32; n],
        Init::Uniform { lo, up } => uniform(n, lo, up, rng),
        Init::Randn { mean, stdev } => normal(n, mean, stdev, rng),
        Init::Kaiming {
            dist,
            fan,
            non_linearity,
        } => {
            let fan = match fan {
                FanInOut::FanIn | FanInOut::FanOut => fan.for_shape(shape),
            };
            let std = non_linearity.gain() / (fan.max(1) as f64).sqrt();
            match dist {
                NormalOrUniform::Uniform => {
                    let bound = 3f64.sqrt() * std;
                    uniform(n, -bound, bound, rng)
                }
                NormalOrUniform::Normal => normal(n, 0.0, std, rng),
            }
        }
    }
}

fn uniform(n: usize, lo: f64, up: f64, rng: &mut SeedRng) -> Vec<f32> {
    (0..n)
        .map(|_| (lo + (up - lo) * rng.random::<f64>()) as f32)
        .collect()
}

/// Box-Muller transform: two uniforms give one standard normal (the second
/// is discarded so every element consumes exactly two draws).
fn normal(n: usize, mean: f64, stdev: f64, rng: &mut SeedRng) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let u1: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
            let u2: f64 = rng.random::<f64>();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            (mean + stdev * z) as f32
        })
        .collect()
}

impl SimpleBackend for SeededInit {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        let mut data = self
            .varmap
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("variable map lock poisoned".into()))?;
        if let Some(existing) = data.get(name) {
            if existing.shape() != &s {
                candle_core::bail!(
                    "variable `{name}` exists with shape {:?}, requested {:?}",
                    existing.shape(),
                    s
                );
            }
            return Ok(existing.as_tensor().clone());
        }
        let mut rng = self.seed.derive(name, 0).rng();
        let values = host_values(h, &s, &mut rng);
        let tensor = Tensor::from_vec(values, s, dev)?.to_dtype(dtype)?;
        let var = Var::from_tensor(&tensor)?;
        let out = var.as_tensor().clone();
        data.insert(name.to_string(), var);
        Ok(out)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        candle_core::bail!("variable `{name}` must be created with a shape and an init hint")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.varmap
            .data()
            .lock()
            .map(|d| d.contains_key(name))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(seed: u64) -> (VarMap, Vec<f32>, Vec<f32>) {
        let varmap = VarMap::new();
        let vb = SeededInit::var_builder(&varmap, Seed(seed), &Device::Cpu);
        let conv = candle_nn::conv2d(3, 8, 3, Default::default(), vb.pp("conv")).expect("conv");
        let lin = candle_nn::linear(8, 4, vb.pp("fc")).expect("linear");
        let w1 = conv
            .weight()
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .expect("w1");
        let w2 = lin
            .weight()
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .expect("w2");
        (varmap, w1, w2)
    }

    #[test]
    fn same_seed_gives_identical_weights() {
        let (_, a1, a2) = build(5);
        let (_, b1, b2) = build(5);
        assert_eq!(a1, b1);
        assert_eq!(a2, b2);
        let (_, c1, _) = build(6);
        assert_ne!(a1, c1);
    }

    #[test]
    fn values_follow_the_hint() {
        let mut rng = Seed(1).rng();
        let shape = Shape::from((20_000,));
        let u = host_values(Init::Uniform { lo: -0.5, up: 0.5 }, &shape, &mut rng);
        assert!(u.iter().all(|v| (-0.5..0.5).contains(v)));
        let n = host_values(
            Init::Randn {
                mean: 1.0,
                stdev: 2.0,
            },
            &shape,
            &mut rng,
        );
        let mean = n.iter().map(|&v| v as f64).sum::<f64>() / n.len() as f64;
        let var = n.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n.len() as f64;
        assert!((mean - 1.0).abs() < 0.05, "mean {mean}");
        assert!((var.sqrt() - 2.0).abs() < 0.05, "std {}", var.sqrt());
    }

    #[test]
    fn variables_are_registered_in_the_varmap() {
        let (varmap, w1, _) = build(3);
        assert_eq!(varmap.all_vars().len(), 4, "conv w+b and linear w+b");
        assert_eq!(w1.len(), 8 * 3 * 3 * 3);
    }
}
