//! Small f32 matrix products shaped for convolution lowering, with an
//! register-blocked micro-kernel per instruction-set path
//! ([`crate::isa`]): AVX-512, AVX2 + FMA, and portable code (NEON runs the
//! portable kernels, which the compiler vectorises for aarch64).
//!
//! Two products, both after the blocking of Goto & van de Geijn (2008,
//! "Anatomy of high-performance matrix multiplication"): a micro-kernel
//! keeps an `MR x NR` block of the result in registers while it streams a
//! packed sliver of each operand.
//!
//! - [`panel_product`]: `C[:, cols] (+)= A · P`, where `A` is packed in
//!   row blocks of the path's `mr` rows ([`PackedA`]) and `P` is a column panel of at
//!   most [`NR`] columns stored depth-major (`[k][NR]`). The convolution
//!   forward (`W · col`) and input gradient (`Wᵀ · dy`) build their panels
//!   straight from the image, so the unfolded matrix never exists whole.
//! - [`dot_accumulate`]: `C += A · Bᵀ` with both operands' rows contiguous
//!   along the reduction: the weight gradient `Σ_p dy[o, p] · col[k, p]`.
//!
//! Why not the `gemm` crate (which candle uses): on stable Rust it runs
//! AVX2 kernels only, half the vector width of this CPU, and it packs both
//! operands again on every call. Each path has its own register blocking
//! (`mr` rows x vectors of columns, sized for its register file); the
//! panel layout ([`NR`] columns) is shared, narrower kernels sweep it in
//! pieces. The summation order is fixed by the code of each path, never by
//! the thread count, so results are reproducible on one machine and path.

mod avx2;
mod avx512;
mod block;
mod portable;
pub(crate) mod probe;

use crate::isa::{isa, note, Isa};
pub(crate) use block::{RowStarts, Strided, Tile, MR, NR};

use std::mem::MaybeUninit;
use std::ops::Range;

/// Bytes of packed `A` one run of row blocks may take (half of a 2 MiB L2).
const L2_BUDGET: usize = 1 << 20;

/// Rows per register block of `isa`'s panel kernel for a matrix of `rows`
/// rows: sized so that the accumulators, the panel vectors and a broadcast
/// fit its registers.
fn mr(isa: Isa, rows: usize) -> usize {
    match isa {
        // 8 rows x 2 ZMM = 16 of 32 registers.
        Isa::Avx512 => MR,
        // 6 rows x 2 YMM = 12 accumulators + 2 panel + 1 broadcast of 16,
        // or 4 rows where that pads fewer.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => avx2::rows_per_block(rows),
        // Never selected off x86-64 (`Isa::supported`).
        #[cfg(not(target_arch = "x86_64"))]
        Isa::Avx2 => {
            let _ = rows;
            MR
        }
        // 8 rows x 2 q-registers = 16 of NEON's 32 registers.
        Isa::Neon => portable::MR_NEON,
        // 4 rows x 2 registers of SSE2's 16.
        Isa::Portable => portable::MR,
    }
}

/// A left operand `A` (`rows x depth`) packed for [`panel_product`]: row
/// blocks of the kernel's `mr` rows, each stored depth-major
/// (`[depth][mr]`), the last block zero-padded, so that the kernel reads
/// `mr` consecutive values per step of the reduction. Packed for one path
/// (the process's, [`isa`]), whose kernel the products then run.
pub(crate) struct PackedA {
    data: Vec<f32>,
    rows: usize,
    depth: usize,
    isa: Isa,
    mr: usize,
}

impl PackedA {
    /// Packs a row-major `rows x depth` matrix.
    pub(crate) fn rows(a: &[f32], rows: usize, depth: usize) -> Self {
        assert_eq!(a.len(), rows * depth, "matrix has the wrong size");
        Self::pack(isa(), rows, depth, |r, k| a[r * depth + k])
    }

    /// Packs the transpose of a row-major `depth x rows` matrix `a_t`.
    pub(crate) fn transposed(a_t: &[f32], rows: usize, depth: usize) -> Self {
        assert_eq!(a_t.len(), rows * depth, "matrix has the wrong size");
        Self::pack(isa(), rows, depth, |r, k| a_t[k * rows + r])
    }

    /// Packs the `rows x depth` matrix whose element `(r, k)` is
    /// `value(r, k)`.
    pub(crate) fn from_fn(rows: usize, depth: usize, value: impl Fn(usize, usize) -> f32) -> Self {
        Self::pack(isa(), rows, depth, value)
    }

    /// Packs for the kernel of `isa` (which must be one this CPU runs).
    fn pack(isa: Isa, rows: usize, depth: usize, value: impl Fn(usize, usize) -> f32) -> Self {
        Self::pack_in_blocks(isa, mr(isa, rows), rows, depth, value)
    }

    /// [`PackedA::pack`] in blocks of `mr` rows, which `isa`'s kernel must
    /// run (the path's own choice, or one the kernel-rate probe compares).
    fn pack_in_blocks(
        isa: Isa,
        mr: usize,
        rows: usize,
        depth: usize,
        value: impl Fn(usize, usize) -> f32,
    ) -> Self {
        let blocks = rows.div_ceil(mr);
        let mut data = vec![0.0f32; blocks * depth * mr];
        if depth > 0 {
            for (b, block) in data.chunks_exact_mut(depth * mr).enumerate() {
                for (k, step) in block.chunks_exact_mut(mr).enumerate() {
                    for (i, v) in step.iter_mut().enumerate() {
                        let r = b * mr + i;
                        if r < rows {
                            *v = value(r, k);
                        }
                    }
                }
            }
        }
        PackedA {
            data,
            rows,
            depth,
            isa,
            mr,
        }
    }

    /// Row blocks of the kernel's rows.
    pub(crate) fn blocks(&self) -> usize {
        self.rows.div_ceil(self.mr)
    }

    /// Runs of row blocks small enough to stay in the L2 cache (with a
    /// panel) while every panel of a matrix passes by: the outer loop of a
    /// product whose `A` is large (a 1x1 convolution to 1,984 channels).
    pub(crate) fn block_runs(&self) -> impl Iterator<Item = Range<usize>> {
        let per_run = (L2_BUDGET / (self.depth * self.mr * 4).max(1)).max(1);
        let blocks = self.blocks();
        (0..blocks)
            .step_by(per_run)
            .map(move |b| b..(b + per_run).min(blocks))
    }

    fn block(&self, b: usize) -> &[f32] {
        let len = self.depth * self.mr;
        &self.data[b * len..(b + 1) * len]
    }
}

/// Where a panel product goes: columns `col0 .. col0 + width` of every row
/// of a row-major matrix with row stride `stride`, which may be
/// uninitialised memory when the product overwrites it (a convolution's
/// output, written exactly once, need not be zero-filled first).
pub(crate) struct PanelOut<'a> {
    data: &'a mut [MaybeUninit<f32>],
    initialised: bool,
    stride: usize,
    col0: usize,
    width: usize,
}

impl<'a> PanelOut<'a> {
    /// Columns `col0..col0 + width` of the rows of `data`.
    pub(crate) fn new(data: &'a mut [f32], stride: usize, col0: usize, width: usize) -> Self {
        // SAFETY: same layout; the kernels only ever store initialised
        // floats through this view, so `data` stays initialised.
        let data = unsafe { &mut *(data as *mut [f32] as *mut [MaybeUninit<f32>]) };
        PanelOut {
            data,
            initialised: true,
            stride,
            col0,
            width,
        }
    }

    /// The same over memory not yet written: only for overwriting products.
    pub(crate) fn uninit(
        data: &'a mut [MaybeUninit<f32>],
        stride: usize,
        col0: usize,
        width: usize,
    ) -> Self {
        PanelOut {
            data,
            initialised: false,
            stride,
            col0,
            width,
        }
    }
}

/// `out (+)= A · panel` for the rows of `A` in row blocks `blocks` (of
/// [`MR`] rows; `out.data` starts at row 0 of `A` all the same): `panel`
/// holds `A.depth()` rows of [`NR`] values (only the first `out.width`
/// columns are stored); accumulates when `accumulate`, overwrites
/// otherwise.
pub(crate) fn panel_product(
    a: &PackedA,
    blocks: Range<usize>,
    panel: &[f32],
    out: PanelOut,
    accumulate: bool,
) {
    let b = RightOperand {
        data: panel,
        starts: Strided(NR),
        col: 0,
    };
    product_with(a, blocks, b, out, accumulate)
}

/// [`panel_product`] with the right operand read in place from a row-major
/// matrix whose rows are `stride` apart: row `k` is `data[k * stride +
/// col..][..NR]` (a pointwise convolution's input, channel by channel).
/// Every row read must lie inside `data`, all [`NR`] values of it.
pub(crate) fn strided_product(
    a: &PackedA,
    blocks: Range<usize>,
    (data, stride): (&[f32], usize),
    col: usize,
    out: PanelOut,
    accumulate: bool,
) {
    let b = RightOperand {
        data,
        starts: Strided(stride),
        col,
    };
    product_with(a, blocks, b, out, accumulate)
}

/// [`panel_product`] with a right operand read in place: its row `k` is
/// `data[starts[k] + col..][..NR]`, so a stride-1 convolution multiplies
/// the kernel taps' shifted views of one padded image without unfolding it
/// (`starts[k]` is the offset of tap `k`'s view, `col` the first output
/// position). Every row read must lie inside `data`, all [`NR`] values of
/// it (it panics otherwise), even where `out.width` is narrower.
pub(crate) fn shifted_product(
    a: &PackedA,
    blocks: Range<usize>,
    (data, starts): (&[f32], &[usize]),
    col: usize,
    out: PanelOut,
    accumulate: bool,
) {
    assert_eq!(
        starts.len(),
        a.depth,
        "one row start per step of the reduction"
    );
    let b = RightOperand { data, starts, col };
    product_with(a, blocks, b, out, accumulate)
}

/// The right operand of a panel product: rows of [`NR`] values at
/// `data[starts.start(k) + col..]`.
#[derive(Clone, Copy)]
struct RightOperand<'a, R> {
    data: &'a [f32],
    starts: R,
    col: usize,
}

fn product_with<R: RowStarts>(
    a: &PackedA,
    blocks: Range<usize>,
    b: RightOperand<R>,
    out: PanelOut,
    accumulate: bool,
) {
    let PanelOut {
        data,
        initialised,
        stride,
        col0,
        width,
    } = out;
    if a.rows == 0 || width == 0 {
        return;
    }
    assert!(
        initialised || !accumulate,
        "cannot accumulate into uninitialised memory"
    );
    // The kernels index without checks; these make that sound.
    assert!(width <= NR, "panel wider than {NR}");
    assert!(
        a.depth == 0 || b.starts.max_start(a.depth) + b.col + NR <= b.data.len(),
        "right operand too short"
    );
    assert!(col0 + width <= stride, "columns outside the row");
    assert!(
        data.len() >= (a.rows - 1) * stride + col0 + width,
        "destination too short"
    );
    assert!(blocks.end <= a.blocks(), "row blocks out of range");
    let (rows_of_b, starts) = (b.data[b.col..].as_ptr(), b.starts);
    // The packing's path, never another: its layout is that kernel's.
    let (isa, mr) = (a.isa, a.mr);
    assert!(isa.supported(), "this CPU cannot run the {isa} path");
    for blk in blocks {
        let rows = mr.min(a.rows - blk * mr);
        let c = &mut data[blk * mr * stride + col0..];
        let tile = Tile {
            rows,
            width,
            stride,
            accumulate,
        };
        let a_blk = a.block(blk);
        // The asserts above bound every index the kernels use (block:
        // depth * mr; right operand: starts(k) + NR for k < depth, from
        // `rows_of_b`; c: (rows - 1) * stride + width), and `isa` was
        // checked to run on this CPU.
        // Each arm notes what runs (`isas_used`): the portable kernel is
        // the NEON path's with NEON's blocking, the portable path's
        // otherwise.
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                note(isa);
                // SAFETY: see above; AVX-512F is present.
                unsafe { avx512::panel_block(a_blk, rows_of_b, starts, a.depth, c, tile) }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                note(isa);
                // SAFETY: see above; AVX2 and FMA are present; the block
                // was packed `mr` rows wide.
                unsafe {
                    if mr == avx2::MR_SHORT {
                        avx2::panel_block::<{ avx2::MR_SHORT }, R>(
                            a_blk, rows_of_b, starts, a.depth, c, tile,
                        )
                    } else {
                        avx2::panel_block::<{ avx2::MR }, R>(
                            a_blk, rows_of_b, starts, a.depth, c, tile,
                        )
                    }
                }
            }
            _ => {
                note(if mr == portable::MR_NEON {
                    Isa::Neon
                } else {
                    Isa::Portable
                });
                // SAFETY: see above.
                unsafe { portable::panel_block(mr, a_blk, rows_of_b, starts, a.depth, c, tile) }
            }
        }
    }
}

/// `c[i][j] += Σ_p a[i][p] · b[j][p]` for row-major `a` (`m x len`), `b`
/// (`n x len`) and `c` (`m x n`).
pub(crate) fn dot_accumulate(a: &[f32], m: usize, b: &[f32], n: usize, len: usize, c: &mut [f32]) {
    assert_eq!(b.len(), n * len, "right operand has the wrong size");
    dot_with(isa(), a, m, (b, Strided(len)), n, len, c)
}

/// [`dot_accumulate`] with the rows of `b` read in place: row `j` is
/// `data[starts[j]..][..len]` (the weight gradient of a stride-1
/// convolution, `Σ_p dy[o, p] · x_pad[tap_j + p]`, see [`shifted_product`]).
pub(crate) fn dot_accumulate_shifted(
    a: &[f32],
    m: usize,
    (data, starts): (&[f32], &[usize]),
    len: usize,
    c: &mut [f32],
) {
    dot_with(isa(), a, m, (data, starts), starts.len(), len, c)
}

fn dot_with<R: RowStarts>(
    isa: Isa,
    a: &[f32],
    m: usize,
    (b, starts): (&[f32], R),
    n: usize,
    len: usize,
    c: &mut [f32],
) {
    assert_eq!(a.len(), m * len, "left operand has the wrong size");
    assert!(
        n == 0 || starts.max_start(n) + len <= b.len(),
        "right operand too short"
    );
    assert_eq!(c.len(), m * n, "destination has the wrong size");
    assert!(isa.supported(), "this CPU cannot run the {isa} path");
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            note(isa);
            // SAFETY: the sizes were checked above; AVX-512F is present.
            unsafe { avx512::dot_accumulate(a, m, (b, starts), n, len, c) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            note(isa);
            // SAFETY: the sizes were checked above; AVX2 and FMA are present.
            unsafe { avx2::dot_accumulate(a, m, (b, starts), n, len, c) }
        }
        _ => {
            note(if isa == Isa::Neon { isa } else { Isa::Portable });
            portable::dot_accumulate(a, m, (b, starts), n, len, c)
        }
    }
}

#[cfg(test)]
mod tests;
