//! The next token on the GPU (`topk.wgsl`): log Σ exp and the entropy of the last logit row, its
//! [`K`] best tokens (exactly, ties to the lower id), and the sampler's pick among them, so a decode
//! step reads back 16 bytes (plus 8 per alternative shown) instead of the vocabulary, and the next
//! step can start from the chosen id without the CPU. CPU twins: [`crate::trace::top_k`],
//! [`crate::trace::log_sum_exp`], [`crate::trace::Distribution`] and [`crate::sample::Sampler::pick`].

use super::{words_to_bytes, Dispatch, GpuContext, Grid};
use crate::error::Result;
use crate::sample::SamplerConfig;

const SOURCE: &str = concat!(include_str!("step.wgsl"), include_str!("topk.wgsl"));

/// How many of the best tokens the kernel ranks: sampling with a top-k of at most this many (and no
/// repetition penalty) happens on the GPU; anything wider reads the logits back.
pub const K: usize = 64;
/// Words before the (id, logit) pairs: id, its logit, log Σ exp, entropy, candidates found, padding.
pub(crate) const HEADER_WORDS: usize = 8;
/// Words of the whole result.
pub(crate) const RESULT_WORDS: usize = HEADER_WORDS + 2 * K;

/// What the pick kernel needs for one token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PickParams {
    /// Keep this many of the best (0: all [`K`]).
    pub top_k: u32,
    /// ≤ 0: greedy.
    pub temperature: f32,
    /// Nucleus mass.
    pub top_p: f32,
    /// Relative floor.
    pub min_p: f32,
    /// The sampler's uniform draw for this token.
    pub u: f32,
}

impl PickParams {
    /// Greedy: the best token.
    pub const GREEDY: Self = Self { top_k: 1, temperature: 0.0, top_p: 1.0, min_p: 0.0, u: 0.0 };

    /// The GPU's version of `config` with draw `u`, or `None` when the GPU cannot pick exactly what the
    /// CPU sampler would from the whole vocabulary (a top-k of 0 or above [`K`] while sampling, or a
    /// repetition penalty).
    pub fn for_sampler(config: &SamplerConfig, u: f32) -> Option<Self> {
        if config.penalises_repeats() {
            return None;
        }
        if config.is_greedy() {
            return Some(Self::GREEDY);
        }
        (1..=K).contains(&config.top_k).then_some(Self {
            top_k: config.top_k as u32,
            temperature: config.temperature,
            top_p: config.top_p,
            min_p: config.min_p,
            u,
        })
    }

    /// Whether it takes the best token without drawing.
    pub fn is_greedy(&self) -> bool {
        !(self.temperature > 0.0 && self.temperature.is_finite())
    }
}

/// The kernel's parameters, rewritten before each submit that picks.
pub(crate) fn write(ctx: &GpuContext, buffer: &wgpu::Buffer, n_vocab: usize, p: &PickParams) {
    let words =
        [n_vocab as u32, p.top_k, p.temperature.to_bits(), p.top_p.to_bits(), p.min_p.to_bits(), p.u.to_bits(), 0, 0];
    ctx.queue.write_buffer(buffer, 0, &words_to_bytes(&words));
}

/// Picks from the last row the output head wrote into `result` (see the module docs), with the
/// parameters in the 32-byte uniform `pick` ([`write`] them before each submit).
pub(crate) fn dispatch(
    ctx: &GpuContext,
    logits: &wgpu::Buffer,
    result: &wgpu::Buffer,
    pick: &wgpu::Buffer,
) -> Result<Dispatch> {
    let pipeline = ctx.pipeline("topk", SOURCE, &[])?;
    let bind_group = ctx.bind(&pipeline, &[ctx.step_buffer(), pick, logits, result]);
    Ok(Dispatch { pipeline, bind_group, grid: Grid::Single })
}
