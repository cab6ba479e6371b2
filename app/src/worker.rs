//! The web worker that owns the engine. Every request is answered on the worker's own thread, so a long
//! computation never freezes the page.

use gloo_worker::{HandlerId, Worker, WorkerScope};

use crate::protocol::{Request, Response};

/// The engine's worker (registered by `bin/worker.rs`, spawned by the UI).
#[derive(Debug, Default)]
pub struct EngineWorker;

impl Worker for EngineWorker {
    type Message = ();
    type Input = Request;
    type Output = Response;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: Self::Message) {}

    fn received(&mut self, scope: &WorkerScope<Self>, request: Request, from: HandlerId) {
        let scope = scope.clone();
        match request {
            Request::ProbeCompute => wasm_bindgen_futures::spawn_local(async move {
                let backend = engine::probe_compute().await;
                scope.respond(from, Response::Compute(backend));
            }),
        }
    }
}
