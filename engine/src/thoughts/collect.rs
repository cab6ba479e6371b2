//! The hidden states a sparse autoencoder learns from: one layer's residual stream over passages of a
//! text (the built-in French stories and English sonnets, the student's own text, the answers the model
//! writes), every tenth passage held out to measure the reconstruction on vectors it never trained on.
//! Memory is bounded: [`MAX_VECTORS`] vectors at most (38 MB for the default model).

use crate::error::Result;
use crate::generate::Engine;
use crate::train::pretrain::{HISTOIRES, SONNETS};

/// Most vectors kept (16,384 × 576 f32 = 38 MB for the default model).
pub const MAX_VECTORS: usize = 16_384;
/// Tokens per passage read (after the start token).
pub const PASSAGE_TOKENS: usize = 64;

/// The built-in text: the pre-training lab's French stories (written for Glassbox) and the first part of
/// Shakespeare's sonnets (public domain), about 2,000 tokens each.
pub const BUILT_IN: [(&str, &str); 2] = [("fr", HISTOIRES), ("en", SONNETS)];

/// Characters of each built-in text read.
const BUILT_IN_CHARS: usize = 8_000;

/// Collected hidden states and where each comes from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collection {
    /// The block read.
    pub layer: usize,
    /// Passages read so far, start token first.
    pub passages: Vec<Vec<u32>>,
    /// Training vectors `(n, d)`.
    pub train: Vec<f32>,
    /// `(passage, position)` of each training vector.
    pub train_from: Vec<(u32, u32)>,
    /// Held-out vectors `(m, d)`.
    pub held_out: Vec<f32>,
    /// `(passage, position)` of each held-out vector.
    pub held_out_from: Vec<(u32, u32)>,
}

impl Collection {
    /// An empty collection at block `layer`.
    pub fn new(layer: usize) -> Self {
        Self { layer, ..Self::default() }
    }

    /// Vectors kept.
    pub fn len(&self, d: usize) -> usize {
        (self.train.len() + self.held_out.len()) / d.max(1)
    }

    /// Nothing collected yet.
    pub fn is_empty(&self) -> bool {
        self.passages.is_empty()
    }

    /// Room for this many more vectors.
    pub fn room(&self, d: usize) -> usize {
        MAX_VECTORS.saturating_sub(self.len(d))
    }

    /// Reads one passage (start token first) and keeps its hidden states (every tenth passage held out);
    /// returns how many vectors were kept (fewer than its tokens when memory is full).
    pub fn read(&mut self, engine: &Engine, passage: &[u32]) -> Result<usize> {
        let d = engine.model.config.n_embd;
        let keep = (passage.len().saturating_sub(1)).min(self.room(d));
        if keep == 0 {
            return Ok(0);
        }
        let rows = engine.hidden_rows(&passage[..keep + 1], self.layer)?;
        let index = self.passages.len() as u32;
        let held = self.passages.len() % 10 == 9;
        let (rows_to, from_to) =
            if held { (&mut self.held_out, &mut self.held_out_from) } else { (&mut self.train, &mut self.train_from) };
        rows_to.extend_from_slice(&rows);
        from_to.extend((1..=keep as u32).map(|pos| (index, pos)));
        self.passages.push(passage[..keep + 1].to_vec());
        Ok(keep)
    }

    /// The token of a vector and the few tokens before it: `(context, token)`.
    pub fn context(&self, from: (u32, u32), before: usize) -> (&[u32], u32) {
        let passage = &self.passages[from.0 as usize];
        let pos = from.1 as usize;
        (&passage[pos.saturating_sub(before).max(1)..pos], passage[pos])
    }
}

impl Engine {
    /// The built-in text as passages, French and English alternating.
    pub fn built_in_passages(&self) -> Result<Vec<Vec<u32>>> {
        let mut texts = Vec::new();
        for (_, text) in BUILT_IN {
            let cut = text.char_indices().nth(BUILT_IN_CHARS).map_or(text.len(), |(at, _)| at);
            let cut = text[..cut].rfind(char::is_whitespace).unwrap_or(cut);
            texts.push(self.passages(&text[..cut], PASSAGE_TOKENS)?);
        }
        let longest = texts.iter().map(Vec::len).max().unwrap_or(0);
        let mut out = Vec::new();
        for i in 0..longest {
            out.extend(texts.iter().filter_map(|t| t.get(i).cloned()));
        }
        Ok(out)
    }
}
