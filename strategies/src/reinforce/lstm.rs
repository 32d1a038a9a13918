//! The autoregressive LSTM controller of Zoph & Le 2017 ("Neural
//! Architecture Search with Reinforcement Learning"), also used by ENAS
//! (Pham et al. 2018).
//!
//! A learned start vector is fed to a stack of LSTM cells; at decision t a
//! linear head of that decision's arity gives logits, a token is sampled
//! and its embedding (one embedding table per decision) is the next input.
//! Separate heads and embeddings make variable arity per decision natural.
//! The cell is written out here (gates i, f, g, o; no peepholes) so every
//! weight is initialised on the host from the seed.

use crate::reinforce::params::{Init, Params};
use crate::reinforce::policy::{entropy, log_softmax, shape_logits, Shaping};
use candle_core::{DType, Device, Tensor, Var};
use nasarena_core::SeedRng;

/// Gate non-linearity from `tanh` (differentiable in candle core).
fn sigmoid(x: &Tensor) -> candle_core::Result<Tensor> {
    ((x * 0.5)?.tanh()? + 1.0)? * 0.5
}

/// One LSTM cell of the stack; the weights are visible to the host mirror
/// (`lstm_host.rs`), which copies them for sampling.
#[derive(Debug)]
pub(super) struct Layer {
    /// Input-to-gates weights `(4H, H)`, gate order i, f, g, o.
    pub(super) w_ih: Var,
    /// Hidden-to-gates weights `(4H, H)`.
    pub(super) w_hh: Var,
    /// Gate bias `(4H,)`.
    pub(super) bias: Var,
}

/// The LSTM controller. The fields are visible to the host mirror
/// (`lstm_host.rs`), which reads them; this module never names the mirror,
/// so the conversion runs one way.
#[derive(Debug)]
pub struct LstmPolicy {
    /// Hidden size H of every cell.
    pub(super) hidden: usize,
    /// The learned start input `(1, H)`.
    pub(super) go: Var,
    /// The stacked cells, bottom first.
    pub(super) layers: Vec<Layer>,
    /// Per decision: the embedding table `(arity, H)` of its tokens.
    pub(super) embeddings: Vec<Var>,
    /// Per decision: the logit head's weight `(arity, H)` and bias.
    pub(super) heads: Vec<(Var, Var)>,
    params: Params,
}

impl LstmPolicy {
    /// Builds the controller for decisions of the given arities, weights
    /// uniform in [-init_range, init_range].
    pub fn new(
        arities: &[usize],
        hidden: usize,
        layers: usize,
        init_range: f64,
        rng: &mut SeedRng,
    ) -> candle_core::Result<Self> {
        let mut params = Params::new();
        let init = Init::Uniform(init_range);
        let go = params.add("go", (1, hidden), init, rng)?;
        let mut stack = Vec::with_capacity(layers);
        for l in 0..layers {
            stack.push(Layer {
                w_ih: params.add(&format!("lstm{l}.w_ih"), (4 * hidden, hidden), init, rng)?,
                w_hh: params.add(&format!("lstm{l}.w_hh"), (4 * hidden, hidden), init, rng)?,
                bias: params.add(&format!("lstm{l}.bias"), 4 * hidden, init, rng)?,
            });
        }
        let mut embeddings = Vec::with_capacity(arities.len());
        let mut heads = Vec::with_capacity(arities.len());
        for (t, &a) in arities.iter().enumerate() {
            embeddings.push(params.add(&format!("embed{t}"), (a, hidden), init, rng)?);
            let w = params.add(&format!("head{t}.w"), (a, hidden), init, rng)?;
            let b = params.add(&format!("head{t}.b"), a, init, rng)?;
            heads.push((w, b));
        }
        Ok(LstmPolicy {
            hidden,
            go,
            layers: stack,
            embeddings,
            heads,
            params,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    fn zero_state(&self, batch: usize) -> candle_core::Result<Vec<(Tensor, Tensor)>> {
        let z = Tensor::zeros((batch, self.hidden), DType::F32, &Device::Cpu)?;
        Ok(self.layers.iter().map(|_| (z.clone(), z.clone())).collect())
    }

    /// One time step through the stack; returns the top hidden state.
    fn step(&self, x: &Tensor, state: &mut [(Tensor, Tensor)]) -> candle_core::Result<Tensor> {
        let h4 = self.hidden;
        let mut input = x.clone();
        for (layer, (h, c)) in self.layers.iter().zip(state.iter_mut()) {
            let gates = (input.matmul(&layer.w_ih.as_tensor().t()?)?
                + h.matmul(&layer.w_hh.as_tensor().t()?)?)?
            .broadcast_add(layer.bias.as_tensor())?;
            let i = sigmoid(&gates.narrow(1, 0, h4)?)?;
            let f = sigmoid(&gates.narrow(1, h4, h4)?)?;
            let g = gates.narrow(1, 2 * h4, h4)?.tanh()?;
            let o = sigmoid(&gates.narrow(1, 3 * h4, h4)?)?;
            *c = ((f * &*c)? + (i * g)?)?;
            *h = (o * c.tanh()?)?;
            input = h.clone();
        }
        Ok(input)
    }

    fn logits(
        &self,
        t: usize,
        top: &Tensor,
        shaping: Option<Shaping>,
    ) -> candle_core::Result<Tensor> {
        let (w, b) = &self.heads[t];
        let raw = top
            .matmul(&w.as_tensor().t()?)?
            .broadcast_add(b.as_tensor())?;
        shape_logits(&raw, shaping)
    }

    /// Log-probability of each sequence (shape `(B,)`), teacher-forced on
    /// the given tokens, with gradients to every parameter.
    pub fn log_prob(
        &self,
        sequences: &[Vec<u32>],
        shaping: Option<Shaping>,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let batch = sequences.len();
        let mut state = self.zero_state(batch)?;
        let mut x = self
            .go
            .as_tensor()
            .broadcast_as((batch, self.hidden))?
            .contiguous()?;
        let mut logp_sum = Tensor::zeros(batch, DType::F32, &Device::Cpu)?;
        let mut ent_sum = logp_sum.clone();
        for t in 0..self.heads.len() {
            let column: Vec<u32> = sequences.iter().map(|s| s[t]).collect();
            let idx = Tensor::from_vec(column, batch, &Device::Cpu)?;
            let top = self.step(&x, &mut state)?;
            let logp = log_softmax(&self.logits(t, &top, shaping)?)?;
            let chosen = logp.gather(&idx.unsqueeze(1)?, 1)?.squeeze(1)?;
            logp_sum = (logp_sum + chosen)?;
            ent_sum = (ent_sum + entropy(&logp)?)?;
            x = self.embeddings[t].as_tensor().index_select(&idx, 0)?;
        }
        Ok((logp_sum, ent_sum))
    }
}
