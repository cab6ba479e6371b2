//! The 5-bit formats (Q5_0, Q5_1) and ggml's K-quants (Q2_K … Q6_K: super-blocks of 256 values whose
//! 16- or 32-value sub-blocks carry small integer scales and minimums under two f16 constants), with
//! their layouts checked at compile time.
//!
//! Every block format, old and new, reads as [`Group`]s of 32 consecutive values: small integers with an
//! f32 scale and offset per half. That one view serves the reference dequantizer, the 8-bit dot product
//! and the GPU's repacking. Its scale and offset are the very f32 products ggml's reference dequantizer
//! forms (`d · sc`, `dmin · m`), so `d·q + m` gives the same floats as ggml does.

use super::{f16_at, f16_at_by_shift, GgmlType, QK};

/// Values per K-quant super-block.
pub const QK_K: usize = 256;

/// Q5_0: `d`, 32 high bits, 16 bytes of low nibbles; value = (q − 16)·d.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ5_0 {
    /// Scale, f16 bits.
    pub d: u16,
    /// The fifth bit of each value.
    pub qh: [u8; 4],
    /// Low nibbles (values 0..16 low, 16..32 high).
    pub qs: [u8; QK / 2],
}

/// Q5_1: `d`, `m`, 32 high bits, 16 bytes of low nibbles; value = q·d + m.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ5_1 {
    /// Scale, f16 bits.
    pub d: u16,
    /// Minimum, f16 bits.
    pub m: u16,
    /// The fifth bit of each value.
    pub qh: [u8; 4],
    /// Low nibbles.
    pub qs: [u8; QK / 2],
}

/// Q2_K: 16 sub-blocks of 16 values, 4-bit scale and minimum each; 2-bit values.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ2K {
    /// Per sub-block: scale (low nibble) and minimum (high nibble).
    pub scales: [u8; QK_K / 16],
    /// 2-bit values.
    pub qs: [u8; QK_K / 4],
    /// Super-scale, f16 bits.
    pub d: u16,
    /// Super-minimum, f16 bits.
    pub dmin: u16,
}

/// Q3_K: 16 sub-blocks of 16 values, 6-bit signed scales; 3-bit values (2 low bits + a high-bit mask).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ3K {
    /// The third bit of each value.
    pub hmask: [u8; QK_K / 8],
    /// The two low bits.
    pub qs: [u8; QK_K / 4],
    /// Sixteen 6-bit scales, packed.
    pub scales: [u8; 12],
    /// Super-scale, f16 bits.
    pub d: u16,
}

/// Q4_K: 8 sub-blocks of 32 values, 6-bit scale and minimum each; 4-bit values.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ4K {
    /// Super-scale, f16 bits.
    pub d: u16,
    /// Super-minimum, f16 bits.
    pub dmin: u16,
    /// Eight 6-bit scales and eight 6-bit minimums, packed.
    pub scales: [u8; 12],
    /// Nibbles: each 32 bytes hold two sub-blocks (low nibbles, then high).
    pub qs: [u8; QK_K / 2],
}

/// Q5_K: Q4_K with a fifth bit per value.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ5K {
    /// Super-scale, f16 bits.
    pub d: u16,
    /// Super-minimum, f16 bits.
    pub dmin: u16,
    /// As Q4_K's.
    pub scales: [u8; 12],
    /// Fifth bits: bit `g` of byte `l` belongs to value `l` of sub-block `g`.
    pub qh: [u8; QK_K / 8],
    /// Low nibbles, as Q4_K's.
    pub qs: [u8; QK_K / 2],
}

/// Q6_K: 16 sub-blocks of 16 values, 8-bit signed scales; 6-bit values.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct BlockQ6K {
    /// Low nibbles.
    pub ql: [u8; QK_K / 2],
    /// Two high bits per value.
    pub qh: [u8; QK_K / 4],
    /// Scales.
    pub scales: [i8; QK_K / 16],
    /// Super-scale, f16 bits.
    pub d: u16,
}

const _: () = assert!(size_of::<BlockQ5_0>() == 2 + 4 + QK / 2);
const _: () = assert!(size_of::<BlockQ5_1>() == 2 + 2 + 4 + QK / 2);
const _: () = assert!(size_of::<BlockQ2K>() == QK_K / 16 + QK_K / 4 + 2 + 2);
const _: () = assert!(size_of::<BlockQ3K>() == QK_K / 8 + QK_K / 4 + 12 + 2);
const _: () = assert!(size_of::<BlockQ4K>() == 2 + 2 + 12 + QK_K / 2);
const _: () = assert!(size_of::<BlockQ5K>() == 2 + 2 + 12 + QK_K / 8 + QK_K / 2);
const _: () = assert!(size_of::<BlockQ6K>() == QK_K / 2 + QK_K / 4 + QK_K / 16 + 2);

/// 32 consecutive values of a block: value `i` = `d[i / 16] · q[i] + m[i / 16]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Group {
    /// Scale of each half.
    pub d: [f32; 2],
    /// Offset of each half.
    pub m: [f32; 2],
    /// The small integers.
    pub q: [i8; QK],
}

impl Group {
    fn new(d: f32, m: f32) -> Self {
        Self { d: [d, d], m: [m, m], q: [0; QK] }
    }

    /// Value `i`, as ggml's reference dequantizer computes it.
    #[inline]
    pub fn value(&self, i: usize) -> f32 {
        self.d[i / 16] * self.q[i] as f32 + self.m[i / 16]
    }
}

/// Group `g` (`0..ty.block_size() / 32`) of one block of `ty` (its bytes), for every block format
/// (`None` for the plain float types).
pub fn group(ty: GgmlType, b: &[u8], g: usize) -> Option<Group> {
    Some(match ty {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => return None,
        GgmlType::Q4_0 => {
            let mut out = Group::new(f16_at(b, 0), 0.0);
            nibbles(&b[2..18], false, |i, q| out.q[i] = q as i8 - 8);
            nibbles(&b[2..18], true, |i, q| out.q[16 + i] = q as i8 - 8);
            out
        }
        GgmlType::Q4_1 => {
            let mut out = Group::new(f16_at(b, 0), f16_at(b, 2));
            nibbles(&b[4..20], false, |i, q| out.q[i] = q as i8);
            nibbles(&b[4..20], true, |i, q| out.q[16 + i] = q as i8);
            out
        }
        GgmlType::Q8_0 => {
            let mut out = Group::new(f16_at(b, 0), 0.0);
            for (o, &q) in out.q.iter_mut().zip(&b[2..34]) {
                *o = q as i8;
            }
            out
        }
        GgmlType::Q5_0 | GgmlType::Q5_1 => {
            let (m, at, offset) = if ty == GgmlType::Q5_0 { (0.0, 2, 16) } else { (f16_at(b, 2), 4, 0) };
            let mut out = Group::new(f16_at(b, 0), m);
            let qh = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
            let qs = &b[at + 4..at + 20];
            for (j, &q) in qs.iter().enumerate() {
                let low = (q & 0x0f) | ((((qh >> j) << 4) & 0x10) as u8);
                let high = (q >> 4) | (((qh >> (j + 12)) & 0x10) as u8);
                out.q[j] = low as i8 - offset;
                out.q[j + 16] = high as i8 - offset;
            }
            out
        }
        GgmlType::Q2_K => {
            let (d, dmin) = (f16_at(b, 80), f16_at(b, 82));
            let (n, j) = (g / 4, g % 4);
            let qs = &b[16 + 32 * n..16 + 32 * n + 32];
            let mut out = Group::new(0.0, 0.0);
            for half in 0..2 {
                let sc = b[8 * n + 2 * j + half];
                out.d[half] = d * (sc & 0x0f) as f32;
                out.m[half] = -(dmin * (sc >> 4) as f32);
            }
            for (l, &q) in qs.iter().enumerate() {
                out.q[l] = ((q >> (2 * j)) & 3) as i8;
            }
            out
        }
        GgmlType::Q3_K => {
            let d = f16_at(b, 108);
            let scales = q3_k_scales(&b[96..108]);
            let (n, j) = (g / 4, g % 4);
            let (hmask, qs) = (&b[0..32], &b[32 + 32 * n..32 + 32 * n + 32]);
            let bit = 1u8 << (4 * n + j);
            let mut out = Group::new(0.0, 0.0);
            for half in 0..2 {
                out.d[half] = d * (scales[8 * n + 2 * j + half] as i32 - 32) as f32;
            }
            for l in 0..QK {
                let low = ((qs[l] >> (2 * j)) & 3) as i8;
                out.q[l] = if hmask[l] & bit != 0 { low } else { low - 4 };
            }
            out
        }
        GgmlType::Q4_K | GgmlType::Q5_K => {
            let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
            let (sc, m) = scale_min_k4(g, &b[4..16]);
            let mut out = Group::new(d * sc as f32, -(dmin * m as f32));
            let (qs_at, high_bits) = if ty == GgmlType::Q4_K { (16, None) } else { (48, Some(&b[16..48])) };
            let qs = &b[qs_at + 32 * (g / 2)..qs_at + 32 * (g / 2) + 32];
            for (l, &q) in qs.iter().enumerate() {
                let low = if g.is_multiple_of(2) { q & 0x0f } else { q >> 4 };
                let high = high_bits.map_or(0, |qh| if qh[l] & (1 << g) != 0 { 16 } else { 0 });
                out.q[l] = (low + high) as i8;
            }
            out
        }
        GgmlType::Q6_K => {
            let d = f16_at(b, 208);
            let (n, k) = (g / 4, g % 4);
            let ql = &b[64 * n + 32 * (k % 2)..64 * n + 32 * (k % 2) + 32];
            let qh = &b[128 + 32 * n..128 + 32 * n + 32];
            let mut out = Group::new(0.0, 0.0);
            for half in 0..2 {
                out.d[half] = d * (b[192 + 8 * n + 2 * k + half] as i8) as f32;
            }
            for l in 0..QK {
                let low = if k < 2 { ql[l] & 0x0f } else { ql[l] >> 4 };
                let high = (qh[l] >> (2 * k)) & 3;
                out.q[l] = (low | (high << 4)) as i8 - 32;
            }
            out
        }
    })
}

/// Calls `f(i, nibble)` for the 16 low (`high` false) or high nibbles of `bytes`.
fn nibbles(bytes: &[u8], high: bool, mut f: impl FnMut(usize, u8)) {
    for (i, &q) in bytes.iter().enumerate() {
        f(i, if high { q >> 4 } else { q & 0x0f });
    }
}

/// Q4_K's and Q5_K's scale and minimum of sub-block `j` (6 bits each, packed in 12 bytes).
fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        ((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }
}

/// Q3_K's sixteen 6-bit scales (before the −32), unpacked from 12 bytes.
fn q3_k_scales(packed: &[u8]) -> [u8; 16] {
    const LOW4: u32 = 0x0f0f_0f0f;
    const LOW2: u32 = 0x0303_0303;
    let word = |at: usize| u32::from_le_bytes([packed[at], packed[at + 1], packed[at + 2], packed[at + 3]]);
    let (a0, a1, tmp) = (word(0), word(4), word(8));
    let words = [
        (a0 & LOW4) | ((tmp & LOW2) << 4),
        (a1 & LOW4) | (((tmp >> 2) & LOW2) << 4),
        ((a0 >> 4) & LOW4) | (((tmp >> 4) & LOW2) << 4),
        ((a1 >> 4) & LOW4) | (((tmp >> 6) & LOW2) << 4),
    ];
    let mut out = [0u8; 16];
    for (o, w) in out.chunks_exact_mut(4).zip(words) {
        o.copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// The scales of every group of one block, for kernels that read its values unsigned (`u = q + offset`,
/// `0 ≤ u < 64`): `(d, m)` per half of group `g` at index `g`, with value ≈ `d·u + m` (the offset folded
/// into `m`, exact in f32 but not rounded as ggml rounds). For Q5_0, Q5_1 and the K-quants; the 8-bit
/// SIMD kernels decode `u` themselves. Decoded once per block (a K-quant's super-scales and packed
/// 6-bit scales serve its eight groups); the scales are the very f32 products [`group`] forms. Entries
/// past the format's group count are zero.
pub type BlockScales = [([f32; 2], [f32; 2]); 8];

/// See [`BlockScales`].
#[inline(always)]
pub fn block_unsigned_scales(ty: GgmlType, b: &[u8]) -> BlockScales {
    let mut out = [([0.0; 2], [0.0; 2]); 8];
    match ty {
        GgmlType::Q5_0 => {
            let d = f16_at_by_shift(b, 0);
            out[0] = ([d; 2], [-16.0 * d; 2]);
        }
        GgmlType::Q5_1 => out[0] = ([f16_at_by_shift(b, 0); 2], [f16_at_by_shift(b, 2); 2]),
        GgmlType::Q4_K | GgmlType::Q5_K => {
            let (d, dmin) = (f16_at_by_shift(b, 0), f16_at_by_shift(b, 2));
            for (g, o) in out.iter_mut().enumerate() {
                let (sc, m) = scale_min_k4(g, &b[4..16]);
                *o = ([d * sc as f32; 2], [-(dmin * m as f32); 2]);
            }
        }
        GgmlType::Q6_K => {
            let d = f16_at_by_shift(b, 208);
            for (g, o) in out.iter_mut().enumerate() {
                let at = 192 + 8 * (g / 4) + 2 * (g % 4);
                let halves = [d * (b[at] as i8) as f32, d * (b[at + 1] as i8) as f32];
                *o = (halves, halves.map(|h| -32.0 * h));
            }
        }
        GgmlType::Q2_K => {
            // Unsigned already: a 4-bit scale and minimum per half (sub-blocks 2g and 2g + 1).
            let (d, dmin) = (f16_at_by_shift(b, 80), f16_at_by_shift(b, 82));
            let scale = |sc: u8| d * (sc & 0x0f) as f32;
            let min = |sc: u8| -(dmin * (sc >> 4) as f32);
            for (g, o) in out.iter_mut().enumerate() {
                let (s0, s1) = (b[2 * g], b[2 * g + 1]);
                *o = ([scale(s0), scale(s1)], [min(s0), min(s1)]);
            }
        }
        GgmlType::Q3_K => {
            // Values −4 ..= 3 read as u = q + 4.
            let (d, scales) = (f16_at_by_shift(b, 108), q3_k_scales(&b[96..108]));
            for (g, o) in out.iter_mut().enumerate() {
                let halves = [d * (scales[2 * g] as i32 - 32) as f32, d * (scales[2 * g + 1] as i32 - 32) as f32];
                *o = (halves, halves.map(|h| -4.0 * h));
            }
        }
        // Not a grouped format.
        _ => {}
    }
    out
}

/// Whether both halves of every group of `ty` share one scale and one offset (Q5_0, Q5_1, Q4_K, Q5_K):
/// kernels then scale a group's whole sum at once and take its offset from the activation block's sum.
pub const fn halves_share_scales(ty: GgmlType) -> bool {
    matches!(ty, GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q4_K | GgmlType::Q5_K)
}
