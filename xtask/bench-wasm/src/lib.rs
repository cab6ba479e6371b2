//! `cargo xtask bench` in the browser: fetches the model, loads it with the CPU engine (simd128), and
//! times a greedy generation exactly as `glassbox generate` does natively. Runs inside a module worker.

use engine::backend::cpu::Precision;
use engine::chat::Message;
use engine::generate::{Engine, GenerateOptions};
use engine::model::FileBytes;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

fn js_err(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&e.to_string())
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// In the build with wasm threads: starts the engine's CPU pool with `threads` threads in all, each
/// helper a web worker running `script`; returns how many threads the pool has.
#[cfg(target_feature = "atomics")]
#[wasm_bindgen]
pub fn start_threads(threads: usize, script: String) -> usize {
    engine::backend::cpu::web_threads::start_shared_pool(threads, &script)
}

/// Generates `n_tokens` greedy tokens after `prompt` (as one chat message); returns a JSON string with
/// the prompt ids, the ids, prefill and decode tok/s, and the size of the wasm memory afterwards.
#[wasm_bindgen]
pub async fn run(model_url: String, prompt: String, n_tokens: usize) -> Result<String, JsValue> {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().dyn_into()?;
    let response: web_sys::Response =
        wasm_bindgen_futures::JsFuture::from(scope.fetch_with_str(&model_url)).await?.dyn_into()?;
    let buffer = wasm_bindgen_futures::JsFuture::from(response.array_buffer()?).await?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    let engine = Engine::from_gguf(FileBytes::new(bytes), Precision::Int8).map_err(js_err)?;
    let prompt_ids = engine.chat_prompt(&[Message::user(prompt)]).map_err(js_err)?;
    let options = GenerateOptions { max_tokens: n_tokens, ignore_eos: true, ..GenerateOptions::default() };
    let mut generator = engine.generate(prompt_ids.clone(), options).map_err(js_err)?;
    let started = now_ms();
    let mut prefill_ms = 0.0;
    while generator.step().await.map_err(js_err)?.is_some() {
        if prefill_ms == 0.0 {
            prefill_ms = now_ms() - started;
        }
    }
    let total_ms = now_ms() - started;
    let n = generator.generated().len();
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().dyn_into()?;
    // A shared memory's buffer is a SharedArrayBuffer, not an ArrayBuffer.
    let memory_bytes = js_sys::Reflect::get(&memory.buffer(), &"byteLength".into())?.as_f64().unwrap_or(0.0);
    Ok(serde_json::json!({
        "prompt_ids": prompt_ids,
        "ids": generator.generated(),
        "prefill_tok_s": prompt_ids.len() as f64 / (prefill_ms / 1000.0),
        "decode_tok_s": (n - 1) as f64 / ((total_ms - prefill_ms) / 1000.0),
        "wasm_memory_bytes": memory_bytes,
        "threads": engine::backend::cpu::running_threads(),
    })
    .to_string())
}
