//! Precomputed masked moves between one input channel plane and a row of
//! unfolded patches: the inner step of unfolding a stride-1 convolution's
//! input (im2col) and of folding its gradient back (col2im).
//!
//! Where a patch row's values come from depends only on the geometry, not
//! on the channel or the sample, so [`Plan`]s are worked out once per call
//! and replayed for every channel of every sample: each [`Move`] carries
//! up to 16 values, with a load mask for the lanes inside the image (the
//! others are the zero padding) and a store mask for the lanes inside the
//! destination. With AVX-512 a move is one masked load and one masked
//! store; the edge arithmetic per piece of output row, redone for every
//! channel, had made the unfolding cost more than the GEMM it feeds.

use std::ops::Range;

/// Lanes per move.
pub(super) const LANES: usize = 16;

/// Up to [`LANES`] values: destination lane `l` (if in `store`) gets plane
/// element `src + l` if `l` is in `load`, else zero.
#[derive(Clone, Copy, Debug)]
pub(super) struct Move {
    src: isize,
    dst: usize,
    load: u16,
    store: u16,
}

/// The moves that fill one destination row, with the extents they touch
/// (checked against the slices once per replay, so that the masked loads
/// and stores need no checks of their own).
#[derive(Clone, Debug, Default)]
pub(super) struct Plan {
    moves: Vec<Move>,
    /// One past the largest plane element read (0 when none is).
    src_end: usize,
    /// One past the largest destination element written.
    dst_end: usize,
}

/// The mask of lanes `range` (within `0..LANES`).
fn mask(range: Range<usize>) -> u16 {
    let upto = |n: usize| -> u32 {
        if n >= LANES {
            0xFFFF
        } else {
            (1u32 << n) - 1
        }
    };
    (upto(range.end) & !upto(range.start)) as u16
}

impl Plan {
    /// Adds moves for destination elements `dst..dst + len`, reading plane
    /// elements `src + j` for `j` in `valid` (a sub-range of `0..len`; the
    /// rest are zero). `src + j` must be a plane element for every `j` in
    /// `valid`.
    pub(super) fn push_run(&mut self, dst: usize, len: usize, src: isize, valid: Range<usize>) {
        for c0 in (0..len).step_by(LANES) {
            let lanes = LANES.min(len - c0);
            let lo = valid.start.clamp(c0, c0 + lanes) - c0;
            let hi = valid.end.clamp(c0 + lo, c0 + lanes) - c0;
            let load = mask(lo..hi);
            if load != 0 {
                let last = src + (c0 + hi) as isize;
                assert!(src + (c0 + lo) as isize >= 0, "move reads before the plane");
                self.src_end = self.src_end.max(last as usize);
            }
            self.dst_end = self.dst_end.max(dst + c0 + lanes);
            self.moves.push(Move {
                src: src + c0 as isize,
                dst: dst + c0,
                load,
                store: mask(0..lanes),
            });
        }
    }

    /// Checks that replaying this plan stays inside both slices (before
    /// the unchecked vector replays, which exist on x86-64 only).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    fn check(&self, plane: usize, row: usize) {
        assert!(
            self.src_end <= plane && self.dst_end <= row,
            "unfold plan does not fit its slices"
        );
    }
}

/// Replaying plans, for [`Scalar`] code and (on x86-64) `Avx2` and
/// `Avx512`.
pub(super) trait MoveOps {
    /// `row[m.dst + l] = plane[m.src + l]` (or zero) for every move.
    ///
    /// # Safety
    /// The CPU must have the implementation's features.
    unsafe fn copy(plan: &Plan, plane: &[f32], row: &mut [f32]);

    /// `plane[m.src + l] += row[m.dst + l]` for the loaded lanes of every
    /// move: the transpose of [`MoveOps::copy`].
    ///
    /// # Safety
    /// The CPU must have the implementation's features.
    unsafe fn add(plan: &Plan, row: &[f32], plane: &mut [f32]);
}

/// Lane by lane, for CPUs without AVX-512.
pub(super) struct Scalar;

impl MoveOps for Scalar {
    unsafe fn copy(plan: &Plan, plane: &[f32], row: &mut [f32]) {
        for m in &plan.moves {
            for l in (0..LANES).filter(|l| m.store >> l & 1 == 1) {
                row[m.dst + l] = if m.load >> l & 1 == 1 {
                    plane[(m.src + l as isize) as usize]
                } else {
                    0.0
                };
            }
        }
    }

    unsafe fn add(plan: &Plan, row: &[f32], plane: &mut [f32]) {
        for m in &plan.moves {
            for l in (0..LANES).filter(|l| m.load >> l & 1 == 1) {
                plane[(m.src + l as isize) as usize] += row[m.dst + l];
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) use avx2::Avx2;
#[cfg(target_arch = "x86_64")]
pub(super) use avx512::Avx512;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{MoveOps, Plan};

    /// The lanes of one 8-lane half of a 16-bit move mask, as an AVX2
    /// `maskload`/`maskstore` mask (the top bit of each 32-bit lane).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn half(bits: u16, hi: bool) -> __m256i {
        let byte = if hi { bits >> 8 } else { bits & 0xFF };
        let lane_bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        let set = _mm256_and_si256(_mm256_set1_epi32(i32::from(byte)), lane_bits);
        _mm256_cmpeq_epi32(set, lane_bits)
    }

    /// Two masked 8-lane loads and stores per move: the AVX-512 replay
    /// for CPUs with AVX2 only (the lane-by-lane replay cost as much as
    /// the product it feeds).
    pub(in crate::conv) struct Avx2;

    impl MoveOps for Avx2 {
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn copy(plan: &Plan, plane: &[f32], row: &mut [f32]) {
            plan.check(plane.len(), row.len());
            for m in &plan.moves {
                for (h, hi) in [(0usize, false), (8, true)] {
                    let (load, store) = (half(m.load, hi), half(m.store, hi));
                    if m.store >> h & 0xFF == 0 {
                        continue;
                    }
                    // SAFETY: `check` bounds every loaded lane by the plane
                    // and every stored lane by the row; masked-off lanes are
                    // not accessed, so the pointers (wrapping arithmetic)
                    // may point outside the slices.
                    unsafe {
                        let from = plane.as_ptr().wrapping_offset(m.src + h as isize);
                        let v = _mm256_maskload_ps(from, load);
                        let to = row.as_mut_ptr().wrapping_add(m.dst + h);
                        _mm256_maskstore_ps(to, store, v);
                    }
                }
            }
        }

        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn add(plan: &Plan, row: &[f32], plane: &mut [f32]) {
            plan.check(plane.len(), row.len());
            for m in &plan.moves {
                for (h, hi) in [(0usize, false), (8, true)] {
                    if m.load >> h & 0xFF == 0 {
                        continue;
                    }
                    let load = half(m.load, hi);
                    // SAFETY: as in `copy`; only the loaded lanes are
                    // touched.
                    unsafe {
                        let to = plane.as_mut_ptr().wrapping_offset(m.src + h as isize);
                        let from = row.as_ptr().wrapping_add(m.dst + h);
                        let sum = _mm256_add_ps(
                            _mm256_maskload_ps(to, load),
                            _mm256_maskload_ps(from, load),
                        );
                        _mm256_maskstore_ps(to, load, sum);
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{MoveOps, Plan};

    /// One masked load and one masked store per move.
    pub(in crate::conv) struct Avx512;

    impl MoveOps for Avx512 {
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn copy(plan: &Plan, plane: &[f32], row: &mut [f32]) {
            plan.check(plane.len(), row.len());
            for m in &plan.moves {
                // SAFETY: `check` bounds every loaded lane by the plane and
                // every stored lane by the row; masked-off lanes are not
                // accessed, so the source pointer (wrapping arithmetic) may
                // point outside the plane.
                unsafe {
                    let from = plane.as_ptr().wrapping_offset(m.src);
                    let v = _mm512_maskz_loadu_ps(m.load, from);
                    _mm512_mask_storeu_ps(row.as_mut_ptr().add(m.dst), m.store, v);
                }
            }
        }

        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn add(plan: &Plan, row: &[f32], plane: &mut [f32]) {
            plan.check(plane.len(), row.len());
            for m in &plan.moves {
                // SAFETY: as in `copy`; only the loaded lanes are touched.
                unsafe {
                    let to = plane.as_mut_ptr().wrapping_offset(m.src);
                    let sum = _mm512_add_ps(
                        _mm512_maskz_loadu_ps(m.load, to),
                        _mm512_maskz_loadu_ps(m.load, row.as_ptr().add(m.dst)),
                    );
                    _mm512_mask_storeu_ps(to, m.load, sum);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run overhanging both ends of a 37-value plane, spread over three
    /// moves, replayed by every implementation this CPU runs.
    #[test]
    fn replays_match_the_definition() {
        let plane: Vec<f32> = (0..37).map(|v| v as f32 + 1.0).collect();
        let (len, src) = (40usize, -2isize);
        let valid = 2..39; // src + j inside 0..37
        let mut plan = Plan::default();
        plan.push_run(3, len, src, valid.clone());
        let want_row: Vec<f32> = (0..len + 3)
            .map(|d| match d.checked_sub(3) {
                Some(j) if valid.contains(&j) => plane[(src + j as isize) as usize],
                _ => 0.0,
            })
            .collect();
        let row_in: Vec<f32> = (0..len + 3).map(|v| v as f32 * 0.5).collect();
        let mut want_plane = plane.clone();
        for j in valid.clone() {
            want_plane[(src + j as isize) as usize] += row_in[j + 3];
        }
        let run = |copy: unsafe fn(&Plan, &[f32], &mut [f32]),
                   add: unsafe fn(&Plan, &[f32], &mut [f32]),
                   name: &str| {
            let mut row = vec![0.0; len + 3];
            let mut summed = plane.clone();
            // SAFETY: only called with implementations this CPU runs.
            unsafe {
                copy(&plan, &plane, &mut row);
                add(&plan, &row_in, &mut summed);
            }
            assert_eq!(row, want_row, "{name} copy");
            assert_eq!(summed, want_plane, "{name} add");
        };
        run(Scalar::copy, Scalar::add, "scalar");
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            run(Avx512::copy, Avx512::add, "avx512");
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            run(Avx2::copy, Avx2::add, "avx2");
        }
    }

    #[test]
    #[should_panic(expected = "does not fit")]
    fn a_plan_too_big_for_its_slices_is_refused() {
        let mut plan = Plan::default();
        plan.push_run(0, 20, 0, 0..20);
        plan.check(10, 20);
    }
}
