//! In the browser, on Chromium's WebGPU (SwiftShader here): small random llama models built in code run
//! through every WGSL kernel, and every logit matches the CPU's exact path (whose cache rounds keys and
//! values to f16 as the GPU's does), inside a dedicated worker like the app's engine.
#![cfg(target_arch = "wasm32")]

mod common;

use common::synthetic::TinyLlama;
use engine::backend::cpu::Precision;
use engine::backend::gpu::{GpuContext, GpuModel, Readback};
use engine::gguf::Gguf;
use engine::model::{FileBytes, LogitsFor, Model};
use engine::session::Session;
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
        let mut cpu = Session::Cpu { model: &model, cache: model.new_cache(256).rounding_to_f16() };
        let mut on_gpu = Session::Gpu(gpu.session(256).expect("session"));
        let (prefill, decode) = ids.split_at(70);
        let mut worst = 0.0f32;
        let mut scale = 0.0f32;
        for (tokens, all) in std::iter::once((prefill, true)).chain(decode.chunks(1).map(|t| (t, false))) {
            let lf = if all { LogitsFor::All } else { LogitsFor::Last };
            let c = cpu.forward(tokens, lf, false, Readback::Logits).await.expect("cpu");
            let g = on_gpu.forward(tokens, lf, false, Readback::Logits).await.expect("gpu");
            assert_eq!(c.logits.len(), g.logits.len());
            for (a, b) in c.logits.iter().zip(&g.logits) {
                worst = worst.max((a - b).abs());
                scale = scale.max(a.abs());
            }
            if !all {
                assert_eq!(g.best.expect("argmax").id, engine::sample::argmax(&c.logits));
                assert_eq!((g.counters.submits, g.counters.readbacks), (1, 1));
            }
        }
        assert!(worst <= 2e-3 * scale.max(1.0), "max |Δ| {worst} over logits up to {scale}");
    }
}
