//! In Chromium with the flags of `engine/webdriver.json`, WebGPU is there (SwiftShader), and the probe
//! finds it from a dedicated worker, where the app's engine lives.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
async fn probe_finds_webgpu_in_a_chromium_worker() {
    let backend = engine::probe_compute().await;
    match &backend {
        engine::ComputeBackend::Gpu { api, .. } => assert_eq!(api, "BrowserWebGpu"),
        engine::ComputeBackend::Cpu { reason } => {
            panic!("expected WebGPU in Chromium, got the CPU: {reason}")
        }
    }
}
