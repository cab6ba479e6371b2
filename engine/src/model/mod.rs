//! A llama-family transformer on the CPU backend. `forward` reads top to bottom like the architecture:
//! embed → n_layer × (x += attention(rms_norm(x)); x += ffn(rms_norm(x))) → rms_norm → output head.

mod card;
pub(crate) mod config;
mod kv_cache;
mod weights;

pub use card::{FormatShare, ModelCard};
pub use config::Config;
pub use kv_cache::KvCache;
pub use weights::{load_vector, FileBytes, Layer, QMatrix, Weights};

use crate::backend::cpu::{self, matmul, rms_norm, rope, softmax, swiglu, Precision};
use crate::error::{EngineError, Result};
use crate::gguf::Gguf;
use crate::trace::AttentionTrace;

/// Most attention probabilities one traced pass records (64 MiB of f32). A prompt whose full
/// query × key matrices would exceed it keeps the rows of its last tokens.
pub const MAX_TRACE_VALUES: usize = 1 << 24;

/// Nanoseconds this process has spent attending over KV caches (scores, softmax and the weighted sum
/// of every head, not the projections): what grows with the context. Read by `glassbox converse` to
/// tell attention's own growth from everything else a token costs. Natively only (wasm has no clock
/// in std); two clock reads per layer and pass cost well under a microsecond per token.
#[cfg(not(target_arch = "wasm32"))]
static ATTENTION_NANOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The time this process has spent attending over KV caches so far (see [`ATTENTION_NANOS`]).
#[cfg(not(target_arch = "wasm32"))]
pub fn attention_time() -> std::time::Duration {
    std::time::Duration::from_nanos(ATTENTION_NANOS.load(std::sync::atomic::Ordering::Relaxed))
}

/// Which positions of a forward pass need logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogitsFor {
    /// Only the last token's (generation).
    Last,
    /// Every token's (teacher-forced scoring).
    All,
}

/// What one forward pass returns.
#[derive(Debug, Clone)]
pub struct ForwardOutput {
    /// `(n, n_vocab)`: one row per requested position.
    pub logits: Vec<f32>,
    /// Attention probabilities of this pass's tokens, when asked for.
    pub attention: Option<AttentionTrace>,
}

/// A loaded model: its shape and weights, and the precision its matrix products run at.
#[derive(Debug, Clone)]
pub struct Model {
    /// Hyper-parameters.
    pub config: Config,
    /// Tensors.
    pub weights: Weights,
    /// Exact (f32 activations) or 8-bit activations.
    pub precision: Precision,
}

impl Model {
    /// Reads a llama-family model from a whole GGUF file (parsed into `gguf`); the weights stay in `file`.
    pub fn load(gguf: &Gguf, file: &FileBytes, precision: Precision) -> Result<Self> {
        let mut config = Config::from_gguf(gguf)?;
        if gguf.tensor("rope_freqs.weight").is_ok() {
            let factors = load_vector(gguf, file, "rope_freqs.weight", config.rope_dim / 2)?;
            if factors.iter().any(|f| !(f.is_finite() && *f > 0.0)) {
                return Err(EngineError::BadTensorShape {
                    name: "rope_freqs.weight".into(),
                    reason: "RoPE frequency factors must be positive".into(),
                });
            }
            config.rope_freqs = config::rope_freqs(config.rope_dim, config.rope_theta, Some(&factors));
        }
        let weights = Weights::load(gguf, file, &config)?;
        Ok(Self { config, weights, precision })
    }

    /// An empty KV cache for this model that will hold up to `max_tokens` positions.
    pub fn new_cache(&self, max_tokens: usize) -> KvCache {
        KvCache::new(&self.config, max_tokens.min(self.config.n_ctx))
    }

    /// Runs `tokens` (at positions `cache.len()..`) through the model, appending their keys and values to
    /// `cache`. With `trace`, also returns every head's attention probabilities for these tokens (for a
    /// prompt too long for [`MAX_TRACE_VALUES`], for its last tokens only).
    pub fn forward(
        &self,
        cache: &mut KvCache,
        tokens: &[u32],
        logits_for: LogitsFor,
        trace: bool,
    ) -> Result<ForwardOutput> {
        self.forward_observed(cache, tokens, logits_for, trace, &mut |_, _| {})
    }

    /// [`Model::forward`], calling `after_block(l, x)` with the residual stream `x` `(n, n_embd)` after
    /// each block `l`: the logit lens reads the model's guess forming there, the sparse autoencoder's
    /// squeeze and steering change it (the blocks above read what the hook leaves).
    pub fn forward_observed(
        &self,
        cache: &mut KvCache,
        tokens: &[u32],
        logits_for: LogitsFor,
        trace: bool,
        after_block: &mut dyn FnMut(usize, &mut [f32]),
    ) -> Result<ForwardOutput> {
        let c = &self.config;
        let (n, d) = (tokens.len(), c.n_embd);
        let start = cache.len();
        c.check_pass(tokens, start, cache.capacity())?;

        // x: (n, n_embd), the residual stream.
        let mut x = self.embed(tokens)?;
        let n_key = start + n;
        let traced_rows = c.traced_rows(n, n_key, MAX_TRACE_VALUES);
        let traced_from = n - traced_rows; // first token (within this pass) whose attention is recorded
        let mut attention = trace.then(|| AttentionTrace::new(c.n_layer, c.n_head, start + traced_from, traced_rows));
        let mut h = vec![0.0f32; n * d]; // (n, n_embd): normalised input of each sub-layer
        for l in 0..c.n_layer {
            self.block(l, &mut x, &mut h, cache, attention.as_mut());
            after_block(l, &mut x);
        }
        cache.advance(n);

        let rows = match logits_for {
            LogitsFor::Last => &x[(n - 1) * d..],
            LogitsFor::All => &x[..],
        };
        Ok(ForwardOutput { logits: self.output_logits(rows), attention })
    }

    /// The residual stream `(n, n_embd)` after block `layer` for `tokens` read from the start (a fresh
    /// cache), the blocks above it left out.
    pub fn residual_stream(&self, tokens: &[u32], layer: usize) -> Result<Vec<f32>> {
        let c = &self.config;
        let mut cache = self.new_cache(tokens.len());
        c.check_pass(tokens, 0, cache.capacity())?;
        let mut x = self.embed(tokens)?;
        let mut h = vec![0.0f32; x.len()];
        for l in 0..=layer.min(c.n_layer - 1) {
            self.block(l, &mut x, &mut h, &mut cache, None);
        }
        Ok(x)
    }

    /// The embedding rows of `tokens` `(n, n_embd)`: the residual stream before the first block (Gemma
    /// scales them by √n_embd).
    fn embed(&self, tokens: &[u32]) -> Result<Vec<f32>> {
        let d = self.config.n_embd;
        let mut x = vec![0.0f32; tokens.len() * d];
        for (row, &id) in x.chunks_exact_mut(d).zip(tokens) {
            self.weights.token_embd.dequantize_row(id as usize, row)?;
        }
        if self.config.gemma.is_some() {
            let scale = (d as f32).sqrt();
            x.iter_mut().for_each(|v| *v *= scale);
        }
        Ok(x)
    }

    /// Block `l` on the residual stream `x` `(n, n_embd)`, in place (`h`: scratch of the same size):
    /// `x += attention(rms_norm(x)); x += ffn(rms_norm(x))`, each output normalised once more first in
    /// Gemma.
    fn block(&self, l: usize, x: &mut [f32], h: &mut [f32], cache: &mut KvCache, trace: Option<&mut AttentionTrace>) {
        let (c, layer) = (&self.config, &self.weights.layers[l]);
        let n = x.len() / c.n_embd;
        let post = |out: Vec<f32>, which: usize| match &layer.post_norms {
            Some(gains) => {
                let mut normed = vec![0.0f32; out.len()];
                rms_norm(&out, &gains[which], c.rms_eps, &mut normed);
                normed
            }
            None => out,
        };
        rms_norm(x, &layer.attn_norm, c.rms_eps, h);
        let att = post(self.attention(h, n, layer, l, cache, trace), 0);
        add_into(x, &att);
        rms_norm(x, &layer.ffn_norm, c.rms_eps, h);
        let ffn = post(self.feed_forward(h, n, layer), 1);
        add_into(x, &ffn);
    }

    /// The final norm on residual-stream rows `(n, n_embd)`: what the output head multiplies.
    pub fn final_norm(&self, rows: &[f32]) -> Vec<f32> {
        let mut normed = vec![0.0f32; rows.len()];
        rms_norm(rows, &self.weights.output_norm, self.config.rms_eps, &mut normed);
        normed
    }

    /// The output head on residual-stream rows `(n, n_embd)`: the final norm, then the output matrix;
    /// `(n, n_vocab)` logits.
    pub fn output_logits(&self, rows: &[f32]) -> Vec<f32> {
        let c = &self.config;
        let n_rows = rows.len() / c.n_embd;
        let normed = self.final_norm(rows);
        let mut logits = vec![0.0f32; n_rows * c.n_vocab];
        matmul(self.weights.output_head(), &normed, n_rows, &mut logits, self.precision);
        if let Some(cap) = c.gemma.as_ref().and_then(|g| g.final_softcap) {
            logits.iter_mut().for_each(|l| *l = cap * (*l / cap).tanh());
        }
        logits
    }

    /// Causal grouped-query self-attention of `n` new tokens (`h`: `(n, n_embd)`) over the cache and
    /// themselves. Returns `(n, n_embd)`, already through the output projection.
    fn attention(
        &self,
        h: &[f32],
        n: usize,
        layer: &Layer,
        l: usize,
        cache: &mut KvCache,
        mut trace: Option<&mut AttentionTrace>,
    ) -> Vec<f32> {
        let c = &self.config;
        let (hd, kv_dim, q_dim) = (c.head_dim, c.kv_dim(), c.n_head * c.head_dim);
        let mut q = vec![0.0f32; n * q_dim]; // (n, n_head, head_dim)
        let mut k = vec![0.0f32; n * kv_dim]; // (n, n_head_kv, head_dim)
        let mut v = vec![0.0f32; n * kv_dim]; // (n, n_head_kv, head_dim)
        cpu::matmuls(&mut [(&layer.wq, &mut q), (&layer.wk, &mut k), (&layer.wv, &mut v)], h, n, self.precision);
        if let Some([bq, bk, bv]) = &layer.qkv_bias {
            for (out, bias) in [(&mut q, bq), (&mut k, bk), (&mut v, bv)] {
                for row in out.chunks_exact_mut(bias.len()) {
                    row.iter_mut().zip(bias).for_each(|(x, b)| *x += b);
                }
            }
        }
        if let Some([gq, gk]) = &layer.qk_norm {
            // Qwen3: every query and key head RMS-normalised with its own gains, before the rotation.
            for (x, gain) in [(&mut q, gq), (&mut k, gk)] {
                let raw = x.clone();
                rms_norm(&raw, gain, c.rms_eps, x);
            }
        }
        let start = cache.len();
        let freqs = c.layer_rope_freqs(l);
        for t in 0..n {
            rope(&mut q[t * q_dim..(t + 1) * q_dim], hd, freqs, start + t);
            rope(&mut k[t * kv_dim..(t + 1) * kv_dim], hd, freqs, start + t);
        }
        cache.write(l, &k, &v);

        let (keys, values) = cache.layer(l, start + n); // each (start + n, kv_dim)
        let group = c.n_head / c.n_head_kv;
        let scale = c.attention_scale();
        let softcap = c.gemma.as_ref().and_then(|g| g.attn_softcap);
        // Each head on its own (the engine's threads share them when the work is worth it): its output
        // for every token, and the probabilities of the tokens the trace records.
        let traced_from = trace.as_deref().map(|trace| trace.first.max(start));
        let work = c.n_head * n * (start + n) * hd * 2;
        #[cfg(not(target_arch = "wasm32"))]
        let attending = std::time::Instant::now();
        let heads = cpu::map_items(c.n_head, work, &|head| {
            let kv_off = (head / group) * hd;
            let mut out = vec![0.0f32; n * hd];
            let mut probs = vec![0.0f32; start + n];
            let mut traced = Vec::new();
            for t in 0..n {
                let n_keys = start + t + 1; // causal: this token sees positions 0..=start+t
                let first = c.first_key(l, start + t); // and a sliding layer only the last `window` of them
                probs[..first].fill(0.0);
                let (keys, values) = (&keys[first * kv_dim..], &values[first * kv_dim..]);
                let qh = &q[t * q_dim + head * hd..][..hd];
                let seen = &mut probs[first..n_keys];
                cpu::attention::scores(qh, keys, kv_dim, kv_off, scale, seen);
                if let Some(cap) = softcap {
                    seen.iter_mut().for_each(|s| *s = cap * (*s / cap).tanh());
                }
                softmax(seen);
                cpu::attention::mix(seen, values, kv_dim, kv_off, &mut out[t * hd..][..hd]);
                if traced_from.is_some_and(|from| start + t >= from) {
                    traced.push(probs[..n_keys].to_vec());
                }
            }
            (out, traced)
        });
        #[cfg(not(target_arch = "wasm32"))]
        ATTENTION_NANOS.fetch_add(attending.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
        let mut out = vec![0.0f32; n * q_dim]; // (n, n_head, head_dim)
        for (head, (rows, traced)) in heads.into_iter().enumerate() {
            for (t, row) in rows.chunks_exact(hd).enumerate() {
                out[t * q_dim + head * hd..][..hd].copy_from_slice(row);
            }
            if let Some(trace) = trace.as_deref_mut() {
                let from = trace.first.max(start);
                for (i, probs) in traced.iter().enumerate() {
                    trace.record(l, head, from + i - trace.first, probs);
                }
            }
        }
        let mut projected = vec![0.0f32; n * c.n_embd];
        matmul(&layer.wo, &out, n, &mut projected, self.precision);
        projected
    }

    /// SwiGLU feed-forward: `w_down · (silu(w_gate · h) ⊙ (w_up · h))`.
    fn feed_forward(&self, h: &[f32], n: usize, layer: &Layer) -> Vec<f32> {
        let f = self.config.n_ff;
        let mut gate = vec![0.0f32; n * f]; // (n, n_ff)
        let mut up = vec![0.0f32; n * f]; // (n, n_ff)
        cpu::matmuls(&mut [(&layer.w_gate, &mut gate), (&layer.w_up, &mut up)], h, n, self.precision);
        if self.config.gemma.is_some() {
            cpu::geglu(&mut gate, &up);
        } else {
            swiglu(&mut gate, &up);
        }
        let mut out = vec![0.0f32; n * self.config.n_embd];
        matmul(&layer.w_down, &gate, n, &mut out, self.precision);
        out
    }
}

fn add_into(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}
