//! The products of [`super`] with AVX-512F intrinsics (stable since Rust
//! 1.89): 16-lane FMAs, masked loads and stores for ragged edges.
//!
//! - Panel block: `MR x NR` = 8 rows x 2 vectors, 16 accumulators; per
//!   step of the reduction two panel loads and eight broadcasts feed 16 FMAs.
//! - Dot block: 4 rows of `a` x 4 rows of `b`, 16 accumulators holding
//!   16-lane partial sums along the reduction; the 16 accumulators are
//!   then summed into one vector of 16 results by a transposing tree of 15
//!   shuffle pairs (instead of 16 separate horizontal reductions), which
//!   matters for the short reductions of small feature maps (8x8 = 64).

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;
use std::mem::MaybeUninit;

use super::block::{RowStarts, Tile, MR};

const LANES: usize = 16;

/// Masks of the two vectors of a panel row `width` columns wide.
fn row_masks(width: usize) -> (__mmask16, __mmask16) {
    let bits = |w: usize| -> __mmask16 {
        if w >= LANES {
            0xFFFF
        } else {
            ((1u32 << w) - 1) as __mmask16
        }
    };
    (bits(width), bits(width.saturating_sub(LANES)))
}

/// One register block of [`super::panel_product`]: `c[i][j] (+)= Σ_k
/// a[k][i] · b[starts(k) + j]` for `i < tile.rows`, `j < tile.width`.
///
/// # Safety
/// AVX-512F; `a` holds `depth * MR` values, `b + starts.start(k)` points
/// at [`super::block::NR`] readable values for every `k < depth`, and `c` holds at least
/// `(tile.rows - 1) * tile.stride + tile.width`, initialised where
/// `tile.accumulate`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn panel_block<R: RowStarts>(
    a: &[f32],
    b: *const f32,
    starts: R,
    depth: usize,
    c: &mut [MaybeUninit<f32>],
    tile: Tile,
) {
    debug_assert!(a.len() >= depth * MR);
    // A panel at most one vector wide (the ragged last panel of a small
    // map) skips the second vector's FMAs: half the arithmetic.
    // SAFETY: forwarded from the caller.
    let acc = unsafe {
        if tile.width <= LANES {
            products::<1, R>(a, b, starts, depth)
        } else {
            products::<2, R>(a, b, starts, depth)
        }
    };
    let (m0, m1) = row_masks(tile.width);
    let cp = c.as_mut_ptr().cast::<f32>();
    for i in 0..tile.rows {
        // SAFETY: masked lanes are neither read nor written, and the
        // unmasked ones lie inside row i's first `width` columns; the
        // pointer to the second vector is formed with wrapping arithmetic
        // because it may point past the slice when its mask is empty.
        unsafe {
            let row = cp.add(i * tile.stride);
            let row_hi = row.wrapping_add(LANES);
            let (mut v0, mut v1) = (acc[2 * i], acc[2 * i + 1]);
            if tile.accumulate {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, row));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, row_hi));
            }
            _mm512_mask_storeu_ps(row, m0, v0);
            _mm512_mask_storeu_ps(row_hi, m1, v1);
        }
    }
}

/// The accumulators of [`panel_block`]: `acc[2i + v]` holds vector `v`
/// of row `i` (`v < VECS`; the others stay zero).
///
/// # Safety
/// As [`panel_block`], reading `VECS` vectors per row of `b`.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn products<const VECS: usize, R: RowStarts>(
    a: &[f32],
    b: *const f32,
    starts: R,
    depth: usize,
) -> [__m512; 2 * MR] {
    let mut acc = [_mm512_setzero_ps(); 2 * MR];
    let ap = a.as_ptr();
    for k in 0..depth {
        // SAFETY: k < depth, so every read lies inside the operands.
        unsafe {
            let row = b.add(starts.start(k));
            let p0 = _mm512_loadu_ps(row);
            let p1 = if VECS == 2 {
                _mm512_loadu_ps(row.add(LANES))
            } else {
                p0
            };
            let ak = ap.add(k * MR);
            for i in 0..MR {
                let av = _mm512_set1_ps(*ak.add(i));
                acc[2 * i] = _mm512_fmadd_ps(av, p0, acc[2 * i]);
                if VECS == 2 {
                    acc[2 * i + 1] = _mm512_fmadd_ps(av, p1, acc[2 * i + 1]);
                }
            }
        }
    }
    acc
}

/// `c[i][j] += Σ_p a[i][p] · b[starts(j) + p]`, see
/// [`super::dot_accumulate`].
///
/// # Safety
/// AVX-512F; `a` is `m x len`, `c` `m x n`, and `b[starts.start(j)..]`
/// holds `len` values for every `j < n`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn dot_accumulate<R: RowStarts>(
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
    let (m4, n4) = (m / 4 * 4, n / 4 * 4);
    let b_row = |j: usize| b[starts.start(j)..].as_ptr();
    for i in (0..m4).step_by(4) {
        for j in (0..n4).step_by(4) {
            let b_rows = [b_row(j), b_row(j + 1), b_row(j + 2), b_row(j + 3)];
            // SAFETY: rows i..i+4 of a and j..j+4 of b hold `len` values.
            let sums = unsafe { dot_4x4(a.as_ptr().add(i * len), b_rows, len) };
            for (r, row) in sums.chunks_exact(4).enumerate() {
                for (s, v) in row.iter().enumerate() {
                    c[(i + r) * n + j + s] += v;
                }
            }
        }
    }
    // The ragged edges, one pair at a time.
    for i in 0..m {
        let first = if i < m4 { n4 } else { 0 };
        for j in first..n {
            let a_i = &a[i * len..(i + 1) * len];
            // SAFETY: both rows hold `len` values.
            c[i * n + j] += unsafe { dot_1(a_i.as_ptr(), b_row(j), len) };
        }
    }
}

/// The 4 x 4 dot products of rows `a[0..4]` (consecutive, `len` apart)
/// and `b[0..4]`, row-major (`[r][s]`).
#[target_feature(enable = "avx512f")]
unsafe fn dot_4x4(a: *const f32, b: [*const f32; 4], len: usize) -> [f32; 16] {
    // Accumulator 4 * s + r holds the partial sums of a[r] · b[s]; that
    // order makes `transpose_sum` return the results row-major.
    let mut acc = [_mm512_setzero_ps(); 16];
    let mut step = |p: usize, mask: __mmask16| {
        // SAFETY: the caller guarantees p + popcount(mask) <= len per row.
        unsafe {
            let av: [__m512; 4] =
                std::array::from_fn(|r| _mm512_maskz_loadu_ps(mask, a.add(r * len + p)));
            let bv: [__m512; 4] = std::array::from_fn(|s| _mm512_maskz_loadu_ps(mask, b[s].add(p)));
            for s in 0..4 {
                for r in 0..4 {
                    acc[4 * s + r] = _mm512_fmadd_ps(av[r], bv[s], acc[4 * s + r]);
                }
            }
        }
    };
    let full = len / LANES * LANES;
    for p in (0..full).step_by(LANES) {
        step(p, 0xFFFF);
    }
    if full < len {
        step(full, row_masks(len - full).0);
    }
    let mut out = [0.0f32; 16];
    // SAFETY: `out` holds 16 values.
    unsafe { _mm512_storeu_ps(out.as_mut_ptr(), transpose_sum(&acc)) };
    out
}

/// Lane `4t + e` of the result is the sum of all lanes of `v[4e + t]`.
#[target_feature(enable = "avx512f")]
fn transpose_sum(v: &[__m512; 16]) -> __m512 {
    // Halves: s[i] keeps 8 partial sums of v[2i] (lanes 0-7) and of
    // v[2i+1] (lanes 8-15).
    let s: [__m512; 8] = std::array::from_fn(|i| {
        let (x, y) = (v[2 * i], v[2 * i + 1]);
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0x44>(x, y),
            _mm512_shuffle_f32x4::<0xEE>(x, y),
        )
    });
    // Quarters: quarter t of u[j] keeps 4 partial sums of v[4j + t].
    let u: [__m512; 4] = std::array::from_fn(|j| {
        let (x, y) = (s[2 * j], s[2 * j + 1]);
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0x88>(x, y),
            _mm512_shuffle_f32x4::<0xDD>(x, y),
        )
    });
    // Pairs: quarter t of w[h] keeps 2 partial sums of v[8h + t] then 2 of
    // v[8h + 4 + t].
    let w: [__m512; 2] = std::array::from_fn(|h| {
        let (x, y) = (u[2 * h], u[2 * h + 1]);
        _mm512_add_ps(
            _mm512_shuffle_ps::<0x44>(x, y),
            _mm512_shuffle_ps::<0xEE>(x, y),
        )
    });
    _mm512_add_ps(
        _mm512_shuffle_ps::<0x88>(w[0], w[1]),
        _mm512_shuffle_ps::<0xDD>(w[0], w[1]),
    )
}

/// `Σ_p x[p] · y[p]` over `len` values.
#[target_feature(enable = "avx512f")]
unsafe fn dot_1(x: *const f32, y: *const f32, len: usize) -> f32 {
    let mut acc = _mm512_setzero_ps();
    let mut p = 0;
    while p < len {
        let mask = row_masks(len - p).0;
        // SAFETY: the mask covers only values below len.
        unsafe {
            acc = _mm512_fmadd_ps(
                _mm512_maskz_loadu_ps(mask, x.add(p)),
                _mm512_maskz_loadu_ps(mask, y.add(p)),
                acc,
            );
        }
        p += LANES;
    }
    _mm512_reduce_add_ps(acc)
}
