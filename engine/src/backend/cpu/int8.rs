//! 8-bit activations and integer block dot products. Each 32-value activation block keeps its f32 scale
//! and `d · Σq` (Q4_0's offset and Q4_1's minimum need it); weight blocks are read in place and their
//! f16 constants converted on the fly: F16C natively, an exact shift-and-multiply in wasm (which has no
//! conversion instruction), the `half` crate in the scalar reference.
//!
//! Three implementations of one contract: `scalar` (the reference), `avx2` (x86-64, chosen at run time),
//! `simd128` (wasm, chosen at compile time). Tests hold the fast ones to the scalar one.

use crate::model::QMatrix;
use crate::quant::{GgmlType, QK};

/// One activation row quantized in blocks of 32: `x ≈ d[b] · qs[b*32 + i]`.
#[derive(Debug, Clone)]
pub struct Q8Row {
    /// Scale per block.
    pub d: Vec<f32>,
    /// Quantized values, `[-127, 127]`.
    pub qs: Vec<i8>,
    /// `d[b] · Σ qs` per block.
    pub dsum: Vec<f32>,
    /// `d[b] · Σ qs` per 16-value half of each block (two per block), for the formats whose halves have
    /// their own offsets.
    pub hsum: Vec<f32>,
}

/// Quantizes one row (its length a multiple of 32) with round-to-nearest per block.
pub fn quantize_row_q8(x: &[f32]) -> Q8Row {
    let n_blocks = x.len() / QK;
    let mut row = Q8Row {
        d: Vec::with_capacity(n_blocks),
        qs: Vec::with_capacity(x.len()),
        dsum: Vec::with_capacity(n_blocks),
        hsum: Vec::with_capacity(2 * n_blocks),
    };
    for block in x.chunks_exact(QK) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
        let mut halves = [0i32; 2];
        for (i, v) in block.iter().enumerate() {
            let q = (v * inv).round() as i8;
            halves[i / 16] += q as i32;
            row.qs.push(q);
        }
        row.d.push(d);
        row.dsum.push(d * (halves[0] + halves[1]) as f32);
        row.hsum.extend(halves.map(|h| d * h as f32));
    }
    row
}

/// A finite f16 (bits) as f32, exactly, without a conversion instruction: its exponent and mantissa bits
/// placed in an f32 are the value scaled by 2^-112 (subnormals included), which one multiply undoes.
/// (Infinities and NaNs come out as large finite values; block constants are finite.)
#[inline]
pub fn f16_to_f32(bits: u16) -> f32 {
    let h = bits as u32;
    let magnitude = f32::from_bits((h & 0x7fff) << 13) * f32::from_bits(0x7780_0000); // × 2^112
    if h & 0x8000 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// Whether [`matmul`] handles weights of type `ty`: every block format.
pub fn supports(ty: GgmlType) -> bool {
    ty.is_block()
}

/// The formats with 16- or 32-value sub-blocks: their SIMD kernels where this CPU has them (all but Q2_K
/// and Q3_K), else the scalar reference through their [`crate::quant::Group`]s.
fn grouped(ty: GgmlType) -> Option<RowDot> {
    #[cfg(target_arch = "x86_64")]
    {
        if avx2::available() {
            if let Some(dot) = avx2::grouped(ty) {
                return Some(dot);
            }
        }
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        if let Some(dot) = simd128::grouped(ty) {
            return Some(dot);
        }
    }
    scalar_grouped(ty)
}

/// The scalar reference of the grouped formats.
fn scalar_grouped(ty: GgmlType) -> Option<RowDot> {
    Some(match ty {
        GgmlType::Q5_0 => scalar::grouped::<6>,
        GgmlType::Q5_1 => scalar::grouped::<7>,
        GgmlType::Q2_K => scalar::grouped::<10>,
        GgmlType::Q3_K => scalar::grouped::<11>,
        GgmlType::Q4_K => scalar::grouped::<12>,
        GgmlType::Q5_K => scalar::grouped::<13>,
        GgmlType::Q6_K => scalar::grouped::<14>,
        _ => return None,
    })
}

/// One weight row (its raw blocks) against one activation row.
pub type RowDot = fn(&[u8], &Q8Row) -> f32;

/// The fastest implementation of the row dot for `ty` on this CPU.
pub fn row_dot(ty: GgmlType) -> RowDot {
    if let Some(dot) = grouped(ty) {
        return dot;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if avx2::available() {
            return match ty {
                GgmlType::Q4_0 => avx2::q4_0,
                GgmlType::Q4_1 => avx2::q4_1,
                _ => avx2::q8_0,
            };
        }
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        return match ty {
            GgmlType::Q4_0 => simd128::q4_0,
            GgmlType::Q4_1 => simd128::q4_1,
            _ => simd128::q8_0,
        };
    }
    #[allow(unreachable_code)]
    scalar_row_dot(ty)
}

/// The scalar reference implementation for `ty`.
pub fn scalar_row_dot(ty: GgmlType) -> RowDot {
    if let Some(dot) = scalar_grouped(ty) {
        return dot;
    }
    match ty {
        GgmlType::Q4_0 => scalar::q4_0,
        GgmlType::Q4_1 => scalar::q4_1,
        _ => scalar::q8_0,
    }
}

/// `out[t][r] = w[r] · acts[t]` with the given row dot.
pub fn matmul(w: &QMatrix, acts: &[Q8Row], out: &mut [f32], dot: RowDot) {
    for r in 0..w.rows {
        let row = w.row(r);
        for (t, act) in acts.iter().enumerate() {
            out[t * w.rows + r] = dot(row, act);
        }
    }
}

mod scalar {
    //! The reference: integer products per block, scaled in f32.

    use super::Q8Row;
    use crate::quant::{f16_at, group, GgmlType, QK};

    /// Any block format (ggml type code `CODE`) through its groups: per 16-value half, Σ q·x and Σ x in
    /// integers, then scaled by the half's f32 scale and offset.
    pub fn grouped<const CODE: u32>(row: &[u8], act: &Q8Row) -> f32 {
        let Some(ty) = GgmlType::from_code(CODE) else { unreachable!("type code {CODE} is known") };
        let per_block = ty.block_size() / QK;
        let mut total = 0.0f32;
        for (b, block) in row.chunks_exact(ty.block_bytes()).enumerate() {
            for g in 0..per_block {
                let Some(grp) = group(ty, block, g) else { unreachable!("{ty:?} is a block format") };
                let a = b * per_block + g;
                let x = &act.qs[a * QK..(a + 1) * QK];
                // Per half: Σ q·x and Σ x, in loops the compiler vectorizes.
                let half = |h: usize| {
                    let (q, x) = (&grp.q[16 * h..16 * h + 16], &x[16 * h..16 * h + 16]);
                    let dot: i32 = q.iter().zip(x).map(|(&q, &x)| q as i32 * x as i32).sum();
                    let sum: i32 = x.iter().map(|&x| x as i32).sum();
                    (dot, sum)
                };
                let ((dot0, sum0), (dot1, sum1)) = (half(0), half(1));
                let scaled =
                    grp.d[0] * dot0 as f32 + grp.d[1] * dot1 as f32 + grp.m[0] * sum0 as f32 + grp.m[1] * sum1 as f32;
                total += act.d[a] * scaled;
            }
        }
        total
    }

    /// Σ nibble·x over one block's 16 bytes (low nibbles are values 0..16, high nibbles 16..32).
    fn nibble_dot(nibbles: &[u8], x: &[i8]) -> i32 {
        nibbles
            .iter()
            .enumerate()
            .map(|(j, &q)| (q & 0x0f) as i32 * x[j] as i32 + (q >> 4) as i32 * x[j + QK / 2] as i32)
            .sum()
    }

    pub fn q4_0(row: &[u8], act: &Q8Row) -> f32 {
        row.chunks_exact(18)
            .enumerate()
            .map(|(b, block)| {
                let dot = nibble_dot(&block[2..], &act.qs[b * QK..]);
                f16_at(block, 0) * (act.d[b] * dot as f32 - 8.0 * act.dsum[b])
            })
            .sum()
    }

    pub fn q4_1(row: &[u8], act: &Q8Row) -> f32 {
        row.chunks_exact(20)
            .enumerate()
            .map(|(b, block)| {
                let dot = nibble_dot(&block[4..], &act.qs[b * QK..]);
                f16_at(block, 0) * act.d[b] * dot as f32 + f16_at(block, 2) * act.dsum[b]
            })
            .sum()
    }

    pub fn q8_0(row: &[u8], act: &Q8Row) -> f32 {
        row.chunks_exact(34)
            .enumerate()
            .map(|(b, block)| {
                let dot: i32 =
                    block[2..].iter().zip(&act.qs[b * QK..]).map(|(&w, &x)| (w as i8 as i32) * x as i32).sum();
                f16_at(block, 0) * act.d[b] * dot as f32
            })
            .sum()
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! AVX2 + FMA + F16C: 32 byte products per `maddubs` (unsigned × signed).

    use std::arch::x86_64::*;

    use super::Q8Row;
    use crate::quant::{unsigned_scales, GgmlType, QK};

    pub fn available() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c")
    }

    /// The two f16 values at `block[at..at + 4]` as f32 (F16C).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn f16_pair(block: &[u8], at: usize) -> (f32, f32) {
        let bits = i32::from_le_bytes([block[at], block[at + 1], block[at + 2], block[at + 3]]);
        let v = _mm_cvtph_ps(_mm_cvtsi32_si128(bits));
        (_mm_cvtss_f32(v), _mm_cvtss_f32(_mm_shuffle_ps(v, v, 1)))
    }

    /// The f16 value at `block[at..at + 2]` as f32 (F16C).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn f16_one(block: &[u8], at: usize) -> f32 {
        let bits = u16::from_le_bytes([block[at], block[at + 1]]) as i32;
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits)))
    }

    /// 16 × i16 pair sums from `maddubs` → 8 × f32.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn pairs_to_f32(products16: __m256i) -> __m256 {
        _mm256_cvtepi32_ps(_mm256_madd_epi16(products16, _mm256_set1_epi16(1)))
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)))
    }

    /// 16 bytes of nibbles → 32 bytes in value order (low nibbles, then high nibbles).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn unpack_nibbles(bytes: &[u8]) -> __m256i {
        assert!(bytes.len() >= 16);
        // SAFETY: 16 readable bytes, checked above.
        let raw = unsafe { _mm_loadu_si128(bytes.as_ptr() as *const __m128i) };
        let mask = _mm_set1_epi8(0x0f);
        _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), mask), _mm_and_si128(raw, mask))
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn load_acts(act: &Q8Row, b: usize) -> __m256i {
        let qs = &act.qs[b * QK..(b + 1) * QK];
        // SAFETY: `qs` is 32 readable bytes.
        unsafe { _mm256_loadu_si256(qs.as_ptr() as *const __m256i) }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    fn q4_1_impl(row: &[u8], act: &Q8Row) -> f32 {
        let mut acc = _mm256_setzero_ps();
        let mut minimums = 0.0f32;
        for (b, block) in row.chunks_exact(20).enumerate() {
            let prod = pairs_to_f32(_mm256_maddubs_epi16(unpack_nibbles(&block[4..]), load_acts(act, b)));
            let (d, m) = f16_pair(block, 0);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * act.d[b]), prod, acc);
            minimums += m * act.dsum[b];
        }
        hsum(acc) + minimums
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    fn q4_0_impl(row: &[u8], act: &Q8Row) -> f32 {
        let mut acc = _mm256_setzero_ps();
        let mut offsets = 0.0f32;
        for (b, block) in row.chunks_exact(18).enumerate() {
            let prod = pairs_to_f32(_mm256_maddubs_epi16(unpack_nibbles(&block[2..]), load_acts(act, b)));
            let d = f16_one(block, 0);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * act.d[b]), prod, acc);
            offsets += d * act.dsum[b];
        }
        hsum(acc) - 8.0 * offsets
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    fn q8_0_impl(row: &[u8], act: &Q8Row) -> f32 {
        let mut acc = _mm256_setzero_ps();
        for (b, block) in row.chunks_exact(34).enumerate() {
            let values = &block[2..34];
            // SAFETY: `values` is 32 readable bytes.
            let w = unsafe { _mm256_loadu_si256(values.as_ptr() as *const __m256i) };
            let x = load_acts(act, b);
            // maddubs wants unsigned × signed: move w's sign onto x.
            let prod = pairs_to_f32(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_one(block, 0) * act.d[b]), prod, acc);
        }
        hsum(acc)
    }

    /// 32 bytes at `b[at..]`.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn load32(b: &[u8], at: usize) -> __m256i {
        assert!(b.len() >= at + 32);
        // SAFETY: 32 readable bytes from `at`, checked above.
        unsafe { _mm256_loadu_si256(b.as_ptr().add(at) as *const __m256i) }
    }

    /// The 32 values of group `g` of a block of `ty`, unsigned (see `quant::unsigned_scales`).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn unsigned_values(ty: GgmlType, b: &[u8], g: usize) -> __m256i {
        let low4 = _mm256_set1_epi8(0x0f);
        let nibbles = |raw: __m256i, high: bool| {
            if high {
                _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4)
            } else {
                _mm256_and_si256(raw, low4)
            }
        };
        match ty {
            GgmlType::Q4_K | GgmlType::Q5_K => {
                let qs = if ty == GgmlType::Q4_K { 16 } else { 48 };
                let low = nibbles(load32(b, qs + 32 * (g / 2)), g % 2 == 1);
                if ty == GgmlType::Q4_K {
                    return low;
                }
                let bit = _mm256_set1_epi8((1u8 << g) as i8);
                let high = _mm256_cmpeq_epi8(_mm256_and_si256(load32(b, 16), bit), bit);
                _mm256_or_si256(low, _mm256_and_si256(high, _mm256_set1_epi8(16)))
            }
            GgmlType::Q6_K => {
                let (n, k) = (g / 4, g % 4);
                let low = nibbles(load32(b, 64 * n + 32 * (k % 2)), k >= 2);
                let shifted = _mm256_srl_epi16(load32(b, 128 + 32 * n), _mm_cvtsi32_si128(2 * k as i32));
                let high = _mm256_slli_epi16(_mm256_and_si256(shifted, _mm256_set1_epi8(3)), 4);
                _mm256_or_si256(low, high)
            }
            _ => {
                // Q5_0 and Q5_1: 16 bytes of nibbles after the 32 high bits; value v's high bit is bit v.
                let at = if ty == GgmlType::Q5_0 { 2 } else { 4 };
                let qh = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
                assert!(b.len() >= at + 20);
                // SAFETY: 16 readable bytes from `at + 4`, checked above.
                let raw = unsafe { _mm_loadu_si128(b.as_ptr().add(at + 4) as *const __m128i) };
                let mask4 = _mm_set1_epi8(0x0f);
                let low = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), mask4), _mm_and_si128(raw, mask4));
                let spread = _mm256_setr_epi8(
                    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
                );
                let bits = _mm256_shuffle_epi8(_mm256_set1_epi32(qh as i32), spread);
                let mask = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
                let high = _mm256_cmpeq_epi8(_mm256_and_si256(bits, mask), mask);
                _mm256_or_si256(low, _mm256_and_si256(high, _mm256_set1_epi8(16)))
            }
        }
    }

    /// The formats with a kernel here.
    const GROUPED: [GgmlType; 5] = [GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K];

    #[target_feature(enable = "avx2,fma,f16c")]
    fn grouped_impl(ty: GgmlType, row: &[u8], act: &Q8Row) -> f32 {
        let per_block = ty.block_size() / QK;
        let mut acc = _mm256_setzero_ps();
        let mut offsets = 0.0f32;
        for (b, block) in row.chunks_exact(ty.block_bytes()).enumerate() {
            for g in 0..per_block {
                let a = b * per_block + g;
                let (d, m) = unsigned_scales(ty, block, g);
                // Lanes 0..4 sum values 0..16 (the first half), lanes 4..8 the second.
                let dots = pairs_to_f32(_mm256_maddubs_epi16(unsigned_values(ty, block, g), load_acts(act, a)));
                let scale = _mm256_setr_m128(_mm_set1_ps(d[0] * act.d[a]), _mm_set1_ps(d[1] * act.d[a]));
                acc = _mm256_fmadd_ps(dots, scale, acc);
                offsets += m[0] * act.hsum[2 * a] + m[1] * act.hsum[2 * a + 1];
            }
        }
        hsum(acc) + offsets
    }

    /// The kernel for `ty`, if it has one here.
    pub fn grouped(ty: GgmlType) -> Option<super::RowDot> {
        fn for_code<const CODE: u32>(row: &[u8], act: &Q8Row) -> f32 {
            let Some(ty) = GgmlType::from_code(CODE) else { unreachable!("type code {CODE} is known") };
            // SAFETY: only reachable once AVX2, FMA and F16C were detected.
            unsafe { grouped_impl(ty, row, act) }
        }
        GROUPED.contains(&ty).then_some(match ty {
            GgmlType::Q5_0 => for_code::<6>,
            GgmlType::Q5_1 => for_code::<7>,
            GgmlType::Q4_K => for_code::<12>,
            GgmlType::Q5_K => for_code::<13>,
            _ => for_code::<14>,
        })
    }

    // Safe entry points: `row_dot` hands these out only after `available()` said yes.
    pub fn q4_1(row: &[u8], act: &Q8Row) -> f32 {
        // SAFETY: only reachable once AVX2, FMA and F16C were detected.
        unsafe { q4_1_impl(row, act) }
    }
    pub fn q4_0(row: &[u8], act: &Q8Row) -> f32 {
        // SAFETY: only reachable once AVX2, FMA and F16C were detected.
        unsafe { q4_0_impl(row, act) }
    }
    pub fn q8_0(row: &[u8], act: &Q8Row) -> f32 {
        // SAFETY: only reachable once AVX2, FMA and F16C were detected.
        unsafe { q8_0_impl(row, act) }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    //! wasm simd128 (every current browser): byte products widened to 16 bits, summed pairwise to 32.

    use std::arch::wasm32::*;

    use super::Q8Row;
    use crate::quant::{unsigned_scales, GgmlType, QK};

    #[inline]
    fn f16_at(block: &[u8], at: usize) -> f32 {
        super::f16_to_f32(u16::from_le_bytes([block[at], block[at + 1]]))
    }

    #[inline]
    fn load16(bytes: &[u8]) -> v128 {
        assert!(bytes.len() >= 16);
        // SAFETY: 16 readable bytes, checked above; v128_load has no alignment requirement.
        unsafe { v128_load(bytes.as_ptr() as *const v128) }
    }

    #[inline]
    fn acts(act: &Q8Row, b: usize) -> (v128, v128) {
        let qs = &act.qs[b * QK..(b + 1) * QK];
        // SAFETY: i8 and u8 have the same layout; `qs` is 32 bytes.
        let bytes = unsafe { std::slice::from_raw_parts(qs.as_ptr() as *const u8, QK) };
        (load16(bytes), load16(&bytes[16..]))
    }

    /// Σ nibble·x over one block as 4 × i32: products ≤ 15·127, so four of them still fit in i16.
    #[inline]
    fn nibble_block(nibbles: &[u8], x0: v128, x1: v128) -> v128 {
        let raw = load16(nibbles);
        let lo = v128_and(raw, u8x16_splat(0x0f));
        let hi = u8x16_shr(raw, 4);
        let s = i16x8_add(
            i16x8_add(i16x8_extmul_low_i8x16(lo, x0), i16x8_extmul_high_i8x16(lo, x0)),
            i16x8_add(i16x8_extmul_low_i8x16(hi, x1), i16x8_extmul_high_i8x16(hi, x1)),
        );
        i32x4_extadd_pairwise_i16x8(s)
    }

    #[inline]
    fn hsum(v: v128) -> f32 {
        f32x4_extract_lane::<0>(v)
            + f32x4_extract_lane::<1>(v)
            + f32x4_extract_lane::<2>(v)
            + f32x4_extract_lane::<3>(v)
    }

    /// The 32 values of group `g` of a block of `ty`, unsigned (see `quant::unsigned_scales`), as two
    /// halves of 16.
    #[inline]
    fn unsigned_values(ty: GgmlType, b: &[u8], g: usize) -> (v128, v128) {
        let low4 = u8x16_splat(0x0f);
        let nibbles = |raw: v128, high: bool| if high { u8x16_shr(raw, 4) } else { v128_and(raw, low4) };
        match ty {
            GgmlType::Q4_K | GgmlType::Q5_K => {
                let at = if ty == GgmlType::Q4_K { 16 } else { 48 } + 32 * (g / 2);
                let high_half = g % 2 == 1;
                let (l0, l1) = (nibbles(load16(&b[at..]), high_half), nibbles(load16(&b[at + 16..]), high_half));
                if ty == GgmlType::Q4_K {
                    return (l0, l1);
                }
                let bit = u8x16_splat(1 << g);
                let fifth = |qh: v128| v128_and(u8x16_eq(v128_and(qh, bit), bit), u8x16_splat(16));
                (v128_or(l0, fifth(load16(&b[16..]))), v128_or(l1, fifth(load16(&b[32..]))))
            }
            GgmlType::Q6_K => {
                let (n, k) = (g / 4, g % 4);
                let at = 64 * n + 32 * (k % 2);
                let high = |qh: v128| u8x16_shl(v128_and(u8x16_shr(qh, 2 * k as u32), u8x16_splat(3)), 4);
                let qh = 128 + 32 * n;
                (
                    v128_or(nibbles(load16(&b[at..]), k >= 2), high(load16(&b[qh..]))),
                    v128_or(nibbles(load16(&b[at + 16..]), k >= 2), high(load16(&b[qh + 16..]))),
                )
            }
            _ => {
                // Q5_0 and Q5_1: 16 bytes of nibbles after the 32 high bits; value v's high bit is bit v.
                let at = if ty == GgmlType::Q5_0 { 2 } else { 4 };
                let qh = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
                let raw = load16(&b[at + 4..]);
                let words = u32x4_splat(qh);
                let mask = u64x2_splat(0x8040_2010_0804_0201);
                let fifth = |spread: v128| {
                    let bits = v128_and(i8x16_swizzle(words, spread), mask);
                    v128_and(u8x16_eq(bits, mask), u8x16_splat(16))
                };
                let first = u8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
                let second = u8x16(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
                (v128_or(v128_and(raw, low4), fifth(first)), v128_or(u8x16_shr(raw, 4), fifth(second)))
            }
        }
    }

    /// Σ u·x over 16 values as 4 × i32 (u < 64, so two products still fit in i16).
    #[inline]
    fn half_dot(u: v128, x: v128) -> v128 {
        i32x4_extadd_pairwise_i16x8(i16x8_add(i16x8_extmul_low_i8x16(u, x), i16x8_extmul_high_i8x16(u, x)))
    }

    /// The formats with a kernel here.
    const GROUPED: [GgmlType; 5] = [GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K];

    fn grouped_impl(ty: GgmlType, row: &[u8], act: &Q8Row) -> f32 {
        let per_block = ty.block_size() / QK;
        let mut acc = f32x4_splat(0.0);
        let mut offsets = 0.0f32;
        for (b, block) in row.chunks_exact(ty.block_bytes()).enumerate() {
            for g in 0..per_block {
                let a = b * per_block + g;
                let (d, m) = unsigned_scales(ty, block, g);
                let (u0, u1) = unsigned_values(ty, block, g);
                let (x0, x1) = acts(act, a);
                let first = f32x4_mul(f32x4_convert_i32x4(half_dot(u0, x0)), f32x4_splat(d[0] * act.d[a]));
                let second = f32x4_mul(f32x4_convert_i32x4(half_dot(u1, x1)), f32x4_splat(d[1] * act.d[a]));
                acc = f32x4_add(acc, f32x4_add(first, second));
                offsets += m[0] * act.hsum[2 * a] + m[1] * act.hsum[2 * a + 1];
            }
        }
        hsum(acc) + offsets
    }

    /// The kernel for `ty`, if it has one here.
    pub fn grouped(ty: GgmlType) -> Option<super::RowDot> {
        fn for_code<const CODE: u32>(row: &[u8], act: &Q8Row) -> f32 {
            let Some(ty) = GgmlType::from_code(CODE) else { unreachable!("type code {CODE} is known") };
            grouped_impl(ty, row, act)
        }
        GROUPED.contains(&ty).then_some(match ty {
            GgmlType::Q5_0 => for_code::<6>,
            GgmlType::Q5_1 => for_code::<7>,
            GgmlType::Q4_K => for_code::<12>,
            GgmlType::Q5_K => for_code::<13>,
            _ => for_code::<14>,
        })
    }

    pub fn q4_1(row: &[u8], act: &Q8Row) -> f32 {
        let mut acc = f32x4_splat(0.0);
        let mut minimums = 0.0f32;
        for (b, block) in row.chunks_exact(20).enumerate() {
            let (x0, x1) = acts(act, b);
            let dot = f32x4_convert_i32x4(nibble_block(&block[4..], x0, x1));
            acc = f32x4_add(acc, f32x4_mul(dot, f32x4_splat(f16_at(block, 0) * act.d[b])));
            minimums += f16_at(block, 2) * act.dsum[b];
        }
        hsum(acc) + minimums
    }

    pub fn q4_0(row: &[u8], act: &Q8Row) -> f32 {
        let mut acc = f32x4_splat(0.0);
        let mut offsets = 0.0f32;
        for (b, block) in row.chunks_exact(18).enumerate() {
            let (x0, x1) = acts(act, b);
            let dot = f32x4_convert_i32x4(nibble_block(&block[2..], x0, x1));
            let d = f16_at(block, 0);
            acc = f32x4_add(acc, f32x4_mul(dot, f32x4_splat(d * act.d[b])));
            offsets += d * act.dsum[b];
        }
        hsum(acc) - 8.0 * offsets
    }

    pub fn q8_0(row: &[u8], act: &Q8Row) -> f32 {
        let mut acc = f32x4_splat(0.0);
        for (b, block) in row.chunks_exact(34).enumerate() {
            let (x0, x1) = acts(act, b);
            let (w0, w1) = (load16(&block[2..]), load16(&block[18..]));
            // Products reach 128·127: widen to i16 and let the dot product sum pairs into i32.
            let dot = i32x4_add(
                i32x4_add(
                    i32x4_dot_i16x8(i16x8_extend_low_i8x16(w0), i16x8_extend_low_i8x16(x0)),
                    i32x4_dot_i16x8(i16x8_extend_high_i8x16(w0), i16x8_extend_high_i8x16(x0)),
                ),
                i32x4_add(
                    i32x4_dot_i16x8(i16x8_extend_low_i8x16(w1), i16x8_extend_low_i8x16(x1)),
                    i32x4_dot_i16x8(i16x8_extend_high_i8x16(w1), i16x8_extend_high_i8x16(x1)),
                ),
            );
            acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(dot), f32x4_splat(f16_at(block, 0) * act.d[b])));
        }
        hsum(acc)
    }
}
