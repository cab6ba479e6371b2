//! Text generation as a stream of steps. A [`Generator`] feeds the prompt (one batched forward pass),
//! then one token per [`Generator::step`], so a caller (the CLI, the web worker) can show each token,
//! its probabilities and its attention as soon as it exists, and stop whenever it likes.

mod generator;

pub use generator::Generator;

use serde::{Deserialize, Serialize};

use std::sync::{Arc, Mutex};

use crate::backend::cpu::Precision;
use crate::backend::gpu::shared_prefix;
use crate::backend::gpu::{GpuContext, GpuModel, StepCounters};
use crate::chat::{ChatTemplate, Message};
use crate::error::{EngineError, Result};
use crate::gguf::Gguf;
use crate::model::{FileBytes, KvCache, Model};
use crate::sample::SamplerConfig;
use crate::session::Session;
use crate::tokenizer::Tokenizer;
use crate::trace::{AttentionTrace, Distribution};

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
