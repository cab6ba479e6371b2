//! A model whose tensors mix K-quants and 5-bit formats, as Q4_K_M files do: the CPU's exact and 8-bit
//! paths against the float64 reference forward over the same dequantized weights (the GPU against the
//! CPU is in `gpu.rs`; each format's dequantizer against llama.cpp's is in `quant.rs`); and the model
//! card of such a file against what was written into it.
//!
//! Tolerance: the exact path (f32 activations) within 1e-3 of the largest |logit| at every position, and
//! the same top token wherever the reference's margin is at least a hundredth of that scale. The 8-bit
//! path is held to its bound matrix by matrix (`quant.rs`), not here: random weights make a model so
//! sensitive that rounding activations to 8 bits moves its logits by a fifth of their scale, K-quants or
//! not (the Q4_1 model of `TinyLlama::uniform` too).

use crate::common;

use common::reference_forward::RefModel;
use common::synthetic::TinyLlama;
use engine::backend::cpu::Precision;
use engine::backend::gpu::Readback;
use engine::chat::Message;
use engine::generate::{Engine, GenerateOptions, TraceOptions};
use engine::gguf::Gguf;
use engine::model::{FileBytes, LogitsFor, Model, ModelCard};
use engine::quant::GgmlType;
use engine::session::Session;

/// Every position's logits on the CPU, one pass.
fn cpu_logits(bytes: &[u8], precision: Precision, ids: &[u32]) -> Vec<f32> {
    let gguf = Gguf::parse(bytes).expect("parse");
    let model = Model::load(&gguf, &FileBytes::new(bytes.to_vec()), precision).expect("load");
    let mut session = Session::Cpu { model: &model, cache: model.new_cache(ids.len()) };
    let pass = pollster::block_on(session.forward(ids, LogitsFor::All, false, Readback::Logits)).expect("forward");
    pass.logits
}

/// The CPU's exact path against the float64 reference on every position's logits: within 1e-3 of the
/// largest |logit|, and the same top token wherever the reference's margin is a hundredth of that.
fn exact_path_matches_the_reference(spec: &TinyLlama, seed: u64) {
    let bytes = spec.build(seed);
    let ids: Vec<u32> = (0..40u32).map(|i| (i * 53 + 7) % spec.n_vocab as u32).collect();
    let reference = RefModel::load(&bytes);
    let pass = reference.run(&ids);
    let last = pass.hidden.last().expect("a block");
    let want: Vec<Vec<f64>> =
        (0..ids.len()).map(|t| reference.logits_of(&last[t * spec.n_embd..(t + 1) * spec.n_embd])).collect();
    let scale = want.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));

    let got = cpu_logits(&bytes, Precision::Exact, &ids);
    let mut worst = 0.0f64;
    for (t, row) in want.iter().enumerate() {
        let got_row = &got[t * spec.n_vocab..(t + 1) * spec.n_vocab];
        for (g, w) in got_row.iter().zip(row) {
            worst = worst.max((*g as f64 - w).abs());
        }
        let mut order: Vec<usize> = (0..row.len()).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        if row[order[0]] - row[order[1]] >= 0.01 * scale {
            assert_eq!(engine::sample::argmax(got_row) as usize, order[0], "{}: top token at {t}", spec.arch);
        }
    }
    eprintln!("{}: max |Δ logit| {worst:.3e} over logits up to {scale:.1}", spec.arch);
    assert!(worst <= 1e-3 * scale, "{}: max |Δ| {worst} (logits up to {scale})", spec.arch);
}

#[test]
fn k_quant_model_on_the_cpus_exact_path_matches_the_float64_reference() {
    exact_path_matches_the_reference(&TinyLlama::k_quants(), 3);
}

/// Qwen2: the engine reads its queries and keys reordered so that its kernels rotate adjacent pairs; the
/// reference rotates each head's halves as the file means, and adds the biases itself.
#[test]
fn qwen2_model_with_biases_and_rope_on_halves_matches_the_float64_reference() {
    exact_path_matches_the_reference(&TinyLlama::qwen2(), 4);
}

/// Qwen3: heads twice as wide as `n_embd / n_head`, each query and key head RMS-normalised with its own
/// gains (read in the engine's reordered rows, in the file's order by the reference) before the rotation.
#[test]
fn qwen3_model_with_normalised_query_and_key_heads_matches_the_float64_reference() {
    exact_path_matches_the_reference(&TinyLlama::qwen3(), 5);
}

/// Gemma 3: Qwen3's normalised heads, plus embeddings scaled by √n_embd, each sub-layer's output
/// normalised before it joins the residual stream, a GELU gate, and a first layer that sees only the last
/// five positions with its own RoPE base (the 40 tokens run well past the window).
#[test]
fn gemma3_model_with_a_sliding_window_and_post_norms_matches_the_float64_reference() {
    exact_path_matches_the_reference(&TinyLlama::gemma3(), 6);
}

/// Gemma 2: Gemma 3's layout without query and key norms, every other layer sliding, the attention scores
/// soft-capped at 50 and the final logits at 30 (so the logits stay within ±30).
#[test]
fn gemma2_model_with_soft_capped_scores_and_logits_matches_the_float64_reference() {
    exact_path_matches_the_reference(&TinyLlama::gemma2(), 7);
}

#[test]
fn model_card_counts_each_formats_tensors_values_and_bytes_as_the_file_was_built() {
    let spec = TinyLlama::k_quants();
    let gguf = Gguf::parse(&spec.build(3)).expect("parse");
    let card = ModelCard::read(&gguf);

    // What the builder wrote, tensor by tensor: (format, values).
    let (d, kv) = (spec.n_embd, spec.n_head_kv * spec.n_embd / spec.n_head);
    let [tq, tk, tv, to, tg, tu, td] = spec.types;
    let mut written = vec![(spec.embd, spec.n_vocab * d), (GgmlType::F32, d)];
    for _ in 0..spec.n_layer {
        written.extend([(GgmlType::F32, d), (GgmlType::F32, d)]);
        written.extend([(tq, d * d), (tk, kv * d), (tv, kv * d), (to, d * d)]);
        written.extend([(tg, spec.n_ff * d), (tu, spec.n_ff * d), (td, d * spec.n_ff)]);
    }
    written.extend(spec.output.map(|ty| (ty, spec.n_vocab * d)));
    written.extend(spec.rope_factors.as_ref().map(|f| (GgmlType::F32, f.len())));
    let mut formats: Vec<(String, usize, u64, u64)> = Vec::new();
    for (ty, values) in written {
        let bytes = (values / ty.block_size() * ty.block_bytes()) as u64;
        match formats.iter_mut().find(|f| f.0 == format!("{ty:?}")) {
            Some(f) => (f.1, f.2, f.3) = (f.1 + 1, f.2 + values as u64, f.3 + bytes),
            None => formats.push((format!("{ty:?}"), 1, values as u64, bytes)),
        }
    }
    let got: Vec<(String, usize, u64, u64)> =
        card.formats.iter().map(|f| (f.format.clone(), f.tensors, f.parameters, f.bytes)).collect();
    for f in &formats {
        assert!(got.contains(f), "{f:?} missing from {got:?}");
    }
    assert_eq!(got.len(), formats.len());
    assert!(got.windows(2).all(|w| w[0].3 >= w[1].3), "the most bytes first");
    assert_eq!(card.parameters, formats.iter().map(|f| f.2).sum::<u64>());
    assert_eq!((card.architecture.as_str(), card.layers, card.embedding), ("llama", Some(2), Some(256)));
    assert_eq!(card.heads, Some((4, 2)));
    // Keys and values (2) of every block (2) for 2 heads of 64 dimensions, in f32.
    assert_eq!(card.kv_bytes_per_position, Some(2 * 2 * 2 * 64 * 4));
    assert_eq!(card.memory_bytes(100), card.file_bytes + 100 * 2048);
    assert!(!card.chat_template && card.tokenizer.is_none(), "the synthetic file has no tokenizer");
}

/// `spec` with the real tokenizer (and chat template, else a Zephyr-style one) of llama.cpp's vocab-only
/// file `ggml-vocab-<vocab>.gguf` in `GLASSBOX_VOCABS`: the chat prompt starts with BOS exactly when the
/// file asks for one, and an answer is written on the CPU and on the GPU with every attention row a
/// distribution. With `GLASSBOX_FIXTURES` set, the file is also written there as `fixture` for the
/// page's test (`tests/models.test.mjs`).
fn answers_on_the_cpu_and_the_gpu_with_attention(spec: TinyLlama, vocab: &str, fixture: &str, bos: bool) {
    answers_with_template(spec, vocab, None, fixture, bos)
}

/// [`answers_on_the_cpu_and_the_gpu_with_attention`] with the chat template `templates/<template>.jinja`
/// of `GLASSBOX_VOCABS` when given.
fn answers_with_template(spec: TinyLlama, vocab: &str, template: Option<&str>, fixture: &str, bos: bool) {
    let vocabs: std::path::PathBuf =
        std::env::var_os("GLASSBOX_VOCABS").expect("GLASSBOX_VOCABS (cargo xtask test)").into();
    let vocab_bytes = std::fs::read(vocabs.join(format!("ggml-vocab-{vocab}.gguf"))).expect("vocab");
    let vocab = Gguf::parse(&vocab_bytes).expect("parse");
    let template = template
        .map(|name| std::fs::read_to_string(vocabs.join("templates").join(format!("{name}.jinja"))).expect("template"));
    let bytes = spec.build_with_tokenizer_and_template(5, &vocab, template.as_deref());
    if let Some(dir) = std::env::var_os("GLASSBOX_FIXTURES") {
        std::fs::create_dir_all(&dir).expect("fixtures folder");
        std::fs::write(std::path::Path::new(&dir).join(fixture), &bytes).expect("write fixture");
    }
    let mut engine = Engine::from_gguf(FileBytes::new(bytes), Precision::Int8).expect("load");
    let prompt = engine.chat_prompt(&[Message::user("Bonjour, ça va ?")]).expect("prompt");
    assert_eq!(Some(prompt[0]) == engine.tokenizer.bos, bos, "{fixture}: BOS first exactly when asked");
    // Once, even when the template writes BOS too (Gemma's does), as llama.cpp keeps it.
    let n_bos = prompt.iter().filter(|&&id| Some(id) == engine.tokenizer.bos).count();
    assert_eq!(n_bos, usize::from(bos), "{fixture}: BOS count in {prompt:?}");
    let answer = |engine: &Engine| {
        let trace = TraceOptions { attention: true, top_k: 3 };
        let options = GenerateOptions { max_tokens: 6, ignore_eos: true, trace, ..Default::default() };
        let mut generator = engine.generate(prompt.clone(), options).expect("start");
        let mut ids = Vec::new();
        while let Some(step) = generator.step_blocking().expect("step") {
            let attention = step.attention.as_ref().expect("attention traced");
            let q = attention.n_query - 1;
            for (layer, head) in [(0, 0), (spec.n_layer - 1, spec.n_head - 1)] {
                let sum: f32 = attention.row(layer, head, q).iter().sum();
                assert!((sum - 1.0).abs() < 1e-3, "layer {layer} head {head}: a row sums to {sum}");
            }
            ids.push(step.id);
        }
        (ids, generator.on_gpu())
    };
    let (cpu, on_gpu) = answer(&engine);
    assert_eq!((cpu.len(), on_gpu), (6, false));
    assert!(engine.tokenizer.decode(&cpu).is_ok());
    pollster::block_on(engine.use_gpu()).expect("lavapipe runs the model");
    let (gpu, on_gpu) = answer(&engine);
    assert_eq!((gpu.len(), on_gpu), (6, true));
}

/// As a TinyLlama Q4_K_M file: K-quants, Llama 2's SentencePiece tokenizer, a Zephyr template, BOS.
#[test]
fn a_k_quant_model_with_a_sentencepiece_tokenizer_answers_on_the_cpu_and_the_gpu_with_attention() {
    let spec = TinyLlama { n_vocab: 32000, ..TinyLlama::k_quants() };
    answers_on_the_cpu_and_the_gpu_with_attention(spec, "llama-spm", "k_quant_spm.gguf", true);
}

/// As a Qwen3 file: normalised query and key heads, Qwen's BPE tokenizer and ChatML template, no BOS.
#[test]
fn a_qwen3_model_with_qwens_tokenizer_answers_on_the_cpu_and_the_gpu_with_attention() {
    let spec = TinyLlama { n_vocab: 151936, ..TinyLlama::qwen3() };
    answers_on_the_cpu_and_the_gpu_with_attention(spec, "qwen2", "qwen3_bpe.gguf", false);
}

/// As a Gemma 3 file: a sliding window, norms after each sub-layer, a GELU gate, a SentencePiece
/// tokenizer (Llama 2's) and Gemma's own chat template (`<start_of_turn>`, BOS written by the template).
#[test]
fn a_gemma3_model_with_a_sentencepiece_tokenizer_and_gemmas_template_answers_on_the_cpu_and_the_gpu() {
    let spec = TinyLlama { n_vocab: 32000, ..TinyLlama::gemma3() };
    answers_with_template(spec, "llama-spm", Some("google-gemma-2-2b-it"), "gemma3_spm.gguf", true);
}

/// Attention's heads shared by three threads give every logit and every recorded attention weight of
/// one thread, bit for bit: a prompt, then more tokens continuing the cache, on a Gemma 3 model (a
/// sliding layer and a full one) with heads wide enough for the split to happen.
#[test]
fn attention_heads_split_over_threads_give_one_threads_logits_and_weights() {
    use engine::backend::cpu::pool::{install, Pool};
    let spec = TinyLlama::gemma3();
    let bytes = spec.build(9);
    let gguf = Gguf::parse(&bytes).expect("parse");
    let model = Model::load(&gguf, &FileBytes::new(bytes.to_vec()), Precision::Int8).expect("load");
    let ids: Vec<u32> = (0..150u32).map(|i| (i * 31 + 5) % spec.n_vocab as u32).collect();
    let run = || {
        let mut cache = model.new_cache(ids.len());
        let mut passes = Vec::new();
        for part in [&ids[..120], &ids[120..]] {
            let pass = model.forward(&mut cache, part, LogitsFor::All, true).expect("forward");
            let trace = pass.attention.expect("a trace");
            passes.push((pass.logits, trace.first, trace.probs));
        }
        passes
    };
    let one = install(&Pool::new(1), run);
    let three = install(&Pool::new(3), run);
    assert_eq!(one.len(), 2);
    for ((a, b), part) in one.iter().zip(&three).zip(["prompt", "continuation"]) {
        assert_eq!(a.1, b.1, "{part}: first traced position");
        assert!(a.2.iter().any(|&p| p > 0.0), "{part}: weights were recorded");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert!(bits(&a.0) == bits(&b.0), "{part}: logits differ between one thread and three");
        assert!(bits(&a.2) == bits(&b.2), "{part}: attention weights differ between one thread and three");
    }
}
