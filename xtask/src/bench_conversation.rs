//! `cargo xtask bench conversation`: what a long conversation costs natively (`glassbox converse`).
//! Ten turns continuing the cache as the page's chat does, beside the same ten turns reading the whole
//! conversation again (runs interleaved, medians per turn): the time to the first token of the 10th turn
//! against the 1st, and the decode speed; then one answer of 2,000 tokens, the time per token near the
//! 2,000th against near the 100th, beside what attention's own growth explains (in multiply-adds, and in
//! bytes read per token), and the rest of a token's time without attention over the cache (timed by the
//! engine itself) late against early.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::bench::{cargo, json_of};
use crate::model;

const TURNS: usize = 10;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run(root: &Path, runs: usize) -> Result<()> {
    let model = model::ensure()?;
    cargo(&["build", "--release", "-q", "-p", "engine", "--bin", "glassbox"])?;
    let cli = crate::target_dir(root).join("release").join("glassbox");
    let model_arg = model.to_str().context("model path")?.to_owned();
    let converse = |args: &[&str]| {
        json_of(Command::new(&cli).args(["--threads", "1", "converse", "--model", &model_arg]).args(args))
    };
    let turns = TURNS.to_string();
    let (mut continued, mut fresh) = (Vec::new(), Vec::new());
    for run in 0..runs.max(1) {
        eprintln!("xtask: conversation run {} of {}", run + 1, runs.max(1));
        continued.push(converse(&["--turns", &turns])?);
        fresh.push(converse(&["--turns", &turns, "--fresh"])?);
    }
    let per_turn = |runs: &[Value], turn: usize, key: &str| -> Result<f64> {
        let values = (runs.iter())
            .map(|r| r["turns"][turn][key].as_f64().with_context(|| format!("turn {turn}: {key}")))
            .collect::<Result<Vec<_>>>()?;
        Ok(median(values))
    };
    println!("{TURNS} turns of up to 48 tokens, CPU, one thread; medians of {} runs", runs.max(1));
    println!(
        "{:>4} {:>7} {:>8} {:>22} {:>22}",
        "turn", "prompt", "kept", "first token ms (kept)", "first token ms (fresh)"
    );
    for t in 0..TURNS {
        println!(
            "{:>4} {:>7} {:>8} {:>22.0} {:>22.0}",
            t + 1,
            per_turn(&continued, t, "prompt")?,
            per_turn(&continued, t, "reused")?,
            per_turn(&continued, t, "first_token_ms")?,
            per_turn(&fresh, t, "first_token_ms")?,
        );
    }
    let last = TURNS - 1;
    println!(
        "first token, turn {TURNS} / turn 1: {:.2}× continuing the cache, {:.2}× reading it all again",
        per_turn(&continued, last, "first_token_ms")? / per_turn(&continued, 0, "first_token_ms")?,
        per_turn(&fresh, last, "first_token_ms")? / per_turn(&fresh, 0, "first_token_ms")?,
    );
    println!(
        "decode, turn {TURNS} / turn 1: {:.1} / {:.1} tok/s",
        per_turn(&continued, last, "decode_tok_s")?,
        per_turn(&continued, 0, "decode_tok_s")?,
    );
    let long = (0..runs.max(1)).map(|_| converse(&["--long", "2000"])).collect::<Result<Vec<_>>>()?;
    let get = |key: &str| -> Result<f64> {
        Ok(median(long.iter().map(|r| r[key].as_f64().context(key.to_owned())).collect::<Result<Vec<_>>>()?))
    };
    println!(
        "one answer of 2,000 tokens: {:.1} ms per token at position {} against {:.1} ms at {}: {:.2}×; attention's growth \
         explains {:.2}× in multiply-adds, {:.2}× in bytes read per token",
        get("late_ms")?,
        get("late_position")?,
        get("early_ms")?,
        get("early_position")?,
        get("late_ms")? / get("early_ms")?,
        get("macs_ratio")?,
        get("bytes_ratio")?,
    );
    println!(
        "attention over the cache (timed by the engine): {:.1} ms at position {} against {:.1} ms; the rest of a \
         token: {:.1} ms against {:.1} ms: {:.2}× (target ≤ 1.2×)",
        get("late_attention_ms")?,
        get("late_position")?,
        get("early_attention_ms")?,
        get("late_rest_ms")?,
        get("early_rest_ms")?,
        get("late_rest_ms")? / get("early_rest_ms")?,
    );
    Ok(())
}
