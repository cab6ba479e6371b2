//! Attention's two inner loops over the keys a query sees: its scores (one dot product per key) and
//! the weighted sum of the values. At a long context these, not the weights, are most of a token's
//! cost, so they have SIMD paths like the integer dot products: AVX2 + FMA natively (chosen at run
//! time), simd128 in wasm, and the scalar reference the tests hold them to.
//!
//! Rows are `head_dim` floats starting at `offset` in a row of `stride` floats (one position's keys or
//! values for every KV head).

/// `scores[j] = scale · q · keys[j]` for every key row `j` (as many as `scores` holds).
pub fn scores(q: &[f32], keys: &[f32], stride: usize, offset: usize, scale: f32, scores: &mut [f32]) {
    debug_assert!(scores.is_empty() || keys.len() >= (scores.len() - 1) * stride + offset + q.len());
    #[cfg(target_arch = "x86_64")]
    {
        if avx2::available() {
            // SAFETY: AVX2 and FMA were detected just above.
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
            // SAFETY: AVX2 and FMA were detected just above.
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
    //! The reference: plain loops in f32.

    pub fn scores(q: &[f32], keys: &[f32], stride: usize, offset: usize, scale: f32, scores: &mut [f32]) {
        for (j, s) in scores.iter_mut().enumerate() {
            let k = &keys[j * stride + offset..][..q.len()];
            *s = q.iter().zip(k).map(|(a, b)| a * b).sum::<f32>() * scale;
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
    //! 8 lanes per instruction, products fused into the sums.

    use std::arch::x86_64::*;

    pub fn available() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)))
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn scores(q: &[f32], keys: &[f32], stride: usize, offset: usize, scale: f32, scores: &mut [f32]) {
        let hd = q.len();
        let whole = hd / 8 * 8;
        for (j, s) in scores.iter_mut().enumerate() {
            let k = &keys[j * stride + offset..][..hd];
            let (mut a0, mut a1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let mut i = 0;
            // SAFETY: every load reads 8 floats at `i < whole ≤ hd` of `q` and `k`, both `hd` long.
            unsafe {
                while i + 16 <= whole {
                    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q.as_ptr().add(i)), _mm256_loadu_ps(k.as_ptr().add(i)), a0);
                    a1 = _mm256_fmadd_ps(
                        _mm256_loadu_ps(q.as_ptr().add(i + 8)),
                        _mm256_loadu_ps(k.as_ptr().add(i + 8)),
                        a1,
                    );
                    i += 16;
                }
                if i < whole {
                    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q.as_ptr().add(i)), _mm256_loadu_ps(k.as_ptr().add(i)), a0);
                    i += 8;
                }
            }
            let mut total = hsum(_mm256_add_ps(a0, a1));
            for t in i..hd {
                total += q[t] * k[t];
            }
            *s = total * scale;
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn mix(p: &[f32], values: &[f32], stride: usize, offset: usize, out: &mut [f32]) {
        let hd = out.len();
        let whole = hd / 8 * 8;
        // Four registers of the output at a time, kept across every value row.
        let mut c = 0;
        while c < whole {
            let width = (whole - c).min(32);
            let n = width / 8;
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
                        *a = _mm256_fmadd_ps(pv, _mm256_loadu_ps(v.add(8 * r)), *a);
                    }
                }
                for (r, a) in acc.iter().enumerate().take(n) {
                    _mm256_storeu_ps(out.as_mut_ptr().add(c + 8 * r), *a);
                }
            }
            c += width;
        }
        if whole < hd {
            for (j, &pj) in p.iter().enumerate() {
                let v = &values[j * stride + offset..][..hd];
                for t in whole..hd {
                    out[t] += pj * v[t];
                }
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    //! 4 lanes per instruction (wasm has no fused multiply-add outside relaxed SIMD).

    use std::arch::wasm32::*;

    #[inline]
    fn load(x: &[f32], at: usize) -> v128 {
        assert!(at + 4 <= x.len());
        // SAFETY: 4 readable floats at `at`, checked above; v128_load has no alignment requirement.
        unsafe { v128_load(x.as_ptr().add(at) as *const v128) }
    }

    pub fn scores(q: &[f32], keys: &[f32], stride: usize, offset: usize, scale: f32, scores: &mut [f32]) {
        let hd = q.len();
        let whole = hd / 4 * 4;
        for (j, s) in scores.iter_mut().enumerate() {
            let k = &keys[j * stride + offset..][..hd];
            let (mut a0, mut a1) = (f32x4_splat(0.0), f32x4_splat(0.0));
            let mut i = 0;
            while i + 8 <= whole {
                a0 = f32x4_add(a0, f32x4_mul(load(q, i), load(k, i)));
                a1 = f32x4_add(a1, f32x4_mul(load(q, i + 4), load(k, i + 4)));
                i += 8;
            }
            if i < whole {
                a0 = f32x4_add(a0, f32x4_mul(load(q, i), load(k, i)));
                i += 4;
            }
            let a = f32x4_add(a0, a1);
            let mut total = f32x4_extract_lane::<0>(a)
                + f32x4_extract_lane::<1>(a)
                + f32x4_extract_lane::<2>(a)
                + f32x4_extract_lane::<3>(a);
            for t in i..hd {
                total += q[t] * k[t];
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

    /// The fast paths against the scalar reference, at head sizes that are and are not multiples of the
    /// lanes, over 300 keys in rows of three heads (the head read is the middle one): each result within
    /// 1e-6 of the sum of its terms' magnitudes (summation order and fused multiply-adds differ).
    #[test]
    fn attention_scores_and_mix_match_the_scalar_loops() {
        for hd in [64, 48, 20, 7, 100] {
            let (n, stride, offset) = (300, 3 * hd, hd);
            let q = values(hd, 1);
            let keys = values(n * stride, 2);
            let vals = values(n * stride, 3);
            let mut fast = vec![0.0; n];
            let mut slow = vec![0.0; n];
            scores(&q, &keys, stride, offset, 0.125, &mut fast);
            scalar::scores(&q, &keys, stride, offset, 0.125, &mut slow);
            for j in 0..n {
                let mag: f32 = q.iter().zip(&keys[j * stride + offset..][..hd]).map(|(a, b)| (a * b).abs()).sum();
                assert!((fast[j] - slow[j]).abs() <= 1e-6 * mag * 0.125 + 1e-7, "hd {hd}, key {j}");
            }
            let p = values(n, 4).into_iter().map(f32::abs).collect::<Vec<_>>();
            let start = values(hd, 5);
            let (mut fast, mut slow) = (start.clone(), start.clone());
            mix(&p, &vals, stride, offset, &mut fast);
            scalar::mix(&p, &vals, stride, offset, &mut slow);
            for t in 0..hd {
                let mag: f32 =
                    start[t].abs() + (0..n).map(|j| (p[j] * vals[j * stride + offset + t]).abs()).sum::<f32>();
                assert!((fast[t] - slow[t]).abs() <= 1e-6 * mag, "hd {hd}, dim {t}: {} vs {}", fast[t], slow[t]);
            }
        }
    }
}
