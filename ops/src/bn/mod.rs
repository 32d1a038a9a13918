//! Batch normalisation (Ioffe & Szegedy 2015) fused with an optional ReLU,
//! forward and backward, as candle custom ops on f32 NCHW tensors.
//!
//! candle-nn's `BatchNorm` composes a training-mode forward from about ten
//! broadcast ops, each allocating a full-size tensor that autograd keeps,
//! and differentiates through all of them. Here the training forward is
//! two reading passes (mean, then centred variance, per channel) and one
//! writing pass; the backward one reading pass for the two per-channel
//! sums and one writing pass for the input gradient:
//!
//! `xhat = (x - mean) * invstd`, `y = act(gamma * xhat + beta)`,
//! `g = dy * act'(y)`, `dbeta = sum g`, `dgamma = sum g * xhat`,
//! `dx = gamma * invstd * (g - dbeta / M - xhat * dgamma / M)`
//! with `M = N * H * W` (biased variance, as PyTorch normalises with).
//!
//! Every per-channel reduction runs in a fixed order (planes in batch
//! order, fixed-width lanes inside a plane), so results do not depend on
//! the number of threads.

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;
use std::mem::MaybeUninit;
use std::sync::{Arc, Mutex};

use crate::error::Error;
use crate::operand::contiguous_f32;
use crate::simd::write_once;

mod kernels;
mod small_plane;

pub(crate) use kernels::affine_in_place;
use kernels::GradCoefs;

/// Per-channel batch statistics of one training-mode forward.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BnStats {
    /// Mean per channel.
    pub mean: Vec<f32>,
    /// Biased variance per channel (what the batch is normalised with).
    pub var: Vec<f32>,
    /// `1 / sqrt(var + eps)` per channel.
    pub invstd: Vec<f32>,
    /// Elements per channel (`N * H * W`).
    pub count: usize,
}

fn bad(op: &'static str, reason: String) -> Error {
    Error::BadBatchNorm { op, reason }
}

fn f32_data<'a>(op: &'static str, s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32], Error> {
    contiguous_f32(op, s, l, bad)
}

/// `(n, c, plane)` of a 4-D layout.
fn nc_plane(op: &'static str, l: &Layout) -> Result<(usize, usize, usize), Error> {
    match l.dims() {
        &[n, c, h, w] => Ok((n, c, h * w)),
        d => Err(bad(op, format!("expects a 4-D NCHW tensor, got {d:?}"))),
    }
}

/// The planes of channel `ch` of an NCHW buffer, in batch order.
fn channel_planes(x: &[f32], (n, c, plane): (usize, usize, usize), ch: usize) -> Vec<&[f32]> {
    (0..n)
        .map(|i| &x[(i * c + ch) * plane..][..plane])
        .collect()
}

/// An NCHW output buffer as one list of planes per channel (batch
/// order), so that per-channel tasks write disjoint planes.
fn planes_by_channel(
    out: &mut [MaybeUninit<f32>],
    c: usize,
    plane: usize,
) -> Vec<Vec<&mut [MaybeUninit<f32>]>> {
    let mut lists: Vec<Vec<_>> = (0..c).map(|_| Vec::new()).collect();
    for (p, dst) in out.chunks_mut(plane.max(1)).enumerate() {
        lists[p % c.max(1)].push(dst);
    }
    lists
}

/// Runs `task(ch, input planes, output planes)` for every channel of an
/// NCHW buffer of `x`'s shape, channels spread over rayon's pool, and
/// returns the tasks' results and the output, whose every element `task`
/// must write.
fn per_channel<T: Send>(
    x: &[f32],
    dims: (usize, usize, usize),
    task: impl Fn(usize, &[&[f32]], &mut [&mut [MaybeUninit<f32>]]) -> T + Sync,
) -> (Vec<T>, Vec<f32>) {
    let (_, c, plane) = dims;
    let mut results = Vec::new();
    let fill = |out: &mut [MaybeUninit<f32>]| {
        results = planes_by_channel(out, c, plane)
            .into_par_iter()
            .enumerate()
            .map(|(ch, mut outs)| task(ch, &channel_planes(x, dims, ch), &mut outs))
            .collect();
    };
    // SAFETY: every plane of the output is in exactly one channel's list,
    // and the tasks (the kernels' `affine` and `grad_input`) write every
    // element of the planes they are given.
    let out = unsafe { write_once(x.len(), fill) };
    (results, out)
}

/// Training-mode batch norm (+ ReLU) of the NCHW buffer `x` of `dims`
/// (`(n, c, plane)`), `gamma` and `beta` holding `c` values each: the
/// output and the batch statistics it was normalised with.
pub(crate) fn train_forward(
    x: &[f32],
    dims: (usize, usize, usize),
    gamma: &[f32],
    beta: &[f32],
    eps: f64,
    relu: bool,
) -> (Vec<f32>, BnStats) {
    if small_plane::applies(dims.2) {
        let (y, m) = small_plane::train_forward(x, dims, gamma, beta, eps, relu);
        let stats = BnStats {
            mean: m.mean,
            var: m.var,
            invstd: m.invstd,
            count: dims.0 * dims.2,
        };
        return (y, stats);
    }
    let (isa, count) = (crate::isa::isa(), dims.0 * dims.2);
    let (per_ch, y) = per_channel(x, dims, |ch, xs, out| {
        let (mean, var) = kernels::mean_var(isa, xs, count);
        let invstd = (1.0 / (var + eps).sqrt()) as f32;
        let scale = gamma[ch] * invstd;
        kernels::affine(isa, xs, out, &[scale], &[beta[ch] - mean * scale], relu);
        (mean, var as f32, invstd)
    });
    let stats = BnStats {
        mean: per_ch.iter().map(|s| s.0).collect(),
        var: per_ch.iter().map(|s| s.1).collect(),
        invstd: per_ch.iter().map(|s| s.2).collect(),
        count,
    };
    (y, stats)
}

/// Training-mode batch norm (+ ReLU) over arguments `(x, gamma, beta)`;
/// the batch statistics it used are left in `stats` for the caller's
/// running averages and for the backward pass.
#[derive(Clone, Debug)]
pub struct BatchNormTrain {
    /// Added to the variance.
    pub eps: f64,
    /// Whether a ReLU follows.
    pub relu: bool,
    /// Filled by the forward pass.
    pub stats: Arc<Mutex<BnStats>>,
}

impl CustomOp3 for BatchNormTrain {
    fn name(&self) -> &'static str {
        "batch-norm-train"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let op = self.name();
        let (n, c, plane) = nc_plane(op, l1)?;
        let x = f32_data(op, s1, l1)?;
        let gamma = f32_data(op, s2, l2)?;
        let beta = f32_data(op, s3, l3)?;
        if gamma.len() != c || beta.len() != c {
            return Err(bad(op, format!("gamma/beta must have {c} elements")).into());
        }
        let (y, stats) = train_forward(x, (n, c, plane), gamma, beta, self.eps, self.relu);
        match self.stats.lock() {
            Ok(mut guard) => *guard = stats,
            Err(_) => return Err(bad(op, "statistics lock poisoned".into()).into()),
        }
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        y: &Tensor,
        gy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let stats = match self.stats.lock() {
            Ok(guard) => guard.clone(),
            Err(_) => return Err(bad(self.name(), "statistics lock poisoned".into()).into()),
        };
        let (gx, dgamma, dbeta) = train_backward(x, gamma.to_vec1()?, y, gy, stats, self.relu)?;
        let (dev, c) = (x.device(), dgamma.len());
        Ok((
            Some(gx),
            Some(Tensor::from_vec(dgamma, c, dev)?),
            Some(Tensor::from_vec(dbeta, c, dev)?),
        ))
    }
}

/// The backward of a training-mode forward that turned `x` into `y` with
/// `stats` and scale `gamma`: the gradients of `x`, gamma and beta for the
/// output gradient `gy`.
pub(crate) fn train_backward(
    x: &Tensor,
    gamma: Vec<f32>,
    y: &Tensor,
    gy: &Tensor,
    stats: BnStats,
    relu: bool,
) -> candle_core::Result<(Tensor, Vec<f32>, Vec<f32>)> {
    let sums = Arc::new(Mutex::new(Vec::new()));
    let grad = BatchNormGrad {
        mean: stats.mean,
        invstd: stats.invstd,
        gamma,
        relu,
        sums: sums.clone(),
    };
    let gx = x.apply_op3_no_bwd(y, &gy.contiguous()?, &grad)?;
    let sums = match sums.lock() {
        Ok(guard) => guard.clone(),
        Err(_) => return Err(bad(grad.name(), "gradient sums lock poisoned".into()).into()),
    };
    let dgamma = sums.iter().map(|s| s.1).collect();
    let dbeta = sums.iter().map(|s| s.0).collect();
    Ok((gx, dgamma, dbeta))
}

/// `(x, y, dy)` data and `(n, c, plane)` of a backward op's operands.
type BackwardOperands<'a> = (&'a [f32], &'a [f32], &'a [f32], (usize, usize, usize));

/// The `(x, y, dy)` operands of the backward ops with `(n, c, plane)`,
/// checked to share one shape with `channels` channels.
fn backward_operands<'a>(
    op: &'static str,
    [(s1, l1), (s2, l2), (s3, l3)]: [(&'a CpuStorage, &Layout); 3],
    channels: usize,
) -> Result<BackwardOperands<'a>, Error> {
    let (n, c, plane) = nc_plane(op, l1)?;
    let (x, y, gy) = (
        f32_data(op, s1, l1)?,
        f32_data(op, s2, l2)?,
        f32_data(op, s3, l3)?,
    );
    if y.len() != x.len() || gy.len() != x.len() || channels != c {
        return Err(bad(op, "x, y and dy must have the same shape".into()));
    }
    Ok((x, y, gy, (n, c, plane)))
}

/// The input gradient of the training-mode op for arguments `(x, y, dy)`;
/// per channel it first sums `g` and `g * xhat` (`g = dy` masked by
/// `y > 0` under ReLU), leaves them in `sums` (they are the gradients of
/// beta and gamma), then writes the input gradient while the channel's
/// planes are still in cache.
#[derive(Clone, Debug)]
pub struct BatchNormGrad {
    /// Batch mean per channel.
    pub mean: Vec<f32>,
    /// Inverse std per channel.
    pub invstd: Vec<f32>,
    /// Scale per channel.
    pub gamma: Vec<f32>,
    /// Whether the forward applied a ReLU.
    pub relu: bool,
    /// Filled with `(sum g, sum g * xhat)` per channel.
    pub sums: Arc<Mutex<Vec<(f32, f32)>>>,
}

impl BatchNormGrad {
    /// Channel `ch`'s `(sum g, sum g * xhat)` and input-gradient constants
    /// from `(sum g, sum g * (x - mean))` over its `m` elements.
    fn coefs(&self, ch: usize, (sg, sgx): (f64, f64), m: f32) -> ((f32, f32), GradCoefs) {
        let s = self.invstd[ch];
        let (sum_g, sum_gx) = (sg as f32, (sgx * f64::from(s)) as f32);
        // dx = k * (g - sum_g / M - (x - mean) * s * sum_gx / M)
        let k = self.gamma[ch] * s;
        let coefs = GradCoefs {
            k,
            a: k * s * sum_gx / m,
            b: k * sum_g / m,
            mean: self.mean[ch],
        };
        ((sum_g, sum_gx), coefs)
    }
}

impl CustomOp3 for BatchNormGrad {
    fn name(&self) -> &'static str {
        "batch-norm-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let op = self.name();
        let (x, y, gy, dims) =
            backward_operands(op, [(s1, l1), (s2, l2), (s3, l3)], self.mean.len())?;
        if self.invstd.len() != dims.1 || self.gamma.len() != dims.1 {
            return Err(bad(op, format!("invstd/gamma must have {} elements", dims.1)).into());
        }
        let (isa, relu) = (crate::isa::isa(), self.relu);
        let m = (dims.0 * dims.2).max(1) as f32;
        let coefs = |ch: usize, sg: f64, sgx: f64| self.coefs(ch, (sg, sgx), m);
        let (sums, gx) = if small_plane::applies(dims.2) {
            small_plane::backward((x, y, gy), dims, &self.mean, relu, &coefs)
        } else {
            per_channel(x, dims, |ch, xs, out| {
                let (ys, gs) = (channel_planes(y, dims, ch), channel_planes(gy, dims, ch));
                let (sg, sgx) = kernels::grad_sums(isa, xs, &ys, &gs, self.mean[ch], relu);
                let (sums, coefs) = coefs(ch, sg, sgx);
                kernels::grad_input(isa, xs, &ys, &gs, out, coefs, relu);
                sums
            })
        };
        match self.sums.lock() {
            Ok(mut guard) => *guard = sums,
            Err(_) => return Err(bad(op, "gradient sums lock poisoned".into()).into()),
        }
        Ok((CpuStorage::F32(gx), l1.shape().clone()))
    }
}

/// Inference-mode batch norm (+ ReLU): `y = act(x * scale[c] + shift[c])`
/// with scale and shift folded from the running statistics on the host.
/// Its backward passes the gradient to `x` only.
#[derive(Clone, Debug)]
pub struct BatchNormEval {
    /// `gamma / sqrt(running_var + eps)` per channel.
    pub scale: Vec<f32>,
    /// `beta - running_mean * scale` per channel.
    pub shift: Vec<f32>,
    /// Whether a ReLU follows.
    pub relu: bool,
}

impl CustomOp1 for BatchNormEval {
    fn name(&self) -> &'static str {
        "batch-norm-eval"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let op = self.name();
        let dims = nc_plane(op, l)?;
        let (x, c) = (f32_data(op, s, l)?, dims.1);
        if self.scale.len() != c || self.shift.len() != c {
            return Err(bad(op, format!("scale/shift must have {c} elements")).into());
        }
        let (isa, relu) = (crate::isa::isa(), self.relu);
        let (_, c, plane) = dims;
        let sample = (c * plane).max(1);
        let fill = |out: &mut [MaybeUninit<f32>]| {
            // Memory order, one sample per task: small planes read
            // channel by channel would jump a whole sample per plane.
            out.par_chunks_mut(sample)
                .zip(x.par_chunks(sample))
                .for_each(|(ys, xs)| {
                    let xs: Vec<&[f32]> = xs.chunks(plane.max(1)).collect();
                    let mut ys: Vec<_> = ys.chunks_mut(plane.max(1)).collect();
                    kernels::affine(isa, &xs, &mut ys, &self.scale, &self.shift, relu);
                });
        };
        // SAFETY: the chunks cover the output, and `affine` writes every
        // element of the planes it is given.
        let y = unsafe { write_once(x.len(), fill) };
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, gy: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let c = self.scale.len();
        let scale = Tensor::from_slice(&self.scale, (1, c, 1, 1), y.device())?;
        let g = gy.broadcast_mul(&scale)?;
        if self.relu {
            let mask = y.gt(0f32)?.to_dtype(g.dtype())?;
            Ok(Some((g * mask)?))
        } else {
            Ok(Some(g))
        }
    }
}

/// Training-mode batch norm (+ ReLU) of a contiguous-or-not f32 NCHW `x`;
/// returns the output and the batch statistics it used. The fused kernels
/// are CPU-only; on other devices (CUDA) and dtypes this is
/// [`batch_norm_train_composed`].
pub fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    relu: bool,
) -> candle_core::Result<(Tensor, BnStats)> {
    if !fusable(x) {
        return batch_norm_train_composed(x, gamma, beta, eps, relu);
    }
    let stats = Arc::new(Mutex::new(BnStats::default()));
    let op = BatchNormTrain {
        eps,
        relu,
        stats: stats.clone(),
    };
    let y = x
        .contiguous()?
        .apply_op3(&gamma.contiguous()?, &beta.contiguous()?, op)?;
    let stats = match stats.lock() {
        Ok(guard) => guard.clone(),
        Err(_) => candle_core::bail!("batch-norm-train: statistics lock poisoned"),
    };
    Ok((y, stats))
}

/// Inference-mode batch norm (+ ReLU) with per-channel `scale`/`shift`;
/// composed of candle ops off the CPU or for dtypes other than f32.
pub fn batch_norm_eval(
    x: &Tensor,
    scale: Vec<f32>,
    shift: Vec<f32>,
    relu: bool,
) -> candle_core::Result<Tensor> {
    if !fusable(x) {
        return batch_norm_eval_composed(x, &scale, &shift, relu);
    }
    x.contiguous()?
        .apply_op1(BatchNormEval { scale, shift, relu })
}

/// Whether the fused CPU kernels can take `x`.
fn fusable(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == candle_core::DType::F32
}

/// [`batch_norm_train`] from stock candle ops, on any device: batch mean
/// and biased variance over (N, H, W), autograd through all of it. The
/// statistics are copied to the host (the caller updates running averages
/// there), one small transfer per call.
pub fn batch_norm_train_composed(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    relu: bool,
) -> candle_core::Result<(Tensor, BnStats)> {
    let (n, c, h, w) = x.dims4()?;
    let mean = x.mean_keepdim(0)?.mean_keepdim(2)?.mean_keepdim(3)?;
    let centred = x.broadcast_sub(&mean)?;
    let var = centred
        .sqr()?
        .mean_keepdim(0)?
        .mean_keepdim(2)?
        .mean_keepdim(3)?;
    let invstd = (var.clone() + eps)?.sqrt()?.recip()?;
    let y = centred
        .broadcast_mul(&invstd)?
        .broadcast_mul(&gamma.reshape((1, c, 1, 1))?)?
        .broadcast_add(&beta.reshape((1, c, 1, 1))?)?;
    let y = if relu { y.relu()? } else { y };
    let host = |t: &Tensor| -> candle_core::Result<Vec<f32>> {
        t.detach()
            .flatten_all()?
            .to_dtype(candle_core::DType::F32)?
            .to_vec1()
    };
    let stats = BnStats {
        mean: host(&mean)?,
        var: host(&var)?,
        invstd: host(&invstd)?,
        count: n * h * w,
    };
    Ok((y, stats))
}

/// [`batch_norm_eval`] from stock candle ops, on any device.
pub fn batch_norm_eval_composed(
    x: &Tensor,
    scale: &[f32],
    shift: &[f32],
    relu: bool,
) -> candle_core::Result<Tensor> {
    let c = x.dim(1)?;
    let as_channels =
        |v: &[f32]| Tensor::from_slice(v, (1, c, 1, 1), x.device())?.to_dtype(x.dtype());
    let y = x
        .broadcast_mul(&as_channels(scale)?)?
        .broadcast_add(&as_channels(shift)?)?;
    if relu {
        y.relu()
    } else {
        Ok(y)
    }
}
