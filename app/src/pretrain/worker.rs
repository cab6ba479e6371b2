//! The pre-training lab's worker: trains the tiny GPT in slices of ~40 ms on the CPU, or a few steps in
//! flight on WebGPU when there is a hardware adapter (or `?gpu`); measures the held-out loss every 25
//! steps (as `glassbox pretrain` does, with the same seed and batches), reports every 250 ms and writes a
//! sample every 4 s; between slices it answers the page. On the GPU the weights come back before each
//! report (samples and the page's questions use that copy); a failing GPU hands over to the CPU.

use std::cell::RefCell;
use std::rc::Rc;

use engine::train::pretrain;
use engine::train::GpuGpt;
use gloo_worker::{HandlerId, Worker, WorkerScope};

use super::run::{load, start, Refusal, Run};
use super::{PretrainRequest, PretrainResponse, Ready};

const SLICE_MS: f64 = 40.0;
const REPORT_MS: f64 = 250.0;
const SAMPLE_MS: f64 = 4000.0;
const SAMPLE_CHARS: usize = 120;

/// The pre-training lab's worker (registered by `bin/pretrain_worker.rs`).
#[derive(Default)]
pub struct PretrainWorker {
    run: Rc<RefCell<Option<Run>>>,
    generation: u64,
    gpu: Rc<crate::trainer_gpu::Found>,
    presence: crate::presence::Presence,
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
            PretrainRequest::Start(setup) => {
                let built = start(&setup, self.generation + 1);
                let trains = built.is_ok();
                self.replace(scope, from, built);
                if trains {
                    self.find_gpu(setup.force_gpu);
                }
            }
            PretrainRequest::Load(bytes) => self.replace(scope, from, load(&bytes, self.generation + 1)),
            PretrainRequest::Run(on) => self.set_running(scope, from, on),
            PretrainRequest::Away(away) => {
                let running = self.run.borrow().as_ref().is_some_and(|r| r.running);
                let resume = self.presence.set(away, running);
                if away && running {
                    self.set_running(scope, from, false);
                } else if resume {
                    self.set_running(scope, from, true);
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
                // On the GPU, the weights come back first: the file holds every step taken.
                let (slot, scope, generation) = (Rc::clone(&self.run), scope.clone(), self.generation);
                wasm_bindgen_futures::spawn_local(async move {
                    let gpu = slot.borrow().as_ref().and_then(|r| r.gpu.clone());
                    if let Some(gpu) = gpu {
                        sync_from_gpu(&slot, &gpu, generation).await;
                    }
                    if let Some(run) = slot.borrow().as_ref() {
                        scope.respond(from, PretrainResponse::Saved(pretrain::save(&run.trainer.gpt, &run.corpus)));
                    }
                });
            }
            PretrainRequest::Fetched => scope.respond(from, PretrainResponse::Fetched(crate::worker::fetched())),
        }
    }
}

impl PretrainWorker {
    /// Pauses or resumes the current run's training (not while the lab is away: then on its return).
    fn set_running(&mut self, scope: &WorkerScope<Self>, from: HandlerId, on: bool) {
        if on && !self.presence.may_start() {
            return;
        }
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

    /// Moves the current run's training to the GPU once one is found (from the step it has reached:
    /// its weights and moments go up as they are).
    fn find_gpu(&self, force: bool) {
        let (slot, found, generation) = (Rc::clone(&self.run), Rc::clone(&self.gpu), self.generation);
        wasm_bindgen_futures::spawn_local(async move {
            let Some(ctx) = crate::trainer_gpu::trainer_gpu(&found, force).await else {
                return;
            };
            if let Some(run) = slot.borrow_mut().as_mut().filter(|r| r.generation == generation && r.trainable) {
                match GpuGpt::new(ctx, &run.trainer) {
                    Ok(gpu) => run.attach_gpu(gpu),
                    Err(why) => {
                        web_sys::console::warn_1(&format!("the pre-training lab trains on the CPU: {why}").into())
                    }
                }
            }
        });
    }

    /// Replaces the current run with a new one, or keeps it and says why not.
    fn replace(&mut self, scope: &WorkerScope<Self>, from: HandlerId, built: Result<(Run, Ready), Refusal>) {
        match built {
            Ok((mut run, ready)) => {
                self.generation = ready.run;
                scope.respond(from, PretrainResponse::Ready(ready));
                let first = run.sample("", run.temperature, SAMPLE_CHARS);
                scope.respond(from, PretrainResponse::Sample(first));
                // Away from the lab (a lesson step set it up): it trains on the lab's return.
                if run.running && !self.presence.may_start() {
                    run.running = false;
                }
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
    // This loop goes on while it is the run's newest; what it measured is kept while the run is the same.
    let ours = move |r: &Run| r.generation == generation && r.loop_id == me;
    wasm_bindgen_futures::spawn_local(async move {
        let (mut last_report, mut last_sample) = (js_sys::Date::now(), js_sys::Date::now());
        let mut tokens_since = 0u64;
        loop {
            let mut on_gpu = None;
            let (report_due, sample_due);
            let paused = slot.borrow().as_ref().filter(|r| ours(r)).map(|r| (!r.running).then(|| r.gpu.clone()));
            match paused {
                None => return,
                // Paused: the page's questions and *Save* read the trainer, so it gets the GPU's weights.
                Some(Some(gpu)) => {
                    if let Some(gpu) = gpu {
                        sync_from_gpu(&slot, &gpu, generation).await;
                        if let Some(run) = slot.borrow_mut().as_mut().filter(|r| ours(r)) {
                            scope.respond(from, PretrainResponse::Progress(run.report(0.0)));
                        }
                    }
                    return;
                }
                Some(None) => {}
            }
            {
                let mut guard = slot.borrow_mut();
                let Some(run) = guard.as_mut().filter(|r| ours(r)) else {
                    return;
                };
                let before = run.tokens;
                match run.gpu.clone() {
                    Some(gpu) => {
                        let eval = run.submit_to_gpu(&gpu);
                        on_gpu = run.gpu.is_some().then_some((gpu, eval));
                    }
                    None => {
                        let started = js_sys::Date::now();
                        while js_sys::Date::now() - started < SLICE_MS {
                            run.train_one();
                        }
                    }
                }
                tokens_since += run.tokens - before;
                let now = js_sys::Date::now();
                report_due = now - last_report >= REPORT_MS;
                sample_due = now - last_sample >= SAMPLE_MS;
            }
            if let Some((gpu, eval)) = on_gpu {
                let done = async {
                    gpu.finish().await?;
                    match eval {
                        Some((step, (x, y, n))) => Ok(Some((step, gpu.loss(&x, &y, n).await?))),
                        None => Ok(None),
                    }
                };
                let done: engine::Result<Option<(usize, f32)>> = done.await;
                if let Some(run) = slot.borrow_mut().as_mut().filter(|r| r.generation == generation) {
                    match done {
                        Ok(held) => run.held_out.extend(held),
                        Err(why) => {
                            run.evaluated = None; // the CPU measures it instead
                            run.lose_gpu(&why.to_string());
                        }
                    }
                }
                if report_due || sample_due {
                    sync_from_gpu(&slot, &gpu, generation).await;
                }
            }
            {
                let mut guard = slot.borrow_mut();
                let Some(run) = guard.as_mut().filter(|r| ours(r)) else {
                    return;
                };
                if report_due {
                    // Measured once the GPU has done the steps submitted, not when they were.
                    let now = js_sys::Date::now();
                    let rate = (tokens_since as f64 / ((now - last_report) / 1000.0)) as f32;
                    (last_report, tokens_since) = (now, 0);
                    scope.respond(from, PretrainResponse::Progress(run.report(rate)));
                }
                if sample_due {
                    last_sample = js_sys::Date::now();
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

/// Reads the GPU's step losses, weights and moments back into run `generation` (a failing GPU is let
/// go). The losses count whatever happens; the weights replace the trainer's when no step was
/// submitted while they were on their way (else the next read-back brings them).
async fn sync_from_gpu(slot: &RefCell<Option<Run>>, gpu: &Rc<GpuGpt>, generation: u64) {
    // The same run, still training on the GPU that was read (not one lost and attached again since).
    let same = |r: &&mut Run| r.generation == generation && r.gpu.as_ref().is_some_and(|g| Rc::ptr_eq(g, gpu));
    let Some(step) = slot.borrow().as_ref().filter(|r| r.generation == generation).map(|r| r.trainer.step) else {
        return;
    };
    let losses = gpu.take_step_losses().await;
    let state = match &losses {
        Ok(_) => gpu.read_state().await.map(Some),
        Err(_) => Ok(None),
    };
    let mut guard = slot.borrow_mut();
    let Some(run) = guard.as_mut().filter(same) else {
        return;
    };
    match (losses, state) {
        (Ok(losses), Ok(state)) => {
            if let Some((mean, steps)) = losses {
                run.losses = (run.losses.0 + mean * steps as f32, run.losses.1 + steps);
            }
            // Steps submitted during the wait are not in what was read: the next read-back has them.
            if let Some(state) = state.filter(|_| run.trainer.step == step) {
                match state.copy_into(&mut run.trainer) {
                    Ok(()) => run.mark_synced(),
                    Err(why) => run.lose_gpu(&why.to_string()),
                }
            }
        }
        (Err(why), _) | (_, Err(why)) => run.lose_gpu(&why.to_string()),
    }
}
