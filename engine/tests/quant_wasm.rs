//! In the browser: the simd128 block dots (and relaxed SIMD's, built with the `relaxed-simd` feature, as
//! the test command does) and attention loops against the scalar reference, and GGUF parsing of a file built
//! in code, inside a dedicated worker like the app's engine.
#![cfg(target_arch = "wasm32")]

use engine::backend::cpu::{quantize_row_q8, row_dots, scalar_row_dot, TILE};
use engine::quant::{GgmlType, QK};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
fn simd128_and_relaxed_simd_block_dots_match_scalar() {
    let mut state = 12345u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    for ty in GgmlType::BLOCKS {
        let n_blocks = if ty.block_size() > QK { 5 } else { 19 };
        let mut bytes: Vec<u8> = (0..n_blocks * ty.block_bytes()).map(|_| next() as u8).collect();
        for block in bytes.chunks_exact_mut(ty.block_bytes()) {
            for (i, &at) in ty.halves().iter().enumerate() {
                let value = if i == 0 { 0.01 } else { -0.03 };
                block[at..at + 2].copy_from_slice(&half::f16::from_f32(value).to_bits().to_le_bytes());
            }
        }
        let x: Vec<f32> = (0..n_blocks * ty.block_size()).map(|_| (next() % 2000) as f32 / 1000.0 - 1.0).collect();
        let act = quantize_row_q8(&x);
        let scalar = scalar_row_dot(ty)(&bytes, &act);
        let mut w = vec![0.0; x.len()];
        engine::quant::dequantize(ty, &bytes, &mut w).expect("dequantize");
        let magnitude: f32 = w.iter().zip(&x).map(|(a, b)| (a * b).abs()).sum();
        let others: Vec<_> = (1..TILE as u32)
            .map(|k| quantize_row_q8(&x.iter().map(|v| v * k as f32 - 0.1).collect::<Vec<_>>()))
            .collect();
        let rows = [&act, &others[0], &others[1], &others[2]];
        let fast: Vec<_> = row_dots(ty).into_iter().filter(|(name, ..)| *name != "scalar").collect();
        let expected = if cfg!(feature = "relaxed-simd") { 2 } else { 1 };
        assert_eq!(fast.len(), expected, "{ty:?}: simd128, and relaxed SIMD in a build with them");
        for (name, dot, tile) in fast {
            let simd = dot(&bytes, &act);
            // Both sum the same integer products; the f32 roundings differ (the grouped kernels read values
            // unsigned, their offsets apart; relaxed SIMD groups the products by fours into its lanes):
            // within 1e-5 of Σ|w·x|.
            assert!((scalar - simd).abs() <= 1e-5 * magnitude.max(1.0), "{ty:?} {name}: {simd} vs {scalar}");
            // The tiled kernel (one weight row, four activation rows) gives each row the one-row dot's bits.
            let tile = tile.unwrap_or_else(|| panic!("{ty:?} has a {name} tiled kernel"));
            let got = tile(&bytes, &rows);
            for (i, row) in rows.iter().enumerate() {
                assert_eq!(got[i].to_bits(), dot(&bytes, row).to_bits(), "{ty:?} {name}: tiled row {i}");
            }
        }
    }
}

#[wasm_bindgen_test]
fn simd128_attention_loops_match_scalar() {
    use engine::backend::cpu::attention::{mix, scalar, scores};
    for hd in [64, 7] {
        let (n, stride, offset) = (130, 3 * hd, hd);
        let v = |i: usize, s: usize| ((i * 7919 + s * 104_729) % 2001) as f32 / 1000.0 - 1.0;
        let q: Vec<f32> = (0..hd).map(|i| v(i, 1)).collect();
        let rows: Vec<f32> = (0..n * stride).map(|i| v(i, 2)).collect();
        let (mut fast, mut slow) = (vec![0.0; n], vec![0.0; n]);
        scores(&q, &rows, stride, offset, 0.125, &mut fast);
        scalar::scores(&q, &rows, stride, offset, 0.125, &mut slow);
        // The same products added in the same order: the same floats, as natively.
        assert_eq!(fast, slow, "scores, head of {hd}");
        let p: Vec<f32> = (0..n).map(|j| v(j, 3).abs() / n as f32).collect();
        let (mut fast, mut slow) = (q.clone(), q.clone());
        mix(&p, &rows, stride, offset, &mut fast);
        scalar::mix(&p, &rows, stride, offset, &mut slow);
        assert_eq!(fast, slow, "mix, head of {hd}");
    }
}

#[wasm_bindgen_test]
fn gguf_built_in_code_parses_in_the_browser() {
    let bytes = engine::gguf::GgufBuilder::new()
        .string("general.architecture", "llama")
        .tensor_f32("t", &[2], &[1.0, 2.0])
        .build();
    let gguf = engine::gguf::Gguf::parse(&bytes).expect("parse");
    assert_eq!(gguf.str("general.architecture"), Ok("llama"));
    assert!(engine::gguf::Gguf::parse(&bytes[..bytes.len() - 1]).is_err());
}

/// The trainers' products (a layer forward and back) on simd128, against float64 sums, on shapes with and
/// without whole four-row tiles and eight-value chunks.
#[wasm_bindgen_test]
fn simd128_trainer_products_match_float64() {
    use engine::train::nn::{Linear, Rng};
    let mut rng = Rng::new(5);
    for (n, inp, out) in [(32, 64, 24), (7, 13, 5), (9, 1024, 6), (33, 2, 128)] {
        let layer = Linear::new(inp, out, &mut rng);
        let x: Vec<f32> = (0..n * inp).map(|_| rng.normal()).collect();
        let dy: Vec<f32> = (0..n * out).map(|_| rng.normal()).collect();
        let y = layer.forward(&x);
        let (g, dx) = layer.backward(&x, &dy);
        let w = |o: usize, i: usize| layer.w[o * inp + i] as f64;
        // Sums of at most 1,024 products of values near 1: f32 rounding stays far below 1e-4 · √terms.
        let close = |got: f32, want: f64, terms: usize| (got as f64 - want).abs() <= 1e-4 * (terms as f64).sqrt();
        for r in 0..n {
            for o in 0..out {
                let want: f64 = (0..inp).map(|i| x[r * inp + i] as f64 * w(o, i)).sum();
                assert!(close(y[r * out + o], want, inp), "y[{r}][{o}] in {n}×{inp}→{out}");
            }
            for i in 0..inp {
                let want: f64 = (0..out).map(|o| dy[r * out + o] as f64 * w(o, i)).sum();
                assert!(close(dx[r * inp + i], want, out), "dx[{r}][{i}] in {n}×{inp}→{out}");
            }
        }
        for o in 0..out {
            for i in 0..inp {
                let want: f64 = (0..n).map(|r| dy[r * out + o] as f64 * x[r * inp + i] as f64).sum();
                assert!(close(g.w[o * inp + i], want, n), "gw[{o}][{i}] in {n}×{inp}→{out}");
            }
        }
    }
}
