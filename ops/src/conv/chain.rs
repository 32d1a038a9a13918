//! Training-mode chain of conv-BN units as one candle op: the body of
//! FBNet's MBConv block (Wu et al. 2019, after MobileNetV2's inverted
//! residual, Sandler et al. 2018): 1x1 expansion + BN + ReLU, channel
//! shuffle when the 1x1s are grouped, KxK depthwise + BN + ReLU, 1x1
//! projection + BN.
//!
//! Why one op: candle's backward hands every intermediate tensor's
//! gradient to a fresh zero-filled accumulator and adds it there (see
//! [`super::ConvBnTrain`]). In an MBConv block two of those intermediates
//! are the expanded hidden activations, six times the block's width, so
//! per block that was two activation-sized memsets and adds over the
//! widest tensors of the network. Here the hidden gradients stay inside
//! the op: each unit's backward hands its input gradient straight to the
//! unit before it. Each unit runs exactly the kernels of
//! [`super::ConvBnTrain`] and the shuffle only moves planes, so results
//! are bit-identical to the unfused chain.
//!
//! The residual stays outside ([`crate::add_n`] after the op): candle
//! then adds the block input's two gradients (through the residual and
//! through the chain) to its accumulator one at a time, as before. Folded
//! in, they arrive pre-summed, which is the same sum in another rounding
//! order wherever the input has other consumers too (the candidates of a
//! supernet layer), and every one-shot journal would have changed.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Device, Layout, Shape, Tensor};
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

use super::op::{f32_slice, ConvParams};
use super::{conv_path, ConvBnTrain, ConvPath};
use crate::bn::BnStats;
use crate::error::Error;

const OP: &str = "conv-bn-chain-train";

/// One conv-BN unit of a chain.
#[derive(Clone, Copy, Debug)]
pub struct ChainUnit<'a> {
    /// The convolution's weight, `[c_out, c_in / groups, k, k]`.
    pub weight: &'a Tensor,
    /// The convolution's geometry.
    pub params: ConvParams,
    /// The batch norm's `gamma` and `beta`, `c_out` each.
    pub gamma_beta: [&'a Tensor; 2],
    /// What the batch norm adds to the variance.
    pub eps: f64,
    /// Whether a ReLU follows the batch norm.
    pub relu: bool,
}

/// Training-mode `units[k-1](... shuffle(units[0](x)) ...)`, each unit
/// `act(batch_norm(conv2d(x, w)))` with batch statistics, the shuffle
/// ShuffleNet's over `shuffle_groups` groups (Zhang et al. 2018; 1 for
/// none). One op ([`ConvBnChainTrain`]) on the CPU path; elsewhere each
/// unit through [`super::conv_bn_train`] and [`channel_shuffle`],
/// bit-identical either way. Returns the output and each unit's batch
/// statistics. Gradients flow to `x` and every unit's tensors.
pub fn conv_bn_chain_train(
    x: &Tensor,
    units: &[ChainUnit],
    shuffle_groups: usize,
) -> candle_core::Result<(Tensor, Vec<BnStats>)> {
    if units.is_empty() {
        candle_core::bail!("{OP}: a chain needs at least one unit");
    }
    let fuses = units.iter().all(|u| {
        conv_path(x, u.weight, u.params.groups) != ConvPath::Candle
            && u.gamma_beta.iter().all(|t| t.dtype() == x.dtype())
    });
    if !fuses {
        return unfused_chain(x, units, shuffle_groups);
    }
    let mut packed = Vec::with_capacity(3 * units.len());
    for u in units {
        packed.extend([
            u.weight.flatten_all()?,
            u.gamma_beta[0].clone(),
            u.gamma_beta[1].clone(),
        ]);
    }
    let packed = Tensor::cat(&packed, 0)?;
    let op = ConvBnChainTrain::new(units, shuffle_groups)?;
    let y = x.contiguous()?.apply_op2(&packed, op.clone())?;
    Ok((y, op.stats()?))
}

/// The chain one op at a time.
fn unfused_chain(
    x: &Tensor,
    units: &[ChainUnit],
    shuffle_groups: usize,
) -> candle_core::Result<(Tensor, Vec<BnStats>)> {
    let (mut y, mut stats) = (x.clone(), Vec::with_capacity(units.len()));
    for (i, u) in units.iter().enumerate() {
        let (out, s) = super::conv_bn_train(&y, u.weight, u.params, u.gamma_beta, u.eps, u.relu)?;
        stats.push(s);
        y = if i == 0 && shuffle_groups > 1 {
            channel_shuffle(&out, shuffle_groups)?
        } else {
            out
        };
    }
    Ok((y, stats))
}

/// ShuffleNet's channel shuffle of `[n, c, h, w]` with `groups` groups
/// (Zhang et al. 2018): channel `b * (c / groups) + a` moves to
/// `a * groups + b`. Differentiable.
pub fn channel_shuffle(x: &Tensor, groups: usize) -> candle_core::Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    x.reshape((n, groups, c / groups, h, w))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((n, c, h, w))
}

/// [`channel_shuffle`] on a contiguous `[n, c, plane]` buffer.
fn shuffle_planes(x: &[f32], (c, plane): (usize, usize), groups: usize) -> Vec<f32> {
    let per_group = c / groups;
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(c * plane)
        .zip(x.par_chunks(c * plane))
        .for_each(|(out, x)| {
            for (to, out) in out.chunks_mut(plane).enumerate() {
                let from = (to % groups) * per_group + to / groups;
                out.copy_from_slice(&x[from * plane..][..plane]);
            }
        });
    out
}

/// [`shuffle_planes`] as a candle op without a backward: the backward's
/// inverse shuffle of the first unit's output gradient (`groups` =
/// channels per group of the forward shuffle).
struct ShufflePlanes(usize);

impl CustomOp1 for ShufflePlanes {
    fn name(&self) -> &'static str {
        "shuffle-planes"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(self.name(), s, l)?;
        let (_, c, h, w) = l.shape().dims4()?;
        let y = shuffle_planes(x, (c, h * w), self.0);
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }
}

/// What the forward leaves for the backward.
#[derive(Clone, Debug)]
struct Saved {
    /// The input of every unit after the first.
    inputs: Vec<Tensor>,
    /// The first unit's output before the shuffle (with a shuffle only).
    unshuffled: Option<Tensor>,
}

/// The chain of [`conv_bn_chain_train`] for arguments `(x, packed)`,
/// `packed` every unit's weight (flattened), `gamma` and `beta`
/// concatenated in unit order.
#[derive(Clone, Debug)]
pub struct ConvBnChainTrain {
    /// Each unit's op and weight dims.
    units: Vec<(ConvBnTrain, [usize; 4])>,
    shuffle_groups: usize,
    saved: Arc<Mutex<Option<Saved>>>,
}

impl ConvBnChainTrain {
    /// The op for `units` (their weights give the dims of the packed
    /// argument's pieces).
    pub fn new(units: &[ChainUnit], shuffle_groups: usize) -> candle_core::Result<Self> {
        let units = units
            .iter()
            .map(|u| {
                let op = ConvBnTrain::with_relus(u.params, u.eps, false, u.relu);
                Ok((op, u.weight.dims4().map(|(a, b, c, d)| [a, b, c, d])?))
            })
            .collect::<candle_core::Result<_>>()?;
        Ok(ConvBnChainTrain {
            units,
            shuffle_groups,
            saved: Arc::new(Mutex::new(None)),
        })
    }

    /// Each unit's batch statistics of the last forward.
    pub fn stats(&self) -> candle_core::Result<Vec<BnStats>> {
        self.units.iter().map(|(op, _)| op.stats()).collect()
    }

    /// Unit `i`'s `(weight, [gamma, beta])` ranges in the packed argument.
    fn pieces(&self, i: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let len = |dims: &[usize; 4]| dims.iter().product::<usize>() + 2 * dims[0];
        let start: usize = self.units[..i].iter().map(|(_, d)| len(d)).sum();
        let dims = &self.units[i].1;
        let w_end = start + dims.iter().product::<usize>();
        (start..w_end, w_end..start + len(dims))
    }

    fn packed_len(&self) -> usize {
        self.pieces(self.units.len() - 1).1.end
    }

    fn saved(&self) -> candle_core::Result<Saved> {
        match self.saved.lock() {
            Ok(guard) => guard.clone().ok_or_else(|| bad("the forward has not run")),
            Err(_) => Err(bad("saved state lock poisoned")),
        }
    }

    fn save(&self, saved: Saved) -> candle_core::Result<()> {
        match self.saved.lock() {
            Ok(mut guard) => {
                *guard = Some(saved);
                Ok(())
            }
            Err(_) => Err(bad("saved state lock poisoned")),
        }
    }
}

fn bad(reason: &str) -> candle_core::Error {
    Error::BadConv {
        op: OP,
        reason: reason.into(),
    }
    .into()
}

impl CustomOp2 for ConvBnChainTrain {
    fn name(&self) -> &'static str {
        OP
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, packed) = (f32_slice(OP, s1, l1)?, f32_slice(OP, s2, l2)?);
        if packed.len() != self.packed_len() {
            let reason = format!(
                "the packed unit tensors must have {} elements, got {}",
                self.packed_len(),
                packed.len()
            );
            return Err(Error::BadConv { op: OP, reason }.into());
        }
        let last_unit = self.units.len() - 1;
        let mut inputs: Vec<(Vec<f32>, [usize; 4])> = Vec::with_capacity(last_unit);
        let mut unshuffled = None;
        let mut last = Vec::new();
        let mut dims = l1.dims().to_vec();
        for (i, (op, w_dims)) in self.units.iter().enumerate() {
            let (w, affine) = self.pieces(i);
            let input = inputs.last().map_or(x, |(v, _)| v.as_slice());
            let (y, y_dims) =
                op.forward([(input, &dims), (&packed[w], w_dims)], &packed[affine])?;
            dims = y_dims.to_vec();
            if i == last_unit {
                last = y;
            } else if i == 0 && self.shuffle_groups > 1 {
                let c_plane = (y_dims[1], y_dims[2] * y_dims[3]);
                inputs.push((shuffle_planes(&y, c_plane, self.shuffle_groups), y_dims));
                unshuffled = Some(Tensor::from_vec(y, y_dims.to_vec(), &Device::Cpu)?);
            } else {
                inputs.push((y, y_dims));
            }
        }
        let inputs = inputs
            .into_iter()
            .map(|(v, d)| Tensor::from_vec(v, d.to_vec(), &Device::Cpu))
            .collect::<candle_core::Result<_>>()?;
        self.save(Saved { inputs, unshuffled })?;
        Ok((CpuStorage::F32(last), Shape::from(dims)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        packed: &Tensor,
        y: &Tensor,
        gy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let saved = self.saved()?;
        let mut grad = gy.contiguous()?;
        let mut packed_grads = vec![None; self.units.len()];
        for (i, (op, w_dims)) in self.units.iter().enumerate().rev() {
            let (w, affine) = self.pieces(i);
            let w = packed
                .narrow(0, w.start, w.len())?
                .reshape(w_dims.to_vec())?;
            let affine = packed.narrow(0, affine.start, affine.len())?;
            let input = if i == 0 { x } else { &saved.inputs[i - 1] };
            let output = match (i + 1 == self.units.len(), i) {
                (true, _) => y,
                (false, 0) => saved.unshuffled.as_ref().unwrap_or(&saved.inputs[0]),
                (false, _) => &saved.inputs[i],
            };
            let (g_in, g_w, g_affine) = match op.bwd(input, &w, &affine, output, &grad)? {
                (Some(a), Some(b), Some(c)) => (a, b, c),
                _ => return Err(bad("a unit's backward left a gradient out")),
            };
            packed_grads[i] = Some([g_w.flatten_all()?, g_affine]);
            grad = if i == 1 && self.shuffle_groups > 1 {
                let per_group = g_in.dim(1)? / self.shuffle_groups;
                g_in.apply_op1_no_bwd(&ShufflePlanes(per_group))?
            } else {
                g_in
            };
        }
        let packed_grads: Vec<Tensor> = packed_grads.into_iter().flatten().flatten().collect();
        Ok((Some(grad), Some(Tensor::cat(&packed_grads, 0)?)))
    }
}
