//! The forward pass on the default model against `shared/reference/`, teacher-forced over each chat
//! case's prompt + llama.cpp's greedy continuation, and free-running greedy.
//!
//! Tolerances (issue #3): the exact path within 0.02 (max) of the float64 reference's logits for its
//! top 5; the 8-bit path within mean 0.3 / max 1.5 of them, with the same top-1 wherever both reference
//! margins are ≥ 0.5. llama.cpp itself sits at mean 0.15–0.24, max 0.47–1.3 there.

mod common;

use engine::backend::cpu::Precision;
use engine::gguf::Gguf;
use engine::model::{LogitsFor, Model};
use engine::trace::top_k;

const EXACT_MAX: f32 = 0.02;
const INT8_MEAN: f32 = 0.3;
const INT8_MAX: f32 = 1.5;
const CONFIDENT_MARGIN: f32 = 0.5;

fn model(precision: Precision) -> Model {
    let bytes = common::model_bytes();
    let gguf = Gguf::parse(bytes).expect("model parses");
    Model::load(&gguf, &common::model_file(), precision).expect("model loads")
}

/// For every case: (|our logit − exact logit| over the exact top 5 at every continuation position,
/// whether our top-1 matched wherever both margins were confident).
fn teacher_forced_errors(model: &Model) -> (Vec<f32>, Vec<String>) {
    let mut errors = Vec::new();
    let mut top1_mismatches = Vec::new();
    for case in &common::reference().chat {
        let ids: Vec<u32> = case.prompt_ids.iter().chain(&case.greedy_ids).copied().collect();
        let mut cache = model.new_cache(ids.len());
        let out = model.forward(&mut cache, &ids, LogitsFor::All, false).expect("forward");
        let n_vocab = model.config.n_vocab;
        for (i, (exact, llama)) in case.exact_teacher_forced.iter().zip(&case.teacher_forced).enumerate() {
            let row = &out.logits[(case.prompt_ids.len() - 1 + i) * n_vocab..][..n_vocab];
            for (&id, &want) in exact.top5_ids.iter().zip(&exact.top5_logits) {
                errors.push((row[id as usize] - want).abs());
            }
            let ours = top_k(row, 1)[0].0;
            if exact.margin >= CONFIDENT_MARGIN && llama.margin >= CONFIDENT_MARGIN && ours != exact.top5_ids[0] {
                top1_mismatches
                    .push(format!("{:?} position {i}: ours {ours}, reference {}", case.user, exact.top5_ids[0]));
            }
        }
    }
    (errors, top1_mismatches)
}

fn summary(errors: &[f32]) -> (f32, f32) {
    let mean = errors.iter().sum::<f32>() / errors.len() as f32;
    (mean, errors.iter().copied().fold(0.0, f32::max))
}

#[test]
fn exact_path_matches_float64_reference_within_0_02() {
    let (errors, mismatches) = teacher_forced_errors(&model(Precision::Exact));
    let (mean, max) = summary(&errors);
    eprintln!("exact path: {} logits, mean |Δ| {mean:.5}, max |Δ| {max:.5}", errors.len());
    assert!(max <= EXACT_MAX, "max |Δ| {max} > {EXACT_MAX}");
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[test]
fn int8_path_matches_reference_within_llama_cpp_like_error() {
    let (errors, mismatches) = teacher_forced_errors(&model(Precision::Int8));
    let (mean, max) = summary(&errors);
    eprintln!("int8 path: {} logits, mean |Δ| {mean:.4}, max |Δ| {max:.4}", errors.len());
    assert!(mean <= INT8_MEAN && max <= INT8_MAX, "mean {mean} (≤ {INT8_MEAN}), max {max} (≤ {INT8_MAX})");
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

/// Greedy ids must equal llama.cpp's up to the first position where either reference margin is < 0.5
/// (beyond it, correct engines may legitimately diverge at a near-tie). Stated as: wherever we first
/// differ from llama.cpp's greedy continuation, that position is such a near-tie.
fn greedy_matches_llama_cpp(precision: Precision) {
    let engine = engine::generate::Engine::from_gguf(common::model_file(), precision).expect("engine");
    for case in &common::reference().chat {
        let options = engine::generate::GenerateOptions { max_tokens: case.greedy_ids.len(), ..Default::default() };
        let mut generator = engine.generate(case.prompt_ids.clone(), options).expect("start");
        let mut ids = generator.run_to_end_blocking().expect("run");
        if generator.finish_reason() == Some(engine::generate::FinishReason::EndOfSequence) {
            ids.extend(engine.tokenizer.eos); // llama.cpp's greedy ids end with the EOS token itself
        }
        let agree = ids.iter().zip(&case.greedy_ids).take_while(|(a, b)| a == b).count();
        if agree < case.greedy_ids.len() {
            let (exact, llama) = (&case.exact_teacher_forced[agree], &case.teacher_forced[agree]);
            assert!(
                exact.margin < CONFIDENT_MARGIN || llama.margin < CONFIDENT_MARGIN,
                "{:?} ({precision:?}): diverged at {agree} where margins are {} (exact) and {} (llama.cpp)",
                case.user,
                exact.margin,
                llama.margin
            );
        }
        eprintln!(
            "{precision:?}: {:?}: {agree} of {} greedy tokens equal llama.cpp's",
            case.user,
            case.greedy_ids.len()
        );
    }
}

#[test]
fn exact_greedy_matches_llama_cpp_up_to_the_first_near_tie() {
    greedy_matches_llama_cpp(Precision::Exact);
}

#[test]
fn int8_greedy_matches_llama_cpp_up_to_the_first_near_tie() {
    greedy_matches_llama_cpp(Precision::Int8);
}
