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
        Self::with_log_z(logits, k, log_sum_exp(logits))
    }

    /// [`Distribution::from_logits`] for a caller that already has `log_z = log_sum_exp(logits)`.
    pub fn with_log_z(logits: &[f32], k: usize, log_z: f32) -> Self {
        let entropy = -logits
            .iter()
            .map(|&l| {
                let lp = l - log_z;
                lp.exp() * lp
            })
            .sum::<f32>();
        let top = top_k(logits, k)
            .into_iter()
            .map(|(id, logit)| Candidate { id, logit, prob: (logit - log_z).exp() })
            .collect();
        Self { top, entropy }
    }
}

/// `ln Σ exp(logits)`, computed stably: `softmax(logits)[i] = exp(logits[i] − log_sum_exp(logits))`.
pub fn log_sum_exp(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    logits.iter().map(|l| (l - max).exp()).sum::<f32>().ln() + max
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
