//! Fixtures built in code: random quantized blocks, and small random llama models as GGUF files (no
//! tokenizer: enough for `Model::load` and the GPU's upload, on any backend, natively or in the browser).

use engine::backend::gpu::{GpuModel, Input, PickParams, Readback};
use engine::gguf::GgufBuilder;
use engine::model::{LogitsFor, Model};
use engine::quant::GgmlType;
use engine::session::Session;
use half::{bf16, f16};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n_blocks` random blocks of `ty` with finite, modest constants (|scale| ≤ 0.02).
pub fn random_blocks(ty: GgmlType, n_blocks: usize, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut bytes = vec![0u8; n_blocks * ty.block_bytes()];
    rng.fill_bytes(&mut bytes);
    // Keep the f16 constants finite and modest: exponent bits from a small range.
    let scale =
        |rng: &mut ChaCha8Rng| f16::from_f32((rng.next_u32() % 1000) as f32 / 20_000.0 - 0.02).to_bits().to_le_bytes();
    for block in bytes.chunks_exact_mut(ty.block_bytes()) {
        match ty {
            GgmlType::F16 => block.copy_from_slice(&scale(&mut rng)),
            GgmlType::BF16 => {
                block.copy_from_slice(&bf16::from_f32(rng.next_u32() as f32 / 1e9 - 2.0).to_bits().to_le_bytes())
            }
            GgmlType::F32 => block.copy_from_slice(&(rng.next_u32() as f32 / 1e9 - 2.0).to_le_bytes()),
            _ => {
                for &at in ty.halves() {
                    block[at..at + 2].copy_from_slice(&scale(&mut rng));
                }
            }
        }
    }
    bytes
}

/// The sliding window of [`TinyLlama::gemma3`]'s sliding layer.
pub const GEMMA_WINDOW: usize = 5;

/// The shape and block types of a small random llama model.
#[derive(Debug, Clone)]
pub struct TinyLlama {
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub n_ff: usize,
    pub n_vocab: usize,
    pub n_ctx: usize,
    /// Types of wq, wk, wv, wo, gate, up, down.
    pub types: [GgmlType; 7],
    /// Embedding type.
    pub embd: GgmlType,
    /// `Some(type)`: a separate output head; `None`: tied to the embeddings.
    pub output: Option<GgmlType>,
    /// RoPE frequency factors (`rope_freqs.weight`, as Llama 3.1 and 3.2 files carry), one per pair.
    pub rope_factors: Option<Vec<f32>>,
    /// `general.architecture`: `llama`, `qwen2` (biases on Q, K and V; RoPE on each head's halves) or
    /// `qwen3` (each query and key head RMS-normalised before RoPE on its halves).
    pub arch: &'static str,
    /// `attention.key_length`: heads wider than `n_embd / n_head` (as Qwen3's and Gemma's are).
    pub key_length: Option<usize>,
}

impl TinyLlama {
    /// Every matrix Q4_1, output tied: the GPU's fused fast paths.
    pub fn uniform() -> Self {
        Self {
            n_layer: 2,
            n_embd: 128,
            n_head: 4,
            n_head_kv: 2,
            n_ff: 352, // 11 blocks: not a multiple of the 8 lanes
            n_vocab: 301,
            n_ctx: 512,
            types: [GgmlType::Q4_1; 7],
            embd: GgmlType::Q4_1,
            output: None,
            rope_factors: None,
            arch: "llama",
            key_length: None,
        }
    }

    /// Mixed types (Q4_0, Q8_0, F16, BF16, F32), a separate head: every repacking and the f32 fallback.
    pub fn mixed() -> Self {
        use GgmlType::*;
        Self { types: [Q4_0, Q8_0, Q4_0, Q8_0, F16, F16, Q4_0], embd: Q8_0, output: Some(BF16), ..Self::uniform() }
    }

    /// K-quants and 5-bit formats mixed per tensor as a Q4_K_M file mixes them (a fused Q, K, V of three
    /// formats; gate and up of two), rows of whole 256-value super-blocks, a separate head, and Llama 3's
    /// RoPE frequency factors (1 for the fastest pairs up to 32 for the slowest).
    pub fn k_quants() -> Self {
        use GgmlType::*;
        let pairs = 256 / 4 / 2;
        Self {
            n_embd: 256,
            n_ff: 512,
            types: [Q4_K, Q5_0, Q6_K, Q5_1, Q4_K, Q5_K, Q6_K],
            embd: Q2_K,
            output: Some(Q3_K),
            rope_factors: Some((0..pairs).map(|i| 32f32.powf(i as f32 / (pairs - 1) as f32)).collect()),
            ..Self::uniform()
        }
    }

    /// A Qwen2 model as a Qwen2.5 Q4_K_M file holds one whose width is not a whole number of super-blocks:
    /// Q5_0 and Q8_0, biases on Q, K and V, RoPE on each head's halves, the head tied to the embeddings.
    pub fn qwen2() -> Self {
        use GgmlType::*;
        Self { arch: "qwen2", types: [Q5_0, Q5_0, Q8_0, Q5_0, Q5_0, Q5_0, Q8_0], embd: Q8_0, ..Self::uniform() }
    }

    /// A Qwen3 model as Qwen3-0.6B is built, small: heads of 64 (`attention.key_length`), twice the
    /// `n_embd / n_head`, so the queries are twice as wide as the residual stream; each query and key head
    /// RMS-normalised with its own gains before RoPE on its halves; no biases; Q8_0, Q4_0 and Q5_1, the
    /// head tied to the embeddings.
    pub fn qwen3() -> Self {
        use GgmlType::*;
        Self {
            arch: "qwen3",
            key_length: Some(64),
            types: [Q8_0, Q4_0, Q8_0, Q4_0, Q5_1, Q5_1, Q8_0],
            embd: Q8_0,
            ..Self::uniform()
        }
    }

    /// A Gemma 3 model as Gemma 3 1B is built, small: heads of 64 (twice `n_embd / n_head`), query and
    /// key norms, RoPE on each head's halves, the embeddings scaled by √n_embd, norms after attention
    /// and after the feed-forward, a GELU gate; layer 0 slides over a window of 5 positions with RoPE
    /// base 10,000, layer 1 (a pattern of 2) sees everything with base 1,000,000. Q8_0, Q4_0 and Q4_1.
    pub fn gemma3() -> Self {
        use GgmlType::*;
        Self {
            arch: "gemma3",
            key_length: Some(64),
            types: [Q8_0, Q4_0, Q8_0, Q4_1, Q8_0, Q4_0, Q8_0],
            embd: Q8_0,
            ..Self::uniform()
        }
    }

    /// A Gemma 2 model as Gemma 2 2B is built, small: Gemma 3's layout without query and key norms,
    /// every other layer sliding (layer 0, over 5 positions, RoPE base 50,000 against 10,000), the
    /// attention scores soft-capped at 50 and the final logits at 30 (the default: the file is silent).
    pub fn gemma2() -> Self {
        Self { arch: "gemma2", ..Self::gemma3() }
    }

    /// The GGUF file.
    pub fn build(&self, seed: u64) -> Vec<u8> {
        self.builder(seed).build()
    }

    /// The GGUF file as llama.cpp opens it without a tokenizer: its model named `none` and the vocabulary
    /// size given (ids in, logits out).
    pub fn build_without_vocabulary(&self, seed: u64) -> Vec<u8> {
        let b = self.builder(seed).string("tokenizer.ggml.model", "none");
        b.u32(&format!("{}.vocab_size", self.arch), self.n_vocab as u32).build()
    }

    /// These shapes with every tensor in f32: products with no rounding of activations, in llama.cpp too.
    pub fn in_f32(self) -> Self {
        use GgmlType::F32;
        Self { types: [F32; 7], embd: F32, output: self.output.map(|_| F32), ..self }
    }

    /// The GGUF file with the tokenizer and chat template of `vocab`, a vocab-only GGUF whose token count
    /// must be `n_vocab` (a Zephyr-style template when it has none).
    pub fn build_with_tokenizer(&self, seed: u64, vocab: &engine::gguf::Gguf) -> Vec<u8> {
        self.build_with_tokenizer_and_template(seed, vocab, None)
    }

    /// [`Self::build_with_tokenizer`] with `template` as the chat template when given.
    pub fn build_with_tokenizer_and_template(
        &self,
        seed: u64,
        vocab: &engine::gguf::Gguf,
        template: Option<&str>,
    ) -> Vec<u8> {
        use engine::gguf::{Array, Value};
        let mut b = self.builder(seed);
        if let Some(template) = template {
            b = b.string("tokenizer.chat_template", template);
        }
        for (key, value) in &vocab.metadata {
            if !key.starts_with("tokenizer.") || (template.is_some() && key == "tokenizer.chat_template") {
                continue;
            }
            b = match value {
                Value::String(s) => b.string(key, s),
                Value::Bool(v) => b.bool(key, *v),
                Value::Uint(v) => b.u32(key, *v as u32),
                Value::Array(Array::String(strings)) => {
                    if key == "tokenizer.ggml.tokens" {
                        assert_eq!(strings.len(), self.n_vocab, "{key}: one per token");
                    }
                    b.strings(key, &strings.iter().collect::<Vec<_>>())
                }
                Value::Array(Array::F32(v)) => b.f32s(key, v),
                Value::Array(Array::I32(v)) => b.i32s(key, v),
                _ => b,
            };
        }
        if template.is_some() || vocab.metadata.contains_key("tokenizer.chat_template") {
            return b.build();
        }
        // A Zephyr-style template, as TinyLlama's chat files carry.
        let template = "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
        b.string("tokenizer.chat_template", template).build()
    }

    fn builder(&self, seed: u64) -> GgufBuilder {
        let (d, hd) = (self.n_embd, self.key_length.unwrap_or(self.n_embd / self.n_head));
        let (q_dim, kv) = (self.n_head * hd, self.n_head_kv * hd);
        let gain_seed = seed ^ 0x5eed;
        let mut seed = seed;
        let mut matrix = |b: GgufBuilder, ty: GgmlType, name: &str, rows: usize, cols: usize| {
            seed += 1;
            b.tensor(name, &[cols as u64, rows as u64], ty, random_blocks(ty, rows * cols / ty.block_size(), seed))
        };
        let mut rng = ChaCha8Rng::seed_from_u64(gain_seed);
        let mut gains =
            |n: usize| -> Vec<f32> { (0..n).map(|_| 0.5 + (rng.next_u32() % 1000) as f32 / 1000.0).collect() };
        let mut b = GgufBuilder::new()
            .string("general.architecture", self.arch)
            .u32(&format!("{}.block_count", self.arch), self.n_layer as u32)
            .u32(&format!("{}.embedding_length", self.arch), d as u32)
            .u32(&format!("{}.attention.head_count", self.arch), self.n_head as u32)
            .u32(&format!("{}.attention.head_count_kv", self.arch), self.n_head_kv as u32)
            .u32(&format!("{}.feed_forward_length", self.arch), self.n_ff as u32)
            .u32(&format!("{}.context_length", self.arch), self.n_ctx as u32)
            .f32(&format!("{}.rope.freq_base", self.arch), if self.arch == "gemma3" { 1e6 } else { 1e4 })
            .f32(&format!("{}.attention.layer_norm_rms_epsilon", self.arch), 1e-5);
        if self.arch == "gemma3" {
            // Every second layer global (real files: every sixth), so that two layers hold both kinds.
            b = b
                .u32("gemma3.attention.sliding_window", GEMMA_WINDOW as u32)
                .u32("gemma3.attention.sliding_window_pattern", 2)
                .f32("gemma3.rope.freq_base_swa", 10_000.0);
        }
        if self.arch == "gemma2" {
            // The final cap is left to its default (30); the sliding layers get their own RoPE base.
            b = b
                .u32("gemma2.attention.sliding_window", GEMMA_WINDOW as u32)
                .f32("gemma2.attn_logit_softcapping", 50.0)
                .f32("gemma2.rope.freq_base_swa", 50_000.0);
        }
        if let Some(length) = self.key_length {
            b = b.u32(&format!("{}.attention.key_length", self.arch), length as u32);
            b = b.u32(&format!("{}.attention.value_length", self.arch), length as u32);
        }
        let e = self.embd;
        b = matrix(b, e, "token_embd.weight", self.n_vocab, d);
        let [tq, tk, tv, to, tg, tu, td] = self.types;
        for i in 0..self.n_layer {
            let name = |t: &str| format!("blk.{i}.{t}.weight");
            b = b.tensor_f32(&name("attn_norm"), &[d as u64], &gains(d));
            b = matrix(b, tq, &name("attn_q"), q_dim, d);
            b = matrix(b, tk, &name("attn_k"), kv, d);
            b = matrix(b, tv, &name("attn_v"), kv, d);
            if self.arch == "qwen2" {
                let bias = |t: &str| format!("blk.{i}.{t}.bias");
                b = b.tensor_f32(
                    &bias("attn_q"),
                    &[q_dim as u64],
                    &gains(q_dim).iter().map(|g| g - 1.0).collect::<Vec<_>>(),
                );
                b = b.tensor_f32(&bias("attn_k"), &[kv as u64], &gains(kv).iter().map(|g| g - 1.0).collect::<Vec<_>>());
                b = b.tensor_f32(&bias("attn_v"), &[kv as u64], &gains(kv).iter().map(|g| g - 1.0).collect::<Vec<_>>());
            }
            if self.arch == "qwen3" || self.arch == "gemma3" {
                b = b.tensor_f32(&name("attn_q_norm"), &[hd as u64], &gains(hd));
                b = b.tensor_f32(&name("attn_k_norm"), &[hd as u64], &gains(hd));
            }
            if self.arch.starts_with("gemma") {
                b = b.tensor_f32(&name("post_attention_norm"), &[d as u64], &gains(d));
                b = b.tensor_f32(&name("post_ffw_norm"), &[d as u64], &gains(d));
            }
            b = matrix(b, to, &name("attn_output"), d, q_dim);
            b = b.tensor_f32(&name("ffn_norm"), &[d as u64], &gains(d));
            b = matrix(b, tg, &name("ffn_gate"), self.n_ff, d);
            b = matrix(b, tu, &name("ffn_up"), self.n_ff, d);
            b = matrix(b, td, &name("ffn_down"), d, self.n_ff);
        }
        b = b.tensor_f32("output_norm.weight", &[d as u64], &gains(d));
        if let Some(factors) = &self.rope_factors {
            b = b.tensor_f32("rope_freqs.weight", &[factors.len() as u64], factors);
        }
        if let Some(ty) = self.output {
            b = matrix(b, ty, "output.weight", self.n_vocab, d);
        }
        b
    }
}

/// Feeds `ids` to `model` on the CPU and on `gpu`: the first `prefill` as one pass (every logit), then one
/// token per pass (the last logits and the GPU's greedy pick, which must be the CPU's greedy token; one
/// submit and one readback each). Returns (max |Δ logit|, max |logit|). The CPU twin rounds its cached
/// keys and values to f16 as the GPU does: random weights make attention far sharper than a trained
/// model's, sharp enough for that rounding to move logits by ~1 at a few positions; with it, what
/// remains is the kernels' own rounding.
pub async fn gpu_vs_cpu(model: &Model, gpu: &GpuModel, ids: &[u32], prefill: usize, capacity: usize) -> (f32, f32) {
    let mut cpu = Session::Cpu { model, cache: model.new_cache(capacity).rounding_to_f16() };
    let mut on_gpu = Session::Gpu(Box::new(gpu.session(capacity).expect("session")));
    let (first, rest) = ids.split_at(prefill);
    let (mut worst, mut scale) = (0.0f32, 0.0f32);
    for (tokens, all) in std::iter::once((first, true)).chain(rest.chunks(1).map(|t| (t, false))) {
        let lf = if all { LogitsFor::All } else { LogitsFor::Last };
        let c = cpu.forward(tokens, lf, false, Readback::Logits).await.expect("cpu");
        let g = on_gpu.forward(tokens, lf, false, Readback::Logits).await.expect("gpu");
        assert_eq!(c.logits.len(), g.logits.len());
        for (a, b) in c.logits.iter().zip(&g.logits) {
            worst = worst.max((a - b).abs());
            scale = scale.max(a.abs());
        }
        if !all {
            assert_eq!(g.picked.expect("the GPU's pick").id, engine::sample::argmax(&c.logits), "greedy choice");
            assert_eq!((g.counters.submits, g.counters.readbacks), (1, 1));
        }
    }
    (worst, scale)
}

/// Greedy decoding of `steps` tokens after `prompt`, two ways at once on one model: session A submits
/// each pass before the previous token is back (the pass reads that token on the GPU), session B waits
/// for each token and feeds its id. Their passes interleave on the device, so A's token must survive
/// B's passes. Asserts the same tokens and the same logits, bit for bit (the same kernels on the same
/// inputs), and that A's last pass, submitted ahead and then dropped, gives its position back.
pub async fn overlapped_vs_waiting(gpu: &GpuModel, prompt: &[u32], steps: usize, capacity: usize) {
    let (greedy, last) = (PickParams::GREEDY, LogitsFor::Last);
    let mut a = gpu.session(capacity).expect("session A");
    let mut b = gpu.session(capacity).expect("session B");
    let mut ahead = a.submit(Input::Tokens(prompt), last, false, Readback::Logits, greedy).await.expect("A");
    let mut fed = b.forward(prompt, last, false, Readback::Logits).await.expect("B");
    for step in 0..steps {
        let next = a.submit(Input::Picked, last, false, Readback::Logits, greedy).await.expect("A ahead");
        let got = a.collect(std::mem::replace(&mut ahead, next)).await.expect("A back");
        let want_id = fed.picked.as_ref().expect("B's pick").id;
        assert_eq!(got.picked.as_ref().expect("A's pick").id, want_id, "token {step}");
        assert!(got.logits.iter().zip(&fed.logits).all(|(x, y)| x.to_bits() == y.to_bits()), "logits {step}");
        let submits = if step == 0 { prompt.len().div_ceil(engine::backend::gpu::CHUNK) as u32 } else { 1 };
        assert_eq!((got.counters.submits, got.counters.readbacks), (submits, 1));
        fed = b.forward(&[want_id], last, false, Readback::Logits).await.expect("B");
    }
    a.discard(ahead);
    assert_eq!(a.len() + 1, b.len(), "A holds the prompt and the tokens it read back");
}
