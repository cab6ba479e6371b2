//! Each output-head row summed up on the GPU (`rows_top.wgsl`): log Σ exp and the [`R`] best tokens,
//! so the logit lens reads a few words per row instead of the vocabulary. CPU twins:
//! [`crate::trace::log_sum_exp`] and [`crate::trace::top_k`].

use super::{Dispatch, GpuContext, Grid, Tracked};
use crate::error::Result;

const SOURCE: &str = concat!(include_str!("step.wgsl"), include_str!("rows_top.wgsl"));

/// Tokens ranked per row.
pub const R: usize = 8;
/// Words per row in the result: log Σ exp, candidates found, then `(id, logit)` × [`R`].
pub(crate) const ROW_WORDS: usize = 2 + 2 * R;

/// One row's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct RowTop {
    /// log Σ exp(logits).
    pub log_z: f32,
    /// The best tokens with their logits, best first.
    pub top: Vec<(u32, f32)>,
}

/// Sums up the output head's rows `0..head_n` of `logits` into `result` ([`ROW_WORDS`] words each),
/// from word `out0` on.
pub(crate) fn dispatch(
    ctx: &GpuContext,
    n_vocab: usize,
    out0: usize,
    logits: &wgpu::Buffer,
    result: &wgpu::Buffer,
) -> Result<(Dispatch, Tracked)> {
    let pipeline = ctx.pipeline("rows_top", SOURCE, &[])?;
    let params = ctx.uniform("rows_top params", &[n_vocab as u32, out0 as u32, 0, 0])?;
    let bind_group = ctx.bind(&pipeline, &[ctx.step_buffer(), &params, logits, result]);
    Ok((Dispatch { pipeline, bind_group, grid: Grid::HeadRows }, params))
}

/// The rows in `words` (as [`dispatch`] wrote them).
pub(crate) fn parse(words: &[u32]) -> Vec<RowTop> {
    words
        .chunks_exact(ROW_WORDS)
        .map(|w| {
            let found = (w[1] as usize).min(R);
            RowTop {
                log_z: f32::from_bits(w[0]),
                top: (0..found).map(|j| (w[2 + 2 * j], f32::from_bits(w[3 + 2 * j]))).collect(),
            }
        })
        .collect()
}
