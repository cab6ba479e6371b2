//! The model's thoughts through a sparse autoencoder ([`crate::train::sae`]): the hidden states of one
//! layer collected over a text, the model reading a text with that layer's hidden state *replaced* (by
//! its reconstruction, by the mean, by zero) and how far each next-token distribution moves, writing
//! with the replacement or with a feature's direction added (steering), and each feature's strongest
//! tokens.
//!
//! Every text is read after the model's start token (as the masked-word game reads a sentence). The
//! start token's hidden state is the model's attention sink, tens of times larger than the others: it
//! is neither collected nor replaced. `collect.rs` gathers the hidden states to train on.

mod collect;

pub use collect::{Collection, BUILT_IN, MAX_VECTORS, PASSAGE_TOKENS};

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::generate::Engine;
use crate::model::{KvCache, LogitsFor};
use crate::trace::{log_sum_exp, top_k};
use crate::train::sae::{Code, Sae};

/// What happens to the hidden state after the autoencoder's layer.
#[derive(Debug, Clone, Copy)]
pub enum Edit<'a> {
    /// Nothing: the model as it is.
    Keep,
    /// Replaced by itself after this block (a check: nothing may change).
    Identity(usize),
    /// Replaced by the autoencoder's reconstruction.
    Squeeze(&'a Sae),
    /// Replaced by the mean hidden state (a floor: all that position's information gone).
    Mean(&'a Sae),
    /// Replaced by zero after this block (another floor).
    Zero(usize),
    /// A feature's direction added, `strength` in the autoencoder's units (a typical activation is a
    /// few units).
    Steer {
        /// The autoencoder.
        sae: &'a Sae,
        /// Which feature.
        feature: usize,
        /// How much of it.
        strength: f32,
    },
}

impl Edit<'_> {
    /// The block after which this edit acts (`None`: it changes nothing).
    fn layer(&self) -> Option<usize> {
        match self {
            Edit::Keep => None,
            Edit::Identity(layer) | Edit::Zero(layer) => Some(*layer),
            Edit::Squeeze(sae) | Edit::Mean(sae) | Edit::Steer { sae, .. } => Some(sae.config.layer),
        }
    }

    /// Edits the rows `x` `(n, d)` of a pass whose first token is at position `start`.
    fn apply(&self, x: &mut [f32], d: usize, start: usize) {
        for (i, row) in x.chunks_exact_mut(d).enumerate() {
            if start + i == 0 {
                continue;
            }
            match self {
                Edit::Keep => {}
                Edit::Identity(_) => {
                    let same = row.to_vec();
                    row.copy_from_slice(&same);
                }
                Edit::Squeeze(sae) => {
                    let (_, rebuilt) = sae.reconstruct(row);
                    row.copy_from_slice(&rebuilt);
                }
                Edit::Mean(sae) => row.copy_from_slice(&sae.mean),
                Edit::Zero(_) => row.fill(0.0),
                Edit::Steer { sae, feature, strength } => {
                    let direction = &sae.w_dec[feature * d..(feature + 1) * d];
                    for (x, v) in row.iter_mut().zip(direction) {
                        *x += strength / sae.scale * v;
                    }
                }
            }
        }
    }
}

/// The squeeze of a text, position by position (every token after the start token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqueezeReport {
    /// The text's tokens (start token first).
    pub ids: Vec<u32>,
    /// Fraction of the variance of the layer's hidden states left unexplained by the reconstruction.
    pub fvu: f32,
    /// KL(model ‖ model with the reconstruction) of the next-token distribution, per position (nats).
    pub kl: Vec<f32>,
    /// The same with the mean hidden state instead.
    pub kl_mean: Vec<f32>,
    /// The same with zero instead.
    pub kl_zero: Vec<f32>,
    /// Share of positions where the likeliest next token is the same with the reconstruction.
    pub same_top1: f32,
}

/// One token read through the autoencoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenThought {
    /// `‖û − u‖² / ‖u‖²` for this token's hidden state (0: perfectly rebuilt).
    pub error: f32,
    /// Its strongest features, `(feature, activation)`.
    pub features: Code,
}

/// One token written with an edit, beside the model as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditedStep {
    /// The token chosen (the likeliest under the edit).
    pub id: u32,
    /// Its probability under the edit.
    pub prob: f32,
    /// KL(model ‖ edited model) at this position (nats).
    pub kl: f32,
    /// The token the model as it is would have chosen here.
    pub plain_id: u32,
}

impl Engine {
    /// `text` as passages of at most `chunk` tokens, each after the start token.
    pub fn passages(&self, text: &str, chunk: usize) -> Result<Vec<Vec<u32>>> {
        let start = self.sentence_start().ok_or_else(|| {
            EngineError::Tokenizer("the model names no BOS or EOS token to start a text after".into())
        })?;
        let ids = self.tokenizer.encode_text(text)?;
        if ids.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        Ok(ids.chunks(chunk.max(1)).map(|c| std::iter::once(start).chain(c.iter().copied()).collect()).collect())
    }

    /// The hidden states after block `layer` of every token of `passage` but the first (the start
    /// token): `(n − 1, n_embd)`.
    pub fn hidden_rows(&self, passage: &[u32], layer: usize) -> Result<Vec<f32>> {
        self.check_layer(layer)?;
        let rows = self.model.residual_stream(passage, layer)?;
        Ok(rows[self.model.config.n_embd.min(rows.len())..].to_vec())
    }

    fn check_layer(&self, layer: usize) -> Result<()> {
        let n = self.model.config.n_layer;
        if layer >= n {
            return Err(EngineError::Tokenizer(format!("the model has {n} blocks (0 to {})", n - 1)));
        }
        Ok(())
    }

    /// The logits `(n, n_vocab)` of every position of `ids` read from the start with `edit`.
    pub fn edited_logits(&self, ids: &[u32], edit: Edit) -> Result<Vec<f32>> {
        let mut cache = self.model.new_cache(ids.len());
        self.edited_pass(&mut cache, ids, LogitsFor::All, edit)
    }

    fn edited_pass(&self, cache: &mut KvCache, ids: &[u32], logits_for: LogitsFor, edit: Edit) -> Result<Vec<f32>> {
        let d = self.model.config.n_embd;
        let start = cache.len();
        let at = edit.layer();
        if let Some(layer) = at {
            self.check_layer(layer)?;
        }
        let out = self.model.forward_observed(cache, ids, logits_for, false, &mut |l, x| {
            if Some(l) == at {
                edit.apply(x, d, start);
            }
        })?;
        Ok(out.logits)
    }

    /// Reads `text` with the autoencoder's layer replaced by its reconstruction, by the mean and by zero
    /// (with `identity`, by itself instead of the reconstruction), beside the model as it is.
    pub fn squeeze(&self, text: &str, sae: &Sae, identity: bool) -> Result<SqueezeReport> {
        self.check_sae(sae)?;
        let ids = self.passages(text, usize::MAX)?.remove(0);
        let plain = self.edited_logits(&ids, Edit::Keep)?;
        let layer = sae.config.layer;
        let squeezed = self.edited_logits(&ids, if identity { Edit::Identity(layer) } else { Edit::Squeeze(sae) })?;
        let mean = self.edited_logits(&ids, Edit::Mean(sae))?;
        let zero = self.edited_logits(&ids, Edit::Zero(layer))?;
        let v = self.model.config.n_vocab;
        let kls = |q: &[f32]| -> Vec<f32> {
            plain.chunks_exact(v).zip(q.chunks_exact(v)).skip(1).map(|(p, q)| kl_logits(p, q)).collect()
        };
        let argmax = |row: &[f32]| top_k(row, 1)[0].0;
        let positions = ids.len() - 1;
        let same = (plain.chunks_exact(v).zip(squeezed.chunks_exact(v)).skip(1))
            .filter(|(p, q)| argmax(p) == argmax(q))
            .count();
        let rows = self.hidden_rows(&ids, sae.config.layer)?;
        let fvu = if identity { 0.0 } else { sae.fvu(&rows) };
        Ok(SqueezeReport {
            fvu,
            kl: kls(&squeezed),
            kl_mean: kls(&mean),
            kl_zero: kls(&zero),
            same_top1: same as f32 / positions.max(1) as f32,
            ids,
        })
    }

    /// Refuses an autoencoder made for another model's width or depth.
    pub fn check_sae(&self, sae: &Sae) -> Result<()> {
        let c = &self.model.config;
        if sae.config.d != c.n_embd || sae.config.layer >= c.n_layer {
            return Err(EngineError::Tokenizer(format!(
                "this autoencoder reads vectors of {} numbers after block {}; this model's are {} numbers \
                 over {} blocks",
                sae.config.d, sae.config.layer, c.n_embd, c.n_layer
            )));
        }
        Ok(())
    }

    /// Each token of `ids` (after the first) read through the autoencoder: its reconstruction error and
    /// its `top` strongest features.
    pub fn read_through(&self, ids: &[u32], sae: &Sae, top: usize) -> Result<Vec<TokenThought>> {
        self.check_sae(sae)?;
        let rows = self.hidden_rows(ids, sae.config.layer)?;
        Ok(rows
            .chunks_exact(sae.config.d)
            .map(|x| {
                let u = sae.to_units(x);
                let code = sae.encode_units(&u);
                let rebuilt = sae.decode_units(&code);
                let err: f32 = rebuilt.iter().zip(&u).map(|(r, u)| (r - u) * (r - u)).sum();
                let norm: f32 = u.iter().map(|u| u * u).sum();
                TokenThought {
                    error: err / norm.max(f32::MIN_POSITIVE),
                    features: code.into_iter().take(top).collect(),
                }
            })
            .collect())
    }

    /// Writes greedily after `prompt` with `edit` alone (one cache: what the squeeze costs a token), up to
    /// `max_tokens` or the end-of-text token.
    pub fn write_alone(&self, prompt: &[u32], edit: Edit, max_tokens: usize) -> Result<Vec<u32>> {
        if prompt.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        let mut cache = self.model.new_cache((prompt.len() + max_tokens).min(self.model.config.n_ctx));
        let mut logits = self.edited_pass(&mut cache, prompt, LogitsFor::Last, edit)?;
        let mut out = Vec::new();
        while out.len() < max_tokens && cache.len() < cache.capacity() {
            let (id, _) = top_k(&logits, 1)[0];
            out.push(id);
            if Some(id) == self.tokenizer.eos {
                break;
            }
            logits = self.edited_pass(&mut cache, &[id], LogitsFor::Last, edit)?;
        }
        Ok(out)
    }

    /// Starts writing greedily after `prompt` with `edit`, in step with the model as it is.
    pub fn write_edited<'e>(&'e self, prompt: &[u32], edit: Edit<'e>, max_tokens: usize) -> Result<EditedWriter<'e>> {
        if prompt.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        let capacity = (prompt.len() + max_tokens).min(self.model.config.n_ctx);
        let mut plain_cache = self.model.new_cache(capacity);
        let mut edited_cache = self.model.new_cache(capacity);
        let plain = self.edited_pass(&mut plain_cache, prompt, LogitsFor::Last, Edit::Keep)?;
        let edited = self.edited_pass(&mut edited_cache, prompt, LogitsFor::Last, edit)?;
        Ok(EditedWriter { engine: self, edit, plain_cache, edited_cache, plain, edited, left: max_tokens })
    }
}

/// Writing with an edit and without it in step: both read the edited answer's tokens, so each position
/// compares the two distributions after the same words.
#[derive(Debug)]
pub struct EditedWriter<'e> {
    engine: &'e Engine,
    edit: Edit<'e>,
    plain_cache: KvCache,
    edited_cache: KvCache,
    plain: Vec<f32>,
    edited: Vec<f32>,
    left: usize,
}

impl EditedWriter<'_> {
    /// The next token, or `None` at the end (the end-of-text token, `max_tokens`, or the context full).
    pub fn step(&mut self) -> Result<Option<EditedStep>> {
        if self.left == 0 || self.edited_cache.len() >= self.edited_cache.capacity() {
            return Ok(None);
        }
        self.left -= 1;
        let (id, _) = top_k(&self.edited, 1)[0];
        let (plain_id, _) = top_k(&self.plain, 1)[0];
        let prob = (self.edited[id as usize] - log_sum_exp(&self.edited)).exp();
        let kl = kl_logits(&self.plain, &self.edited);
        if Some(id) == self.engine.tokenizer.eos {
            self.left = 0;
        } else {
            let e = self.engine;
            self.plain = e.edited_pass(&mut self.plain_cache, &[id], LogitsFor::Last, Edit::Keep)?;
            self.edited = e.edited_pass(&mut self.edited_cache, &[id], LogitsFor::Last, self.edit)?;
        }
        Ok(Some(EditedStep { id, prob, kl, plain_id }))
    }
}

/// KL(softmax(p) ‖ softmax(q)) in nats, in f64.
pub fn kl_logits(p: &[f32], q: &[f32]) -> f32 {
    let (zp, zq) = (log_sum_exp(p) as f64, log_sum_exp(q) as f64);
    let kl: f64 = p
        .iter()
        .zip(q)
        .map(|(&a, &b)| {
            let lp = a as f64 - zp;
            lp.exp() * (lp - (b as f64 - zq))
        })
        .sum();
    kl.max(0.0) as f32
}

/// For each feature, the `n` collected vectors that fire it most: `(vector, activation)`, strongest first.
pub fn strongest_vectors(sae: &Sae, rows: &[f32], n: usize) -> Vec<Vec<(usize, f32)>> {
    let mut best: Vec<Vec<(usize, f32)>> = vec![Vec::new(); sae.config.width];
    for (i, x) in rows.chunks_exact(sae.config.d).enumerate() {
        for (j, z) in sae.encode_units(&sae.to_units(x)) {
            let list = &mut best[j as usize];
            if list.len() < n || list.last().is_some_and(|&(_, worst)| z > worst) {
                let at = list.partition_point(|&(_, a)| a >= z);
                list.insert(at, (i, z));
                list.truncate(n);
            }
        }
    }
    best
}

/// The `n` vectors of `rows` that fire `feature` most, `(vector, activation)` strongest first, found
/// without encoding every vector: a feature's activation, when it is on, is its pre-activation, so the
/// vectors are walked in the order of that pre-activation and fully encoded one by one until `n` have
/// the feature among their `k` (at most `max_checks` encoded).
pub fn strongest_for(sae: &Sae, rows: &[f32], feature: usize, n: usize, max_checks: usize) -> Vec<(usize, f32)> {
    let d = sae.config.d;
    let (w, b) = (&sae.w_enc[feature * d..(feature + 1) * d], sae.b_enc[feature]);
    let mut order: Vec<(usize, f32)> = rows
        .chunks_exact(d)
        .map(|x| {
            let u = sae.to_units(x);
            u.iter().zip(&sae.b_dec).zip(w).map(|((u, c), w)| (u - c) * w).sum::<f32>() + b
        })
        .enumerate()
        .filter(|&(_, pre)| pre > 0.0)
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut found = Vec::new();
    for &(i, _) in order.iter().take(max_checks) {
        let code = sae.encode_units(&sae.to_units(&rows[i * d..(i + 1) * d]));
        if let Some(&(_, z)) = code.iter().find(|&&(j, _)| j as usize == feature) {
            found.push((i, z));
            if found.len() == n {
                break;
            }
        }
    }
    found
}
