//! AVX2 + FMA + F16C: 32 byte products (unsigned × signed) summed four by four, with `maddubs` and
//! `madd`, or in one instruction where the CPU has the integer dot product (AVX-512 VNNI, or AVX-VNNI).
//! The byte products never reach `maddubs`'s 16-bit saturation (|u| ≤ 128, |x| ≤ 127: 2 · 128 · 127 <
//! 32,767), so both give the same integers and every kernel the same floats bit for bit.
//!
//! Each kernel's body is written once, generic over [`Products`], and compiled three times (the
//! modules [`plain`], [`vnni512`] and [`vnni`] at the bottom), each with its instructions enabled.

use std::arch::x86_64::*;

use super::{f16_at_by_shift, Q8Row, TILE};
use crate::quant::{block_unsigned_scales, halves_share_scales, GgmlType, QK};

pub fn available() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c")
}

/// AVX-512 VNNI on 256-bit registers (AVX-512 VL), beside AVX2.
pub fn vnni512_available() -> bool {
    available() && is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("avx512vl")
}

/// AVX-VNNI (the VEX form of the same instruction), beside AVX2.
pub fn vnni_available() -> bool {
    available() && is_x86_feature_detected!("avxvnni")
}

/// How 32 unsigned bytes meet 32 signed bytes: 8 sums of four adjacent products, as f32.
pub trait Products {
    /// # Safety
    /// Only inside a function compiled with the instructions this implementation names.
    unsafe fn sums(u: __m256i, x: __m256i) -> __m256;
}

/// `maddubs` then `madd` by ones (AVX2).
pub struct Maddubs;
/// `vpdpbusd` (AVX-512 VNNI with VL).
pub struct Dpbusd512;
/// `vpdpbusd` (AVX-VNNI).
pub struct DpbusdAvx;

impl Products for Maddubs {
    #[inline(always)]
    unsafe fn sums(u: __m256i, x: __m256i) -> __m256 {
        // SAFETY: the caller runs with AVX2 enabled.
        unsafe { pairs_to_f32(_mm256_maddubs_epi16(u, x)) }
    }
}

impl Products for Dpbusd512 {
    #[inline(always)]
    unsafe fn sums(u: __m256i, x: __m256i) -> __m256 {
        // SAFETY: the caller runs with AVX-512 VNNI and VL enabled.
        unsafe { _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), u, x)) }
    }
}

impl Products for DpbusdAvx {
    #[inline(always)]
    unsafe fn sums(u: __m256i, x: __m256i) -> __m256 {
        // SAFETY: the caller runs with AVX-VNNI enabled.
        unsafe { _mm256_cvtepi32_ps(_mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, x)) }
    }
}

/// The two f16 values at `block[at..at + 4]` as f32 (F16C).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn f16_pair(block: &[u8], at: usize) -> (f32, f32) {
    let bits = i32::from_le_bytes([block[at], block[at + 1], block[at + 2], block[at + 3]]);
    let v = _mm_cvtph_ps(_mm_cvtsi32_si128(bits));
    (_mm_cvtss_f32(v), _mm_cvtss_f32(_mm_shuffle_ps(v, v, 1)))
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

// Each kernel reads one weight row against `N` activation rows: the weight blocks are unpacked and their
// scales converted once for all `N`, and each row keeps its own accumulator in the same order as with
// `N = 1`, so a row's result does not depend on how many were read with it.

/// `N` sums, each a lane-summed accumulator plus a scalar term.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn finish<const N: usize>(acc: [__m256; N], scalar: [f32; N]) -> [f32; N] {
    let mut out = [0.0; N];
    for i in 0..N {
        out[i] = hsum(acc[i]) + scalar[i];
    }
    out
}

/// Checks that each activation row covers `blocks` blocks of 32, so the loops below may read them
/// unchecked (bounds checks there cost a third of the time).
#[inline]
fn check_acts<const N: usize>(acts: &[&Q8Row; N], blocks: usize) {
    for act in acts {
        assert!(
            act.qs.len() >= blocks * QK
                && act.d.len() >= blocks
                && act.dsum.len() >= blocks
                && act.hsum.len() >= 2 * blocks
        );
    }
}

/// `act`'s 32 values of block `b`, and its `d[b]` and `dsum[b]`, unchecked.
///
/// # Safety
/// `b` is below the block count [`check_acts`] checked.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn act_block(act: &Q8Row, b: usize) -> (__m256i, f32, f32) {
    // SAFETY: the caller checked that block `b` exists.
    unsafe {
        (
            _mm256_loadu_si256(act.qs.as_ptr().add(b * QK) as *const __m256i),
            *act.d.get_unchecked(b),
            *act.dsum.get_unchecked(b),
        )
    }
}

/// # Safety
/// Inside a function compiled with AVX2, FMA, F16C and `P`'s instructions.
#[inline(always)]
unsafe fn q4_1_body<P: Products, const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
    // SAFETY: the caller runs with the instructions the body uses (the function's contract); the
    // unchecked reads are within the bounds the comments give.
    unsafe {
        check_acts(&acts, row.len() / 20);
        let mut acc = [_mm256_setzero_ps(); N];
        let mut minimums = [0.0f32; N];
        for (b, block) in row.chunks_exact(20).enumerate() {
            prefetch_ahead(block.as_ptr());
            let w = unpack_nibbles(&block[4..]);
            let (d, m) = f16_pair(block, 0);
            for i in 0..N {
                // `b` is below the block count checked above.
                let (x, xd, xsum) = act_block(acts[i], b);
                let prod = P::sums(w, x);
                acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(d * xd), prod, acc[i]);
                minimums[i] += m * xsum;
            }
        }
        finish(acc, minimums)
    }
}

/// # Safety
/// As [`q4_1_body`].
#[inline(always)]
unsafe fn q4_0_body<P: Products, const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
    // SAFETY: the caller runs with the instructions the body uses (the function's contract); the
    // unchecked reads are within the bounds the comments give.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); N];
        let mut offsets = [0.0f32; N];
        check_acts(&acts, row.len() / 18);
        for (b, block) in row.chunks_exact(18).enumerate() {
            prefetch_ahead(block.as_ptr());
            let w = unpack_nibbles(&block[2..]);
            // Not F16C for one value: LLVM loads its two bytes by inserting them into whatever register
            // it deems free, here the running sum, which chained each block to the previous one's FMA
            // (2.4× slower one-token dots).
            let d = f16_at_by_shift(block, 0);
            for i in 0..N {
                // `b` is below the block count checked above.
                let (x, xd, xsum) = act_block(acts[i], b);
                let prod = P::sums(w, x);
                acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(d * xd), prod, acc[i]);
                offsets[i] += d * xsum;
            }
        }
        finish(acc, offsets.map(|o| -8.0 * o))
    }
}

/// How far ahead of the block being read the kernels ask for the row's bytes. A decoded token reads
/// every weight once and mostly waits for memory; on a 2-core Xeon with AVX-512 (its last-level cache
/// far away), one-thread decoding ran at 33 tok/s on a Q8_0 file with no hint, 41 with the bytes asked
/// for 512 B ahead, 65 at 2 KiB, 70 at 4 KiB and 68 at 8 KiB.
const PREFETCH_AHEAD: usize = 4096;

/// Asks for the row's bytes [`PREFETCH_AHEAD`] past `at`: a hint, which never faults, even past the
/// end of the row.
#[inline(always)]
fn prefetch_ahead(at: *const u8) {
    // SAFETY: SSE is part of x86_64's baseline; a prefetch reads nothing architecturally.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(PREFETCH_AHEAD) as *const i8) }
}

/// # Safety
/// As [`q4_1_body`].
#[inline(always)]
unsafe fn q8_0_body<P: Products, const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
    // SAFETY: the caller runs with the instructions the body uses (the function's contract); the
    // unchecked reads are within the bounds the comments give.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); N];
        check_acts(&acts, row.len() / 34);
        for (b, block) in row.chunks_exact(34).enumerate() {
            prefetch_ahead(block.as_ptr());
            let values = &block[2..34];
            // `values` is 32 readable bytes.
            let w = _mm256_loadu_si256(values.as_ptr() as *const __m256i);
            // maddubs wants unsigned × signed: move w's sign onto x.
            let magnitude = _mm256_sign_epi8(w, w);
            // By shifts, not F16C (as in the Q4_0 kernel above).
            let d = f16_at_by_shift(block, 0);
            for i in 0..N {
                // `b` is below the block count checked above.
                let (x, xd, _) = act_block(acts[i], b);
                let prod = P::sums(magnitude, _mm256_sign_epi8(x, w));
                acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(d * xd), prod, acc[i]);
            }
        }
        finish(acc, [0.0; N])
    }
}

/// 32 bytes at `b[at..]`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn load32(b: &[u8], at: usize) -> __m256i {
    assert!(b.len() >= at + 32);
    // SAFETY: 32 readable bytes from `at`, checked above.
    unsafe { _mm256_loadu_si256(b.as_ptr().add(at) as *const __m256i) }
}

/// The 32 values of group `g` of a block of `ty`, unsigned (see `quant::BlockScales`).
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
        GgmlType::Q2_K | GgmlType::Q3_K => {
            // Two low bits per value, 32 bytes of them per 128 values: group g is bits 2(g % 4) of its part.
            let at = if ty == GgmlType::Q2_K { 16 } else { 32 } + 32 * (g / 4);
            let shifted = _mm256_srl_epi16(load32(b, at), _mm_cvtsi32_si128(2 * (g % 4) as i32));
            let low = _mm256_and_si256(shifted, _mm256_set1_epi8(3));
            if ty == GgmlType::Q2_K {
                return low;
            }
            // Q3_K: value l's third bit is bit g of hmask[l] (set: q = low; clear: q = low − 4), so u = q + 4.
            let bit = _mm256_set1_epi8((1u8 << g) as i8);
            let high = _mm256_cmpeq_epi8(_mm256_and_si256(load32(b, 0), bit), bit);
            _mm256_or_si256(low, _mm256_and_si256(high, _mm256_set1_epi8(4)))
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

/// One compiled loop per format: `CODE` is the ggml type code, so the format's branches fold away.
///
/// # Safety
/// As [`q4_1_body`].
#[inline(always)]
unsafe fn grouped_body<P: Products, const CODE: u32, const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
    // SAFETY: the caller runs with the instructions the body uses (the function's contract); the
    // unchecked reads are within the bounds the comments give.
    unsafe {
        let Some(ty) = GgmlType::from_code(CODE) else { unreachable!("type code {CODE} is known") };
        let per_block = ty.block_size() / QK;
        let mut acc = [_mm256_setzero_ps(); N];
        let mut offsets = [0.0f32; N];
        let per_group = ty.block_bytes() / per_block;
        check_acts(&acts, row.len() / ty.block_bytes() * per_block);
        for (b, block) in row.chunks_exact(ty.block_bytes()).enumerate() {
            let scales = block_unsigned_scales(ty, block);
            for (g, &(d, m)) in scales.iter().enumerate().take(per_block) {
                prefetch_ahead(block.as_ptr().wrapping_add(g * per_group));
                let a = b * per_block + g;
                let u = unsigned_values(ty, block, g);
                for i in 0..N {
                    // `a` is below the block count checked above.
                    let (x, xd, xsum) = act_block(acts[i], a);
                    let dots = P::sums(u, x);
                    if halves_share_scales(ty) {
                        acc[i] = _mm256_fmadd_ps(dots, _mm256_set1_ps(d[0] * xd), acc[i]);
                        offsets[i] += m[0] * xsum;
                    } else {
                        // Lanes 0..4 sum values 0..16 (the first half), lanes 4..8 the second.
                        let scale = _mm256_setr_m128(_mm_set1_ps(d[0] * xd), _mm_set1_ps(d[1] * xd));
                        acc[i] = _mm256_fmadd_ps(dots, scale, acc[i]);
                        // Two halves' sums per block, below the count checked above.
                        let hsum = acts[i].hsum.get_unchecked(2 * a..2 * a + 2);
                        offsets[i] += m[0] * hsum[0] + m[1] * hsum[1];
                    }
                }
            }
        }
        finish(acc, offsets)
    }
}

/// The kernels compiled with `$features` and products `$products`, and their safe entry points.
macro_rules! kernels {
    ($name:ident, $features:literal, $products:ty, $doc:literal) => {
        #[doc = $doc]
        pub mod $name {
            use super::*;

            #[target_feature(enable = $features)]
            fn q4_1_impl<const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
                // SAFETY: this function is compiled with the body's instructions.
                unsafe { q4_1_body::<$products, N>(row, acts) }
            }
            #[target_feature(enable = $features)]
            fn q4_0_impl<const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
                // SAFETY: as above.
                unsafe { q4_0_body::<$products, N>(row, acts) }
            }
            #[target_feature(enable = $features)]
            fn q8_0_impl<const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
                // SAFETY: as above.
                unsafe { q8_0_body::<$products, N>(row, acts) }
            }
            #[target_feature(enable = $features)]
            fn grouped_impl<const CODE: u32, const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
                // SAFETY: as above.
                unsafe { grouped_body::<$products, CODE, N>(row, acts) }
            }

            /// The kernels of this module for the grouped formats.
            pub struct Grouped;

            impl crate::backend::cpu::int8::GroupedKernel for Grouped {
                fn dot<const CODE: u32>(row: &[u8], act: &Q8Row) -> f32 {
                    // SAFETY: handed out only once the module's instructions were detected.
                    unsafe { grouped_impl::<CODE, 1>(row, [act])[0] }
                }
                fn tile<const CODE: u32>(row: &[u8], acts: &[&Q8Row; TILE]) -> [f32; TILE] {
                    // SAFETY: as above.
                    unsafe { grouped_impl::<CODE, TILE>(row, *acts) }
                }
            }

            // Safe entry points: `row_dot` and `row_dot_tile` hand these out only once the module's
            // instructions were detected.
            pub fn q4_1(row: &[u8], act: &Q8Row) -> f32 {
                // SAFETY: see above.
                unsafe { q4_1_impl::<1>(row, [act])[0] }
            }
            pub fn q4_0(row: &[u8], act: &Q8Row) -> f32 {
                // SAFETY: see above.
                unsafe { q4_0_impl::<1>(row, [act])[0] }
            }
            pub fn q8_0(row: &[u8], act: &Q8Row) -> f32 {
                // SAFETY: see above.
                unsafe { q8_0_impl::<1>(row, [act])[0] }
            }
            pub fn q4_1_tile(row: &[u8], acts: &[&Q8Row; TILE]) -> [f32; TILE] {
                // SAFETY: see above.
                unsafe { q4_1_impl(row, *acts) }
            }
            pub fn q4_0_tile(row: &[u8], acts: &[&Q8Row; TILE]) -> [f32; TILE] {
                // SAFETY: see above.
                unsafe { q4_0_impl(row, *acts) }
            }
            pub fn q8_0_tile(row: &[u8], acts: &[&Q8Row; TILE]) -> [f32; TILE] {
                // SAFETY: see above.
                unsafe { q8_0_impl(row, *acts) }
            }
        }
    };
}

kernels!(plain, "avx2,fma,f16c", Maddubs, "AVX2's `maddubs` and `madd`.");
kernels!(vnni512, "avx2,fma,f16c,avx512vnni,avx512vl", Dpbusd512, "AVX-512 VNNI's `vpdpbusd` on 256 bits.");
kernels!(vnni, "avx2,fma,f16c,avxvnni", DpbusdAvx, "AVX-VNNI's `vpdpbusd`.");
