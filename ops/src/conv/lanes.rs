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
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
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

/// `acc[t][l] += Σ_blocks g[j] * base[off_t + j]`, lane-wise, where
/// `g` is `grad` zero-extended to whole blocks: the per-tap dot products of
/// a weight gradient, kept in lanes so no float sum is reassociated.
#[inline(always)]
pub fn dot_taps<const FMA: bool>(acc: &mut [f32], base: &[f32], taps: &[usize], grad: &[f32]) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
