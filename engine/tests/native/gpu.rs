//! The whole model on the GPU (natively: Mesa's lavapipe when the machine has no GPU) against llama.cpp's
//! float64 reference, against the CPU's exact path, and through a device lost mid-answer.
//!
//! Tolerances (issue #4): teacher-forced logits of the reference's top 5 within 0.1 (max) at every
//! position; top-1 equal wherever both margins are ≥ 0.5; greedy ids equal to llama.cpp's up to the first
//! near-tie, over the first `GREEDY_PREFIX` tokens of the first case (the CPU's tests decode every case
//! whole; lavapipe is slow (see `common::bare_ids`), the teacher-forced check
//! already covers every position of every case, and the attention test compares the GPU's decoding with
//! the CPU's token by token). Against the CPU's exact path (same weights, f32 activations; the GPU keeps keys and
//! values in f16), every logit of every position within `common::gpu_vs_exact_limit`: what an f16 cache does to
//! the CPU's own logits on the same tokens (the default model's logits span about ±30; an f16 cache moves
//! the CPU's by up to 0.050 here, mean 0.004), ×1.5, plus 1e-3 for sums in another order. Answers here are as short as
//! what they check allows, for the same reason, and prompts are bare text (no chat template and its
//! system prompt) where no answer needs to end on its own.

use crate::common;

use std::sync::OnceLock;

use common::synthetic::TinyLlama;
use engine::backend::cpu::Precision;
use engine::backend::gpu::{GpuContext, GpuModel, Readback, CHUNK};
use engine::generate::{Engine, FinishReason, GenerateOptions, TraceOptions};
use engine::gguf::Gguf;
use engine::model::{FileBytes, LogitsFor, Model};
use engine::sample::SamplerConfig;

const REFERENCE_MAX: f32 = 0.1;
/// Greedy tokens decoded on the GPU (of the first reference case).
const GREEDY_PREFIX: usize = 8;

fn gpu_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut engine = Engine::from_gguf(common::model_file(), Precision::Exact).expect("engine");
        pollster::block_on(engine.use_gpu())
            .expect("no GPU adapter: install Mesa's Vulkan drivers (mesa-vulkan-drivers), as `cargo xtask setup` does");
        engine
    })
}

fn reference_sequences() -> impl Iterator<Item = (&'static common::ChatCase, Vec<u32>)> {
    common::reference()
        .chat
        .iter()
        .map(|case| (case, case.prompt_ids.iter().chain(&case.greedy_ids).copied().collect()))
}

fn gpu_logits(engine: &Engine, ids: &[u32]) -> Vec<f32> {
    let (mut session, note) = engine.session(ids.len());
    assert!(session.is_gpu() && note.is_none(), "expected a GPU session: {note:?}");
    pollster::block_on(session.forward(ids, LogitsFor::All, false, Readback::Logits)).expect("forward").logits
}

/// Every reference sequence's logits at every position on the GPU, computed once for the two tests that
/// compare them (with llama.cpp's float64 reference, and with the CPU's exact path).
fn gpu_reference_logits() -> &'static [(Vec<u32>, Vec<f32>)] {
    static LOGITS: OnceLock<Vec<(Vec<u32>, Vec<f32>)>> = OnceLock::new();
    LOGITS.get_or_init(|| {
        let engine = gpu_engine();
        reference_sequences()
            .map(|(_, ids)| {
                let logits = gpu_logits(engine, &ids);
                (ids, logits)
            })
            .collect()
    })
}

fn gpu_logits_of(ids: &[u32]) -> Vec<f32> {
    let found = gpu_reference_logits().iter().find(|(seq, _)| seq == ids);
    found.expect("a reference sequence").1.clone()
}

#[test]
fn gpu_teacher_forced_matches_float64_reference_within_0_1() {
    let engine = gpu_engine();
    assert!(reference_sequences().any(|(_, ids)| ids.len() > CHUNK), "a sequence spans more than one prefill chunk");
    let (errors, mismatches) = common::teacher_forced_errors(engine.model.config.n_vocab, gpu_logits_of);
    let worst = errors.iter().copied().fold(0.0, f32::max);
    eprintln!("GPU teacher-forced: {} logits, max |Δ| {worst:.5} (limit {REFERENCE_MAX})", errors.len());
    assert!(worst <= REFERENCE_MAX, "max |Δ| {worst}");
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[test]
fn gpu_logits_match_the_cpu_exact_path_at_every_position() {
    let engine = gpu_engine();
    for (_, ids) in reference_sequences() {
        let gpu = gpu_logits_of(&ids);
        let mut cache = engine.model.new_cache(ids.len());
        let cpu = engine.model.forward(&mut cache, &ids, LogitsFor::All, false).expect("cpu").logits;
        assert_eq!(gpu.len(), cpu.len());
        let worst = gpu.iter().zip(&cpu).map(|(g, c)| (g - c).abs()).fold(0.0, f32::max);
        let (limit, f16_effect) = common::gpu_vs_exact_limit(&engine.model, &ids, &cpu);
        eprintln!(
            "GPU vs CPU exact: {} logits, max |Δ| {worst:.5} (limit {limit:.5}: an f16 cache moves the CPU's by {f16_effect:.5})",
            gpu.len()
        );
        assert!(worst <= limit, "max |Δ| {worst} > {limit}");
    }
}

#[test]
fn gpu_greedy_matches_llama_cpp_up_to_the_first_near_tie() {
    let engine = gpu_engine();
    assert!(engine.gpu().is_some());
    common::assert_greedy_matches_llama_cpp(engine, "GPU", 1, GREEDY_PREFIX);
}

#[test]
fn gpu_decode_costs_one_submit_one_16_byte_readback_and_8_dispatches_per_layer() {
    let engine = gpu_engine();
    let n_layer = engine.model.config.n_layer as u32;
    let prompt = common::bare_ids(engine, "Count from one to twenty: one, two,");
    let options = GenerateOptions { max_tokens: 6, ignore_eos: true, ..Default::default() };
    let mut generator = engine.generate(prompt, options).expect("start");
    let first = generator.step_blocking().expect("prefill").expect("a token");
    assert_eq!(first.counters.readbacks, 1, "the prompt's pass reads back once");
    let mut decode = 0;
    while let Some(step) = generator.step_blocking().expect("step") {
        let c = step.counters;
        assert_eq!((c.submits, c.readbacks, c.readback_bytes), (1, 1, 16), "{c:?}");
        assert_eq!(c.dispatches, 1 + 8 * n_layer + 3, "embed + 8 per layer + norm, head, pick");
        assert!(c.gpu_memory_bytes > 0);
        decode += 1;
    }
    assert_eq!(decode, 5);
}

#[test]
fn gpu_attention_trace_and_distribution_match_the_cpu() {
    let gpu = gpu_engine();
    let cpu = Engine::from_gguf(common::model_file(), Precision::Exact).expect("cpu engine");
    let prompt = common::bare_ids(&cpu, "The sky is blue because");
    let options = GenerateOptions {
        max_tokens: 4,
        trace: TraceOptions { attention: true, top_k: 5 },
        ignore_eos: true,
        ..Default::default()
    };
    let mut on_gpu = gpu.generate(prompt.clone(), options.clone()).expect("gpu");
    let mut on_cpu = cpu.generate(prompt, options).expect("cpu");
    let mut worst = 0.0f32;
    while let (Some(g), Some(c)) =
        (on_gpu.step_blocking().expect("gpu step"), on_cpu.step_blocking().expect("cpu step"))
    {
        assert_eq!(g.id, c.id, "same greedy token at {}", g.position);
        let (ga, ca) = (g.attention.expect("gpu trace"), c.attention.expect("cpu trace"));
        assert_eq!((ga.first, ga.n_query, ga.n_layer, ga.n_head), (ca.first, ca.n_query, ca.n_layer, ca.n_head));
        for (a, b) in ga.probs.iter().zip(&ca.probs) {
            worst = worst.max((a - b).abs());
        }
        let (gd, cd) = (g.distribution.expect("gpu top-k"), c.distribution.expect("cpu top-k"));
        assert_eq!(gd.top.iter().map(|t| t.id).collect::<Vec<_>>(), cd.top.iter().map(|t| t.id).collect::<Vec<_>>());
        assert!((g.prob - c.prob).abs() < 1e-3, "{} vs {}", g.prob, c.prob);
    }
    // The GPU's keys are f16: scores move by up to ~1e-3 of their size (measured 2.4e-3 at most).
    eprintln!("attention probabilities, GPU vs CPU: max |Δ| {worst:.2e}");
    assert!(worst <= 5e-3, "max |Δ| {worst}");
}

/// Ids, probabilities and alternatives of a whole answer.
fn answer(engine: &Engine, prompt: &[u32], options: GenerateOptions) -> (Vec<engine::generate::Step>, Vec<u32>) {
    let mut generator = engine.generate(prompt.to_vec(), options).expect("start");
    let mut steps = Vec::new();
    while let Some(step) = generator.step_blocking().expect("step") {
        steps.push(step);
    }
    let ids = generator.generated().to_vec();
    (steps, ids)
}

#[test]
fn gpu_overlapped_decode_gives_the_answer_of_a_decode_that_waits_and_drops_the_pass_after_the_end() {
    let engine = gpu_engine();
    // The default model's chat markers without the template's system prompt: a short prompt whose answer
    // ends on its own.
    let chatml = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n";
    let prompt = engine.tokenizer.encode_with_specials(chatml).expect("tokens");
    for sampler in [
        SamplerConfig::default(),
        SamplerConfig { temperature: 0.7, top_k: 40, top_p: 0.9, seed: 5, ..SamplerConfig::default() },
    ] {
        let options =
            GenerateOptions { max_tokens: 48, sampler: sampler.clone(), overlap: Some(true), ..Default::default() };
        let (overlapped, ids) = answer(engine, &prompt, options.clone());
        let (waited, waited_ids) = answer(engine, &prompt, GenerateOptions { overlap: Some(false), ..options });
        assert_eq!(ids, waited_ids, "{sampler:?}");
        let last = overlapped.last().expect("steps");
        // The answer ended on its own, with a pass for a next token already submitted: dropped.
        assert_eq!(last.finish, Some(FinishReason::EndOfSequence), "{sampler:?}: {ids:?}");
        assert_eq!(overlapped.len(), waited.len());
        for (a, b) in overlapped.iter().zip(&waited) {
            assert_eq!((a.position, a.id, a.prob), (b.position, b.id, b.prob));
        }
    }
}

#[test]
fn gpu_sampling_on_the_gpu_picks_what_the_cpu_sampler_picks_from_the_gpu_logits() {
    let engine = gpu_engine();
    let prompt = common::bare_ids(engine, "Once upon a time, a dragon");
    let sampler = SamplerConfig { temperature: 0.8, top_k: 40, top_p: 0.95, seed: 9, ..SamplerConfig::default() };
    let options = |alternatives| GenerateOptions {
        max_tokens: 12,
        sampler: sampler.clone(),
        trace: TraceOptions { attention: false, top_k: alternatives },
        ignore_eos: true,
        ..Default::default()
    };
    // 5 alternatives: the GPU picks and sends back 72 bytes. 65 (more than its top-k kernel ranks): the
    // logits come back and the CPU's sampler picks, from the same logits and the same draws.
    let (on_gpu, gpu_ids) = answer(engine, &prompt, options(5));
    let (on_cpu, cpu_ids) = answer(engine, &prompt, options(engine::backend::gpu::PICK_CANDIDATES + 1));
    assert_eq!(gpu_ids, cpu_ids);
    let mut worst_entropy = 0.0f32;
    for (g, c) in on_gpu.iter().zip(&on_cpu).skip(1) {
        assert_eq!((g.counters.readbacks, g.counters.readback_bytes), (1, 32 + 8 * 5), "{:?}", g.counters);
        assert!(c.counters.readback_bytes > 4 * engine.model.config.n_vocab as u64);
        let (gd, cd) = (g.distribution.as_ref().expect("gpu"), c.distribution.as_ref().expect("cpu"));
        let ids = |d: &engine::trace::Distribution| d.top.iter().map(|t| (t.id, t.logit)).collect::<Vec<_>>();
        assert_eq!(ids(gd), ids(cd)[..5], "the five alternatives, bit for bit");
        // log Σ exp summed in another order: a probability moves by ~2e-5 at most.
        assert!((g.prob - c.prob).abs() <= 1e-4, "{} vs {}", g.prob, c.prob);
        worst_entropy = worst_entropy.max((gd.entropy - cd.entropy).abs());
    }
    eprintln!("entropy, GPU's reduction vs the CPU's: max |Δ| {worst_entropy:.1e} nats");
    assert!(worst_entropy <= 1e-3);
}

#[test]
fn a_device_lost_mid_answer_finishes_the_answer_on_the_cpu() {
    let mut engine = Engine::from_gguf(common::model_file(), Precision::Exact).expect("engine");
    pollster::block_on(engine.use_gpu()).expect("GPU");
    let prompt = common::bare_ids(&engine, "The capital of France is");
    let options = GenerateOptions { max_tokens: 10, ..Default::default() };
    let reference =
        engine.generate(prompt.clone(), options.clone()).expect("start").run_to_end_blocking().expect("run");

    // With a pass submitted ahead when the device goes: it is lost with it, and replayed on the CPU.
    let mut generator = engine.generate(prompt, GenerateOptions { overlap: Some(true), ..options }).expect("start");
    let mut ids = Vec::new();
    let mut notes = Vec::new();
    for _ in 0..3 {
        ids.push(generator.step_blocking().expect("step").expect("token").id);
    }
    engine.gpu().expect("still on the GPU").context().simulate_device_loss();
    while let Some(step) = generator.step_blocking().expect("the answer goes on after the loss") {
        notes.extend(step.note);
        if step.finish != Some(FinishReason::EndOfSequence) {
            ids.push(step.id);
        }
    }
    assert!(!generator.on_gpu(), "moved to the CPU");
    assert_eq!(notes.len(), 1, "one note says so: {notes:?}");
    assert!(notes[0].contains("lost") && notes[0].contains("CPU"), "{notes:?}");
    assert_eq!(ids, reference, "the same answer as without the loss");
    assert!(engine.gpu().is_none(), "new sessions go to the CPU");
    assert_eq!(engine.backend_label(), "CPU");
    let again = engine.generate(vec![1, 2, 3], GenerateOptions { max_tokens: 2, ..Default::default() }).expect("start");
    assert!(!again.on_gpu());
}

/// Small random models built in code: prefill across several chunks and two attention tiles, then decode
/// steps, every logit compared with the CPU's exact path; then decoding with each pass submitted ahead
/// against decoding that waits. With the adapter's own products; the Gemma models (GeGLU, soft-capped
/// logits: the epilogues the kernel tests leave out) with the other kind too (a GPU's on lavapipe, the
/// software adapters' on a GPU).
#[test]
fn synthetic_models_run_the_same_on_gpu_and_cpu_for_every_weight_layout() {
    let specs = [
        ("uniform Q4_1, tied head", TinyLlama::uniform()),
        ("mixed types", TinyLlama::mixed()),
        ("K-quants", TinyLlama::k_quants()),
        ("qwen2: biases, RoPE on halves", TinyLlama::qwen2()),
        ("qwen3: normalised heads twice n_embd / n_head wide", TinyLlama::qwen3()),
        ("gemma3: a sliding window, post-norms, GELU, √n_embd embeddings", TinyLlama::gemma3()),
        ("gemma2: soft-capped attention scores and logits", TinyLlama::gemma2()),
    ];
    for (name, spec) in specs {
        let bytes = spec.build(7);
        let gguf = Gguf::parse(&bytes).expect("parse");
        let model = Model::load(&gguf, &FileBytes::new(bytes.clone()), Precision::Exact).expect("load");
        let kinds: &[bool] = if name.starts_with("gemma") { &[true, false] } else { &[true] };
        for &own in kinds {
            let ctx = pollster::block_on(GpuContext::new()).expect("GPU adapter");
            let rows = ctx.row_kernels == own;
            let gpu = pollster::block_on(GpuModel::load(ctx.with_row_kernels(rows), &model, 512)).expect("upload");
            let ids: Vec<u32> = (0..300u32).map(|i| (i * 37 + 11) % spec.n_vocab as u32).collect();
            let (worst, scale) = pollster::block_on(common::synthetic::gpu_vs_cpu(&model, &gpu, &ids, 290, 512));
            let kernels = if rows { "rows" } else { "lanes" };
            eprintln!("{name}, {kernels}: max |Δ| {worst:.2e} over logits up to {scale:.1}");
            assert!(worst <= 2e-3 * scale.max(1.0), "{name}, {kernels}: max |Δ| {worst} (logits up to {scale})");
            pollster::block_on(common::synthetic::overlapped_vs_waiting(&gpu, &ids[..70], 12, 512));
        }
    }
}

/// The KV cache an ended session leaves is kept for the next one (a buffer pool): a new answer does not
/// allocate and clear its cache again; a second live session gets its own; a longer one replaces it.
/// The reused cache holds the last session's keys, which the next one never reads: the synthetic test
/// above runs several sessions in turn on one model and compares every logit with the CPU.
#[test]
fn a_new_gpu_session_reuses_the_kv_cache_an_ended_one_left() {
    let spec = TinyLlama { n_ctx: 2048, ..TinyLlama::uniform() };
    let bytes = spec.build(11);
    let gguf = Gguf::parse(&bytes).expect("parse");
    let model = Model::load(&gguf, &FileBytes::new(bytes.clone()), Precision::Exact).expect("load");
    let ctx = pollster::block_on(GpuContext::new()).expect("GPU adapter");
    let gpu = pollster::block_on(GpuModel::load(ctx, &model, 2048)).expect("upload");
    let c = &model.config;
    let kv_bytes = |positions: usize| (c.n_layer * 2 * positions * c.kv_dim() * 2) as u64;
    let base = gpu.memory_in_use();

    let first = gpu.session(300).expect("session");
    let with_one = gpu.memory_in_use();
    assert!(with_one >= base + kv_bytes(512), "300 positions are allocated as 512");
    drop(first);
    assert_eq!(gpu.memory_in_use(), base + kv_bytes(512), "its cache is kept, the rest freed");
    let second = gpu.session(100).expect("session");
    assert_eq!(gpu.memory_in_use(), with_one, "the next session takes it");
    let third = gpu.session(100).expect("another session");
    assert!(gpu.memory_in_use() >= with_one + kv_bytes(256), "a second live session gets its own");
    drop(third);
    drop(second);
    assert_eq!(gpu.memory_in_use(), base + kv_bytes(512), "the pool keeps the larger");
    let long = gpu.session(1000).expect("a longer session");
    assert!(long.capacity() == 1000 && gpu.memory_in_use() >= base + kv_bytes(1024));
    drop(long);
    assert_eq!(gpu.memory_in_use(), base + kv_bytes(1024), "the smaller cache was freed for it");

    // A held conversation stays pooled while a lab's session (the lens, a prediction) comes and goes.
    let prompt: Vec<u32> = (0..40u32).map(|i| i % spec.n_vocab as u32).collect();
    let (mut chat, reused) = gpu.session_after(100, &prompt).expect("a chat's session");
    assert_eq!(reused, 0);
    pollster::block_on(chat.forward(&prompt, LogitsFor::Last, false, Readback::Best)).expect("pass");
    chat.hold(prompt.clone());
    drop(chat);
    let lab = gpu.session(20).expect("a lab's session");
    assert!(gpu.memory_in_use() >= base + kv_bytes(1024) + kv_bytes(256), "the lab gets a cache of its own");
    drop(lab);
    assert_eq!(gpu.memory_in_use(), base + kv_bytes(1024), "and frees it");
    let next_turn = [&prompt[..], &[1, 2]].concat();
    let (_, reused) = gpu.session_after(100, &next_turn).expect("the next turn");
    assert_eq!(reused, prompt.len(), "the conversation's cache outlived the lab's session");
}
