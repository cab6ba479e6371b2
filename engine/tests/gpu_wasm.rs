//! In the browser, on Chromium's WebGPU (SwiftShader here): small random llama models built in code (a
//! Qwen3 one too, its query and key heads normalised, and Gemma 3 and 2 ones: a sliding window, norms
//! after each sub-layer, a GELU gate, soft caps) run through every WGSL kernel, and every logit
//! matches the CPU's exact path (whose cache rounds keys and values to f16 as the GPU's does), inside a
//! dedicated worker like the app's engine; decoding that submits each pass before the previous token is
//! back gives what decoding that waits gives.
#![cfg(target_arch = "wasm32")]

mod common;

use common::synthetic::TinyLlama;
use engine::backend::cpu::Precision;
use engine::backend::gpu::{GpuContext, GpuModel, Input, PickParams, Readback};
use engine::gguf::Gguf;
use engine::model::{FileBytes, LogitsFor, Model};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
async fn synthetic_models_run_the_same_on_webgpu_and_cpu() {
    // The adapter's own matrix products (SwiftShader's: `matmul_rows.wgsl`) for every model; a GPU's
    // (`matmul.wgsl`, which users' GPUs run) through the browser's WGSL compiler too for the mixed-type
    // model and Gemma 2 (every block layout, SwiGLU, GeGLU and the soft-capped head).
    let specs = [
        (TinyLlama::uniform(), false),
        (TinyLlama::mixed(), true),
        (TinyLlama::qwen3(), false),
        (TinyLlama::gemma3(), false),
        (TinyLlama::gemma2(), true),
    ];
    for (spec, both) in specs {
        let bytes = spec.build(3);
        let gguf = Gguf::parse(&bytes).expect("parse");
        let model = Model::load(&gguf, &FileBytes::new(bytes.clone()), Precision::Exact).expect("load");
        for rows in [true, false].into_iter().take(if both { 2 } else { 1 }) {
            let ctx = GpuContext::new().await.expect("a WebGPU adapter (Chromium runs with --enable-unsafe-webgpu)");
            let ctx = if rows { ctx } else { ctx.with_row_kernels(false) };
            console_log!("adapter {:?}, subgroups {}, row kernels {}", ctx.info.name, ctx.subgroups, ctx.row_kernels);
            let gpu = GpuModel::load(ctx, &model, 256).await.expect("upload");
            let ids: Vec<u32> = (0..80u32).map(|i| (i * 53 + 7) % spec.n_vocab as u32).collect();
            let (worst, scale) = common::synthetic::gpu_vs_cpu(&model, &gpu, &ids, 70, 256).await;
            assert!(worst <= 2e-3 * scale.max(1.0), "max |Δ| {worst} over logits up to {scale}");
            common::synthetic::overlapped_vs_waiting(&gpu, &ids[..40], 8, 256).await;
        }
    }
}

/// A device lost with a pass in flight, as when a driver resets: collecting the pass fails with an error
/// the engine reads as a GPU failure (the generator then replays the conversation on the CPU), instead
/// of waiting for ever on a readback that will not come.
#[wasm_bindgen_test]
async fn a_lost_webgpu_device_fails_the_pass_in_flight_instead_of_hanging() {
    let bytes = TinyLlama::uniform().build(5);
    let gguf = Gguf::parse(&bytes).expect("parse");
    let model = Model::load(&gguf, &FileBytes::new(bytes.clone()), Precision::Exact).expect("load");
    let gpu = GpuModel::load(GpuContext::new().await.expect("adapter"), &model, 64).await.expect("upload");
    let mut session = gpu.session(64).expect("session");
    let ids: Vec<u32> = (0..8).collect();
    session.forward(&ids, LogitsFor::Last, false, Readback::Best).await.expect("a pass before the loss");
    let ahead = session
        .submit(Input::Picked, LogitsFor::Last, false, Readback::Best, PickParams::GREEDY)
        .await
        .expect("a pass submitted ahead");
    gpu.context().simulate_device_loss();
    let err = session.collect(ahead).await.expect_err("a lost device cannot answer");
    assert!(err.is_gpu_failure(), "{err}");
    let again = session.submit(Input::Picked, LogitsFor::Last, false, Readback::Best, PickParams::GREEDY).await;
    assert!(again.is_err_and(|e| e.is_gpu_failure()), "nothing more is submitted to a lost device");
}

/// The autoencoder lab's training kernels on the browser's WebGPU: one batch's gradients, plain and
/// VAE, equal the CPU's (f32 sums in another order: ~2e-7 of the largest gradient natively).
#[wasm_bindgen_test]
async fn autoencoder_gradients_on_webgpu_match_the_cpu() {
    use engine::train::{Autoencoder, GpuAutoencoder, Kind, Rng};
    let ctx = std::rc::Rc::new(GpuContext::new().await.expect("a WebGPU adapter"));
    for kind in [Kind::Plain, Kind::Variational { beta: 0.8 }] {
        let (dim, hidden, latent, batch) = (37, 19, 3, 5);
        let model = Autoencoder::new(dim, hidden, latent, kind, 1e-3, 4);
        let mut rng = Rng::new(8);
        let x: Vec<f32> = (0..batch * dim).map(|_| rng.uniform()).collect();
        let noise: Vec<f32> = (0..batch * latent).map(|_| rng.normal()).collect();
        let (_, cpu) = model.gradients(&x, &noise);
        let trainer = GpuAutoencoder::new(ctx.clone(), &model, batch).expect("upload");
        let gpu = trainer.gradients(&x, &noise).await.expect("gradients");
        let worst = engine::train::largest_relative_gap(&cpu, &gpu);
        console_log!("{kind:?}: worst |GPU − CPU| / max |grad| = {worst:.2e}");
        assert!(worst < 1e-4, "{worst}");
    }
}

/// Twenty Adam steps on the browser's WebGPU leave the weights where twenty CPU steps leave them.
#[wasm_bindgen_test]
async fn autoencoder_training_steps_on_webgpu_follow_the_cpu() {
    use engine::train::{Autoencoder, GpuAutoencoder, Kind, Rng};
    let ctx = std::rc::Rc::new(GpuContext::new().await.expect("a WebGPU adapter"));
    let (dim, hidden, latent, batch) = (37, 19, 3, 5);
    let mut cpu = Autoencoder::new(dim, hidden, latent, Kind::Variational { beta: 0.8 }, 1e-3, 4);
    let trainer = GpuAutoencoder::new(ctx, &cpu, batch).expect("upload");
    let mut rng = Rng::new(8);
    for _ in 0..20 {
        let x: Vec<f32> = (0..batch * dim).map(|_| rng.uniform()).collect();
        let noise: Vec<f32> = (0..batch * latent).map(|_| rng.normal()).collect();
        trainer.train_step(&x, &noise).expect("step");
        trainer.finish().await.expect("finish");
        let (_, g) = cpu.gradients(&x, &noise);
        cpu.apply(&g);
    }
    let mut from_gpu = cpu.clone();
    trainer.download(&mut from_gpu).await.expect("download");
    let start = Autoencoder::new(dim, hidden, latent, Kind::Variational { beta: 0.8 }, 1e-3, 4);
    let mean_abs = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32;
    let (mut moved, mut apart) = (0.0, 0.0);
    for (c, g, s) in [(&cpu.enc1, &from_gpu.enc1, &start.enc1), (&cpu.dec2, &from_gpu.dec2, &start.dec2)] {
        moved += mean_abs(&c.w, &s.w);
        apart += mean_abs(&c.w, &g.w);
    }
    console_log!("20 Adam steps: weights moved by {moved:.2e} on average; GPU and CPU differ by {apart:.2e}");
    // Adam's first steps move a weight by ±lr whatever its gradient's size, so a gradient that is 0 up to
    // rounding may step either way on either side: a few weights may differ by a step; most must not.
    assert!(moved > 5e-3, "training moved the weights");
    assert!(apart < 0.02 * moved, "GPU {apart} apart from the CPU, vs {moved} moved");
}
