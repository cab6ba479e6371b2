//! `glassbox score`: teacher-forced logits of every position of a list of ids (the reference tests'
//! view of a whole sequence), optionally with one head's attention row for the last token.

use engine::backend::gpu::Readback;
use engine::generate::Engine;
use engine::model::LogitsFor;
use engine::trace::top_k;
use serde_json::json;

/// Runs the command: per position, the `top` likeliest ids and logits, the entropy and the next id's
/// probability; with `attention = [layer, head]`, that head's attention of the last token.
pub fn run(engine: &Engine, ids: &[u32], top: usize, attention: Option<&[usize]>, json: bool) -> Result<(), String> {
    if ids.is_empty() {
        return Err("no ids to score".into());
    }
    let (mut session, note) = engine.session(ids.len());
    if let Some(note) = note {
        eprintln!("glassbox: {note}");
    }
    let c = &engine.model.config;
    let head = match attention {
        Some(&[l, h]) if l < c.n_layer && h < c.n_head => Some((l, h)),
        Some(_) => return Err(format!("--attention needs a layer < {} and a head < {}", c.n_layer, c.n_head)),
        None => None,
    };
    let out = pollster::block_on(session.forward(ids, LogitsFor::All, head.is_some(), Readback::Logits))
        .map_err(|e| e.to_string())?;
    let last_row = head.and_then(|(l, h)| {
        let trace = out.attention.as_ref()?;
        Some(trace.row(l, h, trace.n_query - 1).to_vec())
    });
    let rows: Vec<_> = out
        .logits
        .chunks_exact(engine.model.config.n_vocab)
        .enumerate()
        .map(|(i, row)| {
            let best = top_k(row, top);
            // The entropy there, and the probability of the token that comes next in `ids`
            // (what the hallucination lab's confidence track shows for a written answer).
            let (log_z, entropy) = engine::trace::log_z_and_entropy(row);
            let next_prob = ids.get(i + 1).map(|&id| (row[id as usize] - log_z).exp());
            json!({
                "ids": best.iter().map(|b| b.0).collect::<Vec<_>>(),
                "logits": best.iter().map(|b| b.1).collect::<Vec<_>>(),
                "entropy": entropy,
                "next_prob": next_prob,
            })
        })
        .collect();
    if json {
        match last_row {
            Some(row) => println!("{}", json!({ "positions": rows, "attention": row })),
            None => println!("{}", serde_json::Value::Array(rows)),
        }
    } else {
        for (i, row) in rows.iter().enumerate() {
            println!("{i}\t{row}");
        }
        if let Some(row) = last_row {
            println!("attention of the last token: {row:?}");
        }
    }
    Ok(())
}
