//! The web worker that owns the engine. Requests are answered on the worker's own thread, so a long
//! computation never freezes the page; generation yields to the worker's event loop after every token,
//! so a `Stop` or an attention view asked for mid-answer is seen at once.

mod doubt;
mod load;
mod sae_training;
mod teach;
mod thoughts;
mod words;

pub(crate) use teach::fetched;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use engine::generate::{Engine, GenerateOptions, TraceOptions};
use engine::trace::AttentionBook;
use gloo_worker::{HandlerId, Worker, WorkerScope};

use crate::i18n::{Cores, CpuReason, Placement, WasmSimd};
use crate::protocol::{Alternative, ChatSettings, Piece, Request, Response};

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
                    match load::load(&url, cache, &scope, from).await {
                        Ok((mut engine, bytes, from_cache, card)) => {
                            let (n_layer, n_head) = (engine.model.config.n_layer, engine.model.config.n_head);
                            let backend = place(&mut engine, force_gpu).await;
                            *slot.borrow_mut() = Some(Rc::new(engine));
                            // Hidden states and an autoencoder belong to the model they were read from.
                            *thoughts.borrow_mut() = thoughts::ThoughtsWork::default();
                            scope.respond(
                                from,
                                Response::ModelReady { name, n_layer, n_head, bytes, backend, from_cache, card },
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
                let work = Rc::clone(&self.thoughts);
                wasm_bindgen_futures::spawn_local(async move {
                    match chat(&engine, messages, settings, &stop, &book, &scope, from).await {
                        Ok(ids) => thoughts::after_answer(&engine, &work, &ids, &scope, from),
                        Err(message) => scope.respond(from, Response::Error(message)),
                    }
                });
            }
            Request::Stop => self.stop.set(true),
            Request::Predict { context, guess } => self.answer_later(&scope, from, move |e| async move {
                teach::predict(&e, context, guess).await.map(Response::Prediction)
            }),
            Request::Read { text } => {
                let book = Rc::clone(&self.book);
                self.answer_later(&scope, from, move |e| async move { teach::read(&e, &text, &book).await })
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
            Request::InContext { asked, word, sentences } => self.answer_later(&scope, from, move |e| async move {
                let (cosines, on_gpu) = words::in_context(&e, &word, &sentences).await?;
                Ok(Response::InContext { asked, word, cosines, on_gpu })
            }),
            Request::Lens { context } => {
                let Some(engine) = self.engine.borrow().clone() else {
                    scope.respond(from, Response::Error("no model is loaded yet".into()));
                    return;
                };
                wasm_bindgen_futures::spawn_local(async move {
                    if let Err(message) = teach::lens(&engine, context, &scope, from).await {
                        scope.respond(from, Response::Error(message));
                    }
                });
            }
            Request::Fill { text, candidates, propose } => self.answer_later(&scope, from, move |e| async move {
                teach::fill(&e, text, candidates, propose).await.map(Response::Filled)
            }),
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

    /// Like [`Self::answer`], for a computation that awaits the GPU's readbacks. On the CPU it ends in
    /// its first poll, so answers keep the order of the requests; on the GPU a later request may be
    /// answered first (the GPU busy, it runs on the CPU): the page drops an earlier one arriving late
    /// (`Game::wants`, `Words::accept_in_context`).
    fn answer_later<F>(
        &self,
        scope: &WorkerScope<Self>,
        from: HandlerId,
        compute: impl FnOnce(Rc<Engine>) -> F + 'static,
    ) where
        F: std::future::Future<Output = Result<Response, String>> + 'static,
    {
        let Some(engine) = self.engine.borrow().clone() else {
            scope.respond(from, Response::Error("no model is loaded yet".into()));
            return;
        };
        let scope = scope.clone();
        wasm_bindgen_futures::spawn_local(async move {
            scope.respond(from, compute(engine).await.unwrap_or_else(Response::Error));
        });
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
                Err(err) => Placement::Cpu(CpuReason::GpuRefused(err.to_string()), WasmSimd::BUILT, cores()),
            }
        }
        engine::ComputeBackend::Gpu { .. } => Placement::Cpu(CpuReason::SoftwareGpu, WasmSimd::BUILT, cores()),
        engine::ComputeBackend::Cpu { .. } => Placement::Cpu(CpuReason::NoGpu, WasmSimd::BUILT, cores()),
    }
}

/// The cores this worker's CPU engine runs on.
fn cores() -> Cores {
    // The simd128 build runs where the page found no relaxed SIMD (this worker's own check may differ).
    crate::kernels::worker_cores(WasmSimd::BUILT == WasmSimd::Relaxed)
}

fn piece(engine: &Engine, id: u32) -> Piece {
    Piece { id, text: engine.tokenizer.token_label(id).unwrap_or_else(|_| format!("#{id}")) }
}

/// Streams the answer to `messages`: the prompt's tokens, one `Token` per step (recording its attention
/// into `book`), then `Done`; returns the prompt's and the answer's tokens.
async fn chat(
    engine: &Engine,
    messages: Vec<engine::chat::Message>,
    settings: ChatSettings,
    stop: &Cell<bool>,
    book: &RefCell<AttentionBook>,
    scope: &WorkerScope<EngineWorker>,
    from: HandlerId,
) -> Result<Vec<u32>, String> {
    let prompt = engine.chat_prompt(&messages).map_err(|e| e.to_string())?;
    scope.respond(from, Response::Prompt(prompt.iter().map(|&id| piece(engine, id)).collect()));
    let prompt_ids = prompt.clone();
    let options = GenerateOptions {
        max_tokens: settings.max_tokens,
        sampler: settings.sampler,
        trace: TraceOptions { attention: settings.trace, top_k: ALTERNATIVES },
        // A new turn prefills only what the last exchange's cache does not hold.
        continue_cache: true,
        ..GenerateOptions::default()
    };
    let generator = engine.generate(prompt, options);
    // The explorer keeps the rows of the positions the cache kept (when it traced them over these tokens).
    match &generator {
        Ok(g) => book.borrow_mut().rewind(&prompt_ids, g.reused()),
        Err(_) => book.borrow_mut().clear(),
    }
    let mut generator = generator.map_err(|e| e.to_string())?;
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
        crate::pause::next_task().await;
    }
    let n = generator.generated().len();
    let elapsed_s = (js_sys::Date::now() - first_token_at.unwrap_or(started)) / 1000.0;
    let tok_per_s = if n > 1 && elapsed_s > 0.0 { ((n - 1) as f64 / elapsed_s) as f32 } else { 0.0 };
    let (prompt, reused) = (prompt_ids.len(), generator.reused());
    scope.respond(from, Response::Done { finish: generator.finish_reason(), tok_per_s, prompt, reused });
    let exchange: Vec<u32> = prompt_ids.into_iter().chain(generator.generated().iter().copied()).collect();
    book.borrow_mut().set_context(exchange.clone());
    Ok(exchange)
}
