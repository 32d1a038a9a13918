//! Element-wise sum of same-shape tensors, split over rayon's pool.
//!
//! candle's CPU `add` runs on the calling thread alone while the worker
//! threads wait. Activation-sized sums are in every network of the suite:
//! NAS-Bench-201 cells sum each node's incoming edges (Dong & Yang 2020),
//! its reduction block and FBNet's blocks (Wu et al. 2019) add a residual.
//! Each element is summed left to right, in the order a chain of candle
//! adds would use, so results are bit-identical to that chain. Off the CPU,
//! for other dtypes, or for shapes that differ, this is candle's `add`.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, DType, Layout, Shape, Tensor};
use rayon::prelude::*;
use std::mem::MaybeUninit;

use crate::error::Error;
use crate::operand::operand_f32;
use crate::simd::write_once;

/// Elements per rayon task: large enough that scheduling is noise.
const CHUNK: usize = 1 << 15;

/// `terms[0] + terms[1] + ...`, summed left to right; differentiable.
pub fn add_n(terms: &[Tensor]) -> candle_core::Result<Tensor> {
    let Some((first, rest)) = terms.split_first() else {
        candle_core::bail!("add_n: nothing to sum");
    };
    if !fusable(terms) {
        return rest.iter().try_fold(first.clone(), |sum, t| sum + t);
    }
    let (mut sum, mut rest) = (first.contiguous()?, rest);
    // Three terms per op at most (candle's custom ops take up to three
    // arguments); a longer sum continues from the partial one.
    loop {
        sum = match rest {
            [] => return Ok(sum),
            [b] => {
                rest = &[];
                sum.apply_op2(&b.contiguous()?, Add2)?
            }
            [b, c, tail @ ..] => {
                rest = tail;
                sum.apply_op3(&b.contiguous()?, &c.contiguous()?, Add3)?
            }
        };
    }
}

/// Whether the parallel op takes these terms.
fn fusable(terms: &[Tensor]) -> bool {
    crate::custom_ops()
        && terms
            .iter()
            .all(|t| t.device().is_cpu() && t.dtype() == DType::F32 && t.dims() == terms[0].dims())
}

fn same_shape(op: &'static str, layouts: &[&Layout]) -> Result<(), Error> {
    if layouts.iter().all(|l| l.dims() == layouts[0].dims()) {
        return Ok(());
    }
    let shapes: Vec<_> = layouts.iter().map(|l| l.dims()).collect();
    Err(Error::BadOperands {
        op,
        reason: format!("terms must have one shape, got {shapes:?}"),
    })
}

/// A buffer of `len` whose every `CHUNK`-element task is written by `sum`
/// from the element offset at which the task starts.
fn par_fill(len: usize, sum: impl Fn(usize, &mut [MaybeUninit<f32>]) + Sync) -> Vec<f32> {
    let fill = |out: &mut [MaybeUninit<f32>]| {
        out.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(i, out)| sum(i * CHUNK, out));
    };
    // SAFETY: the chunks cover the buffer and `sum` writes every element
    // of the chunk it is given (both callers zip it with their terms,
    // which are as long as the buffer).
    unsafe { write_once(len, fill) }
}

/// `a + b`.
struct Add2;

impl CustomOp2 for Add2 {
    fn name(&self) -> &'static str {
        "add2"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        same_shape(self.name(), &[l1, l2])?;
        let (a, b) = (
            operand_f32(self.name(), s1, l1)?,
            operand_f32(self.name(), s2, l2)?,
        );
        let y = par_fill(a.len(), |at, out| {
            for (o, (&a, &b)) in out.iter_mut().zip(a[at..].iter().zip(&b[at..])) {
                o.write(a + b);
            }
        });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _a: &Tensor,
        _b: &Tensor,
        _y: &Tensor,
        gy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some(gy.clone()), Some(gy.clone())))
    }
}

/// `(a + b) + c`.
struct Add3;

impl CustomOp3 for Add3 {
    fn name(&self) -> &'static str {
        "add3"
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
        same_shape(op, &[l1, l2, l3])?;
        let (a, b, c) = (
            operand_f32(op, s1, l1)?,
            operand_f32(op, s2, l2)?,
            operand_f32(op, s3, l3)?,
        );
        let y = par_fill(a.len(), |at, out| {
            let terms = a[at..].iter().zip(&b[at..]).zip(&c[at..]);
            for (o, ((&a, &b), &c)) in out.iter_mut().zip(terms) {
                o.write(a + b + c);
            }
        });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _a: &Tensor,
        _b: &Tensor,
        _c: &Tensor,
        _y: &Tensor,
        gy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        Ok((Some(gy.clone()), Some(gy.clone()), Some(gy.clone())))
    }
}
