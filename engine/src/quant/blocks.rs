//! Block layouts (checked at compile time) and the scalar reference dequantizer every faster kernel is
//! tested against.

use half::{bf16, f16};

use super::GgmlType;
use crate::error::{EngineError, Result};

/// Values per quantized block.
pub const QK: usize = 32;

/// Q4_0: `d` (f16 bits), then 16 bytes: low nibbles are values 0..16, high nibbles values 16..32.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ4_0 {
    /// Scale, f16 bits.
    pub d: u16,
    /// Nibbles.
    pub qs: [u8; QK / 2],
}

/// Q4_1: `d` and `m` (f16 bits), then the nibbles as in Q4_0.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ4_1 {
    /// Scale, f16 bits.
    pub d: u16,
    /// Minimum, f16 bits.
    pub m: u16,
    /// Nibbles.
    pub qs: [u8; QK / 2],
}

/// Q8_0: `d` (f16 bits), then 32 signed bytes.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ8_0 {
    /// Scale, f16 bits.
    pub d: u16,
    /// Signed values.
    pub qs: [i8; QK],
}

const _: () = assert!(size_of::<BlockQ4_0>() == 2 + QK / 2);
const _: () = assert!(size_of::<BlockQ4_1>() == 2 + 2 + QK / 2);
const _: () = assert!(size_of::<BlockQ8_0>() == 2 + QK);

/// The little-endian f16 at `bytes[at..at + 2]`, as f32.
pub(crate) fn f16_at(bytes: &[u8], at: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([bytes[at], bytes[at + 1]])).to_f32()
}

/// A finite f16 (bits) as f32, exactly, without a conversion instruction: its exponent and mantissa bits
/// placed in an f32 are the value scaled by 2^-112 (subnormals included), which one multiply undoes.
/// (Infinities and NaNs come out as large finite values; block constants are finite.)
///
/// The sign bit is set without a branch: a block scale's sign is as good as random, and a branch on it,
/// mispredicted about every other block, made Q5_0's one-token dot 2.7× slower (1536 × 1536 on one AVX2
/// core: 0.59 ms with it, 0.22 ms without).
#[inline]
pub fn f16_to_f32(bits: u16) -> f32 {
    let h = bits as u32;
    // × 2^112
    let magnitude = f32::from_bits((h & 0x7fff) << 13) * f32::from_bits(0x7780_0000);
    f32::from_bits(magnitude.to_bits() | ((h & 0x8000) << 16))
}

/// The little-endian f16 at `bytes[at..at + 2]` by [`f16_to_f32`]: what the SIMD kernels and the unsigned
/// block scales read a block constant with.
#[inline]
pub(crate) fn f16_at_by_shift(bytes: &[u8], at: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([bytes[at], bytes[at + 1]]))
}

/// Dequantizes `bytes` (whole blocks of `ty`) into `out`, which must hold exactly their values.
pub fn dequantize(ty: GgmlType, bytes: &[u8], out: &mut [f32]) -> Result<()> {
    let blocks = bytes.len() / ty.block_bytes();
    if !bytes.len().is_multiple_of(ty.block_bytes()) || blocks * ty.block_size() != out.len() {
        return Err(EngineError::BadTensorShape {
            name: format!("{ty:?} data"),
            reason: format!("{} bytes cannot hold {} values", bytes.len(), out.len()),
        });
    }
    let chunks = bytes.chunks_exact(ty.block_bytes());
    match ty {
        GgmlType::F32 => {
            for (o, b) in out.iter_mut().zip(chunks) {
                *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        GgmlType::F16 => {
            for (o, b) in out.iter_mut().zip(chunks) {
                *o = f16_at(b, 0);
            }
        }
        GgmlType::BF16 => {
            for (o, b) in out.iter_mut().zip(chunks) {
                *o = bf16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32();
            }
        }
        GgmlType::Q4_0 => {
            for (o, b) in out.chunks_exact_mut(QK).zip(chunks) {
                let d = f16_at(b, 0);
                for (j, &q) in b[2..].iter().enumerate() {
                    o[j] = ((q & 0x0f) as i32 - 8) as f32 * d;
                    o[j + QK / 2] = ((q >> 4) as i32 - 8) as f32 * d;
                }
            }
        }
        GgmlType::Q4_1 => {
            for (o, b) in out.chunks_exact_mut(QK).zip(chunks) {
                let (d, m) = (f16_at(b, 0), f16_at(b, 2));
                for (j, &q) in b[4..].iter().enumerate() {
                    o[j] = (q & 0x0f) as f32 * d + m;
                    o[j + QK / 2] = (q >> 4) as f32 * d + m;
                }
            }
        }
        GgmlType::Q8_0 => {
            for (o, b) in out.chunks_exact_mut(QK).zip(chunks) {
                let d = f16_at(b, 0);
                for (j, &q) in b[2..].iter().enumerate() {
                    o[j] = q as i8 as f32 * d;
                }
            }
        }
        GgmlType::Q5_0
        | GgmlType::Q5_1
        | GgmlType::Q2_K
        | GgmlType::Q3_K
        | GgmlType::Q4_K
        | GgmlType::Q5_K
        | GgmlType::Q6_K => {
            for (o, b) in out.chunks_exact_mut(ty.block_size()).zip(chunks) {
                for (g, og) in o.chunks_exact_mut(QK).enumerate() {
                    let Some(group) = super::group(ty, b, g) else { unreachable!("{ty:?} is a block format") };
                    for (i, v) in og.iter_mut().enumerate() {
                        *v = group.value(i);
                    }
                }
            }
        }
    }
    Ok(())
}
