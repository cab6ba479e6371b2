//! The autoencoder lab's worker: it trains a plain autoencoder and a VAE side by side on the same data
//! and code size (alternating Adam steps), so the page can compare their reconstructions, latent maps
//! and samples. Training runs in slices of ~40 ms; between slices the worker answers requests.

use std::cell::RefCell;
use std::rc::Rc;

use engine::train::{self, mse, Autoencoder, Dataset, Kind, Rng};
use gloo_worker::{HandlerId, Worker, WorkerScope};
use serde::{Deserialize, Serialize};

/// Which images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataChoice {
    /// 32 × 32 procedural faces.
    Faces,
    /// 8 × 8 handwritten digits.
    Digits,
}

/// What to train.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabSetup {
    /// The images.
    pub data: DataChoice,
    /// Code size, 2 ..= 32.
    pub latent: usize,
    /// The VAE's KL weight.
    pub beta: f32,
}

/// Which of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Which {
    /// The plain autoencoder.
    Plain,
    /// The variational one.
    Vae,
}

/// UI → lab worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LabRequest {
    /// New models (and data) for this setup; training starts.
    Start(LabSetup),
    /// Pause or resume training.
    Run(bool),
    /// Change β without starting over.
    Beta(f32),
    /// Encode and rebuild an image (a picked example or a drawing), with both models.
    Reconstruct(Vec<f32>),
    /// Decode codes `(n, latent)` with one model.
    Decode {
        /// Which model.
        which: Which,
        /// Codes, row by row.
        codes: Vec<f32>,
        /// What the answer is for.
        purpose: DecodePurpose,
    },
}

/// Why images were decoded (so the page knows where they go).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DecodePurpose {
    /// Random codes: new examples.
    Samples,
    /// One code set by the sliders.
    Morph,
    /// The point under the pointer on the latent map.
    Hover,
    /// A grid tiling the latent plane.
    Tiles,
}

/// Lab worker → UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LabResponse {
    /// The data of a new setup: side, a few held-out examples to pick from, and their labels.
    Ready {
        /// Which `Start` this answers (the page ignores reports from older ones).
        run: u64,
        /// Image side.
        side: usize,
        /// `(n, side²)`.
        examples: Vec<f32>,
        /// A class per example.
        labels: Vec<u8>,
    },
    /// Training progress.
    Progress(Progress),
    /// The answer to [`LabRequest::Reconstruct`].
    Reconstruction {
        /// The plain model's code.
        plain_code: Vec<f32>,
        /// The plain model's rebuild.
        plain: Vec<f32>,
        /// The VAE's code (its mean).
        vae_code: Vec<f32>,
        /// The VAE's rebuild.
        vae: Vec<f32>,
    },
    /// The answer to [`LabRequest::Decode`].
    Decoded {
        /// Which model.
        which: Which,
        /// Why.
        purpose: DecodePurpose,
        /// `(n, side²)`.
        images: Vec<f32>,
    },
}

/// One report on training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Which `Start` this run came from.
    pub run: u64,
    /// Adam steps taken by each model.
    pub step: usize,
    /// Steps per second (both models together count one).
    pub steps_per_s: f32,
    /// Held-out reconstruction error (MSE per pixel), plain and VAE.
    pub test_mse: (f32, f32),
    /// Training objective per example, plain and VAE (reconstruction + β·KL), smoothed.
    pub train_loss: (f32, f32),
    /// The VAE's KL term per example.
    pub kl: f32,
    /// Rebuilds of the shown held-out examples: plain then VAE, each `(n, side²)`.
    pub rebuilds: (Vec<f32>, Vec<f32>),
    /// For a 2-D code: every held-out example's VAE code and the plain model's, `(n, 2)`, with labels.
    pub map: Option<LatentMap>,
    /// Whether training is running.
    pub running: bool,
}

/// Codes of the held-out examples in the plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatentMap {
    /// VAE means, `(n, 2)`.
    pub vae: Vec<f32>,
    /// Plain codes, `(n, 2)`.
    pub plain: Vec<f32>,
    /// A class per point.
    pub labels: Vec<u8>,
}

/// Held-out examples shown on the page.
pub const SHOWN: usize = 8;
const BATCH: usize = 32;
const HELD_OUT: usize = 200;
const SLICE_MS: f64 = 40.0;
const REPORT_MS: f64 = 250.0;

struct Lab {
    setup: LabSetup,
    data: Dataset,
    plain: Autoencoder,
    vae: Autoencoder,
    rng: Rng,
    step: usize,
    running: bool,
    train_loss: (f32, f32),
    kl: f32,
    /// Bumped by every `Start`: a training loop from an older setup stops.
    generation: u64,
}

impl Lab {
    fn new(setup: LabSetup, generation: u64) -> Self {
        let data = match setup.data {
            DataChoice::Faces => train::faces(2000, 5),
            DataChoice::Digits => train::digits(),
        };
        let hidden = if data.dim() > 256 { 128 } else { 64 };
        let latent = setup.latent.clamp(1, 32);
        let plain = Autoencoder::new(data.dim(), hidden, latent, Kind::Plain, 2e-3, 1);
        let vae = Autoencoder::new(data.dim(), hidden, latent, Kind::Variational { beta: setup.beta }, 2e-3, 2);
        Self {
            setup,
            data,
            plain,
            vae,
            rng: Rng::new(3),
            step: 0,
            running: true,
            train_loss: (0.0, 0.0),
            kl: 0.0,
            generation,
        }
    }

    fn train_one(&mut self) {
        let (train, _) = self.data.split(HELD_OUT);
        let x = self.data.batch((0..BATCH).map(|_| train.start + self.rng.below(train.len())));
        let p = self.plain.train_step(&x, &mut self.rng);
        let v = self.vae.train_step(&x, &mut self.rng);
        let smooth = |old: f32, new: f32| if self.step == 0 { new } else { 0.95 * old + 0.05 * new };
        self.train_loss =
            (smooth(self.train_loss.0, self.plain.objective(p)), smooth(self.train_loss.1, self.vae.objective(v)));
        self.kl = smooth(self.kl, v.kl);
        self.step += 1;
    }

    fn shown(&self) -> Vec<f32> {
        let (_, test) = self.data.split(HELD_OUT);
        self.data.batch(test.start..test.start + SHOWN)
    }

    fn report(&self, steps_per_s: f32) -> Progress {
        let (_, test) = self.data.split(HELD_OUT);
        let x = self.data.batch(test.clone());
        let test_mse = (mse(&self.plain.reconstruct(&x), &x), mse(&self.vae.reconstruct(&x), &x));
        let shown = self.shown();
        let map = (self.plain.latent == 2).then(|| LatentMap {
            vae: self.vae.encode(&x),
            plain: self.plain.encode(&x),
            labels: self.data.labels[test].to_vec(),
        });
        Progress {
            run: self.generation,
            step: self.step,
            steps_per_s,
            test_mse,
            train_loss: self.train_loss,
            kl: self.kl,
            rebuilds: (self.plain.reconstruct(&shown), self.vae.reconstruct(&shown)),
            map,
            running: self.running,
        }
    }
}

/// The lab's worker (registered by `bin/lab_worker.rs`).
#[derive(Default)]
pub struct LabWorker {
    lab: Rc<RefCell<Option<Lab>>>,
    generation: u64,
}

impl std::fmt::Debug for LabWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LabWorker(generation {})", self.generation)
    }
}

impl Worker for LabWorker {
    type Message = ();
    type Input = LabRequest;
    type Output = LabResponse;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self::default()
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: Self::Message) {}

    fn received(&mut self, scope: &WorkerScope<Self>, request: LabRequest, from: HandlerId) {
        match request {
            LabRequest::Start(setup) => {
                self.generation += 1;
                let lab = Lab::new(setup, self.generation);
                let (_, test) = lab.data.split(HELD_OUT);
                let labels = lab.data.labels[test.start..test.start + SHOWN].to_vec();
                let run = self.generation;
                scope.respond(from, LabResponse::Ready { run, side: lab.data.side, examples: lab.shown(), labels });
                *self.lab.borrow_mut() = Some(lab);
                spawn_training(Rc::clone(&self.lab), self.generation, scope.clone(), from);
            }
            LabRequest::Run(run) => {
                let mut slot = self.lab.borrow_mut();
                if let Some(lab) = slot.as_mut() {
                    let start = run && !lab.running;
                    lab.running = run;
                    let report = lab.report(0.0);
                    drop(slot);
                    scope.respond(from, LabResponse::Progress(report));
                    if start {
                        spawn_training(Rc::clone(&self.lab), self.generation, scope.clone(), from);
                    }
                }
            }
            LabRequest::Beta(beta) => {
                if let Some(lab) = self.lab.borrow_mut().as_mut() {
                    lab.setup.beta = beta;
                    lab.vae.set_beta(beta);
                }
            }
            LabRequest::Reconstruct(image) => {
                if let Some(lab) = self.lab.borrow().as_ref().filter(|l| image.len() == l.data.dim()) {
                    let (plain_code, vae_code) = (lab.plain.encode(&image), lab.vae.encode(&image));
                    let (plain, vae) = (lab.plain.decode(&plain_code), lab.vae.decode(&vae_code));
                    scope.respond(from, LabResponse::Reconstruction { plain_code, plain, vae_code, vae });
                }
            }
            LabRequest::Decode { which, codes, purpose } => {
                if let Some(lab) = self.lab.borrow().as_ref() {
                    let model = if which == Which::Plain { &lab.plain } else { &lab.vae };
                    if !codes.is_empty() && codes.len() % model.latent == 0 {
                        scope.respond(from, LabResponse::Decoded { which, purpose, images: model.decode(&codes) });
                    }
                }
            }
        }
    }
}

/// Trains in slices until paused or replaced, reporting every ~250 ms.
fn spawn_training(lab: Rc<RefCell<Option<Lab>>>, generation: u64, scope: WorkerScope<LabWorker>, from: HandlerId) {
    wasm_bindgen_futures::spawn_local(async move {
        let mut last_report = js_sys::Date::now();
        let mut steps_since = 0usize;
        loop {
            {
                let mut slot = lab.borrow_mut();
                let Some(lab) = slot.as_mut().filter(|l| l.generation == generation && l.running) else { return };
                let started = js_sys::Date::now();
                while js_sys::Date::now() - started < SLICE_MS {
                    lab.train_one();
                    steps_since += 1;
                }
                let now = js_sys::Date::now();
                if now - last_report >= REPORT_MS {
                    let rate = steps_since as f64 / ((now - last_report) / 1000.0);
                    scope.respond(from, LabResponse::Progress(lab.report(rate as f32)));
                    (last_report, steps_since) = (now, 0);
                }
            }
            gloo_timers::future::TimeoutFuture::new(0).await;
        }
    });
}
