//! What the model expects next, for the page's teaching views and `glassbox next`: the next-token
//! distribution after a plain text (no chat template), the probability and rank of a word the class
//! guessed, and the distribution a draw is taken from under given sampling settings.
//!
//! These run exact: on the GPU when the engine has one ([`Engine::predict_on_backend`]), else on the
//! CPU's exact path (f32 activations), the reference path: the page (wasm) and the CLI (native) then
//! agree to ~1e-5, where the 8-bit path can part by 1e-3 at a rounding boundary. A prediction is one
//! forward pass over a short text, so the exact path's cost does not matter here.

use serde::{Deserialize, Serialize};

use crate::backend::cpu::Precision;
use crate::backend::gpu::Readback;
use crate::error::{EngineError, Result};
use crate::generate::Engine;
use crate::model::{LogitsFor, Model};
use crate::sample::SamplerConfig;
use crate::trace::{log_sum_exp, top_k, Candidate};

/// The model's distribution over the next token.
#[derive(Debug, Clone, PartialEq)]
pub struct NextToken {
    /// `(n_vocab)`: the logits after the last token.
    pub logits: Vec<f32>,
    /// `ln Σ exp(logits)`: `p(id) = exp(logits[id] − log_z)`.
    pub log_z: f32,
}

impl NextToken {
    /// Wraps one row of logits.
    pub fn from_logits(logits: Vec<f32>) -> Self {
        let log_z = log_sum_exp(&logits);
        Self { logits, log_z }
    }

    /// Probability of token `id` (temperature 1); 0 for an id outside the vocabulary.
    pub fn prob(&self, id: u32) -> f32 {
        self.logits.get(id as usize).map_or(0.0, |l| (l - self.log_z).exp())
    }

    /// Shannon entropy in nats.
    pub fn entropy(&self) -> f32 {
        -self.logits.iter().map(|l| (l - self.log_z).exp() * (l - self.log_z)).sum::<f32>()
    }

    /// The `k` likeliest tokens, best first (ties: lower id first).
    pub fn top(&self, k: usize) -> Vec<Candidate> {
        top_k(&self.logits, k)
            .into_iter()
            .map(|(id, logit)| Candidate { id, logit, prob: (logit - self.log_z).exp() })
            .collect()
    }

    /// Rank of token `id` among the whole vocabulary in the order [`Self::top`] lists them (1: the
    /// likeliest); 0 for an id outside the vocabulary.
    pub fn rank(&self, id: u32) -> usize {
        let Some(&l) = self.logits.get(id as usize) else { return 0 };
        1 + self.logits.iter().enumerate().filter(|&(i, &x)| x > l || (x == l && (i as u32) < id)).count()
    }

    /// Every token with its logit, best first (ties: lower id first): the order the sampler reads.
    pub fn sorted(&self) -> Vec<(u32, f32)> {
        let mut all: Vec<(u32, f32)> = self.logits.iter().enumerate().map(|(i, &l)| (i as u32, l)).collect();
        all.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all
    }
}

/// The distribution a draw is taken from under some sampling settings, as the page's sampling view
/// shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reshaped {
    /// How many tokens can still be drawn.
    pub kept: usize,
    /// The `k` likeliest tokens of the model's own distribution, in its order, each with its
    /// probability under the settings (0: cut).
    pub top: Vec<(u32, f32)>,
}

impl Reshaped {
    /// `config` applied to `sorted` (the whole vocabulary best first, [`NextToken::sorted`]); the first
    /// `k` tokens are reported.
    pub fn new(sorted: &[(u32, f32)], config: &SamplerConfig, k: usize) -> Self {
        let probs = config.reshape(sorted);
        let kept = probs.iter().filter(|&&p| p > 0.0).count();
        Self { kept, top: sorted.iter().zip(&probs).take(k).map(|(&(id, _), &p)| (id, p)).collect() }
    }
}

/// A guessed next word, scored: its pieces' probabilities one after the other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuessScore {
    /// The guess's tokens, as it would follow the text.
    pub pieces: Vec<u32>,
    /// `p(piece i | text, pieces before i)`, one per piece.
    pub piece_probs: Vec<f32>,
    /// Their product: the probability that the model writes exactly these pieces next.
    pub prob: f32,
    /// Rank of the first piece among every token (1: the likeliest).
    pub rank: usize,
}

/// The text whose tokens are a guessed word following `context`: the guess with a space before it,
/// unless the context ends in a space, an apostrophe, a hyphen or an opening bracket or quote (the
/// word is glued on, as in "l'" + "école"), or the guess starts with a space or a punctuation mark.
/// Byte-level BPE splits a word with its leading space into its own pieces, so these are the pieces
/// the model would write after the context.
pub fn guess_text(context: &str, guess: &str) -> String {
    let glued = context.chars().last().is_none_or(|c| c.is_whitespace() || "'’-([«\"“/".contains(c));
    let starts_word = guess.chars().next().is_some_and(char::is_alphanumeric);
    if glued || !starts_word {
        guess.to_owned()
    } else {
        format!(" {guess}")
    }
}

impl Engine {
    /// The ids of a plain text as a prompt: the BOS token first when the model's metadata asks for one,
    /// then the text as a user typed it (control-token strings stay text).
    pub fn text_prompt(&self, text: &str) -> Result<Vec<u32>> {
        let bos = self.tokenizer.add_bos.then_some(self.tokenizer.bos).flatten();
        Ok(bos.into_iter().chain(self.tokenizer.encode_text(text)?).collect())
    }

    /// The model on the exact path (a view of the same weights, no copy).
    pub(crate) fn exact_model(&self) -> Model {
        Model { precision: Precision::Exact, ..self.model.clone() }
    }

    /// The next-token distribution after `ids`, and with `guess`, the probabilities of those pieces
    /// written next one after the other (on the exact CPU path, see the module docs).
    pub fn predict(&self, ids: &[u32], guess: Option<&[u32]>) -> Result<(NextToken, Option<GuessScore>)> {
        if ids.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        let pieces = guess.unwrap_or_default();
        let model = self.exact_model();
        let mut cache = model.new_cache(ids.len() + pieces.len().saturating_sub(1));
        let next = NextToken::from_logits(model.forward(&mut cache, ids, LogitsFor::Last, false)?.logits);
        // Rows i of this pass: the distribution after piece i, which scores piece i + 1.
        let rows = match pieces.len() {
            0 | 1 => Vec::new(),
            n => model.forward(&mut cache, &pieces[..n - 1], LogitsFor::All, false)?.logits,
        };
        Ok(scored(next, pieces, &rows, model.config.n_vocab))
    }

    /// [`Self::predict`] on the engine's backend: on the GPU when the engine has one (exact too, its KV
    /// cache in f16), else the CPU's exact path; also says whether the GPU computed it. A GPU that fails
    /// (lost, busy, out of memory) leaves the work to the CPU.
    pub async fn predict_on_backend(
        &self,
        ids: &[u32],
        guess: Option<&[u32]>,
    ) -> Result<(NextToken, Option<GuessScore>, bool)> {
        if ids.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        let pieces = guess.unwrap_or_default();
        if let Some(gpu) = self.gpu() {
            let done = async {
                let mut session = gpu.session(ids.len() + pieces.len().saturating_sub(1))?;
                let next = session.forward(ids, LogitsFor::Last, false, Readback::Logits).await?;
                let rows = match pieces.len() {
                    0 | 1 => Vec::new(),
                    n => session.forward(&pieces[..n - 1], LogitsFor::All, false, Readback::Logits).await?.logits,
                };
                Ok::<_, EngineError>((next.logits, rows))
            };
            match done.await {
                Ok((last, rows)) => {
                    let (next, score) = scored(NextToken::from_logits(last), pieces, &rows, self.model.config.n_vocab);
                    return Ok((next, score, true));
                }
                Err(err) if err.falls_back_to_cpu() => {}
                Err(err) => return Err(err),
            }
        }
        let (next, score) = self.predict(ids, guess)?;
        Ok((next, score, false))
    }
}

/// The distribution `next` and, for a guess of `pieces`, its score: `rows` holds the distribution after
/// each piece but the last (`(pieces − 1, n_vocab)` logits), which scores the piece after it.
fn scored(next: NextToken, pieces: &[u32], rows: &[f32], n_vocab: usize) -> (NextToken, Option<GuessScore>) {
    let Some(&first) = pieces.first() else { return (next, None) };
    let mut piece_probs = vec![next.prob(first)];
    for (row, &id) in rows.chunks_exact(n_vocab).zip(&pieces[1..]) {
        piece_probs.push((row[id as usize] - log_sum_exp(row)).exp());
    }
    let score =
        GuessScore { pieces: pieces.to_vec(), prob: piece_probs.iter().product(), piece_probs, rank: next.rank(first) };
    (next, Some(score))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guess_gets_a_space_unless_it_is_glued_on() {
        assert_eq!(guess_text("Le chat mange la", "souris"), " souris");
        assert_eq!(guess_text("Le chat mange la ", "souris"), "souris");
        assert_eq!(guess_text("Il va à l'", "école"), "école");
        assert_eq!(guess_text("Il va à l’", "école"), "école");
        assert_eq!(guess_text("Bonjour", ","), ",");
        assert_eq!(guess_text("Bonjour", " toi"), " toi");
        assert_eq!(guess_text("", "Il"), "Il");
    }

    #[test]
    fn rank_counts_every_token_ahead_ties_to_the_lower_id() {
        let next = NextToken::from_logits(vec![1.0, 3.0, 2.0, 3.0, -1.0]);
        let ranks: Vec<usize> = (0..5).map(|id| next.rank(id)).collect();
        assert_eq!(ranks, [4, 1, 3, 2, 5]);
        assert_eq!(next.top(5).iter().map(|c| c.id).collect::<Vec<_>>(), [1, 3, 2, 0, 4]);
        assert_eq!(next.rank(9), 0);
        let total: f32 = (0..5).map(|id| next.prob(id)).sum();
        assert!((total - 1.0).abs() < 1e-6);
    }

    #[test]
    fn reshaped_keeps_the_model_order_and_sums_to_one_over_what_is_kept() {
        let next = NextToken::from_logits(vec![1.0, 3.0, 2.5, -1.0, 0.0, 2.9]);
        let sorted = next.sorted();
        let greedy = Reshaped::new(&sorted, &SamplerConfig::default(), 3);
        assert_eq!((greedy.kept, greedy.top), (1, vec![(1, 1.0), (5, 0.0), (2, 0.0)]));
        let config = SamplerConfig { temperature: 1.0, top_k: 2, ..SamplerConfig::default() };
        let two = Reshaped::new(&sorted, &config, 6);
        assert_eq!(two.kept, 2);
        let want = 1.0 / (1.0 + (-0.1f32).exp());
        assert!((two.top[0].1 - want).abs() < 1e-6 && (two.top[0].1 + two.top[1].1 - 1.0).abs() < 1e-6);
        assert!(two.top[2..].iter().all(|&(_, p)| p == 0.0));
    }
}
