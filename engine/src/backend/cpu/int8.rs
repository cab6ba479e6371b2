//! 8-bit activations and integer block dot products. Each 32-value activation block keeps its f32 scale
//! and the sum of its quantized values (Q4_0's offset and Q4_1's minimum need it).

use half::f16;

use crate::quant::{GgmlType, QK};

/// One activation row quantized in blocks of 32: `x ≈ d[b] · qs[b*32 + i]`.
#[derive(Debug, Clone)]
pub struct Q8Row {
    /// Scale per block.
    pub d: Vec<f32>,
    /// Quantized values, `[-127, 127]`.
    pub qs: Vec<i8>,
    /// Σ qs per block.
    pub sums: Vec<i32>,
}

/// Quantizes one row (its length a multiple of 32) with round-to-nearest per block.
pub fn quantize_row_q8(x: &[f32]) -> Q8Row {
    let n_blocks = x.len() / QK;
    let mut row = Q8Row { d: Vec::with_capacity(n_blocks), qs: Vec::with_capacity(x.len()), sums: Vec::with_capacity(n_blocks) };
    for block in x.chunks_exact(QK) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
        let mut sum = 0i32;
        for v in block {
            let q = (v * inv).round() as i8;
            sum += q as i32;
            row.qs.push(q);
        }
        row.d.push(d);
        row.sums.push(sum);
    }
    row
}

/// Whether [`dot`] handles weights of type `ty`.
pub fn supports(ty: GgmlType) -> bool {
    matches!(ty, GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q8_0)
}

fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[at], b[at + 1]])).to_f32()
}

/// Σ over a weight row's blocks of (weight block · activation block), with integer inner products.
pub fn dot(ty: GgmlType, row: &[u8], act: &Q8Row) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if avx2::available() {
            // SAFETY: AVX2 and FMA were detected at run time just above.
            return unsafe { avx2::dot(ty, row, act) };
        }
    }
    dot_scalar(ty, row, act)
}

/// The scalar reference of [`dot`].
pub fn dot_scalar(ty: GgmlType, row: &[u8], act: &Q8Row) -> f32 {
    let mut total = 0.0f32;
    let blocks = row.chunks_exact(ty.block_bytes());
    for (b, block) in blocks.enumerate() {
        let x = &act.qs[b * QK..(b + 1) * QK];
        let dx = act.d[b];
        total += match ty {
            GgmlType::Q4_0 => {
                let qdot = nibble_dot(&block[2..], x);
                f16_at(block, 0) * dx * (qdot - 8 * act.sums[b]) as f32
            }
            GgmlType::Q4_1 => {
                let qdot = nibble_dot(&block[4..], x);
                f16_at(block, 0) * dx * qdot as f32 + f16_at(block, 2) * dx * act.sums[b] as f32
            }
            GgmlType::Q8_0 => {
                let qdot: i32 = block[2..].iter().zip(x).map(|(&w, &x)| (w as i8 as i32) * x as i32).sum();
                f16_at(block, 0) * dx * qdot as f32
            }
            _ => 0.0,
        };
    }
    total
}

/// Σ nibble·x for 16 bytes of nibbles (low nibbles are values 0..16, high nibbles 16..32).
fn nibble_dot(nibbles: &[u8], x: &[i8]) -> i32 {
    let mut sum = 0i32;
    for (j, &q) in nibbles.iter().enumerate() {
        sum += (q & 0x0f) as i32 * x[j] as i32 + (q >> 4) as i32 * x[j + QK / 2] as i32;
    }
    sum
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! AVX2 + FMA: 32 products per instruction with `maddubs` (unsigned × signed bytes).

    use std::arch::x86_64::*;

    use super::{f16_at, Q8Row};
    use crate::quant::{GgmlType, QK};

    pub fn available() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    /// Sums 8 lanes of i32 pairs from `maddubs` output (16 × i16) into 8 × i32, as f32.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn madd_to_f32(products16: __m256i) -> __m256 {
        _mm256_cvtepi32_ps(_mm256_madd_epi16(products16, _mm256_set1_epi16(1)))
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// 16 bytes of nibbles → 32 bytes in value order (low nibbles, then high nibbles).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn unpack_nibbles(p: *const u8) -> __m256i {
        // SAFETY: the caller passes a pointer to 16 readable bytes.
        let raw = unsafe { _mm_loadu_si128(p as *const __m128i) };
        let mask = _mm_set1_epi8(0x0f);
        let lo = _mm_and_si128(raw, mask);
        let hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
        _mm256_set_m128i(hi, lo)
    }

    /// AVX2 twin of `dot_scalar`.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA; `row` holds whole blocks of `ty` matching `act`'s length.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot(ty: GgmlType, row: &[u8], act: &Q8Row) -> f32 {
        let bb = ty.block_bytes();
        let n_blocks = row.len() / bb;
        assert!(act.qs.len() >= n_blocks * QK && act.d.len() >= n_blocks);
        let mut acc = _mm256_setzero_ps();
        let mut offset_acc = 0.0f32;
        for b in 0..n_blocks {
            let block = &row[b * bb..(b + 1) * bb];
            // SAFETY: b < n_blocks, and the assert above guarantees 32 activation bytes at b * QK.
            let x = unsafe { _mm256_loadu_si256(act.qs.as_ptr().add(b * QK) as *const __m256i) };
            let dx = act.d[b];
            match ty {
                GgmlType::Q4_0 | GgmlType::Q4_1 => {
                    let start = if ty == GgmlType::Q4_0 { 2 } else { 4 };
                    // SAFETY: a Q4 block has 16 nibble bytes after its header.
                    let w = unsafe { unpack_nibbles(block.as_ptr().add(start)) };
                    let prod = madd_to_f32(_mm256_maddubs_epi16(w, x));
                    let dw = f16_at(block, 0);
                    acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * dx), prod, acc);
                    offset_acc += if ty == GgmlType::Q4_0 {
                        -8.0 * dw * dx * act.sums[b] as f32
                    } else {
                        f16_at(block, 2) * dx * act.sums[b] as f32
                    };
                }
                GgmlType::Q8_0 => {
                    // SAFETY: a Q8_0 block has 32 value bytes after its 2-byte scale.
                    let w = unsafe { _mm256_loadu_si256(block.as_ptr().add(2) as *const __m256i) };
                    // maddubs wants unsigned × signed: move w's sign onto x.
                    let prod = madd_to_f32(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)));
                    acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_at(block, 0) * dx), prod, acc);
                }
                _ => {}
            }
        }
        hsum(acc) + offset_acc
    }
}
