//! Weight-sharing supernets: every candidate of every decision with its own
//! weights, combined by mixing weights that a one-shot strategy supplies on
//! each forward pass (FBNet, Wu et al. 2019; GDAS, Dong & Yang 2019;
//! SqueezeNAS, Shaw et al. 2019; DARTS, Liu et al. 2019).
//!
//! A decision's mixing tensor is `(rows, arity)`: one row for the whole
//! batch, or one row per image (SqueezeNAS samples per image). A layer's
//! output is `sum_o m[:, o] * candidate_o(x)`. When the mixing is hard
//! (every row one-hot, straight-through values) only the candidates that
//! some row selects are run, which is what makes GDAS-style sampling cheap;
//! the multiplication by the (value 1) weight keeps the straight-through
//! gradient path to the architecture parameters.
//!
//! Supernets always normalise with batch statistics: the running
//! statistics of a shared candidate mix inputs from many architectures and
//! are not a sound estimate for any one of them.

use candle_core::{Result, Tensor};

/// A weight-sharing network over a whole space.
pub trait Supernet: Send + Sync + std::fmt::Debug {
    /// Logits for a batch `(N, C, H, W)` with one mixing tensor per
    /// decision, each `(1, arity)` or `(N, arity)`. `hard` promises that
    /// every row is one-hot in value, so unselected candidates are skipped.
    fn forward_mixed(&self, input: &Tensor, mixing: &[Tensor], hard: bool) -> Result<Tensor>;

    /// Where each decision's candidates run: `sites[d]` lists the input
    /// shape `(C, H, W)` at every place decision `d` is used (one per
    /// searched layer in FBNet, one per cell in the cell space). `None`
    /// when the supernet cannot run candidates on their own, which
    /// per-candidate latency tables (`nasarena bench lut`) need.
    fn candidate_sites(&self) -> Option<Vec<Vec<[usize; 3]>>> {
        None
    }

    /// Runs candidate `option` of decision `decision` alone, in inference
    /// mode, at site `site` of [`Supernet::candidate_sites`], on an input of
    /// that site's shape; `None` for a candidate whose output is zero.
    fn run_candidate(
        &self,
        decision: usize,
        site: usize,
        option: usize,
        x: &Tensor,
    ) -> Result<Option<Tensor>> {
        let _ = (site, option, x);
        candle_core::bail!("this supernet cannot run decision {decision}'s candidates alone")
    }
}

/// The candidate `option` in `candidates`, or an error naming what is
/// out of range (for [`Supernet::run_candidate`] implementations).
pub fn candidate_at<T>(candidates: &[T], decision: usize, option: usize) -> Result<&T> {
    candidates.get(option).ok_or_else(|| {
        candle_core::Error::Msg(format!(
            "decision {decision} has {} options; there is no option {option}",
            candidates.len()
        ))
    })
}

/// Checks one mixing tensor: rank 2, `arity` columns, 1 or `batch` rows.
pub fn check_mixing(
    decision: usize,
    weights: &Tensor,
    arity: usize,
    batch: usize,
) -> Result<usize> {
    let (rows, cols) = weights.dims2()?;
    if cols != arity || (rows != 1 && rows != batch) {
        candle_core::bail!(
            "mixing weights of decision {decision} are {rows}x{cols}; expected 1x{arity} or {batch}x{arity}"
        );
    }
    Ok(rows)
}

/// The options a mixing tensor needs run: all of them when soft, those with
/// a nonzero weight in some row when hard.
pub fn active_options(weights: &Tensor, hard: bool) -> Result<Vec<usize>> {
    let (_, arity) = weights.dims2()?;
    if !hard {
        return Ok((0..arity).collect());
    }
    let values = weights
        .to_dtype(candle_core::DType::F32)?
        .to_vec2::<f32>()?;
    Ok((0..arity)
        .filter(|&o| values.iter().any(|row| row[o] != 0.0))
        .collect())
}

/// `sum_o w[:, o] * run(o)` over the active options of one decision.
/// `run` returns `None` for an option whose output is zero (`none`), which
/// contributes nothing (its weight's gradient is exactly zero too). Returns
/// `None` when every active option is zero.
pub fn mix(
    weights: &Tensor,
    hard: bool,
    mut run: impl FnMut(usize) -> Result<Option<Tensor>>,
) -> Result<Option<Tensor>> {
    let (rows, _) = weights.dims2()?;
    let mut sum: Option<Tensor> = None;
    for o in active_options(weights, hard)? {
        let Some(y) = run(o)? else { continue };
        let w = weights.narrow(1, o, 1)?;
        let term = if rows == 1 && hard {
            // One straight-through weight for the batch (GDAS): a fused
            // product whose backward skips what a broadcast costs. Soft
            // mixings keep candle's product, whose sums their seeded
            // results were recorded with.
            nasarena_ops::scale_by(&y, &w)?
        } else {
            let w = match y.rank() {
                4 => w.reshape((rows, 1, 1, 1))?,
                _ => w.reshape((rows, 1))?,
            };
            y.broadcast_mul(&w)?
        };
        sum = Some(match sum {
            Some(s) => (s + term)?,
            None => term,
        });
    }
    Ok(sum)
}

/// One-hot `(1, arity)` mixing tensors for a fixed architecture: running the
/// supernet with them (`hard = true`) runs exactly that architecture with
/// the shared weights.
pub fn one_hot_mixing(
    choices: &[u32],
    arities: &[usize],
    device: &candle_core::Device,
) -> Result<Vec<Tensor>> {
    choices
        .iter()
        .zip(arities)
        .map(|(&c, &arity)| {
            let mut row = vec![0f32; arity];
            if let Some(v) = row.get_mut(c as usize) {
                *v = 1.0;
            }
            Tensor::from_vec(row, (1, arity), device)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn hard_mixing_runs_only_selected_options() {
        let dev = Device::Cpu;
        let w = Tensor::from_vec(vec![0f32, 1.0, 0.0], (1, 3), &dev).expect("w");
        let mut ran = Vec::new();
        let x = Tensor::ones((2, 1, 2, 2), candle_core::DType::F32, &dev).expect("x");
        let y = mix(&w, true, |o| {
            ran.push(o);
            Ok(Some((&x * (o as f64 + 1.0))?))
        })
        .expect("mix")
        .expect("some");
        assert_eq!(ran, vec![1]);
        let v: Vec<f32> = y.flatten_all().and_then(|t| t.to_vec1()).expect("v");
        assert!(v.iter().all(|&a| (a - 2.0).abs() < 1e-6), "{v:?}");
    }

    /// d(sum of mix)/d(w_o) equals the sum of option o's output, per row.
    #[test]
    fn per_image_mixing_gradient_is_each_options_output() {
        let dev = Device::Cpu;
        let w = Var::from_vec(vec![0.2f32, 0.8, 0.5, 0.5], (2, 2), &dev).expect("w");
        let x = Tensor::from_vec(
            (0..8).map(|i| i as f32 * 0.1 + 0.3).collect::<Vec<_>>(),
            (2, 1, 2, 2),
            &dev,
        )
        .expect("x");
        let y = mix(w.as_tensor(), false, |o| match o {
            0 => Ok(Some(x.sqr()?)),
            _ => Ok(Some(x.exp()?)),
        })
        .expect("mix")
        .expect("some");
        let grads = y.sum_all().and_then(|s| s.backward()).expect("backward");
        let g: Vec<Vec<f32>> = grads
            .get(w.as_tensor())
            .expect("grad")
            .to_vec2()
            .expect("g");
        for (row, g_row) in g.iter().enumerate() {
            let xr = x.get(row).expect("row");
            let sq: f32 = xr
                .sqr()
                .and_then(|t| t.sum_all())
                .and_then(|t| t.to_scalar())
                .expect("sq");
            let ex: f32 = xr
                .exp()
                .and_then(|t| t.sum_all())
                .and_then(|t| t.to_scalar())
                .expect("ex");
            assert!(
                (g_row[0] - sq).abs() < 1e-4 && (g_row[1] - ex).abs() < 1e-4,
                "{g:?}"
            );
        }
    }
}
