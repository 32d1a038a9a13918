//! Training-mode convolution + batch norm as one candle op: NAS-Bench-201's
//! ReLU-conv-BN unit (Dong & Yang 2020; the same order as DARTS, Liu et
//! al. 2019), and the conv-BN(-ReLU) pairs of FBNet's MBConv blocks (Wu et
//! al. 2019) and the other spaces' `ConvBn` layers.
//!
//! Why one op: candle's backward hands every intermediate tensor's
//! gradient to a fresh zero-filled accumulator and adds it there, on the
//! calling thread alone, while the worker threads wait. Between a
//! convolution and its batch norm that is a memset and an add over a whole
//! activation for every such unit. Here the convolution's output gradient
//! stays inside the op's backward: the batch-norm backward writes it, and
//! the convolution's two gradient kernels read it. The arithmetic is
//! exactly that of the convolution op ([`super::GroupedConv2d`], or
//! [`super::ReluConv2d`] with the input ReLU) followed by the batch-norm
//! op, so results are bit-identical to the unfused pair.

use candle_core::{CpuStorage, CustomOp3, Device, Layout, Shape, Tensor};
use std::sync::{Arc, Mutex};

use super::op::{f32_slice, input_and_weight_grads, relu_not_fused, ConvParams};
use super::{dense, kernels, small_plane};
use crate::bn::{train_backward, train_forward, BnStats};
use crate::error::Error;

/// What the forward leaves for the backward.
#[derive(Clone, Debug)]
struct Saved {
    /// The convolution's output, before normalisation.
    conv_out: Tensor,
    /// The batch statistics it was normalised with.
    stats: BnStats,
}

/// `act(batch_norm_train(conv2d(x', w)))` for arguments `(x, w, [gamma,
/// beta])`, the last the two per-channel vectors concatenated: `x' =
/// relu(x)` with the input ReLU (only for convolutions
/// [`super::relu_conv_fuses`] accepts), `x` otherwise; `act` a ReLU or
/// nothing.
#[derive(Clone, Debug)]
pub struct ConvBnTrain {
    params: ConvParams,
    eps: f64,
    relu_input: bool,
    relu: bool,
    saved: Arc<Mutex<Option<Saved>>>,
}

/// The op NAS-Bench-201's cells train with: input ReLU, no output ReLU.
pub type ReluConvBnTrain = ConvBnTrain;

impl ConvBnTrain {
    /// The ReLU-conv-BN op for a convolution with `params` and a batch
    /// norm adding `eps` to the variance.
    pub fn new(params: ConvParams, eps: f64) -> Self {
        Self::with_relus(params, eps, true, false)
    }

    /// The op with a ReLU on the input (`relu_input`) and after the batch
    /// norm (`relu`), each or neither.
    pub fn with_relus(params: ConvParams, eps: f64, relu_input: bool, relu: bool) -> Self {
        ConvBnTrain {
            params,
            eps,
            relu_input,
            relu,
            saved: Arc::new(Mutex::new(None)),
        }
    }

    /// The batch statistics of the last forward (for running averages).
    pub fn stats(&self) -> candle_core::Result<BnStats> {
        Ok(self.saved()?.stats)
    }

    /// The forward on contiguous operands `[(x, x_dims), (w, w_dims)]`
    /// and `[gamma, beta]`: the output and its dims, the convolution's
    /// output and the statistics saved for [`CustomOp3::bwd`].
    pub(super) fn forward(
        &self,
        [(x, x_dims), (w, w_dims)]: [(&[f32], &[usize]); 2],
        affine: &[f32],
    ) -> candle_core::Result<(Vec<f32>, [usize; 4])> {
        let op = self.name();
        let g = self.params.geom(op, x_dims, w_dims)?;
        if self.relu_input && !dense::fuses_relu(&g) {
            return Err(relu_not_fused(op, &g));
        }
        let [n, c, h, wd] = g.y_dims();
        if affine.len() != 2 * c {
            let reason = format!(
                "[gamma, beta] must have 2 x {c} elements, got {}",
                affine.len()
            );
            return Err(Error::BadConv { op, reason }.into());
        }
        let conv = if self.relu_input {
            dense::forward(&g, x, w, true, None)
        } else if dense::handles(&g) {
            small_plane::forward(&g, x, w, None)
        } else {
            kernels::forward(&g, x, w, None)
        };
        let (gamma, beta) = affine.split_at(c);
        let (y, stats) = train_forward(&conv, (n, c, h * wd), gamma, beta, self.eps, self.relu);
        let conv_out = Tensor::from_vec(conv, g.y_dims().to_vec(), &Device::Cpu)?;
        match self.saved.lock() {
            Ok(mut guard) => *guard = Some(Saved { conv_out, stats }),
            Err(_) => {
                let reason = "saved state lock poisoned".into();
                return Err(Error::BadConv { op, reason }.into());
            }
        }
        Ok((y, g.y_dims()))
    }

    fn saved(&self) -> candle_core::Result<Saved> {
        let fail = |reason: &str| -> candle_core::Error {
            Error::BadConv {
                op: "relu-conv-bn-train",
                reason: reason.into(),
            }
            .into()
        };
        match self.saved.lock() {
            Ok(guard) => guard.clone().ok_or_else(|| fail("the forward has not run")),
            Err(_) => Err(fail("saved state lock poisoned")),
        }
    }
}

impl CustomOp3 for ConvBnTrain {
    fn name(&self) -> &'static str {
        if self.relu_input {
            "relu-conv-bn-train"
        } else {
            "conv-bn-train"
        }
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
        let (x, w, affine) = (
            f32_slice(op, s1, l1)?,
            f32_slice(op, s2, l2)?,
            f32_slice(op, s3, l3)?,
        );
        let (y, dims) = self.forward([(x, l1.dims()), (w, l2.dims())], affine)?;
        Ok((CpuStorage::F32(y), Shape::from(dims.to_vec())))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        affine: &Tensor,
        y: &Tensor,
        gy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let Saved { conv_out, stats } = self.saved()?;
        let c = stats.mean.len();
        let gamma = affine.narrow(0, 0, c)?.to_vec1()?;
        let (g_conv, dgamma, dbeta) = train_backward(&conv_out, gamma, y, gy, stats, self.relu)?;
        let (gx, gw) = input_and_weight_grads(self.params, x, w, &g_conv, self.relu_input)?;
        let g_affine = Tensor::from_vec([dgamma, dbeta].concat(), 2 * c, x.device())?;
        Ok((Some(gx), Some(gw), Some(g_affine)))
    }
}
