//! The QKV biases, Qwen3's per-head norms and RoPE, fused with the KV-cache append (`rope.wgsl`). CPU
//! twin: `Model::attention`'s first half ([`crate::backend::cpu::rope`], `KvCache::write`).

use super::{Dispatch, GpuContext, Grid, Tracked};
use crate::error::Result;
use crate::model::Config;

const SOURCE: &str = concat!(include_str!("step.wgsl"), include_str!("rope.wgsl"));

/// `(cos, sin)` of every position's angle for every rotated pair at `freqs` (the model's, or a Gemma
/// model's sliding layers'), computed exactly as the CPU's [`crate::backend::cpu::rope`] does, so that
/// both backends rotate by the same f32 angles.
pub(crate) fn table(config: &Config, freqs: &[f32], positions: usize) -> Vec<u32> {
    let pairs = config.rope_dim / 2;
    let freqs = &freqs[..pairs];
    let mut out = Vec::with_capacity(positions * pairs * 2);
    for pos in 0..positions {
        for &freq in freqs {
            let (sin, cos) = (pos as f32 * freq).sin_cos();
            out.extend([cos.to_bits(), sin.to_bits()]);
        }
    }
    out
}

/// Buffers the kernel reads and writes.
pub(crate) struct RopeIo<'a> {
    pub qkv: &'a wgpu::Buffer,
    pub table: &'a wgpu::Buffer,
    pub q: &'a wgpu::Buffer,
    pub k_cache: &'a wgpu::Buffer,
    pub v_cache: &'a wgpu::Buffer,
    /// The layer's Q, K and V biases, concatenated (zeros without biases).
    pub bias: &'a wgpu::Buffer,
    /// The layer's query-head and key-head RMSNorm gains, concatenated (ones without them).
    pub norm: &'a wgpu::Buffer,
}

/// Rotates the chunk's queries (into `q`) and keys, and appends keys and values to one layer's cache.
pub(crate) fn dispatch(ctx: &GpuContext, config: &Config, io: RopeIo<'_>) -> Result<(Dispatch, Tracked)> {
    let pipeline = ctx.pipeline("rope", SOURCE, &[])?;
    let q_dim = config.n_head * config.head_dim;
    let words = [
        q_dim as u32,
        config.kv_dim() as u32,
        config.head_dim as u32,
        (config.rope_dim / 2) as u32,
        u32::from(config.qk_norm),
        config.rms_eps.to_bits(),
    ];
    let params = ctx.uniform("rope params", &words)?;
    let bind_group = ctx.bind(
        &pipeline,
        &[ctx.step_buffer(), &params, io.qkv, io.table, io.q, io.k_cache, io.v_cache, io.bias, io.norm],
    );
    let pairs = (q_dim + 2 * config.kv_dim()) / 2;
    Ok((Dispatch { pipeline, bind_group, grid: Grid::PerToken { x: pairs.div_ceil(64) as u32 } }, params))
}
