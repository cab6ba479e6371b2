//! The whole model on the GPU: weights uploaded once (repacked, fused where it saves a dispatch), every
//! pipeline and bind group built at load, and a forward pass recorded as one compute pass per chunk of
//! up to [`CHUNK`] tokens. Per layer, 8 dispatches:
//!
//! ```text
//! rms_norm → matmul [wq; wk; wv] → rope + KV append → attention → matmul wo (+= x)
//!          → rms_norm → matmul [gate, up] (silu·mul) → matmul down (+= x)
//! ```
//! plus embed at the start and rms_norm → output head → top-k pick at the end: 244 for the default model.
//! Gemma's blocks take 10: `wo` and `down` store their outputs, and an rms_norm adds each into `x`.
//!
//! Decoding is pipelined: [`GpuSession::submit`] records and submits a pass and returns at once;
//! [`GpuSession::collect`] awaits its readback. A pass whose input is [`Input::Picked`] starts by
//! copying the previous pass's chosen id (still on the GPU) into its input, so the next token can be
//! submitted before the CPU has seen this one; one the CPU then decides it did not need (the answer
//! ended) is [`GpuSession::discard`]ed.

mod hidden;
mod lens;

pub use hidden::Hidden;

use std::sync::atomic::{AtomicBool, Ordering};

use super::matmul::{Epilogue, GpuMatrix, MatmulIo};
use super::pack::{cols_fit, pack_row, GpuFormat};
use super::rope::RopeIo;
use super::rows_top;
use super::topk::{self, PickParams};
use super::{attention, embed, matmul, rms_norm, rope};
use super::{Dispatch, GpuContext, StepCounters, StepUniform, Tracked};
use crate::error::{EngineError, Result};
use crate::model::{Config, LogitsFor, Model, QMatrix, MAX_TRACE_VALUES};
use crate::session::Forward;
use crate::trace::AttentionTrace;

/// Most tokens one submit processes; longer prompts go through in chunks of this many.
pub const CHUNK: usize = 64;
/// Most positions a GPU session holds (the RoPE table and the f16 KV cache are sized by it).
pub const MAX_GPU_CONTEXT: usize = 8192;

/// What a forward pass brings back from the GPU besides the attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readback {
    /// The picked token, its logit and log Σ exp (16 bytes).
    Best,
    /// That, the entropy and the `n` (at most [`topk::K`]) most likely tokens with their logits.
    Top(usize),
    /// The picked token and the logits (sampling the GPU cannot do, a repetition penalty, scoring).
    Logits,
}

/// Where a pass's tokens come from.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// These ids.
    Tokens(&'a [u32]),
    /// The one token this session's previous pass picked, read on the GPU.
    Picked,
}

/// The token the GPU picked for the last position, and what it knows of the distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct Picked {
    /// Token id.
    pub id: u32,
    /// Its logit.
    pub logit: f32,
    /// log Σ exp(logits) over the vocabulary.
    pub log_z: f32,
    /// Entropy of softmax(logits) in nats ([`Readback::Top`] only, else NaN).
    pub entropy: f32,
    /// The most likely tokens with their logits, best first ([`Readback::Top`] only).
    pub top: Vec<(u32, f32)>,
}

impl Submitted {
    /// Tokens the pass feeds.
    pub fn tokens(&self) -> usize {
        self.n
    }
}

/// A pass submitted to the GPU whose readback has not been collected yet.
#[derive(Debug)]
#[must_use = "collect or discard a submitted pass"]
pub struct Submitted {
    n: usize,
    staging: usize,
    index: wgpu::SubmissionIndex,
    used: u64,
    pick_bytes: u64,
    top: usize,
    logit_bytes: u64,
    trace: Option<(usize, usize, u64)>,
    logits: Vec<f32>,
    counters: StepCounters,
}

struct Layer {
    attn_norm: Tracked,
    qkv: GpuMatrix,
    /// The Q, K and V biases, concatenated (zeros for a model without them).
    qkv_bias: Tracked,
    /// The query-head and key-head norm gains, concatenated (ones for a model without them).
    qk_norm: Tracked,
    wo: GpuMatrix,
    ffn_norm: Tracked,
    gate_up: GpuMatrix,
    down: GpuMatrix,
    /// Gemma's norms of the attention's and the feed-forward's outputs.
    post_norms: Option<[Tracked; 2]>,
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
    pick: Tracked,
    /// The logit lens's summaries: per block, per row of the chunk ([`rows_top::ROW_WORDS`] words).
    lens: Tracked,
}

/// A model resident on the GPU; see the module docs. One forward pass runs at a time.
pub struct GpuModel {
    ctx: GpuContext,
    config: Config,
    /// The weights, held for the bind groups that read them (the layers' biases are bound per session).
    weights: (Vec<Layer>, GpuMatrix, Option<GpuMatrix>, Tracked),
    rope_table: Tracked,
    /// The sliding layers' table, for a Gemma model.
    local_rope_table: Option<Tracked>,
    max_context: usize,
    s: Scratch,
    embed_op: Dispatch,
    /// Per layer: norm, qkv, then (after the session's rope and attention) wo, norm, gate/up, down;
    /// Gemma's normalise wo's and down's outputs into the residual stream too.
    layer_ops: Vec<Vec<Dispatch>>,
    final_ops: [Dispatch; 3],
    /// Per block: the output head's rows summed up into that block's region of the lens buffer.
    lens_ops: Vec<Dispatch>,
    _params: Vec<Tracked>,
    busy: AtomicBool,
    /// The KV cache of the last session that ended, kept for the next (a new answer reuses it rather
    /// than allocating and clearing its memory again), with the tokens it holds when that session said
    /// ([`GpuSession::hold`]): a next turn of the conversation continues from them.
    kv_pool: std::sync::Mutex<Option<KvBuffers>>,
}

/// One f16 key and one value buffer per layer, for `positions` positions.
struct KvBuffers {
    positions: usize,
    layers: Vec<(Tracked, Tracked)>,
    /// The tokens whose keys and values fill positions `0..ids.len()` (empty: nothing worth keeping).
    ids: Vec<u32>,
}

/// KV caches are allocated in steps of this many positions, so that the next answer can reuse one.
const KV_STEP: usize = 256;

impl std::fmt::Debug for GpuModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuModel").field("ctx", &self.ctx).field("memory", &self.ctx.memory_in_use()).finish()
    }
}

fn storage_f32(ctx: &GpuContext, label: &str, values: &[f32]) -> Result<Tracked> {
    ctx.storage(label, &values.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
}

/// Uploads `mats` as one matrix: rows concatenated, or interleaved row by row (`interleave`: the
/// (gate, up) pairs SwiGLU's epilogue expects). All share one layout ([`GpuFormat::common`]).
pub(crate) fn upload(ctx: &GpuContext, label: &str, mats: &[&QMatrix], interleave: bool) -> Result<GpuMatrix> {
    let cols = mats[0].cols;
    if !cols_fit(cols) || mats.iter().any(|m| m.cols != cols) {
        return Err(EngineError::GpuUnsupported(format!("{label}: {cols} inputs is not a whole number of blocks")));
    }
    let format = GpuFormat::common(mats);
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
                qkv_bias: match &l.qkv_bias {
                    Some(parts) => storage_f32(&ctx, "qkv bias", &parts.concat())?,
                    None => storage_f32(&ctx, "qkv bias", &vec![0.0; q_dim + 2 * kv_dim])?,
                },
                qk_norm: match &l.qk_norm {
                    Some(gains) => storage_f32(&ctx, "qk norm", &gains.concat())?,
                    None => storage_f32(&ctx, "qk norm", &vec![1.0; 2 * c.head_dim])?,
                },
                wo: upload(&ctx, &format!("blk.{i}.attn_output"), &[&l.wo], false)?,
                ffn_norm: storage_f32(&ctx, "ffn_norm", &l.ffn_norm)?,
                gate_up: upload(&ctx, &format!("blk.{i}.ffn_gate_up"), &[&l.w_gate, &l.w_up], true)?,
                down: upload(&ctx, &format!("blk.{i}.ffn_down"), &[&l.w_down], false)?,
                post_norms: match &l.post_norms {
                    Some([a, f]) => {
                        Some([storage_f32(&ctx, "post_attention_norm", a)?, storage_f32(&ctx, "post_ffw_norm", f)?])
                    }
                    None => None,
                },
            });
        }
        let embd = upload(&ctx, "token_embd", &[&w.token_embd], false)?;
        let head = w.output.as_ref().map(|o| upload(&ctx, "output", &[o], false)).transpose()?;
        let output_norm = storage_f32(&ctx, "output_norm", &w.output_norm)?;
        let rope_table = ctx.storage("rope table", &rope::table(&c, &c.rope_freqs, max_context))?;
        let local_rope_table = match &c.gemma {
            Some(g) => Some(ctx.storage("local rope table", &rope::table(&c, &g.local_rope_freqs, max_context))?),
            None => None,
        };

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
            result: f32s("pick", topk::RESULT_WORDS)?,
            pick: ctx.buffer("pick params", 32, wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST)?,
            lens: f32s("lens rows", c.n_layer * CHUNK * rows_top::ROW_WORDS)?,
        };

        let mut params = Vec::new();
        let mut keep = |(dispatch, p): (Dispatch, Tracked)| {
            params.push(p);
            dispatch
        };
        let embed_scale = if c.gemma.is_some() { (d as f32).sqrt() } else { 1.0 };
        let embed_op = keep(embed::dispatch(&ctx, &embd, embed_scale, &s.ids, &s.x)?);
        fn io<'a>(x: &'a Tracked, y: &'a Tracked, y_stride: usize) -> MatmulIo<'a> {
            MatmulIo { x: &x.buffer, y: &y.buffer, y_stride, y_offset: 0 }
        }
        let mut layer_ops = Vec::with_capacity(c.n_layer);
        let glu = if c.gemma.is_some() { Epilogue::GeGlu } else { Epilogue::SwiGlu };
        for l in &layers {
            let mut ops = vec![
                keep(rms_norm::dispatch(&ctx, d, c.rms_eps, &s.x, &l.attn_norm, &s.h, false)?),
                keep(matmul::dispatch(&ctx, &l.qkv, io(&s.h, &s.qkv, q_dim + 2 * kv_dim), Epilogue::Store, false)?),
            ];
            match &l.post_norms {
                // The sub-layers' outputs land in `h` (free once read), then join `x` normalised.
                Some([after_attention, after_ffn]) => ops.extend([
                    keep(matmul::dispatch(&ctx, &l.wo, io(&s.att, &s.h, d), Epilogue::Store, false)?),
                    keep(rms_norm::dispatch(&ctx, d, c.rms_eps, &s.h, after_attention, &s.x, true)?),
                    keep(rms_norm::dispatch(&ctx, d, c.rms_eps, &s.x, &l.ffn_norm, &s.h, false)?),
                    keep(matmul::dispatch(&ctx, &l.gate_up, io(&s.h, &s.gu, c.n_ff), glu, false)?),
                    keep(matmul::dispatch(&ctx, &l.down, io(&s.gu, &s.h, d), Epilogue::Store, false)?),
                    keep(rms_norm::dispatch(&ctx, d, c.rms_eps, &s.h, after_ffn, &s.x, true)?),
                ]),
                None => ops.extend([
                    keep(matmul::dispatch(&ctx, &l.wo, io(&s.att, &s.x, d), Epilogue::Add, false)?),
                    keep(rms_norm::dispatch(&ctx, d, c.rms_eps, &s.x, &l.ffn_norm, &s.h, false)?),
                    keep(matmul::dispatch(&ctx, &l.gate_up, io(&s.h, &s.gu, c.n_ff), glu, false)?),
                    keep(matmul::dispatch(&ctx, &l.down, io(&s.gu, &s.x, d), Epilogue::Add, false)?),
                ]),
            }
            layer_ops.push(ops);
        }
        let head_matrix = head.as_ref().unwrap_or(&embd);
        let final_cap = c.gemma.as_ref().and_then(|g| g.final_softcap);
        let head_io = MatmulIo { x: &s.h.buffer, y: &s.logits.buffer, y_stride: c.n_vocab, y_offset: 0 };
        let final_ops = [
            keep(rms_norm::dispatch(&ctx, d, c.rms_eps, &s.x, &output_norm, &s.h, false)?),
            keep(matmul::dispatch_capped(&ctx, head_matrix, head_io, Epilogue::Store, true, final_cap)?),
            topk::dispatch(&ctx, &s.logits.buffer, &s.result.buffer, &s.pick.buffer)?,
        ];
        let lens_ops = (0..c.n_layer)
            .map(|l| {
                let out0 = l * CHUNK * rows_top::ROW_WORDS;
                Ok(keep(rows_top::dispatch(&ctx, c.n_vocab, out0, &s.logits.buffer, &s.lens.buffer)?))
            })
            .collect::<Result<Vec<_>>>()?;

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
            weights: (layers, embd, head, output_norm),
            rope_table,
            local_rope_table,
            max_context,
            s,
            embed_op,
            layer_ops,
            final_ops,
            lens_ops,
            _params: params,
            busy: AtomicBool::new(false),
            kv_pool: std::sync::Mutex::new(None),
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

    /// A fresh session (its own KV cache, allocated up front for `capacity` positions, or the cache an
    /// ended session left when it is large enough).
    pub fn session(&self, capacity: usize) -> Result<GpuSession<'_>> {
        Ok(self.session_after(capacity, &[])?.0)
    }

    /// A session for `prompt` that starts where the last held session's tokens and `prompt` part (at
    /// most at the prompt's last token, so a pass remains to run): those positions are already filled,
    /// and the second value says how many. The kept cache is copied into a larger one when `capacity`
    /// needs it.
    pub fn session_after(&self, capacity: usize, prompt: &[u32]) -> Result<(GpuSession<'_>, usize)> {
        let capacity = capacity.min(self.max_context);
        let (kv, reused) = self.kv_for(capacity, prompt)?;
        let mut session = GpuSession::new(self, capacity, kv)?;
        session.len = reused;
        Ok((session, reused))
    }

    /// A KV cache of at least `positions` positions and how many of its first positions hold `prompt`'s
    /// beginning: the pooled one if it is large enough, else a new one rounded up to [`KV_STEP`] into
    /// which the pooled one's reusable positions are copied (the pooled one is freed after).
    fn kv_for(&self, positions: usize, prompt: &[u32]) -> Result<(KvBuffers, usize)> {
        let mut pool = self.kv_pool.lock().map_err(|_| EngineError::Gpu("KV pool poisoned".into()))?;
        let kept = pool.take();
        drop(pool);
        let reused = kept.as_ref().map_or(0, |kv| shared_prefix(&kv.ids, prompt));
        let kept = match kept {
            Some(mut kv) if kv.positions >= positions => {
                kv.ids.clear();
                return Ok((kv, reused));
            }
            other => other,
        };
        let positions = positions.next_multiple_of(KV_STEP).min(self.max_context).max(positions);
        let c = &self.config;
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC;
        let bytes = (positions * c.kv_dim() * 2) as u64; // f16
        let layers = (0..c.n_layer)
            .map(|_| Ok((self.ctx.buffer("k cache", bytes, usage)?, self.ctx.buffer("v cache", bytes, usage)?)))
            .collect::<Result<Vec<_>>>()?;
        let kv = KvBuffers { positions, layers, ids: Vec::new() };
        let reused = match kept {
            Some(old) if reused > 0 => {
                let mut encoder = self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
                let held = (reused * c.kv_dim() * 2) as u64;
                for ((k_old, v_old), (k, v)) in old.layers.iter().zip(&kv.layers) {
                    encoder.copy_buffer_to_buffer(&k_old.buffer, 0, &k.buffer, 0, held.next_multiple_of(4));
                    encoder.copy_buffer_to_buffer(&v_old.buffer, 0, &v.buffer, 0, held.next_multiple_of(4));
                }
                self.ctx.queue.submit(std::iter::once(encoder.finish()));
                reused
            }
            _ => 0,
        };
        Ok((kv, reused))
    }
}

/// A conversation's state on the GPU: its KV cache (f16) and the bind groups that reach it.
pub struct GpuSession<'m> {
    model: &'m GpuModel,
    kv: KvBuffers,
    rope_ops: Vec<Dispatch>,
    attention_ops: Vec<Dispatch>,
    trace: Tracked,
    trace_floats: usize,
    /// Two readback buffers, used in turn, so one pass's results can be mapped while the next is copied.
    staging: [Tracked; 2],
    next_staging: usize,
    len: usize,
    capacity: usize,
    /// The id this session's last pass picked, kept on the GPU for the next pass to read (the model's
    /// result buffer is shared by every session), and whether that pass picked one.
    picked: Tracked,
    has_pick: bool,
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

impl Drop for GpuSession<'_> {
    /// Leaves the KV cache to the next session (the larger of it and what the pool holds).
    fn drop(&mut self) {
        let mut ids = std::mem::take(&mut self.kv.ids);
        ids.truncate(self.len);
        let kv = KvBuffers { positions: self.kv.positions, layers: std::mem::take(&mut self.kv.layers), ids };
        if let Ok(mut pool) = self.model.kv_pool.lock() {
            if pool.as_ref().is_none_or(|p| p.positions <= kv.positions) {
                *pool = Some(kv);
            }
        }
    }
}

impl<'m> GpuSession<'m> {
    fn new(model: &'m GpuModel, capacity: usize, kv: KvBuffers) -> Result<Self> {
        let ctx = &model.ctx;
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let mut session = Self {
            model,
            kv,
            rope_ops: Vec::new(),
            attention_ops: Vec::new(),
            trace: ctx.buffer("trace", 16, usage)?,
            trace_floats: 0,
            staging: [Self::staging_buffer(ctx, 16)?, Self::staging_buffer(ctx, 16)?],
            next_staging: 0,
            len: 0,
            capacity,
            picked: ctx.buffer("picked id", 16, wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST)?,
            has_pick: false,
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

    /// Says that positions `0..ids.len()` hold `ids` (at most [`Self::len`] of them), so that when this
    /// session ends, the next one for a prompt that begins with them can start after them.
    pub fn hold(&mut self, mut ids: Vec<u32>) {
        ids.truncate(self.len);
        self.kv.ids = ids;
    }

    /// Forgets every position from `len` on: the next pass writes there (the cache's later entries are
    /// overwritten before anything reads them, as after [`Self::discard`]).
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            self.len = len;
            self.has_pick = false;
        }
    }

    /// Most positions it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The device it runs on.
    pub fn context(&self) -> &GpuContext {
        &self.model.ctx
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
        let mut params = Vec::new();
        let (mut rope_ops, mut attention_ops) = (Vec::new(), Vec::new());
        for (l, (k, v)) in self.kv.layers.iter().enumerate() {
            let (bias, norm) = (&m.weights.0[l].qkv_bias, &m.weights.0[l].qk_norm);
            let table = match (&m.local_rope_table, &c.gemma) {
                (Some(local), Some(g)) if g.sliding[l] => local,
                _ => &m.rope_table,
            };
            let io = RopeIo { qkv: &s.qkv, table, q: &s.q, k_cache: k, v_cache: v, bias, norm };
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

    fn staging_buffer(ctx: &GpuContext, bytes: u64) -> Result<Tracked> {
        ctx.buffer("staging", bytes, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST)
    }

    /// The next readback buffer, grown to hold `bytes`.
    fn take_staging(&mut self, bytes: u64) -> Result<usize> {
        let i = self.next_staging;
        self.next_staging ^= 1;
        if self.staging[i].size < bytes {
            self.staging[i] = Self::staging_buffer(&self.model.ctx, bytes)?;
        }
        Ok(i)
    }

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
                ctx.queue.write_buffer(&s.ids, 0, &super::words_to_bytes(chunk));
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

/// How many of `prompt`'s first tokens `held` begins with, leaving at least the prompt's last token to
/// run (its pass gives the next token's logits).
pub(crate) fn shared_prefix(held: &[u32], prompt: &[u32]) -> usize {
    let same = held.iter().zip(prompt).take_while(|(a, b)| a == b).count();
    same.min(prompt.len().saturating_sub(1))
}
