//! Reading a model file into the engine: from this browser's Cache API (checked against the default
//! model's size and sha256) or the network, with progress reports; the default model is kept for offline
//! use.

use engine::backend::cpu::Precision;
use engine::generate::Engine;
use engine::gguf::Gguf;
use engine::model::{FileBytes, ModelCard};
use gloo_worker::{HandlerId, WorkerScope};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::EngineWorker;
use crate::preflight::{Preflight, Verdict};
use crate::protocol::Response;

/// Cache API bucket for model files (the service worker keeps the app's own files elsewhere).
const MODEL_CACHE: &str = "glassbox-models-v1";

/// Reads `url` (from this browser's cache when `cache` is set and it is there) with progress reports
/// and builds an engine from it; a file that loads is then kept in the cache.
pub(super) async fn load(
    url: &str,
    cache: bool,
    scope: &WorkerScope<EngineWorker>,
    from: HandlerId,
) -> Result<(Engine, u64, bool, Box<ModelCard>), String> {
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
    // The card comes from the header alone, so a file the engine refuses is still named.
    let gguf = Gguf::parse(file.as_slice()).map_err(|e| format!("this file cannot be used: {e}"))?;
    let card = Box::new(ModelCard::read(&gguf));
    let engine = Engine::from_header(&gguf, file.clone(), Precision::Int8)
        .map_err(|e| format!("this file cannot be used: {e} (it holds {})", card.summary()))?;
    if cache && !from_cache && crate::is_default_model(file.as_slice()) {
        // Best effort: without room in the cache, the next visit downloads the model again.
        if let Err(why) = store(&global, url, file.as_slice()).await {
            web_sys::console::warn_1(&format!("the model is not kept for offline use: {why}").into());
        }
    }
    Ok((engine, len, from_cache, card))
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
    // The header, read from the first bytes, says what the file holds and whether it fits: a file that
    // does not is refused before the rest is read.
    let mut preflight = Preflight::new(total);
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
        match preflight.look(&bytes) {
            Some(Verdict::Fits(estimate)) => scope.respond(from, Response::ModelEstimate(estimate)),
            Some(Verdict::Refused(why)) => {
                let _ = JsFuture::from(reader.cancel()).await;
                return Err(why);
            }
            None => {}
        }
        if bytes.len() as u64 - last_report >= 2 << 20 {
            last_report = bytes.len() as u64;
            scope.respond(from, Response::ModelProgress { loaded: last_report, total });
        }
    }
    Ok(bytes)
}
