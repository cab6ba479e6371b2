//! Embedding lookup (`embed.wgsl`): each token's row of the (quantized) embedding matrix, dequantized.
//! CPU twin: [`crate::model::QMatrix::dequantize_row`].

use super::matmul::GpuMatrix;
use super::{Dispatch, GpuContext, Grid, Tracked};
use crate::error::Result;

const SOURCE: &str = concat!(include_str!("step.wgsl"), include_str!("dequant.wgsl"), include_str!("embed.wgsl"));

/// `x[t] = scale · embeddings[ids[t]]` for the chunk's tokens.
pub(crate) fn dispatch(
    ctx: &GpuContext,
    table: &GpuMatrix,
    scale: f32,
    ids: &wgpu::Buffer,
    x: &wgpu::Buffer,
) -> Result<(Dispatch, Tracked)> {
    let pipeline = ctx.pipeline("embed", SOURCE, &[("FORMAT", table.format.constant())])?;
    let params = ctx.uniform("embed params", &[table.cols as u32, scale.to_bits()])?;
    let bind_group = ctx.bind(&pipeline, &[ctx.step_buffer(), &params, &table.words, ids, x]);
    let grid = Grid::PerToken { x: (table.cols / 32).div_ceil(64) as u32 };
    Ok((Dispatch { pipeline, bind_group, grid }, params))
}
