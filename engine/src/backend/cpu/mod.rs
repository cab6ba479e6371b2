//! The CPU backend: reference kernels for the forward pass. `matmul` works on the weights' blocks
//! directly, in one of two precisions (see [`Precision`]); the SIMD paths (AVX2 natively, simd128 in wasm)
//! are checked against the scalar ones in tests.

pub mod attention;
mod int8;
#[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
pub mod pool;
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
pub mod web_threads;

use crate::model::QMatrix;
use crate::quant::{dequantize, QK};

pub use int8::{
    f16_to_f32, matmul as int8_matmul, quantize_row_q8, row_dot, row_dot_tile, row_dots, scalar_row_dot, Q8Row, RowDot,
    RowDotTile, TILE,
};

/// Threads the engine's products are split over that are running, the caller included (a helper that
/// never started is not counted): 1 in a wasm build without threads.
pub fn running_threads() -> usize {
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
    return pool::shared().running();
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    1
}

/// How activations meet quantized weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Precision {
    /// f32 activations against dequantized weights: the reference every other path is tested against.
    Exact,
    /// Activations quantized to 8 bits per 32-value block, integer dot products (as llama.cpp does).
    #[default]
    Int8,
}

/// `out[t][r] = Σ_c w[r][c] · x[t][c]` for `t` in `0..n_tokens`.
///
/// `x`: `(n_tokens, w.cols)`, `out`: `(n_tokens, w.rows)`. Each weight row is read once for all tokens.
pub fn matmul(w: &QMatrix, x: &[f32], n_tokens: usize, out: &mut [f32], precision: Precision) {
    debug_assert_eq!(x.len(), n_tokens * w.cols);
    debug_assert_eq!(out.len(), n_tokens * w.rows);
    let int8 = precision == Precision::Int8 && int8::supports(w.ty);
    if int8 {
        let acts: Vec<Q8Row> = x.chunks_exact(w.cols).map(quantize_row_q8).collect();
        int8::matmul(w, &acts, out, row_dot(w.ty), row_dot_tile(w.ty));
    } else {
        by_row_chunks(w.rows, w.cols, n_tokens, out, |rows, part| {
            let (start, len) = (rows.start, rows.len());
            let mut dense = vec![0.0f32; w.cols];
            for r in rows {
                // The row is validated at load, so dequantizing it cannot fail.
                if dequantize(w.ty, w.row(r), &mut dense).is_err() {
                    unreachable!("weight row sizes are checked when the model loads");
                }
                for (t, xt) in x.chunks_exact(w.cols).enumerate() {
                    part[t * len + r - start] = dot_f32(&dense, xt);
                }
            }
        });
    }
}

/// Several products of the same activations `x` (a layer's query, key and value; its gate and up), each
/// `(w, out)` as [`matmul`] would compute it, to the bit; on the 8-bit path the activations are rounded
/// once and every matrix's row chunks are handed to the engine's threads in one go: one wait for the
/// threads instead of one per matrix that is worth sharing, and matrices too small to share alone (the
/// default model's keys and values) are shared with the others.
pub fn matmuls(products: &mut [(&QMatrix, &mut [f32])], x: &[f32], n_tokens: usize, precision: Precision) {
    let Some(cols) = products.first().map(|(w, _)| w.cols) else { return };
    let int8 = precision == Precision::Int8 && products.iter().all(|(w, _)| int8::supports(w.ty) && w.cols == cols);
    if !int8 {
        for (w, out) in products.iter_mut() {
            matmul(w, x, n_tokens, out, precision);
        }
        return;
    }
    debug_assert_eq!(x.len(), n_tokens * cols);
    let acts: Vec<Q8Row> = x.chunks_exact(cols).map(quantize_row_q8).collect();
    let rows: Vec<usize> = products.iter().map(|(w, _)| w.rows).collect();
    let weights: Vec<&QMatrix> = products.iter().map(|(w, _)| *w).collect();
    let mut outs: Vec<&mut [f32]> = products.iter_mut().map(|(_, out)| &mut **out).collect();
    by_row_chunks_many(&rows, cols, n_tokens, &mut outs, |m, range, part| {
        int8::matmul_part(weights[m], &acts, range, part);
    });
}

/// [`by_row_chunks`] for several outputs of `rows[m]` rows each: every output's chunks in one hand-out
/// to the threads; `fill(m, range, part)` writes output `m`'s rows `range`.
fn by_row_chunks_many(
    rows: &[usize],
    cols: usize,
    n_tokens: usize,
    outs: &mut [&mut [f32]],
    fill: impl Fn(usize, std::ops::Range<usize>, &mut [f32]) + Sync,
) {
    for (m, out) in outs.iter().enumerate() {
        assert_eq!(out.len(), rows[m] * n_tokens, "output {m} holds one value per row and token");
    }
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
    {
        let work = rows.iter().sum::<usize>() * cols * n_tokens;
        let split = pool::with_current(|pool| {
            let threads = pool.threads();
            if !(threads > 1 && rows.iter().all(|&r| r >= 2 * threads) && work >= MIN_WORK_PER_SPLIT) {
                return false;
            }
            // As in `by_row_chunks`: two chunks per thread and output, a multiple of 8 rows each; one token's
            // values in place, several tokens' in scratch buffers copied into the outputs after.
            let chunks: Vec<usize> = rows.iter().map(|r| r.div_ceil(2 * threads).next_multiple_of(8)).collect();
            let mut scratch: Vec<Vec<f32>> =
                if n_tokens == 1 { Vec::new() } else { rows.iter().map(|r| vec![0.0; r * n_tokens]).collect() };
            {
                let targets: Vec<&mut [f32]> = if n_tokens == 1 {
                    outs.iter_mut().map(|o| &mut **o).collect()
                } else {
                    scratch.iter_mut().map(Vec::as_mut_slice).collect()
                };
                let mut parts = Vec::new();
                for (m, target) in targets.into_iter().enumerate() {
                    for (i, part) in target.chunks_mut(chunks[m] * n_tokens).enumerate() {
                        let first = i * chunks[m];
                        parts.push(std::sync::Mutex::new((m, first..(first + chunks[m]).min(rows[m]), part)));
                    }
                }
                pool.for_each(parts.len(), &|i| {
                    let mut job = parts[i].lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    let (m, range) = (job.0, job.1.clone());
                    fill(m, range, job.2)
                });
            }
            for (m, values) in scratch.iter().enumerate() {
                for (i, part) in values.chunks(chunks[m] * n_tokens).enumerate() {
                    let (start, len) = (i * chunks[m], part.len() / n_tokens);
                    for (t, row) in part.chunks_exact(len).enumerate() {
                        outs[m][t * rows[m] + start..t * rows[m] + start + len].copy_from_slice(row);
                    }
                }
            }
            true
        });
        if split {
            return;
        }
    }
    for (m, out) in outs.iter_mut().enumerate() {
        by_row_chunks(rows[m], cols, n_tokens, out, |range, part| fill(m, range, part));
    }
}

/// Fewer multiply-adds than this in one product are not worth sharing with other threads (about
/// 15 µs of work on one core).
#[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
const MIN_WORK_PER_SPLIT: usize = 1 << 18;

/// Fills `out` (`(n_tokens, rows)`, token-major) by calling `fill(range, part)` on chunks of the weight
/// rows, where `fill` writes `part[t * range.len() + r - range.start]`.
///
/// When the product (`rows · cols · n_tokens` multiply-adds) is large enough, the chunks run on the
/// engine's threads ([`pool`]: natively `glassbox --threads`, every core by default; in the browser the
/// web workers of a build with wasm threads), the calling thread among them. On one thread, or for a
/// small product, `fill` gets every row at once and writes `out` itself. Each value is computed by the same code whatever the split, so
/// the result does not depend on the number of threads.
pub fn by_row_chunks(
    rows: usize,
    cols: usize,
    n_tokens: usize,
    out: &mut [f32],
    fill: impl Fn(std::ops::Range<usize>, &mut [f32]) + Sync,
) {
    assert_eq!(out.len(), rows * n_tokens, "the output holds one value per row and token");
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
    {
        let split = pool::with_current(|pool| {
            let threads = pool.threads();
            if !(threads > 1 && rows >= 2 * threads && rows * cols * n_tokens >= MIN_WORK_PER_SPLIT) {
                return false;
            }
            // Two chunks per thread, so that a thread slowed by the rest of the machine holds up
            // less; a multiple of 8 rows, so that the kernels' row tiles are never cut.
            let chunk = rows.div_ceil(2 * threads).next_multiple_of(8);
            // Each chunk's values, token-major within it: in place for one token, else in a scratch
            // buffer laid out chunk after chunk and copied into `out` after.
            let mut scratch = Vec::new();
            let target: &mut [f32] = if n_tokens == 1 {
                &mut *out
            } else {
                scratch.resize(rows * n_tokens, 0.0);
                &mut scratch
            };
            let parts: Vec<std::sync::Mutex<&mut [f32]>> =
                target.chunks_mut(chunk * n_tokens).map(std::sync::Mutex::new).collect();
            pool.for_each(parts.len(), &|i| {
                let mut part = parts[i].lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                fill(i * chunk..(i * chunk + chunk).min(rows), &mut part)
            });
            drop(parts);
            for (i, part) in scratch.chunks(chunk * n_tokens).enumerate() {
                let start = i * chunk;
                let len = part.len() / n_tokens;
                for (t, values) in part.chunks_exact(len).enumerate() {
                    out[t * rows + start..t * rows + start + len].copy_from_slice(values);
                }
            }
            true
        });
        if split {
            return;
        }
    }
    let _ = (cols, n_tokens);
    fill(0..rows, out);
}

/// `(0..count).map(f)`, the items shared by the engine's threads when there are enough of them and
/// `work` (about one unit per multiply-add, for all items) is worth it. Each item is computed by the
/// same code whatever the split, so the result does not depend on the number of threads.
pub fn map_items<T: Send>(count: usize, work: usize, f: &(dyn Fn(usize) -> T + Sync)) -> Vec<T> {
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
    {
        let shared = pool::with_current(|pool| {
            let threads = pool.threads();
            if !(threads > 1 && count >= 2 && work >= MIN_WORK_PER_SPLIT) {
                return None;
            }
            let slots: Vec<std::sync::Mutex<Option<T>>> = (0..count).map(|_| std::sync::Mutex::new(None)).collect();
            pool.for_each(count, &|i| {
                let value = f(i);
                *slots[i].lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(value);
            });
            let values: Option<Vec<T>> = (slots.into_iter())
                .map(|slot| slot.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()))
                .collect();
            values
        });
        if let Some(values) = shared {
            return values;
        }
    }
    let _ = work;
    (0..count).map(f).collect()
}

/// Σ a·b in f32, accumulated in blocks of 32 (pairwise-style, to keep rounding error small).
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut total = 0.0f32;
    for (ab, bb) in a.chunks(QK).zip(b.chunks(QK)) {
        let mut lanes = [0.0f32; 8];
        for (i, (x, y)) in ab.iter().zip(bb).enumerate() {
            lanes[i % 8] += x * y;
        }
        total += lanes.iter().sum::<f32>();
    }
    total
}

/// `out = x / rms(x) · gain`, row by row; `x` and `out` are `(n, gain.len())`.
pub fn rms_norm(x: &[f32], gain: &[f32], eps: f32, out: &mut [f32]) {
    for (xr, or) in x.chunks_exact(gain.len()).zip(out.chunks_exact_mut(gain.len())) {
        let mean_sq = xr.iter().map(|v| v * v).sum::<f32>() / gain.len() as f32;
        let scale = 1.0 / (mean_sq + eps).sqrt();
        for ((o, v), g) in or.iter_mut().zip(xr).zip(gain) {
            *o = v * scale * g;
        }
    }
}

/// Rotates adjacent pairs `(x[2i], x[2i+1])` of each head by `pos · freqs[i]` (the first
/// `2 · freqs.len()` dimensions; see `Config::rope_freqs`). `x` is one token's `(n_heads, head_dim)`.
pub fn rope(x: &mut [f32], head_dim: usize, freqs: &[f32], pos: usize) {
    // The angle depends on the pair, not the head: compute each once, rotate every head with it.
    for (i, &freq) in freqs.iter().enumerate() {
        let (sin, cos) = (pos as f32 * freq).sin_cos();
        for head in x.chunks_exact_mut(head_dim) {
            let (a, b) = (head[2 * i], head[2 * i + 1]);
            head[2 * i] = a * cos - b * sin;
            head[2 * i + 1] = a * sin + b * cos;
        }
    }
}

/// The rotation frequency of pair `i`: `θ^(-2i / rope_dim)` (radians per position), before any factor. The GPU's angle
/// table uses it too, so both backends rotate by the same f32 angles.
pub fn rope_freq(i: usize, rope_dim: usize, theta: f32) -> f32 {
    theta.powf(-2.0 * i as f32 / rope_dim as f32)
}

/// In-place softmax.
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in x.iter_mut() {
        *v /= sum;
    }
}

/// GeGLU's activation (Gemma's): `gate = gelu(gate) · up`, in place, with GELU's tanh form
/// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` as llama.cpp computes it.
pub fn geglu(gate: &mut [f32], up: &[f32]) {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    for (g, u) in gate.iter_mut().zip(up) {
        let x = *g;
        *g = 0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x)).tanh()) * u;
    }
}

/// SwiGLU's activation: `gate = silu(gate) · up`, in place.
pub fn swiglu(gate: &mut [f32], up: &[f32]) {
    for (g, u) in gate.iter_mut().zip(up) {
        *g = *g / (1.0 + (-*g).exp()) * u;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pool::{install, Pool};

    /// A `rows × cols` matrix of random blocks of `ty`, its f16 constants small and finite.
    fn random_matrix(ty: crate::quant::GgmlType, rows: usize, cols: usize, seed: u32) -> QMatrix {
        let mut state = seed.wrapping_mul(2_654_435_761) | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let mut bytes = vec![0u8; rows * cols / ty.block_size() * ty.block_bytes()];
        bytes.iter_mut().for_each(|b| *b = next() as u8);
        for block in bytes.chunks_exact_mut(ty.block_bytes()) {
            for &at in ty.halves() {
                let scale = half::f16::from_f32((next() % 1000) as f32 / 40_000.0 - 0.0125);
                block[at..at + 2].copy_from_slice(&scale.to_bits().to_le_bytes());
            }
        }
        QMatrix::from_bytes(ty, rows, cols, bytes).expect("matrix")
    }

    /// A layer's query, key and value (and a format that differs), one token and several, on one thread
    /// and three: each output the bits `matmul` gives alone.
    #[test]
    fn products_of_the_same_activations_together_equal_each_alone_bit_for_bit() {
        use crate::quant::GgmlType;
        let cols = 1024; // enough work for one token to be shared
        let mats = [
            random_matrix(GgmlType::Q4_1, 256, cols, 1),
            random_matrix(GgmlType::Q8_0, 64, cols, 2),
            random_matrix(GgmlType::Q4_K, 64, cols, 3),
        ];
        for n in [1, 5] {
            let x: Vec<f32> = (0..n * cols).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect();
            let alone: Vec<Vec<f32>> = mats
                .iter()
                .map(|w| {
                    let mut out = vec![0.0; n * w.rows];
                    matmul(w, &x, n, &mut out, Precision::Int8);
                    out
                })
                .collect();
            for threads in [1, 3] {
                let together = install(&Pool::new(threads), || {
                    let mut outs: Vec<Vec<f32>> = mats.iter().map(|w| vec![f32::NAN; n * w.rows]).collect();
                    let [a, b, c] = &mut outs[..] else { unreachable!() };
                    let products =
                        &mut [(&mats[0], a.as_mut_slice()), (&mats[1], b.as_mut_slice()), (&mats[2], c.as_mut_slice())];
                    matmuls(products, &x, n, Precision::Int8);
                    outs
                });
                assert_eq!(together, alone, "{n} token(s), {threads} thread(s)");
            }
        }
    }

    #[test]
    fn map_items_shared_by_threads_gives_each_item_once_in_order() {
        let seen = std::sync::atomic::AtomicUsize::new(0);
        let square = |i: usize| {
            seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            vec![i * i; i % 3]
        };
        for (count, work) in [(57, 1 << 24), (1, 1 << 24), (0, 1 << 24), (40, 10)] {
            seen.store(0, std::sync::atomic::Ordering::Relaxed);
            let got = install(&Pool::new(3), || map_items(count, work, &square));
            let want: Vec<Vec<usize>> = (0..count).map(|i| vec![i * i; i % 3]).collect();
            assert_eq!(got, want, "{count} items, work {work}");
            assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), count, "each item computed once");
        }
    }
}
