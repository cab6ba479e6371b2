//! The activations' side of the 8-bit products: a row of f32 quantized to 8 bits per 32-value block,
//! with the sums the formats' offsets need.

use crate::quant::QK;

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
    /// `qs` widened to 16 bits, in wasm only (empty elsewhere): Q8_0's signed weights meet them in 16-bit
    /// products there (relaxed SIMD's byte product needs one operand below 128), and widening each row once
    /// instead of at every weight row takes the output matrix's product from about 13 instructions per
    /// block and row to 7.
    pub wide: Vec<i16>,
}

/// Quantizes one row (its length a multiple of 32) with round-to-nearest per block, halves away from zero
/// (C's `roundf`, as llama.cpp rounds).
pub fn quantize_row_q8(x: &[f32]) -> Q8Row {
    let n_blocks = x.len() / QK;
    let mut row = Q8Row {
        d: Vec::with_capacity(n_blocks),
        qs: vec![0; n_blocks * QK],
        dsum: Vec::with_capacity(n_blocks),
        hsum: Vec::with_capacity(2 * n_blocks),
        wide: Vec::new(),
    };
    for (block, qs) in x.chunks_exact(QK).zip(row.qs.chunks_exact_mut(QK)) {
        // Plain comparisons (not `f32::max`, whose NaN rule keeps the loop scalar) and a rounding in
        // plain arithmetic (`f32::round` is a library call per value): the loops vectorize.
        let mut lanes = [0.0f32; 8];
        for eight in block.chunks_exact(8) {
            for (m, v) in lanes.iter_mut().zip(eight) {
                *m = if v.abs() > *m { v.abs() } else { *m };
            }
        }
        let amax = lanes.iter().fold(0.0f32, |m, &v| if v > m { v } else { m });
        let d = amax / 127.0;
        let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
        for (q, v) in qs.iter_mut().zip(block) {
            *q = round_half_away(v * inv) as i8;
        }
        let half = |h: &[i8]| h.iter().map(|&q| q as i32).sum::<i32>();
        let halves = [half(&qs[..QK / 2]), half(&qs[QK / 2..])];
        row.d.push(d);
        row.dsum.push(d * (halves[0] + halves[1]) as f32);
        row.hsum.extend(halves.map(|h| d * h as f32));
    }
    if cfg!(target_arch = "wasm32") {
        row.wide = row.qs.iter().map(|&q| q as i16).collect();
    }
    row
}

/// `v.round()` (halves away from zero) for `|v| ≤ 200`, in plain arithmetic: adding the float just below
/// ½ rounds (to nearest even) to the next integer exactly when `v`'s fraction is ½ or more, and the
/// conversion truncates toward zero. (Every float up to 200 was checked against `roundf`; the
/// activations' values stay within ±127.)
#[inline(always)]
fn round_half_away(v: f32) -> i32 {
    (v + 0.499_999_97f32.copysign(v)) as i32
}

#[cfg(test)]
mod tests {
    use super::{quantize_row_q8, round_half_away};

    #[test]
    fn round_half_away_is_roundf_at_halves_and_their_neighbours() {
        // Every float within 4,096 steps of each half-integer and each integer up to ±130, and one in
        // 4,099 of all the others up to 200 (all of them were checked once: 1.1 billion).
        let mut checked = 0;
        let mut check = |v: f32| {
            assert_eq!(round_half_away(v), v.round() as i32, "{v:e}");
            assert_eq!(round_half_away(-v), (-v).round() as i32, "{:e}", -v);
            checked += 1;
        };
        for k in 0..=260 {
            let at = (k as f32 / 2.0).to_bits();
            (at.saturating_sub(4096)..=at + 4096).for_each(|bits| check(f32::from_bits(bits)));
        }
        (0..=200f32.to_bits()).step_by(4099).for_each(|bits| check(f32::from_bits(bits)));
        [1e-30, 0.0, 0.499_999_97, 127.0].into_iter().for_each(check);
        assert!(checked > 2_000_000, "{checked}");
    }

    #[test]
    fn quantize_row_q8_rounds_each_block_as_roundf_and_sums_its_halves() {
        let x: Vec<f32> =
            (0..96).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.013 + if i == 40 { 3.0 } else { 0.0 }).collect();
        let row = quantize_row_q8(&x);
        for (b, block) in x.chunks_exact(32).enumerate() {
            let amax = block.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
            let d = amax / 127.0;
            assert_eq!(row.d[b], d);
            let want: Vec<i8> = block.iter().map(|v| (v * (1.0 / d)).round() as i8).collect();
            assert_eq!(&row.qs[32 * b..32 * b + 32], &want[..], "block {b}");
            let (h0, h1) =
                (want[..16].iter().map(|&q| q as i32).sum::<i32>(), want[16..].iter().map(|&q| q as i32).sum::<i32>());
            assert_eq!(row.hsum[2 * b..2 * b + 2], [d * h0 as f32, d * h1 as f32]);
            assert_eq!(row.dsum[b], d * (h0 + h1) as f32);
        }
        // A block of zeros: scale 0, values 0.
        let zeros = quantize_row_q8(&[0.0; 32]);
        assert_eq!((zeros.d[0], zeros.qs.iter().all(|&q| q == 0)), (0.0, true));
    }
}
