//! `glassbox fill` — the masked-word game — against the float64 forward written in the tests: every
//! candidate's log-probability is the sum of the log-softmax over its completed sentence's tokens.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::process::Command;

use common::reference_forward::{default_model, softmax};
use serde_json::Value;

/// `glassbox <subcommand> ... --json`, the subcommand first in `args`.
fn glassbox(args: &[&str]) -> Value {
    common::glassbox_json(args[0], &args[1..])
}

/// Σ log p(token | tokens before) over `ids` after the first, in float64.
fn reference_logprob(ids: &[u32]) -> f64 {
    logprob_of(ids, default_model().run(ids))
}

/// The same sum from a pass of the float64 forward over `ids`.
fn logprob_of(ids: &[u32], pass: common::reference_forward::RefPass) -> f64 {
    let model = default_model();
    let last = pass.hidden.last().expect("a block");
    (1..ids.len())
        .map(|i| softmax(&model.logits_of(&last[(i - 1) * model.n_embd..i * model.n_embd]))[ids[i] as usize].ln())
        .sum()
}

/// The CPU's exact path against float64, in nats: f32 sums over ten tokens' log-softmax, each off by
/// up to ~2e-4 (measured 1.4e-3 in all).
const EXACT_TOLERANCE: f64 = 5e-3;

#[test]
fn fill_scores_each_completed_sentence_as_a_float64_forward_does() {
    let text = "It is raining, take your ___.";
    let exact = glassbox(&["fill", "--text", text, "--candidates", "umbrella,dog,hat", "--exact"]);
    let candidates = exact["candidates"].as_array().expect("candidates");
    assert_eq!(candidates.len(), 3);
    let mut total = 0.0;
    let mut worst = 0.0f64;
    for c in candidates {
        let word = c["word"].as_str().expect("word");
        let ids: Vec<u32> = serde_json::from_value(c["ids"].clone()).expect("ids");
        // The sentence's tokens: the start token (BOS, else EOS), then the filled sentence as `tokenize` reads it.
        let tokenized = glassbox(&["tokenize", "--text", &text.replace("___", word)]);
        let plain: Vec<u32> = serde_json::from_value(tokenized["ids"].clone()).expect("ids");
        assert_eq!(&ids[1..], &plain[..], "{word}");
        let want = reference_logprob(&ids);
        let got = c["logprob"].as_f64().expect("logprob");
        worst = worst.max((got - want).abs());
        total += c["prob"].as_f64().expect("prob");
    }
    eprintln!("fill --exact vs float64: max |Δ log p| {worst:.2e} over sentences of ~10 tokens");
    assert!(worst < EXACT_TOLERANCE, "max |Δ log p| {worst}");
    assert!((total - 1.0).abs() < 1e-9, "probabilities over the candidates sum to 1");
    assert_eq!(candidates[0]["word"], "umbrella", "the best first");
    let logprobs: Vec<f64> = candidates.iter().map(|c| c["logprob"].as_f64().expect("logprob")).collect();
    assert!(logprobs.windows(2).all(|w| w[0] >= w[1]));

    // The 8-bit path (the page's and the CLI's default) ranks these well-separated candidates the same.
    let int8 = glassbox(&["fill", "--text", text, "--candidates", "umbrella,dog,hat"]);
    let words =
        |v: &Value| v["candidates"].as_array().expect("c").iter().map(|c| c["word"].clone()).collect::<Vec<_>>();
    assert_eq!(words(&int8), words(&exact));
    assert_eq!(exact["backend"], "cpu");

    // On the GPU (lavapipe here; exact, keys and values stored as f16), each sentence run through one
    // session whose cache is cut back to the shared beginning between candidates.
    let gpu = glassbox(&["fill", "--text", text, "--candidates", "umbrella,dog,hat", "--backend", "gpu"]);
    assert_eq!(gpu["backend"], "gpu");
    assert_eq!(words(&gpu), words(&exact));
    // Its limit: the exact path's, plus what f16 keys and values do to each sentence in the float64
    // forward itself (×`F16_SPREAD`: the GPU's rounding lands elsewhere).
    let (mut worst_gpu, mut f16_effect) = (0.0f64, 0.0f64);
    for c in gpu["candidates"].as_array().expect("candidates") {
        let ids: Vec<u32> = serde_json::from_value(c["ids"].clone()).expect("ids");
        let want = reference_logprob(&ids);
        worst_gpu = worst_gpu.max((c["logprob"].as_f64().expect("logprob") - want).abs());
        f16_effect = f16_effect.max((logprob_of(&ids, default_model().run_with_f16_cache(&ids)) - want).abs());
    }
    assert!(f16_effect < 1e-2, "more than f16's rounding explains: the float64 forward's f16 cache is wrong");
    let limit = EXACT_TOLERANCE + common::F16_SPREAD * f16_effect;
    eprintln!(
        "fill on the GPU vs float64: max |Δ log p| {worst_gpu:.2e} (limit {limit:.2e}; f16 keys and values move a \
         sentence by {f16_effect:.2e} in float64)"
    );
    assert!(worst_gpu < limit, "max |Δ log p| {worst_gpu}");
}

#[test]
fn fill_proposes_the_models_own_words_and_refuses_a_sentence_without_a_blank() {
    let value = glassbox(&["fill", "--text", "The sun rises in the ___.", "--candidates", "east", "--propose", "3"]);
    let proposed = value["proposed"].as_array().expect("proposed");
    assert_eq!(proposed.len(), 3);
    assert!(proposed.iter().all(|w| w.as_str().is_some_and(|w| w.chars().all(char::is_alphabetic))));
    assert_eq!(value["candidates"].as_array().map(Vec::len), Some(4), "east and the three proposals");

    let model = std::env::var("GLASSBOX_MODEL").expect("GLASSBOX_MODEL");
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["fill", "--model", &model, "--text", "No blank here.", "--candidates", "a"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no blank"));
}
