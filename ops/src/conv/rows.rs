//! Row primitives the convolution kernels are built from.
//!
//! Each one walks a contiguous run of one output (or gradient) row, so the
//! compiler can vectorise it. The unit-stride paths work in blocks of eight
//! lanes: rows here are short (7-28 pixels), and LLVM's default loop
//! vectoriser unrolls 32 lanes deep, which would leave such rows entirely to
//! its scalar tail. `FMA` selects fused multiply-add, which is only fast in
//! code compiled with the `fma` target feature (see `kernels.rs`).

/// `a * b + c`, fused when the caller is compiled for FMA.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

const LANES: usize = 8;

/// `out[j] += a * inp[j * s]` for every `j` in `out`.
#[inline(always)]
pub fn axpy<const FMA: bool>(out: &mut [f32], inp: &[f32], a: f32, s: usize) {
    if s == 1 {
        let inp = &inp[..out.len()];
        let mut oc = out.chunks_exact_mut(LANES);
        let mut ic = inp.chunks_exact(LANES);
        for (o, i) in (&mut oc).zip(&mut ic) {
            for l in 0..LANES {
                o[l] = madd::<FMA>(a, i[l], o[l]);
            }
        }
        for (o, i) in oc.into_remainder().iter_mut().zip(ic.remainder()) {
            *o = madd::<FMA>(a, *i, *o);
        }
    } else {
        for (o, i) in out.iter_mut().zip(inp.iter().step_by(s)) {
            *o = madd::<FMA>(a, *i, *o);
        }
    }
}

/// `out[j * s] += a * inp[j]` for every `j` in `inp` (the transpose of [`axpy`]).
#[inline(always)]
pub fn scatter<const FMA: bool>(out: &mut [f32], inp: &[f32], a: f32, s: usize) {
    if s == 1 {
        axpy::<FMA>(&mut out[..inp.len()], inp, a, 1);
    } else {
        for (o, i) in out.iter_mut().step_by(s).zip(inp) {
            *o = madd::<FMA>(a, *i, *o);
        }
    }
}

/// `acc[j] += a[j] * b[j * s]` for every `j` in `acc`: a dot product kept
/// lane-wise so it vectorises without reassociating a float sum.
#[inline(always)]
pub fn mul_acc<const FMA: bool>(acc: &mut [f32], a: &[f32], b: &[f32], s: usize) {
    let a = &a[..acc.len()];
    if s == 1 {
        let b = &b[..acc.len()];
        let mut cc = acc.chunks_exact_mut(LANES);
        let mut ac = a.chunks_exact(LANES);
        let mut bc = b.chunks_exact(LANES);
        for ((c, x), y) in (&mut cc).zip(&mut ac).zip(&mut bc) {
            for l in 0..LANES {
                c[l] = madd::<FMA>(x[l], y[l], c[l]);
            }
        }
        let rest = cc
            .into_remainder()
            .iter_mut()
            .zip(ac.remainder())
            .zip(bc.remainder());
        for ((c, x), y) in rest {
            *c = madd::<FMA>(*x, *y, *c);
        }
    } else {
        for ((c, x), y) in acc.iter_mut().zip(a).zip(b.iter().step_by(s)) {
            *c = madd::<FMA>(*x, *y, *c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_match_scalar_loops() {
        let inp: Vec<f32> = (0..40).map(|i| (i as f32 * 0.37).sin()).collect();
        for s in [1, 2, 3] {
            for len in [1, 7, 8, 13] {
                let mut out: Vec<f32> = (0..len).map(|i| i as f32).collect();
                let mut want = out.clone();
                axpy::<false>(&mut out, &inp, 0.5, s);
                for (j, w) in want.iter_mut().enumerate() {
                    *w += 0.5 * inp[j * s];
                }
                assert_eq!(out, want);

                let mut acc = vec![1.0; len];
                mul_acc::<true>(&mut acc, &inp[3..], &inp, s);
                for (j, a) in acc.iter().enumerate() {
                    assert!((a - (1.0 + inp[3 + j] * inp[j * s])).abs() < 1e-6);
                }

                let mut wide = vec![0.0; len * s];
                scatter::<false>(&mut wide, &inp[..len], 2.0, s);
                for (j, v) in wide.iter().enumerate() {
                    let want = if j % s == 0 { 2.0 * inp[j / s] } else { 0.0 };
                    assert_eq!(*v, want);
                }
            }
        }
    }
}
