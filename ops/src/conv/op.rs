//! The candle custom ops around the convolution kernels: the forward
//! convolution, whose backward is built from the two gradient ops, so that
//! training never touches candle's per-group convolution or its
//! transposed-convolution backward. Dense convolutions (`groups == 1`) run
//! as im2col + GEMM ([`super::dense`]), grouped ones on the direct kernels.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};

use super::geom::ConvGeom;
use super::{dense, kernels, small_plane};
use crate::error::Error;
use crate::operand::contiguous_f32;

/// Hyper-parameters shared by the three ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvParams {
    /// Stride (both axes).
    pub stride: usize,
    /// Zero padding (both axes, both sides).
    pub padding: usize,
    /// Dilation (both axes).
    pub dilation: usize,
    /// Number of channel groups.
    pub groups: usize,
}

impl ConvParams {
    pub(super) fn geom(
        &self,
        op: &'static str,
        x: &[usize],
        w: &[usize],
    ) -> Result<ConvGeom, Error> {
        ConvGeom::new(
            op,
            x,
            w,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )
    }
}

/// The f32 data of a contiguous tensor, or an error naming the op.
pub(super) fn f32_slice<'a>(
    op: &'static str,
    s: &'a CpuStorage,
    l: &Layout,
) -> Result<&'a [f32], Error> {
    contiguous_f32(op, s, l, |op, reason| Error::BadConv { op, reason })
}

/// Checks that a gradient has the shape the forward produced.
fn expect_dims(op: &'static str, what: &str, got: &[usize], want: [usize; 4]) -> Result<(), Error> {
    if got == want {
        Ok(())
    } else {
        Err(Error::BadConv {
            op,
            reason: format!("{what} has shape {got:?}, expected {want:?}"),
        })
    }
}

/// A 4-D tensor's shape as an array.
fn dims4(t: &Tensor) -> candle_core::Result<[usize; 4]> {
    let (a, b, c, d) = t.dims4()?;
    Ok([a, b, c, d])
}

/// The weight gradient of a forward op with `params` on `x` and `w`
/// (through a ReLU when `relu_input`), from the contiguous `gy`.
pub(super) fn grad_weight(
    params: ConvParams,
    x: &Tensor,
    w: &Tensor,
    gy: &Tensor,
    relu_input: bool,
) -> candle_core::Result<Tensor> {
    let op = GroupedConv2dGradWeight {
        params,
        w_dims: dims4(w)?,
        relu_input,
    };
    x.apply_op2_no_bwd(gy, &op)
}

/// The input and weight gradients of a forward op with `params` on `x`
/// and `w` (through a ReLU when `relu_input`), from the contiguous `gy`.
pub(super) fn input_and_weight_grads(
    params: ConvParams,
    x: &Tensor,
    w: &Tensor,
    gy: &Tensor,
    relu_input: bool,
) -> candle_core::Result<(Tensor, Tensor)> {
    let gx = if relu_input {
        gy.apply_op3_no_bwd(w, x, &ReluConv2dGradInput(params))?
    } else {
        let op = GroupedConv2dGradInput {
            params,
            x_dims: dims4(x)?,
        };
        gy.apply_op2_no_bwd(w, &op)?
    };
    Ok((gx, grad_weight(params, x, w, gy, relu_input)?))
}

/// `y = conv2d(x, w)` for arguments `(x, w)`.
#[derive(Clone, Copy, Debug)]
pub struct GroupedConv2d(pub ConvParams);

/// Input gradient for arguments `(grad_y, w)`; needs the input's shape.
#[derive(Clone, Copy, Debug)]
pub struct GroupedConv2dGradInput {
    /// The forward op's hyper-parameters.
    pub params: ConvParams,
    /// Shape of the forward op's input.
    pub x_dims: [usize; 4],
}

/// Weight gradient for arguments `(x, grad_y)`; needs the weight's shape.
#[derive(Clone, Copy, Debug)]
pub struct GroupedConv2dGradWeight {
    /// The forward op's hyper-parameters.
    pub params: ConvParams,
    /// Shape of the forward op's weight.
    pub w_dims: [usize; 4],
    /// Whether the forward read `relu(x)` ([`ReluConv2d`]).
    pub relu_input: bool,
}

/// `y = conv2d(relu(x), w)` for arguments `(x, w)`, the ReLU applied while
/// the input is copied into the convolution's padded frame, so that the
/// rectified tensor (and its gradient) never exists: NAS-Bench-201's
/// ReLU-conv-BN edges. Only for convolutions [`relu_conv_fuses`] accepts.
#[derive(Clone, Copy, Debug)]
pub struct ReluConv2d(pub ConvParams);

/// Whether [`ReluConv2d`] runs a convolution of `x` by `w` with `params`
/// (dense or grouped with several channels per group, stride 1, padding at
/// most the dilated kernel's reach).
pub fn relu_conv_fuses(params: &ConvParams, x: &[usize], w: &[usize]) -> bool {
    params
        .geom("relu-conv2d", x, w)
        .is_ok_and(|g| dense::fuses_relu(&g))
}

impl CustomOp2 for GroupedConv2d {
    fn name(&self) -> &'static str {
        "grouped-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.0.geom(self.name(), l1.dims(), l2.dims())?;
        let x = f32_slice(self.name(), s1, l1)?;
        let w = f32_slice(self.name(), s2, l2)?;
        Ok((
            CpuStorage::F32(if dense::handles(&g) {
                small_plane::forward(&g, x, w, None)
            } else {
                kernels::forward(&g, x, w, None)
            }),
            Shape::from(g.y_dims().to_vec()),
        ))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        gy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (gx, gw) = input_and_weight_grads(self.0, x, w, &gy.contiguous()?, false)?;
        Ok((Some(gx), Some(gw)))
    }
}

impl CustomOp2 for GroupedConv2dGradInput {
    fn name(&self) -> &'static str {
        "grouped-conv2d-grad-input"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.params.geom(self.name(), &self.x_dims, l2.dims())?;
        expect_dims(self.name(), "the output gradient", l1.dims(), g.y_dims())?;
        let gy = f32_slice(self.name(), s1, l1)?;
        let w = f32_slice(self.name(), s2, l2)?;
        Ok((
            CpuStorage::F32(if dense::handles(&g) {
                small_plane::backward_input(&g, gy, w)
            } else {
                kernels::backward_input(&g, gy, w)
            }),
            Shape::from(self.x_dims.to_vec()),
        ))
    }
}

impl CustomOp2 for GroupedConv2dGradWeight {
    fn name(&self) -> &'static str {
        "grouped-conv2d-grad-weight"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.params.geom(self.name(), l1.dims(), &self.w_dims)?;
        expect_dims(self.name(), "the output gradient", l2.dims(), g.y_dims())?;
        let x = f32_slice(self.name(), s1, l1)?;
        let gy = f32_slice(self.name(), s2, l2)?;
        Ok((
            CpuStorage::F32(if dense::handles(&g) && !self.relu_input {
                small_plane::backward_weight(&g, x, gy)
            } else if dense::handles(&g) {
                dense::backward_weight(&g, x, gy, true)
            } else if self.relu_input {
                return Err(relu_not_fused(self.name(), &g));
            } else {
                kernels::backward_weight(&g, x, gy)
            }),
            Shape::from(self.w_dims.to_vec()),
        ))
    }
}

pub(super) fn relu_not_fused(op: &'static str, g: &ConvGeom) -> candle_core::Error {
    Error::BadConv {
        op,
        reason: format!("cannot fuse a ReLU into this convolution: {g:?}"),
    }
    .into()
}

impl CustomOp2 for ReluConv2d {
    fn name(&self) -> &'static str {
        "relu-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.0.geom(self.name(), l1.dims(), l2.dims())?;
        if !dense::fuses_relu(&g) {
            return Err(relu_not_fused(self.name(), &g));
        }
        let x = f32_slice(self.name(), s1, l1)?;
        let w = f32_slice(self.name(), s2, l2)?;
        let y = dense::forward(&g, x, w, true, None);
        Ok((CpuStorage::F32(y), Shape::from(g.y_dims().to_vec())))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        gy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (gx, gw) = input_and_weight_grads(self.0, x, w, &gy.contiguous()?, true)?;
        Ok((Some(gx), Some(gw)))
    }
}

/// Input gradient of [`ReluConv2d`] for arguments `(grad_y, w, x)`: the
/// convolution's input gradient, zero where `x` was not positive (the
/// ReLU's backward, applied while the result is written).
#[derive(Clone, Copy, Debug)]
pub(super) struct ReluConv2dGradInput(pub(super) ConvParams);

impl CustomOp3 for ReluConv2dGradInput {
    fn name(&self) -> &'static str {
        "relu-conv2d-grad-input"
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
        let g = self.0.geom(self.name(), l3.dims(), l2.dims())?;
        if !dense::fuses_relu(&g) {
            return Err(relu_not_fused(self.name(), &g));
        }
        expect_dims(self.name(), "the output gradient", l1.dims(), g.y_dims())?;
        let gy = f32_slice(self.name(), s1, l1)?;
        let w = f32_slice(self.name(), s2, l2)?;
        let x = f32_slice(self.name(), s3, l3)?;
        let gx = dense::backward_input(&g, gy, w, Some(x));
        Ok((CpuStorage::F32(gx), Shape::from(g.x_dims().to_vec())))
    }
}
