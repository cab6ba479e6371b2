//! One training run of the pre-training lab: the text, the trainer, what the page has not been told yet,
//! and, when it trains there, the model on the GPU (see `worker.rs` for the loop that drives it).

use std::rc::Rc;

use engine::train::pretrain::{self, check_sizes, Corpus, CorpusError, TrainSettings, Trainer, TrainerPosition};
use engine::train::{GptConfig, GpuGpt, Rng};
use serde::{Deserialize, Serialize};

use super::{memory_estimate, Progress, Ready, Sample, Setup};

/// Held-out loss every this many steps, over this many windows (`glassbox pretrain`'s defaults).
pub const EVAL_EVERY: usize = 25;
const EVAL_WINDOWS: usize = 16;
/// Steps submitted to the GPU before waiting for it.
const GPU_STEPS_IN_FLIGHT: usize = 4;
/// A model whose training needs more than this is refused (the browser gives a worker a few hundred MB
/// without trouble on a school laptop).
pub const MEMORY_LIMIT: usize = 512 << 20;

/// Held-out windows: inputs, targets and how many.
pub(super) type Windows = (Vec<u32>, Vec<u32>, usize);

/// Why a setup or a file was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Refusal {
    /// The text or the sizes.
    Corpus(CorpusError),
    /// Too large for this browser: the estimate in bytes.
    Memory(usize),
    /// A file that is not a saved model: why.
    File(String),
}

pub(super) struct Run {
    pub(super) generation: u64,
    pub(super) corpus: Corpus,
    pub(super) trainer: Trainer,
    /// A loaded model has no text to go on with.
    pub(super) trainable: bool,
    pub(super) running: bool,
    pub(super) loop_id: u64,
    pub(super) prompt: String,
    pub(super) temperature: f32,
    pub(super) sample_rng: Rng,
    pub(super) tokens: u64,
    pub(super) losses: (f32, usize),
    pub(super) held_out: Vec<(usize, f32)>,
    /// The step whose held-out loss was measured last.
    pub(super) evaluated: Option<usize>,
    /// The model's training on the GPU, when it runs there (the trainer then holds the weights and
    /// moments read back last, and counts the steps).
    pub(super) gpu: Option<Rc<GpuGpt>>,
    /// On the GPU: the trainer's position and the characters read as of the last read-back, where the
    /// CPU goes on from should the GPU fail (the steps since are lost with it). The trainer's weights
    /// are that read-back's: the GPU's steps change only its position.
    pub(super) synced: Option<(TrainerPosition, u64)>,
}

impl Run {
    fn new(generation: u64, corpus: Corpus, trainer: Trainer, trainable: bool, sample_seed: u64) -> Self {
        Self {
            generation,
            corpus,
            trainer,
            trainable,
            running: trainable,
            loop_id: 0,
            prompt: String::new(),
            temperature: 0.8,
            sample_rng: Rng::new(sample_seed),
            tokens: 0,
            losses: (0.0, 0),
            held_out: Vec::new(),
            evaluated: None,
            gpu: None,
            synced: None,
        }
    }

    pub(super) fn eval_due(&self) -> bool {
        self.trainer.step.is_multiple_of(EVAL_EVERY) && self.evaluated != Some(self.trainer.step)
    }

    pub(super) fn step_tokens(&self) -> u64 {
        (self.trainer.settings.batch * self.trainer.gpt.config.context) as u64
    }

    pub(super) fn train_one(&mut self) {
        if self.eval_due() {
            self.held_out.push((self.trainer.step, self.trainer.held_out_loss(&self.corpus, EVAL_WINDOWS)));
            self.evaluated = Some(self.trainer.step);
        }
        let loss = self.trainer.train_step(&self.corpus);
        self.losses = (self.losses.0 + loss, self.losses.1 + 1);
        self.tokens += self.step_tokens();
    }

    /// Submits up to [`GPU_STEPS_IN_FLIGHT`] steps, stopping before a step whose held-out loss is due:
    /// returns those windows (and the step) for the GPU to measure. A failing GPU is let go.
    pub(super) fn submit_to_gpu(&mut self, gpu: &GpuGpt) -> Option<(usize, Windows)> {
        for _ in 0..GPU_STEPS_IN_FLIGHT {
            if self.eval_due() {
                self.evaluated = Some(self.trainer.step);
                return Some((
                    self.trainer.step,
                    self.corpus.held_out_windows(self.trainer.gpt.config.context, EVAL_WINDOWS),
                ));
            }
            if let Err(why) = gpu.train_step(&mut self.trainer, &self.corpus) {
                self.lose_gpu(&why.to_string());
                return None;
            }
            self.tokens += self.step_tokens();
        }
        None
    }

    /// Trains on `gpu` from here on (it holds the trainer's weights and moments as they are now).
    pub(super) fn attach_gpu(&mut self, gpu: GpuGpt) {
        self.gpu = Some(Rc::new(gpu));
        self.mark_synced();
    }

    /// The GPU's state has been read back into the trainer: the CPU would go on from here.
    pub(super) fn mark_synced(&mut self) {
        self.synced = Some((self.trainer.position(), self.tokens));
    }

    /// Goes on on the CPU from the last read-back: its step, batches and count of characters too, so
    /// the steps the GPU took since (and their held-out points not yet reported) are taken again.
    pub(super) fn lose_gpu(&mut self, why: &str) {
        if self.gpu.take().is_none() {
            return;
        }
        web_sys::console::warn_1(&format!("the pre-training lab goes on on the CPU: {why}").into());
        if let Some((position, tokens)) = self.synced.take() {
            let step = position.step;
            self.trainer.go_back_to(position);
            self.tokens = tokens;
            self.held_out.retain(|&(s, _)| s <= step);
            if self.evaluated.is_some_and(|e| e > step) {
                self.evaluated = None;
            }
        }
    }

    pub(super) fn report(&mut self, tokens_per_s: f32) -> Progress {
        let (sum, n) = std::mem::take(&mut self.losses);
        Progress {
            run: self.generation,
            step: self.trainer.step,
            tokens: self.tokens,
            train_loss: (n > 0).then(|| sum / n as f32),
            held_out: std::mem::take(&mut self.held_out),
            tokens_per_s,
            running: self.running,
            gpu: self.gpu.as_ref().map(|g| g.adapter().to_owned()),
            cores: crate::kernels::cpu_threads(),
        }
    }

    pub(super) fn sample(&mut self, prompt: &str, temperature: f32, count: usize) -> Sample {
        let s = pretrain::sample(&self.trainer.gpt, &self.corpus, prompt, count, temperature, &mut self.sample_rng);
        let c = self.trainer.gpt.config;
        Sample {
            run: self.generation,
            step: self.trainer.step,
            prompt: s.prompt,
            text: s.text,
            window: s.window,
            attention: s.attention,
            shape: (c.layers, c.heads),
        }
    }
}

/// Builds a run for `setup`, or says why not.
pub(super) fn start(setup: &Setup, generation: u64) -> Result<(Run, Ready), Refusal> {
    let corpus = Corpus::new(setup.text.chars(), setup.context).map_err(Refusal::Corpus)?;
    let config = GptConfig {
        vocab: corpus.chars.len(),
        layers: setup.layers,
        width: setup.width,
        heads: setup.heads,
        context: setup.context,
    };
    check_sizes(&config).map_err(Refusal::Corpus)?;
    let settings = TrainSettings::for_model(&config);
    let memory =
        memory_estimate(config.layers, config.width, config.heads, config.context, config.vocab, settings.batch);
    if memory > MEMORY_LIMIT {
        return Err(Refusal::Memory(memory));
    }
    let trainer = Trainer::new(config, settings, setup.seed);
    let ready = Ready {
        run: generation,
        parameters: trainer.gpt.params.len(),
        vocab: config.vocab,
        unigram_loss: Some(corpus.unigram_loss()),
        chars: (corpus.split, corpus.ids.len() - corpus.split),
        memory,
    };
    let run = Run::new(generation, corpus, trainer, true, setup.seed.wrapping_add(2));
    Ok((run, ready))
}

/// A saved model, paused (its text is not in the file).
pub(super) fn load(bytes: &[u8], generation: u64) -> Result<(Run, Ready), Refusal> {
    let (gpt, chars) = pretrain::load(bytes).map_err(Refusal::File)?;
    let c = gpt.config;
    let memory = memory_estimate(c.layers, c.width, c.heads, c.context, c.vocab, TrainSettings::default().batch);
    let ready = Ready {
        run: generation,
        parameters: gpt.params.len(),
        vocab: c.vocab,
        unigram_loss: None,
        chars: (0, 0),
        memory,
    };
    let corpus = Corpus { chars, ids: Vec::new(), split: 0 };
    let run = Run::new(generation, corpus, Trainer::from_gpt(gpt, TrainSettings::default(), 1), false, 3);
    Ok((run, ready))
}
