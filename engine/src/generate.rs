//! Text generation as a stream of steps. A [`Generator`] feeds the prompt (one batched forward pass),
//! then one token per [`Generator::step`], so a caller (the CLI, the web worker) can show each token,
//! its probabilities and its attention as soon as it exists, and stop whenever it likes.

use serde::{Deserialize, Serialize};

use crate::backend::cpu::Precision;
use crate::chat::{ChatTemplate, Message};
use crate::error::{EngineError, Result};
use crate::gguf::Gguf;
use crate::model::{FileBytes, KvCache, LogitsFor, Model};
use crate::sample::{Sampler, SamplerConfig};
use crate::tokenizer::Tokenizer;
use crate::trace::{log_sum_exp, AttentionTrace, Distribution};

/// A model with its tokenizer and chat template: everything needed to chat.
#[derive(Debug, Clone)]
pub struct Engine {
    /// Weights and shape.
    pub model: Model,
    /// Text ↔ ids.
    pub tokenizer: Tokenizer,
    /// Conversation → prompt.
    pub template: ChatTemplate,
}

impl Engine {
    /// Loads everything from a whole GGUF file, which the weights keep referring to (no copy).
    pub fn from_gguf(file: FileBytes, precision: Precision) -> Result<Self> {
        let gguf = Gguf::parse(file.as_slice())?;
        let model = Model::load(&gguf, &file, precision)?;
        let tokenizer = Tokenizer::from_gguf(&gguf)?;
        if tokenizer.vocab_size() != model.config.n_vocab {
            return Err(EngineError::BadTensorShape {
                name: "token_embd.weight".into(),
                reason: format!("{} rows for {} tokens", model.config.n_vocab, tokenizer.vocab_size()),
            });
        }
        let template = ChatTemplate::from_gguf(&gguf, &tokenizer)?;
        Ok(Self { model, tokenizer, template })
    }

    /// The prompt ids of a conversation, ready for the assistant's turn.
    pub fn chat_prompt(&self, messages: &[Message]) -> Result<Vec<u32>> {
        self.template.encode(&self.tokenizer, messages, true)
    }

    /// Starts generating after `prompt` (ids) in a fresh KV cache.
    pub fn generate(&self, prompt: Vec<u32>, options: GenerateOptions) -> Result<Generator<'_>> {
        if prompt.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        let limit = options.context.unwrap_or(self.model.config.n_ctx).min(self.model.config.n_ctx);
        if prompt.len() >= limit {
            return Err(EngineError::ContextFull { needed: prompt.len() + 1, limit });
        }
        let cache = self.model.new_cache(limit);
        Ok(Generator::new(self, cache, prompt, options))
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
}

/// A generation in progress; see the module docs.
#[derive(Debug)]
pub struct Generator<'e> {
    engine: &'e Engine,
    cache: KvCache,
    sampler: Sampler,
    options: GenerateOptions,
    /// Tokens to feed at the next step: the prompt first, then the last sampled token.
    pending: Vec<u32>,
    /// Every token so far, prompt included.
    history: Vec<u32>,
    /// Generated ids.
    generated: Vec<u32>,
    /// Text of the answer handed out so far.
    text: String,
    finished: Option<FinishReason>,
}

impl<'e> Generator<'e> {
    fn new(engine: &'e Engine, cache: KvCache, prompt: Vec<u32>, options: GenerateOptions) -> Self {
        let sampler = Sampler::new(options.sampler.clone());
        Self {
            engine,
            cache,
            sampler,
            options,
            history: prompt.clone(),
            pending: prompt,
            generated: Vec::new(),
            text: String::new(),
            finished: None,
        }
    }

    /// Generated ids so far.
    pub fn generated(&self) -> &[u32] {
        &self.generated
    }

    /// The answer's text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Why it ended, once it has.
    pub fn finish_reason(&self) -> Option<FinishReason> {
        self.finished
    }

    /// Produces the next token, or `None` once finished.
    pub fn step(&mut self) -> Result<Option<Step>> {
        if self.finished.is_some() {
            return Ok(None);
        }
        if self.generated.len() >= self.options.max_tokens {
            self.finished = Some(FinishReason::MaxTokens);
            return Ok(None);
        }
        let position = self.cache.len() + self.pending.len();
        if position >= self.cache.capacity() {
            self.finished = Some(FinishReason::ContextFull);
            return Ok(None);
        }
        let model = &self.engine.model;
        let out = model.forward(&mut self.cache, &self.pending, LogitsFor::Last, self.options.trace.attention)?;
        let logits = &out.logits;
        let id = self.sampler.sample(logits, &self.history);
        // One pass over the vocabulary serves both the chosen token's probability and the summary.
        let log_z = log_sum_exp(logits);
        let distribution =
            (self.options.trace.top_k > 0).then(|| Distribution::with_log_z(logits, self.options.trace.top_k, log_z));
        let prob = (logits[id as usize] - log_z).exp();
        self.pending = vec![id];
        self.history.push(id);

        let tokenizer = &self.engine.tokenizer;
        let mut finish = None;
        let mut delta = String::new();
        if Some(id) == tokenizer.eos && !self.options.ignore_eos {
            finish = Some(FinishReason::EndOfSequence);
        } else {
            self.generated.push(id);
            let full = tokenizer.decode(&self.generated)?;
            // Hold back a trailing incomplete character (decoded as U+FFFD) until its other bytes arrive.
            let settled = full.trim_end_matches('\u{FFFD}');
            if let Some((cut, _)) =
                self.options.stop.iter().filter_map(|s| settled.find(s.as_str()).map(|at| (at, s))).min()
            {
                finish = Some(FinishReason::StopString);
                delta = settled[self.text.len().min(cut)..cut].to_owned();
                self.text.push_str(&delta);
            } else if settled.len() > self.text.len() && settled.starts_with(self.text.as_str()) {
                delta = settled[self.text.len()..].to_owned();
                self.text.push_str(&delta);
            }
            if finish.is_none() && self.generated.len() >= self.options.max_tokens {
                finish = Some(FinishReason::MaxTokens);
            } else if finish.is_none() && position + 1 >= self.cache.capacity() {
                finish = Some(FinishReason::ContextFull);
            }
        }
        self.finished = finish;
        Ok(Some(Step { position, id, text: delta, prob, distribution, attention: out.attention, finish }))
    }

    /// Runs to the end; returns the generated ids.
    pub fn run_to_end(&mut self) -> Result<Vec<u32>> {
        while self.step()?.is_some() {}
        Ok(self.generated.clone())
    }
}
