//! A per-output-channel affine map (+ ReLU) applied to a convolution's
//! output right after the kernels write it, while it is still in cache:
//! inference-mode batch norm fused into the convolution before it
//! ([`super::ConvBnEval`]). Unfused, batch norm is one more pass over the
//! whole activation in memory; at eval time, when nothing else happens
//! between the two, that pass was 14% of an FBNet forward on a 2-core AVX2
//! host (bench/README.md).

use std::mem::MaybeUninit;

/// `y = act(y * scale[c] + shift[c])` for output channel `c`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Epilogue<'a> {
    pub scale: &'a [f32],
    pub shift: &'a [f32],
    pub relu: bool,
}

impl Epilogue<'_> {
    /// Applies the map to `y`, planes of `plane` values of the channels
    /// from `first` on.
    pub fn apply(&self, first: usize, plane: usize, y: &mut [f32]) {
        let channels = y.len() / plane.max(1);
        let (scale, shift) = (
            &self.scale[first..first + channels],
            &self.shift[first..first + channels],
        );
        crate::bn::affine_in_place(crate::isa::isa(), y, plane, scale, shift, self.relu);
    }

    /// [`Epilogue::apply`] on output the kernels have just written.
    ///
    /// # Safety
    /// Every element of `y` is initialised.
    pub unsafe fn apply_written(&self, first: usize, plane: usize, y: &mut [MaybeUninit<f32>]) {
        // SAFETY: initialised, as the caller promises; same layout.
        let y = unsafe { &mut *(y as *mut [MaybeUninit<f32>] as *mut [f32]) };
        self.apply(first, plane, y);
    }

    /// The map of output channel `c` alone, for kernels that apply it
    /// while storing.
    pub fn channel(&self, c: usize) -> super::lanes::Affine {
        super::lanes::Affine {
            scale: self.scale[c],
            shift: self.shift[c],
            relu: self.relu,
        }
    }

    /// The map on channels-last rows (`position, channel`): every row holds
    /// all channels.
    pub fn apply_channels_last(&self, y: &mut [f32]) {
        let c = self.scale.len();
        for row in y.chunks_exact_mut(c.max(1)) {
            for ((v, &a), &b) in row.iter_mut().zip(self.scale).zip(self.shift) {
                let t = *v * a + b;
                *v = if !self.relu || t > 0.0 { t } else { 0.0 };
            }
        }
    }
}
