//! The pre-training lab's tiny GPT as a player of the next-word game: the same questions the game asks
//! the language model (the distribution after a text, a guessed word's probability, continuations drawn
//! with the sampling settings), answered one character at a time. The answers have the language model's
//! types ([`NextToken`], [`GuessScore`]), so the game, the sampling view and their tests do not care
//! which model plays.

use crate::predict::{GuessScore, NextToken};
use crate::sample::{Sampler, SamplerConfig};
use crate::train::pretrain::Corpus;
use crate::train::Gpt;

/// The ids the tiny model reads for `text`: its characters the alphabet has (others are left out, as
/// [`Corpus::encode`] does); an empty result reads as a newline, where [`super::pretrain::sample`]
/// starts too.
pub fn read(corpus: &Corpus, text: &str) -> Vec<u32> {
    let ids = corpus.encode(text);
    if ids.is_empty() {
        corpus.encode("\n").first().map_or_else(|| vec![0], |&nl| vec![nl])
    } else {
        ids
    }
}

/// The distribution after `ids` (the last `context` of them read). Its logits are the log-probabilities
/// of the model's softmax (a probability that underflowed to 0 counts as the smallest normal f32), so
/// temperature, top-k and top-p reshape it as they do the language model's.
pub fn next_token(gpt: &Gpt, ids: &[u32]) -> NextToken {
    let window = &ids[ids.len().saturating_sub(gpt.config.context)..];
    if window.is_empty() {
        return NextToken::from_logits(vec![0.0; gpt.config.vocab]);
    }
    let (pass, _) = gpt.forward(window, 1, None);
    NextToken::from_logits(pass.next(0, window.len() - 1).iter().map(|&p| p.max(f32::MIN_POSITIVE).ln()).collect())
}

/// The distribution after `ids` and, with `guess`, those characters scored as written next one after
/// the other (each read with the ones before it).
pub fn predict(gpt: &Gpt, ids: &[u32], guess: Option<&[u32]>) -> (NextToken, Option<GuessScore>) {
    let next = next_token(gpt, ids);
    let Some(&first) = guess.and_then(<[u32]>::first) else { return (next, None) };
    let pieces = guess.unwrap_or_default();
    let mut read = ids.to_vec();
    let mut piece_probs = Vec::with_capacity(pieces.len());
    for (i, &id) in pieces.iter().enumerate() {
        piece_probs.push(if i == 0 { next.prob(id) } else { next_token(gpt, &read).prob(id) });
        read.push(id);
    }
    let score =
        GuessScore { pieces: pieces.to_vec(), prob: piece_probs.iter().product(), piece_probs, rank: next.rank(first) };
    (next, Some(score))
}

/// `count` characters after `ids` drawn with `config` (its seed), as the game's *Three answers* writes
/// them for the language model.
pub fn continue_text(gpt: &Gpt, corpus: &Corpus, ids: &[u32], config: &SamplerConfig, count: usize) -> String {
    let mut sampler = Sampler::new(config.clone());
    let mut read = ids.to_vec();
    for _ in 0..count {
        let sorted = next_token(gpt, &read).sorted();
        let u = sampler.draw();
        read.push(sampler.pick(&sorted, u));
    }
    corpus.decode(&read[ids.len()..])
}
