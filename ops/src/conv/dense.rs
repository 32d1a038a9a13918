//! Dense (`groups = 1`) convolution as im2col + GEMM, forward and both
//! gradients, so that every product is a matrix multiplication.
//!
//! The lowering is the classic one of Chellapilla et al. (2006, "High
//! performance convolutional neural networks for document processing") and
//! Caffe: per sample, the input patches are unfolded into a `K x P` matrix
//! (`K = c_in * k_h * k_w` patch values, `P = h_out * w_out` positions), and
//!
//! - forward: `y_i = W · col_i` (`c_out x K` times `K x P`);
//! - input gradient: `dcol_i = Wᵀ · dy_i`, folded back onto the input
//!   (col2im, a scatter-add);
//! - weight gradient: `dW = Σ_i dy_i · col_iᵀ`.
//!
//! Stock candle 0.11 runs the forward as im2col + GEMM too, but its input
//! gradient is a transposed convolution made of scalar dot products, and
//! idle measurements on the NAS-Bench-201 cell network (C=16, N=5, 32x32)
//! put candle's dense convolutions at about a tenth of PyTorch's speed
//! (bench/README.md). Samples are spread over the current rayon pool, each
//! worker with its own `col` scratch; the GEMM itself (the `gemm` crate,
//! the kernel candle uses) then runs single-threaded per sample. A 1x1,
//! stride-1, unpadded convolution skips the unfolding: `col_i` is the input.

use gemm::Parallelism;
use rayon::prelude::*;

use super::geom::ConvGeom;

/// A row-major or transposed view of a matrix: `rows x cols` with strides.
#[derive(Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Mat<'a> {
    /// A contiguous row-major `rows x cols` matrix.
    fn rows(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Mat {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, as a view of the same data.
    fn t(self) -> Self {
        Mat {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Whether every element the view addresses lies inside `data`.
    fn in_bounds(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
                < self.data.len()
    }
}

/// `dst (+)= a · b` with `dst` contiguous row-major; accumulates when
/// `accumulate`, overwrites otherwise.
fn sgemm(dst: &mut [f32], a: Mat, b: Mat, accumulate: bool, parallelism: Parallelism) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    // These hold by construction in this module; the asserts keep the raw
    // pointer call below sound even if a caller's arithmetic is ever wrong.
    assert_eq!(b.rows, k, "inner dimensions differ");
    assert_eq!(dst.len(), m * n, "destination has the wrong size");
    assert!(a.in_bounds() && b.in_bounds(), "matrix view out of bounds");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    // SAFETY: all three views were checked to lie inside their slices, the
    // destination is exclusively borrowed and does not alias the inputs
    // (distinct borrows), and f32 is one of gemm's supported types.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Rows of the unfolded patch matrix (`c_in * k_h * k_w`).
fn patch_len(g: &ConvGeom) -> usize {
    g.c_in * g.k_h * g.k_w
}

/// Whether `col_i` is the input itself (1x1, stride 1, no padding).
fn is_identity_unfold(g: &ConvGeom) -> bool {
    g.k_h == 1 && g.k_w == 1 && g.stride == 1 && g.padding == 0
}

/// The input coordinate of output coordinate `o` at kernel tap `k`, or
/// `None` where it falls in the zero padding.
fn source(o: usize, k: usize, g: &ConvGeom, len: usize) -> Option<usize> {
    (o * g.stride + k * g.dilation)
        .checked_sub(g.padding)
        .filter(|&i| i < len)
}

/// The range of output columns whose tap `kx` lands inside the input row.
fn valid_columns(kx: usize, g: &ConvGeom) -> std::ops::Range<usize> {
    let first = (0..g.w_out)
        .find(|&ox| source(ox, kx, g, g.w).is_some())
        .unwrap_or(g.w_out);
    let end = (first..g.w_out)
        .find(|&ox| source(ox, kx, g, g.w).is_none())
        .unwrap_or(g.w_out);
    first..end
}

/// Unfolds one sample `x_i` (`c_in x h x w`) into `col` (`K x P`).
fn im2col(g: &ConvGeom, x: &[f32], col: &mut [f32]) {
    let p = g.out_plane();
    for (row, col_row) in col.chunks_exact_mut(p).enumerate() {
        let (c, ky, kx) = (row / (g.k_h * g.k_w), row / g.k_w % g.k_h, row % g.k_w);
        let plane = &x[c * g.in_plane()..(c + 1) * g.in_plane()];
        let cols = valid_columns(kx, g);
        for (oy, out) in col_row.chunks_exact_mut(g.w_out).enumerate() {
            let Some(iy) = source(oy, ky, g, g.h) else {
                out.fill(0.0);
                continue;
            };
            let input_row = &plane[iy * g.w..(iy + 1) * g.w];
            out[..cols.start].fill(0.0);
            out[cols.end..].fill(0.0);
            let ix0 = cols.start * g.stride + kx * g.dilation - g.padding;
            if g.stride == 1 {
                out[cols.clone()].copy_from_slice(&input_row[ix0..ix0 + cols.len()]);
            } else {
                for (o, v) in out[cols.clone()].iter_mut().enumerate() {
                    *v = input_row[ix0 + o * g.stride];
                }
            }
        }
    }
}

/// Folds `col` (`K x P`) back onto one sample's input gradient `gx_i`,
/// adding every patch value to the input element it came from.
fn col2im(g: &ConvGeom, col: &[f32], gx: &mut [f32]) {
    gx.fill(0.0);
    let p = g.out_plane();
    for (row, col_row) in col.chunks_exact(p).enumerate() {
        let (c, ky, kx) = (row / (g.k_h * g.k_w), row / g.k_w % g.k_h, row % g.k_w);
        let plane = &mut gx[c * g.in_plane()..(c + 1) * g.in_plane()];
        let cols = valid_columns(kx, g);
        for (oy, grads) in col_row.chunks_exact(g.w_out).enumerate() {
            let Some(iy) = source(oy, ky, g, g.h) else {
                continue;
            };
            let input_row = &mut plane[iy * g.w..(iy + 1) * g.w];
            let ix0 = cols.start * g.stride + kx * g.dilation - g.padding;
            if g.stride == 1 {
                // Contiguous on both sides: a slice add the compiler vectorises.
                let dst = &mut input_row[ix0..ix0 + cols.len()];
                for (d, v) in dst.iter_mut().zip(&grads[cols.clone()]) {
                    *d += v;
                }
            } else {
                for (o, v) in grads[cols.clone()].iter().enumerate() {
                    input_row[ix0 + o * g.stride] += v;
                }
            }
        }
    }
}

/// Samples per rayon task: the batch split evenly over the pool's threads.
fn samples_per_task(n: usize) -> usize {
    n.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

/// `y = conv2d(x, w)` for a dense convolution (`g.groups == 1`).
pub fn forward(g: &ConvGeom, x: &[f32], w: &[f32]) -> Vec<f32> {
    let (k, p) = (patch_len(g), g.out_plane());
    let w = Mat::rows(w, g.c_out, k);
    let mut y = vec![0.0f32; g.n * g.c_out * p];
    y.par_chunks_mut(g.c_out * p)
        .zip(x.par_chunks(g.c_in * g.in_plane()))
        .with_min_len(samples_per_task(g.n))
        .for_each_init(
            || Vec::with_capacity(k * p),
            |col, (y_i, x_i)| {
                let col_i = if is_identity_unfold(g) {
                    x_i
                } else {
                    col.resize(k * p, 0.0);
                    im2col(g, x_i, col);
                    col.as_slice()
                };
                sgemm(y_i, w, Mat::rows(col_i, k, p), false, Parallelism::None);
            },
        );
    y
}

/// The input gradient `dL/dx` from `dL/dy` (`gy`) and the weight.
pub fn backward_input(g: &ConvGeom, gy: &[f32], w: &[f32]) -> Vec<f32> {
    let (k, p) = (patch_len(g), g.out_plane());
    let w_t = Mat::rows(w, g.c_out, k).t();
    let mut gx = vec![0.0f32; g.n * g.c_in * g.in_plane()];
    gx.par_chunks_mut(g.c_in * g.in_plane())
        .zip(gy.par_chunks(g.c_out * p))
        .with_min_len(samples_per_task(g.n))
        .for_each_init(
            || Vec::with_capacity(k * p),
            |dcol, (gx_i, gy_i)| {
                let gy_i = Mat::rows(gy_i, g.c_out, p);
                if is_identity_unfold(g) {
                    sgemm(gx_i, w_t, gy_i, false, Parallelism::None);
                } else {
                    dcol.resize(k * p, 0.0);
                    sgemm(dcol, w_t, gy_i, false, Parallelism::None);
                    col2im(g, dcol, gx_i);
                }
            },
        );
    gx
}

/// Samples summed into one partial weight gradient. Fixed, not derived
/// from the thread count, so that the summation order (and so every bit of
/// the result) is the same whatever the pool size: `--jobs` runs must
/// journal exactly what serial runs journal.
const SAMPLES_PER_PARTIAL: usize = 8;

/// The weight gradient `dL/dw` from the input and `dL/dy` (`gy`). Each
/// task sums a fixed run of samples into a private gradient; the partial
/// sums are then added in sample order.
pub fn backward_weight(g: &ConvGeom, x: &[f32], gy: &[f32]) -> Vec<f32> {
    let (k, p) = (patch_len(g), g.out_plane());
    let per_task = SAMPLES_PER_PARTIAL;
    let x_len = g.c_in * g.in_plane();
    let partials: Vec<Vec<f32>> = x
        .par_chunks(x_len * per_task)
        .zip(gy.par_chunks(g.c_out * p * per_task))
        .map(|(xs, gys)| {
            let mut gw = vec![0.0f32; g.c_out * k];
            let mut col = vec![0.0f32; if is_identity_unfold(g) { 0 } else { k * p }];
            for (x_i, gy_i) in xs.chunks_exact(x_len).zip(gys.chunks_exact(g.c_out * p)) {
                let col_i = if is_identity_unfold(g) {
                    x_i
                } else {
                    im2col(g, x_i, &mut col);
                    col.as_slice()
                };
                let col_t = Mat::rows(col_i, k, p).t();
                sgemm(
                    &mut gw,
                    Mat::rows(gy_i, g.c_out, p),
                    col_t,
                    true,
                    Parallelism::None,
                );
            }
            gw
        })
        .collect();
    sum_in_order(partials, g.c_out * k)
}

/// Adds the partial gradients in their (task) order.
fn sum_in_order(partials: Vec<Vec<f32>>, len: usize) -> Vec<f32> {
    let mut parts = partials.into_iter();
    let mut total = parts.next().unwrap_or_else(|| vec![0.0; len]);
    for part in parts {
        for (t, v) in total.iter_mut().zip(part) {
            *t += v;
        }
    }
    total
}
