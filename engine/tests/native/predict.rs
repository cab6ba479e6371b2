//! `glassbox next` — the next-word game's numbers — against a float64 forward pass written in the test
//! (`common/reference_forward.rs`), itself checked against the exact reference logits in `shared/`.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::process::Command;

use common::reference_forward::{default_model, softmax};
use serde_json::Value;

/// The CLI's exact path (f32 activations) against float64: probabilities agree to this. Thirty layers of
/// f32 sums move the logits a little; the largest difference seen is 1.1e-4, for "Paris" at p = 0.77.
const PROB_TOLERANCE: f64 = 3e-4;
/// Logits of the f64 reference against the reference file's exact float64 logits (stored as f32).
const LOGIT_TOLERANCE: f64 = 1e-3;

fn next(args: &[&str]) -> Value {
    common::glassbox_json("next", args)
}

fn ids_of(value: &Value) -> Vec<u32> {
    serde_json::from_value(value.clone()).expect("ids")
}

fn f(value: &Value) -> f64 {
    value.as_f64().expect("a number")
}

#[test]
fn reference_forward_matches_the_exact_reference_logits() {
    let model = default_model();
    let case = &common::reference().chat[0];
    let mut worst = 0.0f64;
    for (i, exact) in case.exact_teacher_forced.iter().take(2).enumerate() {
        let ids: Vec<u32> = case.prompt_ids.iter().chain(&case.greedy_ids[..i]).copied().collect();
        let logits = model.next_logits(&ids);
        for (&id, &want) in exact.top5_ids.iter().zip(&exact.top5_logits) {
            worst = worst.max((logits[id as usize] - want as f64).abs());
        }
    }
    eprintln!("f64 reference vs the exact reference logits: max |Δ| {worst:.2e}");
    assert!(worst < LOGIT_TOLERANCE, "max |Δ| {worst}");
}

/// How far the CPU's exact path may be from float64, and the GPU's: its keys and values are stored in f16,
/// which moves probabilities by up to ~1e-3 more (as for the lens) and logits by up to ~1e-2.
struct Tolerance {
    prob: f64,
    entropy: f64,
    logit: f64,
}

const CPU: Tolerance = Tolerance { prob: PROB_TOLERANCE, entropy: 1e-3, logit: 1e-4 };
const GPU: Tolerance = Tolerance { prob: 3e-3, entropy: 1e-2, logit: 2e-2 };

#[test]
fn next_lists_the_top_tokens_entropy_and_a_guess_as_a_float64_forward_does() {
    next_matches_float64("cpu", CPU);
}

/// The page's next-word game runs on the GPU when there is one (lavapipe here).
#[test]
fn next_on_the_gpu_lists_what_a_float64_forward_does_too() {
    next_matches_float64("gpu", GPU);
}

fn next_matches_float64(backend: &str, tol: Tolerance) {
    let model = default_model();
    for (text, guess) in [("The capital of France is", "Paris"), ("Le petit chat boit du", "chocolat chaud")] {
        let value = next(&["--text", text, "--top", "10", "--guess", guess, "--backend", backend]);
        assert_eq!(value["backend"], backend);
        let ids = ids_of(&value["ids"]);
        let reference = model.next_logits(&ids);
        let probs = softmax(&reference);

        let top = value["top"].as_array().expect("top");
        assert_eq!(top.len(), 10);
        for entry in top {
            let id = entry["id"].as_u64().expect("id") as usize;
            let (ours, want) = (f(&entry["prob"]), probs[id]);
            assert!((ours - want).abs() < tol.prob, "{backend}: {text:?} token {id}: {ours} vs {want}");
        }
        // Best first, and nothing outside the list beats its last entry.
        let listed: Vec<f64> = top.iter().map(|e| f(&e["prob"])).collect();
        assert!(listed.windows(2).all(|w| w[0] >= w[1]));
        let floor = listed[9];
        let ahead = probs.iter().filter(|&&p| p > floor + tol.prob).count();
        assert!(ahead <= 9, "{ahead} tokens are likelier than the 10th listed");
        let entropy: f64 = -probs.iter().filter(|&&p| p > 0.0).map(|p| p * p.ln()).sum::<f64>();
        assert!((f(&value["entropy"]) - entropy).abs() < tol.entropy, "entropy {} vs {entropy}", value["entropy"]);

        // The guess: its pieces are the word's tokens with a space before it, scored one after the other.
        let guess_json = &value["guess"];
        let pieces: Vec<u32> = guess_json["pieces"]
            .as_array()
            .expect("pieces")
            .iter()
            .map(|p| p["id"].as_u64().expect("id") as u32)
            .collect();
        let model_path = std::env::var("GLASSBOX_MODEL").expect("model");
        let tokenized = Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args(["tokenize", "--model", &model_path, "--text", &format!(" {guess}"), "--json"])
            .output()
            .expect("tokenize");
        let tokenized: Value =
            serde_json::from_str(String::from_utf8_lossy(&tokenized.stdout).trim()).expect("tokenize JSON");
        assert_eq!(pieces, ids_of(&tokenized["ids"]), "{guess:?}");
        let mut context = ids.clone();
        let mut product = 1.0f64;
        for &piece in &pieces {
            product *= softmax(&model.next_logits(&context))[piece as usize];
            context.push(piece);
        }
        let prob = f(&guess_json["prob"]);
        assert!((prob - product).abs() < tol.prob.max(product * 1e-3), "{backend}: {guess:?}: {prob} vs {product}");
        // Rank of the first piece: 1 + the tokens ahead of it, up to near-ties the f32 path may order
        // either way.
        let l = reference[pieces[0] as usize];
        let surely_ahead = reference.iter().filter(|&&x| x > l + tol.logit).count();
        let maybe_ahead = reference.iter().filter(|&&x| x > l - tol.logit).count() - 1;
        let rank = guess_json["rank"].as_u64().expect("rank") as usize;
        assert!((1 + surely_ahead..=1 + maybe_ahead).contains(&rank), "{guess:?}: rank {rank}, {surely_ahead} ahead");
        eprintln!(
            "{backend}: {text:?} + {guess:?}: {} pieces, p = {prob:.3e} (float64 {product:.3e}), rank {rank}",
            pieces.len()
        );
        assert!(pieces.len() >= 2 || text.starts_with("The"), "a multi-piece guess is covered");
    }
}

/// The sampler's reshaping written out plainly: sort, keep the top k, softmax at temperature T, keep the
/// smallest prefix reaching p, renormalise.
fn brute_force_reshape(logits: &[f64], temperature: f64, top_k: usize, top_p: f64) -> Vec<f64> {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    let mut out = vec![0.0; logits.len()];
    if temperature == 0.0 {
        out[order[0]] = 1.0;
        return out;
    }
    let kept = if top_k > 0 { &order[..top_k] } else { &order[..] };
    let scaled: Vec<f64> = kept.iter().map(|&i| logits[i] / temperature).collect();
    let probs = softmax(&scaled);
    let mut cumulative = 0.0;
    let mut n = probs.len();
    // top-p 1 keeps everything (a sum that rounds up to 1 early must not cut the tail).
    for (i, p) in probs.iter().enumerate().take_while(|_| top_p < 1.0) {
        cumulative += p;
        if cumulative >= top_p {
            n = i + 1;
            break;
        }
    }
    let mass: f64 = probs[..n].iter().sum();
    for (&i, p) in kept[..n].iter().zip(&probs) {
        out[i] = p / mass;
    }
    out
}

#[test]
fn sampled_is_the_distribution_the_settings_draw_from() {
    let model = default_model();
    let text = "Once upon a time, there was a";
    let mut logits = None;
    for (temperature, top_k, top_p) in [(0.0, 0, 1.0), (0.7, 0, 1.0), (1.5, 20, 1.0), (1.0, 50, 0.8)] {
        let value = next(&[
            "--text",
            text,
            "--top",
            "12",
            "--temperature",
            &temperature.to_string(),
            "--top-k",
            &top_k.to_string(),
            "--top-p",
            &top_p.to_string(),
        ]);
        let logits = logits.get_or_insert_with(|| model.next_logits(&ids_of(&value["ids"])));
        let want = brute_force_reshape(logits, temperature, top_k, top_p);
        let sampled = &value["sampled"];
        let kept = want.iter().filter(|&&p| p > 0.0).count();
        assert_eq!(sampled["kept"].as_u64(), Some(kept as u64), "T {temperature}, k {top_k}, p {top_p}");
        let listed = sampled["top"].as_array().expect("top");
        assert_eq!(listed.len(), 12);
        for (entry, plain) in listed.iter().zip(value["top"].as_array().expect("top")) {
            assert_eq!(entry["id"], plain["id"], "same tokens, in the model's order");
            let id = entry["id"].as_u64().expect("id") as usize;
            assert!((f(&entry["prob"]) - want[id]).abs() < PROB_TOLERANCE, "T {temperature}: token {id}");
        }
        eprintln!("T {temperature}, top-k {top_k}, top-p {top_p}: {kept} tokens kept");
    }
}

#[test]
fn next_refuses_an_empty_text_and_an_empty_guess_with_one_line() {
    let model = std::env::var("GLASSBOX_MODEL").expect("GLASSBOX_MODEL");
    for (args, needle) in
        [(vec!["--text", ""], "empty"), (vec!["--text", "Bonjour", "--guess", " "], "the guess is empty")]
    {
        let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args(["next", "--model", &model])
            .args(&args)
            .output()
            .expect("run glassbox");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
    }
}

#[test]
fn generate_json_gives_each_written_tokens_probability_and_entropy_as_a_float64_forward_does() {
    // What the hallucination lab draws under an answer: sampled tokens, each with its probability at
    // temperature 1 and the entropy of the distribution it was drawn from.
    let model = default_model();
    let question = "Who was Jeanne Moreau-Villeneuve, the 1931 Nobel laureate in chemistry?";
    let args = ["--exact", "--chat", "--prompt", question, "--max-tokens", "8", "--temperature", "0.8", "--seed", "3"];
    let value = common::glassbox_json("generate", &[&args[..], &["--alternatives", "1"]].concat());
    let (prompt, ids) = (ids_of(&value["prompt_ids"]), ids_of(&value["ids"]));
    let numbers = |key: &str| -> Vec<f64> { value[key].as_array().expect(key).iter().map(f).collect() };
    let (probs, entropies) = (numbers("probs"), numbers("entropies"));
    // One of each per step: an answer that ends at the end-of-sequence token has one step more.
    let ended = usize::from(value["finish"] == "EndOfSequence");
    assert_eq!((probs.len(), entropies.len()), (ids.len() + ended, ids.len() + ended), "one of each per step");
    let all: Vec<u32> = prompt.iter().chain(&ids[..ids.len() - 1]).copied().collect();
    let pass = model.run(&all);
    let last = pass.hidden.last().expect("blocks");
    let (mut worst_p, mut worst_h) = (0.0f64, 0.0f64);
    for (i, &id) in ids.iter().enumerate() {
        let at = prompt.len() - 1 + i;
        let p = softmax(&model.logits_of(&last[at * model.n_embd..][..model.n_embd]));
        let entropy: f64 = -p.iter().filter(|&&q| q > 0.0).map(|q| q * q.ln()).sum::<f64>();
        worst_p = worst_p.max((probs[i] - p[id as usize]).abs());
        worst_h = worst_h.max((entropies[i] - entropy).abs());
    }
    eprintln!(
        "generate --json over {} sampled tokens vs float64: max |Δp| {worst_p:.2e}, max |Δ entropy| {worst_h:.2e}",
        ids.len()
    );
    assert!(worst_p < PROB_TOLERANCE && worst_h < 1e-3, "{worst_p} {worst_h}");
    // Without --alternatives there is no entropy to give.
    assert!(common::glassbox_json("generate", &args)["entropies"].is_null());
}
