//! The web worker that owns the engine. Requests are answered on the worker's own thread, so a long
//! computation never freezes the page; generation yields to the worker's event loop after every token,
//! so a `Stop` request is seen at once.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use engine::backend::cpu::Precision;
use engine::generate::{Engine, GenerateOptions};
use engine::model::FileBytes;
use gloo_worker::{HandlerId, Worker, WorkerScope};
use wasm_bindgen::JsCast;

use crate::protocol::{Request, Response};

/// The engine's worker (registered by `bin/worker.rs`, spawned by the UI).
#[derive(Debug, Default)]
pub struct EngineWorker {
    engine: Rc<RefCell<Option<Rc<Engine>>>>,
    /// Set by `Stop`, read between tokens.
    stop: Rc<Cell<bool>>,
}

impl Worker for EngineWorker {
    type Message = ();
    type Input = Request;
    type Output = Response;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self::default()
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: Self::Message) {}

    fn received(&mut self, scope: &WorkerScope<Self>, request: Request, from: HandlerId) {
        let scope = scope.clone();
        match request {
            Request::ProbeCompute => wasm_bindgen_futures::spawn_local(async move {
                scope.respond(from, Response::Compute(engine::probe_compute().await));
            }),
            Request::LoadModel { url } => {
                let slot = Rc::clone(&self.engine);
                wasm_bindgen_futures::spawn_local(async move {
                    match load(&url, &scope, from).await {
                        Ok((mut engine, bytes)) => {
                            let n_layer = engine.model.config.n_layer;
                            let name = url.rsplit('/').next().unwrap_or(&url).to_owned();
                            let backend = place(&mut engine).await;
                            *slot.borrow_mut() = Some(Rc::new(engine));
                            scope.respond(from, Response::ModelReady { name, n_layer, bytes, backend });
                        }
                        Err(message) => scope.respond(from, Response::Error(message)),
                    }
                });
            }
            Request::Chat { messages, max_tokens } => {
                let Some(engine) = self.engine.borrow().clone() else {
                    scope.respond(from, Response::Error("no model is loaded yet".into()));
                    return;
                };
                self.stop.set(false);
                let stop = Rc::clone(&self.stop);
                wasm_bindgen_futures::spawn_local(async move {
                    if let Err(message) = chat(&engine, messages, max_tokens, &stop, &scope, from).await {
                        scope.respond(from, Response::Error(message));
                    }
                });
            }
            Request::Stop => self.stop.set(true),
        }
    }
}

/// Puts the engine on the GPU when the browser offers a hardware adapter, and says where it runs. A
/// software adapter (SwiftShader, lavapipe) is slower than the SIMD CPU engine, so it is left unused.
async fn place(engine: &mut Engine) -> String {
    const CPU: &str = "CPU (WebAssembly SIMD, 8-bit activations)";
    match engine::probe_compute().await {
        engine::ComputeBackend::Gpu { device_type, .. } if device_type != "Cpu" => match engine.use_gpu().await {
            Ok(()) => format!("{} (f32, WGSL kernels)", engine.backend_label()),
            Err(err) => format!("{CPU}; {err}"),
        },
        engine::ComputeBackend::Gpu { .. } => {
            format!("{CPU}; the GPU found is a software one, slower than the CPU")
        }
        engine::ComputeBackend::Cpu { .. } => CPU.to_owned(),
    }
}

/// Fetches `url` with progress reports and builds an engine from it.
async fn load(url: &str, scope: &WorkerScope<EngineWorker>, from: HandlerId) -> Result<(Engine, u64), String> {
    let bytes = fetch_with_progress(url, scope, from).await?;
    let len = bytes.len() as u64;
    let engine = Engine::from_gguf(FileBytes::new(bytes), Precision::Int8)
        .map_err(|e| format!("this file cannot be used: {e}"))?;
    Ok((engine, len))
}

async fn fetch_with_progress(url: &str, scope: &WorkerScope<EngineWorker>, from: HandlerId) -> Result<Vec<u8>, String> {
    use wasm_bindgen_futures::JsFuture;
    let failed = |what: &str| format!("could not download the model ({what})");
    let global: web_sys::WorkerGlobalScope = js_sys::global().dyn_into().map_err(|_| failed("not in a worker"))?;
    let response: web_sys::Response = JsFuture::from(global.fetch_with_str(url))
        .await
        .map_err(|_| failed("network error"))?
        .dyn_into()
        .map_err(|_| failed("unexpected response"))?;
    if !response.ok() {
        return Err(failed(&format!("HTTP {}", response.status())));
    }
    let total: u64 = response.headers().get("content-length").ok().flatten().and_then(|v| v.parse().ok()).unwrap_or(0);
    let body = response.body().ok_or_else(|| failed("empty body"))?;
    let reader: web_sys::ReadableStreamDefaultReader =
        body.get_reader().dyn_into().map_err(|_| failed("unreadable body"))?;
    let mut bytes = Vec::with_capacity(total as usize);
    let mut last_report = 0u64;
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|_| failed("interrupted"))?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).map(|v| v.is_truthy()).unwrap_or(true);
        if done {
            break;
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(|_| failed("bad chunk"))?;
        let array: js_sys::Uint8Array = value.dyn_into().map_err(|_| failed("bad chunk"))?;
        let at = bytes.len();
        bytes.resize(at + array.length() as usize, 0);
        array.copy_to(&mut bytes[at..]);
        if bytes.len() as u64 - last_report >= 4 << 20 {
            last_report = bytes.len() as u64;
            scope.respond(from, Response::ModelProgress { loaded: last_report, total });
        }
    }
    Ok(bytes)
}

/// Streams the answer to `messages`, one `Token` per step, then `Done`.
async fn chat(
    engine: &Engine,
    messages: Vec<engine::chat::Message>,
    max_tokens: usize,
    stop: &Cell<bool>,
    scope: &WorkerScope<EngineWorker>,
    from: HandlerId,
) -> Result<(), String> {
    let prompt = engine.chat_prompt(&messages).map_err(|e| e.to_string())?;
    let options = GenerateOptions { max_tokens, ..GenerateOptions::default() };
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
        scope.respond(from, Response::Token { text: step.text, prob: step.prob });
        // Let the worker's event loop deliver a `Stop` before the next token.
        gloo_timers::future::TimeoutFuture::new(0).await;
    }
    let n = generator.generated().len();
    let elapsed_s = (js_sys::Date::now() - first_token_at.unwrap_or(started)) / 1000.0;
    let tok_per_s = if n > 1 && elapsed_s > 0.0 { ((n - 1) as f64 / elapsed_s) as f32 } else { 0.0 };
    scope.respond(from, Response::Done { finish: generator.finish_reason(), tok_per_s });
    Ok(())
}
