//! Dense convolution as im2col + GEMM, forward and both gradients, so
//! that every product is a matrix multiplication. Grouped convolutions
//! whose groups have several input channels (FBNet's `g2` 1x1s) run the
//! same way, one group after the other; depthwise ones (one input channel
//! per group, nothing to multiply) have direct kernels (`super::kernels`).
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
//! (bench/README.md). Samples are spread over the current rayon pool; the
//! products of one sample run on one thread in [`crate::matmul`]'s kernels.
//!
//! Stride-1 convolutions with a spatial kernel (the NAS-Bench-201 cell's
//! 3x3s) skip the unfolding altogether: they multiply shifted views of one
//! zero-padded copy of the input in place ([`super::shifted`]), and can
//! read the input through a ReLU on the way ([`fuses_relu`]). The rest
//! (strided, 1x1, over-padded) unfold as follows. (Pointwise convolutions
//! on planes narrower than a panel come here through
//! [`super::small_plane`], which regroups the batch first.)
//!
//! The forward and the input gradient never build `col_i` as a matrix:
//! they work on panels of [`NR`] output positions, unfolded straight into
//! the kernel's packed layout ([`Unfold::gather`](super::unfold::Unfold::gather)) or folded straight back
//! from it ([`Unfold::scatter`](super::unfold::Unfold::scatter)). The weight gradient reduces over
//! positions, so it unfolds whole rows ([`Unfold::im2col`](super::unfold::Unfold::im2col)); a 1x1,
//! stride-1, unpadded convolution skips that: `col_i` is the input.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::epilogue::Epilogue;
use super::geom::ConvGeom;
use super::shifted::{self, Shifted};
use super::unfold::{patch_len, Unfold};
use crate::matmul::{dot_accumulate, panel_product, strided_product, PackedA, PanelOut, NR};
use crate::scratch::with_scratch;
use crate::simd::write_once;

/// Whether `col_i` is the input itself (1x1, stride 1, no padding).
fn is_identity_unfold(g: &ConvGeom) -> bool {
    g.k_h == 1 && g.k_w == 1 && g.stride == 1 && g.padding == 0
}

/// The column panels of a `P`-position output: `(first position, width)`.
fn panels(p: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..p).step_by(NR).map(move |p0| (p0, NR.min(p - p0)))
}

/// Rayon tasks per thread for the per-sample loops: more than one, so that
/// a thread that starts late (woken from sleep after candle's
/// single-threaded element-wise work) leaves tasks for the other to take
/// instead of making it wait; results do not depend on the split (each
/// sample is computed whole by one task).
const TASKS_PER_THREAD: usize = 4;

/// Samples per rayon task.
fn samples_per_task(n: usize) -> usize {
    n.div_ceil(rayon::current_num_threads().max(1) * TASKS_PER_THREAD)
        .max(1)
}

/// Whether this module should run the convolution: dense, or grouped
/// with more than one input channel per group.
pub fn handles(g: &ConvGeom) -> bool {
    g.groups == 1 || g.cin_g() > 1
}

/// The geometry of one group as a dense convolution of its own.
fn per_group(g: &ConvGeom) -> ConvGeom {
    ConvGeom {
        c_in: g.cin_g(),
        c_out: g.cout_g(),
        groups: 1,
        ..*g
    }
}

/// Sizes of one group's slices: input and output per sample, and weight.
struct GroupLens {
    x: usize,
    y: usize,
    w: usize,
}

impl GroupLens {
    fn of(sub: &ConvGeom) -> Self {
        GroupLens {
            x: sub.c_in * sub.in_plane(),
            y: sub.c_out * sub.out_plane(),
            w: sub.c_out * patch_len(sub),
        }
    }
}

/// Runs `each(sample, group, out_g, in_g, scratch)` for every sample and group,
/// samples spread over the rayon pool: `out` and `input` hold one chunk
/// per sample, made of one `lens` chunk per group; `scratch` are the
/// lengths of the two per-thread buffers `each` gets.
fn by_sample_and_group<T: Send>(
    g: &ConvGeom,
    (out, out_len): (&mut [T], usize),
    (input, in_len): (&[f32], usize),
    scratch: (usize, usize),
    each: impl Fn(usize, usize, &mut [T], &[f32], (&mut [f32], &mut [f32])) + Sync,
) {
    out.par_chunks_mut(out_len * g.groups)
        .zip(input.par_chunks(in_len * g.groups))
        .enumerate()
        .with_min_len(samples_per_task(g.n))
        .for_each(|(sample, (out_i, in_i))| {
            with_scratch(0, scratch.0, |first| {
                with_scratch(1, scratch.1, |second| {
                    let groups = out_i
                        .chunks_exact_mut(out_len)
                        .zip(in_i.chunks_exact(in_len));
                    for (group, (out_g, in_g)) in groups.enumerate() {
                        each(sample, group, out_g, in_g, (&mut *first, &mut *second));
                    }
                })
            })
        });
}

/// Whether [`forward`] and [`backward_weight`] can read `relu(x)` in
/// place of `x` (only through shifted views).
pub fn fuses_relu(g: &ConvGeom) -> bool {
    handles(g) && shifted::applies(&per_group(g))
}

/// `y = conv2d(x, w)`, or `conv2d(relu(x), w)` when `relu_input` (which
/// needs [`fuses_relu`]); `epilogue` maps each sample's output channels
/// as soon as they are written.
pub fn forward(
    g: &ConvGeom,
    x: &[f32],
    w: &[f32],
    relu_input: bool,
    epilogue: Option<Epilogue>,
) -> Vec<f32> {
    assert!(
        !relu_input || fuses_relu(g),
        "this convolution cannot fuse a ReLU"
    );
    let sub = per_group(g);
    let (k, lens) = (patch_len(&sub), GroupLens::of(&sub));
    let packs: Vec<PackedA> = w
        .chunks_exact(lens.w)
        .map(|w_g| PackedA::rows(w_g, sub.c_out, k))
        .collect();
    // Group `grp`'s output of one sample, just written whole.
    let finish = |grp: usize, y_g: &mut [MaybeUninit<f32>]| {
        if let Some(e) = epilogue {
            // SAFETY: both products write every output of the group.
            unsafe { e.apply_written(grp * sub.c_out, sub.out_plane(), y_g) }
        }
    };
    let fill = |y: &mut [MaybeUninit<f32>]| {
        if shifted::applies(&sub) {
            let plan = Shifted::new(&sub, relu_input);
            let (frame, wide) = plan.scratch_lens();
            by_sample_and_group(
                g,
                (y, lens.y),
                (x, lens.x),
                (frame, wide),
                |_, grp, y_g, x_g, s| {
                    plan.forward(&packs[grp], x_g, y_g, s);
                    finish(grp, y_g);
                },
            );
        } else {
            let unfold = Unfold::new(&sub);
            let panels_len = unfold.panel_count() * k * NR;
            by_sample_and_group(
                g,
                (y, lens.y),
                (x, lens.x),
                (panels_len, 0),
                |_, grp, y_g, x_g, s| {
                    forward_one(&unfold, &packs[grp], x_g, y_g, s.0);
                    finish(grp, y_g);
                },
            );
        }
    };
    // SAFETY: every group of every sample is written whole: the shifted
    // product narrows every output position into it, and the unfolded
    // one's panels cover all positions and its row-block runs all channels.
    unsafe { write_once(g.n * g.c_out * g.out_plane(), fill) }
}

/// The forward of one sample (and group): unfold every panel, then
/// multiply, with row blocks of the weight outermost so that a large
/// weight passes through the cache once per sample, not once per panel.
fn forward_one(
    unfold: &Unfold,
    w: &PackedA,
    x: &[f32],
    y: &mut [MaybeUninit<f32>],
    col_panels: &mut [f32],
) {
    let (k, p) = (patch_len(unfold.geom()), unfold.geom().out_plane());
    if is_identity_unfold(unfold.geom()) {
        return pointwise_forward_one(w, (k, p), x, y, col_panels);
    }
    unfold.gather(x, col_panels);
    for blocks in w.block_runs() {
        for ((col0, width), panel) in panels(p).zip(col_panels.chunks_exact(k * NR)) {
            let out = PanelOut::uninit(y, p, col0, width);
            panel_product(w, blocks.clone(), panel, out, false);
        }
    }
}

/// The forward of one sample of a pointwise convolution (`col_i` is the
/// input): whole panels read the input's channel rows in place; a panel
/// that ends past the plane (the last one, when `p` is not a multiple of
/// [`NR`]) would read past the sample in its last row, so it is copied
/// into `panel` first.
fn pointwise_forward_one(
    w: &PackedA,
    (k, p): (usize, usize),
    x: &[f32],
    y: &mut [MaybeUninit<f32>],
    panel: &mut [f32],
) {
    for blocks in w.block_runs() {
        for (col0, width) in panels(p) {
            let out = PanelOut::uninit(y, p, col0, width);
            if col0 + NR <= p {
                strided_product(w, blocks.clone(), (x, p), col0, out, false);
                continue;
            }
            for (row, channel) in panel.chunks_exact_mut(NR).zip(x.chunks_exact(p)) {
                row[..width].copy_from_slice(&channel[col0..col0 + width]);
            }
            panel_product(w, blocks.clone(), &panel[..k * NR], out, false);
        }
    }
}

/// The input gradient `dL/dx` from `dL/dy` (`gy`) and the weight.
///
/// With `relu_input = Some(x)` (which needs [`fuses_relu`]), the gradient
/// with respect to the input of a ReLU in front of the convolution: zero
/// where `x` is not positive.
pub fn backward_input(g: &ConvGeom, gy: &[f32], w: &[f32], relu_input: Option<&[f32]>) -> Vec<f32> {
    assert!(
        relu_input.is_none() || fuses_relu(g),
        "this convolution cannot fuse a ReLU"
    );
    let sub = per_group(g);
    let (k, lens) = (patch_len(&sub), GroupLens::of(&sub));
    if shifted::applies(&sub) {
        let plan = Shifted::new(&sub, false);
        let packs: Vec<PackedA> = w
            .chunks_exact(lens.w)
            .map(|w_g| plan.pack_transposed(w_g))
            .collect();
        let fill = |gx: &mut [MaybeUninit<f32>]| {
            let scratch = plan.scratch_lens();
            by_sample_and_group(
                g,
                (gx, lens.x),
                (gy, lens.y),
                scratch,
                |sample, grp, gx_g, gy_g, s| {
                    let at = (sample * g.groups + grp) * lens.x;
                    let mask = relu_input.map(|x| &x[at..at + lens.x]);
                    plan.input_grad(&packs[grp], gy_g, (gx_g, mask), s)
                },
            );
        };
        // SAFETY: the shifted product narrows every input position of
        // every group of every sample into `gx`.
        return unsafe { write_once(g.n * g.c_in * g.in_plane(), fill) };
    }
    let unfold = Unfold::new(&sub);
    let packs: Vec<PackedA> = w
        .chunks_exact(lens.w)
        .map(|w_g| PackedA::transposed(w_g, k, sub.c_out))
        .collect();
    let mut gx = vec![0.0f32; g.n * g.c_in * g.in_plane()];
    let scratch = (sub.c_out * NR, unfold.panel_count() * k * NR);
    by_sample_and_group(
        g,
        (&mut gx, lens.x),
        (gy, lens.y),
        scratch,
        |_, grp, gx_g, gy_g, s| fold_back_one(&unfold, &packs[grp], gy_g, gx_g, s.0, s.1),
    );
    gx
}

/// The input gradient of one sample (and group): `Wᵀ · dy` panel by
/// panel (`dy` copied into a panel first: its rows lie a whole plane
/// apart), then every panel folded back onto `gx`.
fn fold_back_one(
    unfold: &Unfold,
    w_t: &PackedA,
    gy: &[f32],
    gx: &mut [f32],
    gy_panel: &mut [f32],
    dcol_panels: &mut [f32],
) {
    let (k, p) = (patch_len(unfold.geom()), unfold.geom().out_plane());
    if is_identity_unfold(unfold.geom()) {
        return pointwise_input_grad_one(w_t, p, gy, gx, gy_panel);
    }
    for ((p0, width), dcol_panel) in panels(p).zip(dcol_panels.chunks_exact_mut(k * NR)) {
        for (dst, src) in gy_panel.chunks_exact_mut(NR).zip(gy.chunks_exact(p)) {
            dst[..width].copy_from_slice(&src[p0..p0 + width]);
        }
        let out = PanelOut::new(dcol_panel, NR, 0, width);
        panel_product(w_t, 0..w_t.blocks(), gy_panel, out, false);
    }
    unfold.scatter(dcol_panels, gx);
}

/// The input gradient of one sample of a pointwise convolution: `Wᵀ ·
/// dy` straight into `gx` (its patch matrix is the input itself, so there
/// is nothing to fold), whole panels of `dy` read in place and the last,
/// partial one copied into `gy_panel` (see [`pointwise_forward_one`]).
fn pointwise_input_grad_one(
    w_t: &PackedA,
    p: usize,
    gy: &[f32],
    gx: &mut [f32],
    gy_panel: &mut [f32],
) {
    for (col0, width) in panels(p) {
        let out = PanelOut::new(gx, p, col0, width);
        if col0 + NR <= p {
            strided_product(w_t, 0..w_t.blocks(), (gy, p), col0, out, false);
            continue;
        }
        for (dst, src) in gy_panel.chunks_exact_mut(NR).zip(gy.chunks_exact(p)) {
            dst[..width].copy_from_slice(&src[col0..col0 + width]);
        }
        panel_product(w_t, 0..w_t.blocks(), gy_panel, out, false);
    }
}

/// Samples summed into one partial weight gradient. Fixed, not derived
/// from the thread count, so that the summation order (and so every bit of
/// the result) is the same whatever the pool size: `--jobs` runs must
/// journal exactly what serial runs journal.
const SAMPLES_PER_PARTIAL: usize = 8;

/// Below this many output positions the weight gradient runs as an outer
/// product over positions instead of dot products along them: a dot
/// product of 49 (7x7) or 64 (8x8) values is too short to pay for summing
/// its vector lanes, and measured twice as slow as the old GEMM on FBNet's
/// 352 -> 1,984 head.
const SHORT_PLANE: usize = 128;

/// The weight gradient `dL/dw` from the input (read through a ReLU when
/// `relu_input`, which needs [`fuses_relu`]) and `dL/dy` (`gy`), summed
/// by [`partial_sums`].
pub fn backward_weight(g: &ConvGeom, x: &[f32], gy: &[f32], relu_input: bool) -> Vec<f32> {
    assert!(
        !relu_input || fuses_relu(g),
        "this convolution cannot fuse a ReLU"
    );
    let sub = per_group(g);
    let (k, p) = (patch_len(&sub), g.out_plane());
    // Short planes keep the unfolded outer product (measured faster at
    // 8x8), reading a rectified copy when the ReLU is fused.
    let by_shifted_views = shifted::applies(&sub) && p >= SHORT_PLANE;
    let rectified: Vec<f32>;
    let x = if relu_input && !by_shifted_views {
        rectified = x.par_iter().map(|v| v.max(0.0)).collect();
        &rectified[..]
    } else {
        x
    };
    if by_shifted_views {
        let plan = Shifted::new(&sub, relu_input);
        let lens = GroupLens::of(&sub);
        return partial_sums(g, (x, gy), plan.scratch_lens(), |x_i, gy_i, gw, scratch| {
            let groups = x_i.chunks_exact(lens.x).zip(gy_i.chunks_exact(lens.y));
            for ((x_g, gy_g), gw_g) in groups.zip(gw.chunks_exact_mut(lens.w)) {
                plan.weight_grad(x_g, gy_g, gw_g, (&mut *scratch.0, &mut *scratch.1));
            }
        });
    }
    let unfold = Unfold::new(&sub);
    let col_len = if is_identity_unfold(g) { 0 } else { k * p };
    let col_t_len = if p < SHORT_PLANE {
        k.div_ceil(NR) * p * NR
    } else {
        0
    };
    partial_sums(
        g,
        (x, gy),
        (col_len, col_t_len),
        |x_i, gy_i, gw, scratch| weight_grad_one(&unfold, (x_i, gy_i), scratch.0, scratch.1, gw),
    )
}

/// The weight gradient summed sample by sample: `add(x_i, gy_i, gw,
/// scratch)` adds sample `i`'s gradient to `gw`; each rayon task sums a
/// fixed run of [`SAMPLES_PER_PARTIAL`] samples into a private gradient,
/// with this thread's two scratch buffers of lengths `scratch`, and the
/// partial sums are added in sample order.
fn partial_sums(
    g: &ConvGeom,
    (x, gy): (&[f32], &[f32]),
    scratch: (usize, usize),
    add: impl Fn(&[f32], &[f32], &mut [f32], (&mut [f32], &mut [f32])) + Sync,
) -> Vec<f32> {
    let len = g.c_out * patch_len(&per_group(g));
    let (x_len, y_len) = (g.c_in * g.in_plane(), g.c_out * g.out_plane());
    let partials: Vec<Vec<f32>> = x
        .par_chunks(x_len * SAMPLES_PER_PARTIAL)
        .zip(gy.par_chunks(y_len * SAMPLES_PER_PARTIAL))
        .map(|(xs, gys)| {
            let mut gw = vec![0.0f32; len];
            with_scratch(0, scratch.0, |first| {
                with_scratch(1, scratch.1, |second| {
                    for (x_i, gy_i) in xs.chunks_exact(x_len).zip(gys.chunks_exact(y_len)) {
                        add(x_i, gy_i, &mut gw, (&mut *first, &mut *second));
                    }
                })
            });
            gw
        })
        .collect();
    sum_in_order(partials, len)
}

/// Adds one sample's weight gradient (every group) to `gw`.
fn weight_grad_one(
    unfold: &Unfold,
    (x_i, gy_i): (&[f32], &[f32]),
    col: &mut [f32],
    col_t: &mut [f32],
    gw: &mut [f32],
) {
    let sub = unfold.geom();
    let (k, p, lens) = (patch_len(sub), sub.out_plane(), GroupLens::of(sub));
    let groups = x_i.chunks_exact(lens.x).zip(gy_i.chunks_exact(lens.y));
    for ((x_g, gy_g), gw_g) in groups.zip(gw.chunks_exact_mut(lens.w)) {
        let col_g = if is_identity_unfold(sub) {
            x_g
        } else {
            unfold.im2col(x_g, col);
            &col[..]
        };
        if p < SHORT_PLANE {
            outer_product_over_positions(gy_g, sub.c_out, col_g, k, p, col_t, gw_g);
        } else {
            dot_accumulate(gy_g, sub.c_out, col_g, k, p, gw_g);
        }
    }
}

/// `gw (m x k) += gy (m x p) · colᵀ`, with `col` (`k x p`) transposed into
/// panels of [`NR`] patch rows (`col_t`; the last panel's columns past `k`
/// keep whatever they held, and only feed result columns never stored).
fn outer_product_over_positions(
    gy: &[f32],
    m: usize,
    col: &[f32],
    k: usize,
    p: usize,
    col_t: &mut [f32],
    gw: &mut [f32],
) {
    for (q, panel) in col_t.chunks_exact_mut(p * NR).enumerate() {
        for (j, row) in col.chunks_exact(p).skip(q * NR).take(NR).enumerate() {
            for (pos, &v) in row.iter().enumerate() {
                panel[pos * NR + j] = v;
            }
        }
    }
    let gy = PackedA::rows(gy, m, p);
    for (q, panel) in col_t.chunks_exact(p * NR).enumerate() {
        let out = PanelOut::new(gw, k, q * NR, NR.min(k - q * NR));
        panel_product(&gy, 0..gy.blocks(), panel, out, true);
    }
}

/// Adds the partial gradients in their (task) order.
pub(super) fn sum_in_order(partials: Vec<Vec<f32>>, len: usize) -> Vec<f32> {
    let mut parts = partials.into_iter();
    let mut total = parts.next().unwrap_or_else(|| vec![0.0; len]);
    for part in parts {
        for (t, v) in total.iter_mut().zip(part) {
            *t += v;
        }
    }
    total
}
