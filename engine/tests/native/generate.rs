//! Generation on the default model: chat prompts, stop conditions, the context limit, seeds and traces.

use crate::common;

use std::sync::OnceLock;

use engine::backend::cpu::Precision;
use engine::chat::Message;
use engine::generate::{Engine, FinishReason, GenerateOptions, TraceOptions};
use engine::sample::SamplerConfig;
use engine::EngineError;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::from_gguf(common::model_file(), Precision::Int8).expect("engine"))
}

fn prompt(text: &str) -> Vec<u32> {
    engine().chat_prompt(&[Message::user(text)]).expect("prompt")
}

#[test]
fn an_empty_prompt_is_a_clear_error() {
    assert_eq!(
        engine().generate(Vec::new(), GenerateOptions::default()).map(|_| ()).unwrap_err(),
        EngineError::EmptyPrompt
    );
}

#[test]
fn a_prompt_longer_than_the_context_is_a_clear_error() {
    let ids = prompt("Hello there, how are you today?");
    let options = GenerateOptions { context: Some(ids.len() - 1), ..Default::default() };
    let err = engine().generate(ids, options).map(|_| ()).unwrap_err();
    assert!(matches!(err, EngineError::ContextFull { .. }), "{err}");
    assert!(err.to_string().contains("context"), "{err}");
}

#[test]
fn a_full_context_ends_the_answer_without_an_error() {
    let ids = prompt("Tell me a long story about the sea.");
    let options = GenerateOptions { context: Some(ids.len() + 3), max_tokens: 100, ..Default::default() };
    let mut generator = engine().generate(ids, options).expect("start");
    let generated = generator.run_to_end_blocking().expect("no error at the context limit");
    assert_eq!(generated.len(), 3);
    assert_eq!(generator.finish_reason(), Some(FinishReason::ContextFull));
}

#[test]
fn max_tokens_and_stop_strings_end_the_answer() {
    let ids = prompt("Write one sentence about cats.");
    let mut generator =
        engine().generate(ids.clone(), GenerateOptions { max_tokens: 5, ..Default::default() }).expect("start");
    assert_eq!(generator.capacity(), ids.len() + 5, "the cache holds what the answer can reach, not the context");
    assert_eq!(generator.run_to_end_blocking().expect("run").len(), 5);
    assert_eq!(generator.finish_reason(), Some(FinishReason::MaxTokens));

    let mut free =
        engine().generate(ids.clone(), GenerateOptions { max_tokens: 24, ..Default::default() }).expect("start");
    free.run_to_end_blocking().expect("run");
    let text = free.text().to_owned();
    let stop = text.split_whitespace().nth(2).map(str::to_owned).expect("a third word to stop on");
    let mut stopped = engine()
        .generate(ids, GenerateOptions { max_tokens: 24, stop: vec![stop.clone()], ..Default::default() })
        .expect("start");
    stopped.run_to_end_blocking().expect("run");
    assert_eq!(stopped.finish_reason(), Some(FinishReason::StopString));
    assert!(
        !stopped.text().contains(&stop) && text.starts_with(stopped.text()),
        "{text:?} stopped at {stop:?}: {:?}",
        stopped.text()
    );
}

#[test]
fn streamed_text_equals_the_decoded_answer() {
    let mut generator = engine()
        .generate(prompt("Write a haiku about the sea."), GenerateOptions { max_tokens: 40, ..Default::default() })
        .expect("start");
    let mut streamed = String::new();
    while let Some(step) = generator.step_blocking().expect("step") {
        streamed.push_str(&step.text);
    }
    assert_eq!(
        streamed,
        engine().tokenizer.decode(generator.generated()).expect("decode").trim_end_matches('\u{FFFD}')
    );
    assert!(!streamed.is_empty());
}

#[test]
fn the_same_seed_gives_the_same_text() {
    let run = |seed| {
        let sampler = SamplerConfig { temperature: 0.9, top_p: 0.95, seed, ..Default::default() };
        let options = GenerateOptions { max_tokens: 20, sampler, ..Default::default() };
        engine()
            .generate(prompt("Invent a name for a cat."), options)
            .expect("start")
            .run_to_end_blocking()
            .expect("run")
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43), "different seeds should differ within 20 sampled tokens");
}

#[test]
fn traces_report_attention_rows_that_sum_to_one_and_a_consistent_distribution() {
    let ids = prompt("Hi");
    let n_prompt = ids.len();
    let options =
        GenerateOptions { max_tokens: 2, trace: TraceOptions { attention: true, top_k: 5 }, ..Default::default() };
    let mut generator = engine().generate(ids, options).expect("start");
    let first = generator.step_blocking().expect("step").expect("a token");
    let attention = first.attention.as_ref().expect("attention traced");
    assert_eq!((attention.first, attention.n_query, attention.n_key()), (0, n_prompt, n_prompt));
    let c = &engine().model.config;
    for (layer, head, q) in [(0, 0, 0), (c.n_layer - 1, c.n_head - 1, n_prompt - 1), (7, 3, n_prompt / 2)] {
        let row = attention.row(layer, head, q);
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "row sums to {sum}");
        assert!(row[q + 1..].iter().all(|&p| p == 0.0), "causal: no weight on the future");
    }
    let distribution = first.distribution.as_ref().expect("distribution traced");
    assert_eq!(distribution.top.len(), 5);
    assert_eq!(distribution.top[0].id, first.id, "greedy picks the top candidate");
    assert!((distribution.top[0].prob - first.prob).abs() < 1e-6);
    assert!(distribution.top.windows(2).all(|w| w[0].prob >= w[1].prob));
    assert!(distribution.entropy > 0.0 && distribution.entropy < (c.n_vocab as f32).ln());

    let second = generator.step_blocking().expect("step").expect("a token");
    let attention = second.attention.as_ref().expect("attention traced");
    assert_eq!((attention.first, attention.n_query, attention.n_key()), (n_prompt, 1, n_prompt + 1));
}

#[test]
fn tracing_does_not_change_the_tokens() {
    let run = |trace| {
        let options = GenerateOptions { max_tokens: 8, trace, ..Default::default() };
        engine().generate(prompt("Name a colour."), options).expect("start").run_to_end_blocking().expect("run")
    };
    assert_eq!(run(TraceOptions::default()), run(TraceOptions { attention: true, top_k: 10 }));
}

#[test]
fn a_long_traced_prompt_keeps_the_attention_of_its_last_tokens_within_the_budget() {
    let text = "The quick brown fox jumps over the lazy dog. ".repeat(40);
    let ids = engine().tokenizer.encode_text(&text).expect("encode");
    let c = &engine().model.config;
    let budget_rows = engine::model::MAX_TRACE_VALUES / (c.n_layer * c.n_head * ids.len());
    assert!(budget_rows < ids.len(), "the prompt must exceed the budget for this test to mean anything");
    let options =
        GenerateOptions { max_tokens: 1, trace: TraceOptions { attention: true, top_k: 0 }, ..Default::default() };
    let step = engine().generate(ids.clone(), options).expect("start").step_blocking().expect("step").expect("a token");
    let attention = step.attention.expect("attention traced");
    assert_eq!((attention.first + attention.n_query, attention.n_query), (ids.len(), budget_rows));
    assert!(attention.probs.len() <= engine::model::MAX_TRACE_VALUES);
    let last = attention.row(c.n_layer - 1, 0, attention.n_query - 1);
    assert!((last.iter().sum::<f32>() - 1.0).abs() < 1e-4);
}
