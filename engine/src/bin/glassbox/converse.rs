//! `glassbox converse`: what a long conversation costs. A scripted conversation of several turns, each
//! answer continuing the last turn's KV cache as the page's chat does (`--fresh`: reading the whole
//! conversation again at every turn), and per turn the prompt's length, how many of its tokens came from
//! the cache, the time to the first token and the decode speed. `--long N` instead writes one answer of
//! N tokens and times the tokens around the 100th and the N-th, each step split into attention over the
//! cache (the engine's own clock, [`engine::model::attention_time`]) and the rest.

use std::time::Instant;

use clap::Args;
use engine::chat::Message;
use engine::generate::{Engine, GenerateOptions};
use engine::model::{attention_time, QMatrix};
use serde_json::json;

/// The questions of the scripted conversation, asked in turn.
const QUESTIONS: [&str; 10] = [
    "What is a transformer in machine learning?",
    "How does attention decide which words matter?",
    "Why do models split words into tokens?",
    "What is an embedding?",
    "How is such a model trained?",
    "What does the temperature setting change?",
    "Why can a fluent answer be false?",
    "What is instruction tuning?",
    "How do people steer a model with preferences?",
    "Summarise what we said in one sentence.",
];

/// Tokens timed on each side in `--long` (the median of their step times).
const WINDOW: usize = 50;

#[derive(Args)]
pub struct ConverseArgs {
    /// Turns of the conversation (its questions cycle through ten fixed ones).
    #[arg(long, default_value_t = 10)]
    turns: usize,
    /// Most tokens per answer (greedy; an answer may end sooner).
    #[arg(long, default_value_t = 48)]
    answer_tokens: usize,
    /// Read the whole conversation again at every turn instead of continuing the cache.
    #[arg(long)]
    fresh: bool,
    /// Instead: one answer of this many tokens (past the end-of-sequence token), timing the steps
    /// around the 100th token and the last.
    #[arg(long)]
    long: Option<usize>,
}

pub fn run(engine: &Engine, a: ConverseArgs) -> Result<(), String> {
    let value = match a.long {
        Some(n) => long(engine, n)?,
        None => turns(engine, &a)?,
    };
    println!("{value}");
    Ok(())
}

fn turns(engine: &Engine, a: &ConverseArgs) -> Result<serde_json::Value, String> {
    let err = |e: engine::EngineError| e.to_string();
    let mut messages = Vec::new();
    let mut turns = Vec::new();
    for turn in 0..a.turns {
        messages.push(Message::user(QUESTIONS[turn % QUESTIONS.len()]));
        let prompt = engine.chat_prompt(&messages).map_err(err)?;
        let options =
            GenerateOptions { max_tokens: a.answer_tokens, continue_cache: !a.fresh, ..GenerateOptions::default() };
        let started = Instant::now();
        let mut generator = engine.generate(prompt.clone(), options).map_err(err)?;
        let mut first_token_s = None;
        while generator.step_blocking().map_err(err)?.is_some() {
            first_token_s.get_or_insert(started.elapsed().as_secs_f64());
        }
        let total_s = started.elapsed().as_secs_f64();
        let first = first_token_s.unwrap_or(total_s);
        let n = generator.generated().len();
        let decode_tok_s = if n > 1 { (n - 1) as f64 / (total_s - first).max(1e-9) } else { 0.0 };
        turns.push(json!({
            "prompt": prompt.len(),
            "reused": generator.reused(),
            "answer": n,
            "first_token_ms": first * 1000.0,
            "decode_tok_s": decode_tok_s,
        }));
        messages.push(Message::assistant(generator.text()));
    }
    Ok(json!({ "continued": !a.fresh, "backend": engine.backend_label(), "turns": turns }))
}

fn long(engine: &Engine, n: usize) -> Result<serde_json::Value, String> {
    let err = |e: engine::EngineError| e.to_string();
    if n < 100 + WINDOW {
        return Err(format!("--long needs at least {} tokens", 100 + WINDOW));
    }
    let prompt = engine.chat_prompt(&[Message::user(QUESTIONS[0])]).map_err(err)?;
    let options = GenerateOptions { max_tokens: n, ignore_eos: true, ..GenerateOptions::default() };
    let mut generator = engine.generate(prompt.clone(), options).map_err(err)?;
    // Each step's time, and the part of it spent attending over the cache (the engine's own clock).
    let (mut step_ms, mut attention_ms) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut last = (Instant::now(), attention_time());
    while generator.step_blocking().map_err(err)?.is_some() {
        step_ms.push(last.0.elapsed().as_secs_f64() * 1000.0);
        attention_ms.push((attention_time() - last.1).as_secs_f64() * 1000.0);
        last = (Instant::now(), attention_time());
    }
    if step_ms.len() < n {
        return Err(format!("the answer stopped after {} tokens (the context holds fewer)", step_ms.len()));
    }
    let median = |window: &[f64]| {
        let mut w = window.to_vec();
        w.sort_by(f64::total_cmp);
        w[w.len() / 2]
    };
    let (early_steps, late_steps) = (100 - WINDOW / 2..100 + WINDOW / 2, n - WINDOW..n);
    let early = median(&step_ms[early_steps.clone()]);
    let late = median(&step_ms[late_steps.clone()]);
    // Everything but attention over the cache: what the issue bounds (≤ 1.2× from token 100 to 2,000).
    let rest: Vec<f64> = step_ms.iter().zip(&attention_ms).map(|(s, a)| s - a).collect();
    let (early_rest, late_rest) = (median(&rest[early_steps.clone()]), median(&rest[late_steps.clone()]));
    // What attention's own growth explains. In multiply-adds: the weights' are fixed per token, and
    // attention adds 2 · n_layer · n_head · head_dim per position read (scores, then the weighted sum).
    // In bytes read per token (a decode step streams its weights and, at a long context, a KV cache
    // larger than the CPU's caches): the weights' blocks, plus 2 · n_layer · kv_dim f32s per position.
    let c = &engine.model.config;
    let w = &engine.model.weights;
    let matrices = || {
        std::iter::once(w.output_head())
            .chain(w.layers.iter().flat_map(|l| [&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down]))
    };
    let weight_macs: f64 = matrices().map(|m: &QMatrix| (m.rows * m.cols) as f64).sum();
    let weight_bytes: f64 = matrices().map(|m: &QMatrix| (m.rows * m.row_bytes()) as f64).sum();
    let attention_macs = |position: usize| (2 * c.n_layer * c.n_head * c.head_dim * position) as f64;
    let kv_bytes = |position: usize| (2 * c.n_layer * c.kv_dim() * 4 * position) as f64;
    let (p_early, p_late) = (prompt.len() + 100, prompt.len() + n);
    Ok(json!({
        "backend": engine.backend_label(),
        "prompt": prompt.len(),
        "tokens": n,
        "early_position": p_early,
        "late_position": p_late,
        "early_ms": early,
        "late_ms": late,
        "ratio": late / early,
        "early_attention_ms": median(&attention_ms[early_steps]),
        "late_attention_ms": median(&attention_ms[late_steps]),
        "early_rest_ms": early_rest,
        "late_rest_ms": late_rest,
        "rest_ratio": late_rest / early_rest,
        "macs_ratio": (weight_macs + attention_macs(p_late)) / (weight_macs + attention_macs(p_early)),
        "bytes_ratio": (weight_bytes + kv_bytes(p_late)) / (weight_bytes + kv_bytes(p_early)),
    }))
}
