//! A plain float64 llama forward pass over the dequantized weights, written apart from the engine: only
//! the GGUF reader and the scalar block dequantizer are shared (both checked against llama.cpp's layouts
//! elsewhere). It is the independent reference of the teaching computations (the next-token
//! distribution, a guess's probability, per-layer logits), and is itself checked against the exact
//! float64 logits in `tests/data/` (`reference_forward_matches_the_exact_reference_logits`).
//!
//! Read it top to bottom like the architecture: embed → n_layer × (x += attn(norm(x)); x += ffn(norm(x)))
//! → norm → output head. RoPE rotates adjacent pairs (x[2i], x[2i+1]), as the GGUF's permuted Q and K
//! expect; Qwen's rotate each head's halves. Qwen2 adds biases to Q, K and V; Qwen3 normalises each
//! query and key head (RMSNorm with its own gains) before the rotation, and its heads may be wider than
//! `n_embd / n_head` (`attention.key_length`). Gemma 3 does as Qwen3 and also: scales the embeddings
//! by √n_embd, normalises each sub-layer's output before adding it, gates with GELU (tanh form), and
//! in five layers of six lets a query see only the last `sliding_window` positions, rotated with
//! `rope.freq_base_swa`. Gemma 2 has no query and key norms, slides every other layer, and soft-caps
//! its attention scores and final logits (`cap · tanh(x / cap)`).

use engine::gguf::Gguf;
use engine::quant::dequantize;

/// Weights of one block, row-major `(out, in)`.
struct Block {
    attn_norm: Vec<f32>,
    wq: Vec<f32>,
    wk: Vec<f32>,
    wv: Vec<f32>,
    /// Q, K and V biases (Qwen2's), when the file has them.
    biases: Option<[Vec<f32>; 3]>,
    /// Qwen3's RMSNorm gains of each query head and each key head, `(head_dim)` each, when present.
    qk_norms: Option<[Vec<f32>; 2]>,
    wo: Vec<f32>,
    ffn_norm: Vec<f32>,
    w_gate: Vec<f32>,
    w_up: Vec<f32>,
    w_down: Vec<f32>,
    /// Gemma's norms of the attention's and the feed-forward's outputs.
    post_norms: Option<[Vec<f32>; 2]>,
}

/// Gemma's sliding layers and soft caps.
struct Sliding {
    window: usize,
    theta: f64,
    layers: Vec<bool>,
    attn_cap: Option<f64>,
    final_cap: Option<f64>,
}

/// A llama-family model dequantized to f32, computed in f64.
pub struct RefModel {
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    /// `attention.key_length` when the file says (Qwen3, Gemma), else `n_embd / n_head`.
    pub head_dim: usize,
    pub n_ff: usize,
    pub n_vocab: usize,
    eps: f64,
    theta: f64,
    /// `rope_freqs.weight`: each pair's angle divided by its factor (Llama 3.1's scaling), when present.
    rope_factors: Option<Vec<f32>>,
    /// Qwen2's and Qwen3's RoPE rotates each head's halves `(x[i], x[i + d/2])` instead of adjacent pairs.
    rope_halves: bool,
    /// Gemma 3 (embedding scale, post-norms, GELU) and its sliding layers; `None`: a llama-style model.
    gemma: Option<Sliding>,
    token_embd: Vec<f32>,     // (n_vocab, n_embd)
    output: Option<Vec<f32>>, // (n_vocab, n_embd); None: tied to token_embd
    output_norm: Vec<f32>,
    blocks: Vec<Block>,
}

/// What one pass computes.
pub struct RefPass {
    /// `hidden[l]`: the residual stream after block `l`, `(n, n_embd)`.
    pub hidden: Vec<Vec<f64>>,
}

fn tensor(gguf: &Gguf, bytes: &[u8], name: &str) -> Vec<f32> {
    let info = gguf.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut out = vec![0.0f32; info.n_elements() as usize];
    dequantize(info.ty, gguf.tensor_data(bytes, info).expect("tensor data"), &mut out).expect("dequantize");
    out
}

fn meta(gguf: &Gguf, key: &str) -> u64 {
    gguf.u64(key).unwrap_or_else(|e| panic!("{key}: {e}"))
}

/// `out[r] = Σ_c w[r, c] · x[c]`.
fn matvec(w: &[f32], x: &[f64], rows: usize) -> Vec<f64> {
    let cols = x.len();
    (0..rows).map(|r| w[r * cols..(r + 1) * cols].iter().zip(x).map(|(&a, &b)| a as f64 * b).sum()).collect()
}

impl RefModel {
    /// Reads every tensor of a llama GGUF file.
    pub fn load(bytes: &[u8]) -> Self {
        let gguf = Gguf::parse(bytes).expect("GGUF");
        let arch = gguf.str("general.architecture").expect("architecture").to_owned();
        let key = |k: &str| format!("{arch}.{k}");
        let n_embd = meta(&gguf, &key("embedding_length")) as usize;
        let token_embd = tensor(&gguf, bytes, "token_embd.weight");
        let output = gguf.tensor("output.weight").is_ok().then(|| tensor(&gguf, bytes, "output.weight"));
        let n_layer = meta(&gguf, &key("block_count")) as usize;
        let blocks = (0..n_layer)
            .map(|l| {
                let t = |name: &str| tensor(&gguf, bytes, &format!("blk.{l}.{name}.weight"));
                Block {
                    attn_norm: t("attn_norm"),
                    wq: t("attn_q"),
                    wk: t("attn_k"),
                    wv: t("attn_v"),
                    biases: gguf.tensor(&format!("blk.{l}.attn_q.bias")).is_ok().then(|| {
                        let b = |name: &str| tensor(&gguf, bytes, &format!("blk.{l}.{name}.bias"));
                        [b("attn_q"), b("attn_k"), b("attn_v")]
                    }),
                    qk_norms: gguf
                        .tensor(&format!("blk.{l}.attn_q_norm.weight"))
                        .is_ok()
                        .then(|| [t("attn_q_norm"), t("attn_k_norm")]),
                    wo: t("attn_output"),
                    ffn_norm: t("ffn_norm"),
                    w_gate: t("ffn_gate"),
                    w_up: t("ffn_up"),
                    w_down: t("ffn_down"),
                    post_norms: arch.starts_with("gemma").then(|| [t("post_attention_norm"), t("post_ffw_norm")]),
                }
            })
            .collect();
        let n_head = meta(&gguf, &key("attention.head_count")) as usize;
        Self {
            n_layer,
            n_embd,
            n_head,
            head_dim: gguf.u64(&key("attention.key_length")).map_or(n_embd / n_head, |v| v as usize),
            n_head_kv: meta(&gguf, &key("attention.head_count_kv")) as usize,
            n_ff: meta(&gguf, &key("feed_forward_length")) as usize,
            n_vocab: token_embd.len() / n_embd,
            eps: gguf.f64(&key("attention.layer_norm_rms_epsilon")).expect("eps"),
            theta: gguf.f64(&key("rope.freq_base")).unwrap_or(10_000.0),
            rope_halves: matches!(arch.as_str(), "qwen2" | "qwen3" | "gemma2" | "gemma3"),
            gemma: arch.starts_with("gemma").then(|| {
                let two = arch == "gemma2";
                let window =
                    gguf.u64(&key("attention.sliding_window")).map_or(if two { 4096 } else { 0 }, |w| w as usize);
                let theta = gguf.f64(&key("rope.freq_base")).unwrap_or(10_000.0);
                let cap = |name: &str| gguf.f64(&key(name)).ok();
                // Every `every`-th layer attends to everything (Gemma 2: every second; Gemma 3: sixth).
                let every =
                    gguf.u64(&key("attention.sliding_window_pattern")).map_or(if two { 2 } else { 6 }, |p| p as usize);
                Sliding {
                    window,
                    theta: gguf.f64(&key("rope.freq_base_swa")).unwrap_or(if two { theta } else { 10_000.0 }),
                    layers: (0..n_layer).map(|l| window > 0 && (l + 1) % every != 0).collect(),
                    attn_cap: if two { cap("attn_logit_softcapping").or(Some(50.0)) } else { None },
                    final_cap: cap("final_logit_softcapping").or(two.then_some(30.0)),
                }
            }),
            rope_factors: gguf.tensor("rope_freqs.weight").is_ok().then(|| tensor(&gguf, bytes, "rope_freqs.weight")),
            token_embd,
            output,
            output_norm: tensor(&gguf, bytes, "output_norm.weight"),
            blocks,
        }
    }

    fn rms_norm(&self, x: &[f64], weight: &[f32]) -> Vec<f64> {
        let scale = 1.0 / (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64 + self.eps).sqrt();
        x.iter().zip(weight).map(|(v, &w)| v * scale * w as f64).collect()
    }

    fn rope(&self, v: &mut [f64], head_dim: usize, pos: usize, theta: f64) {
        let half = head_dim / 2;
        for head in v.chunks_exact_mut(head_dim) {
            for i in 0..half {
                let factor = self.rope_factors.as_ref().map_or(1.0, |f| f[i] as f64);
                let angle = pos as f64 * theta.powf(-2.0 * i as f64 / head_dim as f64) / factor;
                let (s, c) = angle.sin_cos();
                let (x, y) = if self.rope_halves { (i, i + half) } else { (2 * i, 2 * i + 1) };
                let (a, b) = (head[x], head[y]);
                head[x] = a * c - b * s;
                head[y] = a * s + b * c;
            }
        }
    }

    /// Runs `ids` from position 0 and keeps the residual stream after every block.
    pub fn run(&self, ids: &[u32]) -> RefPass {
        self.run_keeping(ids, |x| x)
    }

    /// [`Self::run`] with every key and value rounded to f16 as it is kept, as the GPU backend keeps
    /// them: how much that rounding alone moves the outputs, measured by this forward, not by a driver.
    pub fn run_with_f16_cache(&self, ids: &[u32]) -> RefPass {
        self.run_keeping(ids, |x| half::f16::from_f64(x).to_f64())
    }

    /// The forward, with each key and value passed through `keep` as it is stored.
    fn run_keeping(&self, ids: &[u32], keep: fn(f64) -> f64) -> RefPass {
        let (d, hd) = (self.n_embd, self.head_dim);
        let (q_dim, kv_dim) = (self.n_head * hd, self.n_head_kv * hd);
        let group = self.n_head / self.n_head_kv;
        let embed_scale = if self.gemma.is_some() { (d as f64).sqrt() } else { 1.0 };
        let mut x: Vec<Vec<f64>> = ids
            .iter()
            .map(|&id| self.token_embd[id as usize * d..][..d].iter().map(|&v| v as f64 * embed_scale).collect())
            .collect();
        let mut hidden = Vec::with_capacity(self.n_layer);
        for (l, b) in self.blocks.iter().enumerate() {
            let sliding = self.gemma.as_ref().filter(|g| g.layers[l]);
            let theta = sliding.map_or(self.theta, |g| g.theta);
            // A sub-layer's output as it joins the residual stream (Gemma normalises it first).
            let post = |out: Vec<f64>, which: usize| match &b.post_norms {
                Some(gains) => self.rms_norm(&out, &gains[which]),
                None => out,
            };
            // Attention: every position's q, k, v, then causal softmax per head.
            let (mut qs, mut ks, mut vs) = (Vec::new(), Vec::new(), Vec::new());
            for (pos, row) in x.iter().enumerate() {
                let h = self.rms_norm(row, &b.attn_norm);
                let mut q = matvec(&b.wq, &h, q_dim);
                let mut k = matvec(&b.wk, &h, kv_dim);
                let mut v = matvec(&b.wv, &h, kv_dim);
                if let Some([bq, bk, bv]) = &b.biases {
                    for (out, bias) in [(&mut q, bq), (&mut k, bk), (&mut v, bv)] {
                        out.iter_mut().zip(bias).for_each(|(x, b)| *x += *b as f64);
                    }
                }
                if let Some([gq, gk]) = &b.qk_norms {
                    for (out, gain) in [(&mut q, gq), (&mut k, gk)] {
                        let normed: Vec<f64> =
                            out.chunks_exact(hd).flat_map(|head| self.rms_norm(head, gain)).collect();
                        *out = normed;
                    }
                }
                self.rope(&mut q, hd, pos, theta);
                self.rope(&mut k, hd, pos, theta);
                qs.push(q);
                ks.push(k.into_iter().map(keep).collect::<Vec<f64>>());
                vs.push(v.into_iter().map(keep).collect::<Vec<f64>>());
            }
            for (t, row) in x.iter_mut().enumerate() {
                let mut mixed = vec![0.0f64; q_dim];
                // A sliding layer's query sees keys t − window + 1 ..= t.
                let first = sliding.map_or(0, |g| (t + 1).saturating_sub(g.window));
                for head in 0..self.n_head {
                    let kv = (head / group) * hd;
                    let q = &qs[t][head * hd..][..hd];
                    let scores: Vec<f64> = (first..=t)
                        .map(|j| {
                            q.iter().zip(&ks[j][kv..kv + hd]).map(|(a, b)| a * b).sum::<f64>() / (hd as f64).sqrt()
                        })
                        .collect();
                    let scores: Vec<f64> = match self.gemma.as_ref().and_then(|g| g.attn_cap) {
                        Some(cap) => scores.iter().map(|s| cap * (s / cap).tanh()).collect(),
                        None => scores,
                    };
                    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                    let total: f64 = weights.iter().sum();
                    for (j, w) in (first..=t).zip(&weights) {
                        for (m, v) in mixed[head * hd..][..hd].iter_mut().zip(&vs[j][kv..kv + hd]) {
                            *m += w / total * v;
                        }
                    }
                }
                for (r, o) in row.iter_mut().zip(post(matvec(&b.wo, &mixed, d), 0)) {
                    *r += o;
                }
            }
            // Feed-forward: w_down · (act(w_gate · h) ⊙ (w_up · h)), act SiLU, or Gemma's GELU (tanh form).
            let act = |g: f64| match self.gemma {
                Some(_) => 0.5 * g * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (g + 0.044715 * g.powi(3))).tanh()),
                None => g / (1.0 + (-g).exp()),
            };
            for row in x.iter_mut() {
                let h = self.rms_norm(row, &b.ffn_norm);
                let gate = matvec(&b.w_gate, &h, self.n_ff);
                let up = matvec(&b.w_up, &h, self.n_ff);
                let gated: Vec<f64> = gate.iter().zip(&up).map(|(&g, u)| act(g) * u).collect();
                for (r, o) in row.iter_mut().zip(post(matvec(&b.w_down, &gated, d), 1)) {
                    *r += o;
                }
            }
            hidden.push(x.iter().flatten().copied().collect());
        }
        RefPass { hidden }
    }

    /// Token `id`'s row of the embedding matrix.
    pub fn embedding_row(&self, id: u32) -> &[f32] {
        &self.token_embd[id as usize * self.n_embd..(id as usize + 1) * self.n_embd]
    }

    /// The final norm of one residual-stream row (what the output head multiplies).
    pub fn final_normed(&self, row: &[f64]) -> Vec<f64> {
        self.rms_norm(row, &self.output_norm)
    }

    /// The output head applied to one residual-stream row: final norm, then the output matrix.
    pub fn logits_of(&self, row: &[f64]) -> Vec<f64> {
        let normed = self.rms_norm(row, &self.output_norm);
        let logits = matvec(self.output.as_ref().unwrap_or(&self.token_embd), &normed, self.n_vocab);
        match self.gemma.as_ref().and_then(|g| g.final_cap) {
            Some(cap) => logits.into_iter().map(|l| cap * (l / cap).tanh()).collect(),
            None => logits,
        }
    }

    /// The model's logits after `ids` (at the last position).
    pub fn next_logits(&self, ids: &[u32]) -> Vec<f64> {
        let pass = self.run(ids);
        let last = pass.hidden.last().expect("a block");
        self.logits_of(&last[(ids.len() - 1) * self.n_embd..])
    }
}

/// `softmax(logits)` in f64.
pub fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / total).collect()
}

/// The default model, loaded once per test binary (about 0.6 GB of f32).
pub fn default_model() -> &'static RefModel {
    static MODEL: std::sync::OnceLock<RefModel> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| RefModel::load(super::model_bytes()))
}
