//! The residual stream on the GPU: one forward pass that copies the stream after every block, and the
//! final norm's output after the last, into one readback per chunk of [`CHUNK`] tokens. What the map of
//! words (a word's vector in context, block by block) and the preference game's reward features (the
//! final normed state) read; the CPU computes the same with [`crate::model::Model::forward_observed`].

use super::super::words_to_bytes;
use super::{Busy, GpuSession, StepUniform, CHUNK};
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
        let m = self.model;
        let (ctx, c, s) = (&m.ctx, &m.config, &m.s);
        if tokens.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        c.check_pass(tokens, 0, self.capacity)?;
        ctx.check()?;
        let _busy = Busy::take(&m.busy)?;
        self.len = 0;
        self.has_pick = false;
        let d = c.n_embd;
        let n = tokens.len();
        let kept_blocks = if every_block { c.n_layer } else { 0 };
        let blocks = (0..kept_blocks).map(|_| Vec::with_capacity(n * d)).collect();
        let mut hidden = Hidden { blocks, normed: Vec::with_capacity(n * d) };
        for (ci, chunk) in tokens.chunks(CHUNK).enumerate() {
            let (start, cn) = (ci * CHUNK, chunk.len());
            ctx.write_step(&StepUniform {
                start: start as u32,
                n: cn as u32,
                head_row0: 0,
                head_n: cn as u32,
                trace: false,
                trace_first: 0,
                trace_rows: 0,
                trace_keys: (start + cn) as u32,
            });
            ctx.queue.write_buffer(&s.ids, 0, &words_to_bytes(chunk));
            // Per block, then the normed state: `cn` rows of `d` floats each.
            let region = (cn * d * 4) as u64;
            let bytes = region * (kept_blocks as u64 + 1);
            let staging = self.take_staging(bytes)?;
            let target = &self.staging[staging].buffer;
            let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            let (rows, head_n) = (cn as u32, cn as u32);
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
                m.embed_op.record(&mut pass, rows, head_n);
            }
            for (l, ops) in m.layer_ops.iter().enumerate() {
                // A block's pass ends before its stream is copied (copies happen between passes).
                {
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
                    ops[0].record(&mut pass, rows, head_n);
                    ops[1].record(&mut pass, rows, head_n);
                    self.rope_ops[l].record(&mut pass, rows, head_n);
                    self.attention_ops[l].record(&mut pass, rows, head_n);
                    for op in &ops[2..] {
                        op.record(&mut pass, rows, head_n);
                    }
                }
                if every_block {
                    encoder.copy_buffer_to_buffer(&s.x.buffer, 0, target, l as u64 * region, region);
                }
            }
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
                m.final_ops[0].record(&mut pass, rows, head_n);
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
