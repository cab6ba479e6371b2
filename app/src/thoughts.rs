//! The *Thoughts* view (`#thoughts`): a sparse autoencoder learns the language model's hidden states in
//! the engine's worker (it needs the model). This file holds the messages between the page and that
//! worker and the page's plain state (the collection, the curves, the answers written with and without
//! the squeeze, a feature's card), tested natively; `worker/thoughts.rs` does the work.

use serde::{Deserialize, Serialize};

/// Page → engine worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ThoughtsRequest {
    /// Read the built-in text (or `text`) and keep its hidden states after block `layer` (another layer
    /// than the collection's starts over).
    Collect {
        /// The block.
        layer: usize,
        /// The student's own text; `None`: the built-in one.
        text: Option<String>,
    },
    /// A fresh autoencoder of `expansion` × the model's width features with `k` on per vector, trained
    /// until paused.
    Train {
        /// Features per number of the model's width (2 to 16).
        expansion: usize,
        /// Features on per vector.
        k: usize,
    },
    /// Resume (`true`) or pause training (the student's button).
    Run(bool),
    /// The view left the screen (`true`) or came back: training and a collection under way pause while
    /// it is away and resume on its return, unless the student had paused them.
    Away(bool),
    /// Write after `prompt` greedily as it is, with the layer squeezed, with the mean instead (and with a
    /// feature added, when `steer` is set: `(feature, strength)`), then read the first answer's tokens
    /// through the autoencoder.
    Write {
        /// The beginning (no chat template).
        prompt: String,
        /// Tokens per answer.
        max_tokens: usize,
        /// `(feature, strength)`.
        steer: Option<(usize, f32)>,
    },
    /// The tokens that fire a feature most among those collected.
    Card(usize),
    /// The trained autoencoder as a file (`keep`: for this browser's IndexedDB rather than a download).
    Save {
        /// Keep it in this browser.
        keep: bool,
    },
    /// An autoencoder file to use.
    Load(Vec<u8>),
}

/// How an answer was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Way {
    /// The model as it is.
    Plain,
    /// The layer replaced by its reconstruction.
    Squeezed,
    /// The layer replaced by the mean hidden state (the floor).
    Mean,
    /// A feature added.
    Steered,
}

impl Way {
    /// Every way, in the order they are shown.
    pub const ALL: [Way; 4] = [Way::Plain, Way::Squeezed, Way::Mean, Way::Steered];
}

/// One written token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Written {
    /// Its text.
    pub text: String,
    /// KL(model as it is ‖ this way) at this position, nats.
    pub kl: f32,
    /// The model as it is would have chosen another token here.
    pub changed: bool,
}

/// One token of the plain answer read through the autoencoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadToken {
    /// Its text.
    pub text: String,
    /// `‖û − u‖² / ‖u‖²`.
    pub error: f32,
    /// The strongest features, `(feature, activation)`.
    pub features: Vec<(u32, f32)>,
}

/// How training goes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SaeProgress {
    /// Steps so far.
    pub step: usize,
    /// Fraction of variance unexplained, training batches (averaged since the last report).
    pub fvu: f32,
    /// The same on held-out vectors (measured every few seconds).
    pub held_out_fvu: Option<f32>,
    /// Features on per vector.
    pub active: f32,
    /// Features that have not fired in the last 8,192 vectors.
    pub dead: usize,
    /// Training speed.
    pub vectors_per_s: f32,
    /// Still training.
    pub running: bool,
    /// Training on the GPU (else the CPU).
    pub on_gpu: bool,
}

/// Engine worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ThoughtsResponse {
    /// Collection so far.
    Collected {
        /// The block read.
        layer: usize,
        /// Training vectors.
        vectors: usize,
        /// Held-out vectors.
        held_out: usize,
        /// Memory they take, bytes.
        bytes: usize,
        /// Tokens read per second.
        tokens_per_s: f32,
        /// Every passage read (or memory full).
        done: bool,
    },
    /// An autoencoder is ready (trained from scratch, or opened from a file): its sizes.
    Ready {
        /// The block it reads.
        layer: usize,
        /// Features.
        width: usize,
        /// Features on per vector.
        k: usize,
        /// Opened from a file.
        loaded: bool,
    },
    /// Training progress.
    Progress(SaeProgress),
    /// A token of an answer.
    Token(Way, Written),
    /// The plain answer read through the autoencoder.
    Reading(Vec<ReadToken>),
    /// Every answer is written.
    WriteDone,
    /// A feature's strongest tokens.
    Card(usize, Vec<Firing>),
    /// The file's bytes (`true`: to keep in this browser).
    Saved(Vec<u8>, bool),
    /// Why a request cannot be done.
    Refused(String),
}

/// Where a feature fires: `(the tokens before, the token, its activation)`.
pub type Firing = (String, String, f32);

/// One point of the curves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Step.
    pub step: usize,
    /// Value.
    pub value: f32,
}

/// What the page knows about the *Thoughts* view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thoughts {
    /// The last collection report.
    pub collected: Option<ThoughtsResponse>,
    /// The autoencoder's sizes: `(layer, width, k, loaded)`.
    pub ready: Option<(usize, usize, usize, bool)>,
    /// The last progress report.
    pub last: Option<SaeProgress>,
    /// Fraction of variance unexplained on training batches, per report.
    pub train_curve: Vec<Point>,
    /// The same on held-out vectors.
    pub held_out_curve: Vec<Point>,
    /// Features on per vector.
    pub active_curve: Vec<Point>,
    /// Answers, one per way (index of [`Way::ALL`]).
    pub answers: [Vec<Written>; 4],
    /// Writing in progress.
    pub writing: bool,
    /// The beginning the answers continue.
    pub prompt: String,
    /// The plain answer through the autoencoder.
    pub reading: Vec<ReadToken>,
    /// The card shown.
    pub card: Option<(usize, Vec<Firing>)>,
    /// The last refusal.
    pub refused: Option<String>,
    /// An autoencoder kept in this browser: `(bytes, when, ms since the epoch)`.
    pub kept: Option<(usize, f64)>,
}

/// Curves keep at most this many points (older ones are thinned by half).
const MAX_POINTS: usize = 400;

impl Thoughts {
    /// Notes a request the page sends to the worker.
    pub fn sent(&mut self, request: &ThoughtsRequest) {
        if let ThoughtsRequest::Write { prompt, .. } = request {
            self.refused = None;
            self.prompt = prompt.clone();
        }
    }

    /// Takes in one of the worker's answers (a `Saved` file is for the caller).
    pub fn take(&mut self, r: ThoughtsResponse) {
        match r {
            c @ ThoughtsResponse::Collected { .. } => {
                self.refused = None;
                self.collected = Some(c);
            }
            ThoughtsResponse::Ready { layer, width, k, loaded } => {
                self.refused = None;
                self.ready = Some((layer, width, k, loaded));
                self.last = None;
                self.train_curve.clear();
                self.held_out_curve.clear();
                self.active_curve.clear();
                self.card = None;
            }
            ThoughtsResponse::Progress(p) if !p.running => match &mut self.last {
                Some(last) => last.running = false,
                None => self.last = Some(p),
            },
            ThoughtsResponse::Progress(p) => {
                push(&mut self.train_curve, Point { step: p.step, value: p.fvu });
                push(&mut self.active_curve, Point { step: p.step, value: p.active });
                if let Some(v) = p.held_out_fvu {
                    push(&mut self.held_out_curve, Point { step: p.step, value: v });
                }
                self.last = Some(p);
            }
            ThoughtsResponse::Token(way, token) => {
                if !self.writing {
                    self.writing = true;
                    self.answers = Default::default();
                    self.reading.clear();
                }
                self.answers[Way::ALL.iter().position(|&w| w == way).unwrap_or(0)].push(token);
            }
            ThoughtsResponse::Reading(tokens) => self.reading = tokens,
            ThoughtsResponse::WriteDone => self.writing = false,
            ThoughtsResponse::Card(feature, top) => self.card = Some((feature, top)),
            ThoughtsResponse::Saved(..) => {}
            ThoughtsResponse::Refused(why) => {
                self.writing = false;
                self.refused = Some(why);
            }
        }
    }

    /// Training is going on.
    pub fn running(&self) -> bool {
        self.last.is_some_and(|p| p.running)
    }

    /// The mean KL of an answer (nats), and how many of its tokens differ from the model's own choice.
    pub fn summary(&self, way: Way) -> Option<(f32, usize, usize)> {
        let answer = &self.answers[Way::ALL.iter().position(|&w| w == way)?];
        (!answer.is_empty()).then(|| {
            let kl = answer.iter().map(|t| t.kl).sum::<f32>() / answer.len() as f32;
            (kl, answer.iter().filter(|t| t.changed).count(), answer.len())
        })
    }
}

fn push(curve: &mut Vec<Point>, p: Point) {
    curve.push(p);
    if curve.len() > MAX_POINTS {
        let mut i = 0;
        curve.retain(|_| {
            i += 1;
            i % 2 == 0
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(step: usize, held: Option<f32>) -> ThoughtsResponse {
        ThoughtsResponse::Progress(SaeProgress {
            step,
            fvu: 1.0 / (step as f32 + 1.0),
            held_out_fvu: held,
            active: 32.0,
            dead: 0,
            vectors_per_s: 800.0,
            running: true,
            on_gpu: false,
        })
    }

    #[test]
    fn curves_grow_with_progress_and_stay_bounded() {
        let mut t = Thoughts::default();
        t.take(ThoughtsResponse::Ready { layer: 10, width: 4608, k: 32, loaded: false });
        for step in 0..1000 {
            t.take(progress(step, (step % 10 == 0).then_some(0.5)));
        }
        assert!(t.train_curve.len() <= MAX_POINTS && t.train_curve.len() > MAX_POINTS / 2);
        assert_eq!(t.held_out_curve.len(), 100);
        assert!(t.running());
        assert_eq!(t.last.map(|p| p.step), Some(999));
        // A new autoencoder starts its curves over.
        t.take(ThoughtsResponse::Ready { layer: 10, width: 1152, k: 16, loaded: true });
        assert!(t.train_curve.is_empty() && t.last.is_none() && t.ready == Some((10, 1152, 16, true)));
    }

    #[test]
    fn a_new_answer_replaces_the_last_one_and_its_summary_counts_changes() {
        let mut t = Thoughts::default();
        let token = |kl: f32, changed: bool| Written { text: "x".into(), kl, changed };
        t.take(ThoughtsResponse::Token(Way::Plain, token(0.0, false)));
        t.take(ThoughtsResponse::Token(Way::Squeezed, token(0.5, false)));
        t.take(ThoughtsResponse::Token(Way::Squeezed, token(1.5, true)));
        t.take(ThoughtsResponse::WriteDone);
        assert_eq!(t.summary(Way::Squeezed), Some((1.0, 1, 2)));
        assert_eq!(t.summary(Way::Mean), None);
        t.take(ThoughtsResponse::Token(Way::Plain, token(0.0, false)));
        assert!(t.writing && t.answers[1].is_empty() && t.answers[0].len() == 1, "a new answer starts over");
    }
}
