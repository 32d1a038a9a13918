//! `y * w` for a tensor `y` and a one-element weight `w`, with gradients
//! to both: the mixing of a supernet layer whose straight-through weights
//! are one row for the whole batch (GDAS's hard one-hot samples). As a
//! candle `broadcast_mul`, its backward is four passes over `y` and two
//! allocations (`g * w`, `g * y`, then a reduction); here it is one pass
//! for `dy` (none when `w` is exactly 1, GDAS's straight-through value:
//! `dy` is `g` itself) and one read of `g` and `y` for `dw`. Off the CPU
//! (CUDA) and for other dtypes this is candle's `broadcast_mul`.

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::error::Error;
use crate::operand::{gradient_and_input, operand_f32};

/// Elements per rayon task; fixed, so sums do not depend on the threads.
const CHUNK: usize = 1 << 15;

/// `y * w`, `w` holding one element (any shape), differentiable in both.
pub fn scale_by(y: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let fused = y.device().is_cpu()
        && y.dtype() == DType::F32
        && w.dtype() == DType::F32
        && w.elem_count() == 1
        && crate::custom_ops();
    if !fused {
        return y.broadcast_mul(w);
    }
    y.contiguous()?.apply_op2(&w.contiguous()?, ScaleBy)
}

struct ScaleBy;

fn the_weight(op: &'static str, s: &CpuStorage, l: &Layout) -> candle_core::Result<f32> {
    let w = operand_f32(op, s, l)?;
    match w {
        [v] => Ok(*v),
        _ => Err(Error::BadOperands {
            op,
            reason: format!("the weight holds {} elements, not one", w.len()),
        }
        .into()),
    }
}

impl CustomOp2 for ScaleBy {
    fn name(&self) -> &'static str {
        "scale-by"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let y = operand_f32(self.name(), s1, l1)?;
        let w = the_weight(self.name(), s2, l2)?;
        let mut out = vec![0.0f32; y.len()];
        out.par_chunks_mut(CHUNK)
            .zip(y.par_chunks(CHUNK))
            .for_each(|(o, y)| {
                for (o, &y) in o.iter_mut().zip(y) {
                    *o = y * w;
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        y: &Tensor,
        w: &Tensor,
        _out: &Tensor,
        g: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = g.contiguous()?;
        let value = w.flatten_all()?.to_vec1::<f32>()?[0];
        let dy = if value == 1.0 {
            g.clone()
        } else {
            g.affine(f64::from(value), 0.0)?
        };
        let dw = g.apply_op2_no_bwd(y, &Dot)?.reshape(w.shape())?;
        Ok((Some(dy), Some(dw)))
    }
}

/// `sum(a * b)` as a one-element tensor, summed in fixed chunks (f64
/// within and across them), so the result does not depend on the threads.
struct Dot;

impl CustomOp2 for Dot {
    fn name(&self) -> &'static str {
        "scale-by-dot"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (a, b) = gradient_and_input(self.name(), (s1, l1), (s2, l2))?;
        let partial: Vec<f64> = a
            .par_chunks(CHUNK)
            .zip(b.par_chunks(CHUNK))
            .map(|(a, b)| a.iter().zip(b).map(|(&a, &b)| f64::from(a * b)).sum())
            .collect();
        let total: f64 = partial.iter().sum();
        Ok((CpuStorage::F32(vec![total as f32]), Shape::from(1)))
    }
}
