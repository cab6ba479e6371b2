//! `glassbox next`, `neighbours`, `lens` and `fill`: what the next-word game, the map of words, the
//! logit lens and the hidden-word game compute, printed for the tests.

use engine::generate::Engine;
use engine::predict::{guess_text, Reshaped};
use engine::sample::SamplerConfig;
use serde_json::json;

/// `glassbox next` as one JSON value.
fn next_json(
    engine: &Engine,
    text: &str,
    top: usize,
    guess: Option<&str>,
    (temperature, top_k, top_p): (Option<f32>, Option<usize>, Option<f32>),
) -> Result<serde_json::Value, String> {
    let err = |e: engine::EngineError| e.to_string();
    let ids = engine.text_prompt(text).map_err(err)?;
    let pieces = match guess {
        Some(word) if !word.trim().is_empty() => {
            Some(engine.tokenizer.encode_text(&guess_text(text, word)).map_err(err)?)
        }
        Some(_) => return Err("the guess is empty".into()),
        None => None,
    };
    let (next, score, on_gpu) = pollster::block_on(engine.predict_on_backend(&ids, pieces.as_deref())).map_err(err)?;
    let label = |id: u32| engine.tokenizer.token_label(id).map_err(err);
    let token = |id: u32, prob: f32| -> Result<serde_json::Value, String> {
        Ok(json!({ "id": id, "text": label(id)?, "prob": prob }))
    };
    let listed = next.top(top).iter().map(|c| token(c.id, c.prob)).collect::<Result<Vec<_>, _>>()?;
    let backend = if on_gpu { "gpu" } else { "cpu" };
    let mut value = json!({ "ids": ids, "top": listed, "entropy": next.entropy(), "backend": backend });
    if let Some(score) = score {
        let pieces = (score.pieces.iter().zip(&score.piece_probs))
            .map(|(&id, &p)| token(id, p))
            .collect::<Result<Vec<_>, _>>()?;
        value["guess"] = json!({ "pieces": pieces, "prob": score.prob, "rank": score.rank });
    }
    if temperature.is_some() || top_k.is_some() || top_p.is_some() {
        let config = SamplerConfig {
            temperature: temperature.unwrap_or(1.0),
            top_k: top_k.unwrap_or(0),
            top_p: top_p.unwrap_or(1.0),
            ..SamplerConfig::default()
        };
        let reshaped = Reshaped::new(&next.sorted(), &config, top);
        let listed = reshaped.top.iter().map(|&(id, p)| token(id, p)).collect::<Result<Vec<_>, _>>()?;
        value["sampled"] = json!({
            "temperature": config.temperature,
            "top_k": config.top_k,
            "top_p": config.top_p,
            "kept": reshaped.kept,
            "top": listed,
        });
    }
    Ok(value)
}

/// `glassbox next`.
pub fn next(
    engine: &Engine,
    text: &str,
    top: usize,
    guess: Option<&str>,
    sampling: (Option<f32>, Option<usize>, Option<f32>),
    json: bool,
) -> Result<(), String> {
    let value = next_json(engine, text, top, guess, sampling)?;
    if json {
        println!("{value}");
    } else {
        println!("{}", serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?);
    }
    Ok(())
}

/// `glassbox neighbours`.
pub fn neighbours(
    engine: &Engine,
    word: &str,
    analogy: Option<(&str, &str)>,
    top: usize,
    sentences: Option<&[String]>,
    json: bool,
) -> Result<(), String> {
    let err = |e: engine::EngineError| e.to_string();
    if let Some([first, second]) = sentences {
        let (cosines, on_gpu) =
            pollster::block_on(engine.context_cosines_on_backend(word, first, second)).map_err(err)?;
        if json {
            println!("{}", json!({ "cosines": cosines, "backend": if on_gpu { "gpu" } else { "cpu" } }));
        } else {
            for (block, c) in cosines.iter().enumerate() {
                println!("after block {block:>2}: cosine {c:.4}");
            }
        }
        return Ok(());
    }
    let (a, found) = engine.nearest_to(word, analogy, top).map_err(err)?;
    let label = |id: u32| engine.tokenizer.token_label(id).map_err(err);
    let neighbours = (found.iter())
        .map(|n| Ok(json!({ "id": n.id, "text": label(n.id)?, "cosine": n.cosine })))
        .collect::<Result<Vec<_>, String>>()?;
    let pieces = a.pieces.iter().map(|&id| label(id)).collect::<Result<Vec<_>, String>>()?;
    if json {
        println!("{}", json!({ "pieces": pieces, "neighbours": neighbours }));
    } else {
        for n in &neighbours {
            println!("{:.4}  {}", n["cosine"], n["text"]);
        }
    }
    Ok(())
}

/// `glassbox lens`.
pub fn lens(engine: &Engine, text: &str, top: usize, json: bool) -> Result<(), String> {
    let err = |e: engine::EngineError| e.to_string();
    let ids = engine.text_prompt(text).map_err(err)?;
    let mut layers = Vec::new();
    let mut failed = None;
    let started = std::time::Instant::now();
    let on_gpu = pollster::block_on(engine.lens_on_backend(&ids, top.max(1), &mut |_, cells| {
        let row: Result<Vec<_>, String> = cells
            .iter()
            .map(|cell| {
                let top = (cell.top.iter())
                    .map(|&(id, p)| {
                        Ok(json!({ "id": id, "text": engine.tokenizer.token_label(id).map_err(err)?, "prob": p }))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                let mut value = top[0].clone();
                value["top"] = json!(top);
                Ok(value)
            })
            .collect();
        match row {
            Ok(row) => layers.push(row),
            Err(e) => failed = Some(e),
        }
    }))
    .map_err(err)?;
    if let Some(e) = failed {
        return Err(e);
    }
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let value = json!({ "ids": ids, "layers": layers, "backend": if on_gpu { "gpu" } else { "cpu" }, "ms": ms });
    if json {
        println!("{value}");
    } else {
        for (l, row) in layers.iter().enumerate() {
            let cells: Vec<String> = row.iter().map(|c| format!("{}", c["text"])).collect();
            println!("{l:>3}  {}", cells.join(" "));
        }
    }
    Ok(())
}

/// `glassbox fill`.
pub fn fill(engine: &Engine, text: &str, candidates: Vec<String>, propose: usize, json: bool) -> Result<(), String> {
    let err = |e: engine::EngineError| e.to_string();
    let started = std::time::Instant::now();
    let proposed = if propose > 0 { engine.propose(text, propose).map_err(err)? } else { Vec::new() };
    let mut words = candidates;
    words.extend(proposed.iter().filter(|p| !words.contains(p)).cloned().collect::<Vec<_>>());
    let (scores, on_gpu) = pollster::block_on(engine.fill(text, &words)).map_err(err)?;
    let value = json!({
        "candidates": scores.iter().map(|s| json!({ "word": s.word, "logprob": s.logprob, "prob": s.prob, "ids": s.ids })).collect::<Vec<_>>(),
        "proposed": proposed,
        "backend": if on_gpu { "gpu" } else { "cpu" },
        "ms": started.elapsed().as_secs_f64() * 1e3,
    });
    if json {
        println!("{value}");
    } else {
        for s in &scores {
            println!("{:>8.3} %  {:>10.3}  {}", s.prob * 100.0, s.logprob, s.word);
        }
    }
    Ok(())
}
