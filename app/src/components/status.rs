//! What this machine offers: the compute backend the engine found (asked of the worker) and whether the
//! default model is served next to the app.

use gloo_worker::Spawnable;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::protocol::{Request, Response};
use crate::worker::EngineWorker;
use crate::{DEFAULT_MODEL_URL, WORKER_LOADER_URL};

/// The "this machine" panel.
#[component]
pub fn SystemStatus() -> impl IntoView {
    let (compute, set_compute) = signal(None::<engine::ComputeBackend>);
    let bridge = EngineWorker::spawner()
        .callback(move |response| match response {
            Response::Compute(backend) => set_compute.set(Some(backend)),
        })
        .with_loader(true)
        .as_module(false)
        .spawn(WORKER_LOADER_URL);
    bridge.send(Request::ProbeCompute);
    // The bridge must outlive this call, or the worker is terminated: the page owns it from here on.
    StoredValue::new_local(bridge);

    let model = LocalResource::new(|| model_size(DEFAULT_MODEL_URL));

    view! {
        <section class="status" aria-label="This machine">
            <h2>"This machine"</h2>
            <dl>
                <dt>"Compute"</dt>
                <dd data-testid="compute-backend">
                    {move || match compute.get() {
                        None => "looking for a GPU…".to_owned(),
                        Some(backend) => backend.label(),
                    }}
                </dd>
                <dt>"Default model"</dt>
                <dd data-testid="model-status">
                    {move || match model.get() {
                        None => "checking…".to_owned(),
                        Some(Ok(bytes)) => format!("SmolLM2-135M-Instruct, Q4_1, {:.1} MB, served locally", bytes as f64 / 1e6),
                        Some(Err(message)) => message,
                    }}
                </dd>
            </dl>
        </section>
    }
}

/// The size in bytes of the file at `url`, from a HEAD request, or a message for the user.
async fn model_size(url: &'static str) -> Result<u64, String> {
    let unavailable = |what: &str| format!("not available ({what}); run `cargo xtask serve`");
    let window = web_sys::window().ok_or_else(|| unavailable("no window"))?;
    let init = web_sys::RequestInit::new();
    init.set_method("HEAD");
    let promise = window.fetch_with_str_and_init(url, &init);
    let response: web_sys::Response = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|_| unavailable("network error"))?
        .dyn_into()
        .map_err(|_| unavailable("unexpected response"))?;
    if !response.ok() {
        return Err(unavailable(&format!("HTTP {}", response.status())));
    }
    response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|length| length.parse().ok())
        .ok_or_else(|| unavailable("no length"))
}
