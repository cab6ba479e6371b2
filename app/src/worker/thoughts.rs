//! The worker's side of the *Thoughts* view: the hidden states collected, the sparse autoencoder
//! trained in slices (the worker answers other requests between them), answers written with and
//! without the squeeze, a feature's card, the file. Training pauses while the model writes.

use std::cell::RefCell;
use std::rc::Rc;

use engine::backend::gpu::GpuContext;
use engine::generate::Engine;
use engine::thoughts::{strongest_for, Collection, Edit, PASSAGE_TOKENS};
use engine::train::sae::{self, Sae, SaeConfig};
use gloo_worker::{HandlerId, WorkerScope};

use super::sae_training::{gpu_for, refresh, run, Training};
use super::EngineWorker;
use crate::presence::Presence;
use crate::protocol::Response;
use crate::thoughts::{ReadToken, ThoughtsRequest, ThoughtsResponse, Way, Written};

/// Features shown per token of the reading.
const READ_TOP: usize = 3;
/// Tokens of a chat exchange (its end) that join the collection.
const CHAT_TOKENS: usize = 128;

/// What the worker keeps for the view.
#[derive(Debug, Default)]
pub struct ThoughtsWork {
    pub(super) collection: Collection,
    pub(super) training: Option<Training>,
    pub(super) running: bool,
    /// Bumped to end a training loop or a collection that is no longer wanted.
    pub(super) generation: u64,
    /// Dead features at the last report.
    pub(super) dead: usize,
    /// The GPU the autoencoder trains on, once looked for (`Some(None)`: none).
    pub(super) gpu: Option<Option<Rc<GpuContext>>>,
    /// Tokens read per second by the last collection.
    speed: f32,
    /// The last collection read its whole text.
    read_all: bool,
    /// Whether the view is on screen: a collection waits, and training does not run, while it is away.
    pub(super) presence: Presence,
}

type Work = Rc<RefCell<ThoughtsWork>>;

/// Handles one request of the view.
pub fn handle(
    engine: Rc<Engine>,
    work: &Work,
    request: ThoughtsRequest,
    scope: WorkerScope<EngineWorker>,
    from: HandlerId,
) {
    let say = move |scope: &WorkerScope<EngineWorker>, r: ThoughtsResponse| scope.respond(from, Response::Thoughts(r));
    let work = Rc::clone(work);
    match request {
        ThoughtsRequest::Collect { layer, text } => wasm_bindgen_futures::spawn_local(async move {
            if let Err(why) = collect(&engine, &work, layer, text, &scope, from).await {
                say(&scope, ThoughtsResponse::Refused(why));
            }
        }),
        ThoughtsRequest::Train { expansion, k } => wasm_bindgen_futures::spawn_local(async move {
            let d = engine.model.config.n_embd;
            let layer = work.borrow().collection.layer;
            let config = SaeConfig { d, width: expansion.clamp(1, 32) * d, k, layer };
            let fresh = {
                let w = work.borrow();
                if w.collection.train.len() < 64 * d {
                    Err("collect the hidden states of a text first".to_owned())
                } else {
                    Sae::new(config, &w.collection.train, 1)
                }
            };
            match fresh {
                Ok(sae) => {
                    run(&work, false, scope.clone(), from);
                    let gpu = gpu_for(&work, engine.gpu().is_some()).await;
                    work.borrow_mut().training = Some(Training::start(sae, gpu));
                    say(&scope, ThoughtsResponse::Ready { layer, width: config.width, k, loaded: false });
                    run(&work, true, scope, from);
                }
                Err(why) => say(&scope, ThoughtsResponse::Refused(why)),
            }
        }),
        ThoughtsRequest::Run(on) => run(&work, on, scope, from),
        // The view left: training pauses (remembered, so that it resumes on return) and a collection
        // waits between passages. Training the student paused stays paused.
        ThoughtsRequest::Away(away) => {
            let resume = {
                let mut w = work.borrow_mut();
                let running = w.running;
                w.presence.set(away, running)
            };
            if away {
                run(&work, false, scope, from);
            } else if resume {
                run(&work, true, scope, from);
            }
        }
        ThoughtsRequest::Write { prompt, max_tokens, steer } => wasm_bindgen_futures::spawn_local(async move {
            let was_running = work.borrow().running;
            run(&work, false, scope.clone(), from);
            if let Err(why) = write(&engine, &work, &prompt, max_tokens, steer, &scope, from).await {
                say(&scope, ThoughtsResponse::Refused(why));
            }
            say(&scope, ThoughtsResponse::WriteDone);
            if was_running {
                run(&work, true, scope, from);
            }
        }),
        ThoughtsRequest::Card(feature) => say(&scope, card(&engine, &work.borrow(), feature)),
        ThoughtsRequest::Save { keep } => wasm_bindgen_futures::spawn_local(async move {
            let answer = match refresh(&work).await {
                Err(why) => ThoughtsResponse::Refused(why),
                Ok(()) => match &work.borrow().training {
                    Some(t) => ThoughtsResponse::Saved(sae::save(t.sae()), keep),
                    None => ThoughtsResponse::Refused("no autoencoder has been trained yet".into()),
                },
            };
            say(&scope, answer);
        }),
        ThoughtsRequest::Load(bytes) => wasm_bindgen_futures::spawn_local(async move {
            let opened = sae::load(&bytes).and_then(|s| engine.check_sae(&s).map(|()| s).map_err(|e| e.to_string()));
            match opened {
                Ok(sae) => {
                    let c = sae.config;
                    run(&work, false, scope.clone(), from);
                    let gpu = gpu_for(&work, engine.gpu().is_some()).await;
                    let mut w = work.borrow_mut();
                    if w.collection.layer != c.layer {
                        w.collection = Collection::new(c.layer);
                    }
                    w.training = Some(Training::start(sae, gpu));
                    say(&scope, ThoughtsResponse::Ready { layer: c.layer, width: c.width, k: c.k, loaded: true });
                }
                Err(why) => say(&scope, ThoughtsResponse::Refused(why)),
            }
        }),
    }
}

/// Reads the passages of the text at `layer`, reporting every few passages.
async fn collect(
    engine: &Engine,
    work: &Work,
    layer: usize,
    text: Option<String>,
    scope: &WorkerScope<EngineWorker>,
    from: HandlerId,
) -> Result<(), String> {
    let err = |e: engine::EngineError| e.to_string();
    let passages = match text.as_deref().map(str::trim) {
        Some("") => return Err("the text is empty".into()),
        Some(text) => engine.passages(text, PASSAGE_TOKENS).map_err(err)?,
        None => engine.built_in_passages().map_err(err)?,
    };
    if layer >= engine.model.config.n_layer {
        return Err(format!("the model has {} blocks", engine.model.config.n_layer));
    }
    let generation = {
        let mut w = work.borrow_mut();
        w.running = false;
        w.presence.forget();
        w.generation += 1;
        w.collection = Collection::new(layer);
        w.read_all = false;
        w.generation
    };
    let d = engine.model.config.n_embd;
    let mut started = js_sys::Date::now();
    let mut last = started;
    for (i, passage) in passages.iter().enumerate() {
        // Away from the view: wait, reading nothing (the time waited does not count in the speed).
        let paused_at = js_sys::Date::now();
        while work.borrow().presence.away() && work.borrow().generation == generation {
            gloo_timers::future::TimeoutFuture::new(200).await;
        }
        started += js_sys::Date::now() - paused_at;
        let kept = {
            let mut w = work.borrow_mut();
            if w.generation != generation {
                return Ok(()); // a newer request took over
            }
            w.collection.read(engine, passage).map_err(err)?
        };
        let now = js_sys::Date::now();
        let done = kept == 0 || i + 1 == passages.len();
        if done || now - last > 300.0 {
            last = now;
            let mut w = work.borrow_mut();
            w.speed = (w.collection.len(d) as f64 / ((now - started) / 1000.0).max(1e-3)) as f32;
            w.read_all = done;
            scope.respond(from, Response::Thoughts(collected(&w, d, done)));
        }
        if done {
            break;
        }
        crate::pause::next_task().await;
    }
    Ok(())
}

/// What has been collected, for the page.
fn collected(w: &ThoughtsWork, d: usize, done: bool) -> ThoughtsResponse {
    let c = &w.collection;
    ThoughtsResponse::Collected {
        layer: c.layer,
        vectors: c.train.len() / d,
        held_out: c.held_out.len() / d,
        bytes: (c.train.len() + c.held_out.len()) * 4,
        tokens_per_s: w.speed,
        done,
    }
}

/// A chat exchange the model just wrote (`ids`: its prompt and answer) joins the collection once the
/// view has collected something: its last tokens, read after the start token.
pub fn after_answer(engine: &Engine, work: &Work, ids: &[u32], scope: &WorkerScope<EngineWorker>, from: HandlerId) {
    let mut w = work.borrow_mut();
    let Some(start) = engine.sentence_start() else { return };
    if !w.read_all {
        return; // nothing collected yet, or a collection under way
    }
    let tail = &ids[ids.len().saturating_sub(CHAT_TOKENS)..];
    let passage: Vec<u32> = std::iter::once(start).chain(tail.iter().copied()).collect();
    if let Ok(kept) = w.collection.read(engine, &passage) {
        if kept > 0 {
            scope.respond(from, Response::Thoughts(collected(&w, engine.model.config.n_embd, true)));
        }
    }
}

/// Writes the answers one after the other, token by token, then reads the plain one through the
/// autoencoder; the plain answer's hidden states join the collection.
async fn write(
    engine: &Engine,
    work: &Work,
    prompt: &str,
    max_tokens: usize,
    steer: Option<(usize, f32)>,
    scope: &WorkerScope<EngineWorker>,
    from: HandlerId,
) -> Result<(), String> {
    let err = |e: engine::EngineError| e.to_string();
    if prompt.trim().is_empty() {
        return Err("write a beginning for the model to continue".into());
    }
    refresh(work).await?;
    let sae = match &work.borrow().training {
        Some(t) => t.sae().clone(),
        None => return Err("no autoencoder has been trained yet".into()),
    };
    let ids = engine.passages(prompt, usize::MAX).map_err(err)?.remove(0);
    if ids.len() + max_tokens > engine.model.config.n_ctx {
        return Err(format!("the beginning is too long: {} tokens", ids.len()));
    }
    let mut ways = vec![(Way::Plain, Edit::Keep), (Way::Squeezed, Edit::Squeeze(&sae)), (Way::Mean, Edit::Mean(&sae))];
    if let Some((feature, strength)) = steer.filter(|&(f, _)| f < sae.config.width) {
        ways.push((Way::Steered, Edit::Steer { sae: &sae, feature, strength }));
    }
    let mut plain = Vec::new();
    for (way, edit) in ways {
        let mut writer = engine.write_edited(&ids, edit, max_tokens).map_err(err)?;
        while let Some(step) = writer.step().map_err(err)? {
            if way == Way::Plain {
                plain.push(step.id);
            }
            let text = engine.tokenizer.token_label(step.id).unwrap_or_default();
            let token = Written { text, kl: step.kl, changed: step.id != step.plain_id };
            scope.respond(from, Response::Thoughts(ThoughtsResponse::Token(way, token)));
            crate::pause::next_task().await;
        }
    }
    let all: Vec<u32> = ids.iter().chain(&plain).copied().collect();
    let thoughts = engine.read_through(&all, &sae, READ_TOP).map_err(err)?;
    let reading = all[1..]
        .iter()
        .zip(thoughts)
        .map(|(&id, t)| ReadToken {
            text: engine.tokenizer.token_label(id).unwrap_or_default(),
            error: t.error,
            features: t.features,
        })
        .collect();
    scope.respond(from, Response::Thoughts(ThoughtsResponse::Reading(reading)));
    let mut w = work.borrow_mut();
    if w.collection.layer == sae.config.layer && !w.collection.is_empty() {
        w.collection.read(engine, &all).map_err(err)?;
    }
    Ok(())
}

/// A feature's strongest tokens among the collected training vectors.
fn card(engine: &Engine, w: &ThoughtsWork, feature: usize) -> ThoughtsResponse {
    let Some(t) = &w.training else { return ThoughtsResponse::Refused("no autoencoder has been trained yet".into()) };
    let sae = t.sae();
    if feature >= sae.config.width {
        return ThoughtsResponse::Refused(format!("the autoencoder has {} features", sae.config.width));
    }
    if w.collection.layer != sae.config.layer || w.collection.train.is_empty() {
        return ThoughtsResponse::Refused(
            "collect the hidden states of a text at the autoencoder's block first".into(),
        );
    }
    let label = |ids: &[u32]| engine.tokenizer.decode(ids).unwrap_or_default();
    let top = strongest_for(sae, &w.collection.train, feature, 8, 400)
        .into_iter()
        .map(|(i, z)| {
            let (context, token) = w.collection.context(w.collection.train_from[i], 8);
            (label(context), label(&[token]), z)
        })
        .collect();
    ThoughtsResponse::Card(feature, top)
}
