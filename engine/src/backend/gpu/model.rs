//! The whole model on the GPU: weights uploaded once (repacked, fused where it saves a dispatch), every
//! pipeline and bind group built at load, and a forward pass recorded as one compute pass per chunk of
//! up to [`CHUNK`] tokens. Per layer, 8 dispatches:
//!
//! ```text
//! rms_norm → matmul [wq; wk; wv] → rope + KV append → attention → matmul wo (+= x)
//!          → rms_norm → matmul [gate, up] (silu·mul) → matmul down (+= x)
//! ```
//! plus embed at the start and rms_norm → output head → argmax at the end: 244 for the default model.

use std::sync::atomic::{AtomicBool, Ordering};

use super::matmul::{Epilogue, GpuMatrix, MatmulIo};
use super::pack::{cols_fit, pack_row, GpuFormat};
use super::rope::RopeIo;
use super::{argmax, attention, embed, matmul, rms_norm, rope};
use super::{Dispatch, GpuContext, StepCounters, StepUniform, Tracked};
use crate::error::{EngineError, Result};
use crate::model::{Config, LogitsFor, Model, QMatrix, MAX_TRACE_VALUES};
use crate::session::Forward;
use crate::trace::AttentionTrace;

/// Most tokens one submit processes; longer prompts go through in chunks of this many.
pub const CHUNK: usize = 64;
/// Most positions a GPU session holds (the RoPE table and the f16 KV cache are sized by it).
pub const MAX_GPU_CONTEXT: usize = 8192;

/// What a forward pass brings back from the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readback {
    /// Only the most likely token, its logit and log Σ exp (12 bytes): greedy decoding.
    Best,
    /// The logits too (sampling, or showing the distribution).
    Logits,
}

/// The most likely next token, found on the GPU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Best {
    /// Token id.
    pub id: u32,
    /// Its logit.
    pub logit: f32,
    /// log Σ exp(logits) over the vocabulary.
    pub log_z: f32,
}

struct Layer {
    attn_norm: Tracked,
    qkv: GpuMatrix,
    wo: GpuMatrix,
    ffn_norm: Tracked,
    gate_up: GpuMatrix,
    down: GpuMatrix,
}

struct Scratch {
    ids: Tracked,
    x: Tracked,
    h: Tracked,
    qkv: Tracked,
    q: Tracked,
    att: Tracked,
    gu: Tracked,
    logits: Tracked,
    result: Tracked,
}

/// A model resident on the GPU; see the module docs. One forward pass runs at a time.
pub struct GpuModel {
    ctx: GpuContext,
    config: Config,
    /// The weights, held for the bind groups that read them.
    _weights: (Vec<Layer>, GpuMatrix, Option<GpuMatrix>, Tracked),
    rope_table: Tracked,
    max_context: usize,
    s: Scratch,
    embed_op: Dispatch,
    /// Per layer: norm, qkv, wo, norm, gate/up, down.
    layer_ops: Vec<[Dispatch; 6]>,
    final_ops: [Dispatch; 3],
    _params: Vec<Tracked>,
    busy: AtomicBool,
}

impl std::fmt::Debug for GpuModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuModel").field("ctx", &self.ctx).field("memory", &self.ctx.memory_in_use()).finish()
    }
}

fn storage_f32(ctx: &GpuContext, label: &str, values: &[f32]) -> Result<Tracked> {
    ctx.storage(label, &values.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
}

/// Uploads `mats` as one matrix: rows concatenated, or interleaved row by row (`interleave`: the
/// (gate, up) pairs SwiGLU's epilogue expects). All share one layout (f32 when theirs differ).
pub(crate) fn upload(ctx: &GpuContext, label: &str, mats: &[&QMatrix], interleave: bool) -> Result<GpuMatrix> {
    let cols = mats[0].cols;
    if !cols_fit(cols) || mats.iter().any(|m| m.cols != cols) {
        return Err(EngineError::GpuUnsupported(format!("{label}: {cols} inputs is not a whole number of blocks")));
    }
    let formats: Vec<GpuFormat> = mats.iter().map(|m| GpuFormat::for_matrix(m)).collect();
    let format = if formats.iter().all(|&f| f == formats[0]) { formats[0] } else { GpuFormat::F32 };
    let rows: usize = mats.iter().map(|m| m.rows).sum();
    let words_per_row = cols / 32 * format.block_words();
    // Refused before packing, not after: a model too large for the device should fail fast.
    ctx.check_fits(label, (rows * words_per_row * 4) as u64, wgpu::BufferUsages::STORAGE)?;
    if rows.div_ceil(8) > ctx.limits.max_compute_workgroups_per_dimension as usize {
        return Err(EngineError::GpuUnsupported(format!("{label} has {rows} rows, too many for one dispatch")));
    }
    let mut words = Vec::with_capacity(rows * words_per_row);
    if interleave {
        for r in 0..mats[0].rows {
            for m in mats {
                pack_row(m, r, format, &mut words);
            }
        }
    } else {
        for m in mats {
            for r in 0..m.rows {
                pack_row(m, r, format, &mut words);
            }
        }
    }
    Ok(GpuMatrix { words: ctx.storage(label, &words)?, format, rows, cols })
}

impl GpuModel {
    /// Uploads `model` to the device of `ctx`, for sessions of up to `max_context` positions (capped at
    /// the model's context and [`MAX_GPU_CONTEXT`]). A model the device cannot hold gets
    /// [`EngineError::GpuUnsupported`] with the reason, and the caller keeps the CPU.
    pub async fn load(ctx: GpuContext, model: &Model, max_context: usize) -> Result<Self> {
        let c = model.config.clone();
        let (d, q_dim, kv_dim) = (c.n_embd, c.n_head * c.head_dim, c.kv_dim());
        if c.head_dim > 256 || !c.head_dim.is_multiple_of(2) || !cols_fit(d) || !cols_fit(q_dim) || !cols_fit(c.n_ff) {
            return Err(EngineError::GpuUnsupported(format!(
                "heads of {} and widths {d}/{q_dim}/{} do not fit the kernels (head ≤ 256, widths multiples of 32)",
                c.head_dim, c.n_ff
            )));
        }
        let max_context = max_context.min(c.n_ctx).clamp(1, MAX_GPU_CONTEXT);
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);

        let w = &model.weights;
        let mut layers = Vec::with_capacity(c.n_layer);
        for (i, l) in w.layers.iter().enumerate() {
            layers.push(Layer {
                attn_norm: storage_f32(&ctx, "attn_norm", &l.attn_norm)?,
                qkv: upload(&ctx, &format!("blk.{i}.attn_qkv"), &[&l.wq, &l.wk, &l.wv], false)?,
                wo: upload(&ctx, &format!("blk.{i}.attn_output"), &[&l.wo], false)?,
                ffn_norm: storage_f32(&ctx, "ffn_norm", &l.ffn_norm)?,
                gate_up: upload(&ctx, &format!("blk.{i}.ffn_gate_up"), &[&l.w_gate, &l.w_up], true)?,
                down: upload(&ctx, &format!("blk.{i}.ffn_down"), &[&l.w_down], false)?,
            });
        }
        let embd = upload(&ctx, "token_embd", &[&w.token_embd], false)?;
        let head = w.output.as_ref().map(|o| upload(&ctx, "output", &[o], false)).transpose()?;
        let output_norm = storage_f32(&ctx, "output_norm", &w.output_norm)?;
        let rope_table = ctx.storage("rope table", &rope::table(&c, max_context))?;

        let f32s = |label: &str, n: usize| {
            ctx.buffer(
                label,
                4 * n as u64,
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            )
        };
        let s = Scratch {
            ids: f32s("ids", CHUNK)?,
            x: f32s("x", CHUNK * d)?,
            h: f32s("h", CHUNK * d)?,
            qkv: f32s("qkv", CHUNK * (q_dim + 2 * kv_dim))?,
            q: f32s("q", CHUNK * q_dim)?,
            att: f32s("attention out", CHUNK * q_dim)?,
            gu: f32s("swiglu", CHUNK * c.n_ff)?,
            logits: f32s("logits", CHUNK * c.n_vocab)?,
            result: f32s("argmax", 4)?,
        };

        let mut params = Vec::new();
        let mut keep = |(dispatch, p): (Dispatch, Tracked)| {
            params.push(p);
            dispatch
        };
        let embed_op = keep(embed::dispatch(&ctx, &embd, &s.ids, &s.x)?);
        fn io<'a>(x: &'a Tracked, y: &'a Tracked, y_stride: usize) -> MatmulIo<'a> {
            MatmulIo { x: &x.buffer, y: &y.buffer, y_stride, y_offset: 0 }
        }
        let mut layer_ops = Vec::with_capacity(c.n_layer);
        for l in &layers {
            layer_ops.push([
                keep(rms_norm::dispatch(&ctx, d, c.rms_eps, &s.x, &l.attn_norm, &s.h)?),
                keep(matmul::dispatch(&ctx, &l.qkv, io(&s.h, &s.qkv, q_dim + 2 * kv_dim), Epilogue::Store, false)?),
                keep(matmul::dispatch(&ctx, &l.wo, io(&s.att, &s.x, d), Epilogue::Add, false)?),
                keep(rms_norm::dispatch(&ctx, d, c.rms_eps, &s.x, &l.ffn_norm, &s.h)?),
                keep(matmul::dispatch(&ctx, &l.gate_up, io(&s.h, &s.gu, c.n_ff), Epilogue::SwiGlu, false)?),
                keep(matmul::dispatch(&ctx, &l.down, io(&s.gu, &s.x, d), Epilogue::Add, false)?),
            ]);
        }
        let head_matrix = head.as_ref().unwrap_or(&embd);
        let head_io = MatmulIo { x: &s.h.buffer, y: &s.logits.buffer, y_stride: c.n_vocab, y_offset: 0 };
        let final_ops = [
            keep(rms_norm::dispatch(&ctx, d, c.rms_eps, &s.x, &output_norm, &s.h)?),
            keep(matmul::dispatch(&ctx, head_matrix, head_io, Epilogue::Store, true)?),
            keep(argmax::dispatch(&ctx, c.n_vocab, &s.logits, &s.result)?),
        ];

        if let Some(err) = validation.pop().await {
            return Err(EngineError::GpuUnsupported(err.to_string()));
        }
        if let Some(err) = scope.pop().await {
            return Err(EngineError::GpuUnsupported(format!("out of GPU memory: {err}")));
        }
        ctx.check()?;
        Ok(Self {
            ctx,
            config: c,
            _weights: (layers, embd, head, output_norm),
            rope_table,
            max_context,
            s,
            embed_op,
            layer_ops,
            final_ops,
            _params: params,
            busy: AtomicBool::new(false),
        })
    }

    /// The device this model lives on.
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Most positions a session may hold.
    pub fn max_context(&self) -> usize {
        self.max_context
    }

    /// GPU memory held by the model and its live sessions, in bytes.
    pub fn memory_in_use(&self) -> u64 {
        self.ctx.memory_in_use()
    }

    /// A fresh session (its own KV cache, preallocated for `capacity` positions).
    pub fn session(&self, capacity: usize) -> Result<GpuSession<'_>> {
        GpuSession::new(self, capacity)
    }
}

/// A conversation's state on the GPU: its KV cache (f16) and the bind groups that reach it.
pub struct GpuSession<'m> {
    model: &'m GpuModel,
    kv: Vec<(Tracked, Tracked)>,
    rope_ops: Vec<Dispatch>,
    attention_ops: Vec<Dispatch>,
    trace: Tracked,
    trace_floats: usize,
    staging: Tracked,
    len: usize,
    capacity: usize,
    _params: Vec<Tracked>,
}

impl std::fmt::Debug for GpuSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuSession").field("len", &self.len).field("capacity", &self.capacity).finish()
    }
}

/// The model's scratch buffers, held by one forward pass at a time.
struct Busy<'a>(&'a AtomicBool);

impl<'a> Busy<'a> {
    /// Natively, waits for another thread's pass to end; in the browser (one thread) a second pass can
    /// only come from interleaved tasks, which the app never runs, so it is refused.
    fn take(flag: &'a AtomicBool) -> Result<Self> {
        while flag.swap(true, Ordering::Acquire) {
            if cfg!(target_arch = "wasm32") {
                return Err(EngineError::Gpu("another forward pass is running on this model".into()));
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Ok(Self(flag))
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl<'m> GpuSession<'m> {
    fn new(model: &'m GpuModel, capacity: usize) -> Result<Self> {
        let c = &model.config;
        let capacity = capacity.min(model.max_context);
        let ctx = &model.ctx;
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let kv_bytes = (capacity * c.kv_dim() * 2) as u64; // f16
        let kv = (0..c.n_layer)
            .map(|_| Ok((ctx.buffer("k cache", kv_bytes, usage)?, ctx.buffer("v cache", kv_bytes, usage)?)))
            .collect::<Result<Vec<_>>>()?;
        let mut session = Self {
            model,
            kv,
            rope_ops: Vec::new(),
            attention_ops: Vec::new(),
            trace: ctx.buffer("trace", 16, usage)?,
            trace_floats: 0,
            staging: ctx.buffer("staging", 16, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST)?,
            len: 0,
            capacity,
            _params: Vec::new(),
        };
        session.ensure_trace(0)?;
        Ok(session)
    }

    /// Positions filled.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most positions it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Makes room for `floats` traced probabilities (and the staging buffer to read them back),
    /// rebuilding the bind groups that reach the trace buffer.
    fn ensure_trace(&mut self, floats: usize) -> Result<()> {
        if floats <= self.trace_floats && !self.rope_ops.is_empty() {
            return Ok(());
        }
        let m = self.model;
        let (ctx, c, s) = (&m.ctx, &m.config, &m.s);
        // The first traced pass makes room for every later decode step too, so the buffer (and the bind
        // groups that reach it) are rebuilt at most once more, for a longer traced prompt.
        let decode = if floats > 0 { c.n_layer * c.n_head * self.capacity } else { 0 };
        let floats = floats.max(self.trace_floats).max(decode);
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
        self.trace = ctx.buffer("trace", 4 * floats as u64, usage)?;
        self.trace_floats = floats;
        let staging_bytes = 16 + (CHUNK * c.n_vocab * 4) as u64 + 4 * floats as u64;
        self.staging =
            ctx.buffer("staging", staging_bytes, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST)?;
        let mut params = Vec::new();
        let (mut rope_ops, mut attention_ops) = (Vec::new(), Vec::new());
        for (l, (k, v)) in self.kv.iter().enumerate() {
            let io = RopeIo { qkv: &s.qkv, table: &m.rope_table, q: &s.q, k_cache: k, v_cache: v };
            let (op, p) = rope::dispatch(ctx, c, io)?;
            rope_ops.push(op);
            params.push(p);
            let io = attention::AttentionIo { q: &s.q, k_cache: k, v_cache: v, out: &s.att, trace: &self.trace };
            let (op, p) = attention::dispatch(ctx, c, l, io)?;
            attention_ops.push(op);
            params.push(p);
        }
        self.rope_ops = rope_ops;
        self.attention_ops = attention_ops;
        self._params = params;
        Ok(())
    }

    /// Runs `tokens` (at positions `len()..`) through the model, appending to the KV cache. Returns what
    /// `logits_for` and `readback` ask for, and the attention probabilities when `trace` is set (for a
    /// prompt too long to trace whole, its last tokens only, as on the CPU).
    pub async fn forward(
        &mut self,
        tokens: &[u32],
        logits_for: LogitsFor,
        trace: bool,
        readback: Readback,
    ) -> Result<Forward> {
        let m = self.model;
        let (ctx, c, s) = (&m.ctx, &m.config, &m.s);
        let (n, start) = (tokens.len(), self.len);
        c.check_pass(tokens, start, self.capacity)?;
        ctx.check()?;
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

        let mut out = Forward { logits: Vec::new(), best: None, attention: None, counters: StepCounters::default() };
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
            ctx.queue.write_buffer(&s.ids, 0, &super::words_to_bytes(chunk));

            let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            if trace && ci == 0 {
                encoder.clear_buffer(&self.trace, 0, Some(trace_bytes.max(4)));
            }
            let argmax = last && logits_for == LogitsFor::Last;
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
                    if argmax {
                        run(&m.final_ops[2]);
                    }
                }
                out.counters.dispatches += dispatches;
            }
            let logit_bytes = match (logits_for, readback) {
                (LogitsFor::All, _) => (cn * v * 4) as u64,
                (LogitsFor::Last, Readback::Logits) if last => (v * 4) as u64,
                _ => 0,
            };
            let mut used = 0;
            if argmax {
                encoder.copy_buffer_to_buffer(&s.result, 0, &self.staging, 0, 16);
                used = 16;
            }
            if logit_bytes > 0 {
                encoder.copy_buffer_to_buffer(&s.logits, 0, &self.staging, 16, logit_bytes);
                used = 16 + logit_bytes;
            }
            if last && trace {
                encoder.copy_buffer_to_buffer(&self.trace, 0, &self.staging, 16 + logit_bytes, trace_bytes);
                used = 16 + logit_bytes + trace_bytes;
            }
            ctx.queue.submit(std::iter::once(encoder.finish()));
            out.counters.submits += 1;
            if used == 0 {
                continue;
            }
            let bytes = ctx.read(&self.staging, used).await?;
            out.counters.readbacks += 1;
            out.counters.readback_bytes += used;
            let floats = |range: std::ops::Range<usize>| -> Vec<f32> {
                bytes[range].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
            };
            if argmax {
                let word =
                    |i: usize| u32::from_le_bytes([bytes[4 * i], bytes[4 * i + 1], bytes[4 * i + 2], bytes[4 * i + 3]]);
                out.best = Some(Best { id: word(0), logit: f32::from_bits(word(1)), log_z: f32::from_bits(word(2)) });
            }
            let lb = logit_bytes as usize;
            out.logits.extend(floats(16..16 + lb));
            if last && trace {
                let mut t = AttentionTrace::new(c.n_layer, c.n_head, trace_first, trace_rows);
                t.probs = floats(16 + lb..16 + lb + trace_bytes as usize);
                out.attention = Some(t);
            }
        }
        if out.counters.readbacks == 0 {
            ctx.check()?;
        }
        self.len += n;
        out.counters.gpu_memory_bytes = ctx.memory_in_use();
        Ok(out)
    }
}
