//! The shapes every path's kernels share: the panel layout ([`MR`],
//! [`NR`]), where a right operand's rows start ([`RowStarts`]) and the part
//! of the destination a register block writes ([`Tile`]). Kept apart from
//! the driver in `mod.rs` so the kernels and the driver both use it
//! without using each other.

/// Rows of `A` per register block of the widest kernel (AVX-512); each
/// path has its own (`mr` in the driver).
pub(crate) const MR: usize = 8;
/// Columns per panel: the panel layout all paths share (the AVX-512
/// kernel's two 16-lane vectors; narrower kernels sweep it in pieces).
pub(crate) const NR: usize = 32;

/// Where the rows of a right operand start in its buffer: evenly spaced
/// (a packed panel, a row-major matrix) or anywhere (shifted views of a
/// padded image, one per kernel tap: [`shifted_product`]).
pub(crate) trait RowStarts: Copy {
    /// The offset of row `k`.
    fn start(self, k: usize) -> usize;
    /// The largest offset among rows `0..rows` (`rows >= 1`).
    fn max_start(self, rows: usize) -> usize;
}

/// Row `k` starts at `k * stride`.
#[derive(Clone, Copy)]
pub(crate) struct Strided(pub usize);

impl RowStarts for Strided {
    #[inline(always)]
    fn start(self, k: usize) -> usize {
        k * self.0
    }
    fn max_start(self, rows: usize) -> usize {
        (rows - 1) * self.0
    }
}

impl RowStarts for &[usize] {
    #[inline(always)]
    fn start(self, k: usize) -> usize {
        self[k]
    }
    fn max_start(self, rows: usize) -> usize {
        self[..rows].iter().copied().max().unwrap_or(0)
    }
}

/// The part of the destination one register block writes.
#[derive(Clone, Copy)]
pub(crate) struct Tile {
    /// Rows written (at most the kernel's rows per block).
    pub rows: usize,
    /// Columns written (at most [`NR`]).
    pub width: usize,
    /// Row stride of the destination.
    pub stride: usize,
    /// Add to the destination instead of overwriting it.
    pub accumulate: bool,
}
