//! A host (plain f32) mirror of the LSTM controller's forward pass, used
//! for sampling in `ask`: the same weights and arithmetic as the candle
//! graph in `lstm.rs`, without candle's per-op and threading overhead
//! (about 100x cheaper for a 35-unit controller). Gradients still come
//! from the candle graph; a unit test checks the two forwards agree.

use super::lstm::LstmPolicy;
use super::policy::{sample_host, Shaping};
use candle_core::Var;
use nasarena_core::SeedRng;

fn sigmoid(x: f32) -> f32 {
    0.5 * ((0.5 * x).tanh() + 1.0)
}

/// `out[r] = sum_k w[r * cols + k] * x[k]` (+ `out[r]` already there).
fn matvec_add(w: &[f32], x: &[f32], out: &mut [f32]) {
    let cols = x.len();
    for (r, o) in out.iter_mut().enumerate() {
        let row = &w[r * cols..(r + 1) * cols];
        *o += row.iter().zip(x).map(|(a, b)| a * b).sum::<f32>();
    }
}

/// The controller's weights copied to the host.
#[derive(Debug)]
pub struct HostLstm {
    /// Hidden size H.
    hidden: usize,
    /// The learned start input (H).
    go: Vec<f32>,
    /// Per layer: w_ih (4H x H), w_hh (4H x H), bias (4H).
    layers: Vec<[Vec<f32>; 3]>,
    /// Per decision: embedding (arity x H).
    embeddings: Vec<Vec<f32>>,
    /// Per decision: head weight (arity x H) and bias (arity).
    heads: Vec<(Vec<f32>, Vec<f32>)>,
}

impl HostLstm {
    /// Copies the policy's current weights.
    pub fn from_policy(policy: &LstmPolicy) -> candle_core::Result<Self> {
        let host = |v: &Var| v.as_tensor().flatten_all()?.to_vec1::<f32>();
        Ok(HostLstm {
            hidden: policy.hidden,
            go: host(&policy.go)?,
            layers: policy
                .layers
                .iter()
                .map(|l| Ok([host(&l.w_ih)?, host(&l.w_hh)?, host(&l.bias)?]))
                .collect::<candle_core::Result<_>>()?,
            embeddings: policy
                .embeddings
                .iter()
                .map(host)
                .collect::<candle_core::Result<_>>()?,
            heads: policy
                .heads
                .iter()
                .map(|(w, b)| Ok((host(w)?, host(b)?)))
                .collect::<candle_core::Result<_>>()?,
        })
    }

    fn step(&self, x: &[f32], state: &mut [(Vec<f32>, Vec<f32>)]) -> Vec<f32> {
        let h4 = self.hidden;
        let mut input = x.to_vec();
        for ([w_ih, w_hh, bias], (h, c)) in self.layers.iter().zip(state.iter_mut()) {
            let mut gates = bias.clone();
            matvec_add(w_ih, &input, &mut gates);
            matvec_add(w_hh, h, &mut gates);
            for k in 0..h4 {
                let i = sigmoid(gates[k]);
                let f = sigmoid(gates[h4 + k]);
                let g = gates[2 * h4 + k].tanh();
                let o = sigmoid(gates[3 * h4 + k]);
                c[k] = f * c[k] + i * g;
                h[k] = o * c[k].tanh();
            }
            input.clone_from(h);
        }
        input
    }

    /// Samples one token per decision; returns the tokens, the summed
    /// entropy and the summed log-probability of the drawn tokens.
    pub fn sample(&self, shaping: Option<Shaping>, rng: &mut SeedRng) -> (Vec<u32>, f64, f64) {
        let zeros = vec![0.0f32; self.hidden];
        let mut state: Vec<_> = self
            .layers
            .iter()
            .map(|_| (zeros.clone(), zeros.clone()))
            .collect();
        let mut x = self.go.clone();
        let (mut tokens, mut entropy, mut logp) = (Vec::new(), 0.0, 0.0);
        for (t, (w, b)) in self.heads.iter().enumerate() {
            let top = self.step(&x, &mut state);
            let mut logits = b.clone();
            matvec_add(w, &top, &mut logits);
            if let Some(s) = shaping {
                for l in &mut logits {
                    *l = ((*l as f64 / s.temperature).tanh() * s.tanh_constant) as f32;
                }
            }
            let (token, h) = sample_host(&logits, rng);
            let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let lse = logits
                .iter()
                .map(|&l| (l as f64 - max).exp())
                .sum::<f64>()
                .ln()
                + max;
            logp += logits[token as usize] as f64 - lse;
            entropy += h;
            tokens.push(token);
            let row = token as usize * self.hidden;
            x = self.embeddings[t][row..row + self.hidden].to_vec();
        }
        (tokens, entropy, logp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nasarena_core::Seed;

    #[test]
    fn host_sampling_forward_matches_candle_graph() {
        let arities = [3, 1, 5, 2, 4];
        let shapings = [
            None,
            Some(Shaping {
                temperature: 5.0,
                tanh_constant: 1.5,
            }),
        ];
        for shaping in shapings {
            let policy = LstmPolicy::new(&arities, 16, 2, 0.5, &mut Seed(1).rng()).unwrap();
            let host = HostLstm::from_policy(&policy).unwrap();
            let mut rng = Seed(2).rng();
            let mut sequences = Vec::new();
            let mut host_logp = Vec::new();
            let mut host_ent = Vec::new();
            for _ in 0..6 {
                let (tokens, ent, logp) = host.sample(shaping, &mut rng);
                assert!(tokens.iter().zip(&arities).all(|(&t, &a)| (t as usize) < a));
                sequences.push(tokens);
                host_logp.push(logp);
                host_ent.push(ent);
            }
            let (logp, ent) = policy.log_prob(&sequences, shaping).unwrap();
            let (logp, ent) = (
                logp.to_vec1::<f32>().unwrap(),
                ent.to_vec1::<f32>().unwrap(),
            );
            for i in 0..sequences.len() {
                assert!(
                    (logp[i] as f64 - host_logp[i]).abs() < 1e-4,
                    "{} vs {}",
                    logp[i],
                    host_logp[i]
                );
                assert!((ent[i] as f64 - host_ent[i]).abs() < 1e-4);
            }
        }
    }
}
