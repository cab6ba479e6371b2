//! Text generation as a stream of steps. A [`Generator`] feeds the prompt (one batched forward pass),
//! then one token per [`Generator::step`], so a caller (the CLI, the web worker) can show each token,
//! its probabilities and its attention as soon as it exists, and stop whenever it likes.

use serde::{Deserialize, Serialize};

use std::sync::{Arc, Mutex};

use crate::backend::cpu::Precision;
use crate::backend::gpu::shared_prefix;
use crate::backend::gpu::{
    GpuContext, GpuModel, Input, PickParams, Readback, StepCounters, Submitted, PICK_CANDIDATES,
};
use crate::chat::{ChatTemplate, Message};
use crate::error::{EngineError, Result};
use crate::gguf::Gguf;
use crate::model::{FileBytes, KvCache, LogitsFor, Model};
use crate::sample::{Sampler, SamplerConfig};
use crate::session::Session;
use crate::text_stream::TextStream;
use crate::tokenizer::Tokenizer;
use crate::trace::{log_sum_exp, AttentionTrace, Candidate, Distribution};

/// A model with its tokenizer and chat template: everything needed to chat. It runs on the CPU until
/// [`Engine::use_gpu`] succeeds, then on the GPU, falling back to the CPU if the GPU is lost.
#[derive(Debug, Clone)]
pub struct Engine {
    /// Weights and shape.
    pub model: Model,
    /// Text ↔ ids.
    pub tokenizer: Tokenizer,
    /// Conversation → prompt.
    pub template: ChatTemplate,
    gpu: Option<Arc<GpuModel>>,
    /// The CPU cache of the last generation that ended, with the tokens it holds: the next turn of the
    /// conversation starts after them (the GPU keeps its own, in [`GpuModel`]).
    kept: Arc<Mutex<Option<KeptCache>>>,
}

/// A CPU cache and the tokens whose keys and values it holds.
#[derive(Debug)]
struct KeptCache {
    cache: KvCache,
    ids: Vec<u32>,
}

impl Engine {
    /// Loads everything from a whole GGUF file, which the weights keep referring to (no copy).
    pub fn from_gguf(file: FileBytes, precision: Precision) -> Result<Self> {
        let gguf = Gguf::parse(file.as_slice())?;
        Self::from_header(&gguf, file, precision)
    }

    /// The engine of `file`, whose header the caller has parsed already (to show its card first).
    pub fn from_header(gguf: &Gguf, file: FileBytes, precision: Precision) -> Result<Self> {
        let model = Model::load(gguf, &file, precision)?;
        let tokenizer = Tokenizer::from_gguf(gguf)?;
        if tokenizer.vocab_size() != model.config.n_vocab {
            return Err(EngineError::BadTensorShape {
                name: "token_embd.weight".into(),
                reason: format!("{} rows for {} tokens", model.config.n_vocab, tokenizer.vocab_size()),
            });
        }
        let template = ChatTemplate::from_gguf(gguf, &tokenizer)?;
        Ok(Self { model, tokenizer, template, gpu: None, kept: Arc::default() })
    }

    /// Moves the model onto the best GPU adapter (WebGPU in the browser, Vulkan/Metal/DX12 natively).
    /// On any error (no adapter, a model the adapter's limits cannot hold) the engine stays on the CPU
    /// and the error says why, for the user.
    pub async fn use_gpu(&mut self) -> Result<()> {
        let ctx = GpuContext::new().await?;
        let gpu = GpuModel::load(ctx, &self.model, self.model.config.n_ctx).await?;
        #[allow(
            clippy::arc_with_non_send_sync,
            reason = "wgpu handles are !Send only in the browser, which has one thread"
        )]
        let gpu = Arc::new(gpu);
        self.gpu = Some(gpu);
        Ok(())
    }

    /// The GPU model, while the engine has a usable one.
    pub fn gpu(&self) -> Option<&GpuModel> {
        self.gpu.as_deref().filter(|g| !g.context().is_lost())
    }

    /// Where new sessions run: "WebGPU: <adapter>", "Vulkan: llvmpipe (software)", or "CPU".
    pub fn backend_label(&self) -> String {
        match self.gpu() {
            Some(gpu) => crate::ComputeBackend::from_info(&gpu.context().info).label(),
            None => "CPU".to_owned(),
        }
    }

    /// A fresh session of up to `capacity` positions, on the GPU when there is one. A GPU that cannot
    /// make one (out of memory) leaves a CPU session and says why in the second value.
    pub fn session(&self, capacity: usize) -> (Session<'_>, Option<String>) {
        let (session, note, _) = self.session_after(capacity, &[]);
        (session, note)
    }

    /// A session for `prompt`, continuing the last generation's cache where its tokens and `prompt`
    /// agree (a new turn of the conversation prefills only what is new; an edit or a regenerate, from
    /// the point of change): the third value is how many positions are already filled.
    pub fn session_after(&self, capacity: usize, prompt: &[u32]) -> (Session<'_>, Option<String>, usize) {
        if let Some(gpu) = self.gpu() {
            match gpu.session_after(capacity, prompt) {
                Ok((s, reused)) => return (Session::Gpu(Box::new(s)), None, reused),
                Err(err) => {
                    return (Session::cpu(&self.model, capacity), Some(format!("{err}; using the CPU")), 0);
                }
            }
        }
        // Taken only when it helps: a session for something else (a lens, a game) leaves it for the chat.
        let kept = self.kept.lock().ok().and_then(|mut kept| {
            let reused = kept.as_ref().map_or(0, |k| shared_prefix(&k.ids, prompt));
            (reused > 0).then(|| kept.take()).flatten().map(|k| (k.cache, reused))
        });
        match kept {
            Some((mut cache, reused)) => {
                cache.truncate(reused);
                cache.set_capacity(capacity);
                (Session::Cpu { model: &self.model, cache }, None, reused)
            }
            None => (Session::cpu(&self.model, capacity), None, 0),
        }
    }

    /// The prompt ids of a conversation, ready for the assistant's turn.
    pub fn chat_prompt(&self, messages: &[Message]) -> Result<Vec<u32>> {
        self.template.encode(&self.tokenizer, messages, true)
    }

    /// Starts generating after `prompt` (ids) in a fresh KV cache, sized for the positions this answer
    /// can reach (the prompt and `max_tokens`, within the context): on the GPU, where the cache is
    /// allocated up front, a short answer does not hold the whole context's memory.
    pub fn generate(&self, prompt: Vec<u32>, options: GenerateOptions) -> Result<Generator<'_>> {
        if prompt.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        let mut limit = options.context.unwrap_or(self.model.config.n_ctx).min(self.model.config.n_ctx);
        if let Some(gpu) = self.gpu() {
            limit = limit.min(gpu.max_context());
        }
        if prompt.len() >= limit {
            return Err(EngineError::ContextFull { needed: prompt.len() + 1, limit });
        }
        let capacity = limit.min(prompt.len().saturating_add(options.max_tokens.max(1)));
        let (session, note, reused) = if options.continue_cache {
            self.session_after(capacity, &prompt)
        } else {
            let (session, note) = self.session(capacity);
            (session, note, 0)
        };
        let mut generator = Generator::new(self, session, prompt, reused, options);
        generator.note = note;
        Ok(generator)
    }
}

/// What to trace at each step (everything off costs nothing).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceOptions {
    /// Record every layer's and head's attention probabilities.
    pub attention: bool,
    /// Report the `top_k` most likely next tokens and the entropy (0: off).
    pub top_k: usize,
}

/// How to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateOptions {
    /// Most new tokens.
    pub max_tokens: usize,
    /// Sampling.
    pub sampler: SamplerConfig,
    /// Stop as soon as the text contains one of these (it is not included).
    pub stop: Vec<String>,
    /// Tracing.
    pub trace: TraceOptions,
    /// Context positions to allow (`None`: the model's).
    pub context: Option<usize>,
    /// Keep going past the end-of-sequence token (benchmarks that need a fixed length).
    pub ignore_eos: bool,
    /// On the GPU, submit the next token's pass before this token has come back (the GPU picks it and
    /// the next pass reads it there), so the GPU never waits for the CPU. `None`: on a hardware GPU;
    /// off on a software adapter, whose "GPU" is the CPU's own cores (overlapping there takes a core
    /// from it: lavapipe decodes about 10 % slower, `cargo xtask bench gpu`).
    #[serde(default)]
    pub overlap: Option<bool>,
    /// Start from the last generation's cache where its tokens and the prompt agree, so a new turn of
    /// a conversation prefills only what is new (an edit or a regenerate, from the point of change). The
    /// first pass's attention trace then covers the new positions only. Off: every prompt runs whole
    /// (benchmarks, tests of the prompt's trace).
    #[serde(default)]
    pub continue_cache: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            sampler: SamplerConfig::default(),
            stop: Vec::new(),
            trace: TraceOptions::default(),
            context: None,
            ignore_eos: false,
            overlap: None,
            continue_cache: false,
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FinishReason {
    /// The model produced its end-of-sequence token.
    EndOfSequence,
    /// A stop string appeared.
    StopString,
    /// `max_tokens` reached.
    MaxTokens,
    /// The context window is full: the answer is cut here.
    ContextFull,
}

/// One generated token and what was traced for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Position of the new token.
    pub position: usize,
    /// The token.
    pub id: u32,
    /// Text this step adds to the answer (may be empty while a multi-byte character is incomplete).
    pub text: String,
    /// The chosen token's probability at temperature 1.
    pub prob: f32,
    /// Top-k and entropy of the distribution it was drawn from, when traced.
    pub distribution: Option<Distribution>,
    /// Attention of the tokens fed in this step (the whole prompt at the first step), when traced.
    pub attention: Option<AttentionTrace>,
    /// Set on the last step.
    pub finish: Option<FinishReason>,
    /// What this step cost on the GPU (zero on the CPU).
    #[serde(default)]
    pub counters: StepCounters,
    /// Something the user should know, e.g. "the GPU device was lost: …; continuing on the CPU".
    #[serde(default)]
    pub note: Option<String>,
}

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
    note: Option<String>,
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
    fn new(
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
                let log_z = log_sum_exp(logits);
                let distribution = (top_k > 0).then(|| Distribution::with_log_z(logits, top_k, log_z));
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
