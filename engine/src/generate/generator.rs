//! A generation in progress: the prompt fed, then one token per step, on the GPU or the CPU.

use super::{Engine, FinishReason, GenerateOptions, KeptCache, Step};
use crate::backend::gpu::{Input, PickParams, Readback, Submitted, PICK_CANDIDATES};
use crate::error::{EngineError, Result};
use crate::model::{KvCache, LogitsFor};
use crate::sample::Sampler;
use crate::session::Session;
use crate::text_stream::TextStream;
use crate::trace::{log_sum_exp, log_z_and_entropy, Candidate, Distribution};

/// The GPU's pick settings for the next token, drawing its uniform when it samples (and noting it in
/// `uncollected` until its pass comes back).
fn draw_pick(sampler: &mut Sampler, uncollected: &mut std::collections::VecDeque<f32>) -> PickParams {
    let u = if sampler.config().is_greedy() { 0.0 } else { sampler.draw() };
    if !sampler.config().is_greedy() {
        uncollected.push_back(u);
    }
    PickParams::for_sampler(sampler.config(), u).unwrap_or(PickParams::GREEDY)
}

/// A generation in progress; see the module docs.
#[derive(Debug)]
pub struct Generator<'e> {
    engine: &'e Engine,
    session: Session<'e>,
    /// A message for the next step (a fallback to the CPU).
    pub(super) note: Option<String>,
    sampler: Sampler,
    options: GenerateOptions,
    /// Tokens to feed at the next step: the prompt first (after what the cache already held), then the
    /// last sampled token.
    pending: Vec<u32>,
    /// Prompt positions the session already held from the last generation (not run again).
    reused: usize,
    /// The next step's pass, already submitted to the GPU (see [`GenerateOptions::overlap`]).
    inflight: Option<Submitted>,
    /// The sampler's draws for GPU passes not collected yet, oldest first.
    uncollected: std::collections::VecDeque<f32>,
    /// Every token so far, prompt included.
    history: Vec<u32>,
    /// Generated ids.
    generated: Vec<u32>,
    /// Text of the answer handed out so far (and what is held back: a possible stop string's start).
    text: TextStream,
    finished: Option<FinishReason>,
}

impl<'e> Generator<'e> {
    pub(super) fn new(
        engine: &'e Engine,
        session: Session<'e>,
        prompt: Vec<u32>,
        reused: usize,
        options: GenerateOptions,
    ) -> Self {
        let sampler = Sampler::new(options.sampler.clone());
        let text = TextStream::new(&options.stop);
        Self {
            engine,
            session,
            note: None,
            sampler,
            options,
            pending: prompt[reused..].to_vec(),
            reused,
            history: prompt,
            inflight: None,
            uncollected: std::collections::VecDeque::new(),
            generated: Vec::new(),
            text,
            finished: None,
        }
    }

    /// Most positions this answer's KV cache holds (the prompt and `max_tokens`, within the context).
    pub fn capacity(&self) -> usize {
        self.session.capacity()
    }

    /// How many of the prompt's first positions came from the last generation's cache, not run again.
    pub fn reused(&self) -> usize {
        self.reused
    }

    /// Generated ids so far.
    pub fn generated(&self) -> &[u32] {
        &self.generated
    }

    /// The answer's text so far.
    pub fn text(&self) -> &str {
        self.text.shown()
    }

    /// Why it ended, once it has.
    pub fn finish_reason(&self) -> Option<FinishReason> {
        self.finished
    }

    /// Whether this generation runs on the GPU (false after a fallback to the CPU).
    pub fn on_gpu(&self) -> bool {
        self.session.is_gpu()
    }

    /// What the GPU reads back when it can pick the token itself (the sampler's settings and the
    /// alternatives asked for fit its top-k kernel); `None` when the CPU samples from the logits.
    fn gpu_readback(&self) -> Option<Readback> {
        let k = self.options.trace.top_k;
        let fits = PickParams::for_sampler(self.sampler.config(), 0.0).is_some() && k <= PICK_CANDIDATES;
        (self.session.is_gpu() && fits).then_some(if k > 0 { Readback::Top(k) } else { Readback::Best })
    }

    /// Positions the session holds, not counting a pass submitted ahead.
    fn fed(&self) -> usize {
        self.session.len() - self.inflight.as_ref().map_or(0, Submitted::tokens)
    }

    /// Runs the pending tokens; if the GPU fails, rebuilds the conversation's cache on the CPU and
    /// runs them there, so the answer goes on where it was.
    async fn forward_pending(&mut self, position: usize) -> Result<crate::session::Forward> {
        let trace = self.options.trace.attention;
        let result = match self.gpu_readback() {
            Some(readback) => self.forward_on_gpu(position, readback).await,
            None => self.session.forward(&self.pending, LogitsFor::Last, trace, Readback::Logits).await,
        };
        match result {
            Err(err) if self.session.is_gpu() && err.is_gpu_failure() => {
                self.inflight = None;
                // The CPU picks these tokens with the draws the GPU would have used.
                self.sampler.replay(self.uncollected.drain(..));
                let mut cpu = Session::cpu(&self.engine.model, self.session.capacity());
                let done = self.history.len() - self.pending.len();
                if done > 0 {
                    cpu.forward(&self.history[..done], LogitsFor::Last, false, Readback::Logits).await?;
                }
                self.session = cpu;
                self.note = Some(format!("{err}; continuing on the CPU"));
                self.session.forward(&self.pending, LogitsFor::Last, trace, Readback::Logits).await
            }
            other => other,
        }
    }

    /// A step the GPU picks: this token's pass (submitted now, or ahead at the previous step), and the
    /// next token's pass submitted before this one's result is awaited, unless this step is surely the
    /// last.
    async fn forward_on_gpu(&mut self, position: usize, readback: Readback) -> Result<crate::session::Forward> {
        let trace = self.options.trace.attention;
        let surely_last =
            self.generated.len() + 1 >= self.options.max_tokens || position + 1 >= self.session.capacity();
        let Session::Gpu(gpu) = &mut self.session else {
            return Err(EngineError::Gpu("not on the GPU".into()));
        };
        let overlap = self.options.overlap.unwrap_or(!gpu.context().is_software()) && !surely_last;
        let current = match self.inflight.take() {
            Some(ahead) => ahead,
            None => {
                let pick = draw_pick(&mut self.sampler, &mut self.uncollected);
                gpu.submit(Input::Tokens(&self.pending), LogitsFor::Last, trace, readback, pick).await?
            }
        };
        if overlap {
            let pick = draw_pick(&mut self.sampler, &mut self.uncollected);
            self.inflight = Some(gpu.submit(Input::Picked, LogitsFor::Last, trace, readback, pick).await?);
        }
        let out = gpu.collect(current).await?;
        if !self.sampler.config().is_greedy() {
            self.uncollected.pop_front();
        }
        Ok(out)
    }

    /// Produces the next token, or `None` once finished.
    pub async fn step(&mut self) -> Result<Option<Step>> {
        if self.finished.is_some() {
            return Ok(None);
        }
        if self.generated.len() >= self.options.max_tokens {
            self.finished = Some(FinishReason::MaxTokens);
            return Ok(None);
        }
        let position = self.fed() + self.pending.len();
        if position >= self.session.capacity() {
            self.finished = Some(FinishReason::ContextFull);
            return Ok(None);
        }
        let out = self.forward_pending(position).await?;
        let top_k = self.options.trace.top_k;
        let (id, prob, distribution) = match out.picked {
            Some(picked) if out.logits.is_empty() => {
                let distribution = (top_k > 0).then(|| Distribution {
                    top: (picked.top.iter().take(top_k))
                        .map(|&(id, logit)| Candidate { id, logit, prob: (logit - picked.log_z).exp() })
                        .collect(),
                    entropy: picked.entropy,
                });
                (picked.id, (picked.logit - picked.log_z).exp(), distribution)
            }
            _ => {
                let logits = &out.logits;
                let id = self.sampler.sample(logits, &self.history);
                // One pass over the vocabulary serves both the chosen token's probability and the summary.
                let (log_z, distribution) = if top_k > 0 {
                    let (log_z, entropy) = log_z_and_entropy(logits);
                    (log_z, Some(Distribution::with_log_z(logits, top_k, log_z, entropy)))
                } else {
                    (log_sum_exp(logits), None)
                };
                (id, (logits[id as usize] - log_z).exp(), distribution)
            }
        };
        self.pending = vec![id];
        self.history.push(id);

        let tokenizer = &self.engine.tokenizer;
        let mut finish = None;
        let mut delta = String::new();
        if Some(id) == tokenizer.eos && !self.options.ignore_eos {
            finish = Some(FinishReason::EndOfSequence);
        } else {
            self.generated.push(id);
            let stopped;
            (delta, stopped) = self.text.push(&self.generated, |ids| tokenizer.decode(ids))?;
            if stopped {
                finish = Some(FinishReason::StopString);
            } else if self.generated.len() >= self.options.max_tokens {
                finish = Some(FinishReason::MaxTokens);
            } else if position + 1 >= self.session.capacity() {
                finish = Some(FinishReason::ContextFull);
            }
        }
        if finish.is_some_and(|f| f != FinishReason::StopString) {
            delta.push_str(&self.text.flush());
        }
        self.finished = finish;
        if finish.is_some() {
            if let (Some(ahead), Session::Gpu(gpu)) = (self.inflight.take(), &mut self.session) {
                gpu.discard(ahead);
            }
        }
        let (attention, counters, note) = (out.attention, out.counters, self.note.take());
        Ok(Some(Step { position, id, text: delta, prob, distribution, attention, finish, counters, note }))
    }

    /// Runs to the end; returns the generated ids.
    pub async fn run_to_end(&mut self) -> Result<Vec<u32>> {
        while self.step().await?.is_some() {}
        Ok(self.generated.clone())
    }

    /// [`Self::step`], blocking (native callers: the CLI, tests, benchmarks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn step_blocking(&mut self) -> Result<Option<Step>> {
        pollster::block_on(self.step())
    }

    /// [`Self::run_to_end`], blocking.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_to_end_blocking(&mut self) -> Result<Vec<u32>> {
        pollster::block_on(self.run_to_end())
    }
}

impl Drop for Generator<'_> {
    /// Keeps the cache and the tokens it holds for the next generation (the next turn of the
    /// conversation starts after them): on the GPU, the model's pool keeps it; on the CPU, the engine.
    fn drop(&mut self) {
        if let (Some(ahead), Session::Gpu(gpu)) = (self.inflight.take(), &mut self.session) {
            gpu.discard(ahead);
        }
        let held = self.history[..self.fed().min(self.history.len())].to_vec();
        match &mut self.session {
            Session::Gpu(gpu) => gpu.hold(held),
            Session::Cpu { cache, .. } => {
                let cache = std::mem::replace(cache, KvCache::new(&self.engine.model.config, 0));
                if let Ok(mut kept) = self.engine.kept.lock() {
                    *kept = Some(KeptCache { cache, ids: held });
                }
            }
        }
    }
}
