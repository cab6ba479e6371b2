//! Shared test fixtures: the default model (path from `GLASSBOX_MODEL`, which `cargo xtask test` sets
//! after verifying the file) and llama.cpp's reference outputs in `tests/data/` (a copy of the project's `shared/reference/`).
#![allow(dead_code)]

pub mod reference_forward;
pub mod synthetic;

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Deserialize;

/// `text`'s ids as the model reads bare text: no chat template, no system prompt, no BOS. The GPU tests
/// use it wherever no answer has to end on its own, because on lavapipe (this machine's GPU: software
/// Vulkan on 2 cores) the default model reads about 4 to 6 prompt tokens a second and decodes about 4.5
/// a second when one test runs alone, about half that with two tests side by side; the template's system
/// prompt alone is 30 tokens.
#[cfg(not(target_arch = "wasm32"))]
pub fn bare_ids(engine: &engine::generate::Engine, text: &str) -> Vec<u32> {
    engine.tokenizer.encode_text(text).expect("tokens")
}

/// The reference file's content (DESIGN.md §4).
#[derive(Debug, Deserialize)]
pub struct Reference {
    pub chat: Vec<ChatCase>,
    pub tokenize: Vec<TokenizeCase>,
}

#[derive(Debug, Deserialize)]
pub struct ChatCase {
    pub user: String,
    pub prompt: String,
    pub prompt_ids: Vec<u32>,
    pub greedy_ids: Vec<u32>,
    pub teacher_forced: Vec<TopK>,
    pub exact_teacher_forced: Vec<TopK>,
}

#[derive(Debug, Deserialize)]
pub struct TopK {
    pub top5_ids: Vec<u32>,
    pub top5_logits: Vec<f32>,
    pub margin: f32,
}

#[derive(Debug, Deserialize)]
pub struct TokenizeCase {
    pub text: String,
    pub ids: Vec<u32>,
}

pub fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/smollm2-135m-instruct-q4_1.reference.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "reading {}: {e}; the file comes with the repository (a copy of the project's shared reference): \
                 `git checkout` restores it, and `cargo xtask reference` then checks it against llama.cpp on this machine",
                path.display()
            )
        });
        serde_json::from_str(&text).expect("reference JSON")
    })
}

/// The default model's bytes. Fails loudly (never skips) when the model is not there.
pub fn model_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = std::env::var_os("GLASSBOX_MODEL")
            .expect("GLASSBOX_MODEL is not set: run the tests with `cargo xtask test`, or set it to the model's path (`cargo xtask model` prints it)");
        std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path:?}: {e}"))
    })
}

/// The default model as the engine's shared file bytes (no copy).
pub fn model_file() -> engine::model::FileBytes {
    engine::model::FileBytes::new(model_bytes())
}

/// Runs `glassbox <subcommand> --model <the default model> --json <args>` and returns the JSON on its
/// last line; fails loudly when it does not succeed.
#[cfg(not(target_arch = "wasm32"))]
pub fn glassbox_json(subcommand: &str, args: &[&str]) -> serde_json::Value {
    model_bytes(); // fails loudly when the model is missing
    let model = std::env::var("GLASSBOX_MODEL").expect("GLASSBOX_MODEL");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args([subcommand, "--model", &model, "--json"])
        .args(args)
        .output()
        .expect("run glassbox");
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().expect("a line")).expect("JSON")
}

/// The GPU keeps keys and values in f16; the exact CPU path and the float64 reference keep them wide.
/// A GPU limit is derived from what that rounding does on the same inputs, measured on this machine by
/// the CPU or the reference (not from one driver's output): the GPU's own rounding lands on other
/// entries (a last-bit difference in a key flips which way it rounds), so its effect is of the same size
/// but not the same in each place; this factor allows for that.
pub const F16_SPREAD: f64 = 1.5;

/// The most an f16 cache may move the exact path's logits (see [`gpu_vs_exact_limit`]).
pub const F16_EFFECT_CEILING: f32 = 0.1;

/// f32 sums added in another order (the GPU's reductions): f32's relative 6e-8 over 576-wide products
/// and logits up to ~30 stays well below this.
pub const F32_ORDER: f32 = 1e-3;

/// How far the GPU's logits (exact path, f16 keys and values) may be from the CPU's exact path's
/// `exact` over `ids`: what an f16 cache does to the CPU's own logits there, ×[`F16_SPREAD`], plus
/// [`F32_ORDER`]. Returns `(limit, that effect)`.
#[cfg(not(target_arch = "wasm32"))]
pub fn gpu_vs_exact_limit(model: &engine::model::Model, ids: &[u32], exact: &[f32]) -> (f32, f32) {
    assert_eq!(model.precision, engine::backend::cpu::Precision::Exact, "the limit is measured on the exact path");
    let mut cache = model.new_cache(ids.len()).rounding_to_f16();
    let rounded = model.forward(&mut cache, ids, engine::model::LogitsFor::All, false).expect("forward").logits;
    assert_eq!(rounded.len(), exact.len());
    let effect = rounded.iter().zip(exact).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    // A ceiling, so that a regression of the f16 cache cannot widen the limit with it: f16 keeps 11
    // bits, and logits of ±30 through thirty layers move by a few units of 30 · 2⁻¹¹ ≈ 0.015.
    assert!(
        effect < F16_EFFECT_CEILING,
        "an f16 cache moves the CPU's logits by {effect}: more than f16's rounding explains"
    );
    (F16_SPREAD as f32 * effect + F32_ORDER, effect)
}

/// Top-1 agreement only counts where both reference margins (exact and llama.cpp) are at least this.
pub const CONFIDENT_MARGIN: f32 = 0.5;

/// Teacher-forced over each chat case's prompt + llama.cpp's greedy continuation, with `logits_of`
/// giving `(ids.len(), n_vocab)` logits for a whole sequence: |ours − exact| over the exact top 5 at
/// every continuation position, and where our top-1 differs although both margins are confident.
pub fn teacher_forced_errors(n_vocab: usize, mut logits_of: impl FnMut(&[u32]) -> Vec<f32>) -> (Vec<f32>, Vec<String>) {
    let mut errors = Vec::new();
    let mut top1_mismatches = Vec::new();
    for case in &reference().chat {
        let ids: Vec<u32> = case.prompt_ids.iter().chain(&case.greedy_ids).copied().collect();
        let logits = logits_of(&ids);
        for (i, (exact, llama)) in case.exact_teacher_forced.iter().zip(&case.teacher_forced).enumerate() {
            let row = &logits[(case.prompt_ids.len() - 1 + i) * n_vocab..][..n_vocab];
            for (&id, &want) in exact.top5_ids.iter().zip(&exact.top5_logits) {
                errors.push((row[id as usize] - want).abs());
            }
            let ours = engine::trace::top_k(row, 1)[0].0;
            if exact.margin >= CONFIDENT_MARGIN && llama.margin >= CONFIDENT_MARGIN && ours != exact.top5_ids[0] {
                top1_mismatches
                    .push(format!("{:?} position {i}: ours {ours}, reference {}", case.user, exact.top5_ids[0]));
            }
        }
    }
    (errors, top1_mismatches)
}

/// Greedy ids must equal llama.cpp's up to the first position where either reference margin is < 0.5
/// (beyond it, correct engines may legitimately diverge at a near-tie). Stated as: wherever `engine`
/// first differs from llama.cpp's greedy continuation, that position is such a near-tie. Every
/// generation runs where the engine says it does (on the GPU when it has one), for the first `cases`
/// cases and at most `most` tokens per case (a prefix of llama.cpp's continuation where a backend is
/// slow, as lavapipe is).
#[cfg(not(target_arch = "wasm32"))]
pub fn assert_greedy_matches_llama_cpp(engine: &engine::generate::Engine, label: &str, cases: usize, most: usize) {
    for case in reference().chat.iter().take(cases) {
        let greedy_ids = &case.greedy_ids[..case.greedy_ids.len().min(most)];
        let margins = |at: usize| [case.exact_teacher_forced[at].margin, case.teacher_forced[at].margin];
        assert_greedy_prefix(engine, &format!("{label} {:?}", case.user), &case.prompt_ids, greedy_ids, margins);
    }
}

/// `engine`'s greedy answer to `prompt_ids` (on the engine's backend) against `want`, a reference's
/// greedy ids ending with the EOS token where it stopped there: equal up to the first difference, and
/// that difference only where one of `margins(position)` (the references' top-1 margins there) is
/// below [`CONFIDENT_MARGIN`], a near-tie. Returns how many tokens agree.
#[cfg(not(target_arch = "wasm32"))]
pub fn assert_greedy_prefix<const M: usize>(
    engine: &engine::generate::Engine,
    label: &str,
    prompt_ids: &[u32],
    want: &[u32],
    margins: impl Fn(usize) -> [f32; M],
) -> usize {
    use engine::generate::{FinishReason, GenerateOptions};
    let options = GenerateOptions { max_tokens: want.len(), ..Default::default() };
    let mut generator = engine.generate(prompt_ids.to_vec(), options).expect("start");
    assert_eq!(generator.on_gpu(), engine.gpu().is_some(), "{label}: runs on the engine's backend");
    let mut ids = generator.run_to_end_blocking().expect("run");
    if generator.finish_reason() == Some(FinishReason::EndOfSequence) {
        ids.extend(engine.tokenizer.eos); // llama.cpp's greedy ids end with the EOS token itself
    }
    let agree = ids.iter().zip(want).take_while(|(a, b)| a == b).count();
    if agree < want.len() {
        let margins = margins(agree);
        assert!(
            margins.iter().any(|&m| m < CONFIDENT_MARGIN),
            "{label}: diverged from the reference's greedy answer at {agree}, where its margins are {margins:?}"
        );
    }
    eprintln!("{label}: {agree} of {} greedy tokens equal llama.cpp's", want.len());
    agree
}
