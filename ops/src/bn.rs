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

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

use crate::error::Error;

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
    let CpuStorage::F32(v) = s else {
        return Err(Error::UnsupportedDtype {
            op,
            dtype: format!("{:?}", s.dtype()),
        });
    };
    let (start, end) = l
        .contiguous_offsets()
        .ok_or_else(|| bad(op, "operand is not contiguous".into()))?;
    v.get(start..end)
        .ok_or_else(|| bad(op, "layout lies outside its storage".into()))
}

/// `(n, c, plane)` of a 4-D layout.
fn nc_plane(op: &'static str, l: &Layout) -> Result<(usize, usize, usize), Error> {
    match l.dims() {
        &[n, c, h, w] => Ok((n, c, h * w)),
        d => Err(bad(op, format!("expects a 4-D NCHW tensor, got {d:?}"))),
    }
}

const LANES: usize = 16;

/// Sum of `f(v)` over a slice with fixed-width lanes (vectorisable, and the
/// same order on every run).
#[inline]
fn lane_sum(xs: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut acc = [0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a += f(v);
        }
    }
    let mut total: f64 = acc.iter().map(|&a| f64::from(a)).sum();
    for &v in chunks.remainder() {
        total += f64::from(f(v));
    }
    total
}

/// Mean, biased variance and inverse std of every channel.
fn channel_stats(x: &[f32], n: usize, c: usize, plane: usize, eps: f64) -> BnStats {
    let count = n * plane;
    let per_channel: Vec<(f32, f32, f32)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let planes = || (0..n).map(move |i| &x[(i * c + ch) * plane..][..plane]);
            let sum: f64 = planes().map(|p| lane_sum(p, |v| v)).sum();
            let mean = sum / count.max(1) as f64;
            let m = mean as f32;
            let sq: f64 = planes()
                .map(|p| {
                    lane_sum(p, |v| {
                        let d = v - m;
                        d * d
                    })
                })
                .sum();
            let var = sq / count.max(1) as f64;
            (m, var as f32, (1.0 / (var + eps).sqrt()) as f32)
        })
        .collect();
    BnStats {
        mean: per_channel.iter().map(|s| s.0).collect(),
        var: per_channel.iter().map(|s| s.1).collect(),
        invstd: per_channel.iter().map(|s| s.2).collect(),
        count,
    }
}

/// `y = act(x * scale[c] + shift[c])` plane by plane.
fn affine(x: &[f32], c: usize, plane: usize, scale: &[f32], shift: &[f32], relu: bool) -> Vec<f32> {
    let mut y = vec![0f32; x.len()];
    y.par_chunks_mut(plane)
        .zip(x.par_chunks(plane))
        .enumerate()
        .for_each(|(p, (yp, xp))| {
            let (a, b) = (scale[p % c], shift[p % c]);
            if relu {
                for (o, &v) in yp.iter_mut().zip(xp) {
                    *o = (v * a + b).max(0.0);
                }
            } else {
                for (o, &v) in yp.iter_mut().zip(xp) {
                    *o = v * a + b;
                }
            }
        });
    y
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
        let stats = channel_stats(x, n, c, plane, self.eps);
        let scale: Vec<f32> = gamma
            .iter()
            .zip(&stats.invstd)
            .map(|(g, s)| g * s)
            .collect();
        let shift: Vec<f32> = (0..c).map(|i| beta[i] - stats.mean[i] * scale[i]).collect();
        let y = affine(x, c, plane, &scale, &shift, self.relu);
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
        let gamma_host: Vec<f32> = gamma.to_vec1()?;
        let gy = gy.contiguous()?;
        let sums = x.apply_op3_no_bwd(
            y,
            &gy,
            &BatchNormGradSums {
                mean: stats.mean.clone(),
                invstd: stats.invstd.clone(),
                relu: self.relu,
            },
        )?;
        let sums: Vec<Vec<f32>> = sums.to_vec2()?;
        let (sum_g, sum_gx) = (sums[0].clone(), sums[1].clone());
        let gx = x.apply_op3_no_bwd(
            y,
            &gy,
            &BatchNormGradInput {
                mean: stats.mean,
                invstd: stats.invstd,
                gamma: gamma_host,
                sum_g: sum_g.clone(),
                sum_gx: sum_gx.clone(),
                relu: self.relu,
            },
        )?;
        let dev = x.device();
        let c = sum_g.len();
        Ok((
            Some(gx),
            Some(Tensor::from_vec(sum_gx, c, dev)?),
            Some(Tensor::from_vec(sum_g, c, dev)?),
        ))
    }
}

/// `(sum g, sum g * (x - m))` over one plane, `g = dy` masked by `y > 0`
/// when `RELU`; fixed-width lanes, so it vectorises and sums in a fixed
/// order.
#[inline]
fn plane_grad_sums<const RELU: bool>(xp: &[f32], yp: &[f32], gp: &[f32], m: f32) -> (f64, f64) {
    let mut acc_g = [0f32; LANES];
    let mut acc_gx = [0f32; LANES];
    let mask = |y: f32, g: f32| if !RELU || y > 0.0 { g } else { 0.0 };
    let mut xs = xp.chunks_exact(LANES);
    let mut ys = yp.chunks_exact(LANES);
    let mut gs = gp.chunks_exact(LANES);
    for ((xc, yc), gc) in (&mut xs).zip(&mut ys).zip(&mut gs) {
        for l in 0..LANES {
            let g = mask(yc[l], gc[l]);
            acc_g[l] += g;
            acc_gx[l] += g * (xc[l] - m);
        }
    }
    let (mut tg, mut tgx) = (0f64, 0f64);
    for ((&xv, &yv), &gv) in xs
        .remainder()
        .iter()
        .zip(ys.remainder())
        .zip(gs.remainder())
    {
        let g = mask(yv, gv);
        tg += f64::from(g);
        tgx += f64::from(g * (xv - m));
    }
    let sum = |acc: [f32; LANES]| acc.iter().map(|&v| f64::from(v)).sum::<f64>();
    (sum(acc_g) + tg, sum(acc_gx) + tgx)
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

/// `[2, C]`: per channel `sum g` and `sum g * xhat` for arguments
/// `(x, y, dy)`, where `g = dy` masked by `y > 0` under ReLU.
#[derive(Clone, Debug)]
pub struct BatchNormGradSums {
    /// Batch mean per channel.
    pub mean: Vec<f32>,
    /// Inverse std per channel.
    pub invstd: Vec<f32>,
    /// Whether the forward applied a ReLU.
    pub relu: bool,
}

impl CustomOp3 for BatchNormGradSums {
    fn name(&self) -> &'static str {
        "batch-norm-grad-sums"
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
        let (x, y, gy, (n, c, plane)) =
            backward_operands(self.name(), [(s1, l1), (s2, l2), (s3, l3)], self.mean.len())?;
        let sums: Vec<(f32, f32)> = (0..c)
            .into_par_iter()
            .map(|ch| {
                let (m, s) = (self.mean[ch], self.invstd[ch]);
                let (mut sg, mut sgx) = (0f64, 0f64);
                for i in 0..n {
                    let at = (i * c + ch) * plane;
                    let (xp, yp, gp) = (&x[at..][..plane], &y[at..][..plane], &gy[at..][..plane]);
                    let (g, gx) = if self.relu {
                        plane_grad_sums::<true>(xp, yp, gp, m)
                    } else {
                        plane_grad_sums::<false>(xp, yp, gp, m)
                    };
                    sg += g;
                    sgx += gx;
                }
                (sg as f32, (sgx * f64::from(s)) as f32)
            })
            .collect();
        let mut out = Vec::with_capacity(2 * c);
        out.extend(sums.iter().map(|s| s.0));
        out.extend(sums.iter().map(|s| s.1));
        Ok((CpuStorage::F32(out), Shape::from((2, c))))
    }
}

/// The input gradient for arguments `(x, y, dy)` given the sums.
#[derive(Clone, Debug)]
pub struct BatchNormGradInput {
    /// Batch mean per channel.
    pub mean: Vec<f32>,
    /// Inverse std per channel.
    pub invstd: Vec<f32>,
    /// Scale per channel.
    pub gamma: Vec<f32>,
    /// `sum g` per channel.
    pub sum_g: Vec<f32>,
    /// `sum g * xhat` per channel.
    pub sum_gx: Vec<f32>,
    /// Whether the forward applied a ReLU.
    pub relu: bool,
}

impl CustomOp3 for BatchNormGradInput {
    fn name(&self) -> &'static str {
        "batch-norm-grad-input"
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
        let (x, y, gy, (n, c, plane)) =
            backward_operands(self.name(), [(s1, l1), (s2, l2), (s3, l3)], self.mean.len())?;
        let m = (n * plane).max(1) as f32;
        let mut gx = vec![0f32; x.len()];
        gx.par_chunks_mut(plane).enumerate().for_each(|(p, out)| {
            let ch = p % c;
            let (mean, s) = (self.mean[ch], self.invstd[ch]);
            let k = self.gamma[ch] * s;
            // dx = k * (g - sum_g / M - (x - mean) * s * sum_gx / M)
            let (a, b) = (k * s * self.sum_gx[ch] / m, k * self.sum_g[ch] / m);
            let at = p * plane;
            let (xp, yp, gp) = (&x[at..][..plane], &y[at..][..plane], &gy[at..][..plane]);
            let rows = out.iter_mut().zip(xp).zip(yp).zip(gp);
            if self.relu {
                for (((o, &xv), &yv), &gv) in rows {
                    let g = if yv > 0.0 { gv } else { 0.0 };
                    *o = k * g - b - (xv - mean) * a;
                }
            } else {
                for (((o, &xv), _), &gv) in rows {
                    *o = k * gv - b - (xv - mean) * a;
                }
            }
        });
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
        let (_, c, plane) = nc_plane(op, l)?;
        let x = f32_data(op, s, l)?;
        if self.scale.len() != c || self.shift.len() != c {
            return Err(bad(op, format!("scale/shift must have {c} elements")).into());
        }
        let y = affine(x, c, plane, &self.scale, &self.shift, self.relu);
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
