//! A forward pass on the GPU: recorded into one compute pass per chunk of up to [`CHUNK`] tokens and
//! submitted without waiting ([`GpuSession::submit`]); its readback — the picked token, the best
//! tokens, the logits, the attention — awaited apart ([`GpuSession::collect`]), so the next token's pass
//! can be on its way first.

use super::super::topk::{self, PickParams};
use super::super::{words_to_bytes, Dispatch, StepCounters, StepUniform};
use super::{Busy, GpuSession, Input, Picked, Readback, Submitted, CHUNK};
use crate::error::{EngineError, Result};
use crate::model::{LogitsFor, MAX_TRACE_VALUES};
use crate::session::Forward;
use crate::trace::AttentionTrace;

impl GpuSession<'_> {
    /// Runs `tokens` (at positions `len()..`) through the model, appending to the KV cache, and waits
    /// for what `logits_for` and `readback` ask for, picking greedily ([`Self::submit`] then
    /// [`Self::collect`]). With `trace`, the attention probabilities too (for a prompt too long to trace
    /// whole, its last tokens only, as on the CPU).
    pub async fn forward(
        &mut self,
        tokens: &[u32],
        logits_for: LogitsFor,
        trace: bool,
        readback: Readback,
    ) -> Result<Forward> {
        let submitted = self.submit(Input::Tokens(tokens), logits_for, trace, readback, PickParams::GREEDY).await?;
        self.collect(submitted).await
    }

    /// Records and submits a pass over `input` (at positions `len()..`, which it takes), choosing the
    /// next token with `pick` when `logits_for` is [`LogitsFor::Last`]. Returns without waiting for the
    /// GPU, except for the earlier chunks of a prompt scored with [`LogitsFor::All`]. At most two
    /// passes may await [`Self::collect`] at once: their readback buffers are used in turn.
    pub async fn submit(
        &mut self,
        input: Input<'_>,
        logits_for: LogitsFor,
        trace: bool,
        readback: Readback,
        pick: PickParams,
    ) -> Result<Submitted> {
        let m = self.model;
        let (ctx, c, s) = (&m.ctx, &m.config, &m.s);
        let chained = matches!(input, Input::Picked);
        let tokens: &[u32] = match input {
            Input::Tokens(t) => t,
            // Stands for the id the GPU holds: checked for its count and range only.
            Input::Picked => &[0],
        };
        let (n, start) = (tokens.len(), self.len);
        c.check_pass(tokens, start, self.capacity)?;
        ctx.check()?;
        if chained && !self.has_pick {
            return Err(EngineError::Gpu("no token picked by this session's previous pass".into()));
        }
        let _busy = Busy::take(&m.busy)?;

        let n_key = start + n;
        let per_row = c.n_layer * c.n_head * n_key;
        let trace_rows = if trace {
            let cap = MAX_TRACE_VALUES.min(ctx.limits.max_storage_buffer_binding_size as usize / 4);
            let rows = c.traced_rows(n, n_key, cap);
            self.ensure_trace(rows * per_row)?;
            rows
        } else {
            0
        };
        let trace_bytes = (trace_rows * per_row * 4) as u64;
        let trace_first = start + n - trace_rows;
        let v = c.n_vocab;

        let mut logits = Vec::new();
        let mut counters = StepCounters::default();
        let n_chunks = n.div_ceil(CHUNK);
        for (ci, chunk) in tokens.chunks(CHUNK).enumerate() {
            let last = ci + 1 == n_chunks;
            let cn = chunk.len();
            let head = match logits_for {
                LogitsFor::All => Some((0, cn)),
                LogitsFor::Last if last => Some((cn - 1, 1)),
                LogitsFor::Last => None,
            };
            let (head_row0, head_n) = head.unwrap_or((0, 0));
            ctx.write_step(&StepUniform {
                start: (start + ci * CHUNK) as u32,
                n: cn as u32,
                head_row0: head_row0 as u32,
                head_n: head_n as u32,
                trace,
                trace_first: trace_first as u32,
                trace_rows: trace_rows as u32,
                trace_keys: n_key as u32,
            });
            let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            if chained {
                encoder.copy_buffer_to_buffer(&self.picked, 0, &s.ids, 0, 4);
            } else {
                ctx.queue.write_buffer(&s.ids, 0, &words_to_bytes(chunk));
            }
            let picks = last && logits_for == LogitsFor::Last;
            if picks {
                topk::write(ctx, &s.pick, v, &pick);
            }
            if trace && ci == 0 {
                encoder.clear_buffer(&self.trace, 0, Some(trace_bytes.max(4)));
            }
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
                let (cn, hn) = (cn as u32, head_n as u32);
                let mut dispatches = 0;
                let mut run = |op: &Dispatch| {
                    op.record(&mut pass, cn, hn);
                    dispatches += 1;
                };
                run(&m.embed_op);
                for (l, ops) in m.layer_ops.iter().enumerate() {
                    run(&ops[0]);
                    run(&ops[1]);
                    run(&self.rope_ops[l]);
                    run(&self.attention_ops[l]);
                    for op in &ops[2..] {
                        run(op);
                    }
                }
                if head.is_some() {
                    run(&m.final_ops[0]);
                    run(&m.final_ops[1]);
                    if picks {
                        run(&m.final_ops[2]);
                    }
                }
                counters.dispatches += dispatches;
            }
            let top = match readback {
                Readback::Top(k) if picks => k.min(topk::K),
                _ => 0,
            };
            let pick_bytes = match readback {
                _ if !picks => 0,
                Readback::Top(_) => 4 * (topk::HEADER_WORDS + 2 * top) as u64,
                _ => 16,
            };
            let logit_bytes = match (logits_for, readback) {
                (LogitsFor::All, _) => (cn * v * 4) as u64,
                (LogitsFor::Last, Readback::Logits) if last => (v * 4) as u64,
                _ => 0,
            };
            let traced = if last && trace { trace_bytes } else { 0 };
            let used = pick_bytes + logit_bytes + traced;
            let staging = if used > 0 { self.take_staging(used)? } else { 0 };
            let dst = &self.staging[staging].buffer;
            if pick_bytes > 0 {
                encoder.copy_buffer_to_buffer(&s.result, 0, dst, 0, pick_bytes);
            }
            if logit_bytes > 0 {
                encoder.copy_buffer_to_buffer(&s.logits, 0, dst, pick_bytes, logit_bytes);
            }
            if traced > 0 {
                encoder.copy_buffer_to_buffer(&self.trace, 0, dst, pick_bytes + logit_bytes, traced);
            }
            if picks {
                encoder.copy_buffer_to_buffer(&s.result, 0, &self.picked, 0, 4);
            }
            let index = ctx.queue.submit(std::iter::once(encoder.finish()));
            counters.submits += 1;
            if last {
                self.has_pick = picks;
            }
            let submitted = Submitted {
                n,
                staging,
                index,
                used,
                pick_bytes,
                top,
                logit_bytes,
                trace: (traced > 0).then_some((trace_first, trace_rows, traced)),
                logits: Vec::new(),
                counters: StepCounters::default(),
            };
            if last {
                self.len += n;
                return Ok(Submitted { logits, counters, ..submitted });
            }
            if used > 0 {
                // An earlier chunk scored with `LogitsFor::All`: its logits come back before the next.
                let out = self.read(submitted).await?;
                logits.extend(out.logits);
                counters.readbacks += out.counters.readbacks;
                counters.readback_bytes += out.counters.readback_bytes;
            }
        }
        unreachable!("a pass has at least one chunk")
    }

    /// Waits for `submitted`'s readback and returns it.
    pub async fn collect(&mut self, submitted: Submitted) -> Result<Forward> {
        let mut out = self.read(submitted).await?;
        out.counters.gpu_memory_bytes = self.model.ctx.memory_in_use();
        Ok(out)
    }

    /// Forgets a pass the caller no longer wants (the answer ended before it): its positions are freed
    /// and the next pass writes over them.
    pub fn discard(&mut self, submitted: Submitted) {
        self.len -= submitted.n;
        // Its pick is in the session's buffer now, not the pick of the pass before it.
        self.has_pick = false;
    }

    async fn read(&mut self, submitted: Submitted) -> Result<Forward> {
        let m = self.model;
        let (ctx, c) = (&m.ctx, &m.config);
        let Submitted { staging, index, used, pick_bytes, top, logit_bytes, trace, mut logits, counters, .. } =
            submitted;
        let mut out = Forward { logits: Vec::new(), picked: None, attention: None, counters };
        if used == 0 {
            ctx.check()?;
            out.logits = logits;
            return Ok(out);
        }
        let bytes = ctx.read(&self.staging[staging].buffer, used, Some(index)).await?;
        out.counters.readbacks += 1;
        out.counters.readback_bytes += used;
        let word = |i: usize| u32::from_le_bytes([bytes[4 * i], bytes[4 * i + 1], bytes[4 * i + 2], bytes[4 * i + 3]]);
        let floats = |range: std::ops::Range<usize>| -> Vec<f32> {
            bytes[range].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        };
        if pick_bytes > 0 {
            let id = word(0);
            if id as usize >= c.n_vocab || !f32::from_bits(word(2)).is_finite() {
                return Err(EngineError::Gpu("the GPU produced no finite logit".into()));
            }
            let found = if top > 0 { (word(4) as usize).min(top) } else { 0 };
            let top = (0..found)
                .map(|i| (word(topk::HEADER_WORDS + 2 * i), f32::from_bits(word(topk::HEADER_WORDS + 2 * i + 1))))
                .collect();
            let entropy = if pick_bytes > 16 { f32::from_bits(word(3)) } else { f32::NAN };
            out.picked =
                Some(Picked { id, logit: f32::from_bits(word(1)), log_z: f32::from_bits(word(2)), entropy, top });
        }
        let (p, lb) = (pick_bytes as usize, logit_bytes as usize);
        logits.extend(floats(p..p + lb));
        out.logits = logits;
        if let Some((first, rows, traced)) = trace {
            let mut t = AttentionTrace::new(c.n_layer, c.n_head, first, rows);
            t.probs = floats(p + lb..p + lb + traced as usize);
            out.attention = Some(t);
        }
        Ok(out)
    }
}
