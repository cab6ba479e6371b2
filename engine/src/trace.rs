//! What the app draws: attention probabilities per layer and head, and the next-token distribution.
//! Tracing is opt-in per forward pass; when off, nothing is recorded or allocated.

use serde::{Deserialize, Serialize};

pub mod book;

pub use book::{AttentionBook, HeadMatrix, HeadPick, Thumbnails};

/// Attention probabilities of the `n_query` tokens of one forward pass (positions `first..first + n_query`)
/// over every key position they can see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionTrace {
    /// Layers.
    pub n_layer: usize,
    /// Query heads.
    pub n_head: usize,
    /// Position of the first query token.
    pub first: usize,
    /// Query tokens in this pass.
    pub n_query: usize,
    /// `(n_layer, n_head, n_query, first + n_query)`; entries a query cannot see (the future) are 0.
    pub probs: Vec<f32>,
}

impl AttentionTrace {
    /// An all-zero trace for a pass of `n_query` tokens starting at position `first`.
    pub fn new(n_layer: usize, n_head: usize, first: usize, n_query: usize) -> Self {
        Self { n_layer, n_head, first, n_query, probs: vec![0.0; n_layer * n_head * n_query * (first + n_query)] }
    }

    /// Number of key positions in each row.
    pub fn n_key(&self) -> usize {
        self.first + self.n_query
    }

    /// The probabilities of query `q` (0-based within the pass) of `head` in `layer`, over all keys.
    pub fn row(&self, layer: usize, head: usize, q: usize) -> &[f32] {
        let n_key = self.n_key();
        let at = ((layer * self.n_head + head) * self.n_query + q) * n_key;
        &self.probs[at..at + n_key]
    }

    pub(crate) fn record(&mut self, layer: usize, head: usize, q: usize, probs: &[f32]) {
        let n_key = self.n_key();
        let at = ((layer * self.n_head + head) * self.n_query + q) * n_key;
        self.probs[at..at + probs.len()].copy_from_slice(probs);
    }
}

/// One candidate next token.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Token id.
    pub id: u32,
    /// Raw logit.
    pub logit: f32,
    /// Probability after softmax at temperature 1.
    pub prob: f32,
}

/// The next-token distribution at one position, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// The `k` most likely tokens, best first.
    pub top: Vec<Candidate>,
    /// Shannon entropy in nats.
    pub entropy: f32,
}

impl Distribution {
    /// Summarises `logits` (one row) into its top `k` and entropy.
    pub fn from_logits(logits: &[f32], k: usize) -> Self {
        let (log_z, entropy) = log_z_and_entropy(logits);
        Self::with_log_z(logits, k, log_z, entropy)
    }

    /// [`Distribution::from_logits`] for a caller that already has `(log_z, entropy)` from
    /// [`log_z_and_entropy`].
    pub fn with_log_z(logits: &[f32], k: usize, log_z: f32, entropy: f32) -> Self {
        let top = top_k(logits, k)
            .into_iter()
            .map(|(id, logit)| Candidate { id, logit, prob: (logit - log_z).exp() })
            .collect();
        Self { top, entropy }
    }
}

/// Lanes of the reductions over a vocabulary: eight independent sums, which the compiler turns into
/// vector instructions (AVX2 natively, two 128-bit registers in wasm) — with a scalar `exp` call per
/// logit, one row of 49,152 logits took 0.39 ms in wasm, longer than the rest of a token's sampling.
const LANES: usize = 8;

/// Below this, `exp` is taken as `exp(-86)` (about 4e-38): nothing a sum that holds `exp(0) = 1` can
/// see, and it keeps the result a normal float.
const EXP_FLOOR: f32 = -86.0;

/// `e^x` for `x ≤ 0` (clamped to [`EXP_FLOOR`]), within 1e-7 relative of the exact value: `x = n·ln 2 + r`
/// with `|r| ≤ ln 2 / 2`, a degree-7 polynomial for `e^r` (Cephes' `expf` coefficients), and `n` added
/// to the exponent's bits. Plain arithmetic on floats and integers, so a loop over it vectorizes.
#[inline(always)]
pub(crate) fn exp_le0(x: f32) -> f32 {
    // 1.5 · 2^23: adding it rounds to an integer held in the low bits of the mantissa.
    const ROUND: f32 = 12_582_912.0;
    let x = x.max(EXP_FLOOR);
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    // ln 2 in two parts, the first exact in few bits, so that n · ln 2 loses nothing.
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1)
        * r
        + 0.5;
    let p = p * r * r + r + 1.0;
    let n = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    f32::from_bits((p.to_bits() as i32).wrapping_add(n << 23) as u32)
}

/// The largest value (NaNs ignored; `-∞` for an empty row).
fn lane_max(row: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (m, &v) in lanes.iter_mut().zip(chunk) {
            if v > *m {
                *m = v;
            }
        }
    }
    tail.iter().chain(&lanes).fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// `(Σ e^d, Σ e^d · d)` over `d = max(l − max, EXP_FLOOR)`, in [`LANES`] lanes.
fn exp_sums(row: &[f32], max: f32, with_d: bool) -> (f32, f32) {
    let (mut s, mut t) = ([0.0f32; LANES], [0.0f32; LANES]);
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for i in 0..LANES {
            let d = (chunk[i] - max).max(EXP_FLOOR);
            let e = exp_le0(d);
            s[i] += e;
            if with_d {
                t[i] += e * d;
            }
        }
    }
    for &l in tail {
        let d = (l - max).max(EXP_FLOOR);
        let e = exp_le0(d);
        s[0] += e;
        t[0] += e * d;
    }
    (s.iter().sum(), t.iter().sum())
}

/// `ln Σ exp(logits)`, computed stably: `softmax(logits)[i] = exp(logits[i] − log_sum_exp(logits))`.
pub fn log_sum_exp(logits: &[f32]) -> f32 {
    let max = lane_max(logits);
    if max == f32::NEG_INFINITY {
        return max;
    }
    exp_sums(logits, max, false).0.ln() + max
}

/// `(ln Σ exp(logits), entropy of softmax(logits) in nats)` in one pass over the exponentials: with `m`
/// the largest logit, `s = Σ e^(l−m)` and `t = Σ e^(l−m)·(l−m)`, `ln Z = m + ln s` and `H = ln s − t/s`.
/// `ln Z` is [`log_sum_exp`]'s, bit for bit.
pub fn log_z_and_entropy(logits: &[f32]) -> (f32, f32) {
    let max = lane_max(logits);
    if max == f32::NEG_INFINITY {
        return (max, 0.0);
    }
    let (s, t) = exp_sums(logits, max, true);
    (s.ln() + max, (s.ln() - t / s).max(0.0))
}

/// The `k` largest logits with their ids, best first (ties: lower id first).
pub fn top_k(logits: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
    for (id, &l) in logits.iter().enumerate() {
        if best.len() == k && best.last().is_some_and(|&(_, worst)| l <= worst) {
            continue;
        }
        let at = best.partition_point(|&(_, b)| b >= l);
        best.insert(at, (id as u32, l));
        best.truncate(k);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row of `n` logits spread over `±spread`, from a fixed seed.
    fn row(n: usize, spread: f32, seed: u64) -> Vec<f32> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                ((x >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * spread
            })
            .collect()
    }

    #[test]
    fn exp_le0_is_within_2e7_relative_of_float64_exp_down_to_minus_86() {
        let mut worst = 0.0f64;
        let mut x = -86.0f32;
        while x <= 0.0 {
            let exact = f64::from(x).exp();
            worst = worst.max(((f64::from(exp_le0(x)) - exact) / exact).abs());
            x += 1.7e-4;
        }
        assert_eq!(exp_le0(0.0), 1.0);
        assert!(worst <= 2e-7, "worst relative error {worst:e}");
        // Below the floor, and minus infinity (a logit a sampler ruled out): tiny, finite, not NaN.
        assert_eq!(exp_le0(-1000.0), exp_le0(EXP_FLOOR));
        assert_eq!(exp_le0(f32::NEG_INFINITY), exp_le0(EXP_FLOOR));
    }

    #[test]
    fn log_z_and_entropy_match_a_float64_softmax_on_rows_of_every_length() {
        // A vocabulary's size (not a multiple of the lanes), a row sharper than any model's, a short one.
        for (n, spread, seed) in [(49_157, 12.0, 1), (49_152, 40.0, 2), (5, 3.0, 3), (1, 1.0, 4)] {
            let mut logits = row(n, spread, seed);
            if n > 10 {
                logits[n / 3] = f32::NEG_INFINITY;
            }
            let max = logits.iter().copied().fold(f64::NEG_INFINITY, |m, l| m.max(f64::from(l)));
            let z: f64 = logits.iter().map(|&l| (f64::from(l) - max).exp()).sum();
            let log_z = max + z.ln();
            let entropy: f64 = -logits
                .iter()
                .map(|&l| (f64::from(l) - log_z, (f64::from(l) - log_z).exp()))
                .filter(|&(_, p)| p > 0.0)
                .map(|(lp, p)| p * lp)
                .sum::<f64>();
            let (got_z, got_h) = log_z_and_entropy(&logits);
            assert!((f64::from(got_z) - log_z).abs() <= 1e-6 * log_z.abs().max(1.0), "n {n}: ln Z {got_z} vs {log_z}");
            assert!((f64::from(got_h) - entropy).abs() <= 1e-5 * entropy.max(1.0), "n {n}: H {got_h} vs {entropy}");
            assert_eq!(got_z.to_bits(), log_sum_exp(&logits).to_bits(), "one ln Z for both");
            let d = Distribution::from_logits(&logits, 3);
            let p0 = (f64::from(d.top[0].logit) - log_z).exp();
            assert!((f64::from(d.top[0].prob) - p0).abs() <= 1e-6, "n {n}: top probability");
        }
        assert_eq!(log_z_and_entropy(&[]), (f32::NEG_INFINITY, 0.0));
    }
}
