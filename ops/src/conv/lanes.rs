//! Register-blocked row primitives the convolution kernels are built from.
//!
//! Each works on blocks of [`LANES`] adjacent outputs and keeps them in an
//! `[f32; LANES]` accumulator that LLVM maps to one vector register, so a
//! k x k convolution costs one store per block instead of one per tap.
//! Sources are pre-padded (see `padded.rs`), so every block reads whole
//! `LANES`-wide runs with no border branches. `FMA` selects fused
//! multiply-add, which is only fast in code compiled with the `fma` target
//! feature (see `kernels.rs`).

use std::mem::MaybeUninit;

/// Outputs per register block (one AVX2 vector of f32).
pub const LANES: usize = 8;

/// `a * b + c`, fused when the caller is compiled for FMA.
#[inline(always)]
pub(super) fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// The `LANES` values of `src` from `at`.
#[inline(always)]
fn block(src: &[f32], at: usize) -> &[f32; LANES] {
    let s = &src[at..at + LANES];
    // The slice has exactly LANES elements, so the conversion cannot fail.
    s.try_into().unwrap_or(&[0.0; LANES])
}

/// Register blocks computed together by [`correlate_rows`]: independent
/// accumulators hide the latency of the multiply-add chain over the taps
/// (eight chains keep two FMA units busy at a latency of four).
const UNITS: usize = 8;

/// Accumulators of one group of register blocks starting at `src`.
type Group = [[f32; LANES]; UNITS];

/// `Σ_t a_t * base[src_u + off_t ..][..LANES]` for every unit `u`: the
/// portable loop (`FMA`: fused multiply-add, see the module docs).
#[inline(always)]
fn group_generic<const FMA: bool>(
    base: &[f32],
    src: &[usize; UNITS],
    taps: &[(usize, f32)],
) -> Group {
    let mut acc = [[0f32; LANES]; UNITS];
    for &(off, a) in taps {
        for (acc, &s) in acc.iter_mut().zip(src) {
            let v = block(base, s + off);
            for l in 0..LANES {
                acc[l] = madd::<FMA>(a, v[l], acc[l]);
            }
        }
    }
    acc
}

/// [`group_generic`] with FMA, in AVX2 registers: one bounds check per
/// group instead of one per load, which LLVM did not hoist. Same
/// operations in the same order, so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn group_avx2(base: &[f32], src: &[usize; UNITS], taps: &[(usize, f32)], reach: usize) -> Group {
    use std::arch::x86_64::*;
    let top = src.iter().max().map_or(0, |m| m + reach + LANES);
    assert!(
        top <= base.len(),
        "register block reads past the padded source"
    );
    let p = base.as_ptr();
    let mut acc = [_mm256_setzero_ps(); UNITS];
    for &(off, a) in taps {
        let av = _mm256_set1_ps(a);
        for (acc, &s) in acc.iter_mut().zip(src) {
            // SAFETY: `s + off + LANES <= top <= base.len()` (asserted
            // above, `off <= reach`).
            let v = unsafe { _mm256_loadu_ps(p.add(s + off)) };
            *acc = _mm256_fmadd_ps(av, v, *acc);
        }
    }
    let mut out = [[0f32; LANES]; UNITS];
    for (o, a) in out.iter_mut().zip(acc) {
        // SAFETY: `o` is LANES = 8 floats, one unaligned AVX store.
        unsafe { _mm256_storeu_ps(o.as_mut_ptr(), a) };
    }
    out
}

/// One group of register blocks, on the AVX2 registers when `FMA` and the
/// CPU has them.
#[inline(always)]
fn group<const FMA: bool>(
    base: &[f32],
    src: &[usize; UNITS],
    taps: &[(usize, f32)],
    reach: usize,
) -> Group {
    #[cfg(target_arch = "x86_64")]
    if FMA && std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU was just checked to have AVX2 and FMA.
        return unsafe { group_avx2(base, src, taps, reach) };
    }
    let _ = reach;
    group_generic::<FMA>(base, src, taps)
}

/// `out[r * width + j] = Σ_t a_t * base[r * pitch + off_t + j]` over the
/// taps `(off_t, a_t)`, for every row `r` of `out` (rows of `width`;
/// every element is written, so `out` need not be initialised);
/// `base` must extend `LANES` past the last block's start for every tap.
/// The register blocks of all rows are taken [`UNITS`] at a time, so that
/// even 7-wide rows (one block each) run several accumulation chains at
/// once. Every output sums its taps in tap order.
#[inline(always)]
pub fn correlate_rows<const FMA: bool>(
    out: &mut [MaybeUninit<f32>],
    width: usize,
    base: &[f32],
    pitch: usize,
    taps: &[(usize, f32)],
) {
    if width == 0 {
        return;
    }
    let blocks = width.div_ceil(LANES);
    let total = out.len() / width * blocks;
    let reach = taps.iter().map(|t| t.0).max().unwrap_or(0);
    let mut first = 0;
    while first < total {
        let k = (total - first).min(UNITS);
        let at = |u: usize| ((first + u) / blocks, (first + u) % blocks * LANES);
        // Units past `k` repeat unit 0 (valid reads, results dropped), so
        // the inner loop always has UNITS chains and fully unrolls.
        let src: [usize; UNITS] = std::array::from_fn(|u| {
            let (r, c) = at(if u < k { u } else { 0 });
            r * pitch + c
        });
        let acc = group::<FMA>(base, &src, taps, reach);
        for (u, acc) in acc.iter().enumerate().take(k) {
            let (r, c) = at(u);
            let dst = &mut out[r * width + c..][..(width - c).min(LANES)];
            for (d, &v) in dst.iter_mut().zip(acc) {
                d.write(v);
            }
        }
        first += k;
    }
}

/// Taps whose weight-gradient lanes [`dot_taps_plane`] keeps in
/// registers at once (independent chains, no accumulator traffic): a 3x3
/// kernel in one group, a 5x5 one in three.
const TAP_GROUP: usize = 9;

/// `acc[t][l] += Σ_rows Σ_blocks g[j] * base[r * pitch + off_t + j]`,
/// lane-wise, where `g` is row `r` of `grad` (rows of `width`)
/// zero-extended to whole blocks: the per-tap dot products of a weight
/// gradient over one plane, kept in lanes so no float sum is
/// reassociated. Each lane adds its products in row, then block order.
#[inline(always)]
pub fn dot_taps_plane<const FMA: bool>(
    acc: &mut [f32],
    base: &[f32],
    pitch: usize,
    taps: &[usize],
    grad: &[f32],
    width: usize,
) {
    if width == 0 {
        return;
    }
    for (group, acc) in taps
        .chunks(TAP_GROUP)
        .zip(acc.chunks_mut(TAP_GROUP * LANES))
    {
        #[cfg(target_arch = "x86_64")]
        if FMA && std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU was just checked to have AVX2 and FMA.
            unsafe { tap_group_avx2(acc, base, pitch, group, grad, width) };
            continue;
        }
        tap_group_generic::<FMA>(acc, base, pitch, group, grad, width);
    }
}

/// The `g` block `c` of a gradient row, zero-extended.
#[inline(always)]
fn grad_block(row: &[f32], c: usize) -> [f32; LANES] {
    let mut g = [0f32; LANES];
    let part = &row[c * LANES..row.len().min((c + 1) * LANES)];
    g[..part.len()].copy_from_slice(part);
    g
}

/// One group of [`dot_taps_plane`], portable.
#[inline(always)]
fn tap_group_generic<const FMA: bool>(
    acc: &mut [f32],
    base: &[f32],
    pitch: usize,
    group: &[usize],
    grad: &[f32],
    width: usize,
) {
    let mut local = [[0f32; LANES]; TAP_GROUP];
    for (l, a) in local.iter_mut().zip(acc.chunks_exact(LANES)) {
        l.copy_from_slice(a);
    }
    for (r, row) in grad.chunks(width).enumerate() {
        for c in 0..width.div_ceil(LANES) {
            let g = grad_block(row, c);
            for (a, &off) in local.iter_mut().zip(group) {
                let src = block(base, r * pitch + off + c * LANES);
                for l in 0..LANES {
                    a[l] = madd::<FMA>(g[l], src[l], a[l]);
                }
            }
        }
    }
    for (a, l) in acc.chunks_exact_mut(LANES).zip(&local) {
        a.copy_from_slice(l);
    }
}

/// [`tap_group_generic`] with FMA in AVX2 registers, one bounds check per
/// row; the same operations in the same order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn tap_group_avx2(
    acc: &mut [f32],
    base: &[f32],
    pitch: usize,
    group: &[usize],
    grad: &[f32],
    width: usize,
) {
    use std::arch::x86_64::*;
    // A full group of offsets (the last one repeated), so the tap loop has
    // a constant trip count and its accumulators stay in registers.
    let offs: [usize; TAP_GROUP] =
        std::array::from_fn(|t| group.get(t).or(group.last()).copied().unwrap_or(0));
    let mut local = [_mm256_setzero_ps(); TAP_GROUP];
    for (l, a) in local.iter_mut().zip(acc.chunks_exact(LANES)) {
        // SAFETY: `a` has LANES = 8 floats.
        *l = unsafe { _mm256_loadu_ps(a.as_ptr()) };
    }
    let reach = offs.iter().max().map_or(0, |&m| m);
    let blocks = width.div_ceil(LANES);
    let p = base.as_ptr();
    for (r, row) in grad.chunks(width).enumerate() {
        let top = r * pitch + reach + blocks * LANES;
        assert!(
            top <= base.len(),
            "register block reads past the padded source"
        );
        for c in 0..blocks {
            let gv = if (c + 1) * LANES <= row.len() {
                // SAFETY: the block lies inside `row`.
                unsafe { _mm256_loadu_ps(row.as_ptr().add(c * LANES)) }
            } else {
                let g = grad_block(row, c);
                // SAFETY: `g` has LANES = 8 floats.
                unsafe { _mm256_loadu_ps(g.as_ptr()) }
            };
            for (a, &off) in local.iter_mut().zip(&offs) {
                // SAFETY: `r * pitch + off + c * LANES + LANES <= top`.
                let v = unsafe { _mm256_loadu_ps(p.add(r * pitch + off + c * LANES)) };
                *a = _mm256_fmadd_ps(gv, v, *a);
            }
        }
    }
    for (a, l) in acc.chunks_exact_mut(LANES).zip(local) {
        // SAFETY: `a` has LANES = 8 floats.
        unsafe { _mm256_storeu_ps(a.as_mut_ptr(), l) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The row-at-a-time form the plane kernel replaced: the reference.
    /// `acc[t][l] += Σ_blocks g[j] * base[off_t + j]`, lane-wise, where
    /// `g` is `grad` zero-extended to whole blocks: the per-tap dot products of
    /// a weight gradient, kept in lanes so no float sum is reassociated.
    fn dot_taps<const FMA: bool>(acc: &mut [f32], base: &[f32], taps: &[usize], grad: &[f32]) {
        for (c, gc) in grad.chunks(LANES).enumerate() {
            let mut g = [0f32; LANES];
            g[..gc.len()].copy_from_slice(gc);
            for (t, &off) in taps.iter().enumerate() {
                let src = block(base, off + c * LANES);
                let a = &mut acc[t * LANES..(t + 1) * LANES];
                for l in 0..LANES {
                    a[l] = madd::<FMA>(g[l], src[l], a[l]);
                }
            }
        }
    }

    #[test]
    fn the_plane_weight_kernel_gives_the_row_by_row_bits() {
        let base: Vec<f32> = (0..1024).map(|i| (i as f32 * 0.37).sin()).collect();
        let taps: Vec<usize> = (0..11).map(|t| t * 3 + t / 4).collect();
        for width in [1, 7, 8, 13, 20] {
            let (rows, pitch) = (3, width + 40);
            let grad: Vec<f32> = (0..rows * width).map(|j| (j as f32 * 0.11).cos()).collect();
            let mut want = vec![0.25f32; taps.len() * LANES];
            for (r, row) in grad.chunks(width).enumerate() {
                dot_taps::<true>(&mut want, &base[r * pitch..], &taps, row);
            }
            for fma in [true, false] {
                let mut got = vec![0.25f32; taps.len() * LANES];
                if fma {
                    dot_taps_plane::<true>(&mut got, &base, pitch, &taps, &grad, width);
                    assert_eq!(got, want, "width {width}");
                } else {
                    dot_taps_plane::<false>(&mut got, &base, pitch, &taps, &grad, width);
                    let close = got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-4);
                    assert!(close, "width {width}");
                }
            }
        }
    }

    #[test]
    fn the_avx2_group_gives_the_portable_bits() {
        let base: Vec<f32> = (0..512).map(|i| (i as f32 * 0.37).sin()).collect();
        let taps = [(0usize, 0.5f32), (3, -1.0), (17, 2.0), (40, 0.3)];
        let src: [usize; UNITS] = std::array::from_fn(|u| u * 37 + 1);
        let want = group_generic::<true>(&base, &src, &taps);
        assert_eq!(group::<true>(&base, &src, &taps, 40), want);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA.
            assert_eq!(unsafe { group_avx2(&base, &src, &taps, 40) }, want);
        }
    }

    #[test]
    fn primitives_match_scalar_loops() {
        let base: Vec<f32> = (0..256).map(|i| (i as f32 * 0.37).sin()).collect();
        let taps = [(0usize, 0.5f32), (3, -1.0), (17, 2.0)];
        for len in [1, 7, 8, 13, 20] {
            for rows in [1, 2, 3, 5] {
                let pitch = len + 5;
                // SAFETY: `correlate_rows` writes every element.
                let out = unsafe {
                    crate::simd::write_once(rows * len, |o| {
                        correlate_rows::<true>(o, len, &base, pitch, &taps)
                    })
                };
                for (i, o) in out.iter().enumerate() {
                    let at = i / len * pitch + i % len;
                    let want: f32 = taps.iter().map(|&(off, a)| a * base[off + at]).sum();
                    assert!((o - want).abs() < 1e-5, "len {len} rows {rows} at {i}");
                }
            }
            let grad: Vec<f32> = (0..len).map(|j| j as f32 - 3.0).collect();
            let offs = [2usize, 5];
            let mut acc = vec![0.0; offs.len() * LANES];
            dot_taps::<false>(&mut acc, &base, &offs, &grad);
            for (t, &off) in offs.iter().enumerate() {
                let got: f32 = acc[t * LANES..(t + 1) * LANES].iter().sum();
                let want: f32 = grad
                    .iter()
                    .enumerate()
                    .map(|(j, g)| g * base[off + j])
                    .sum();
                assert!((got - want).abs() < 1e-4, "len {len} tap {t}");
            }
        }
    }
}
