//! The greedy choice on the GPU (`argmax.wgsl`): the most likely token, its logit and log Σ exp(logits),
//! so a greedy step reads back 12 bytes instead of the whole vocabulary. CPU twin:
//! [`crate::sample::argmax`] and [`crate::trace::log_sum_exp`].

use super::{Dispatch, GpuContext, Grid, Tracked};
use crate::error::Result;

const SOURCE: &str = concat!(include_str!("step.wgsl"), include_str!("argmax.wgsl"));

/// Reduces the last row the output head wrote into `result` = `[id, max logit, log-sum-exp]`.
pub(crate) fn dispatch(
    ctx: &GpuContext,
    n_vocab: usize,
    logits: &wgpu::Buffer,
    result: &wgpu::Buffer,
) -> Result<(Dispatch, Tracked)> {
    let pipeline = ctx.pipeline("argmax", SOURCE, &[])?;
    let params = ctx.uniform("argmax params", &[n_vocab as u32])?;
    let bind_group = ctx.bind(&pipeline, &[ctx.step_buffer(), &params, logits, result]);
    Ok((Dispatch { pipeline, bind_group, grid: Grid::Single }, params))
}
