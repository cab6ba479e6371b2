//! Attention's two inner loops over the keys a query sees: its scores (one dot product per key) and
//! the weighted sum of the values. At a long context these, not the weights, are most of a token's
//! cost, so they have SIMD paths like the integer dot products: AVX2 natively (chosen at run time),
//! simd128 in wasm, and the scalar reference. All three add the same products in the same order as
//! [`super::dot_f32`] (no fused multiply-add), so they give the same floats, bit for bit: the page and
//! the command line attend alike, and the tests hold the fast paths to the reference exactly.
//!
//! Rows are `head_dim` floats starting at `offset` in a row of `stride` floats (one position's keys or
//! values for every KV head).

/// `scores[j] = scale · q · keys[j]` for every key row `j` (as many as `scores` holds).
pub fn scores(q: &[f32], keys: &[f32], stride: usize, offset: usize, scale: f32, scores: &mut [f32]) {
    debug_assert!(scores.is_empty() || keys.len() >= (scores.len() - 1) * stride + offset + q.len());
    #[cfg(target_arch = "x86_64")]
    {
        if avx2::available() {
            // SAFETY: AVX2 was detected just above.
            return unsafe { avx2::scores(q, keys, stride, offset, scale, scores) };
        }
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        return simd128::scores(q, keys, stride, offset, scale, scores);
    }
    #[allow(unreachable_code)]
    scalar::scores(q, keys, stride, offset, scale, scores)
}

/// `out += Σ_j p[j] · values[j]` over the value rows `j` (as many as `p` holds).
pub fn mix(p: &[f32], values: &[f32], stride: usize, offset: usize, out: &mut [f32]) {
    debug_assert!(p.is_empty() || values.len() >= (p.len() - 1) * stride + offset + out.len());
    #[cfg(target_arch = "x86_64")]
    {
        if avx2::available() {
            // SAFETY: AVX2 was detected just above.
            return unsafe { avx2::mix(p, values, stride, offset, out) };
        }
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        return simd128::mix(p, values, stride, offset, out);
    }
    #[allow(unreachable_code)]
    scalar::mix(p, values, stride, offset, out)
}

pub mod scalar {
    //! The reference: plain loops in f32, in the order every fast path follows.

    /// `q · k` summed as every path sums it: [`crate::backend::cpu::dot_f32`]'s order (blocks of 32,
    /// each summed in 8 lanes, `lane[i % 8] += q[i] · k[i]`, the lanes added in turn, the blocks in turn).
    pub fn dot(q: &[f32], k: &[f32]) -> f32 {
        crate::backend::cpu::dot_f32(q, k)
    }

    pub fn scores(q: &[f32], keys: &[f32], stride: usize, offset: usize, scale: f32, scores: &mut [f32]) {
        for (j, s) in scores.iter_mut().enumerate() {
            *s = dot(q, &keys[j * stride + offset..][..q.len()]) * scale;
        }
    }

    pub fn mix(p: &[f32], values: &[f32], stride: usize, offset: usize, out: &mut [f32]) {
        let hd = out.len();
        for (j, &pj) in p.iter().enumerate() {
            for (o, v) in out.iter_mut().zip(&values[j * stride + offset..][..hd]) {
                *o += pj * v;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! 8 lanes per instruction; multiply then add, as the scalar reference and wasm do, so that the
    //! page and the command line attend alike.

    use std::arch::x86_64::*;

    pub fn available() -> bool {
        is_x86_feature_detected!("avx2")
    }

    #[target_feature(enable = "avx2")]
    pub fn scores(q: &[f32], keys: &[f32], stride: usize, offset: usize, scale: f32, scores: &mut [f32]) {
        let hd = q.len();
        let whole = hd / 32 * 32;
        for (j, s) in scores.iter_mut().enumerate() {
            let k = &keys[j * stride + offset..][..hd];
            let mut total = 0.0f32;
            for block in (0..whole).step_by(32) {
                let mut acc = _mm256_setzero_ps();
                for i in (block..block + 32).step_by(8) {
                    // SAFETY: 8 floats at `i < whole ≤ hd` of `q` and `k`, both `hd` long.
                    let product = unsafe {
                        _mm256_mul_ps(_mm256_loadu_ps(q.as_ptr().add(i)), _mm256_loadu_ps(k.as_ptr().add(i)))
                    };
                    acc = _mm256_add_ps(acc, product);
                }
                let mut lanes = [0.0f32; 8];
                // SAFETY: `lanes` holds 8 floats.
                unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
                total += lanes.iter().sum::<f32>();
            }
            if whole < hd {
                total += super::scalar::dot(&q[whole..], &k[whole..]);
            }
            *s = total * scale;
        }
    }

    #[target_feature(enable = "avx2")]
    pub fn mix(p: &[f32], values: &[f32], stride: usize, offset: usize, out: &mut [f32]) {
        let hd = out.len();
        let whole = hd / 8 * 8;
        // Four registers of the output at a time, kept across every value row.
        let mut c = 0;
        while c < whole {
            let n = ((whole - c) / 8).min(4);
            // SAFETY: loads and stores of 8 floats at `c + 8r < whole ≤ hd` of `out` and of each value
            // row, which is `hd` long.
            unsafe {
                let mut acc = [_mm256_setzero_ps(); 4];
                for (r, a) in acc.iter_mut().enumerate().take(n) {
                    *a = _mm256_loadu_ps(out.as_ptr().add(c + 8 * r));
                }
                for (j, &pj) in p.iter().enumerate() {
                    let v = values[j * stride + offset..][..hd].as_ptr().add(c);
                    let pv = _mm256_set1_ps(pj);
                    for (r, a) in acc.iter_mut().enumerate().take(n) {
                        *a = _mm256_add_ps(*a, _mm256_mul_ps(pv, _mm256_loadu_ps(v.add(8 * r))));
                    }
                }
                for (r, a) in acc.iter().enumerate().take(n) {
                    _mm256_storeu_ps(out.as_mut_ptr().add(c + 8 * r), *a);
                }
            }
            c += 8 * n;
        }
        for (j, &pj) in p.iter().enumerate() {
            let v = &values[j * stride + offset..][..hd];
            for t in whole..hd {
                out[t] += pj * v[t];
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    //! 4 lanes per instruction: the reference's 8 lanes are two registers here.

    use std::arch::wasm32::*;

    #[inline]
    fn load(x: &[f32], at: usize) -> v128 {
        assert!(at + 4 <= x.len());
        // SAFETY: 4 readable floats at `at`, checked above; v128_load has no alignment requirement.
        unsafe { v128_load(x.as_ptr().add(at) as *const v128) }
    }

    pub fn scores(q: &[f32], keys: &[f32], stride: usize, offset: usize, scale: f32, scores: &mut [f32]) {
        let hd = q.len();
        let whole = hd / 32 * 32;
        for (j, s) in scores.iter_mut().enumerate() {
            let k = &keys[j * stride + offset..][..hd];
            let mut total = 0.0f32;
            for block in (0..whole).step_by(32) {
                // Lanes 0–3 and 4–7 of the reference's 8.
                let (mut lo, mut hi) = (f32x4_splat(0.0), f32x4_splat(0.0));
                for i in (block..block + 32).step_by(8) {
                    lo = f32x4_add(lo, f32x4_mul(load(q, i), load(k, i)));
                    hi = f32x4_add(hi, f32x4_mul(load(q, i + 4), load(k, i + 4)));
                }
                total += f32x4_extract_lane::<0>(lo)
                    + f32x4_extract_lane::<1>(lo)
                    + f32x4_extract_lane::<2>(lo)
                    + f32x4_extract_lane::<3>(lo)
                    + f32x4_extract_lane::<0>(hi)
                    + f32x4_extract_lane::<1>(hi)
                    + f32x4_extract_lane::<2>(hi)
                    + f32x4_extract_lane::<3>(hi);
            }
            if whole < hd {
                total += super::scalar::dot(&q[whole..], &k[whole..]);
            }
            *s = total * scale;
        }
    }

    pub fn mix(p: &[f32], values: &[f32], stride: usize, offset: usize, out: &mut [f32]) {
        let hd = out.len();
        let whole = hd / 4 * 4;
        let mut c = 0;
        while c < whole {
            let n = ((whole - c) / 4).min(8);
            let mut acc = [f32x4_splat(0.0); 8];
            for (r, a) in acc.iter_mut().enumerate().take(n) {
                *a = load(out, c + 4 * r);
            }
            for (j, &pj) in p.iter().enumerate() {
                let v = &values[j * stride + offset..][..hd];
                let pv = f32x4_splat(pj);
                for (r, a) in acc.iter_mut().enumerate().take(n) {
                    *a = f32x4_add(*a, f32x4_mul(pv, load(v, c + 4 * r)));
                }
            }
            for (r, a) in acc.iter().enumerate().take(n) {
                let at = c + 4 * r;
                // SAFETY: 4 writable floats at `at < whole ≤ hd`.
                unsafe { v128_store(out.as_mut_ptr().add(at) as *mut v128, *a) };
            }
            c += 4 * n;
        }
        for (j, &pj) in p.iter().enumerate() {
            let v = &values[j * stride + offset..][..hd];
            for t in whole..hd {
                out[t] += pj * v[t];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s % 20_000) as f32 / 10_000.0 - 1.0
            })
            .collect()
    }

    /// The fast path against the scalar reference, at head sizes that are and are not multiples of the
    /// lanes, over 300 keys in rows of three heads (the head read is the middle one): the same floats,
    /// bit for bit, since both add the same products in the same order.
    #[test]
    fn attention_scores_and_mix_equal_the_scalar_loops_bit_for_bit() {
        for hd in [64, 48, 20, 7, 100] {
            let (n, stride, offset) = (300, 3 * hd, hd);
            let q = values(hd, 1);
            let keys = values(n * stride, 2);
            let vals = values(n * stride, 3);
            let mut fast = vec![0.0; n];
            let mut slow = vec![0.0; n];
            scores(&q, &keys, stride, offset, 0.125, &mut fast);
            scalar::scores(&q, &keys, stride, offset, 0.125, &mut slow);
            assert_eq!(fast, slow, "scores, head of {hd}");
            let p = values(n, 4).into_iter().map(f32::abs).collect::<Vec<_>>();
            let start = values(hd, 5);
            let (mut fast, mut slow) = (start.clone(), start.clone());
            mix(&p, &vals, stride, offset, &mut fast);
            scalar::mix(&p, &vals, stride, offset, &mut slow);
            assert_eq!(fast, slow, "mix, head of {hd}");
        }
    }
}
