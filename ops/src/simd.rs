//! Sixteen-lane f32 vectors for the element-wise kernels, written once and
//! compiled three times: AVX-512 (one register), AVX2 (two registers) and
//! portable scalar code (which NEON runs too: the compiler vectorises it
//! for aarch64's baseline NEON), picked by [`crate::isa`].
//!
//! Every operation is one IEEE operation per lane, with no fused
//! multiply-add and a fixed lane order for sums, so the three builds give
//! bit-identical results (the unit tests of the kernels check that): a
//! result never depends on which CPU or how many threads computed it.

use std::mem::MaybeUninit;

/// Lanes of a [`F32x16`].
pub const WIDTH: usize = 16;

pub use crate::isa::Isa;

/// Sixteen f32 lanes. Implementations other than [`Scalar16`] may only be
/// used inside functions compiled for their instruction set (see
/// [`isa_dispatch`]), which run only after [`Isa::available`] found it.
pub trait F32x16: Copy {
    fn splat(v: f32) -> Self;
    /// The first 16 values of `s` (`s.len() >= 16`).
    fn load(s: &[f32]) -> Self;
    /// Writes the lanes to the first 16 slots of `d` (`d.len() >= 16`).
    fn store(self, d: &mut [MaybeUninit<f32>]);
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// `if v > 0 { v } else { 0 }` per lane (NaN gives 0).
    fn relu(self) -> Self;
    /// `self` where `by > 0`, else 0, per lane (NaN in `by` gives 0).
    fn where_positive(self, by: Self) -> Self;
    fn to_array(self) -> [f32; WIDTH];
}

/// The portable implementation, and the reference semantics of the others.
#[derive(Clone, Copy, Debug)]
pub struct Scalar16([f32; WIDTH]);

impl Scalar16 {
    #[inline(always)]
    fn map(self, o: Self, f: impl Fn(f32, f32) -> f32) -> Self {
        Scalar16(std::array::from_fn(|l| f(self.0[l], o.0[l])))
    }
}

impl F32x16 for Scalar16 {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        Scalar16([v; WIDTH])
    }
    #[inline(always)]
    fn load(s: &[f32]) -> Self {
        Scalar16(std::array::from_fn(|l| s[l]))
    }
    #[inline(always)]
    fn store(self, d: &mut [MaybeUninit<f32>]) {
        for (d, v) in d[..WIDTH].iter_mut().zip(self.0) {
            d.write(v);
        }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.map(o, |a, b| a + b)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self.map(o, |a, b| a - b)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self.map(o, |a, b| a * b)
    }
    #[inline(always)]
    fn relu(self) -> Self {
        self.map(self, |a, _| if a > 0.0 { a } else { 0.0 })
    }
    #[inline(always)]
    fn where_positive(self, by: Self) -> Self {
        self.map(by, |a, b| if b > 0.0 { a } else { 0.0 })
    }
    #[inline(always)]
    fn to_array(self) -> [f32; WIDTH] {
        self.0
    }
}

#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2x16, Avx512x16};

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! SAFETY (for every `unsafe` block in this module): the intrinsics
    //! need AVX2 or AVX-512F, and these types are only used inside
    //! functions compiled with that feature, called after run-time
    //! detection ([`super::isa_dispatch`]). Loads and stores go through
    //! pointers of slices whose length is checked first.
    use super::{F32x16, WIDTH};
    use std::arch::x86_64::*;
    use std::mem::MaybeUninit;

    /// Two AVX registers: lanes 0-7 and 8-15.
    #[derive(Clone, Copy, Debug)]
    pub struct Avx2x16(__m256, __m256);

    impl Avx2x16 {
        #[inline(always)]
        fn both(self, o: Self, f: impl Fn(__m256, __m256) -> __m256) -> Self {
            Avx2x16(f(self.0, o.0), f(self.1, o.1))
        }
    }

    impl F32x16 for Avx2x16 {
        #[inline(always)]
        fn splat(v: f32) -> Self {
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            let r = unsafe { _mm256_set1_ps(v) };
            Avx2x16(r, r)
        }
        #[inline(always)]
        fn load(s: &[f32]) -> Self {
            let s = &s[..WIDTH];
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            unsafe {
                Avx2x16(
                    _mm256_loadu_ps(s.as_ptr()),
                    _mm256_loadu_ps(s.as_ptr().add(8)),
                )
            }
        }
        #[inline(always)]
        fn store(self, d: &mut [MaybeUninit<f32>]) {
            let d = &mut d[..WIDTH];
            let p = d.as_mut_ptr().cast::<f32>();
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            unsafe {
                _mm256_storeu_ps(p, self.0);
                _mm256_storeu_ps(p.add(8), self.1);
            }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            self.both(o, |a, b| unsafe { _mm256_add_ps(a, b) })
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            self.both(o, |a, b| unsafe { _mm256_sub_ps(a, b) })
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            self.both(o, |a, b| unsafe { _mm256_mul_ps(a, b) })
        }
        #[inline(always)]
        fn relu(self) -> Self {
            // maxps returns its second operand unless the first is greater,
            // exactly `if v > 0 { v } else { 0 }`.
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            self.both(Self::splat(0.0), |a, z| unsafe { _mm256_max_ps(a, z) })
        }
        #[inline(always)]
        fn where_positive(self, by: Self) -> Self {
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            let z = unsafe { _mm256_setzero_ps() };
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            self.both(by, |a, b| unsafe {
                _mm256_and_ps(a, _mm256_cmp_ps::<_CMP_GT_OQ>(b, z))
            })
        }
        #[inline(always)]
        fn to_array(self) -> [f32; WIDTH] {
            let mut out = [MaybeUninit::uninit(); WIDTH];
            self.store(&mut out);
            // SAFETY: `store` just wrote all 16 lanes.
            out.map(|v| unsafe { v.assume_init() })
        }
    }

    /// One AVX-512 register.
    #[derive(Clone, Copy, Debug)]
    pub struct Avx512x16(__m512);

    impl F32x16 for Avx512x16 {
        #[inline(always)]
        fn splat(v: f32) -> Self {
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            Avx512x16(unsafe { _mm512_set1_ps(v) })
        }
        #[inline(always)]
        fn load(s: &[f32]) -> Self {
            let s = &s[..WIDTH];
            // SAFETY: enabled feature, access inside a checked slice (module docs).
            Avx512x16(unsafe { _mm512_loadu_ps(s.as_ptr()) })
        }
        #[inline(always)]
        fn store(self, d: &mut [MaybeUninit<f32>]) {
            let d = &mut d[..WIDTH];
            // SAFETY: enabled feature, access inside a checked slice (module docs).
            unsafe { _mm512_storeu_ps(d.as_mut_ptr().cast::<f32>(), self.0) }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            Avx512x16(unsafe { _mm512_add_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            Avx512x16(unsafe { _mm512_sub_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            Avx512x16(unsafe { _mm512_mul_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn relu(self) -> Self {
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            Avx512x16(unsafe { _mm512_max_ps(self.0, _mm512_setzero_ps()) })
        }
        #[inline(always)]
        fn where_positive(self, by: Self) -> Self {
            // SAFETY: register-only intrinsic of the enabled feature (module docs).
            Avx512x16(unsafe {
                let m = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(by.0, _mm512_setzero_ps());
                _mm512_maskz_mov_ps(m, self.0)
            })
        }
        #[inline(always)]
        fn to_array(self) -> [f32; WIDTH] {
            let mut out = [MaybeUninit::uninit(); WIDTH];
            self.store(&mut out);
            // SAFETY: `store` just wrote all 16 lanes.
            out.map(|v| unsafe { v.assume_init() })
        }
    }
}

/// Defines `pub fn $name(isa: Isa, args..) -> R` running the generic
/// kernel `$generic::<V>(args..)` with the vector type of `isa`, compiled
/// for that instruction set. `isa` must be one this CPU runs (it panics
/// otherwise: a path is never silently replaced by another).
macro_rules! isa_dispatch {
    ($(#[$doc:meta])* $vis:vis fn $name:ident = $generic:ident ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        $(#[$doc])*
        $vis fn $name(isa: $crate::simd::Isa, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            fn avx512($($arg: $ty),*) -> $ret {
                $generic::<$crate::simd::Avx512x16>($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            fn avx2($($arg: $ty),*) -> $ret {
                $generic::<$crate::simd::Avx2x16>($($arg),*)
            }
            assert!(isa.supported(), "nasarena-ops: this CPU cannot run the {isa} path");
            // Each arm notes what it runs, so a fall-through shows up in
            // `isas_used` (NEON runs the portable build, vectorised for it).
            match isa {
                #[cfg(target_arch = "x86_64")]
                $crate::simd::Isa::Avx512 => {
                    $crate::isa::note(isa);
                    // SAFETY: the CPU was just checked to have AVX-512F.
                    unsafe { avx512($($arg),*) }
                }
                #[cfg(target_arch = "x86_64")]
                $crate::simd::Isa::Avx2 => {
                    $crate::isa::note(isa);
                    // SAFETY: the CPU was just checked to have AVX2.
                    unsafe { avx2($($arg),*) }
                }
                $crate::simd::Isa::Neon => {
                    $crate::isa::note(isa);
                    $generic::<$crate::simd::Scalar16>($($arg),*)
                }
                _ => {
                    $crate::isa::note($crate::simd::Isa::Portable);
                    $generic::<$crate::simd::Scalar16>($($arg),*)
                }
            }
        }
    };
}
pub(crate) use isa_dispatch;

/// Planes a pass over one channel prefetches ahead of the one it reads:
/// a channel's planes lie a whole sample apart, a jump the hardware
/// prefetcher does not follow, so small planes were latency-bound.
pub const PREFETCH_AHEAD: usize = 2;

/// Hints the CPU to start loading `s` into cache (no effect on results).
#[inline(always)]
pub fn prefetch(s: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for line in s.chunks(16) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch never faults, whatever the address, and SSE
        // is part of the x86-64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = s;
}

/// A `Vec<f32>` of `len` built by `fill`, which must write every element
/// of the slice it is given (the kernels' outputs are written exactly
/// once, so zero-filling them first would be a wasted pass).
///
/// # Safety
/// `fill` must initialise all `len` elements.
pub unsafe fn write_once(len: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut v: Vec<f32> = Vec::with_capacity(len);
    fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: the caller guarantees `fill` initialised all `len` elements.
    unsafe { v.set_len(len) };
    v
}

/// Copies `src` over `dst` (as long): a plane row into its padded copy.
/// Rows of up to 32 floats move as two overlapping fixed-size blocks
/// (16, 8, 4 or 2 floats each), which compile to a few vector moves; a
/// library `memcpy` per short row cost more than the row.
#[inline(always)]
pub(crate) fn copy_row(dst: &mut [f32], src: &[f32]) {
    assert_eq!(dst.len(), src.len(), "row lengths differ");
    // SAFETY: `dst` is valid for `src.len()` writes.
    unsafe { copy_short(dst.as_mut_ptr(), src) }
}

/// [`copy_row`] to memory that may be uninitialised.
///
/// # Safety
/// `dst` is valid for `src.len()` writes and does not overlap `src`.
#[inline(always)]
pub(crate) unsafe fn copy_short(dst: *mut f32, src: &[f32]) {
    /// The first and the last `K` floats of `src` (`K <= len <= 2K`).
    #[inline(always)]
    unsafe fn ends<const K: usize>(dst: *mut f32, src: &[f32]) {
        let n = src.len();
        // SAFETY: `K <= n`: both runs lie in `0..n` of both buffers.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), dst, K);
            std::ptr::copy_nonoverlapping(src.as_ptr().add(n - K), dst.add(n - K), K);
        }
    }
    // SAFETY: the caller's promise, and in each arm `K <= len <= 2K`.
    unsafe {
        match src.len() {
            0 => {}
            1 => *dst = src[0],
            2..=3 => ends::<2>(dst, src),
            4..=7 => ends::<4>(dst, src),
            8..=16 => ends::<8>(dst, src),
            17..=32 => ends::<16>(dst, src),
            n => std::ptr::copy_nonoverlapping(src.as_ptr(), dst, n),
        }
    }
}

#[cfg(test)]
mod row_copy_tests {
    use super::*;

    #[test]
    fn short_rows_copy_exactly_their_floats() {
        for len in 0..70 {
            let src: Vec<f32> = (0..len).map(|i| i as f32 + 0.5).collect();
            // Guards on both sides: the overlapping blocks stay inside.
            let mut buf = vec![-1.0f32; len + 16];
            copy_row(&mut buf[8..8 + len], &src);
            assert_eq!(&buf[8..8 + len], &src[..], "len {len}");
            assert!(
                buf[..8].iter().chain(&buf[8 + len..]).all(|&v| v == -1.0),
                "len {len}"
            );
        }
    }
}
