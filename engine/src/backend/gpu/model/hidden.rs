//! The residual stream on the GPU: one forward pass that copies the stream after every block, and the
//! final norm's output after the last, into one readback per chunk of [`CHUNK`] tokens. What the map of
//! words (a word's vector in context, block by block) and the preference game's reward features (the
//! final normed state) read; the CPU computes the same with [`crate::model::Model::forward_observed`].

use super::{GpuSession, CHUNK};
use crate::error::{EngineError, Result};

/// The residual stream of a text, block by block.
#[derive(Debug, Clone, PartialEq)]
pub struct Hidden {
    /// `blocks[l]`: `(n, n_embd)`, the stream after block `l`.
    pub blocks: Vec<Vec<f32>>,
    /// `(n, n_embd)`: the last block's stream through the final norm (what the output head reads).
    pub normed: Vec<f32>,
}

impl GpuSession<'_> {
    /// The final norm's output for `tokens` (from position 0) and, with `every_block`, the residual
    /// stream after every block (else `blocks` is empty: only the normed rows are read back).
    /// Afterwards the session holds `tokens`, as after [`Self::forward`].
    pub async fn hidden(&mut self, tokens: &[u32], every_block: bool) -> Result<Hidden> {
        let _busy = self.begin_whole_text(tokens)?;
        let m = self.model;
        let (ctx, c, s) = (&m.ctx, &m.config, &m.s);
        let d = c.n_embd;
        let n = tokens.len();
        let kept_blocks = if every_block { c.n_layer } else { 0 };
        let blocks = (0..kept_blocks).map(|_| Vec::with_capacity(n * d)).collect();
        let mut hidden = Hidden { blocks, normed: Vec::with_capacity(n * d) };
        for (ci, chunk) in tokens.chunks(CHUNK).enumerate() {
            let (start, cn) = (ci * CHUNK, chunk.len());
            self.begin_chunk(start, chunk);
            // Per block, then the normed state: `cn` rows of `d` floats each.
            let region = (cn * d * 4) as u64;
            let bytes = region * (kept_blocks as u64 + 1);
            let staging = self.take_staging(bytes)?;
            let target = &self.staging[staging].buffer;
            let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            let rows = cn as u32;
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
                m.embed_op.record(&mut pass, rows, rows);
            }
            for l in 0..c.n_layer {
                // A block's pass ends before its stream is copied (copies happen between passes).
                self.record_block(l, &mut encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default()), rows);
                if every_block {
                    encoder.copy_buffer_to_buffer(&s.x.buffer, 0, target, l as u64 * region, region);
                }
            }
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
                m.final_ops[0].record(&mut pass, rows, rows);
            }
            encoder.copy_buffer_to_buffer(&s.h.buffer, 0, target, kept_blocks as u64 * region, region);
            let index = ctx.queue.submit(std::iter::once(encoder.finish()));
            let data = ctx.read(target, bytes, Some(index)).await?;
            let floats: Vec<f32> = data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            if floats.iter().any(|v| !v.is_finite()) {
                return Err(EngineError::Gpu("the GPU produced a non-finite hidden state".into()));
            }
            let per = cn * d;
            for (l, block) in hidden.blocks.iter_mut().enumerate() {
                block.extend_from_slice(&floats[l * per..(l + 1) * per]);
            }
            hidden.normed.extend_from_slice(&floats[kept_blocks * per..(kept_blocks + 1) * per]);
            self.len = start + cn;
        }
        Ok(hidden)
    }
}
