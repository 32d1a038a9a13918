//! The logit-table policy of NAS-Bench-201's REINFORCE baseline (Dong &
//! Yang 2020): no LSTM, one row of logits per decision, decisions
//! independent. Rows are padded to the largest arity and the padding is
//! masked out, so decisions of different arity share one tensor.

use crate::reinforce::params::{Init, Params};
use crate::reinforce::policy::{entropy, log_softmax, sample_host, shape_logits, Shaping};
use candle_core::{DType, Device, Tensor, Var};
use nasarena_core::SeedRng;

/// Added to padded entries: far below any real logit, yet finite so no
/// NaN reaches the gradient.
const MASKED: f32 = -1e9;

/// The logit table.
#[derive(Debug)]
pub struct TablePolicy {
    arities: Vec<usize>,
    theta: Var,
    mask: Tensor,
    params: Params,
}

impl TablePolicy {
    /// A `(decisions, max arity)` table initialised `init_std * N(0, 1)`.
    pub fn new(arities: &[usize], init_std: f64, rng: &mut SeedRng) -> candle_core::Result<Self> {
        let width = arities.iter().copied().max().unwrap_or(1).max(1);
        let mut params = Params::new();
        let theta = params.add("theta", (arities.len(), width), Init::Normal(init_std), rng)?;
        let mask: Vec<f32> = arities
            .iter()
            .flat_map(|&a| (0..width).map(move |j| if j < a { 0.0 } else { MASKED }))
            .collect();
        let mask = Tensor::from_vec(mask, (arities.len(), width), &Device::Cpu)?;
        Ok(TablePolicy {
            arities: arities.to_vec(),
            theta,
            mask,
            params,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Shaping first, then the mask, so padding stays far below.
    fn logits(&self, shaping: Option<Shaping>) -> candle_core::Result<Tensor> {
        shape_logits(self.theta.as_tensor(), shaping)? + &self.mask
    }

    /// Samples each decision independently on the host.
    pub fn sample(
        &self,
        shaping: Option<Shaping>,
        rng: &mut SeedRng,
    ) -> candle_core::Result<(Vec<u32>, f64)> {
        let rows = self.logits(shaping)?.to_vec2::<f32>()?;
        let mut total_entropy = 0.0;
        let tokens = rows
            .iter()
            .zip(&self.arities)
            .map(|(row, &a)| {
                let (token, h) = sample_host(&row[..a], rng);
                total_entropy += h;
                token
            })
            .collect();
        Ok((tokens, total_entropy))
    }

    /// Log-probability and entropy of each sequence, shape `(B,)` each.
    pub fn log_prob(
        &self,
        sequences: &[Vec<u32>],
        shaping: Option<Shaping>,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let (batch, decisions) = (sequences.len(), self.arities.len());
        let logp = log_softmax(&self.logits(shaping)?)?;
        let flat: Vec<u32> = sequences.iter().flat_map(|s| s.iter().copied()).collect();
        let idx = Tensor::from_vec(flat, (batch, decisions, 1), &Device::Cpu)?;
        let width = logp.dim(1)?;
        let expanded = logp
            .unsqueeze(0)?
            .broadcast_as((batch, decisions, width))?
            .contiguous()?;
        let chosen = expanded.gather(&idx, 2)?.squeeze(2)?.sum(1)?;
        let ent = entropy(&logp)?
            .sum_all()?
            .broadcast_as(batch)?
            .to_dtype(DType::F32)?;
        Ok((chosen, ent))
    }
}
