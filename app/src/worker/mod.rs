//! The web worker that owns the engine. Requests are answered on the worker's own thread, so a long
//! computation never freezes the page; generation yields to the worker's event loop after every token,
//! so a `Stop` or an attention view asked for mid-answer is seen at once.

mod doubt;
mod teach;
mod thoughts;
mod words;

pub(crate) use teach::fetched;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use engine::backend::cpu::Precision;
use engine::generate::{Engine, GenerateOptions, TraceOptions};
use engine::model::FileBytes;
use engine::trace::AttentionBook;
use gloo_worker::{HandlerId, Worker, WorkerScope};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::i18n::{CpuReason, Placement};
use crate::protocol::{Alternative, ChatSettings, Piece, Request, Response};

/// Cache API bucket for model files (the service worker keeps the app's own files elsewhere).
const MODEL_CACHE: &str = "glassbox-models-v1";

/// Attention kept for the explorer, in values (2 bytes each): 32 MiB, the latest ~350 positions of the
/// default model (30 layers × 9 heads × n²/2 values for n positions).
const ATTENTION_BOOK_VALUES: usize = engine::model::MAX_TRACE_VALUES;

/// How many alternatives each token carries.
const ALTERNATIVES: usize = 5;

/// The engine's worker (registered by `bin/worker.rs`, spawned by the UI).
#[derive(Debug)]
pub struct EngineWorker {
    engine: Rc<RefCell<Option<Rc<Engine>>>>,
    /// Set by `Stop`, read between tokens.
    stop: Rc<Cell<bool>>,
    /// The attention of the answer being (or last) written.
    book: Rc<RefCell<AttentionBook>>,
    /// The *Thoughts* view's collection and autoencoder.
    thoughts: Rc<RefCell<thoughts::ThoughtsWork>>,
}

impl Worker for EngineWorker {
    type Message = ();
    type Input = Request;
    type Output = Response;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self {
            engine: Rc::default(),
            stop: Rc::default(),
            book: Rc::new(RefCell::new(AttentionBook::new(0, 0, ATTENTION_BOOK_VALUES))),
            thoughts: Rc::default(),
        }
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: Self::Message) {}

    fn received(&mut self, scope: &WorkerScope<Self>, request: Request, from: HandlerId) {
        let scope = scope.clone();
        match request {
            Request::ProbeCompute => wasm_bindgen_futures::spawn_local(async move {
                scope.respond(from, Response::Compute(probe().await));
            }),
            Request::LoadModel { url, name, cache, force_gpu } => {
                let slot = Rc::clone(&self.engine);
                let thoughts = Rc::clone(&self.thoughts);
                wasm_bindgen_futures::spawn_local(async move {
                    match load(&url, cache, &scope, from).await {
                        Ok((mut engine, bytes, from_cache)) => {
                            let (n_layer, n_head) = (engine.model.config.n_layer, engine.model.config.n_head);
                            let backend = place(&mut engine, force_gpu).await;
                            *slot.borrow_mut() = Some(Rc::new(engine));
                            // Hidden states and an autoencoder belong to the model they were read from.
                            *thoughts.borrow_mut() = thoughts::ThoughtsWork::default();
                            scope.respond(
                                from,
                                Response::ModelReady { name, n_layer, n_head, bytes, backend, from_cache },
                            );
                        }
                        Err(message) => scope.respond(from, Response::ModelFailed(message)),
                    }
                });
            }
            Request::Chat { messages, settings } => {
                let Some(engine) = self.engine.borrow().clone() else {
                    scope.respond(from, Response::Error("no model is loaded yet".into()));
                    return;
                };
                self.stop.set(false);
                let (stop, book) = (Rc::clone(&self.stop), Rc::clone(&self.book));
                wasm_bindgen_futures::spawn_local(async move {
                    if let Err(message) = chat(&engine, messages, settings, &stop, &book, &scope, from).await {
                        scope.respond(from, Response::Error(message));
                    }
                });
            }
            Request::Stop => self.stop.set(true),
            Request::Predict { context, guess } => {
                self.answer(&scope, from, |e| teach::predict(e, context, guess).map(Response::Prediction))
            }
            Request::Read { text } => {
                let Some(engine) = self.engine.borrow().clone() else {
                    scope.respond(from, Response::Error("no model is loaded yet".into()));
                    return;
                };
                let book = Rc::clone(&self.book);
                wasm_bindgen_futures::spawn_local(async move {
                    let response = teach::read(&engine, &text, &book).await.unwrap_or_else(Response::Error);
                    scope.respond(from, response);
                });
            }
            Request::Continue { ids, seeds, sampler, max_tokens } => {
                self.write(&scope, from, move |engine, stop, scope| async move {
                    teach::continuations(&engine, ids, seeds, sampler, max_tokens, &stop, &scope, from).await
                })
            }
            Request::Fetched => scope.respond(from, Response::Fetched(teach::fetched())),
            Request::Prefer { question, seeds, sampler, max_tokens } => {
                self.write(&scope, from, move |engine, stop, scope| async move {
                    doubt::prefer(&engine, question, seeds, sampler, max_tokens, &stop, &scope, from).await
                })
            }
            Request::Doubt { question, seeds, sampler, max_tokens } => {
                self.write(&scope, from, move |engine, stop, scope| async move {
                    doubt::ask(&engine, question, seeds, sampler, max_tokens, &stop, &scope, from).await
                })
            }
            Request::WordMap { words, reference } => {
                self.answer(&scope, from, |e| words::word_map(e, words, reference).map(Response::WordMap))
            }
            Request::Nearest { word, analogy, k } => {
                self.answer(&scope, from, |e| words::nearest(e, word, analogy, k).map(Response::Nearest))
            }
            Request::InContext { word, sentences } => self.answer(&scope, from, |e| {
                words::in_context(e, &word, &sentences).map(|c| Response::InContext(word, c))
            }),
            Request::Lens { context } => match self.engine.borrow().as_deref() {
                Some(engine) => {
                    if let Err(message) = teach::lens(engine, context, &scope, from) {
                        scope.respond(from, Response::Error(message));
                    }
                }
                None => scope.respond(from, Response::Error("no model is loaded yet".into())),
            },
            Request::Fill { text, candidates, propose } => {
                self.answer(&scope, from, |e| teach::fill(e, text, candidates, propose).map(Response::Filled))
            }
            Request::Thoughts(request) => match self.engine.borrow().clone() {
                Some(engine) => thoughts::handle(engine, &self.thoughts, request, scope, from),
                None => scope.respond(from, Response::Error("no model is loaded yet".into())),
            },
            Request::AttentionGrid { upto, hide_sink } => {
                let thumbs = self.book.borrow().thumbnails(upto, crate::THUMBNAIL_SIDE, hide_sink);
                scope.respond(from, Response::AttentionGrid(thumbs));
            }
            Request::AttentionHead { upto, layer, head, hide_sink } => {
                let matrix = self.book.borrow().head_matrix(upto, layer, head, hide_sink);
                scope.respond(from, Response::AttentionHead(matrix));
            }
        }
    }
}

impl EngineWorker {
    /// Runs `task` — writing that *Stop* can end between tokens — on the loaded model, and sends back
    /// its error if it fails (or says that no model is loaded yet).
    fn write<F, Fut>(&self, scope: &WorkerScope<Self>, from: HandlerId, task: F)
    where
        F: FnOnce(Rc<Engine>, Rc<Cell<bool>>, WorkerScope<Self>) -> Fut,
        Fut: std::future::Future<Output = Result<(), String>> + 'static,
    {
        let Some(engine) = self.engine.borrow().clone() else {
            scope.respond(from, Response::Error("no model is loaded yet".into()));
            return;
        };
        self.stop.set(false);
        let written = task(engine, Rc::clone(&self.stop), scope.clone());
        let scope = scope.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(message) = written.await {
                scope.respond(from, Response::Error(message));
            }
        });
    }

    /// Answers with `compute(engine)`, or says why not (no model yet, or the computation's error).
    fn answer(
        &self,
        scope: &WorkerScope<Self>,
        from: HandlerId,
        compute: impl FnOnce(&Engine) -> Result<Response, String>,
    ) {
        let response = match self.engine.borrow().as_deref() {
            Some(engine) => compute(engine).unwrap_or_else(Response::Error),
            None => Response::Error("no model is loaded yet".into()),
        };
        scope.respond(from, response);
    }
}

/// How long the browser gets to offer a GPU adapter: a driver that never answers must not keep the
/// model from loading.
const PROBE_TIMEOUT_MS: u32 = 10_000;

/// [`engine::probe_compute`], or the CPU if the browser has not answered within [`PROBE_TIMEOUT_MS`].
async fn probe() -> engine::ComputeBackend {
    let answer: Rc<RefCell<Option<engine::ComputeBackend>>> = Rc::default();
    let slot = Rc::clone(&answer);
    wasm_bindgen_futures::spawn_local(async move {
        let found = engine::probe_compute().await;
        *slot.borrow_mut() = Some(found);
    });
    for _ in 0..PROBE_TIMEOUT_MS / 50 {
        if let Some(found) = answer.borrow_mut().take() {
            return found;
        }
        gloo_timers::future::TimeoutFuture::new(50).await;
    }
    engine::ComputeBackend::Cpu {
        reason: format!("the browser did not answer a request for a GPU within {} s", PROBE_TIMEOUT_MS / 1000),
    }
}

/// Puts the engine on the GPU when the browser offers a hardware adapter (any adapter when `force`),
/// and says where it runs. A software adapter (SwiftShader, lavapipe) is slower than the SIMD CPU
/// engine, so it is otherwise left unused.
async fn place(engine: &mut Engine, force: bool) -> Placement {
    match probe().await {
        engine::ComputeBackend::Gpu { device_type, .. } if device_type != "Cpu" || force => {
            match engine.use_gpu().await {
                Ok(()) => Placement::Gpu(engine.backend_label()),
                Err(err) => Placement::Cpu(CpuReason::GpuRefused(err.to_string())),
            }
        }
        engine::ComputeBackend::Gpu { .. } => Placement::Cpu(CpuReason::SoftwareGpu),
        engine::ComputeBackend::Cpu { .. } => Placement::Cpu(CpuReason::NoGpu),
    }
}

/// Reads `url` (from this browser's cache when `cache` is set and it is there) with progress reports
/// and builds an engine from it; a file that loads is then kept in the cache.
async fn load(
    url: &str,
    cache: bool,
    scope: &WorkerScope<EngineWorker>,
    from: HandlerId,
) -> Result<(Engine, u64, bool), String> {
    let global: web_sys::WorkerGlobalScope = js_sys::global().dyn_into().map_err(|_| "not in a worker".to_owned())?;
    let cached = if cache { cached_response(&global, url).await } else { None };
    let mut from_cache = cached.is_some();
    let mut bytes = match cached {
        Some(response) => read_with_progress(response, scope, from).await?,
        None => read_with_progress(fetch(&global, url).await?, scope, from).await?,
    };
    // The kept copy is used only when it is the default model, byte for byte: a copy cut short or
    // altered is dropped and the model fetched again.
    if from_cache && !crate::is_default_model(&bytes) {
        web_sys::console::warn_1(&"the kept copy of the model does not match its sha256: fetching it again".into());
        forget(&global, url).await;
        bytes = read_with_progress(fetch(&global, url).await?, scope, from).await?;
        from_cache = false;
    }
    let len = bytes.len() as u64;
    let file = FileBytes::new(bytes);
    let engine =
        Engine::from_gguf(file.clone(), Precision::Int8).map_err(|e| format!("this file cannot be used: {e}"))?;
    if cache && !from_cache && crate::is_default_model(file.as_slice()) {
        // Best effort: without room in the cache, the next visit downloads the model again.
        if let Err(why) = store(&global, url, file.as_slice()).await {
            web_sys::console::warn_1(&format!("the model is not kept for offline use: {why}").into());
        }
    }
    Ok((engine, len, from_cache))
}

async fn open_cache(global: &web_sys::WorkerGlobalScope) -> Option<web_sys::Cache> {
    // Only secure contexts have the Cache API: a page served over plain http on a LAN address does not.
    if !global.is_secure_context() {
        return None;
    }
    let caches = global.caches().ok()?;
    JsFuture::from(caches.open(MODEL_CACHE)).await.ok()?.dyn_into().ok()
}

async fn cached_response(global: &web_sys::WorkerGlobalScope, url: &str) -> Option<web_sys::Response> {
    let cache = open_cache(global).await?;
    let hit = JsFuture::from(cache.match_with_str(url)).await.ok()?;
    hit.dyn_into::<web_sys::Response>().ok().filter(web_sys::Response::ok)
}

async fn forget(global: &web_sys::WorkerGlobalScope, url: &str) {
    if let Some(cache) = open_cache(global).await {
        let _ = JsFuture::from(cache.delete_with_str(url)).await;
    }
}

async fn store(global: &web_sys::WorkerGlobalScope, url: &str, bytes: &[u8]) -> Result<(), String> {
    let cache = open_cache(global).await.ok_or("no Cache API here")?;
    let array = js_sys::Uint8Array::from(bytes);
    let response = web_sys::Response::new_with_opt_buffer_source(Some(&array)).map_err(|_| "cannot wrap the bytes")?;
    JsFuture::from(cache.put_with_str(url, &response)).await.map_err(|e| format!("{e:?}"))?;
    Ok(())
}

async fn fetch(global: &web_sys::WorkerGlobalScope, url: &str) -> Result<web_sys::Response, String> {
    let failed = |what: &str| format!("could not download the model ({what})");
    let response: web_sys::Response = JsFuture::from(global.fetch_with_str(url))
        .await
        .map_err(|_| failed("network error"))?
        .dyn_into()
        .map_err(|_| failed("unexpected response"))?;
    if !response.ok() {
        return Err(failed(&format!("HTTP {}", response.status())));
    }
    Ok(response)
}

async fn read_with_progress(
    response: web_sys::Response,
    scope: &WorkerScope<EngineWorker>,
    from: HandlerId,
) -> Result<Vec<u8>, String> {
    let failed = |what: &str| format!("could not read the model ({what})");
    let total: u64 = response.headers().get("content-length").ok().flatten().and_then(|v| v.parse().ok()).unwrap_or(0);
    let body = response.body().ok_or_else(|| failed("empty body"))?;
    let reader: web_sys::ReadableStreamDefaultReader =
        body.get_reader().dyn_into().map_err(|_| failed("unreadable body"))?;
    if total > crate::MAX_MODEL_BYTES {
        return Err(crate::too_large(total));
    }
    let mut bytes = Vec::with_capacity(total as usize);
    let mut last_report = 0u64;
    scope.respond(from, Response::ModelProgress { loaded: 0, total });
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|_| failed("interrupted"))?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).map(|v| v.is_truthy()).unwrap_or(true);
        if done {
            break;
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(|_| failed("bad chunk"))?;
        let array: js_sys::Uint8Array = value.dyn_into().map_err(|_| failed("bad chunk"))?;
        let at = bytes.len();
        let len = at + array.length() as usize;
        if len as u64 > crate::MAX_MODEL_BYTES || bytes.try_reserve(len - at).is_err() {
            return Err(crate::too_large(len as u64));
        }
        bytes.resize(len, 0);
        array.copy_to(&mut bytes[at..]);
        if bytes.len() as u64 - last_report >= 2 << 20 {
            last_report = bytes.len() as u64;
            scope.respond(from, Response::ModelProgress { loaded: last_report, total });
        }
    }
    Ok(bytes)
}

fn piece(engine: &Engine, id: u32) -> Piece {
    Piece { id, text: engine.tokenizer.token_label(id).unwrap_or_else(|_| format!("#{id}")) }
}

/// Streams the answer to `messages`: the prompt's tokens, one `Token` per step (recording its attention
/// into `book`), then `Done`.
async fn chat(
    engine: &Engine,
    messages: Vec<engine::chat::Message>,
    settings: ChatSettings,
    stop: &Cell<bool>,
    book: &RefCell<AttentionBook>,
    scope: &WorkerScope<EngineWorker>,
    from: HandlerId,
) -> Result<(), String> {
    let prompt = engine.chat_prompt(&messages).map_err(|e| e.to_string())?;
    book.borrow_mut().clear();
    scope.respond(from, Response::Prompt(prompt.iter().map(|&id| piece(engine, id)).collect()));
    let options = GenerateOptions {
        max_tokens: settings.max_tokens,
        sampler: settings.sampler,
        trace: TraceOptions { attention: settings.trace, top_k: ALTERNATIVES },
        ..GenerateOptions::default()
    };
    let mut generator = engine.generate(prompt, options).map_err(|e| e.to_string())?;
    let started = js_sys::Date::now();
    let mut first_token_at = None;
    loop {
        if stop.get() {
            break;
        }
        let Some(step) = generator.step().await.map_err(|e| e.to_string())? else { break };
        first_token_at.get_or_insert_with(js_sys::Date::now);
        if let Some(note) = step.note {
            scope.respond(from, Response::Notice(note));
        }
        if let Some(attention) = &step.attention {
            book.borrow_mut().record(attention);
        }
        let top = step
            .distribution
            .map(|d| d.top.iter().map(|c| Alternative { piece: piece(engine, c.id), prob: c.prob }).collect())
            .unwrap_or_default();
        scope.respond(from, Response::Token { piece: piece(engine, step.id), text: step.text, prob: step.prob, top });
        // Let the worker's event loop deliver a `Stop` or a view request before the next token.
        gloo_timers::future::TimeoutFuture::new(0).await;
    }
    let n = generator.generated().len();
    let elapsed_s = (js_sys::Date::now() - first_token_at.unwrap_or(started)) / 1000.0;
    let tok_per_s = if n > 1 && elapsed_s > 0.0 { ((n - 1) as f64 / elapsed_s) as f32 } else { 0.0 };
    scope.respond(from, Response::Done { finish: generator.finish_reason(), tok_per_s });
    Ok(())
}
