//! The masked-word game ("Schtroumpf"): a sentence with a blank (`___`), and candidate words ranked by
//! the probability the model gives the *whole* completed sentence. A causal model reads left to right,
//! so this is how it can use the words after the blank too. It runs on the engine's backend: the GPU
//! when there is one (exact), else the CPU at the model's precision (8-bit activations by default, as
//! the chat; exact with `--exact`): ten candidates cost some fifty tokens' passes, which the exact path
//! makes several times slower on the CPU.
//!
//! A sentence is scored after a start token (the model's BOS, else its EOS: what it reads between
//! documents), as one plain string: `log p = Σ_i log p(token_i | tokens before i)` over every token of the
//! sentence. Candidates share the sentence's beginning, so its tokens are run once and each candidate's
//! tokens from where they part.

use serde::{Deserialize, Serialize};

use crate::backend::gpu::Readback;
use crate::error::{EngineError, Result};
use crate::generate::Engine;
use crate::model::LogitsFor;
use crate::predict::NextToken;
use crate::session::Session;
use crate::trace::log_sum_exp;

/// The blank in a sentence.
pub const BLANK: &str = "___";

/// A candidate word, scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FillScore {
    /// The word.
    pub word: String,
    /// The completed sentence's tokens, start token first.
    pub ids: Vec<u32>,
    /// `Σ log p(token | tokens before)` over the sentence (natural log).
    pub logprob: f64,
    /// `exp(logprob)` normalised over the candidates scored together.
    pub prob: f64,
}

/// `text` with its (first) blank replaced by `word`.
pub fn fill_in(text: &str, word: &str) -> String {
    text.replacen(BLANK, word, 1)
}

impl Engine {
    /// The token a scored sentence starts after: BOS if the model has one, else EOS.
    pub fn sentence_start(&self) -> Option<u32> {
        self.tokenizer.bos.or(self.tokenizer.eos)
    }

    /// Scores each candidate word in the blank of `text`, best first (ties keep the given order), on the
    /// engine's backend: the GPU when it has one (exact), else the CPU at the model's precision. The
    /// second value says whether the GPU scored them.
    pub async fn fill(&self, text: &str, candidates: &[String]) -> Result<(Vec<FillScore>, bool)> {
        if !text.contains(BLANK) {
            return Err(EngineError::Tokenizer(format!("the sentence has no blank ({BLANK})")));
        }
        let words: Vec<&str> = candidates.iter().map(|w| w.trim()).filter(|w| !w.is_empty()).collect();
        if words.is_empty() {
            return Err(EngineError::Tokenizer("no candidate word to try".into()));
        }
        let start = self.sentence_start().ok_or_else(|| {
            EngineError::Tokenizer("the model names no BOS or EOS token to start a sentence after".into())
        })?;
        let sentences = (words.iter())
            .map(|w| Ok(std::iter::once(start).chain(self.tokenizer.encode_text(&fill_in(text, w))?).collect()))
            .collect::<Result<Vec<Vec<u32>>>>()?;
        if sentences.iter().any(|ids| ids.len() < 2) {
            return Err(EngineError::EmptyPrompt);
        }
        let longest = sentences.iter().map(Vec::len).max().unwrap_or(0);
        if longest > self.model.config.n_ctx {
            return Err(EngineError::ContextFull { needed: longest, limit: self.model.config.n_ctx });
        }
        let (mut session, _) = self.session(longest);
        let mut on_gpu = session.is_gpu();
        let logprobs = match score_sentences(&mut session, &sentences, self.model.config.n_vocab).await {
            // A GPU that fails (lost, busy with another pass) leaves the work to the CPU.
            Err(err) if on_gpu && err.is_gpu_failure() => {
                on_gpu = false;
                score_sentences(&mut Session::cpu(&self.model, longest), &sentences, self.model.config.n_vocab).await
            }
            other => other,
        }?;
        let mut scores: Vec<FillScore> = (words.iter().zip(sentences).zip(logprobs))
            .map(|((word, ids), logprob)| FillScore { word: (*word).to_owned(), ids, logprob, prob: 0.0 })
            .collect();
        let best = scores.iter().map(|s| s.logprob).fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = scores.iter().map(|s| (s.logprob - best).exp()).sum();
        for s in &mut scores {
            s.prob = (s.logprob - best).exp() / total;
        }
        scores.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
        Ok((scores, on_gpu))
    }

    /// The model's own candidates for the blank: its likeliest next tokens after the words before the
    /// blank that look like whole words (letters only: after a space, two or more; glued on after an
    /// apostrophe or a hyphen as in "l'___", three or more), at most `n`, likeliest first. At the model's precision, as [`Self::fill`].
    pub fn propose(&self, text: &str, n: usize) -> Result<Vec<String>> {
        let raw = text.split(BLANK).next().unwrap_or_default();
        let glued = raw.chars().last().is_some_and(|c| "'’-".contains(c));
        let before = raw.trim_end();
        let ids: Vec<u32> = self.sentence_start().into_iter().chain(self.tokenizer.encode_text(before)?).collect();
        if ids.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        let mut cache = self.model.new_cache(ids.len());
        let next = NextToken::from_logits(self.model.forward(&mut cache, &ids, LogitsFor::Last, false)?.logits);
        let mut words = Vec::new();
        for candidate in next.top(200) {
            let text = self.tokenizer.decode(&[candidate.id])?;
            let word = text.trim();
            let placed = text.starts_with(' ') != glued;
            // Glued on, a short token is more often a piece of a longer word than a word.
            let shortest = if glued { 3 } else { 2 };
            let wordlike = placed && word.chars().count() >= shortest && word.chars().all(char::is_alphabetic);
            if wordlike && !words.iter().any(|w: &String| w.eq_ignore_ascii_case(word)) {
                words.push(word.to_owned());
            }
            if words.len() == n {
                break;
            }
        }
        Ok(words)
    }
}

/// `Σ log p(token | tokens before)` of each sentence after its first token. The tokens every sentence
/// begins with (at least the first, at most all but one) are run once; each sentence's own tokens run
/// from where they part, the cache truncated back to there between sentences.
async fn score_sentences(session: &mut Session<'_>, sentences: &[Vec<u32>], n_vocab: usize) -> Result<Vec<f64>> {
    let shared = (1..sentences[0].len())
        .take_while(|&n| sentences.iter().all(|ids| ids.len() > n && ids[..n] == sentences[0][..n]))
        .last()
        .unwrap_or(1);
    let log_p = |row: &[f32], id: u32| f64::from(row[id as usize] - log_sum_exp(row));
    // The logits of every row, on either backend (the GPU reads them back).
    let (all, logits) = (LogitsFor::All, Readback::Logits);
    session.truncate(0);
    // Rows r of the shared pass: the distribution after token r, which scores token r + 1.
    let shared_rows = session.forward(&sentences[0][..shared], all, false, logits).await?.logits;
    let shared_logprob: f64 =
        (1..shared).map(|i| log_p(&shared_rows[(i - 1) * n_vocab..i * n_vocab], sentences[0][i])).sum();
    let last_shared = &shared_rows[(shared - 1) * n_vocab..shared * n_vocab];
    let mut scores = Vec::with_capacity(sentences.len());
    for ids in sentences {
        session.truncate(shared);
        let rest = &ids[shared..];
        let mut logprob = shared_logprob + log_p(last_shared, rest[0]);
        if rest.len() > 1 {
            let rows = session.forward(&rest[..rest.len() - 1], all, false, logits).await?.logits;
            logprob += rows.chunks_exact(n_vocab).zip(&rest[1..]).map(|(row, &id)| log_p(row, id)).sum::<f64>();
        }
        scores.push(logprob);
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::fill_in;

    #[test]
    fn the_first_blank_takes_the_word() {
        assert_eq!(fill_in("Le ___ mange la souris.", "chat"), "Le chat mange la souris.");
        assert_eq!(fill_in("___ et ___", "a"), "a et ___");
    }
}
