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
//!
//! Here: the model, its sessions and their KV caches. `load.rs` uploads a model and builds its
//! dispatches; `pass.rs` records, submits and reads back a forward pass; `lens.rs` and `hidden.rs` are
//! passes that read every block (the logit lens; the residual stream).

mod hidden;
mod lens;
mod load;
mod pass;
mod whole;

pub use hidden::Hidden;
#[cfg(test)]
pub(crate) use load::upload;

use std::sync::atomic::{AtomicBool, Ordering};

use super::matmul::GpuMatrix;
use super::rope::RopeIo;
use super::{attention, rope};
use super::{Dispatch, GpuContext, StepCounters, StepUniform, Tracked};
use crate::error::{EngineError, Result};
use crate::model::Config;

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
    /// The logit lens's summaries: per block, per row of the chunk ([`super::rows_top::ROW_WORDS`] words).
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

impl GpuModel {
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
    /// ended session left when it is large enough and holds no conversation: a lab's pass must not cost
    /// the chat its kept cache).
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
        // A session for something else (a lens, a game, a comparison) leaves a kept conversation where
        // it is and gets a cache of its own.
        let conversation = pool.as_ref().is_some_and(|kv| !kv.ids.is_empty());
        let kept = if prompt.is_empty() && conversation { None } else { pool.take() };
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
    /// Natively, waits for another thread's pass to end; in the browser (one thread) a second pass comes
    /// from interleaved tasks (a lab's computation while an answer streams): it is refused, and the
    /// refused side, seeing a GPU failure, goes on on the CPU.
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
    /// Leaves the KV cache to the next session (the larger of it and what the pool holds), unless the
    /// pool keeps a conversation and this session holds none.
    fn drop(&mut self) {
        let mut ids = std::mem::take(&mut self.kv.ids);
        ids.truncate(self.len);
        let kv = KvBuffers { positions: self.kv.positions, layers: std::mem::take(&mut self.kv.layers), ids };
        if let Ok(mut pool) = self.model.kv_pool.lock() {
            let keeps_conversation = pool.as_ref().is_some_and(|p| !p.ids.is_empty()) && kv.ids.is_empty();
            if !keeps_conversation && pool.as_ref().is_none_or(|p| p.positions <= kv.positions) {
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
}

/// How many of `prompt`'s first tokens `held` begins with, leaving at least the prompt's last token to
/// run (its pass gives the next token's logits).
pub(crate) fn shared_prefix(held: &[u32], prompt: &[u32]) -> usize {
    let same = held.iter().zip(prompt).take_while(|(a, b)| a == b).count();
    same.min(prompt.len().saturating_sub(1))
}
