//! What the passes over a whole text share (the logit lens, the residual stream): starting from
//! position 0, each chunk's step and ids, and one block's dispatches.

use super::super::words_to_bytes;
use super::{Busy, GpuSession, StepUniform};
use crate::error::{EngineError, Result};

impl<'m> GpuSession<'m> {
    /// Begins a pass over all of `tokens` from position 0: checks them, takes the model and forgets
    /// what the session held.
    pub(super) fn begin_whole_text(&mut self, tokens: &[u32]) -> Result<Busy<'m>> {
        let m = self.model;
        if tokens.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        m.config.check_pass(tokens, 0, self.capacity)?;
        m.ctx.check()?;
        let busy = Busy::take(&m.busy)?;
        self.len = 0;
        self.has_pick = false;
        Ok(busy)
    }

    /// Writes the step and the ids of the chunk `chunk` at position `start` (every row through the
    /// head, nothing traced).
    pub(super) fn begin_chunk(&self, start: usize, chunk: &[u32]) {
        let (ctx, cn) = (&self.model.ctx, chunk.len());
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
        ctx.queue.write_buffer(&self.model.s.ids, 0, &words_to_bytes(chunk));
    }

    /// Records block `l` for `n` rows: its norm and first product, RoPE, attention, then the rest.
    pub(super) fn record_block(&self, l: usize, pass: &mut wgpu::ComputePass<'_>, n: u32) {
        let ops = &self.model.layer_ops[l];
        ops[0].record(pass, n, n);
        ops[1].record(pass, n, n);
        self.rope_ops[l].record(pass, n, n);
        self.attention_ops[l].record(pass, n, n);
        for op in &ops[2..] {
            op.record(pass, n, n);
        }
    }
}
