//! The products of [`super`] in plain Rust over fixed-size arrays, which
//! the compiler vectorises for the target's baseline: SSE2 on x86-64 (16
//! registers of 4 f32), NEON on aarch64 (32 registers of 4 f32). The
//! blocks are sized for those register files (the 8 x 32 block of the
//! AVX-512 kernel is 64 such registers and spilled on every step).
//!
//! - Panel block: [`MR`] rows x [`COLS`] columns (4 x 8: 8 accumulator
//!   registers, 2 panel registers, 1 broadcast) swept across the panel; on
//!   aarch64 ([`MR_NEON`] = 8 rows: 16 accumulators of its 32 registers).
//! - Dot: 16 interleaved partial sums per pair.
//!
//! Multiply-adds are fused only where the baseline has FMA (aarch64): on
//! x86-64's baseline `mul_add` is a library call.

use std::mem::MaybeUninit;

use super::block::{RowStarts, Tile, NR};

/// Rows of `A` per register block on x86-64 baseline code.
pub(super) const MR: usize = 4;
/// Rows of `A` per register block of the NEON path.
pub(super) const MR_NEON: usize = 8;
/// Columns per sweep of a panel (two 4-lane registers).
const COLS: usize = 8;
/// Lanes of the partial sums in [`dot_accumulate`].
const LANES: usize = 16;

/// `a * b + c`, fused where the baseline has FMA.
#[inline(always)]
fn madd(a: f32, b: f32, c: f32) -> f32 {
    if cfg!(target_arch = "aarch64") {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// One register block of [`super::panel_product`] with `ROWS` rows per
/// block of `a` (the packing's `mr`).
///
/// # Safety
/// `a` holds `depth * ROWS` values, `b + starts.start(k)` points at [`NR`]
/// readable values for every `k < depth`, and `c` holds at least
/// `(tile.rows - 1) * tile.stride + tile.width` values, initialised where
/// `tile.accumulate`.
#[inline(always)]
unsafe fn panel_rows<const ROWS: usize, R: RowStarts>(
    a: &[f32],
    b: *const f32,
    starts: R,
    depth: usize,
    c: &mut [MaybeUninit<f32>],
    tile: Tile,
) {
    for col in (0..tile.width).step_by(COLS) {
        let mut acc = [[0.0f32; COLS]; ROWS];
        for (k, a_k) in a.chunks_exact(ROWS).take(depth).enumerate() {
            // SAFETY: the caller guarantees row k holds NR values; col + COLS <= NR.
            let b_k = unsafe { std::slice::from_raw_parts(b.add(starts.start(k) + col), COLS) };
            for (row, &a_v) in acc.iter_mut().zip(a_k) {
                for (s, &b_v) in row.iter_mut().zip(b_k) {
                    *s = madd(a_v, b_v, *s);
                }
            }
        }
        let width = (tile.width - col).min(COLS);
        for (i, row) in acc.iter().enumerate().take(tile.rows) {
            let at = i * tile.stride + col;
            for (d, &v) in c[at..at + width].iter_mut().zip(row) {
                let before = if tile.accumulate {
                    // SAFETY: `panel_product` only accumulates into
                    // initialised memory (it asserts so).
                    unsafe { d.assume_init() }
                } else {
                    0.0
                };
                d.write(if tile.accumulate { before + v } else { v });
            }
        }
    }
}

/// One register block of [`super::panel_product`] for a block packed with
/// `mr` rows: [`MR`], or [`MR_NEON`] (the NEON path).
///
/// # Safety
/// As [`panel_rows`] with `ROWS = mr`.
pub(super) unsafe fn panel_block<R: RowStarts>(
    mr: usize,
    a: &[f32],
    b: *const f32,
    starts: R,
    depth: usize,
    c: &mut [MaybeUninit<f32>],
    tile: Tile,
) {
    const { assert!(NR.is_multiple_of(COLS)) };
    if mr == MR_NEON {
        // SAFETY: forwarded from the caller.
        unsafe { panel_rows::<MR_NEON, R>(a, b, starts, depth, c, tile) }
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { panel_rows::<MR, R>(a, b, starts, depth, c, tile) }
    }
}

/// `Σ_p x[p] · y[p]`, in [`LANES`] interleaved partial sums.
#[inline(always)]
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut xs = x.chunks_exact(LANES);
    let mut ys = y.chunks_exact(LANES);
    for (xc, yc) in (&mut xs).zip(&mut ys) {
        for ((s, &a), &b) in acc.iter_mut().zip(xc).zip(yc) {
            *s = madd(a, b, *s);
        }
    }
    for ((s, &a), &b) in acc.iter_mut().zip(xs.remainder()).zip(ys.remainder()) {
        *s = madd(a, b, *s);
    }
    acc.iter().sum()
}

/// `c[i][j] += Σ_p a[i][p] · b[starts(j) + p]`, see
/// [`super::dot_accumulate`].
pub(super) fn dot_accumulate<R: RowStarts>(
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
