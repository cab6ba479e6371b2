//! `glassbox lens` — the logit lens — against the float64 forward written in the tests: at every layer
//! and position, the final norm and output matrix applied to the residual stream after that block.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use common::reference_forward::{default_model, softmax};
use serde_json::Value;

/// The exact path against float64, per cell: the guess's probability (after thirty layers at most).
const PROB_TOLERANCE: f64 = 1e-3;

/// `glassbox <subcommand> ... --json`, the subcommand first in `args`.
fn glassbox(args: &[&str]) -> Value {
    common::glassbox_json(args[0], &args[1..])
}

#[test]
fn lens_cells_are_the_output_head_on_each_blocks_residual_stream() {
    lens_matches_float64("cpu");
}

/// The GPU computes every block's cells in one pass and reads back only the best tokens and log Σ exp
/// of each (lavapipe here).
#[test]
fn lens_on_the_gpu_is_the_output_head_on_each_blocks_residual_stream_too() {
    lens_matches_float64("gpu");
}

/// The lens on `backend` (exact path) against float64 at every cell. The CPU within [`PROB_TOLERANCE`];
/// the GPU, which keeps keys and values in f16, within that plus what f16 keys and values do to a cell's
/// probability in the float64 forward itself (×[`common::F16_SPREAD`]).
fn lens_matches_float64(backend: &str) {
    let text = "The capital of France is";
    let lens = glassbox(&["lens", "--text", text, "--top", "2", "--exact", "--backend", backend]);
    assert_eq!(lens["backend"], backend);
    let ids: Vec<u32> = serde_json::from_value(lens["ids"].clone()).expect("ids");
    let layers = lens["layers"].as_array().expect("layers");
    let model = default_model();
    assert_eq!(layers.len(), model.n_layer);
    let pass = model.run(&ids);
    let cell_probs = |pass: &common::reference_forward::RefPass, l: usize, p: usize| {
        softmax(&model.logits_of(&pass.hidden[l][p * model.n_embd..(p + 1) * model.n_embd]))
    };
    let tolerance = if backend == "cpu" {
        PROB_TOLERANCE
    } else {
        let rounded = model.run_with_f16_cache(&ids);
        let mut f16_effect = 0.0f64;
        for l in 0..model.n_layer {
            for p in 0..ids.len() {
                let (wide, narrow) = (cell_probs(&pass, l, p), cell_probs(&rounded, l, p));
                f16_effect = wide.iter().zip(&narrow).fold(f16_effect, |m, (a, b)| m.max((a - b).abs()));
            }
        }
        eprintln!("f16 keys and values move a cell's probability by up to {f16_effect:.2e} in float64");
        assert!(f16_effect < 1e-2, "more than f16's rounding explains: the float64 forward's f16 cache is wrong");
        PROB_TOLERANCE + common::F16_SPREAD * f16_effect
    };
    let (mut worst, mut compared, mut near_ties) = (0.0f64, 0, 0);
    for (l, row) in layers.iter().enumerate() {
        let cells = row.as_array().expect("cells");
        assert_eq!(cells.len(), ids.len());
        for (p, cell) in cells.iter().enumerate() {
            let probs = cell_probs(&pass, l, p);
            let id = cell["id"].as_u64().expect("id") as usize;
            let prob = cell["prob"].as_f64().expect("prob");
            worst = worst.max((prob - probs[id]).abs());
            // The guess is the float64 forward's likeliest token, unless the two likeliest are a near tie.
            let mut sorted: Vec<f64> = probs.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            if sorted[0] - sorted[1] > 2.0 * tolerance {
                let best = probs.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i);
                assert_eq!(Some(id), best, "layer {l}, position {p}");
                compared += 1;
            } else {
                near_ties += 1;
            }
        }
    }
    eprintln!(
        "lens on the {backend} vs float64: max |Δp| {worst:.2e} (limit {tolerance:.2e}); {compared} cells' guesses equal, {near_ties} near ties"
    );
    assert!(worst < tolerance, "max |Δp| {worst}");
    assert!(compared > layers.len() * ids.len() / 2, "most cells are compared");

    // The last layer is the model's own prediction: the same as `next` (the exact CPU path: the same
    // arithmetic on the CPU, the GPU's tolerance on the GPU).
    let next = glassbox(&["next", "--text", text, "--top", "1"]);
    let last = &layers[model.n_layer - 1].as_array().expect("cells")[ids.len() - 1];
    assert_eq!(last["id"], next["top"][0]["id"]);
    let (a, b) = (last["prob"].as_f64().expect("p"), next["top"][0]["prob"].as_f64().expect("p"));
    let last_tolerance = if backend == "cpu" { 1e-5 } else { tolerance };
    assert!((a - b).abs() < last_tolerance, "{a} vs {b}");
}
