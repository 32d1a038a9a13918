//! The per-channel passes of the fused batch norm, on the planes
//! (`H * W` floats each, one per sample) of one channel.
//!
//! Each pass is written once over [`F32x16`] and compiled for AVX-512,
//! AVX2 and portable code ([`isa_dispatch`]); sums keep sixteen f32 lanes
//! per plane and add them, then the per-plane totals, in f64 in a fixed
//! order, so every build and every thread count gives the same bits.

use std::mem::MaybeUninit;

use crate::simd::{isa_dispatch, prefetch, F32x16, PREFETCH_AHEAD, WIDTH};

/// Input planes of one channel.
pub type Planes<'a, 'b> = &'a [&'b [f32]];
/// Output planes of one channel, written once.
pub type OutPlanes<'a, 'b> = &'a mut [&'b mut [MaybeUninit<f32>]];

/// Prefetches plane `j` of each operand, if there is one.
#[inline(always)]
fn prefetch_planes(j: usize, operands: [Planes; 3]) {
    for planes in operands {
        if let Some(p) = planes.get(j) {
            prefetch(p);
        }
    }
}

/// `Σ_planes Σ f(x)` with `f` applied lane-wise (`fv`) and to the tail
/// (`fs`): lanes of f32, then f64.
#[inline(always)]
fn lane_total<V: F32x16>(xs: Planes, fv: impl Fn(V) -> V, fs: impl Fn(f32) -> f32) -> f64 {
    let mut total = 0f64;
    for (j, xp) in xs.iter().enumerate() {
        if let Some(ahead) = xs.get(j + PREFETCH_AHEAD) {
            prefetch(ahead);
        }
        let mut acc = V::splat(0.0);
        let mut chunks = xp.chunks_exact(WIDTH);
        for chunk in &mut chunks {
            acc = acc.add(fv(V::load(chunk)));
        }
        let mut plane: f64 = acc.to_array().iter().map(|&a| f64::from(a)).sum();
        for &v in chunks.remainder() {
            plane += f64::from(fs(v));
        }
        total += plane;
    }
    total
}

/// `(mean, biased variance)` of one channel (two passes: the sum, then
/// the centred squares, which the second pass reads from cache).
#[inline(always)]
fn mean_var_k<V: F32x16>(xs: Planes, count: usize) -> (f32, f64) {
    let count = count.max(1) as f64;
    let mean = (lane_total::<V>(xs, |v| v, |v| v) / count) as f32;
    let mv = V::splat(mean);
    let sq = lane_total::<V>(
        xs,
        |v| {
            let d = v.sub(mv);
            d.mul(d)
        },
        |v| {
            let d = v - mean;
            d * d
        },
    );
    (mean, sq / count)
}

isa_dispatch!(
    /// Mean and biased variance (f64) of one channel of `count` elements.
    pub fn mean_var = mean_var_k(xs: Planes, count: usize) -> (f32, f64)
);

/// `out = f(x)` plane by plane, `fv` on whole lanes and `fs` on the tail.
#[inline(always)]
fn map_planes<V: F32x16>(xs: Planes, out: OutPlanes, fv: impl Fn(V) -> V, fs: impl Fn(f32) -> f32) {
    for (xp, op) in xs.iter().zip(out.iter_mut()) {
        let mut xc = xp.chunks_exact(WIDTH);
        let mut oc = op.chunks_exact_mut(WIDTH);
        for (x, o) in (&mut xc).zip(&mut oc) {
            fv(V::load(x)).store(o);
        }
        for (x, o) in xc.remainder().iter().zip(oc.into_remainder()) {
            o.write(fs(*x));
        }
    }
}

/// `y = act(x * a + b)`, plane `j` with `a = scale[j % len]`, `b =
/// shift[j % len]`: one pair for all the planes of a channel, or one per
/// channel for the planes of a sample.
#[inline(always)]
fn affine_k<V: F32x16>(xs: Planes, out: OutPlanes, scale: &[f32], shift: &[f32], relu: bool) {
    let cycle = scale.len().min(shift.len()).max(1);
    for (j, (xp, op)) in xs.iter().zip(out.iter_mut()).enumerate() {
        let (a, b) = (scale[j % cycle], shift[j % cycle]);
        let (av, bv) = (V::splat(a), V::splat(b));
        let (plane_x, plane_out) = (std::slice::from_ref(xp), std::slice::from_mut(op));
        if relu {
            let fs = |x: f32| {
                let t = x * a + b;
                if t > 0.0 {
                    t
                } else {
                    0.0
                }
            };
            map_planes::<V>(plane_x, plane_out, |x| x.mul(av).add(bv).relu(), fs);
        } else {
            map_planes::<V>(plane_x, plane_out, |x| x.mul(av).add(bv), |x| x * a + b);
        }
    }
}

isa_dispatch!(
    /// Writes `y = act(x * scale + shift)` (every element of `out`),
    /// coefficients cycling over the planes as in `affine_k`.
    pub fn affine = affine_k(xs: Planes, out: OutPlanes, scale: &[f32], shift: &[f32], relu: bool) -> ()
);

/// `y = act(y * scale[c] + shift[c])` in place over `y`, which holds
/// planes of `plane` values, one per channel `c`: inference-mode batch norm
/// applied to a convolution's output while it is still in cache.
#[inline(always)]
fn affine_in_place_k<V: F32x16>(
    y: &mut [f32],
    plane: usize,
    scale: &[f32],
    shift: &[f32],
    relu: bool,
) {
    let planes = y.chunks_exact_mut(plane.max(1));
    for ((yp, &a), &b) in planes.zip(scale).zip(shift) {
        let (av, bv) = (V::splat(a), V::splat(b));
        let mut chunks = yp.chunks_exact_mut(WIDTH);
        for chunk in &mut chunks {
            let t = V::load(chunk).mul(av).add(bv);
            let t = if relu { t.relu() } else { t };
            // SAFETY: same layout; only initialised floats are stored.
            t.store(unsafe { &mut *(chunk as *mut [f32] as *mut [MaybeUninit<f32>]) });
        }
        for v in chunks.into_remainder() {
            let t = *v * a + b;
            *v = if !relu || t > 0.0 { t } else { 0.0 };
        }
    }
}

isa_dispatch!(
    /// `y = act(y * scale + shift)` in place, plane by plane, one
    /// coefficient pair per plane (channel) of `plane` values.
    pub fn affine_in_place = affine_in_place_k(y: &mut [f32], plane: usize, scale: &[f32], shift: &[f32], relu: bool) -> ()
);

/// `(sum g, sum g * (x - m))` of one channel, `g = dy` masked by `y > 0`
/// under ReLU.
#[inline(always)]
fn grad_sums_k<V: F32x16>(xs: Planes, ys: Planes, gs: Planes, m: f32, relu: bool) -> (f64, f64) {
    let mv = V::splat(m);
    let (mut tg, mut tgx) = (0f64, 0f64);
    for (j, ((xp, yp), gp)) in xs.iter().zip(ys).zip(gs).enumerate() {
        prefetch_planes(j + PREFETCH_AHEAD, [xs, ys, gs]);
        let (mut ag, mut agx) = (V::splat(0.0), V::splat(0.0));
        let (mut xc, mut yc, mut gc) = (
            xp.chunks_exact(WIDTH),
            yp.chunks_exact(WIDTH),
            gp.chunks_exact(WIDTH),
        );
        for ((x, y), g) in (&mut xc).zip(&mut yc).zip(&mut gc) {
            let g = V::load(g);
            let g = if relu {
                g.where_positive(V::load(y))
            } else {
                g
            };
            ag = ag.add(g);
            agx = agx.add(g.mul(V::load(x).sub(mv)));
        }
        let fold = |a: V| a.to_array().iter().map(|&v| f64::from(v)).sum::<f64>();
        let (mut pg, mut pgx) = (fold(ag), fold(agx));
        let tail = xc
            .remainder()
            .iter()
            .zip(yc.remainder())
            .zip(gc.remainder());
        for ((&x, &y), &g) in tail {
            let g = if !relu || y > 0.0 { g } else { 0.0 };
            pg += f64::from(g);
            pgx += f64::from(g * (x - m));
        }
        tg += pg;
        tgx += pgx;
    }
    (tg, tgx)
}

isa_dispatch!(
    /// `(sum g, sum g * (x - m))` of one channel.
    pub fn grad_sums = grad_sums_k(xs: Planes, ys: Planes, gs: Planes, m: f32, relu: bool) -> (f64, f64)
);

/// Per-channel constants of the input gradient
/// `dx = k * g - b - (x - mean) * a`.
#[derive(Clone, Copy, Debug)]
pub struct GradCoefs {
    pub k: f32,
    pub a: f32,
    pub b: f32,
    pub mean: f32,
}

/// Writes `dx` for one channel.
#[inline(always)]
fn grad_input_k<V: F32x16>(
    xs: Planes,
    ys: Planes,
    gs: Planes,
    out: OutPlanes,
    c: GradCoefs,
    relu: bool,
) {
    let (k, a, b, mean) = (
        V::splat(c.k),
        V::splat(c.a),
        V::splat(c.b),
        V::splat(c.mean),
    );
    for (j, (((xp, yp), gp), op)) in xs.iter().zip(ys).zip(gs).zip(out.iter_mut()).enumerate() {
        prefetch_planes(j + PREFETCH_AHEAD, [xs, ys, gs]);
        let (mut xc, mut yc, mut gc) = (
            xp.chunks_exact(WIDTH),
            yp.chunks_exact(WIDTH),
            gp.chunks_exact(WIDTH),
        );
        let mut oc = op.chunks_exact_mut(WIDTH);
        for (((x, y), g), o) in (&mut xc).zip(&mut yc).zip(&mut gc).zip(&mut oc) {
            let g = V::load(g);
            let g = if relu {
                g.where_positive(V::load(y))
            } else {
                g
            };
            let centred = V::load(x).sub(mean).mul(a);
            k.mul(g).sub(b).sub(centred).store(o);
        }
        let tail = xc
            .remainder()
            .iter()
            .zip(yc.remainder())
            .zip(gc.remainder());
        for (((&x, &y), &g), o) in tail.zip(oc.into_remainder()) {
            let g = if !relu || y > 0.0 { g } else { 0.0 };
            o.write(c.k * g - c.b - (x - c.mean) * c.a);
        }
    }
}

isa_dispatch!(
    /// Writes the input gradient of one channel (every element of `out`).
    pub fn grad_input = grad_input_k(
        xs: Planes, ys: Planes, gs: Planes, out: OutPlanes, c: GradCoefs, relu: bool
    ) -> ()
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::{write_once, Isa};

    /// Deterministic values in about [-1.5, 1.5] with exact zeros mixed in.
    fn values(len: usize, phase: f32) -> Vec<f32> {
        (0..len)
            .map(|i| match i % 7 {
                3 => 0.0,
                _ => (i as f32 * 0.61 + phase).sin() * 1.5,
            })
            .collect()
    }

    fn planes(v: &[f32], plane: usize) -> Vec<&[f32]> {
        v.chunks(plane).collect()
    }

    /// Plane lengths with and without a tail, shorter than one vector too.
    const PLANES: [usize; 4] = [49, 16, 5, 37];

    fn run_all(isa: Isa, plane: usize, relu: bool) -> (Vec<f32>, Vec<u64>) {
        let (x, y, g) = (
            values(3 * plane, 0.1),
            values(3 * plane, 0.7),
            values(3 * plane, 2.0),
        );
        let (xs, ys, gs) = (planes(&x, plane), planes(&y, plane), planes(&g, plane));
        let (mean, var) = mean_var(isa, &xs, x.len());
        let (sg, sgx) = grad_sums(isa, &xs, &ys, &gs, mean, relu);
        let coefs = GradCoefs {
            k: 0.9,
            a: 0.3,
            b: -0.2,
            mean,
        };
        let write = |f: &dyn Fn(OutPlanes)| {
            // SAFETY: the kernels write every element of every plane.
            unsafe {
                write_once(x.len(), |out| {
                    f(&mut out.chunks_mut(plane).collect::<Vec<_>>())
                })
            }
        };
        let mut out = write(&|o| affine(isa, &xs, o, &[1.3, 0.7], &[0.25, -0.1], relu));
        out.extend(write(&|o| grad_input(isa, &xs, &ys, &gs, o, coefs, relu)));
        let bits = [mean as f64, var, sg, sgx].map(f64::to_bits).to_vec();
        (out, bits)
    }

    #[test]
    fn every_instruction_set_gives_the_scalar_bits() {
        for plane in PLANES {
            for relu in [false, true] {
                let (want, want_sums) = run_all(Isa::Portable, plane, relu);
                for isa in Isa::available() {
                    let (got, sums) = run_all(isa, plane, relu);
                    let same = got
                        .iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{isa:?} plane {plane} relu {relu}");
                    assert_eq!(sums, want_sums, "{isa:?} plane {plane} relu {relu}");
                }
            }
        }
    }

    #[test]
    fn scalar_kernels_compute_the_formulas() {
        let plane = 37;
        let (x, y, g) = (
            values(2 * plane, 0.1),
            values(2 * plane, 0.7),
            values(2 * plane, 2.0),
        );
        let (xs, ys, gs) = (planes(&x, plane), planes(&y, plane), planes(&g, plane));
        let n = x.len() as f64;
        let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = x
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        let (m, v) = mean_var(Isa::Portable, &xs, x.len());
        assert!((f64::from(m) - mean).abs() < 1e-6 && (v - var).abs() < 1e-6);
        let masked: Vec<f32> = g
            .iter()
            .zip(&y)
            .map(|(&g, &y)| if y > 0.0 { g } else { 0.0 })
            .collect();
        let sg: f64 = masked.iter().map(|&v| f64::from(v)).sum();
        let sgx: f64 = masked
            .iter()
            .zip(&x)
            .map(|(&g, &x)| f64::from(g * (x - m)))
            .sum();
        let (got_g, got_gx) = grad_sums(Isa::Portable, &xs, &ys, &gs, m, true);
        assert!((got_g - sg).abs() < 1e-4 && (got_gx - sgx).abs() < 1e-4);
        // SAFETY: `affine` writes every element of every plane.
        let out = unsafe {
            write_once(x.len(), |o| {
                affine(
                    Isa::Portable,
                    &xs,
                    &mut o.chunks_mut(plane).collect::<Vec<_>>(),
                    &[2.0],
                    &[-0.5],
                    true,
                )
            })
        };
        for (o, &v) in out.iter().zip(&x) {
            assert_eq!(*o, (v * 2.0 - 0.5).max(0.0));
        }
    }
}
