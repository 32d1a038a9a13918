//! ReLU whose backward is one pass. candle 0.11 differentiates `relu` with
//! five: a zero tensor, a comparison, a dtype conversion, a product and
//! the accumulation; on the NAS-Bench-201 cell network, where every
//! ReLU-Conv-BN edge starts with a ReLU, those passes were a tenth of a
//! training step. Off the CPU (CUDA) and for other dtypes this is candle's
//! `relu`.
//!
//! The gradient at exactly zero is zero, PyTorch's convention (candle's
//! own backward passes it through).

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::operand::{gradient_and_input, operand_f32};

/// Elements per rayon task: large enough that scheduling is noise.
const CHUNK: usize = 1 << 15;

/// `max(x, 0)`, differentiable.
pub fn relu(x: &Tensor) -> candle_core::Result<Tensor> {
    if !(x.device().is_cpu() && x.dtype() == DType::F32 && crate::custom_ops()) {
        return x.relu();
    }
    x.contiguous()?.apply_op1(Relu)
}

struct Relu;

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        "relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = operand_f32(self.name(), s, l)?;
        let mut y = vec![0.0f32; x.len()];
        y.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .for_each(|(y, x)| {
                for (y, &x) in y.iter_mut().zip(x) {
                    *y = x.max(0.0);
                }
            });
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, gy: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(gy.contiguous()?.apply_op2_no_bwd(x, &ReluGrad)?))
    }
}

/// `gy * (x > 0)` for arguments `(gy, x)`.
struct ReluGrad;

impl CustomOp2 for ReluGrad {
    fn name(&self) -> &'static str {
        "relu-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (gy, x) = gradient_and_input(self.name(), (s1, l1), (s2, l2))?;
        let mut gx = vec![0.0f32; x.len()];
        gx.par_chunks_mut(CHUNK)
            .zip(gy.par_chunks(CHUNK).zip(x.par_chunks(CHUNK)))
            .for_each(|(gx, (gy, x))| {
                for ((gx, &g), &x) in gx.iter_mut().zip(gy).zip(x) {
                    *gx = if x > 0.0 { g } else { 0.0 };
                }
            });
        Ok((CpuStorage::F32(gx), l1.shape().clone()))
    }
}
