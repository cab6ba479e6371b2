//! The pre-training lab (`#pretrain`): a tiny GPT learns to write in its own worker. This file holds
//! the messages between the page and that worker, and the page's plain state (the curves, the samples'
//! history, the figures of scale), tested natively; `worker.rs` trains.

use serde::{Deserialize, Serialize};

mod play;
mod run;
mod worker;

pub use run::{Refusal, EVAL_EVERY};
pub use worker::PretrainWorker;

/// Which text the model learns from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Text {
    /// Shakespeare's sonnets.
    Sonnets,
    /// La Fontaine's lines quoted in Littré's dictionary: the French text.
    LaFontaine,
    /// The little French stories.
    Histoires,
    /// The student's own text.
    Own(String),
}

impl Text {
    /// The built-in text of a language: La Fontaine in French, the sonnets in English.
    pub fn of_language(french: bool) -> Self {
        if french {
            Self::LaFontaine
        } else {
            Self::Sonnets
        }
    }

    /// Its name, as `glassbox pretrain --corpus` takes it (`own` for the student's text).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sonnets => "sonnets",
            Self::LaFontaine => "la-fontaine",
            Self::Histoires => "histoires",
            Self::Own(_) => "own",
        }
    }

    /// The text of a name; `own` takes the student's text.
    pub fn from_name(name: &str, own: String) -> Self {
        let own = Self::Own(own);
        [Self::Sonnets, Self::LaFontaine, Self::Histoires]
            .into_iter()
            .find(|t| t.name() == name)
            .unwrap_or(if name == own.name() { own } else { Self::Sonnets })
    }

    /// The characters.
    pub fn chars(&self) -> &str {
        match self {
            Self::Own(text) => text,
            built_in => engine::train::pretrain::built_in(built_in.name()).unwrap_or_default(),
        }
    }
}

/// What to train: the text and the model's sizes (the same as `glassbox pretrain`'s arguments).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    /// The text.
    pub text: Text,
    /// Blocks, 1 ..= 4.
    pub layers: usize,
    /// Width, 32 ..= 128.
    pub width: usize,
    /// Heads, 1 ..= 4, dividing the width.
    pub heads: usize,
    /// Characters read at once, 32 ..= 128.
    pub context: usize,
    /// Seed of the weights (batches seed + 1, samples seed + 2).
    pub seed: u64,
    /// Train on any WebGPU adapter, a software one too (`?gpu` in the address).
    #[serde(default)]
    pub force_gpu: bool,
}

impl Setup {
    /// The default model on a text: 2 blocks of width 64 with 2 heads, 64 characters of context, seed 1
    /// (`glassbox pretrain`'s defaults).
    pub fn new(text: Text) -> Self {
        Self { text, layers: 2, width: 64, heads: 2, context: 64, seed: 1, force_gpu: false }
    }
}

/// Page → pre-training worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PretrainRequest {
    /// A new model from noise on this setup; training starts.
    Start(Setup),
    /// Pause or resume (the student's button).
    Run(bool),
    /// The lab left the screen (`true`) or came back: training pauses while it is away and resumes on
    /// its return, unless the student had paused it.
    Away(bool),
    /// Write now: `count` characters after `prompt` at `temperature` (samples during training use the
    /// last prompt and temperature asked for).
    Write {
        /// The beginning.
        prompt: String,
        /// 0 = always the likeliest character.
        temperature: f32,
        /// How many characters.
        count: usize,
    },
    /// The likeliest next characters after `prompt`.
    Next(String),
    /// The next-word game with the tiny model: the distribution after `context` and a guess's score,
    /// answered with [`PretrainResponse::Prediction`].
    Predict {
        /// The text so far.
        context: crate::protocol::Context,
        /// The class's guess.
        guess: Option<String>,
    },
    /// The game's *Three answers*: `count` characters after `ids` per seed, drawn with `sampler`.
    Continue {
        /// The text so far.
        ids: Vec<u32>,
        /// One answer per seed.
        seeds: Vec<u64>,
        /// Temperature, top-k, top-p.
        sampler: engine::sample::SamplerConfig,
        /// Characters per answer.
        count: usize,
    },
    /// The model as a file.
    Save,
    /// A saved model (training stays paused: its text is not in the file).
    Load(Vec<u8>),
    /// Every resource this worker has fetched (the requests log).
    Fetched,
}

/// The figures of a new model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ready {
    /// Which start this answers (reports of older ones are dropped).
    pub run: u64,
    /// Parameters.
    pub parameters: usize,
    /// Characters in the alphabet.
    pub vocab: usize,
    /// The held-out loss of letter frequencies alone (nats per character); `None` for a loaded model.
    pub unigram_loss: Option<f64>,
    /// Characters of text to learn from, and held out.
    pub chars: (usize, usize),
    /// Estimated memory in bytes (parameters, optimiser and one step's activations).
    pub memory: usize,
}

/// A training report (every ~250 ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Which start.
    pub run: u64,
    /// Steps taken.
    pub step: usize,
    /// Characters read so far.
    pub tokens: u64,
    /// The mean training loss of the steps since the last report.
    pub train_loss: Option<f32>,
    /// Held-out losses measured since the last report, `(step, loss)` (every 25 steps).
    pub held_out: Vec<(usize, f32)>,
    /// Training speed.
    pub tokens_per_s: f32,
    /// Still training.
    pub running: bool,
    /// The WebGPU adapter it trains on (`None`: the CPU).
    pub gpu: Option<String>,
    /// The CPU threads its products are shared by (the worker's build with threads: more than one).
    pub cores: usize,
}

/// A sample the model wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Which start.
    pub run: u64,
    /// After how many steps.
    pub step: usize,
    /// The prompt as read.
    pub prompt: String,
    /// What it wrote.
    pub text: String,
    /// The last window it read, and that window's attention `(layers, heads, len, len)`.
    pub window: String,
    /// See `window`.
    pub attention: Vec<f32>,
    /// Layers and heads of `attention`.
    pub shape: (usize, usize),
}

/// Pre-training worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PretrainResponse {
    /// A model is ready (new or loaded).
    Ready(Ready),
    /// The setup or file cannot be used: why, in one line (the current model stays).
    Refused(Refusal),
    /// Training progress.
    Progress(Progress),
    /// A sample.
    Sample(Sample),
    /// The answer to [`PretrainRequest::Next`]: the prompt and its likeliest next characters.
    Next(String, Vec<(char, f32)>),
    /// The answer to [`PretrainRequest::Predict`].
    Prediction(crate::protocol::Prediction),
    /// The answer to [`PretrainRequest::Continue`]: one text per seed.
    Answers(Vec<String>),
    /// The answer to [`PretrainRequest::Save`].
    Saved(Vec<u8>),
    /// The answer to [`PretrainRequest::Fetched`].
    Fetched(Vec<crate::protocol::Fetched>),
}

/// How many samples the history keeps.
pub const HISTORY: usize = 40;

/// The page's view of one training run, fed by the worker's answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Training {
    /// The run shown (`None` before the first answer).
    pub run: Option<u64>,
    /// Its figures.
    pub ready: Option<Ready>,
    /// `(step, mean training loss)` per report.
    pub train: Vec<(usize, f32)>,
    /// `(step, held-out loss)`.
    pub held_out: Vec<(usize, f32)>,
    /// The last report.
    pub last: Option<Progress>,
    /// Samples, newest first.
    pub samples: Vec<Sample>,
    /// The likeliest next characters after a prompt, as the model last said.
    pub next: Option<(String, Vec<(char, f32)>)>,
}

impl Training {
    /// Takes one answer of the worker; returns whether it changed anything (answers of an older run do
    /// not).
    pub fn take(&mut self, response: &PretrainResponse) -> bool {
        match response {
            PretrainResponse::Ready(ready) => {
                *self = Self { run: Some(ready.run), ready: Some(ready.clone()), ..Self::default() };
            }
            PretrainResponse::Progress(p) if Some(p.run) == self.run => {
                if let Some(loss) = p.train_loss {
                    self.train.push((p.step, loss));
                }
                self.held_out.extend(&p.held_out);
                self.last = Some(p.clone());
            }
            PretrainResponse::Next(prompt, top) => self.next = Some((prompt.clone(), top.clone())),
            PretrainResponse::Sample(s) if Some(s.run) == self.run => {
                // Only the newest sample's attention is drawn: older ones drop theirs (up to 1 MB each).
                if let Some(previous) = self.samples.first_mut() {
                    previous.attention = Vec::new();
                }
                self.samples.insert(0, s.clone());
                self.samples.truncate(HISTORY);
            }
            _ => return false,
        }
        true
    }

    /// The latest held-out loss.
    pub fn held_out_now(&self) -> Option<f32> {
        self.held_out.last().map(|p| p.1)
    }

    /// Floating-point operations spent so far (6 × parameters per character read).
    pub fn flops(&self) -> f64 {
        match (&self.ready, &self.last) {
            (Some(r), Some(p)) => engine::train::pretrain::flops_per_token(r.parameters) * p.tokens as f64,
            _ => 0.0,
        }
    }

    /// The curves' frame: the largest step and the loss range `(low, high)` over every point and the
    /// baseline, so nothing is drawn outside.
    pub fn frame(&self) -> (usize, f32, f32) {
        let steps = self.train.iter().chain(&self.held_out).map(|p| p.0).max().unwrap_or(0).max(1);
        let baseline = self.ready.as_ref().and_then(|r| r.unigram_loss).map(|u| u as f32);
        let values = self.train.iter().chain(&self.held_out).map(|p| p.1).chain(baseline);
        let (lo, hi) = values.fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if lo > hi {
            return (steps, 0.0, 5.0);
        }
        (steps, (lo - 0.1).max(0.0).floor(), (hi + 0.1).ceil())
    }
}

/// Memory a model of these sizes needs while training `batch` windows: the parameters four times
/// (weights, gradient, two moments) and one step's kept activations, in bytes.
pub fn memory_estimate(layers: usize, width: usize, heads: usize, context: usize, vocab: usize, batch: usize) -> usize {
    let config = engine::train::GptConfig { vocab, layers, width, heads, context };
    let params = engine::train::Gpt::parameter_count(&config);
    let rows = batch * context;
    let per_block = rows * 16 * width + batch * heads * context * context;
    4 * (4 * params + layers * per_block + rows * (3 * width + vocab))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(run: u64, step: usize, loss: f32, held: &[(usize, f32)]) -> PretrainResponse {
        PretrainResponse::Progress(Progress {
            run,
            step,
            tokens: step as u64 * 1024,
            train_loss: Some(loss),
            held_out: held.to_vec(),
            tokens_per_s: 1.0,
            running: true,
            gpu: None,
            cores: 1,
        })
    }

    fn ready(run: u64) -> PretrainResponse {
        PretrainResponse::Ready(Ready {
            run,
            parameters: 1000,
            vocab: 60,
            unigram_loss: Some(3.1),
            chars: (900, 100),
            memory: 1,
        })
    }

    #[test]
    fn every_built_in_text_goes_by_the_name_the_command_line_takes() {
        for text in [Text::Sonnets, Text::LaFontaine, Text::Histoires] {
            assert_eq!(Text::from_name(text.name(), String::new()), text);
            assert_eq!(text.chars(), engine::train::pretrain::built_in(text.name()).unwrap());
        }
        assert_eq!(Text::from_name("own", "abc".into()), Text::Own("abc".into()));
        assert!(Text::LaFontaine.chars().starts_with("Il n'a pas de peine"), "La Fontaine's first line");
        assert_eq!(Text::of_language(true), Text::LaFontaine);
        assert_eq!(Text::of_language(false), Text::Sonnets);
    }

    #[test]
    fn a_new_run_starts_fresh_curves_and_reports_of_an_older_run_are_dropped() {
        let mut t = Training::default();
        assert!(!t.take(&progress(1, 10, 4.0, &[])), "nothing before a ready");
        t.take(&ready(1));
        t.take(&progress(1, 10, 4.0, &[(0, 4.1)]));
        t.take(&progress(1, 30, 3.0, &[(25, 3.2)]));
        assert_eq!(t.train, vec![(10, 4.0), (30, 3.0)]);
        assert_eq!(t.held_out_now(), Some(3.2));
        assert!((t.flops() - 6.0 * 1000.0 * 30.0 * 1024.0).abs() < 1e-6);
        t.take(&ready(2));
        assert!(!t.take(&progress(1, 40, 2.0, &[])));
        assert!(t.train.is_empty() && t.held_out.is_empty() && t.run == Some(2));
    }

    #[test]
    fn the_history_keeps_the_newest_samples_first() {
        let mut t = Training::default();
        t.take(&ready(1));
        for step in 0..HISTORY + 5 {
            let s = Sample {
                run: 1,
                step,
                prompt: String::new(),
                text: format!("{step}"),
                window: String::new(),
                attention: vec![0.5; 4],
                shape: (1, 1),
            };
            t.take(&PretrainResponse::Sample(s));
        }
        assert_eq!(t.samples.len(), HISTORY);
        assert_eq!(t.samples[0].step, HISTORY + 4);
        assert_eq!(t.samples[0].attention.len(), 4);
        assert!(t.samples[1..].iter().all(|s| s.attention.is_empty()), "only the newest keeps its attention");
    }

    #[test]
    fn the_curves_frame_holds_every_point_and_the_letter_frequency_line() {
        let mut t = Training::default();
        assert_eq!(t.frame(), (1, 0.0, 5.0));
        t.take(&ready(1));
        t.take(&progress(1, 100, 2.2, &[(0, 4.3), (100, 2.4)]));
        let (steps, lo, hi) = t.frame();
        assert_eq!(steps, 100);
        assert!(lo <= 2.2 && hi >= 4.3 && lo >= 0.0);
    }

    #[test]
    fn the_memory_estimate_counts_parameters_four_times_and_grows_with_the_context() {
        let small = memory_estimate(1, 32, 1, 32, 60, 16);
        let params = engine::train::Gpt::parameter_count(&engine::train::GptConfig {
            vocab: 60,
            layers: 1,
            width: 32,
            heads: 1,
            context: 32,
        });
        assert!(small > 16 * params);
        assert!(memory_estimate(1, 32, 1, 128, 60, 16) > 4 * small / 2);
        // The largest model the page offers stays well under the browser's memory.
        assert!(memory_estimate(4, 128, 4, 128, 256, 16) < 200_000_000);
    }
}
