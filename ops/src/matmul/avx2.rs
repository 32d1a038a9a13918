//! The products of [`super`] with AVX2 + FMA intrinsics, blocked for the
//! 16 YMM registers of such CPUs (the 8 x 32 block of the AVX-512 kernel
//! would need 32 of them and spilled on every step of the reduction).
//!
//! - Panel block: [`MR`] = 6 rows x 16 columns (2 vectors) = 12
//!   accumulators, plus 2 panel vectors and 1 broadcast: 15 registers
//!   (or [`MR_SHORT`] = 4 rows, where that pads fewer rows). A
//!   32-column panel is swept in two such halves (the packed rows of `A`,
//!   `depth x 6` floats, stay in L1 between them); per step of the
//!   reduction two panel loads and six broadcasts feed 12 FMAs.
//! - Dot block: 3 rows of `a` x 4 rows of `b` = 12 accumulators of 8-lane
//!   partial sums, plus 3 loaded rows of `a` and 1 of `b`: 16 registers;
//!   the partial sums of a row are reduced by a tree of three `hadd`s.
//!   The ragged edges (rows past a multiple of 3, columns past one of 4)
//!   run the same block with fewer rows or columns.
//!
//! Every output sums its reduction in a fixed order (FMA chains along `k`
//! per lane), so results do not depend on threads or panel positions.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;
use std::mem::MaybeUninit;

use super::block::{RowStarts, Tile};

/// Rows of `A` per register block.
pub(super) const MR: usize = 6;
/// Rows per block of the short kernel: 4 rows x 16 columns = 8
/// accumulators, for matrices whose row count 4 divides and 6 does not
/// (8, 16, 32, 56: a 16-row weight in 6-row blocks computes 18 rows).
pub(super) const MR_SHORT: usize = 4;

/// The rows per register block for a matrix of `rows` rows: the block
/// that pads fewer rows, the short one only when it saves more than the
/// 5% it loses per row (fewer FMAs per broadcast and per loaded panel
/// vector; measured with the `kernel_rates` example, bench/README.md).
pub(super) fn rows_per_block(rows: usize) -> usize {
    let padded = |mr: usize| rows.div_ceil(mr) * mr;
    if padded(MR_SHORT) * 21 < padded(MR) * 20 {
        MR_SHORT
    } else {
        MR
    }
}
/// f32 lanes of a YMM register.
const LANES: usize = 8;
/// Columns of one sweep of a panel (two vectors).
const HALF: usize = 2 * LANES;

/// The mask of lanes `0..n` (`n <= 8`) for `maskload`/`maskstore`.
#[target_feature(enable = "avx2")]
fn lanes_below(n: usize) -> __m256i {
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(n as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// One register block of [`super::panel_product`]: `c[i][j] (+)= Σ_k
/// a[k][i] · b[starts(k) + j]` for `i < tile.rows`, `j < tile.width`.
///
/// # Safety
/// AVX2 and FMA; `a` holds `depth * ROWS` values, `b + starts.start(k)`
/// points at [`super::block::NR`] readable values for every `k < depth`, and `c`
/// holds at least `(tile.rows - 1) * tile.stride + tile.width`,
/// initialised where `tile.accumulate`.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn panel_block<const ROWS: usize, R: RowStarts>(
    a: &[f32],
    b: *const f32,
    starts: R,
    depth: usize,
    c: &mut [MaybeUninit<f32>],
    tile: Tile,
) {
    debug_assert!(a.len() >= depth * ROWS);
    let cp = c.as_mut_ptr().cast::<f32>();
    for col in (0..tile.width).step_by(HALF) {
        let width = (tile.width - col).min(HALF);
        // SAFETY: columns col..col + 16 of every panel row are readable
        // (col + 16 <= NR); the rest is forwarded from the caller.
        let acc = unsafe {
            let b = b.add(col);
            if width <= LANES {
                products::<ROWS, 1, R>(a, b, starts, depth)
            } else {
                products::<ROWS, 2, R>(a, b, starts, depth)
            }
        };
        for (i, row) in acc.iter().enumerate().take(tile.rows) {
            for (v, &sum) in row.iter().enumerate().take(width.div_ceil(LANES)) {
                let lanes = (width - v * LANES).min(LANES);
                // SAFETY: row i's columns col + v * 8 + 0..lanes lie in the
                // destination (col + width <= tile.width); a partial vector
                // is loaded and stored through its mask only.
                unsafe {
                    let at = cp.add(i * tile.stride + col + v * LANES);
                    let mut x = sum;
                    if lanes == LANES {
                        if tile.accumulate {
                            x = _mm256_add_ps(x, _mm256_loadu_ps(at));
                        }
                        _mm256_storeu_ps(at, x);
                    } else {
                        let m = lanes_below(lanes);
                        if tile.accumulate {
                            x = _mm256_add_ps(x, _mm256_maskload_ps(at, m));
                        }
                        _mm256_maskstore_ps(at, m, x);
                    }
                }
            }
        }
    }
}

/// The accumulators of one sweep: `acc[i][v]` holds vector `v` of row
/// `i` over 16 columns from `b` (`v < VECS`; the others stay zero).
///
/// # Safety
/// As [`panel_block`], reading `VECS` vectors per row of `b`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn products<const ROWS: usize, const VECS: usize, R: RowStarts>(
    a: &[f32],
    b: *const f32,
    starts: R,
    depth: usize,
) -> [[__m256; 2]; ROWS] {
    let mut acc = [[_mm256_setzero_ps(); 2]; ROWS];
    let ap = a.as_ptr();
    for k in 0..depth {
        // SAFETY: k < depth, so every read lies inside the operands.
        unsafe {
            let row = b.add(starts.start(k));
            let p0 = _mm256_loadu_ps(row);
            let p1 = if VECS == 2 {
                _mm256_loadu_ps(row.add(LANES))
            } else {
                p0
            };
            let ak = ap.add(k * ROWS);
            for (i, acc) in acc.iter_mut().enumerate() {
                let av = _mm256_broadcast_ss(&*ak.add(i));
                acc[0] = _mm256_fmadd_ps(av, p0, acc[0]);
                if VECS == 2 {
                    acc[1] = _mm256_fmadd_ps(av, p1, acc[1]);
                }
            }
        }
    }
    acc
}

/// `c[i][j] += Σ_p a[i][p] · b[starts(j) + p]`, see
/// [`super::dot_accumulate`]: blocks of 3 rows of `a` by 4 of `b`, and at
/// the ragged edges the same kernel with fewer rows or columns (never one
/// dot product at a time: a lone accumulator waits on its own FMA latency).
///
/// # Safety
/// AVX2 and FMA; `a` is `m x len`, `c` `m x n`, and `b[starts.start(j)..]`
/// holds `len` values for every `j < n`.
#[target_feature(enable = "avx2,fma")]
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
    let b_row = |j: usize| b[starts.start(j)..][..len].as_ptr();
    let a_row = |i: usize| a[i * len..][..len].as_ptr();
    for i in (0..m).step_by(3) {
        let c_rows = &mut c[i * n..(i + 3).min(m) * n];
        // SAFETY: rows i.. of `a` and every row of `b` hold `len` values.
        unsafe {
            match m - i {
                1 => dot_rows::<1>([a_row(i)], &b_row, n, len, c_rows),
                2 => dot_rows::<2>([a_row(i), a_row(i + 1)], &b_row, n, len, c_rows),
                _ => dot_rows::<3>(
                    [a_row(i), a_row(i + 1), a_row(i + 2)],
                    &b_row,
                    n,
                    len,
                    c_rows,
                ),
            }
        }
    }
}

/// `ROWS` rows of [`dot_accumulate`]: `c` holds their `ROWS x n` results.
///
/// # Safety
/// AVX2 and FMA; every row of `a` and every `b_row(j)`, `j < n`, holds
/// `len` values.
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_rows<const ROWS: usize>(
    a: [*const f32; ROWS],
    b_row: &impl Fn(usize) -> *const f32,
    n: usize,
    len: usize,
    c: &mut [f32],
) {
    for j in (0..n).step_by(4) {
        // SAFETY: forwarded from the caller.
        let sums: [[f32; 4]; ROWS] = unsafe {
            match n - j {
                1 => dot_block(a, [b_row(j)], len),
                2 => dot_block(a, [b_row(j), b_row(j + 1)], len),
                3 => dot_block(a, [b_row(j), b_row(j + 1), b_row(j + 2)], len),
                _ => dot_block(a, [b_row(j), b_row(j + 1), b_row(j + 2), b_row(j + 3)], len),
            }
        };
        let cols = (n - j).min(4);
        for (r, row) in sums.iter().enumerate() {
            for (s, v) in row[..cols].iter().enumerate() {
                c[r * n + j + s] += v;
            }
        }
    }
}

/// The `ROWS x COLS` dot products of rows `a` and `b` (`ROWS <= 3`,
/// `COLS <= 4`); column `s >= COLS` of the result is zero.
///
/// # Safety
/// AVX2 and FMA; every row holds `len` values.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn dot_block<const ROWS: usize, const COLS: usize>(
    a: [*const f32; ROWS],
    b: [*const f32; COLS],
    len: usize,
) -> [[f32; 4]; ROWS] {
    let mut acc = [[_mm256_setzero_ps(); 4]; ROWS];
    let full = len / LANES * LANES;
    for p in (0..full).step_by(LANES) {
        // SAFETY: p + 8 <= len for every row.
        unsafe {
            let av: [__m256; ROWS] = std::array::from_fn(|r| _mm256_loadu_ps(a[r].add(p)));
            for (s, bs) in b.iter().enumerate() {
                let bv = _mm256_loadu_ps(bs.add(p));
                for r in 0..ROWS {
                    acc[r][s] = _mm256_fmadd_ps(av[r], bv, acc[r][s]);
                }
            }
        }
    }
    if full < len {
        let m = lanes_below(len - full);
        // SAFETY: the mask covers only values below len.
        unsafe {
            let av: [__m256; ROWS] = std::array::from_fn(|r| _mm256_maskload_ps(a[r].add(full), m));
            for (s, bs) in b.iter().enumerate() {
                let bv = _mm256_maskload_ps(bs.add(full), m);
                for r in 0..ROWS {
                    acc[r][s] = _mm256_fmadd_ps(av[r], bv, acc[r][s]);
                }
            }
        }
    }
    let mut out = [[0.0f32; 4]; ROWS];
    for (o, row) in out.iter_mut().zip(&acc) {
        // SAFETY: `o` holds 4 values.
        unsafe { _mm_storeu_ps(o.as_mut_ptr(), sum4(row)) };
    }
    out
}

/// Lane `s` of the result is the sum of all lanes of `v[s]`.
#[target_feature(enable = "avx2")]
fn sum4(v: &[__m256; 4]) -> __m128 {
    let t = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps::<1>(t))
}
