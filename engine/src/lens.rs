//! The logit lens: the model's final norm and output matrix applied to the residual stream after every
//! block, at every position — what the model would predict if it stopped there. Read down a column, it
//! shows the guess forming through the layers; the last layer is the model's own prediction.
//!
//! It costs one output-head product per layer and position (30 × 49,152 × 576 multiply-adds per token
//! for the default model). On the CPU it runs at the model's precision (8-bit activations by default)
//! and hands each layer over as soon as it is computed; on the GPU (exact), one pass computes every
//! layer and reads back only each cell's best tokens and log Σ exp.

use serde::{Deserialize, Serialize};

use crate::backend::cpu::map_items;
use crate::backend::gpu::Hidden;
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
            // Each cell's log Σ exp and top k (about 0.2 ms a cell in wasm), on every thread.
            let cells = map_items(logits.len() / n_vocab, logits.len() * 4, &|i| {
                let row = &logits[i * n_vocab..(i + 1) * n_vocab];
                let log_z = log_sum_exp(row);
                LensCell { top: top_k(row, k).into_iter().map(|(id, l)| (id, (l - log_z).exp())).collect() }
            });
            on_layer(layer, cells);
        })?;
        Ok(())
    }

    /// The lens on the engine's backend: on the GPU when the engine has one (at most
    /// [`LENS_CANDIDATES`](crate::backend::gpu::LENS_CANDIDATES) tokens per cell), else [`Self::lens`]. A GPU that fails (lost, out of memory)
    /// leaves the work to the CPU. Returns whether the GPU computed it.
    pub async fn lens_on_backend(
        &self,
        ids: &[u32],
        k: usize,
        on_layer: &mut dyn FnMut(usize, Vec<LensCell>),
    ) -> Result<bool> {
        if ids.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        if let Some(gpu) = self.gpu() {
            let layers = match gpu.session(ids.len()) {
                Ok(mut session) => session.lens(ids).await,
                Err(err) => Err(err),
            };
            match layers {
                Ok(layers) => {
                    for (l, rows) in layers.into_iter().enumerate() {
                        let cells = (rows.into_iter())
                            .map(|row| LensCell {
                                top: row.top.iter().take(k).map(|&(id, l)| (id, (l - row.log_z).exp())).collect(),
                            })
                            .collect();
                        on_layer(l, cells);
                    }
                    return Ok(true);
                }
                Err(err) if err.falls_back_to_cpu() => {}
                Err(err) => return Err(err),
            }
        }
        self.lens(ids, k, on_layer)?;
        Ok(false)
    }

    /// The final norm's output for `ids` on the GPU and, with `every_block`, the residual stream after
    /// every block (the map of words' "same word in two sentences" reads the blocks, the reward model's
    /// features the normed rows): `None` when the engine has no GPU, or the GPU failed in a way that
    /// leaves the work to the CPU.
    pub(crate) async fn gpu_hidden(&self, ids: &[u32], every_block: bool) -> Result<Option<Hidden>> {
        let Some(gpu) = self.gpu() else { return Ok(None) };
        let hidden = match gpu.session(ids.len()) {
            Ok(mut session) => session.hidden(ids, every_block).await,
            Err(err) => Err(err),
        };
        match hidden {
            Ok(hidden) => Ok(Some(hidden)),
            Err(err) if err.falls_back_to_cpu() => Ok(None),
            Err(err) => Err(err),
        }
    }
}
