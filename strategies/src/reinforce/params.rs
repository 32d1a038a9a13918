//! The controller's parameters: a candle `VarMap` filled from host values
//! drawn with our seeded RNG (candle's own RNG cannot be seeded), kept in a
//! fixed order so that optimiser state and saved vectors line up.

use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::VarMap;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use nasarena_core::SeedRng;

/// How to initialise one parameter on the host.
#[derive(Clone, Copy, Debug)]
pub enum Init {
    /// Uniform in [-r, r] (Zoph & Le 2017: r = 0.08).
    Uniform(f64),
    /// Normal with standard deviation s (NAS-Bench-201: s = 1e-3).
    Normal(f64),
}

/// Named parameters in creation order.
pub struct Params {
    varmap: VarMap,
    vars: Vec<(String, Var)>,
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.vars.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Params").field("vars", &names).finish()
    }
}

impl Params {
    /// An empty set.
    pub fn new() -> Self {
        Params {
            varmap: VarMap::new(),
            vars: Vec::new(),
        }
    }

    /// Adds a parameter initialised on the host from `rng`.
    pub fn add(
        &mut self,
        name: &str,
        shape: impl Into<Shape>,
        init: Init,
        rng: &mut SeedRng,
    ) -> candle_core::Result<Var> {
        let shape: Shape = shape.into();
        let values: Vec<f32> = (0..shape.elem_count())
            .map(|_| match init {
                Init::Uniform(r) => rng.random_range(-r..=r) as f32,
                Init::Normal(s) => {
                    let z: f64 = StandardNormal.sample(rng);
                    (s * z) as f32
                }
            })
            .collect();
        let var = Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu)?)?;
        self.varmap
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("controller VarMap lock poisoned".into()))?
            .insert(name.to_string(), var.clone());
        self.vars.push((name.to_string(), var.clone()));
        Ok(var)
    }

    /// The parameters in creation order.
    pub fn vars(&self) -> impl Iterator<Item = &Var> {
        self.vars.iter().map(|(_, v)| v)
    }

    /// The VarMap holding them by name.
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// All values as plain vectors, in creation order.
    pub fn to_host(&self) -> candle_core::Result<Vec<Vec<f32>>> {
        self.vars
            .iter()
            .map(|(_, v)| v.as_tensor().flatten_all()?.to_vec1::<f32>())
            .collect()
    }

    /// Overwrites all values from plain vectors (a saved state).
    pub fn set_from_host(&self, values: &[Vec<f32>]) -> candle_core::Result<()> {
        if values.len() != self.vars.len() {
            return Err(candle_core::Error::Msg(format!(
                "expected {} parameter tensors, got {}",
                self.vars.len(),
                values.len()
            )));
        }
        for ((name, var), v) in self.vars.iter().zip(values) {
            let shape = var.shape().clone();
            if v.len() != shape.elem_count() {
                return Err(candle_core::Error::Msg(format!(
                    "parameter `{name}` needs {} values, got {}",
                    shape.elem_count(),
                    v.len()
                )));
            }
            var.set(&Tensor::from_vec(v.clone(), shape, &Device::Cpu)?.to_dtype(DType::F32)?)?;
        }
        Ok(())
    }
}
