//! Moving NCHW buffers to and from channels-last, for the kernels that
//! vectorise over channels on small planes (`conv::tiny_plane`,
//! `bn::small_plane`): `(n, c, p)` with `p = H * W` positions becomes `n`
//! blocks of `p` rows of `c` channels. With one position per plane the two
//! layouts are the same memory, and nothing is copied.

use rayon::prelude::*;
use std::borrow::Cow;
use std::mem::MaybeUninit;

use crate::simd::write_once;

/// `(n, c, p)` to `(n, p, c)`; borrowed when `p == 1`.
pub(crate) fn channels_last(src: &[f32], c: usize, p: usize) -> Cow<'_, [f32]> {
    if p == 1 {
        return Cow::Borrowed(src);
    }
    let fill = |out: &mut [MaybeUninit<f32>]| {
        out.par_chunks_mut((c * p).max(1))
            .zip(src.par_chunks((c * p).max(1)))
            .for_each(|(dst, src)| {
                for (ch, plane) in src.chunks_exact(p).enumerate() {
                    for (pos, &v) in plane.iter().enumerate() {
                        dst[pos * c + ch].write(v);
                    }
                }
            });
    };
    // SAFETY: every (channel, position) of every sample is written.
    Cow::Owned(unsafe { write_once(src.len(), fill) })
}

/// `(n, p, c)` back to `(n, c, p)`; returned as is when `p == 1`.
pub(crate) fn channels_first(src: Vec<f32>, c: usize, p: usize) -> Vec<f32> {
    if p == 1 {
        return src;
    }
    let fill = |out: &mut [MaybeUninit<f32>]| {
        out.par_chunks_mut((c * p).max(1))
            .zip(src.par_chunks((c * p).max(1)))
            .for_each(|(dst, src)| {
                for (pos, row) in src.chunks_exact(c).enumerate() {
                    for (ch, &v) in row.iter().enumerate() {
                        dst[ch * p + pos].write(v);
                    }
                }
            });
    };
    // SAFETY: every (position, channel) of every sample is written.
    unsafe { write_once(src.len(), fill) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip() {
        let x: Vec<f32> = (0..2 * 3 * 4).map(|v| v as f32).collect();
        let last = channels_last(&x, 3, 4);
        // Sample 1, position 2, channel 1.
        assert_eq!(last[12 + 2 * 3 + 1], x[12 + 4 + 2]);
        assert_eq!(channels_first(last.into_owned(), 3, 4), x);
        assert!(matches!(channels_last(&x, 4, 1), Cow::Borrowed(_)));
    }
}
