//! Each architecture the engine reads (Llama 3 with its RoPE frequency factors, Qwen2, Qwen3, Gemma 3,
//! Gemma 2) against llama.cpp itself on the same file: a small random model built here in f32, written
//! to a temporary file, and run by llama-cpp-python (`xtask/reference/llama_cpp_logits.py`, with the
//! Python `cargo xtask test` names in `GLASSBOX_LLAMA_CPP_PYTHON`) with its KV cache in f32. No
//! rounding to 8 or 16 bits on either side, so the engine's exact path must give llama.cpp's logits up to
//! the order of sums: within 1e-3 of the largest |logit| (random weights make these models' logits large
//! and touchy; the float64 reference of `k_quants.rs` holds the same bound), the same top token wherever
//! llama.cpp's margin is at least a hundredth of that scale, and the same greedy continuation, decoded
//! token by token through the KV cache (past the sliding windows), up to llama.cpp's first near-tie.
//!
//! This checks what each architecture computes — RoPE on pairs or halves and its factors, biases, query
//! and key norms, Gemma's norms, embedding scale, GELU, soft-capping and sliding windows — against an
//! implementation that is not ours; each block format is checked against llama.cpp elsewhere
//! (`quant.rs`, `requantized.rs`).

use std::path::PathBuf;
use std::process::Command;

use serde::Deserialize;

use crate::common::synthetic::TinyLlama;
use engine::backend::cpu::Precision;
use engine::gguf::Gguf;
use engine::model::{FileBytes, LogitsFor, Model};

/// How many tokens each side continues the prompt by, one at a time.
const GREEDY: usize = 24;

#[derive(Deserialize)]
struct LlamaCpp {
    logits: Vec<Vec<f32>>,
    greedy: Vec<u32>,
    greedy_margins: Vec<f32>,
}

/// llama.cpp's logits and greedy continuation on `bytes` (a GGUF file) for `ids`.
fn llama_cpp(bytes: &[u8], label: &str, ids: &[u32]) -> LlamaCpp {
    let python = std::env::var_os("GLASSBOX_LLAMA_CPP_PYTHON").expect(
        "GLASSBOX_LLAMA_CPP_PYTHON is not set: run the tests with `cargo xtask test`, which builds \
         llama-cpp-python once and names its Python there",
    );
    let path = std::env::temp_dir().join(format!("glassbox-{label}-{}.gguf", std::process::id()));
    std::fs::write(&path, bytes).expect("write the model");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../xtask/reference/llama_cpp_logits.py");
    let ids_arg = ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let out = Command::new(python)
        .arg(script)
        .arg(&path)
        .args([&ids_arg, &GREEDY.to_string()])
        .output()
        .expect("run llama-cpp-python");
    std::fs::remove_file(&path).ok();
    assert!(out.status.success(), "{label}: llama.cpp failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("llama.cpp's JSON")
}

fn matches_llama_cpp(spec: TinyLlama, label: &str) {
    let spec = spec.in_f32();
    let bytes = spec.build_without_vocabulary(11);
    // Longer than the Gemma models' sliding window (5), every id of the vocabulary's range.
    let ids: Vec<u32> = (0..24u32).map(|i| (i * 53 + 7) % spec.n_vocab as u32).collect();
    let theirs = llama_cpp(&bytes, label, &ids);

    let gguf = Gguf::parse(&bytes).expect("parse");
    let model = Model::load(&gguf, &FileBytes::new(bytes.clone()), Precision::Exact).expect("load");
    let n_vocab = model.config.n_vocab;
    let mut cache = model.new_cache(ids.len() + GREEDY);
    let ours = model.forward(&mut cache, &ids, LogitsFor::All, false).expect("forward").logits;
    assert_eq!(theirs.logits.len(), ids.len(), "{label}: a row per position");
    let scale = theirs.logits.iter().flatten().fold(0.0f32, |m, v| m.max(v.abs()));
    let mut worst = 0.0f32;
    for (p, want) in theirs.logits.iter().enumerate() {
        let row = &ours[p * n_vocab..][..n_vocab];
        assert_eq!(want.len(), n_vocab, "{label}: llama.cpp's vocabulary");
        worst = row.iter().zip(want).fold(worst, |m, (a, b)| m.max((a - b).abs()));
        let order = engine::trace::top_k(want, 2);
        if order[0].1 - order[1].1 >= 0.01 * scale {
            assert_eq!(engine::sample::argmax(row), order[0].0, "{label}: top token at {p}");
        }
    }
    eprintln!("{label}: {} positions, max |Δ logit| {worst:.2e} against llama.cpp, logits up to {scale:.1}", ids.len());
    assert!(worst <= 1e-4 * scale, "{label}: max |Δ| {worst} (logits up to {scale})");

    // Greedy, one token at a time through the cache, as llama.cpp continued.
    let mut next = engine::sample::argmax(&ours[(ids.len() - 1) * n_vocab..]);
    let mut agree = 0;
    for (step, (&want, &margin)) in theirs.greedy.iter().zip(&theirs.greedy_margins).enumerate() {
        if next != want {
            assert!(
                margin < 0.01 * scale,
                "{label}: greedy left llama.cpp's at step {step} ({next} against {want}), where its margin is {margin}"
            );
            break;
        }
        agree += 1;
        let logits = model.forward(&mut cache, &[next], LogitsFor::Last, false).expect("decode").logits;
        next = engine::sample::argmax(&logits);
    }
    eprintln!("{label}: {agree} of {GREEDY} greedy tokens equal llama.cpp's");
}

#[test]
fn llama3_model_with_rope_frequency_factors_matches_llama_cpp() {
    matches_llama_cpp(TinyLlama::k_quants(), "llama3");
}

#[test]
fn qwen2_model_with_biases_matches_llama_cpp() {
    matches_llama_cpp(TinyLlama::qwen2(), "qwen2");
}

#[test]
fn qwen3_model_with_query_and_key_norms_matches_llama_cpp() {
    matches_llama_cpp(TinyLlama::qwen3(), "qwen3");
}

#[test]
fn gemma3_model_with_a_sliding_window_matches_llama_cpp() {
    matches_llama_cpp(TinyLlama::gemma3(), "gemma3");
}

#[test]
fn gemma2_model_with_soft_capping_matches_llama_cpp() {
    matches_llama_cpp(TinyLlama::gemma2(), "gemma2");
}
