//! `glassbox formats`: what each block format costs on this CPU. For every format, one matrix of random
//! blocks (the shape of SmolLM2-135M's feed-forward, widened to whole 256-value super-blocks) times one
//! token, on the 8-bit path and the exact path: the median time of a matrix-vector product, its
//! throughput in weight bytes, and its ratio to Q8_0's (the format with the simplest kernel), measured
//! side by side in one run; and the same matrix times a 64-token prompt on the 8-bit path, its tokens
//! read a tile at a time by the tiled kernel (eight tokens natively, four in wasm) and one at a time, per token; and both again for each SIMD
//! build this CPU runs (AVX2, AVX-512 VNNI…). On `--threads` threads (every core by default). One JSON
//! object.

use std::time::Instant;

use engine::backend::cpu::{int8_matmul, matmul, quantize_row_q8, row_dot, row_dot_tile, row_dots, Precision};
use engine::model::QMatrix;
use engine::quant::GgmlType;
use half::f16;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

/// A matrix of random blocks with finite, modest f16 constants.
fn random_matrix(ty: GgmlType, rows: usize, cols: usize) -> Result<QMatrix, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(ty.code() as u64);
    let mut bytes = vec![0u8; rows * cols / ty.block_size() * ty.block_bytes()];
    rng.fill_bytes(&mut bytes);
    for block in bytes.chunks_exact_mut(ty.block_bytes()) {
        for &at in ty.halves() {
            let scale = f16::from_f32((rng.next_u32() % 1000) as f32 / 50_000.0 - 0.01);
            block[at..at + 2].copy_from_slice(&scale.to_bits().to_le_bytes());
        }
    }
    QMatrix::from_bytes(ty, rows, cols, bytes).map_err(|e| e.to_string())
}

/// Tokens of the prompt timed on the 8-bit path.
const PROMPT: usize = 64;

/// The median seconds of `runs` calls of `f`.
fn median_s(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

pub fn run(runs: usize) -> Result<(), String> {
    let (rows, cols) = (1536, 1536);
    let x: Vec<f32> = (0..cols).map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0).collect();
    let mut out = vec![0.0f32; rows];
    let mut rows_out = Vec::new();
    for ty in GgmlType::BLOCKS {
        let w = random_matrix(ty, rows, cols)?;
        let bytes = (rows * w.row_bytes()) as f64;
        let mut timed = |precision| median_s(runs, || matmul(&w, &x, 1, &mut out, precision));
        let (int8, exact) = (timed(Precision::Int8), timed(Precision::Exact));
        let acts: Vec<_> = (0..PROMPT)
            .map(|t| quantize_row_q8(&x.iter().map(|v| v * (1.0 + t as f32 / 64.0)).collect::<Vec<_>>()))
            .collect();
        let mut prompt_out = vec![0.0f32; PROMPT * rows];
        let mut prompt =
            |tile| median_s(runs, || int8_matmul(&w, &acts, &mut prompt_out, row_dot(ty), tile)) / PROMPT as f64;
        let (tiled, untiled) = (prompt(row_dot_tile(ty)), prompt(None));
        // Each SIMD build this CPU runs (AVX2, AVX-512 VNNI…), side by side: one token, and the prompt.
        let mut one = vec![0.0f32; rows];
        let by_build: serde_json::Map<String, serde_json::Value> = row_dots(ty)
            .into_iter()
            .filter(|(name, _, _)| *name != "scalar")
            .map(|(name, dot, tile)| {
                let token = median_s(runs, || int8_matmul(&w, &acts[..1], &mut one, dot, tile));
                let prompt = median_s(runs, || int8_matmul(&w, &acts, &mut prompt_out, dot, tile)) / PROMPT as f64;
                (name.to_owned(), json!({ "int8_ms": token * 1e3, "prompt_ms_per_token": prompt * 1e3 }))
            })
            .collect();
        rows_out.push((ty, bytes, int8, exact, tiled, untiled, by_build));
    }
    let Some(&(_, _, base_int8, base_exact, _, _, _)) = rows_out.iter().find(|r| r.0 == GgmlType::Q8_0) else {
        return Err("Q8_0 is a block format".into());
    };
    let formats: Vec<_> = rows_out
        .iter()
        .map(|(ty, bytes, int8, exact, tiled, untiled, by_build)| {
            let (ty, bytes, int8, exact, tiled, untiled) = (*ty, *bytes, *int8, *exact, *tiled, *untiled);
            json!({
                "format": format!("{ty:?}"),
                "bits_per_value": bytes * 8.0 / (rows * cols) as f64,
                "int8_ms": int8 * 1e3,
                "int8_gb_s": bytes / int8 / 1e9,
                "int8_vs_q8_0": int8 / base_int8,
                "exact_ms": exact * 1e3,
                "exact_vs_q8_0": exact / base_exact,
                "prompt_tiled_ms_per_token": tiled * 1e3,
                "prompt_untiled_ms_per_token": untiled * 1e3,
                "tile_speedup": untiled / tiled,
                "by_build": by_build,
            })
        })
        .collect();
    let threads = engine::backend::cpu::pool::shared().threads();
    println!("{}", json!({ "rows": rows, "cols": cols, "runs": runs, "threads": threads, "formats": formats }));
    Ok(())
}
