//! `glassbox generate`: a prompt's answer streamed token by token, with its speed, or as one JSON
//! object (ids, pieces, text, each token's probability and entropy, the GPU's work per token).

use std::io::Write;
use std::time::Instant;

use clap::Args;
use engine::chat::Message;
use engine::generate::{Engine, GenerateOptions, TraceOptions};
use engine::sample::SamplerConfig;
use serde_json::json;

/// What to generate and how.
#[derive(Args)]
pub struct GenerateArgs {
    /// The prompt.
    #[arg(long)]
    pub prompt: String,
    /// Wrap the prompt as one user message in the model's chat template.
    #[arg(long)]
    pub chat: bool,
    /// Most new tokens.
    #[arg(long, default_value_t = 128)]
    pub max_tokens: usize,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Keep the k most likely tokens (0: all).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Nucleus sampling threshold.
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f32,
    /// RNG seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Keep generating past the end-of-sequence token (fixed-length benchmarks).
    #[arg(long)]
    pub ignore_eos: bool,
    /// Also compute each token's N most likely alternatives and the entropy, as the app does (5;
    /// the hallucination lab: 1); `--json` then lists the entropies beside the probabilities.
    #[arg(long, default_value_t = 0)]
    pub alternatives: usize,
    /// On the GPU, submit the next token's pass before this one is back (default: on a
    /// hardware GPU, not on a software one).
    #[arg(long, conflicts_with = "no_overlap")]
    pub overlap: bool,
    /// On the GPU, wait for each token before submitting the next pass.
    #[arg(long)]
    pub no_overlap: bool,
    /// One JSON object: prompt ids, ids, pieces, text, each token's probability (and entropy), speed.
    #[arg(long)]
    pub json: bool,
}

/// Generates as `args` say and prints it.
pub fn run(engine: &Engine, args: GenerateArgs) -> Result<(), String> {
    let GenerateArgs {
        prompt,
        chat,
        max_tokens,
        temperature,
        top_k,
        top_p,
        seed,
        ignore_eos,
        alternatives,
        overlap,
        no_overlap,
        json,
    } = args;
    if prompt.is_empty() {
        return Err("the prompt is empty".into());
    }
    let prompt_ids = if chat { engine.chat_prompt(&[Message::user(prompt)]) } else { engine.text_prompt(&prompt) }
        .map_err(|e| e.to_string())?;
    let sampler = SamplerConfig { temperature, top_k, top_p, seed, ..SamplerConfig::default() };
    let options = GenerateOptions {
        max_tokens,
        sampler,
        ignore_eos,
        trace: TraceOptions { attention: false, top_k: alternatives },
        overlap: (overlap || no_overlap).then_some(overlap),
        ..GenerateOptions::default()
    };
    let mut generator = engine.generate(prompt_ids.clone(), options).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut prefill_s = 0.0;
    let mut stdout = std::io::stdout();
    let (mut dispatches, mut submits, mut readbacks, mut readback_bytes) = (0u64, 0u64, 0u64, 0u64);
    let mut decode_steps = 0u64;
    // Each step's token probability (at temperature 1) and, traced, its distribution's
    // entropy: one per token, and one more for the end-of-sequence token if it ends there.
    let (mut probs, mut entropies) = (Vec::new(), Vec::new());
    while let Some(step) = generator.step_blocking().map_err(|e| e.to_string())? {
        probs.push(step.prob);
        entropies.extend(step.distribution.as_ref().map(|d| d.entropy));
        if prefill_s == 0.0 {
            prefill_s = started.elapsed().as_secs_f64();
        } else {
            decode_steps += 1;
            dispatches += u64::from(step.counters.dispatches);
            submits += u64::from(step.counters.submits);
            readbacks += u64::from(step.counters.readbacks);
            readback_bytes += step.counters.readback_bytes;
        }
        if let Some(note) = &step.note {
            eprintln!("glassbox: {note}");
        }
        if !json {
            print!("{}", step.text);
            stdout.flush().ok();
        }
    }
    let total_s = started.elapsed().as_secs_f64();
    let n = generator.generated().len();
    let prefill_tok_s = prompt_ids.len() as f64 / prefill_s.max(1e-9);
    // The first token comes out of the prefill; each later one costs one decode step.
    let decode_tok_s = if n > 1 { (n - 1) as f64 / (total_s - prefill_s).max(1e-9) } else { 0.0 };
    if json {
        println!(
            "{}",
            json!({
                "prompt_ids": prompt_ids,
                "prompt_text": engine.tokenizer.decode(&prompt_ids).map_err(|e| e.to_string())?,
                "ids": generator.generated(),
                "pieces": generator
                    .generated()
                    .iter()
                    .map(|&id| engine.tokenizer.token_label(id))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.to_string())?,
                "text": generator.text(),
                "probs": probs,
                "entropies": (alternatives > 0).then_some(entropies),
                "finish": format!("{:?}", generator.finish_reason()),
                "prefill_tok_s": prefill_tok_s,
                "decode_tok_s": decode_tok_s,
                "peak_rss_bytes": crate::cli::peak_rss_bytes(),
                "backend": engine.backend_label(),
                "n_layer": engine.model.config.n_layer,
                "gpu_memory_bytes": engine.gpu().map(|g| g.memory_in_use()),
                "per_decode_token": (decode_steps > 0).then_some(decode_steps as f64).map(|d| json!({
                    "dispatches": dispatches as f64 / d,
                    "submits": submits as f64 / d,
                    "readbacks": readbacks as f64 / d,
                    "readback_bytes": readback_bytes as f64 / d,
                })),
            })
        );
    } else {
        println!();
        eprintln!(
            "[{} prompt tokens at {prefill_tok_s:.1} tok/s, {n} new at {decode_tok_s:.1} tok/s]",
            prompt_ids.len()
        );
    }
    Ok(())
}
