//! wasm simd128 (every current browser): byte products widened to 16 bits, summed pairwise to 32; or,
//! where the browser has relaxed SIMD, `i32x4.relaxed_dot_i8x16_i7x16_add`, four adjacent byte products
//! summed into each 32-bit lane in one instruction. Its second operand must be below 128 (else the
//! browser may read it as signed or unsigned); the unsigned values of every format but Q8_0 are below
//! 64, and Q8_0 stays on the widened products.
//!
//! Each kernel's body is written once, generic over [`Products`], and compiled twice: [`plain`], and
//! [`relaxed`] with relaxed SIMD enabled (only with the `relaxed-simd` feature: a module that holds
//! one relaxed instruction fails to load in a browser without them, so the app ships two builds of its
//! engine worker and loads the one the browser validates).

use std::arch::wasm32::*;

use super::{f16_at_by_shift as f16_at, Q8Row, RowDot, RowDotTile, TILE};
use crate::quant::{block_unsigned_scales, halves_share_scales, GgmlType, QK};

#[inline]
fn load16(bytes: &[u8]) -> v128 {
    assert!(bytes.len() >= 16);
    // SAFETY: 16 readable bytes, checked above; v128_load has no alignment requirement.
    unsafe { v128_load(bytes.as_ptr() as *const v128) }
}

/// A block's 16 bytes of nibbles as (low nibbles: values 0..16, high nibbles: values 16..32).
#[inline]
fn nibbles(bytes: &[u8]) -> (v128, v128) {
    let raw = load16(bytes);
    (v128_and(raw, u8x16_splat(0x0f)), u8x16_shr(raw, 4))
}

/// How a block's unsigned values meet the activations' bytes: sums of products as 4 × i32.
pub trait Products {
    /// Σ u·x over the 32 values of a block (`u < 32`).
    fn block(u0: v128, u1: v128, x0: v128, x1: v128) -> v128;
    /// Σ u·x over 16 values (`u < 64`).
    fn half(u: v128, x: v128) -> v128;
}

/// Products widened to 16 bits and summed pairwise to 32 (simd128).
pub struct Extmul;

impl Products for Extmul {
    #[inline(always)]
    fn block(u0: v128, u1: v128, x0: v128, x1: v128) -> v128 {
        // Products ≤ 31·127: four of them still fit in i16.
        let s = i16x8_add(
            i16x8_add(i16x8_extmul_low_i8x16(u0, x0), i16x8_extmul_high_i8x16(u0, x0)),
            i16x8_add(i16x8_extmul_low_i8x16(u1, x1), i16x8_extmul_high_i8x16(u1, x1)),
        );
        i32x4_extadd_pairwise_i16x8(s)
    }
    #[inline(always)]
    fn half(u: v128, x: v128) -> v128 {
        // Products ≤ 63·127: two of them still fit in i16.
        i32x4_extadd_pairwise_i16x8(i16x8_add(i16x8_extmul_low_i8x16(u, x), i16x8_extmul_high_i8x16(u, x)))
    }
}

/// Relaxed SIMD's byte dot product: the activations as its signed operand, the values (below 128) as
/// its 7-bit one. Its 16-bit pair sums (≤ 2·63·127) neither saturate nor wrap.
#[cfg(feature = "relaxed-simd")]
pub struct RelaxedDot;

#[cfg(feature = "relaxed-simd")]
impl Products for RelaxedDot {
    #[inline(always)]
    fn block(u0: v128, u1: v128, x0: v128, x1: v128) -> v128 {
        i32x4_relaxed_dot_i8x16_i7x16_add(x1, u1, i32x4_relaxed_dot_i8x16_i7x16_add(x0, u0, i32x4_splat(0)))
    }
    #[inline(always)]
    fn half(u: v128, x: v128) -> v128 {
        i32x4_relaxed_dot_i8x16_i7x16_add(x, u, i32x4_splat(0))
    }
}

/// Checks that each activation row covers `blocks` blocks of 32, so the loops below may read them
/// unchecked.
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

/// `act`'s 32 values of block `b` as two halves, and its `d[b]` and `dsum[b]`, unchecked.
///
/// # Safety
/// `b` is below the block count [`check_acts`] checked.
#[inline]
unsafe fn act_block(act: &Q8Row, b: usize) -> (v128, v128, f32, f32) {
    // SAFETY: the caller checked that block `b` exists; v128_load has no alignment requirement.
    unsafe {
        let at = act.qs.as_ptr().add(b * QK) as *const v128;
        (v128_load(at), v128_load(at.add(1)), *act.d.get_unchecked(b), *act.dsum.get_unchecked(b))
    }
}

/// `N` sums, each a lane-summed accumulator plus a scalar term.
#[inline]
fn finish<const N: usize>(acc: [v128; N], scalar: [f32; N]) -> [f32; N] {
    std::array::from_fn(|i| hsum(acc[i]) + scalar[i])
}

#[inline]
fn hsum(v: v128) -> f32 {
    f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v) + f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v)
}

/// The 32 values of group `g` of a block of `ty`, unsigned (see `quant::BlockScales`), as two
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
        GgmlType::Q2_K | GgmlType::Q3_K => {
            // Two low bits per value, 32 bytes of them per 128 values: group g is bits 2(g % 4) of its part.
            let at = if ty == GgmlType::Q2_K { 16 } else { 32 } + 32 * (g / 4);
            let low = |raw: v128| v128_and(u8x16_shr(raw, 2 * (g % 4) as u32), u8x16_splat(3));
            let (l0, l1) = (low(load16(&b[at..])), low(load16(&b[at + 16..])));
            if ty == GgmlType::Q2_K {
                return (l0, l1);
            }
            // Q3_K: value l's third bit is bit g of hmask[l] (set: q = low; clear: q = low − 4), so u = q + 4.
            let bit = u8x16_splat(1 << g);
            let third = |hm: v128| v128_and(u8x16_eq(v128_and(hm, bit), bit), u8x16_splat(4));
            (v128_or(l0, third(load16(&b[0..]))), v128_or(l1, third(load16(&b[16..]))))
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

// Each kernel reads one weight row against `N` activation rows: the weight blocks are unpacked and their
// scales converted once for all `N`, and each row keeps its own accumulator in the same order as with
// `N = 1`, so a row's result does not depend on how many were read with it.

/// One compiled loop per format: `CODE` is the ggml type code, so the format's branches fold away.
#[inline(always)]
fn grouped_body<P: Products, const CODE: u32, const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
    let Some(ty) = GgmlType::from_code(CODE) else { unreachable!("type code {CODE} is known") };
    let per_block = ty.block_size() / QK;
    let mut acc = [f32x4_splat(0.0); N];
    let mut offsets = [0.0f32; N];
    check_acts(&acts, row.len() / ty.block_bytes() * per_block);
    for (b, block) in row.chunks_exact(ty.block_bytes()).enumerate() {
        let scales = block_unsigned_scales(ty, block);
        for (g, &(d, m)) in scales.iter().enumerate().take(per_block) {
            let a = b * per_block + g;
            let (u0, u1) = unsigned_values(ty, block, g);
            for i in 0..N {
                // SAFETY: `a` is below the block count checked above.
                let (x0, x1, xd, xsum) = unsafe { act_block(acts[i], a) };
                if halves_share_scales(ty) {
                    // These formats' values are below 32.
                    let dot = P::block(u0, u1, x0, x1);
                    acc[i] = f32x4_add(acc[i], f32x4_mul(f32x4_convert_i32x4(dot), f32x4_splat(d[0] * xd)));
                    offsets[i] += m[0] * xsum;
                } else {
                    let first = f32x4_mul(f32x4_convert_i32x4(P::half(u0, x0)), f32x4_splat(d[0] * xd));
                    let second = f32x4_mul(f32x4_convert_i32x4(P::half(u1, x1)), f32x4_splat(d[1] * xd));
                    acc[i] = f32x4_add(acc[i], f32x4_add(first, second));
                    // SAFETY: as above (the halves' sums are two per block).
                    let hsum = unsafe { acts[i].hsum.get_unchecked(2 * a..2 * a + 2) };
                    offsets[i] += m[0] * hsum[0] + m[1] * hsum[1];
                }
            }
        }
    }
    finish(acc, offsets)
}

#[inline(always)]
fn q4_1_body<P: Products, const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
    let mut acc = [f32x4_splat(0.0); N];
    let mut minimums = [0.0f32; N];
    check_acts(&acts, row.len() / 20);
    for (b, block) in row.chunks_exact(20).enumerate() {
        let w = nibbles(&block[4..]);
        let (d, m) = (f16_at(block, 0), f16_at(block, 2));
        for i in 0..N {
            // SAFETY: `b` is below the block count checked above.
            let (x0, x1, xd, xsum) = unsafe { act_block(acts[i], b) };
            let dot = f32x4_convert_i32x4(P::block(w.0, w.1, x0, x1));
            acc[i] = f32x4_add(acc[i], f32x4_mul(dot, f32x4_splat(d * xd)));
            minimums[i] += m * xsum;
        }
    }
    finish(acc, minimums)
}

#[inline(always)]
fn q4_0_body<P: Products, const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
    let mut acc = [f32x4_splat(0.0); N];
    let mut offsets = [0.0f32; N];
    check_acts(&acts, row.len() / 18);
    for (b, block) in row.chunks_exact(18).enumerate() {
        let w = nibbles(&block[2..]);
        let d = f16_at(block, 0);
        for i in 0..N {
            // SAFETY: `b` is below the block count checked above.
            let (x0, x1, xd, xsum) = unsafe { act_block(acts[i], b) };
            let dot = f32x4_convert_i32x4(P::block(w.0, w.1, x0, x1));
            acc[i] = f32x4_add(acc[i], f32x4_mul(dot, f32x4_splat(d * xd)));
            offsets[i] += d * xsum;
        }
    }
    finish(acc, offsets.map(|o| -8.0 * o))
}

#[inline(always)]
fn q8_0_body<const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
    let mut acc = [f32x4_splat(0.0); N];
    let blocks = row.len() / 34;
    check_acts(&acts, blocks);
    for act in acts {
        assert!(act.wide.len() >= blocks * QK, "the activations' 16-bit copy covers the row");
    }
    for (b, block) in row.chunks_exact(34).enumerate() {
        // Products reach 128·127: the weights widened to i16 once for all `N` rows, the activations
        // already widened (`Q8Row::wide`), and the dot product sums pairs into i32.
        let (w0, w1) = (load16(&block[2..]), load16(&block[18..]));
        let w = [
            i16x8_extend_low_i8x16(w0),
            i16x8_extend_high_i8x16(w0),
            i16x8_extend_low_i8x16(w1),
            i16x8_extend_high_i8x16(w1),
        ];
        let d = f16_at(block, 0);
        for i in 0..N {
            // SAFETY: block `b` of `wide` (32 × i16, four v128) is within the length asserted above;
            // v128_load has no alignment requirement.
            let x: [v128; 4] = unsafe {
                let at = acts[i].wide.as_ptr().add(b * QK) as *const v128;
                [v128_load(at), v128_load(at.add(1)), v128_load(at.add(2)), v128_load(at.add(3))]
            };
            // SAFETY: `b` is below the block count checked above.
            let xd = unsafe { *acts[i].d.get_unchecked(b) };
            let dot = i32x4_add(
                i32x4_add(i32x4_dot_i16x8(w[0], x[0]), i32x4_dot_i16x8(w[1], x[1])),
                i32x4_add(i32x4_dot_i16x8(w[2], x[2]), i32x4_dot_i16x8(w[3], x[3])),
            );
            acc[i] = f32x4_add(acc[i], f32x4_mul(f32x4_convert_i32x4(dot), f32x4_splat(d * xd)));
        }
    }
    finish(acc, [0.0; N])
}

/// The kernels compiled with products `$products` (and the attributes given, its instructions), and
/// their entry points.
macro_rules! kernels {
    ($name:ident, $products:ty, $doc:literal $(, #[$attr:meta])*) => {
        #[doc = $doc]
        pub mod $name {
            use super::*;

            $(#[$attr])*
            fn q4_1_impl<const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
                q4_1_body::<$products, N>(row, acts)
            }
            $(#[$attr])*
            fn q4_0_impl<const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
                q4_0_body::<$products, N>(row, acts)
            }
            $(#[$attr])*
            fn q8_0_impl<const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
                q8_0_body::<N>(row, acts)
            }
            $(#[$attr])*
            fn grouped_impl<const CODE: u32, const N: usize>(row: &[u8], acts: [&Q8Row; N]) -> [f32; N] {
                grouped_body::<$products, CODE, N>(row, acts)
            }

            /// The kernels of this module for the grouped formats.
            pub struct Grouped;

            impl crate::backend::cpu::int8::GroupedKernel for Grouped {
                fn dot<const CODE: u32>(row: &[u8], act: &Q8Row) -> f32 {
                    grouped_impl::<CODE, 1>(row, [act])[0]
                }
                fn tile<const CODE: u32>(row: &[u8], acts: &[&Q8Row; TILE]) -> [f32; TILE] {
                    grouped_impl::<CODE, TILE>(row, *acts)
                }
            }

            /// Q4_0, Q4_1 and Q8_0: the row dot and its tile, in that order.
            pub const PLAIN: [(RowDot, RowDotTile); 3] =
                [(q4_0, q4_0_tile), (q4_1, q4_1_tile), (q8_0, q8_0_tile)];

            pub fn q4_1(row: &[u8], act: &Q8Row) -> f32 {
                q4_1_impl::<1>(row, [act])[0]
            }
            pub fn q4_0(row: &[u8], act: &Q8Row) -> f32 {
                q4_0_impl::<1>(row, [act])[0]
            }
            pub fn q8_0(row: &[u8], act: &Q8Row) -> f32 {
                q8_0_impl::<1>(row, [act])[0]
            }
            pub fn q4_1_tile(row: &[u8], acts: &[&Q8Row; TILE]) -> [f32; TILE] {
                q4_1_impl(row, *acts)
            }
            pub fn q4_0_tile(row: &[u8], acts: &[&Q8Row; TILE]) -> [f32; TILE] {
                q4_0_impl(row, *acts)
            }
            pub fn q8_0_tile(row: &[u8], acts: &[&Q8Row; TILE]) -> [f32; TILE] {
                q8_0_impl(row, *acts)
            }
        }
    };
}

kernels!(plain, Extmul, "simd128's widened products.");
#[cfg(feature = "relaxed-simd")]
kernels!(relaxed, RelaxedDot, "Relaxed SIMD's byte dot product.", #[target_feature(enable = "relaxed-simd")]);

#[cfg(not(feature = "relaxed-simd"))]
pub use plain as best;
/// The kernels this build runs: relaxed SIMD's when it was built with them (the browser that loads it
/// has them), else simd128's.
#[cfg(feature = "relaxed-simd")]
pub use relaxed as best;
