//! The sparse autoencoder's training in the engine's worker: on the GPU when the model runs there (a
//! hardware adapter, or any adapter with `?gpu`), else on the CPU, in slices of about 150 ms between
//! which the worker answers other requests, with a progress report after each. On the GPU the weights
//! stay there; a copy comes back every few seconds (for the held-out error) and before the views use
//! them (writing, a feature's card, the file).

use std::cell::RefCell;
use std::rc::Rc;

use engine::backend::gpu::GpuContext;
use engine::train::sae::{BatchStats, GpuSaeTrainer, Sae, SaeTrainer};
use gloo_worker::{HandlerId, WorkerScope};

use super::thoughts::ThoughtsWork;
use super::EngineWorker;
use crate::protocol::Response;
use crate::thoughts::{SaeProgress, ThoughtsResponse};

/// Milliseconds of training between two reports (and two chances for other requests).
const SLICE_MS: f64 = 150.0;
/// The held-out fraction of variance unexplained is measured on this many vectors, every few seconds.
const HELD_OUT_SAMPLE: usize = 96;
const HELD_OUT_EVERY_MS: f64 = 3000.0;
/// The seed of a trainer's batches.
const SEED: u64 = 1;

type Work = Rc<RefCell<ThoughtsWork>>;

/// An autoencoder being trained, on one side or the other.
pub enum Training {
    /// On the CPU: the weights are the trainer's.
    Cpu(Box<SaeTrainer>),
    /// On the GPU, with the last copy of its weights brought back.
    Gpu { trainer: Rc<GpuSaeTrainer>, copy: Sae },
}

impl std::fmt::Debug for Training {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Training::Cpu(_) => f.write_str("Training::Cpu"),
            Training::Gpu { trainer, .. } => write!(f, "Training::Gpu({trainer:?})"),
        }
    }
}

impl Training {
    /// Training `sae` on `gpu` when there is one (on the CPU if the GPU cannot hold it).
    pub fn start(sae: Sae, gpu: Option<Rc<GpuContext>>) -> Self {
        if let Some(ctx) = gpu {
            match GpuSaeTrainer::new(ctx, &sae, SEED) {
                Ok(trainer) => return Training::Gpu { trainer: Rc::new(trainer), copy: sae },
                Err(err) => web_sys::console::warn_1(&format!("the autoencoder trains on the CPU: {err}").into()),
            }
        }
        Training::Cpu(Box::new(SaeTrainer::new(sae, SEED)))
    }

    /// The autoencoder as the views see it (on the GPU: the last copy brought back).
    pub fn sae(&self) -> &Sae {
        match self {
            Training::Cpu(t) => &t.sae,
            Training::Gpu { copy, .. } => copy,
        }
    }

    fn steps(&self) -> usize {
        match self {
            Training::Cpu(t) => t.seen / t.batch,
            Training::Gpu { trainer, .. } => trainer.seen() / trainer.batch,
        }
    }
}

/// The GPU the autoencoder trains on: one of its own, opened once, when the model runs on the GPU.
pub async fn gpu_for(work: &Work, model_on_gpu: bool) -> Option<Rc<GpuContext>> {
    if !model_on_gpu {
        return None;
    }
    if let Some(known) = work.borrow().gpu.clone() {
        return known;
    }
    let ctx = GpuContext::new().await.ok().map(Rc::new);
    work.borrow_mut().gpu = Some(ctx.clone());
    ctx
}

/// Brings the GPU's weights back into the copy the views read (nothing to do on the CPU).
pub async fn refresh(work: &Work) -> Result<(), String> {
    let trainer = match &work.borrow().training {
        Some(Training::Gpu { trainer, .. }) => Rc::clone(trainer),
        _ => return Ok(()),
    };
    let sae = trainer.download().await.map_err(|e| e.to_string())?;
    if let Some(Training::Gpu { trainer: now, copy }) = &mut work.borrow_mut().training {
        if Rc::ptr_eq(now, &trainer) {
            *copy = sae;
        }
    }
    Ok(())
}

/// Starts (`on`) or pauses the training loop.
pub fn run(work: &Work, on: bool, scope: WorkerScope<EngineWorker>, from: HandlerId) {
    let generation = {
        let mut w = work.borrow_mut();
        if w.training.is_none() || w.running == on {
            return;
        }
        if on && !w.presence.may_start() {
            return; // on the view's return
        }
        w.running = on;
        w.generation += 1;
        w.generation
    };
    if !on {
        return;
    }
    let work = Rc::clone(work);
    wasm_bindgen_futures::spawn_local(async move {
        let mut last_held_out = f64::NEG_INFINITY;
        let mut gpu_steps = 2usize;
        loop {
            let gpu = {
                let w = work.borrow();
                match (&w.training, w.running && w.generation == generation) {
                    (Some(Training::Gpu { trainer, .. }), true) => Some(Rc::clone(trainer)),
                    (Some(Training::Cpu(_)), true) => None,
                    _ => break,
                }
            };
            let slice = match gpu {
                None => Ok(cpu_slice(&work, &mut last_held_out)),
                Some(trainer) => gpu_slice(&work, &trainer, &mut gpu_steps, &mut last_held_out).await,
            };
            match slice {
                Ok(Some(progress)) => scope.respond(from, Response::Thoughts(ThoughtsResponse::Progress(progress))),
                Ok(None) => {}
                Err(why) => {
                    work.borrow_mut().running = false;
                    scope.respond(from, Response::Thoughts(ThoughtsResponse::Refused(why)));
                    break;
                }
            }
            crate::pause::next_task().await;
        }
        // Bring the weights back (the views read them while training rests), and say it stopped.
        let _ = refresh(&work).await;
        let w = work.borrow();
        if let Some(t) = &w.training {
            if w.generation == generation || !w.running {
                let p = SaeProgress {
                    step: t.steps(),
                    fvu: f32::NAN,
                    held_out_fvu: None,
                    active: f32::NAN,
                    dead: w.dead,
                    vectors_per_s: 0.0,
                    running: false,
                    on_gpu: matches!(t, Training::Gpu { .. }),
                };
                scope.respond(from, Response::Thoughts(ThoughtsResponse::Progress(p)));
            }
        }
    });
}

/// The held-out error of `sae` if it is time to measure it again.
fn held_out(held: &[f32], sae: &Sae, last: &mut f64) -> Option<f32> {
    let now = js_sys::Date::now();
    (now - *last > HELD_OUT_EVERY_MS && !held.is_empty()).then(|| {
        *last = now;
        sae.fvu(&held[..held.len().min(HELD_OUT_SAMPLE * sae.config.d)])
    })
}

/// Steps for about [`SLICE_MS`] on the CPU.
fn cpu_slice(work: &Work, last_held_out: &mut f64) -> Option<SaeProgress> {
    let mut guard = work.borrow_mut();
    let w = &mut *guard;
    let Some(Training::Cpu(trainer)) = w.training.as_mut() else { return None };
    let start = js_sys::Date::now();
    let (mut steps, mut fvu, mut active) = (0, 0.0, 0.0);
    while js_sys::Date::now() - start < SLICE_MS {
        let stats = trainer.step(&w.collection.train);
        steps += 1;
        fvu += stats.fvu;
        active += stats.active;
    }
    let elapsed = js_sys::Date::now() - start;
    let held_out_fvu = held_out(&w.collection.held_out, &trainer.sae, last_held_out);
    w.dead = trainer.dead();
    Some(SaeProgress {
        step: trainer.seen / trainer.batch,
        fvu: fvu / steps as f32,
        held_out_fvu,
        active: active / steps as f32,
        dead: w.dead,
        vectors_per_s: (steps * trainer.batch) as f32 / (elapsed as f32 / 1000.0).max(1e-3),
        running: true,
        on_gpu: false,
    })
}

/// `steps` steps submitted to the GPU and awaited, the count adjusted so that a slice lasts about
/// [`SLICE_MS`]; then the figures read back.
async fn gpu_slice(
    work: &Work,
    trainer: &Rc<GpuSaeTrainer>,
    steps: &mut usize,
    last_held_out: &mut f64,
) -> Result<Option<SaeProgress>, String> {
    let err = |e: engine::EngineError| format!("training on the GPU stopped: {e}");
    let start = js_sys::Date::now();
    {
        let w = work.borrow();
        for _ in 0..*steps {
            trainer.step(&w.collection.train).map_err(err)?;
        }
    }
    trainer.finish().await.map_err(err)?;
    let elapsed = js_sys::Date::now() - start;
    let done = *steps;
    if elapsed < SLICE_MS / 2.0 {
        *steps = (*steps * 2).min(4096);
    } else if elapsed > SLICE_MS * 2.0 {
        *steps = (*steps / 2).max(1);
    }
    let stats: BatchStats = trainer.take_stats().await.map_err(err)?.unwrap_or_default();
    let dead = trainer.dead().await.map_err(err)?;
    let due = js_sys::Date::now() - *last_held_out > HELD_OUT_EVERY_MS;
    let copy = if due { Some(trainer.download().await.map_err(err)?) } else { None };
    let mut w = work.borrow_mut();
    w.dead = dead;
    let held_out_fvu = copy.as_ref().and_then(|sae| held_out(&w.collection.held_out, sae, last_held_out));
    if let (Some(sae), Some(Training::Gpu { trainer: now, copy: kept })) = (copy, &mut w.training) {
        if Rc::ptr_eq(now, trainer) {
            *kept = sae;
        }
    }
    Ok(Some(SaeProgress {
        step: trainer.seen() / trainer.batch,
        fvu: stats.fvu,
        held_out_fvu,
        active: stats.active,
        dead,
        vectors_per_s: (done * trainer.batch) as f32 / (elapsed as f32 / 1000.0).max(1e-3),
        running: true,
        on_gpu: true,
    }))
}
