//! Hyper-parameters read from GGUF metadata (`<arch>.*` keys).

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::gguf::Gguf;

/// Architectures whose tensors and keys follow llama's layout (Gemma 2 and 3 add their own, see [`Gemma`]):
/// every architecture this engine runs, as `general.architecture` names them.
pub const LLAMA_FAMILY: [&str; 6] = ["llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3"];

/// The shape of a llama-family model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// `general.architecture`
    pub arch: String,
    /// Transformer blocks.
    pub n_layer: usize,
    /// Width of the residual stream.
    pub n_embd: usize,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads (grouped-query attention when fewer than `n_head`).
    pub n_head_kv: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Hidden width of the SwiGLU feed-forward.
    pub n_ff: usize,
    /// Vocabulary size.
    pub n_vocab: usize,
    /// Context length the model was trained for.
    pub n_ctx: usize,
    /// RoPE base frequency θ.
    pub rope_theta: f32,
    /// Dimensions of each head that RoPE rotates (adjacent pairs).
    pub rope_dim: usize,
    /// Each rotated pair's frequency in radians per position: `θ^(-2i / rope_dim)`, divided by the file's
    /// `rope_freqs.weight` factors when it has them (Llama 3.1's and 3.2's long-context scaling).
    pub rope_freqs: Vec<f32>,
    /// RMSNorm epsilon.
    pub rms_eps: f32,
    /// The file's RoPE rotates each head's halves (Qwen2) rather than adjacent pairs; the weights are
    /// read reordered so that the kernels rotate adjacent pairs all the same (`weights::neox_order`).
    #[serde(default)]
    pub rope_neox: bool,
    /// Every query and key head is RMS-normalised with its own gains before RoPE (Qwen3's
    /// `attn_q_norm` and `attn_k_norm`).
    #[serde(default)]
    pub qk_norm: bool,
    /// Gemma 2's and 3's differences from llama, `None` for the others.
    #[serde(default)]
    pub gemma: Option<Gemma>,
}

/// What a Gemma 2 or 3 block does differently: the embeddings scaled by √n_embd; each sub-layer's output
/// RMS-normalised again before it joins the residual stream (`post_attention_norm`, `post_ffw_norm`); a
/// GELU (tanh form) gate instead of SiLU; and some layers attending only to a sliding window of recent
/// positions (every other one in Gemma 2, five in six in Gemma 3, with their own RoPE base). Gemma 2
/// also soft-caps its attention scores and its final logits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gemma {
    /// A sliding layer's query at position p sees keys p − window + 1 ..= p (`attention.sliding_window`).
    pub window: usize,
    /// Which layers slide (`attention.sliding_window_pattern`, else every other layer in Gemma 2 and
    /// every layer but each sixth in Gemma 3).
    pub sliding: Vec<bool>,
    /// The sliding layers' RoPE frequencies (`rope.freq_base_swa`; by default Gemma 3's are 10,000 and
    /// never scaled, Gemma 2's the other layers').
    pub local_rope_freqs: Vec<f32>,
    /// Each attention score soft-capped to `cap · tanh(score / cap)` before the softmax (Gemma 2's
    /// `attn_logit_softcapping`, 50 by default; Gemma 3 has none).
    #[serde(default)]
    pub attn_softcap: Option<f32>,
    /// The final logits soft-capped to `cap · tanh(logit / cap)` (Gemma 2: 30 unless the file says;
    /// Gemma 3: when the file says).
    pub final_softcap: Option<f32>,
    /// Queries are scaled by 1/√ of this: the head's width, or for the 27B models (46 blocks in Gemma 2,
    /// 62 in Gemma 3) the width over the head count, as llama.cpp does.
    #[serde(default)]
    pub query_scale_width: usize,
}

/// The frequencies of the `rope_dim / 2` rotated pairs, each divided by its factor when there are factors.
pub fn rope_freqs(rope_dim: usize, theta: f32, factors: Option<&[f32]>) -> Vec<f32> {
    (0..rope_dim / 2)
        .map(|i| crate::backend::cpu::rope_freq(i, rope_dim, theta) / factors.map_or(1.0, |f| f[i]))
        .collect()
}

impl Config {
    /// Reads the config of a llama-family model; `n_vocab` comes from the token embedding's shape.
    pub fn from_gguf(gguf: &Gguf) -> Result<Self> {
        let arch = gguf.str("general.architecture")?.to_owned();
        if !LLAMA_FAMILY.contains(&arch.as_str()) {
            return Err(EngineError::UnsupportedArchitecture { arch });
        }
        let key = |name: &str| format!("{arch}.{name}");
        let usize_of = |name: &str| -> Result<usize> {
            let k = key(name);
            let v = gguf.u64(&k)?;
            usize::try_from(v)
                .ok()
                .filter(|&v| v > 0 && v <= 1 << 20)
                .ok_or(EngineError::WrongMetadataType { key: k, expected: "a positive size" })
        };
        let n_embd = usize_of("embedding_length")?;
        let n_head = usize_of("attention.head_count")?;
        let n_head_kv = if gguf.get(&key("attention.head_count_kv")).is_some() {
            usize_of("attention.head_count_kv")?
        } else {
            n_head
        };
        // A head is `n_embd / n_head` wide unless the file says otherwise (Qwen3's and Gemma's are wider);
        // keys and values are read as heads of one width.
        let key_length = gguf.get(&key("attention.key_length")).is_some().then(|| usize_of("attention.key_length"));
        let key_length = key_length.transpose()?;
        if let Some(length) = key_length {
            let value = if gguf.get(&key("attention.value_length")).is_some() {
                usize_of("attention.value_length")?
            } else {
                length
            };
            if value != length {
                return Err(EngineError::BadTensorShape {
                    name: "attention".into(),
                    reason: format!("keys of {length} and values of {value} per head: heads of one width are read"),
                });
            }
        }
        if (key_length.is_none() && n_embd % n_head != 0) || n_head % n_head_kv != 0 {
            return Err(EngineError::BadTensorShape {
                name: "attention".into(),
                reason: format!("{n_embd} wide with {n_head} heads and {n_head_kv} KV heads does not divide"),
            });
        }
        let head_dim = key_length.unwrap_or(n_embd / n_head);
        let rope_dim =
            if gguf.get(&key("rope.dimension_count")).is_some() { usize_of("rope.dimension_count")? } else { head_dim };
        if rope_dim > head_dim || rope_dim % 2 != 0 {
            return Err(EngineError::WrongMetadataType {
                key: key("rope.dimension_count"),
                expected: "an even number ≤ head_dim",
            });
        }
        let embd = gguf.tensor("token_embd.weight")?;
        let n_vocab = usize::try_from(*embd.dims.get(1).unwrap_or(&0)).unwrap_or(0);
        if n_vocab == 0 || embd.dims[0] as usize != n_embd {
            return Err(EngineError::BadTensorShape {
                name: embd.name.clone(),
                reason: format!("{:?}, expected [{n_embd}, n_vocab]", embd.dims),
            });
        }
        let float_or = |name: &str, default: f64| -> Result<f32> {
            match gguf.get(&key(name)) {
                None => Ok(default as f32),
                Some(_) => gguf.f64(&key(name)).map(|v| v as f32),
            }
        };
        let n_layer = usize_of("block_count")?;
        let theta = float_or("rope.freq_base", 10_000.0)?;
        // A linear RoPE scaling (`rope.scaling.type = linear`) slows every rotation by its factor.
        let linear = gguf.str(&key("rope.scaling.type")).is_ok_and(|t| t == "linear");
        let slow = if linear { float_or("rope.scaling.factor", 1.0)?.max(1.0) } else { 1.0 };
        let freqs = rope_freqs(rope_dim, theta, None).into_iter().map(|f| f / slow).collect();
        let gemma = if arch == "gemma2" || arch == "gemma3" {
            let two = arch == "gemma2";
            // 0 (or none, in Gemma 3) means no sliding window, as in llama.cpp.
            let count = |name: &str| -> Result<Option<usize>> {
                match gguf.get(&key(name)) {
                    None => Ok(None),
                    Some(_) => Ok(Some(usize::try_from(gguf.u64(&key(name))?).unwrap_or(usize::MAX))),
                }
            };
            let window = count("attention.sliding_window")?.unwrap_or(if two { 4096 } else { 0 });
            // A cap of 0 (given or by default) means none.
            let cap = |name: &str, default: f64| -> Result<Option<f32>> {
                Ok(Some(float_or(name, default)?).filter(|&cap| cap > 0.0))
            };
            let pattern_key = key("attention.sliding_window_pattern");
            let sliding: Vec<bool> = match gguf.get(&pattern_key) {
                // One flag per layer.
                Some(crate::gguf::Value::Array(crate::gguf::Array::Bool(flags))) => {
                    if flags.len() != n_layer {
                        return Err(EngineError::WrongMetadataType {
                            key: pattern_key,
                            expected: "one flag per block",
                        });
                    }
                    flags.iter().map(|&f| f && window > 0).collect()
                }
                // Every `every`-th layer global, the others sliding (0: every layer sliding).
                _ => {
                    let every = count("attention.sliding_window_pattern")?.unwrap_or(if two { 2 } else { 6 });
                    (0..n_layer).map(|l| window > 0 && (every == 0 || l % every < every - 1)).collect()
                }
            };
            let local = if two {
                let local_theta = float_or("rope.freq_base_swa", theta as f64)?;
                rope_freqs(rope_dim, local_theta, None).into_iter().map(|f| f / slow).collect()
            } else {
                rope_freqs(rope_dim, float_or("rope.freq_base_swa", 10_000.0)?, None)
            };
            let n_head = usize_of("attention.head_count")?;
            let wide = (two && n_layer == 46) || (!two && n_layer == 62);
            Some(Gemma {
                window,
                sliding,
                local_rope_freqs: local,
                // Gemma 2 always caps (50 and 30 unless the file says); Gemma 3 caps only its logits,
                // when the file asks.
                attn_softcap: if two { cap("attn_logit_softcapping", 50.0)? } else { None },
                final_softcap: cap("final_logit_softcapping", if two { 30.0 } else { 0.0 })?,
                query_scale_width: if wide { n_embd / n_head } else { key_length.unwrap_or(n_embd / n_head) },
            })
        } else {
            None
        };
        Ok(Self {
            n_layer,
            n_embd,
            n_head,
            n_head_kv,
            head_dim,
            n_ff: usize_of("feed_forward_length")?,
            n_vocab,
            n_ctx: usize_of("context_length")?,
            rope_theta: theta,
            rope_freqs: freqs,
            rope_dim,
            rms_eps: float_or("attention.layer_norm_rms_epsilon", 1e-5)?,
            rope_neox: matches!(arch.as_str(), "qwen2" | "qwen3" | "gemma2" | "gemma3"),
            qk_norm: gguf.tensor("blk.0.attn_q_norm.weight").is_ok(),
            gemma,
            arch,
        })
    }

    /// Checks a forward pass of `tokens` at positions `start..` into a cache of `capacity` positions:
    /// not empty, not past the capacity, every id in the vocabulary (both backends run this).
    pub fn check_pass(&self, tokens: &[u32], start: usize, capacity: usize) -> Result<()> {
        if tokens.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        if start + tokens.len() > capacity {
            return Err(EngineError::ContextFull { needed: start + tokens.len(), limit: capacity });
        }
        match tokens.iter().find(|&&id| id as usize >= self.n_vocab) {
            Some(&id) => Err(EngineError::BadTokenId { id, vocab: self.n_vocab }),
            None => Ok(()),
        }
    }

    /// How many of a pass's `n` tokens (the last ones) get their attention traced when each traced row
    /// holds every layer's and head's probabilities over `n_key` keys and at most `max_values` fit.
    /// At least one: the newest token is always traced.
    pub fn traced_rows(&self, n: usize, n_key: usize, max_values: usize) -> usize {
        (max_values / (self.n_layer * self.n_head * n_key)).clamp(1, n)
    }

    /// The RoPE frequencies of layer `l` (a sliding Gemma layer has its own).
    pub fn layer_rope_freqs(&self, l: usize) -> &[f32] {
        match &self.gemma {
            Some(g) if g.sliding[l] => &g.local_rope_freqs,
            _ => &self.rope_freqs,
        }
    }

    /// The factor of every attention score: 1/√(head width), or Gemma's own.
    pub fn attention_scale(&self) -> f32 {
        let width = match &self.gemma {
            Some(g) if g.query_scale_width > 0 => g.query_scale_width,
            _ => self.head_dim,
        };
        1.0 / (width as f32).sqrt()
    }

    /// The first position a query at `pos` sees in layer `l`: 0, or the start of a sliding layer's window.
    pub fn first_key(&self, l: usize, pos: usize) -> usize {
        match &self.gemma {
            Some(g) if g.sliding[l] && g.window > 0 => (pos + 1).saturating_sub(g.window),
            _ => 0,
        }
    }

    /// Width of all key (or value) heads together.
    pub fn kv_dim(&self) -> usize {
        self.n_head_kv * self.head_dim
    }
}
