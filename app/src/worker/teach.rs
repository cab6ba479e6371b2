//! The worker's side of the teaching views: the next-word game's predictions and guesses, a plain text
//! read for the attention explorer, continuations with several seeds, and the resources this worker
//! fetched (the privacy proof).

use std::cell::{Cell, RefCell};

use engine::backend::gpu::Readback;
use engine::generate::{Engine, GenerateOptions};
use engine::model::LogitsFor;
use engine::predict::guess_text;
use engine::sample::SamplerConfig;
use engine::trace::AttentionBook;
use gloo_worker::{HandlerId, WorkerScope};
use wasm_bindgen::JsCast;

use super::{piece, EngineWorker};
use crate::game::GAME_TOP;
use crate::protocol::{Alternative, Context, Fetched, Filled, GuessView, Prediction, Response};

/// The next-token distribution after `context` and, with `guess`, the guess's score (exact: on the GPU
/// when the model is there, else the CPU's exact path; the same numbers as `glassbox next`).
pub async fn predict(engine: &Engine, context: Context, guess: Option<String>) -> Result<Prediction, String> {
    let err = |e: engine::EngineError| e.to_string();
    let ids = match context {
        Context::Text(text) => engine.text_prompt(&text).map_err(err)?,
        Context::Ids(ids) => ids,
    };
    let text = engine.tokenizer.decode(&ids).map_err(err)?;
    let word = guess.filter(|g| !g.trim().is_empty());
    let pieces = match &word {
        Some(word) => Some(engine.tokenizer.encode_text(&guess_text(&text, word)).map_err(err)?),
        None => None,
    };
    let (next, score, on_gpu) = engine.predict_on_backend(&ids, pieces.as_deref()).await.map_err(err)?;
    let alternative = |id: u32, prob: f32| Alternative { piece: piece(engine, id), prob };
    Ok(Prediction {
        pieces: ids.iter().map(|&id| piece(engine, id)).collect(),
        ids,
        text,
        top: next.top(GAME_TOP).iter().map(|c| alternative(c.id, c.prob)).collect(),
        entropy: next.entropy(),
        sorted: next.sorted(),
        guess: word.zip(score).map(|(word, score)| GuessView {
            word,
            pieces: score.pieces.iter().zip(&score.piece_probs).map(|(&id, &p)| alternative(id, p)).collect(),
            prob: score.prob,
            rank: score.rank,
        }),
        on_gpu,
    })
}

/// Scores the candidates for the blank of `text`, the model's own `propose` words added (on the GPU when
/// the model is there).
pub async fn fill(engine: &Engine, text: String, candidates: Vec<String>, propose: usize) -> Result<Filled, String> {
    let err = |e: engine::EngineError| e.to_string();
    let proposed = if propose > 0 { engine.propose(&text, propose).map_err(err)? } else { Vec::new() };
    let mut words: Vec<String> = Vec::new();
    for word in candidates.iter().chain(&proposed).map(|w| w.trim()) {
        if !word.is_empty() && !words.iter().any(|w| w == word) {
            words.push(word.to_owned());
        }
    }
    let (scores, on_gpu) = engine.fill(&text, &words).await.map_err(err)?;
    Ok(Filled { text, scores: scores.into_iter().map(|s| (s.word, s.logprob, s.prob)).collect(), proposed, on_gpu })
}

/// Cells of the lens carry this many tokens (the first is the cell's guess).
pub const LENS_TOP: usize = 5;

/// The logit lens over `context`: on the CPU, sent one block at a time as it is computed; on the GPU,
/// every block at once.
pub async fn lens(
    engine: &Engine,
    context: Context,
    scope: &WorkerScope<EngineWorker>,
    from: HandlerId,
) -> Result<(), String> {
    let err = |e: engine::EngineError| e.to_string();
    let ids = match context {
        Context::Text(text) => engine.text_prompt(&text).map_err(err)?,
        Context::Ids(ids) => ids,
    };
    scope.respond(from, Response::LensTokens(ids.iter().map(|&id| piece(engine, id)).collect()));
    let on_gpu = engine
        .lens_on_backend(&ids, LENS_TOP, &mut |layer, cells| {
            let cells = (cells.into_iter())
                .map(|cell| {
                    cell.top.into_iter().map(|(id, prob)| Alternative { piece: piece(engine, id), prob }).collect()
                })
                .collect();
            scope.respond(from, Response::LensLayer { layer, cells });
        })
        .await
        .map_err(err)?;
    scope.respond(from, Response::LensDone { on_gpu });
    Ok(())
}

/// The model reads `text` (no chat template), its attention recorded into `book` for the explorer.
pub async fn read(engine: &Engine, text: &str, book: &RefCell<AttentionBook>) -> Result<Response, String> {
    let err = |e: engine::EngineError| e.to_string();
    let ids = engine.text_prompt(text).map_err(err)?;
    if ids.is_empty() {
        return Err(engine::EngineError::EmptyPrompt.to_string());
    }
    if ids.len() > engine.model.config.n_ctx {
        return Err(
            engine::EngineError::ContextFull { needed: ids.len(), limit: engine.model.config.n_ctx }.to_string()
        );
    }
    let (mut session, _) = engine.session(ids.len());
    let out = session.forward(&ids, LogitsFor::Last, true, Readback::Logits).await.map_err(err)?;
    let mut book = book.borrow_mut();
    book.clear();
    if let Some(trace) = &out.attention {
        book.record(trace);
    }
    Ok(Response::Read(ids.iter().map(|&id| piece(engine, id)).collect()))
}

/// Writes one continuation of `ids` per seed, streaming each one's text; `stop` ends them all.
#[allow(clippy::too_many_arguments, reason = "a request's fields and the worker's handles")]
pub async fn continuations(
    engine: &Engine,
    ids: Vec<u32>,
    seeds: Vec<u64>,
    sampler: SamplerConfig,
    max_tokens: usize,
    stop: &Cell<bool>,
    scope: &WorkerScope<EngineWorker>,
    from: HandlerId,
) -> Result<(), String> {
    for (slot, seed) in seeds.into_iter().enumerate() {
        let options = GenerateOptions {
            max_tokens,
            sampler: SamplerConfig { seed, ..sampler.clone() },
            // The same prompt for every seed: after the first, only its last token runs again.
            continue_cache: true,
            ..GenerateOptions::default()
        };
        let mut generator = engine.generate(ids.clone(), options).map_err(|e| e.to_string())?;
        loop {
            let step = if stop.get() { None } else { generator.step().await.map_err(|e| e.to_string())? };
            let done = step.as_ref().is_none_or(|s| s.finish.is_some());
            let text = step.map(|s| s.text).unwrap_or_default();
            scope.respond(from, Response::Continuation { slot, text, done });
            if done {
                break;
            }
            crate::pause::next_task().await;
        }
        if stop.get() {
            break;
        }
    }
    scope.respond(from, Response::Continued);
    Ok(())
}

/// Every resource this worker has fetched, from its resource timing.
pub fn fetched() -> Vec<Fetched> {
    let Some(performance) =
        js_sys::global().dyn_into::<web_sys::WorkerGlobalScope>().ok().and_then(|g| g.performance())
    else {
        return Vec::new();
    };
    let origin = performance.time_origin();
    performance
        .get_entries_by_type("resource")
        .iter()
        .filter_map(|entry| entry.dyn_into::<web_sys::PerformanceResourceTiming>().ok())
        .map(|entry| Fetched {
            url: entry.name(),
            at_ms: origin + entry.start_time(),
            transfer_bytes: entry.transfer_size(),
        })
        .collect()
}
