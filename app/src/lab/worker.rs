//! The autoencoder lab's worker: trains both models in slices of ~40 ms (or a few steps in flight on
//! WebGPU); between slices it answers requests.

use std::cell::RefCell;
use std::rc::Rc;

use engine::backend::gpu::GpuContext;
use engine::train::{self, mse, Autoencoder, Dataset, GpuAutoencoder, Kind, Rng};
use gloo_worker::{HandlerId, Worker, WorkerScope};

use super::{hidden_width, DataChoice, LabRequest, LabResponse, LabSetup, LatentMap, Progress, Which, FACES, SHOWN};

const BATCH: usize = 32;
const HELD_OUT: usize = 200;
const SLICE_MS: f64 = 40.0;
const REPORT_MS: f64 = 250.0;
/// Steps submitted to the GPU before waiting for it.
const GPU_STEPS_IN_FLIGHT: usize = 4;

struct Lab {
    setup: LabSetup,
    data: Dataset,
    plain: Autoencoder,
    vae: Autoencoder,
    rng: Rng,
    step: usize,
    running: bool,
    /// Bumped by every `Start`: a training loop from an older setup stops.
    generation: u64,
    /// Bumped by every training loop started: an older loop (still awaiting the GPU when a pause and a
    /// resume came) sees it changed and ends, so one loop trains at a time.
    loop_id: u64,
    /// The pair on the GPU, when training runs there (the CPU models then hold a copy of the weights,
    /// refreshed before each report).
    gpu: Option<Rc<GpuPair>>,
}

/// Both models' training on the GPU.
struct GpuPair {
    plain: GpuAutoencoder,
    vae: GpuAutoencoder,
}

impl Lab {
    fn new(setup: LabSetup, generation: u64) -> Self {
        let data = match setup.data {
            DataChoice::Faces => train::faces(FACES, 5),
            DataChoice::Digits => train::digits(),
        };
        let hidden = hidden_width(data.dim());
        let latent = setup.latent.clamp(1, 32);
        let plain = Autoencoder::new(data.dim(), hidden, latent, Kind::Plain, 2e-3, 1);
        let vae = Autoencoder::new(data.dim(), hidden, latent, Kind::Variational { beta: setup.beta }, 2e-3, 2);
        Self { setup, data, plain, vae, rng: Rng::new(3), step: 0, running: true, generation, loop_id: 0, gpu: None }
    }

    /// Moves training to the GPU of `ctx` (the CPU models keep the starting weights until a download).
    fn use_gpu(&mut self, ctx: Rc<GpuContext>) -> Result<(), String> {
        let plain = GpuAutoencoder::new(ctx.clone(), &self.plain, BATCH).map_err(|e| e.to_string())?;
        let vae = GpuAutoencoder::new(ctx, &self.vae, BATCH).map_err(|e| e.to_string())?;
        self.gpu = Some(Rc::new(GpuPair { plain, vae }));
        Ok(())
    }

    /// One step of each model on the GPU: nothing is read back.
    fn train_one_on_gpu(&mut self, pair: &GpuPair) -> Result<(), String> {
        let x = self.next_batch();
        let noise: Vec<f32> = (0..BATCH * self.vae.latent).map(|_| self.rng.normal()).collect();
        pair.plain.train_step(&x, &[]).map_err(|e| e.to_string())?;
        pair.vae.train_step(&x, &noise).map_err(|e| e.to_string())?;
        self.step += 1;
        Ok(())
    }

    /// A batch of random training images.
    fn next_batch(&mut self) -> Vec<f32> {
        let (train, _) = self.data.split(HELD_OUT);
        self.data.batch((0..BATCH).map(|_| train.start + self.rng.below(train.len())))
    }

    fn train_one(&mut self) {
        let x = self.next_batch();
        self.plain.train_step(&x, &mut self.rng);
        self.vae.train_step(&x, &mut self.rng);
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
        let seen = self.data.batch(0..HELD_OUT.min(test.start));
        let train_mse = (mse(&self.plain.reconstruct(&seen), &seen), mse(&self.vae.reconstruct(&seen), &seen));
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
            train_mse,
            rebuilds: (self.plain.reconstruct(&shown), self.vae.reconstruct(&shown)),
            map,
            running: self.running,
            gpu: self.gpu.as_ref().map(|g| g.plain.adapter().to_owned()),
            cores: crate::kernels::cpu_threads(),
        }
    }
}

/// The lab's worker (registered by `bin/lab_worker.rs`).
#[derive(Default)]
pub struct LabWorker {
    lab: Rc<RefCell<Option<Lab>>>,
    generation: u64,
    /// The WebGPU device, once asked for: `Some(None)` when there is none to use.
    gpu: Rc<crate::trainer_gpu::Found>,
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
                let mut lab = Lab::new(setup, self.generation);
                let (_, test) = lab.data.split(HELD_OUT);
                let labels = lab.data.labels[test.start..test.start + SHOWN].to_vec();
                let run = self.generation;
                scope.respond(from, LabResponse::Ready { run, side: lab.data.side, examples: lab.shown(), labels });
                let (slot, gpu, generation, scope) =
                    (Rc::clone(&self.lab), Rc::clone(&self.gpu), self.generation, scope.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    if let Some(ctx) = crate::trainer_gpu::trainer_gpu(&gpu, setup.force_gpu).await {
                        if let Err(why) = lab.use_gpu(ctx) {
                            web_sys::console::warn_1(&format!("the lab trains on the CPU: {why}").into());
                        }
                    }
                    // Two quick starts may find their GPU out of order: the newest setup wins.
                    let newest = slot.borrow().as_ref().is_none_or(|l| l.generation < generation);
                    if newest {
                        *slot.borrow_mut() = Some(lab);
                        spawn_training(slot, generation, scope, from);
                    }
                });
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
                    if let Some(pair) = &lab.gpu {
                        pair.vae.set_beta(beta);
                    }
                }
            }
            LabRequest::Fetched => scope.respond(from, LabResponse::Fetched(crate::worker::fetched())),
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
    let Some(me) = lab.borrow_mut().as_mut().map(|l| {
        l.loop_id += 1;
        l.loop_id
    }) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let mut last_report = js_sys::Date::now();
        let mut steps_since = 0usize;
        loop {
            let mut due = None;
            let mut in_flight = None;
            {
                let mut slot = lab.borrow_mut();
                let Some(lab) = slot.as_mut().filter(|l| l.generation == generation && l.loop_id == me && l.running)
                else {
                    return;
                };
                match lab.gpu.clone() {
                    // On the GPU, a few steps are submitted, then the loop waits for the device (below), so
                    // the queue never runs ahead of it.
                    Some(pair) => {
                        for _ in 0..GPU_STEPS_IN_FLIGHT {
                            if let Err(why) = lab.train_one_on_gpu(&pair) {
                                // A lost or failing GPU: go on from the last weights read back, on the CPU.
                                web_sys::console::warn_1(&format!("the lab goes on on the CPU: {why}").into());
                                lab.gpu = None;
                                break;
                            }
                            steps_since += 1;
                        }
                        in_flight = lab.gpu.clone();
                    }
                    None => {
                        let started = js_sys::Date::now();
                        while js_sys::Date::now() - started < SLICE_MS {
                            lab.train_one();
                            steps_since += 1;
                        }
                    }
                }
                let now = js_sys::Date::now();
                if now - last_report >= REPORT_MS {
                    due = Some((steps_since as f64 / ((now - last_report) / 1000.0)) as f32);
                    (last_report, steps_since) = (now, 0);
                }
            }
            if let Some(pair) = in_flight {
                if pair.plain.finish().await.is_err() {
                    if let Some(l) = lab.borrow_mut().as_mut() {
                        l.gpu = None;
                    }
                }
            }
            if let Some(rate) = due {
                // On the GPU, read the weights back first (outside the borrow: requests may arrive meanwhile).
                let pair = lab.borrow().as_ref().and_then(|l| l.gpu.clone());
                if let Some(pair) = pair {
                    let (mut plain, mut vae) = match lab.borrow().as_ref() {
                        Some(l) => (l.plain.clone(), l.vae.clone()),
                        None => return,
                    };
                    let fetched = async {
                        pair.plain.download(&mut plain).await?;
                        pair.vae.download(&mut vae).await
                    };
                    let ok = fetched.await.is_ok();
                    if let Some(l) = lab.borrow_mut().as_mut().filter(|l| l.generation == generation) {
                        if ok {
                            (l.plain, l.vae) = (plain, vae);
                            // β may have moved while the weights were on their way.
                            l.vae.set_beta(l.setup.beta);
                        } else {
                            l.gpu = None;
                        }
                    }
                }
                if let Some(l) = lab.borrow().as_ref().filter(|l| l.generation == generation) {
                    scope.respond(from, LabResponse::Progress(l.report(rate)));
                }
            }
            crate::pause::next_task().await;
        }
    });
}
