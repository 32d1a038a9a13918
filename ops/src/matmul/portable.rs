//! The products of [`super`] in plain Rust, for CPUs without AVX-512: the
//! same register blocking written over fixed-size arrays, which the
//! compiler vectorises; compiled a second time with AVX2 + FMA enabled for
//! the CPUs that have them.

use std::mem::MaybeUninit;

use super::{RowStarts, Tile, MR, NR};

/// Lanes of the partial sums in [`dot_accumulate`].
const LANES: usize = 16;

/// One `MR x NR` register block of [`super::panel_product`].
///
/// # Safety
/// `b + starts.start(k)` points at [`NR`] readable values for every
/// `k < depth`.
#[inline(always)]
unsafe fn panel_block_generic<R: RowStarts>(
    a: &[f32],
    b: *const f32,
    starts: R,
    depth: usize,
    c: &mut [MaybeUninit<f32>],
    tile: Tile,
) {
    let mut acc = [[0.0f32; NR]; MR];
    for (k, a_k) in a.chunks_exact(MR).take(depth).enumerate() {
        // SAFETY (caller): row k holds NR values.
        let b_k = unsafe { std::slice::from_raw_parts(b.add(starts.start(k)), NR) };
        for (row, &a_v) in acc.iter_mut().zip(a_k) {
            for (s, &b_v) in row.iter_mut().zip(b_k) {
                *s = a_v.mul_add(b_v, *s);
            }
        }
    }
    for (i, row) in acc.iter().enumerate().take(tile.rows) {
        let dst = &mut c[i * tile.stride..i * tile.stride + tile.width];
        for (d, &v) in dst.iter_mut().zip(row) {
            // SAFETY: `panel_product` only accumulates into initialised
            // memory (it asserts so).
            let before = if tile.accumulate {
                unsafe { d.assume_init() }
            } else {
                0.0
            };
            d.write(if tile.accumulate { before + v } else { v });
        }
    }
}

/// # Safety
/// As [`panel_block_generic`].
pub(super) unsafe fn panel_block<R: RowStarts>(
    a: &[f32],
    b: *const f32,
    starts: R,
    depth: usize,
    c: &mut [MaybeUninit<f32>],
    tile: Tile,
) {
    // SAFETY: forwarded from the caller.
    unsafe { panel_block_generic(a, b, starts, depth, c, tile) }
}

/// [`panel_block`] compiled for AVX2 + FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA; as [`panel_block_generic`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn panel_block_avx2<R: RowStarts>(
    a: &[f32],
    b: *const f32,
    starts: R,
    depth: usize,
    c: &mut [MaybeUninit<f32>],
    tile: Tile,
) {
    // SAFETY: forwarded from the caller.
    unsafe { panel_block_generic(a, b, starts, depth, c, tile) }
}

/// `Σ_p x[p] · y[p]`, in [`LANES`] interleaved partial sums.
#[inline(always)]
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut xs = x.chunks_exact(LANES);
    let mut ys = y.chunks_exact(LANES);
    for (xc, yc) in (&mut xs).zip(&mut ys) {
        for ((s, &a), &b) in acc.iter_mut().zip(xc).zip(yc) {
            *s = a.mul_add(b, *s);
        }
    }
    for ((s, &a), &b) in acc.iter_mut().zip(xs.remainder()).zip(ys.remainder()) {
        *s = a.mul_add(b, *s);
    }
    acc.iter().sum()
}

#[inline(always)]
fn dot_accumulate_generic<R: RowStarts>(
    a: &[f32],
    m: usize,
    (b, starts): (&[f32], R),
    n: usize,
    len: usize,
    c: &mut [f32],
) {
    if len == 0 {
        return;
    }
    for (a_i, c_i) in a.chunks_exact(len).zip(c.chunks_exact_mut(n)).take(m) {
        for (j, c_ij) in c_i.iter_mut().enumerate() {
            let at = starts.start(j);
            *c_ij += dot(a_i, &b[at..at + len]);
        }
    }
}

pub(super) fn dot_accumulate<R: RowStarts>(
    a: &[f32],
    m: usize,
    b: (&[f32], R),
    n: usize,
    len: usize,
    c: &mut [f32],
) {
    dot_accumulate_generic(a, m, b, n, len, c)
}

/// [`dot_accumulate`] compiled for AVX2 + FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn dot_accumulate_avx2<R: RowStarts>(
    a: &[f32],
    m: usize,
    b: (&[f32], R),
    n: usize,
    len: usize,
    c: &mut [f32],
) {
    dot_accumulate_generic(a, m, b, n, len, c)
}
