//! Causal grouped-query attention (`attention.wgsl`): scores, softmax and the weighted sum of values in
//! one kernel, which also writes the probabilities when tracing. CPU twin: `Model::attention`.

use super::{Dispatch, GpuContext, Grid, Tracked};
use crate::error::Result;
use crate::model::Config;

const SOURCE: &str = concat!(include_str!("step.wgsl"), include_str!("attention.wgsl"));

/// Buffers the kernel reads and writes.
pub(crate) struct AttentionIo<'a> {
    pub q: &'a wgpu::Buffer,
    pub k_cache: &'a wgpu::Buffer,
    pub v_cache: &'a wgpu::Buffer,
    pub out: &'a wgpu::Buffer,
    pub trace: &'a wgpu::Buffer,
}

/// Attention of the chunk's queries in `layer` over the cache (which already holds their own keys).
pub(crate) fn dispatch(
    ctx: &GpuContext,
    config: &Config,
    layer: usize,
    io: AttentionIo<'_>,
) -> Result<(Dispatch, Tracked)> {
    let pipeline = ctx.pipeline("attention", SOURCE, &[])?;
    let scale = config.attention_scale();
    let words = [
        config.n_head as u32,
        (config.n_head / config.n_head_kv) as u32,
        config.head_dim as u32,
        config.kv_dim() as u32,
        layer as u32,
        scale.to_bits(),
        // A sliding layer's window (0: every earlier key).
        match &config.gemma {
            Some(g) if g.sliding[layer] => g.window as u32,
            _ => 0,
        },
        // Gemma 2's soft cap of every score (0: none).
        config.gemma.as_ref().and_then(|g| g.attn_softcap).unwrap_or(0.0).to_bits(),
    ];
    let params = ctx.uniform("attention params", &words)?;
    let bind_group = ctx.bind(&pipeline, &[ctx.step_buffer(), &params, io.q, io.k_cache, io.v_cache, io.out, io.trace]);
    Ok((Dispatch { pipeline, bind_group, grid: Grid::PerToken { x: config.n_head as u32 } }, params))
}
