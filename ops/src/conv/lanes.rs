//! Register-blocked row primitives the convolution kernels are built from.
//!
//! Each works on blocks of [`LANES`] adjacent outputs and keeps them in an
//! `[f32; LANES]` accumulator that LLVM maps to one vector register, so a
//! k x k convolution costs one store per block instead of one per tap.
//! Sources are pre-padded (see `padded.rs`), so every block reads whole
//! `LANES`-wide runs with no border branches. `FMA` selects fused
//! multiply-add, which is only fast in code compiled with the `fma` target
//! feature (see `kernels.rs`).

use std::mem::MaybeUninit;

/// Outputs per register block (one AVX2 vector of f32).
pub const LANES: usize = 8;

/// `a * b + c`, fused when the caller is compiled for FMA.
#[inline(always)]
pub(super) fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `y = act(y * scale + shift)` on every output of a plane as it is
/// stored: inference-mode batch norm (+ ReLU) of one output channel
/// ([`super::epilogue::Epilogue`]), with the same two roundings and the
/// same ReLU (`t > 0 ? t : 0`) as its separate pass.
#[derive(Clone, Copy, Debug)]
pub struct Affine {
    pub scale: f32,
    pub shift: f32,
    pub relu: bool,
}

impl Affine {
    #[inline(always)]
    fn map(self, v: f32) -> f32 {
        let t = v * self.scale + self.shift;
        if !self.relu || t > 0.0 {
            t
        } else {
            0.0
        }
    }
}

/// The `LANES` values of `src` from `at`.
#[inline(always)]
fn block(src: &[f32], at: usize) -> &[f32; LANES] {
    let s = &src[at..at + LANES];
    // The slice has exactly LANES elements, so the conversion cannot fail.
    s.try_into().unwrap_or(&[0.0; LANES])
}

/// Register blocks computed together by [`correlate_rows`]: independent
/// accumulators hide the latency of the multiply-add chain over the taps
/// (eight chains keep two FMA units busy at a latency of four).
const UNITS: usize = 8;

/// Accumulators of one group of register blocks starting at `src`.
type Group = [[f32; LANES]; UNITS];

/// `Σ_t a_t * base[src_u + off_t ..][..LANES]` for every unit `u`: the
/// portable loop (`FMA`: fused multiply-add, see the module docs).
#[inline(always)]
fn group_generic<const FMA: bool>(
    base: &[f32],
    src: &[usize; UNITS],
    taps: &[(usize, f32)],
) -> Group {
    let mut acc = [[0f32; LANES]; UNITS];
    for &(off, a) in taps {
        for (acc, &s) in acc.iter_mut().zip(src) {
            let v = block(base, s + off);
            for l in 0..LANES {
                acc[l] = madd::<FMA>(a, v[l], acc[l]);
            }
        }
    }
    acc
}

/// The register blocks of `rows` rows of `width` outputs, [`UNITS`] at a
/// time in row-major order: per group, each unit's `(row, first column)`
/// and how many units are real (`k`); units past `k` repeat unit 0 (valid
/// reads, results dropped), so the inner loop always has UNITS chains and
/// fully unrolls. The position is stepped forward, not divided out: a
/// division per block cost more than a 3x3 block's multiply-adds on
/// 7-wide planes.
#[inline(always)]
fn for_each_group(
    rows: usize,
    width: usize,
    mut each: impl FnMut(&[(usize, usize); UNITS], usize),
) {
    let blocks = width.div_ceil(LANES);
    let total = rows * blocks;
    let (mut row, mut block) = (0, 0);
    let mut first = 0;
    while first < total {
        let k = (total - first).min(UNITS);
        let mut at = [(row, block * LANES); UNITS];
        for unit in at.iter_mut().take(k) {
            *unit = (row, block * LANES);
            block += 1;
            if block == blocks {
                (row, block) = (row + 1, 0);
            }
        }
        each(&at, k);
        first += k;
    }
}

/// `out[r * width + j] = Σ_t a_t * base[r * pitch + off_t + j]` over the
/// taps `(off_t, a_t)`, for every row `r` of `out` (rows of `width`;
/// every element is written, so `out` need not be initialised);
/// `base` must extend `LANES` past the last block's start for every tap.
/// The register blocks of all rows are taken [`UNITS`] at a time, so that
/// even 7-wide rows (one block each) run several accumulation chains at
/// once. Every output sums its taps in tap order, then goes through
/// `affine` when there is one.
#[inline(always)]
pub fn correlate_rows<const FMA: bool>(
    out: &mut [MaybeUninit<f32>],
    width: usize,
    (base, pitch): (&[f32], usize),
    taps: &[(usize, f32)],
    affine: Option<Affine>,
) {
    if width == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if FMA && std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU was just checked to have AVX2 and FMA.
        return unsafe { correlate_rows_avx2(out, width, (base, pitch), taps, affine) };
    }
    correlate_rows_generic::<FMA>(out, width, (base, pitch), taps, affine)
}

/// [`correlate_rows`] in portable code (`width > 0`).
#[inline(always)]
fn correlate_rows_generic<const FMA: bool>(
    out: &mut [MaybeUninit<f32>],
    width: usize,
    (base, pitch): (&[f32], usize),
    taps: &[(usize, f32)],
    affine: Option<Affine>,
) {
    for_each_group(out.len() / width, width, |at, k| {
        let src: [usize; UNITS] = std::array::from_fn(|u| at[u].0 * pitch + at[u].1);
        let acc = group_generic::<FMA>(base, &src, taps);
        for (&(r, c), acc) in at.iter().zip(&acc).take(k) {
            let dst = &mut out[r * width + c..][..(width - c).min(LANES)];
            for (d, &v) in dst.iter_mut().zip(acc) {
                d.write(affine.map_or(v, |f| f.map(v)));
            }
        }
    });
}

/// Where the AVX2 kernels store their register blocks: `len` floats of
/// (possibly uninitialised) output, and the channel's affine map with its
/// coefficients already broadcast.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Avx2Out {
    out: *mut f32,
    len: usize,
    map: Option<(std::arch::x86_64::__m256, std::arch::x86_64::__m256, bool)>,
}

#[cfg(target_arch = "x86_64")]
impl Avx2Out {
    #[target_feature(enable = "avx2")]
    fn new(out: &mut [MaybeUninit<f32>], affine: Option<Affine>) -> Self {
        use std::arch::x86_64::_mm256_set1_ps;
        Avx2Out {
            out: out.as_mut_ptr() as *mut f32,
            len: out.len(),
            map: affine.map(|f| (_mm256_set1_ps(f.scale), _mm256_set1_ps(f.shift), f.relu)),
        }
    }

    /// Maps `v` and stores it at `at`. A block that ends past its row
    /// stores all its lanes all the same: the extra ones land on the next
    /// row's first outputs, which the kernels store again later. Only a
    /// block that would end past the output goes through a copy of its
    /// lanes. (AVX2's masked store is microcoded and slow on AMD Zen.)
    ///
    /// # Safety
    /// AVX2 is present; `at < self.len`.
    #[inline(always)]
    unsafe fn store(&self, at: usize, v: std::arch::x86_64::__m256) {
        use std::arch::x86_64::*;
        // SAFETY: AVX2 is present (the caller's promise), and `at + LANES
        // <= len`, or only `len - at` lanes go out.
        unsafe {
            let v = match self.map {
                Some((scale, shift, relu)) => {
                    let t = _mm256_add_ps(_mm256_mul_ps(v, scale), shift);
                    // maxps returns its second operand unless the first is
                    // greater: exactly `t > 0 ? t : 0`.
                    if relu {
                        _mm256_max_ps(t, _mm256_setzero_ps())
                    } else {
                        t
                    }
                }
                None => v,
            };
            if at + LANES <= self.len {
                _mm256_storeu_ps(self.out.add(at), v);
            } else {
                let mut lanes = [0f32; LANES];
                _mm256_storeu_ps(lanes.as_mut_ptr(), v);
                crate::simd::copy_short(self.out.add(at), &lanes[..self.len - at]);
            }
        }
    }
}

/// [`correlate_rows`] with FMA in AVX2 registers, stores included: one
/// bounds check per call instead of one per load (which LLVM did not
/// hoist), and each accumulator goes from its register through the affine
/// map straight to the output (returning the group through memory and
/// copying it out cost a library call per block, and the map a second
/// pass over the plane).
/// Same operations in the same order as the portable loop, so the same
/// bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn correlate_rows_avx2(
    out: &mut [MaybeUninit<f32>],
    width: usize,
    (base, pitch): (&[f32], usize),
    taps: &[(usize, f32)],
    affine: Option<Affine>,
) {
    use std::arch::x86_64::*;
    let rows = out.len() / width;
    if rows == 0 {
        return;
    }
    let reach = taps.iter().map(|t| t.0).max().unwrap_or(0);
    let last_block = (rows - 1) * pitch + (width - 1) / LANES * LANES;
    assert!(
        last_block + reach + LANES <= base.len(),
        "register block reads past the padded source"
    );
    let (p, dst) = (base.as_ptr(), Avx2Out::new(out, affine));
    for_each_group(rows, width, |at, k| {
        let mut acc = [_mm256_setzero_ps(); UNITS];
        for &(off, a) in taps {
            let av = _mm256_set1_ps(a);
            for (acc, &(r, c)) in acc.iter_mut().zip(at) {
                // SAFETY: `r * pitch + c <= last_block` and `off <= reach`,
                // so the read ends inside `base` (asserted above).
                let v = unsafe { _mm256_loadu_ps(p.add(r * pitch + c + off)) };
                *acc = _mm256_fmadd_ps(av, v, *acc);
            }
        }
        // Units run in row-major order, so a block's lanes past its row
        // are stored again by a later unit (`Avx2Out::store`).
        for (&(r, c), &acc) in at.iter().zip(&acc).take(k) {
            // SAFETY: `r < rows` and `c < width`, so `r * width + c` is
            // inside the output.
            unsafe { dst.store(r * width + c, acc) };
        }
    });
}

/// [`correlate_rows`] for a square `k x k`, stride-1, undilated kernel
/// (`w` row-major, `[kh][kw]`), whose taps lie at `kh * pitch + kw`
/// (`taps`, the same taps as pairs): the same sums in the same order, so
/// the same bits. On AVX2, for `k` 3 or 5 and rows of more than one
/// register block, it streams the input rows ([`square_avx2`]); otherwise
/// it runs [`correlate_rows`].
#[inline(always)]
pub fn correlate_square<const FMA: bool>(
    out: &mut [MaybeUninit<f32>],
    width: usize,
    (base, pitch): (&[f32], usize),
    (w, k, taps): (&[f32], usize, &[(usize, f32)]),
    affine: Option<Affine>,
) {
    #[cfg(target_arch = "x86_64")]
    if FMA
        && width > LANES
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        let square = match k {
            3 => square_avx2::<3>,
            5 => square_avx2::<5>,
            _ => return correlate_rows::<FMA>(out, width, (base, pitch), taps, affine),
        };
        // SAFETY: the CPU was just checked to have AVX2 and FMA.
        return unsafe { square(out, width, (base, pitch), w, affine) };
    }
    let _ = (w, k);
    correlate_rows::<FMA>(out, width, (base, pitch), taps, affine)
}

/// Output rows per register group of [`square_avx2`]: 4 rows x 2 blocks
/// = 8 accumulators, plus two input vectors and a weight, of 16 registers.
#[cfg(target_arch = "x86_64")]
const SQUARE_ROWS: usize = 4;

/// [`correlate_square`] on AVX2 for a `K x K` kernel. Where
/// [`correlate_rows_avx2`] loads every input vector once per tap, here a
/// group of output rows walks the input rows it covers, top to bottom,
/// and each vector loaded feeds every row of the group it reaches (up to
/// `K` of them), with each weight broadcast feeding two blocks: fewer
/// loads, which bound the tap loop on AMD Zen (one 256-bit load per cycle,
/// more when it splits a cache line). Each output still adds its taps in
/// `(kh, kw)` order (input row `r + kh` comes before `r + kh + 1`, and `kw`
/// runs inside it), so the bits are those of [`correlate_rows`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn square_avx2<const K: usize>(
    out: &mut [MaybeUninit<f32>],
    width: usize,
    (base, pitch): (&[f32], usize),
    w: &[f32],
    affine: Option<Affine>,
) {
    let rows = out.len() / width;
    if rows == 0 {
        return;
    }
    assert_eq!(w.len(), K * K, "one weight per tap");
    let blocks = width.div_ceil(LANES);
    let last_read = (rows - 1 + K - 1) * pitch + (blocks - 1) * LANES + K - 1;
    assert!(
        last_read + LANES <= base.len(),
        "register block reads past the padded source"
    );
    let plan = SquarePlan {
        base: base.as_ptr(),
        pitch,
        width,
        dst: Avx2Out::new(out, affine),
    };
    let mut r0 = 0;
    while r0 < rows {
        let rr = (rows - r0).min(SQUARE_ROWS);
        let rows_of = match rr {
            4 => SquarePlan::rows::<K, 4>,
            3 => SquarePlan::rows::<K, 3>,
            2 => SquarePlan::rows::<K, 2>,
            _ => SquarePlan::rows::<K, 1>,
        };
        // SAFETY: AVX2 and FMA are enabled here; rows `r0..r0 + rr` exist,
        // and the reads and writes of their blocks stay inside the bounds
        // asserted above.
        unsafe { rows_of(&plan, r0, blocks, w) };
        r0 += rr;
    }
}

/// What [`square_avx2`]'s register groups read and write.
#[cfg(target_arch = "x86_64")]
struct SquarePlan {
    base: *const f32,
    pitch: usize,
    width: usize,
    dst: Avx2Out,
}

#[cfg(target_arch = "x86_64")]
impl SquarePlan {
    /// Output rows `r0..r0 + R`, in pairs of blocks from the last one
    /// back. A block that ends past its row stores whole (see
    /// [`Avx2Out::store`]); going right to left, and row by row within
    /// a pair, the block its extra lanes land on is always stored later.
    ///
    /// # Safety
    /// AVX2 and FMA are present; the rows exist and every read lies in
    /// the source (checked by [`square_avx2`]).
    #[target_feature(enable = "avx2,fma")]
    unsafe fn rows<const K: usize, const R: usize>(&self, r0: usize, blocks: usize, w: &[f32]) {
        let mut b = blocks;
        while b > 0 {
            // SAFETY: the caller's promise; blocks `b - 2..b` or `0` exist.
            unsafe {
                if b >= 2 {
                    self.group::<K, R, 2>(r0, b - 2, w);
                    b -= 2;
                } else {
                    self.group::<K, R, 1>(r0, 0, w);
                    b -= 1;
                }
            }
        }
    }

    /// Output rows `r0..r0 + R` (`R <= 4`), blocks `b0..b0 + B` (`B <= 2`).
    ///
    /// # Safety
    /// As [`SquarePlan::rows`], and the blocks exist.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn group<const K: usize, const R: usize, const B: usize>(
        &self,
        r0: usize,
        b0: usize,
        w: &[f32],
    ) {
        use std::arch::x86_64::*;
        const {
            assert!(
                R <= 4 && B <= 2 && R + K - 1 <= 8,
                "outside the unrolled steps"
            )
        };
        // One named accumulator per output row and block, so that all
        // stay in registers (an indexed array went through the stack).
        let zero = _mm256_setzero_ps();
        let (mut a0, mut a1, mut a2, mut a3) = (zero, zero, zero, zero);
        let (mut b0v, mut b1v, mut b2v, mut b3v) = (zero, zero, zero, zero);
        let w = &w[..K * K];
        // Input row `r0 + i` is tap row `kh = i - u` of output row
        // `r0 + u`, when that is a row of the kernel; `i` and `u` are
        // literals, so every such test folds away at compile time.
        macro_rules! tap {
            ($i:literal, $u:literal, $kw:ident, $v0:ident, $v1:ident, $a:ident, $b:ident) => {
                if $u < R && $i >= $u && $i - $u < K {
                    let wv = _mm256_set1_ps(w[($i - $u) * K + $kw]);
                    $a = _mm256_fmadd_ps(wv, $v0, $a);
                    if B == 2 {
                        $b = _mm256_fmadd_ps(wv, $v1, $b);
                    }
                }
            };
        }
        macro_rules! input_rows {
            ($($i:literal)*) => {$(
                if $i < R + K - 1 {
                    // SAFETY: input row `r0 + i` from block `b0` lies in
                    // the source (the caller's bounds).
                    let row = unsafe { self.base.add((r0 + $i) * self.pitch + b0 * LANES) };
                    for kw in 0..K {
                        // SAFETY: as above, both blocks.
                        let (v0, v1) = unsafe {
                            let v0 = _mm256_loadu_ps(row.add(kw));
                            (v0, if B == 2 { _mm256_loadu_ps(row.add(LANES + kw)) } else { v0 })
                        };
                        tap!($i, 0, kw, v0, v1, a0, b0v);
                        tap!($i, 1, kw, v0, v1, a1, b1v);
                        tap!($i, 2, kw, v0, v1, a2, b2v);
                        tap!($i, 3, kw, v0, v1, a3, b3v);
                    }
                }
            )*};
        }
        input_rows!(0 1 2 3 4 5 6 7);
        let rows = [(a0, b0v), (a1, b1v), (a2, b2v), (a3, b3v)];
        for (u, &(a, b)) in rows.iter().enumerate().take(R) {
            let at = (r0 + u) * self.width + b0 * LANES;
            // SAFETY: the caller's promise (block `b0 + 1` exists when B = 2).
            unsafe {
                self.dst.store(at, a);
                if B == 2 {
                    self.dst.store(at + LANES, b);
                }
            }
        }
    }
}

/// Taps whose weight-gradient lanes [`dot_taps_plane`] keeps in
/// registers at once (independent chains, no accumulator traffic): a 3x3
/// kernel in one group, a 5x5 one in three.
const TAP_GROUP: usize = 9;

/// `acc[t][l] += Σ_rows Σ_blocks g[j] * base[r * pitch + off_t + j]`,
/// lane-wise, where `g` is row `r` of `grad` (rows of `width`)
/// zero-extended to whole blocks: the per-tap dot products of a weight
/// gradient over one plane, kept in lanes so no float sum is
/// reassociated. Each lane adds its products in row, then block order.
#[inline(always)]
pub fn dot_taps_plane<const FMA: bool>(
    acc: &mut [f32],
    base: &[f32],
    pitch: usize,
    taps: &[usize],
    grad: &[f32],
    width: usize,
) {
    if width == 0 {
        return;
    }
    for (group, acc) in taps
        .chunks(TAP_GROUP)
        .zip(acc.chunks_mut(TAP_GROUP * LANES))
    {
        #[cfg(target_arch = "x86_64")]
        if FMA && std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU was just checked to have AVX2 and FMA.
            unsafe { tap_group_avx2(acc, base, pitch, group, grad, width) };
            continue;
        }
        tap_group_generic::<FMA>(acc, base, pitch, group, grad, width);
    }
}

/// The `g` block `c` of a gradient row, zero-extended.
#[inline(always)]
fn grad_block(row: &[f32], c: usize) -> [f32; LANES] {
    let mut g = [0f32; LANES];
    let part = &row[c * LANES..row.len().min((c + 1) * LANES)];
    g[..part.len()].copy_from_slice(part);
    g
}

/// One group of [`dot_taps_plane`], portable.
#[inline(always)]
fn tap_group_generic<const FMA: bool>(
    acc: &mut [f32],
    base: &[f32],
    pitch: usize,
    group: &[usize],
    grad: &[f32],
    width: usize,
) {
    let mut local = [[0f32; LANES]; TAP_GROUP];
    for (l, a) in local.iter_mut().zip(acc.chunks_exact(LANES)) {
        l.copy_from_slice(a);
    }
    for (r, row) in grad.chunks(width).enumerate() {
        for c in 0..width.div_ceil(LANES) {
            let g = grad_block(row, c);
            for (a, &off) in local.iter_mut().zip(group) {
                let src = block(base, r * pitch + off + c * LANES);
                for l in 0..LANES {
                    a[l] = madd::<FMA>(g[l], src[l], a[l]);
                }
            }
        }
    }
    for (a, l) in acc.chunks_exact_mut(LANES).zip(&local) {
        a.copy_from_slice(l);
    }
}

/// [`tap_group_generic`] with FMA in AVX2 registers, one bounds check per
/// row; the same operations in the same order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn tap_group_avx2(
    acc: &mut [f32],
    base: &[f32],
    pitch: usize,
    group: &[usize],
    grad: &[f32],
    width: usize,
) {
    use std::arch::x86_64::*;
    // A full group of offsets (the last one repeated), so the tap loop has
    // a constant trip count and its accumulators stay in registers.
    let offs: [usize; TAP_GROUP] =
        std::array::from_fn(|t| group.get(t).or(group.last()).copied().unwrap_or(0));
    let mut local = [_mm256_setzero_ps(); TAP_GROUP];
    for (l, a) in local.iter_mut().zip(acc.chunks_exact(LANES)) {
        // SAFETY: `a` has LANES = 8 floats.
        *l = unsafe { _mm256_loadu_ps(a.as_ptr()) };
    }
    let reach = offs.iter().max().map_or(0, |&m| m);
    let blocks = width.div_ceil(LANES);
    let p = base.as_ptr();
    for (r, row) in grad.chunks(width).enumerate() {
        let top = r * pitch + reach + blocks * LANES;
        assert!(
            top <= base.len(),
            "register block reads past the padded source"
        );
        for c in 0..blocks {
            let gv = if (c + 1) * LANES <= row.len() {
                // SAFETY: the block lies inside `row`.
                unsafe { _mm256_loadu_ps(row.as_ptr().add(c * LANES)) }
            } else {
                let g = grad_block(row, c);
                // SAFETY: `g` has LANES = 8 floats.
                unsafe { _mm256_loadu_ps(g.as_ptr()) }
            };
            for (a, &off) in local.iter_mut().zip(&offs) {
                // SAFETY: `r * pitch + off + c * LANES + LANES <= top`.
                let v = unsafe { _mm256_loadu_ps(p.add(r * pitch + off + c * LANES)) };
                *a = _mm256_fmadd_ps(gv, v, *a);
            }
        }
    }
    for (a, l) in acc.chunks_exact_mut(LANES).zip(local) {
        // SAFETY: `a` has LANES = 8 floats.
        unsafe { _mm256_storeu_ps(a.as_mut_ptr(), l) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The row-at-a-time form the plane kernel replaced: the reference.
    /// `acc[t][l] += Σ_blocks g[j] * base[off_t + j]`, lane-wise, where
    /// `g` is `grad` zero-extended to whole blocks: the per-tap dot products of
    /// a weight gradient, kept in lanes so no float sum is reassociated.
    fn dot_taps<const FMA: bool>(acc: &mut [f32], base: &[f32], taps: &[usize], grad: &[f32]) {
        for (c, gc) in grad.chunks(LANES).enumerate() {
            let mut g = [0f32; LANES];
            g[..gc.len()].copy_from_slice(gc);
            for (t, &off) in taps.iter().enumerate() {
                let src = block(base, off + c * LANES);
                let a = &mut acc[t * LANES..(t + 1) * LANES];
                for l in 0..LANES {
                    a[l] = madd::<FMA>(g[l], src[l], a[l]);
                }
            }
        }
    }

    #[test]
    fn the_plane_weight_kernel_gives_the_row_by_row_bits() {
        let base: Vec<f32> = (0..1024).map(|i| (i as f32 * 0.37).sin()).collect();
        let taps: Vec<usize> = (0..11).map(|t| t * 3 + t / 4).collect();
        for width in [1, 7, 8, 13, 20] {
            let (rows, pitch) = (3, width + 40);
            let grad: Vec<f32> = (0..rows * width).map(|j| (j as f32 * 0.11).cos()).collect();
            let mut want = vec![0.25f32; taps.len() * LANES];
            for (r, row) in grad.chunks(width).enumerate() {
                dot_taps::<true>(&mut want, &base[r * pitch..], &taps, row);
            }
            for fma in [true, false] {
                let mut got = vec![0.25f32; taps.len() * LANES];
                if fma {
                    dot_taps_plane::<true>(&mut got, &base, pitch, &taps, &grad, width);
                    assert_eq!(got, want, "width {width}");
                } else {
                    dot_taps_plane::<false>(&mut got, &base, pitch, &taps, &grad, width);
                    let close = got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-4);
                    assert!(close, "width {width}");
                }
            }
        }
    }

    #[test]
    fn the_avx2_rows_give_the_portable_bits() {
        let base: Vec<f32> = (0..2048).map(|i| (i as f32 * 0.37).sin()).collect();
        let taps = [(0usize, 0.5f32), (3, -1.0), (17, 2.0), (40, 0.3)];
        let affines = [
            None,
            Some(Affine {
                scale: 0.7,
                shift: -0.1,
                relu: false,
            }),
            Some(Affine {
                scale: 1.3,
                shift: 0.05,
                relu: true,
            }),
        ];
        for (rows, width, pitch) in [(1, 3, 8), (7, 7, 16), (5, 20, 40), (3, 64, 80)] {
            for affine in affines {
                // A guard past the output: the masked stores must not reach it.
                let run = |avx2: bool| {
                    let mut buf = vec![MaybeUninit::new(7.0f32); rows * width + LANES];
                    let out = &mut buf[..rows * width];
                    if avx2 {
                        correlate_rows::<true>(out, width, (&base, pitch), &taps, affine)
                    } else {
                        correlate_rows_generic::<true>(out, width, (&base, pitch), &taps, affine)
                    }
                    // SAFETY: initialised when made, and only floats stored since.
                    buf.iter()
                        .map(|v| unsafe { v.assume_init() })
                        .collect::<Vec<f32>>()
                };
                let (avx2, portable) = (run(true), run(false));
                assert_eq!(avx2, portable, "{rows} rows of {width}, {affine:?}");
                assert!(avx2[rows * width..].iter().all(|&v| v == 7.0), "guard kept");
                if affine.is_some_and(|f| f.relu) {
                    assert!(
                        avx2[..rows * width].iter().all(|&v| v >= 0.0),
                        "ReLU applied"
                    );
                }
            }
        }
    }

    #[test]
    fn square_kernels_give_the_tap_by_tap_bits() {
        let base: Vec<f32> = (0..8192).map(|i| (i as f32 * 0.37).sin()).collect();
        let affine = Some(Affine {
            scale: 1.3,
            shift: -0.05,
            relu: true,
        });
        for k in [3usize, 5, 7] {
            let w: Vec<f32> = (0..k * k).map(|i| (i as f32 * 0.7).cos()).collect();
            let mut taps = Vec::new();
            let shapes = [
                (1usize, 1usize),
                (7, 7),
                (13, 14),
                (6, 28),
                (11, 20),
                (2, 9),
                (5, 33),
            ];
            for (rows, width) in shapes {
                let pitch = width.div_ceil(LANES) * LANES + k + 3;
                taps.clear();
                for kh in 0..k {
                    for kw in 0..k {
                        taps.push((kh * pitch + kw, w[kh * k + kw]));
                    }
                }
                for map in [None, affine] {
                    // A guard past the output, as for the rows kernel.
                    let run = |square: bool| {
                        let mut buf = vec![MaybeUninit::new(7.0f32); rows * width + LANES];
                        let out = &mut buf[..rows * width];
                        let source = (base.as_slice(), pitch);
                        if square {
                            correlate_square::<true>(out, width, source, (&w, k, &taps), map)
                        } else {
                            correlate_rows_generic::<true>(out, width, source, &taps, map)
                        }
                        // SAFETY: initialised when made, only floats stored since.
                        buf.iter()
                            .map(|v| unsafe { v.assume_init() })
                            .collect::<Vec<f32>>()
                    };
                    let (square, rows_form) = (run(true), run(false));
                    assert_eq!(square, rows_form, "k {k}, {rows} rows of {width}, {map:?}");
                    assert!(
                        square[rows * width..].iter().all(|&v| v == 7.0),
                        "guard kept"
                    );
                }
            }
        }
    }

    #[test]
    fn primitives_match_scalar_loops() {
        let base: Vec<f32> = (0..256).map(|i| (i as f32 * 0.37).sin()).collect();
        let taps = [(0usize, 0.5f32), (3, -1.0), (17, 2.0)];
        for len in [1, 7, 8, 13, 20] {
            for rows in [1, 2, 3, 5] {
                let pitch = len + 5;
                // SAFETY: `correlate_rows` writes every element.
                let out = unsafe {
                    crate::simd::write_once(rows * len, |o| {
                        correlate_rows::<true>(o, len, (&base, pitch), &taps, None)
                    })
                };
                for (i, o) in out.iter().enumerate() {
                    let at = i / len * pitch + i % len;
                    let want: f32 = taps.iter().map(|&(off, a)| a * base[off + at]).sum();
                    assert!((o - want).abs() < 1e-5, "len {len} rows {rows} at {i}");
                }
            }
            let grad: Vec<f32> = (0..len).map(|j| j as f32 - 3.0).collect();
            let offs = [2usize, 5];
            let mut acc = vec![0.0; offs.len() * LANES];
            dot_taps::<false>(&mut acc, &base, &offs, &grad);
            for (t, &off) in offs.iter().enumerate() {
                let got: f32 = acc[t * LANES..(t + 1) * LANES].iter().sum();
                let want: f32 = grad
                    .iter()
                    .enumerate()
                    .map(|(j, g)| g * base[off + j])
                    .sum();
                assert!((got - want).abs() < 1e-4, "len {len} tap {t}");
            }
        }
    }
}
