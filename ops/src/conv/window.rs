//! Copying and adding a window of one image row that may hang over the
//! row's ends (into the zero padding): the inner step of unfolding a
//! stride-1 convolution's input and of folding its gradient back.
//!
//! Unfolding a 3x3 convolution touches every input row nine times in
//! pieces of one output row (8 to 32 values on small feature maps). Done
//! with `copy_from_slice` and `fill`, each piece cost a library call or
//! three (memmove, memset) plus the edge arithmetic, and the unfolding
//! took three times as long as the GEMM it feeds. With AVX-512 a piece is
//! one or two masked loads and stores: lanes that fall into the padding
//! are masked off (read as zero, never written).

/// The two window operations, for [`Scalar`] code and (on x86-64)
/// [`Avx512`]. Unsafe only because an implementation may need CPU
/// features; the slices bound every access.
pub(super) trait RowOps {
    /// `dst[j] = src[offset + j]`, zero where `offset + j` lies outside `src`.
    ///
    /// # Safety
    /// The CPU must have the implementation's features.
    unsafe fn copy_window(dst: &mut [f32], src: &[f32], offset: isize);

    /// `dst[offset + j] += src[j]` where `offset + j` lies inside `dst`.
    ///
    /// # Safety
    /// The CPU must have the implementation's features.
    unsafe fn add_window(dst: &mut [f32], src: &[f32], offset: isize);
}

/// The part of `0..len` that `offset + j` maps into `0..bound`.
fn overlap(len: usize, bound: usize, offset: isize) -> std::ops::Range<usize> {
    let start = (-offset).clamp(0, len as isize) as usize;
    let end = (bound as isize - offset).clamp(start as isize, len as isize) as usize;
    start..end
}

/// Plain Rust, for CPUs without AVX-512.
pub(super) struct Scalar;

impl RowOps for Scalar {
    unsafe fn copy_window(dst: &mut [f32], src: &[f32], offset: isize) {
        let inside = overlap(dst.len(), src.len(), offset);
        let from = (inside.start as isize + offset) as usize;
        dst[..inside.start].fill(0.0);
        dst[inside.end..].fill(0.0);
        if !inside.is_empty() {
            dst[inside.clone()].copy_from_slice(&src[from..from + inside.len()]);
        }
    }

    unsafe fn add_window(dst: &mut [f32], src: &[f32], offset: isize) {
        let inside = overlap(src.len(), dst.len(), offset);
        if inside.is_empty() {
            return;
        }
        let to = (inside.start as isize + offset) as usize;
        for (d, s) in dst[to..to + inside.len()].iter_mut().zip(&src[inside]) {
            *d += s;
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) use avx512::Avx512;

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{overlap, RowOps};

    const LANES: usize = 16;

    /// Lanes `range.start..range.end` of a 16-lane mask (`range` within 0..16).
    fn lanes(range: std::ops::Range<usize>) -> __mmask16 {
        let upto = |n: usize| if n >= LANES { 0xFFFF } else { (1u32 << n) - 1 };
        (upto(range.end) & !upto(range.start)) as __mmask16
    }

    /// Masked 16-lane loads and stores.
    pub(in crate::conv) struct Avx512;

    impl RowOps for Avx512 {
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn copy_window(dst: &mut [f32], src: &[f32], offset: isize) {
            let inside = overlap(dst.len(), src.len(), offset);
            for j0 in (0..dst.len()).step_by(LANES) {
                let store = lanes(0..LANES.min(dst.len() - j0));
                let load = lanes(
                    inside.start.clamp(j0, j0 + LANES) - j0..inside.end.clamp(j0, j0 + LANES) - j0,
                ) & store;
                // SAFETY: only lanes in `load` are read, and they map into
                // `src` (the overlap); only lanes in `store` are written,
                // and they lie inside `dst`. The source pointer is formed
                // with wrapping arithmetic as it may point before `src`.
                unsafe {
                    let from = src.as_ptr().wrapping_offset(offset + j0 as isize);
                    let v = _mm512_maskz_loadu_ps(load, from);
                    _mm512_mask_storeu_ps(dst.as_mut_ptr().add(j0), store, v);
                }
            }
        }

        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn add_window(dst: &mut [f32], src: &[f32], offset: isize) {
            let inside = overlap(src.len(), dst.len(), offset);
            for j0 in (inside.start..inside.end).step_by(LANES) {
                let mask = lanes(0..LANES.min(inside.end - j0));
                // SAFETY: the lanes in `mask` lie inside the overlap: in
                // `src` at j0.., in `dst` at offset + j0..
                unsafe {
                    let to = dst.as_mut_ptr().offset(offset + j0 as isize);
                    let sum = _mm512_add_ps(
                        _mm512_maskz_loadu_ps(mask, to),
                        _mm512_maskz_loadu_ps(mask, src.as_ptr().add(j0)),
                    );
                    _mm512_mask_storeu_ps(to, mask, sum);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_reference(len: usize, src: &[f32], offset: isize) -> Vec<f32> {
        (0..len)
            .map(|j| {
                let s = offset + j as isize;
                if s >= 0 && (s as usize) < src.len() {
                    src[s as usize]
                } else {
                    0.0
                }
            })
            .collect()
    }

    fn add_reference(dst: &[f32], src: &[f32], offset: isize) -> Vec<f32> {
        let mut out = dst.to_vec();
        for (j, v) in src.iter().enumerate() {
            let d = offset + j as isize;
            if d >= 0 && (d as usize) < out.len() {
                out[d as usize] += v;
            }
        }
        out
    }

    /// Every implementation this CPU runs, on windows inside, overhanging
    /// either end, both ends, and entirely outside their row.
    #[test]
    fn windows_match_the_definition() {
        let src: Vec<f32> = (0..37).map(|v| v as f32 + 1.0).collect();
        for len in [1, 7, 16, 17, 32, 33, 40] {
            for offset in [-45, -20, -2, -1, 0, 1, 5, 20, 36, 37, 50] {
                let want = copy_reference(len, &src, offset);
                let base: Vec<f32> = (0..len).map(|v| v as f32 * 0.5).collect();
                let added = add_reference(&src, &base, offset);
                let mut got = vec![f32::NAN; len];
                let mut sum = src.clone();
                // SAFETY: Scalar needs no CPU feature.
                unsafe {
                    Scalar::copy_window(&mut got, &src, offset);
                    Scalar::add_window(&mut sum, &base, offset);
                }
                assert_eq!(got, want, "scalar copy len {len} offset {offset}");
                assert_eq!(sum, added, "scalar add len {len} offset {offset}");
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx512f") {
                    let mut got = vec![f32::NAN; len];
                    let mut sum = src.clone();
                    // SAFETY: AVX-512F was detected.
                    unsafe {
                        Avx512::copy_window(&mut got, &src, offset);
                        Avx512::add_window(&mut sum, &base, offset);
                    }
                    assert_eq!(got, want, "avx512 copy len {len} offset {offset}");
                    assert_eq!(sum, added, "avx512 add len {len} offset {offset}");
                }
            }
        }
    }
}
