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
