//! The logit lens on the GPU: one pass through the blocks in which, after each block, the final norm
//! and the output head run on the residual stream and `rows_top.wgsl` sums each row up (log Σ exp and
//! the best tokens) into that block's region. A chunk of 64 tokens reads back 30 × 64 × 18 words
//! instead of 30 × 64 vocabularies. The blocks' own work is the forward pass's: the head's products are
//! what the lens adds.

use super::super::rows_top::{self, RowTop};
use super::{GpuSession, CHUNK};
use crate::error::{EngineError, Result};

impl GpuSession<'_> {
    /// The lens over `tokens` (from position 0): per block, per token, log Σ exp of what the output
    /// head makes of the residual stream after that block, and its [`rows_top::R`] best tokens. The
    /// pass is a forward pass too: afterwards the session holds `tokens`, as after [`Self::forward`].
    pub async fn lens(&mut self, tokens: &[u32]) -> Result<Vec<Vec<RowTop>>> {
        let _busy = self.begin_whole_text(tokens)?;
        let m = self.model;
        let (ctx, c, s) = (&m.ctx, &m.config, &m.s);
        let mut layers: Vec<Vec<RowTop>> = vec![Vec::with_capacity(tokens.len()); c.n_layer];
        for (ci, chunk) in tokens.chunks(CHUNK).enumerate() {
            let (start, cn) = (ci * CHUNK, chunk.len());
            self.begin_chunk(start, chunk);
            let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
                let n = cn as u32;
                m.embed_op.record(&mut pass, n, n);
                for l in 0..c.n_layer {
                    self.record_block(l, &mut pass, n);
                    // The final norm writes the scratch the next block's first norm overwrites anyway.
                    m.final_ops[0].record(&mut pass, n, n);
                    m.final_ops[1].record(&mut pass, n, n);
                    m.lens_ops[l].record(&mut pass, n, n);
                }
            }
            let words = CHUNK * rows_top::ROW_WORDS;
            let bytes = (c.n_layer * words * 4) as u64;
            let staging = self.take_staging(bytes)?;
            encoder.copy_buffer_to_buffer(&s.lens.buffer, 0, &self.staging[staging].buffer, 0, bytes);
            let index = ctx.queue.submit(std::iter::once(encoder.finish()));
            let data = ctx.read(&self.staging[staging].buffer, bytes, Some(index)).await?;
            let data: Vec<u32> = data.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            for (l, rows) in layers.iter_mut().enumerate() {
                let region = &data[l * words..l * words + cn * rows_top::ROW_WORDS];
                for row in rows_top::parse(region) {
                    if row.top.is_empty() || !row.log_z.is_finite() {
                        return Err(EngineError::Gpu("the GPU produced no finite logit".into()));
                    }
                    rows.push(row);
                }
            }
            self.len = start + cn;
        }
        Ok(layers)
    }
}
