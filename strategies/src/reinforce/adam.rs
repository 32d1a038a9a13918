//! Adam (Kingma & Ba 2015) over the controller's parameters, with the
//! moments kept as plain host vectors.
//!
//! candle_nn's `AdamW` keeps its moments private (so they cannot be saved
//! for an exact resume) and applies weight decay by default, which the
//! REINFORCE papers do not use; this is plain Adam.

use crate::reinforce::params::Params;
use candle_core::backprop::GradStore;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// Adam hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamConfig {
    /// Step size.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator guard.
    pub eps: f64,
}

/// Adam's moments and step count.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AdamState {
    step: u64,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl AdamState {
    /// One Adam step on every parameter that has a gradient.
    pub fn step(
        &mut self,
        cfg: &AdamConfig,
        params: &Params,
        grads: &GradStore,
    ) -> candle_core::Result<()> {
        let sizes: Vec<usize> = params.vars().map(|v| v.elem_count()).collect();
        if self.m.len() != sizes.len() {
            self.m = sizes.iter().map(|&n| vec![0.0; n]).collect();
            self.v = self.m.clone();
        }
        self.step += 1;
        let t = self.step as i32;
        let (b1, b2) = (cfg.beta1 as f32, cfg.beta2 as f32);
        let c1 = 1.0 - cfg.beta1.powi(t) as f32;
        let c2 = 1.0 - cfg.beta2.powi(t) as f32;
        for (i, var) in params.vars().enumerate() {
            // A parameter outside the graph (e.g. the embedding of the last
            // decision, never fed back) has no gradient and keeps its moments.
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let g = g.flatten_all()?.to_vec1::<f32>()?;
            let mut w = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            let (m, v) = (&mut self.m[i], &mut self.v[i]);
            for k in 0..w.len() {
                m[k] = b1 * m[k] + (1.0 - b1) * g[k];
                v[k] = b2 * v[k] + (1.0 - b2) * g[k] * g[k];
                let m_hat = m[k] / c1;
                let v_hat = v[k] / c2;
                w[k] -= cfg.lr as f32 * m_hat / (v_hat.sqrt() + cfg.eps as f32);
            }
            var.set(&Tensor::from_vec(w, var.shape(), var.device())?)?;
        }
        Ok(())
    }
}
