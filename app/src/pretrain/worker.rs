//! The pre-training lab's worker: trains the tiny GPT in slices of ~40 ms on the CPU, measures the
//! held-out loss every 25 steps (as `glassbox pretrain` does, with the same seed and batches), reports
//! every 250 ms and writes a sample every 4 s; between slices it answers the page.

use std::cell::RefCell;
use std::rc::Rc;

use engine::train::pretrain::{self, check_sizes, Corpus, CorpusError, TrainSettings, Trainer};
use engine::train::{GptConfig, Rng};
use gloo_worker::{HandlerId, Worker, WorkerScope};
use serde::{Deserialize, Serialize};

use super::{memory_estimate, PretrainRequest, PretrainResponse, Progress, Ready, Sample, Setup};

const SLICE_MS: f64 = 40.0;
const REPORT_MS: f64 = 250.0;
const SAMPLE_MS: f64 = 4000.0;
/// Held-out loss every this many steps, over this many windows (`glassbox pretrain`'s defaults).
pub const EVAL_EVERY: usize = 25;
const EVAL_WINDOWS: usize = 16;
const SAMPLE_CHARS: usize = 120;
/// A model whose training needs more than this is refused (the browser gives a worker a few hundred MB
/// without trouble on a school laptop).
pub const MEMORY_LIMIT: usize = 512 << 20;

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

struct Run {
    generation: u64,
    corpus: Corpus,
    trainer: Trainer,
    /// A loaded model has no text to go on with.
    trainable: bool,
    running: bool,
    loop_id: u64,
    prompt: String,
    temperature: f32,
    sample_rng: Rng,
    tokens: u64,
    losses: (f32, usize),
    held_out: Vec<(usize, f32)>,
}

impl Run {
    fn train_one(&mut self) {
        if self.trainer.step.is_multiple_of(EVAL_EVERY) {
            self.held_out.push((self.trainer.step, self.trainer.held_out_loss(&self.corpus, EVAL_WINDOWS)));
        }
        let loss = self.trainer.train_step(&self.corpus);
        self.losses = (self.losses.0 + loss, self.losses.1 + 1);
        self.tokens += (self.trainer.settings.batch * self.trainer.gpt.config.context) as u64;
    }

    fn report(&mut self, tokens_per_s: f32) -> Progress {
        let (sum, n) = std::mem::take(&mut self.losses);
        Progress {
            run: self.generation,
            step: self.trainer.step,
            tokens: self.tokens,
            train_loss: (n > 0).then(|| sum / n as f32),
            held_out: std::mem::take(&mut self.held_out),
            tokens_per_s,
            running: self.running,
        }
    }

    fn sample(&mut self, prompt: &str, temperature: f32, count: usize) -> Sample {
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
fn start(setup: &Setup, generation: u64) -> Result<(Run, Ready), Refusal> {
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
    let run = Run {
        generation,
        corpus,
        trainer,
        trainable: true,
        running: true,
        loop_id: 0,
        prompt: String::new(),
        temperature: 0.8,
        sample_rng: Rng::new(setup.seed.wrapping_add(2)),
        tokens: 0,
        losses: (0.0, 0),
        held_out: Vec::new(),
    };
    Ok((run, ready))
}

/// A saved model, paused (its text is not in the file).
fn load(bytes: &[u8], generation: u64) -> Result<(Run, Ready), Refusal> {
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
    let run = Run {
        generation,
        corpus,
        trainer: Trainer::from_gpt(gpt, TrainSettings::default(), 1),
        trainable: false,
        running: false,
        loop_id: 0,
        prompt: String::new(),
        temperature: 0.8,
        sample_rng: Rng::new(3),
        tokens: 0,
        losses: (0.0, 0),
        held_out: Vec::new(),
    };
    Ok((run, ready))
}

/// The pre-training lab's worker (registered by `bin/pretrain_worker.rs`).
#[derive(Default)]
pub struct PretrainWorker {
    run: Rc<RefCell<Option<Run>>>,
    generation: u64,
}

impl std::fmt::Debug for PretrainWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PretrainWorker(generation {})", self.generation)
    }
}

impl Worker for PretrainWorker {
    type Message = ();
    type Input = PretrainRequest;
    type Output = PretrainResponse;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self::default()
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: Self::Message) {}

    fn received(&mut self, scope: &WorkerScope<Self>, request: PretrainRequest, from: HandlerId) {
        match request {
            PretrainRequest::Start(setup) => self.replace(scope, from, start(&setup, self.generation + 1)),
            PretrainRequest::Load(bytes) => self.replace(scope, from, load(&bytes, self.generation + 1)),
            PretrainRequest::Run(on) => {
                let mut slot = self.run.borrow_mut();
                if let Some(run) = slot.as_mut() {
                    let begin = on && !run.running && run.trainable;
                    run.running = on && run.trainable;
                    let report = run.report(0.0);
                    drop(slot);
                    scope.respond(from, PretrainResponse::Progress(report));
                    if begin {
                        train(Rc::clone(&self.run), self.generation, scope.clone(), from);
                    }
                }
            }
            PretrainRequest::Write { prompt, temperature, count } => {
                if let Some(run) = self.run.borrow_mut().as_mut() {
                    (run.prompt, run.temperature) = (prompt.clone(), temperature.clamp(0.0, 2.0));
                    let sample = run.sample(&prompt, run.temperature, count.clamp(1, 400));
                    scope.respond(from, PretrainResponse::Sample(sample));
                }
            }
            PretrainRequest::Next(prompt) => {
                if let Some(run) = self.run.borrow().as_ref() {
                    let top = pretrain::next_chars(&run.trainer.gpt, &run.corpus, &prompt, 10);
                    scope.respond(from, PretrainResponse::Next(prompt, top));
                }
            }
            PretrainRequest::Predict { context, guess } => {
                if let Some(run) = self.run.borrow().as_ref() {
                    let prediction = super::play::prediction(&run.trainer.gpt, &run.corpus, context, guess);
                    scope.respond(from, PretrainResponse::Prediction(prediction));
                }
            }
            PretrainRequest::Continue { ids, seeds, sampler, count } => {
                if let Some(run) = self.run.borrow().as_ref() {
                    let texts =
                        super::play::answers(&run.trainer.gpt, &run.corpus, &ids, &seeds, &sampler, count.min(400));
                    scope.respond(from, PretrainResponse::Answers(texts));
                }
            }
            PretrainRequest::Save => {
                if let Some(run) = self.run.borrow().as_ref() {
                    scope.respond(from, PretrainResponse::Saved(pretrain::save(&run.trainer.gpt, &run.corpus)));
                }
            }
            PretrainRequest::Fetched => scope.respond(from, PretrainResponse::Fetched(crate::worker::fetched())),
        }
    }
}

impl PretrainWorker {
    /// Replaces the current run with a new one, or keeps it and says why not.
    fn replace(&mut self, scope: &WorkerScope<Self>, from: HandlerId, built: Result<(Run, Ready), Refusal>) {
        match built {
            Ok((mut run, ready)) => {
                self.generation = ready.run;
                scope.respond(from, PretrainResponse::Ready(ready));
                let first = run.sample("", run.temperature, SAMPLE_CHARS);
                scope.respond(from, PretrainResponse::Sample(first));
                let trains = run.running;
                *self.run.borrow_mut() = Some(run);
                if trains {
                    train(Rc::clone(&self.run), self.generation, scope.clone(), from);
                }
            }
            Err(why) => scope.respond(from, PretrainResponse::Refused(why)),
        }
    }
}

/// Trains in slices until paused or replaced.
fn train(slot: Rc<RefCell<Option<Run>>>, generation: u64, scope: WorkerScope<PretrainWorker>, from: HandlerId) {
    let Some(me) = slot.borrow_mut().as_mut().map(|r| {
        r.loop_id += 1;
        r.loop_id
    }) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let (mut last_report, mut last_sample) = (js_sys::Date::now(), js_sys::Date::now());
        let mut tokens_since = 0u64;
        loop {
            {
                let mut guard = slot.borrow_mut();
                let Some(run) = guard.as_mut().filter(|r| r.generation == generation && r.loop_id == me && r.running)
                else {
                    return;
                };
                let (started, before) = (js_sys::Date::now(), run.tokens);
                while js_sys::Date::now() - started < SLICE_MS {
                    run.train_one();
                }
                tokens_since += run.tokens - before;
                let now = js_sys::Date::now();
                if now - last_report >= REPORT_MS {
                    let rate = (tokens_since as f64 / ((now - last_report) / 1000.0)) as f32;
                    (last_report, tokens_since) = (now, 0);
                    scope.respond(from, PretrainResponse::Progress(run.report(rate)));
                }
                if now - last_sample >= SAMPLE_MS {
                    last_sample = now;
                    let (prompt, temperature) = (run.prompt.clone(), run.temperature);
                    let sample = run.sample(&prompt, temperature, SAMPLE_CHARS);
                    scope.respond(from, PretrainResponse::Sample(sample));
                    // Sampling took time: the next report's rate should not count it.
                    (last_report, tokens_since) = (js_sys::Date::now(), 0);
                }
            }
            crate::pause::next_task().await;
        }
    });
}
