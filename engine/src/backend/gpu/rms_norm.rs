//! RMSNorm (`rms_norm.wgsl`), one workgroup per token. CPU twin: [`crate::backend::cpu::rms_norm`].

use super::{Dispatch, GpuContext, Grid, Tracked};
use crate::error::Result;

const SOURCE: &str = concat!(include_str!("step.wgsl"), include_str!("rms_norm.wgsl"));

/// `out[t] = x[t] / rms(x[t]) · gain` for the chunk's tokens (with `add`, `out[t] +=` it); rows are `d`
/// wide.
pub(crate) fn dispatch(
    ctx: &GpuContext,
    d: usize,
    eps: f32,
    x: &wgpu::Buffer,
    gain: &wgpu::Buffer,
    out: &wgpu::Buffer,
    add: bool,
) -> Result<(Dispatch, Tracked)> {
    let pipeline = ctx.pipeline("rms_norm", SOURCE, &[])?;
    let params = ctx.uniform("rms_norm params", &[d as u32, eps.to_bits(), u32::from(add)])?;
    let bind_group = ctx.bind(&pipeline, &[ctx.step_buffer(), &params, x, gain, out]);
    Ok((Dispatch { pipeline, bind_group, grid: Grid::Tokens }, params))
}
