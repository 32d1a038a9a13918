//! Convolution followed by inference-mode batch norm (+ ReLU) as one op:
//! the batch norm's per-channel `scale`/`shift` (from the running
//! statistics) and the ReLU run as an [`Epilogue`] on each sample's
//! output while it is in cache, instead of as a second pass over the
//! activation in memory. Evaluation of every trained network (FBNet's
//! MBConv blocks, the NAS-Bench-201 cell's ReLU-conv-BN edges) is a chain
//! of such pairs. The output and both gradients are bit-identical to the
//! unfused pair: the epilogue computes `x * scale + shift` exactly as the
//! batch-norm kernel does, and the backward is that op's backward followed
//! by the convolution's.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};

use super::epilogue::Epilogue;
use super::op::{f32_slice, input_and_weight_grads, relu_not_fused};
use super::{dense, kernels, small_plane, ConvParams};
use crate::error::Error;

/// `act(conv2d(x, w) * scale + shift)` per output channel, or of
/// `conv2d(relu(x), w)` when `relu_input`, for arguments `(x, w)`.
#[derive(Clone, Debug)]
pub struct ConvBnEval {
    /// The convolution's hyper-parameters.
    pub params: ConvParams,
    /// Per output channel: `gamma / sqrt(running_var + eps)`.
    pub scale: Vec<f32>,
    /// Per output channel: `beta - running_mean * scale`.
    pub shift: Vec<f32>,
    /// Apply a ReLU after the batch norm.
    pub relu: bool,
    /// Read `relu(x)` (needs [`super::relu_conv_fuses`]).
    pub relu_input: bool,
}

impl CustomOp2 for ConvBnEval {
    fn name(&self) -> &'static str {
        "conv2d-bn-eval"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.params.geom(self.name(), l1.dims(), l2.dims())?;
        if self.scale.len() != g.c_out || self.shift.len() != g.c_out {
            return Err(Error::BadConv {
                op: self.name(),
                reason: format!(
                    "{} scales and {} shifts for {} output channels",
                    self.scale.len(),
                    self.shift.len(),
                    g.c_out
                ),
            }
            .into());
        }
        if self.relu_input && !dense::fuses_relu(&g) {
            return Err(relu_not_fused(self.name(), &g));
        }
        let x = f32_slice(self.name(), s1, l1)?;
        let w = f32_slice(self.name(), s2, l2)?;
        let epilogue = Some(Epilogue {
            scale: &self.scale,
            shift: &self.shift,
            relu: self.relu,
        });
        let y = if self.relu_input {
            dense::forward(&g, x, w, true, epilogue)
        } else if dense::handles(&g) {
            small_plane::forward(&g, x, w, epilogue)
        } else {
            kernels::forward(&g, x, w, epilogue)
        };
        Ok((CpuStorage::F32(y), Shape::from(g.y_dims().to_vec())))
    }

    /// Inference-mode batch norm treats its coefficients as constants (as
    /// [`crate::batch_norm_eval`] does), so only `x` and `w` get gradients.
    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        y: &Tensor,
        gy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let c = self.scale.len();
        let scale = Tensor::from_slice(&self.scale, (1, c, 1, 1), y.device())?;
        let mut g = gy.broadcast_mul(&scale)?;
        if self.relu {
            g = (g * y.gt(0f32)?.to_dtype(gy.dtype())?)?;
        }
        let (gx, gw) =
            input_and_weight_grads(self.params, x, w, &g.contiguous()?, self.relu_input)?;
        Ok((Some(gx), Some(gw)))
    }
}
