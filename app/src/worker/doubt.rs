//! The worker's side of the labs that ask one question several times in the chat template: the
//! hallucination lab (each token sent with its probability and the entropy of the distribution it was
//! drawn from) and the preference game (each answer sent whole, with its features).

use std::cell::Cell;

use engine::chat::Message;
use engine::generate::{Engine, GenerateOptions, TraceOptions};
use engine::sample::SamplerConfig;
use gloo_worker::{HandlerId, WorkerScope};

use super::EngineWorker;
use crate::prefer::Written;
use crate::protocol::{DoubtToken, Response};

/// Writes an answer to `question` for each seed in turn, token by token.
#[allow(clippy::too_many_arguments)]
pub async fn ask(
    engine: &Engine,
    question: String,
    seeds: Vec<u64>,
    sampler: SamplerConfig,
    max_tokens: usize,
    stop: &Cell<bool>,
    scope: &WorkerScope<EngineWorker>,
    from: HandlerId,
) -> Result<(), String> {
    let ids = engine.chat_prompt(&[Message::user(question)]).map_err(|e| e.to_string())?;
    for (slot, seed) in seeds.into_iter().enumerate() {
        let options = GenerateOptions {
            max_tokens,
            sampler: SamplerConfig { seed, ..sampler.clone() },
            // The same prompt for every seed: after the first, only its last token runs again.
            continue_cache: true,
            // The entropy needs the whole distribution; one alternative is the least to ask for.
            trace: TraceOptions { attention: false, top_k: 1 },
            ..GenerateOptions::default()
        };
        let mut generator = engine.generate(ids.clone(), options).map_err(|e| e.to_string())?;
        loop {
            let step = if stop.get() { None } else { generator.step().await.map_err(|e| e.to_string())? };
            let Some(step) = step else {
                scope.respond(from, Response::DoubtToken { slot, token: None, done: true });
                break;
            };
            let done = step.finish.is_some();
            let token = DoubtToken {
                id: step.id,
                text: step.text,
                piece: super::piece(engine, step.id).text,
                prob: step.prob,
                entropy: step.distribution.map_or(f32::NAN, |d| d.entropy),
            };
            scope.respond(from, Response::DoubtToken { slot, token: Some(token), done });
            if done {
                break;
            }
            crate::pause::next_task().await;
        }
        if stop.get() {
            break;
        }
    }
    scope.respond(from, Response::DoubtDone);
    Ok(())
}

/// The preference game: an answer to `question` for each seed in turn, sent whole with its features.
#[allow(clippy::too_many_arguments)]
pub async fn prefer(
    engine: &Engine,
    question: String,
    seeds: Vec<u64>,
    sampler: SamplerConfig,
    max_tokens: usize,
    stop: &Cell<bool>,
    scope: &WorkerScope<EngineWorker>,
    from: HandlerId,
) -> Result<(), String> {
    let err = |e: engine::EngineError| e.to_string();
    let ids = engine.chat_prompt(&[Message::user(question.clone())]).map_err(err)?;
    for (slot, seed) in seeds.into_iter().enumerate() {
        let options = GenerateOptions {
            max_tokens,
            sampler: SamplerConfig { seed, ..sampler.clone() },
            // The same prompt for every seed: after the first, only its last token runs again.
            continue_cache: true,
            ..GenerateOptions::default()
        };
        let mut generator = engine.generate(ids.clone(), options).map_err(err)?;
        while !stop.get() && generator.step().await.map_err(err)?.is_some() {
            crate::pause::next_task().await;
        }
        if stop.get() {
            break;
        }
        // The end-of-turn token is not part of what the class reads.
        let answer: Vec<u32> =
            generator.generated().iter().copied().filter(|&id| Some(id) != engine.tokenizer.eos).collect();
        if answer.is_empty() {
            continue;
        }
        // On the GPU when the model is there; the generator's session stays open meanwhile, so the next
        // seed still continues its cache.
        let (features, _) = engine.answer_features_on_backend(&question, &answer).await.map_err(err)?;
        let text = engine.tokenizer.decode(&answer).map_err(err)?;
        scope.respond(from, Response::Preferred { slot, answer: Written { seed, ids: answer, text, features } });
    }
    scope.respond(from, Response::PreferDone);
    Ok(())
}
