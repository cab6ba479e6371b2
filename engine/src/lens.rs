//! The logit lens: the model's final norm and output matrix applied to the residual stream after every
//! block, at every position — what the model would predict if it stopped there. Read down a column, it
//! shows the guess forming through the layers; the last layer is the model's own prediction.
//!
//! It costs one output-head product per layer and position (30 × 49,152 × 576 multiply-adds per token
//! for the default model), so it runs at the model's precision (8-bit activations by default) and hands
//! each layer over as soon as it is computed.

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::generate::Engine;
use crate::model::LogitsFor;
use crate::trace::{log_sum_exp, top_k};

/// One cell: the likeliest tokens at one layer and position, with their probabilities, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LensCell {
    /// `(id, probability)`, best first.
    pub top: Vec<(u32, f32)>,
}

impl Engine {
    /// The lens over `ids`: calls `on_layer(l, cells)` for each block `l` in order, one cell per
    /// position, each with its `k` likeliest tokens.
    pub fn lens(&self, ids: &[u32], k: usize, on_layer: &mut dyn FnMut(usize, Vec<LensCell>)) -> Result<()> {
        if ids.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        let model = &self.model;
        let n_vocab = model.config.n_vocab;
        let mut cache = model.new_cache(ids.len());
        model.forward_observed(&mut cache, ids, LogitsFor::Last, false, &mut |layer, x| {
            let logits = model.output_logits(x);
            let cells = logits
                .chunks_exact(n_vocab)
                .map(|row| {
                    let log_z = log_sum_exp(row);
                    LensCell { top: top_k(row, k).into_iter().map(|(id, l)| (id, (l - log_z).exp())).collect() }
                })
                .collect();
            on_layer(layer, cells);
        })?;
        Ok(())
    }
}
