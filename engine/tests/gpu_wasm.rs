//! In the browser, on Chromium's WebGPU (SwiftShader here): small random llama models built in code run
//! through every WGSL kernel, and every logit matches the CPU's exact path (whose cache rounds keys and
//! values to f16 as the GPU's does), inside a dedicated worker like the app's engine.
#![cfg(target_arch = "wasm32")]

mod common;

use common::synthetic::TinyLlama;
use engine::backend::cpu::Precision;
use engine::backend::gpu::{GpuContext, GpuModel};
use engine::gguf::Gguf;
use engine::model::{FileBytes, Model};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
async fn synthetic_models_run_the_same_on_webgpu_and_cpu() {
    for spec in [TinyLlama::uniform(), TinyLlama::mixed()] {
        let bytes = spec.build(3);
        let gguf = Gguf::parse(&bytes).expect("parse");
        let model = Model::load(&gguf, &FileBytes::new(bytes.clone()), Precision::Exact).expect("load");
        let ctx = GpuContext::new().await.expect("a WebGPU adapter (Chromium runs with --enable-unsafe-webgpu)");
        console_log!("adapter {:?}, subgroups {}", ctx.info.name, ctx.subgroups);
        let gpu = GpuModel::load(ctx, &model, 256).await.expect("upload");
        let ids: Vec<u32> = (0..80u32).map(|i| (i * 53 + 7) % spec.n_vocab as u32).collect();
        let (worst, scale) = common::synthetic::gpu_vs_cpu(&model, &gpu, &ids, 70, 256).await;
        assert!(worst <= 2e-3 * scale.max(1.0), "max |Δ| {worst} over logits up to {scale}");
    }
}
