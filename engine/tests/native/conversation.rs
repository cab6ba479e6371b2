//! Long conversations: a generation that continues the last one's KV cache (`continue_cache`) runs only
//! the prompt's new tokens, and answers exactly as a fresh engine that runs the whole prompt: a new turn,
//! a regenerate (the same prompt again) and an edit of the first question, on the CPU (8-bit and exact)
//! and on the GPU (lavapipe here), where a turn that needs a larger cache copies the kept one into it.
//! On the GPU the turns are the messages' tokens one after another, without the chat template's system
//! prompt and markers: lavapipe is slow (see `common::bare_ids`), and the cache does not care what the
//! tokens say.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use engine::backend::cpu::Precision;
use engine::chat::Message;
use engine::generate::{Engine, GenerateOptions};

/// Greedy steps per answer on the CPU; on lavapipe, where a token of the default model takes about a
/// second, fewer (what is checked — the cache kept, cut and copied, equal answers — does not need more).
const STEPS: usize = 12;
const GPU_STEPS: usize = 4;

fn engine(precision: Precision, gpu: bool) -> Engine {
    let mut engine = Engine::from_gguf(common::model_file(), precision).expect("engine");
    if gpu {
        pollster::block_on(engine.use_gpu()).expect("a GPU adapter (lavapipe: mesa-vulkan-drivers)");
    }
    engine
}

/// `(id, probability)` of each greedy step, and how many prompt positions the cache already held.
fn answer(
    engine: &Engine,
    prompt: &[u32],
    (steps_wanted, max_tokens): (usize, usize),
    continue_cache: bool,
) -> (Vec<(u32, f32)>, usize) {
    let options = GenerateOptions { max_tokens, continue_cache, ignore_eos: true, ..GenerateOptions::default() };
    let mut generator = engine.generate(prompt.to_vec(), options).expect("start");
    let mut steps = Vec::new();
    while steps.len() < steps_wanted {
        let Some(step) = generator.step_blocking().expect("step") else { break };
        steps.push((step.id, step.prob));
    }
    (steps, generator.reused())
}

/// A conversation's prompt through the model's chat template.
fn chat_prompt(engine: &Engine, messages: &[Message]) -> Vec<u32> {
    engine.chat_prompt(messages).expect("prompt")
}

/// A conversation's prompt as its messages' tokens, one after another.
fn bare_prompt(engine: &Engine, messages: &[Message]) -> Vec<u32> {
    messages.iter().flat_map(|m| common::bare_ids(engine, &m.content)).collect()
}

/// Runs the three cases on one engine (which continues its caches) against fresh engines (each answer
/// on a new one, which runs the whole prompt). The kept keys and values are the very numbers a whole
/// prefill computes (each token's row is quantized and multiplied on its own, on the CPU and the GPU
/// alike), so the answers must be equal bit for bit: the same ids with the same probabilities.
fn conversation(make: &dyn Fn() -> Engine, steps: usize, prompt: &dyn Fn(&Engine, &[Message]) -> Vec<u32>) {
    let kept = make();
    let first = [Message::user("Name three colours of the rainbow.")];
    let prompt1 = prompt(&kept, &first);
    let (answer1, reused) = answer(&kept, &prompt1, (steps, steps), true);
    assert_eq!(reused, 0, "nothing is kept before the first answer");
    let text1 = kept.tokenizer.decode(&answer1.iter().map(|s| s.0).collect::<Vec<_>>()).expect("text");

    // A new turn: the first exchange stays in the cache; only the new question runs. Its cache must be
    // larger than the first's (300 new tokens allowed), which on the GPU copies the kept positions.
    let second = [first[0].clone(), Message::assistant(text1.clone()), Message::user("And which one is warmest?")];
    let prompt2 = prompt(&kept, &second);
    let (turn, reused) = answer(&kept, &prompt2, (steps, 300), true);
    let (want, _) = answer(&make(), &prompt2, (steps, 300), false);
    eprintln!("new turn: {reused} of {} prompt tokens kept", prompt2.len());
    assert!(reused > prompt1.len(), "the first exchange is kept: {reused} ≤ {}", prompt1.len());
    assert!(reused < prompt2.len());
    assert_eq!(turn, want, "a new turn");

    // A regenerate: everything but the prompt's last token is kept.
    let (again, reused) = answer(&kept, &prompt2, (steps, steps), true);
    assert_eq!(reused, prompt2.len() - 1);
    assert_eq!(again, want, "a regenerate");

    // An edit of the first question: the cache is cut back to where the prompts part.
    let edited = [Message::user("Name three animals of the farm.")];
    let prompt3 = prompt(&kept, &edited);
    let (edit, reused) = answer(&kept, &prompt3, (steps, steps), true);
    let agree = prompt2.iter().zip(&prompt3).take_while(|(a, b)| a == b).count();
    assert_eq!(reused, agree, "kept up to the point of change");
    let (want, _) = answer(&make(), &prompt3, (steps, steps), false);
    assert_eq!(edit, want, "an edit");
}

#[test]
fn a_new_turn_on_the_cpu_runs_only_its_new_tokens_and_answers_as_a_whole_prefill_does() {
    for precision in [Precision::Int8, Precision::Exact] {
        conversation(&|| engine(precision, false), STEPS, &chat_prompt);
    }
}

#[test]
fn a_new_turn_on_the_gpu_runs_only_its_new_tokens_and_answers_as_a_whole_prefill_does() {
    conversation(&|| engine(Precision::Exact, true), GPU_STEPS, &bare_prompt);
}
