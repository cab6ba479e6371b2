//! `glassbox reward`: the preference game's reward model, as the page fits it. Reads the votes the page
//! exports (each answer by its token ids, or by its text when the ids are absent), computes every
//! answer's features with the model, fits the reward model on three votes in four and measures it on
//! the fourth, then scores the candidates (a best-of-n's answers).

use std::cell::Cell;
use std::path::Path;

use engine::generate::Engine;
use engine::reward::{split_votes, Fit, RewardModel, Vote};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    ids: Option<Vec<u32>>,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct VoteRecord {
    question: String,
    chosen: Answer,
    rejected: Answer,
}

#[derive(Deserialize)]
struct Candidate {
    question: String,
    #[serde(flatten)]
    answer: Answer,
}

#[derive(Deserialize)]
struct VotesFile {
    votes: Vec<VoteRecord>,
    #[serde(default)]
    candidates: Vec<Candidate>,
}

/// An answer's features on the engine's backend; clears `on_gpu` when the CPU computed them.
fn features(engine: &Engine, question: &str, answer: &Answer, on_gpu: &Cell<bool>) -> Result<Vec<f32>, String> {
    let ids = match &answer.ids {
        Some(ids) => ids.clone(),
        None => engine.tokenizer.encode_text(&answer.text).map_err(|e| e.to_string())?,
    };
    let (features, gpu) =
        pollster::block_on(engine.answer_features_on_backend(question, &ids)).map_err(|e| e.to_string())?;
    on_gpu.set(on_gpu.get() && gpu);
    Ok(features)
}

/// Runs the command: prints `{"votes","fitted_on","held_out","train_accuracy","held_out_accuracy",
/// "scores":[..candidates],"margins":[..votes],"weights":[..]}` (with `show_features`, every vote's `[chosen, rejected]`
/// features too).
pub fn run(engine: &Engine, votes_file: &Path, show_features: bool, json: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(votes_file).map_err(|e| format!("cannot read {}: {e}", votes_file.display()))?;
    let file: VotesFile =
        serde_json::from_str(&text).map_err(|e| format!("{} is not a votes file: {e}", votes_file.display()))?;
    if file.votes.is_empty() {
        return Err("the votes file has no votes".into());
    }
    let on_gpu = Cell::new(true);
    let votes = (file.votes.iter())
        .map(|v| {
            Ok(Vote {
                chosen: features(engine, &v.question, &v.chosen, &on_gpu)?,
                rejected: features(engine, &v.question, &v.rejected, &on_gpu)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let (train, held) = split_votes(&votes);
    let model = RewardModel::fit(&train, Fit::default()).map_err(|e| e.to_string())?;
    let scores = (file.candidates.iter())
        .map(|c| features(engine, &c.question, &c.answer, &on_gpu).map(|f| model.score(&f)))
        .collect::<Result<Vec<_>, String>>()?;
    let mut value = json!({
        "votes": votes.len(),
        "fitted_on": train.len(),
        "held_out": held.len(),
        "train_accuracy": model.accuracy(&train),
        "held_out_accuracy": model.accuracy(&held),
        "scores": scores,
        // Every vote's score(chosen) − score(rejected), in the file's order (held out: the 4th, 8th, …).
        "margins": votes.iter().map(|v| model.score(&v.chosen) - model.score(&v.rejected)).collect::<Vec<_>>(),
        "weights": model.weights,
        "backend": if on_gpu.get() { "gpu" } else { "cpu" },
    });
    if show_features {
        value["features"] = json!(votes.iter().map(|v| [&v.chosen, &v.rejected]).collect::<Vec<_>>());
    }
    if json {
        println!("{value}");
    } else {
        println!(
            "{} votes: fitted on {}, right on {} of them; held out {}, right on {}",
            votes.len(),
            train.len(),
            value["train_accuracy"],
            held.len(),
            value["held_out_accuracy"]
        );
        for (i, s) in scores.iter().enumerate() {
            println!("candidate {}: reward {s:.3}", i + 1);
        }
    }
    Ok(())
}
