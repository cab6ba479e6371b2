//! `glassbox neighbours` — the map of word embeddings — against a brute-force cosine over the embedding
//! rows dequantized in the test, and a word's vector in context against the float64 forward.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use common::reference_forward::default_model;
use serde_json::Value;

/// Cosine in float64 over the test's own rows.
fn cosine(a: &[f64], b: &[f32]) -> f64 {
    let ab: f64 = a.iter().zip(b).map(|(x, &y)| x * f64::from(y)).sum();
    let aa: f64 = a.iter().map(|x| x * x).sum();
    let bb: f64 = b.iter().map(|&y| f64::from(y) * f64::from(y)).sum();
    ab / (aa.sqrt() * bb.sqrt())
}

/// The `k` nearest rows to `v` by cosine, leaving out `exclude`, best first.
fn brute_force(v: &[f64], k: usize, exclude: &[u32]) -> Vec<(u32, f64)> {
    let model = default_model();
    let mut all: Vec<(u32, f64)> = (0..model.n_vocab as u32)
        .filter(|id| !exclude.contains(id))
        .map(|id| (id, cosine(v, model.embedding_row(id))))
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

fn ids(value: &Value, key: &str) -> Vec<u32> {
    value[key].as_array().expect("list").iter().map(|n| n["id"].as_u64().expect("id") as u32).collect()
}

fn mean_row(pieces: &[u32]) -> Vec<f64> {
    let model = default_model();
    let mut v = vec![0.0f64; model.n_embd];
    for &id in pieces {
        for (x, &r) in v.iter_mut().zip(model.embedding_row(id)) {
            *x += f64::from(r) / pieces.len() as f64;
        }
    }
    v
}

fn pieces_of(word: &str) -> Vec<u32> {
    let value = common::glassbox_json("tokenize", &["--text", &format!(" {word}")]);
    serde_json::from_value(value["ids"].clone()).expect("ids")
}

#[test]
fn neighbours_are_the_nearest_rows_by_cosine_over_the_whole_vocabulary() {
    for word in ["cat", "Paris", "souris"] {
        let value = common::glassbox_json("neighbours", &["--word", word, "--top", "8"]);
        let pieces = pieces_of(word);
        let want = brute_force(&mean_row(&pieces), 8, &pieces);
        assert_eq!(ids(&value, "neighbours"), want.iter().map(|w| w.0).collect::<Vec<_>>(), "{word}");
        for (got, (_, c)) in value["neighbours"].as_array().expect("n").iter().zip(&want) {
            assert!((got["cosine"].as_f64().expect("cosine") - c).abs() < 1e-5, "{word}");
        }
        let texts: Vec<&str> =
            value["neighbours"].as_array().expect("n").iter().filter_map(|n| n["text"].as_str()).collect();
        eprintln!("{word} ({} pieces): {texts:?}", pieces.len());
    }
}

#[test]
fn an_analogy_is_the_nearest_rows_to_a_minus_b_plus_c() {
    let value =
        common::glassbox_json("neighbours", &["--word", "king", "--minus", "man", "--plus", "woman", "--top", "5"]);
    let (a, b, c) = (pieces_of("king"), pieces_of("man"), pieces_of("woman"));
    let v: Vec<f64> = (mean_row(&a).iter().zip(mean_row(&b)).zip(mean_row(&c))).map(|((a, b), c)| a - b + c).collect();
    let exclude: Vec<u32> = a.iter().chain(&b).chain(&c).copied().collect();
    let want = brute_force(&v, 5, &exclude);
    assert_eq!(ids(&value, "neighbours"), want.iter().map(|w| w.0).collect::<Vec<_>>());
    let texts: Vec<&str> =
        value["neighbours"].as_array().expect("n").iter().filter_map(|n| n["text"].as_str()).collect();
    eprintln!("king − man + woman: {texts:?}");
}

#[test]
fn a_word_in_context_is_the_residual_stream_at_its_position() {
    use engine::backend::cpu::Precision;
    let engine = engine::generate::Engine::from_gguf(common::model_file(), Precision::Exact).expect("model");
    let layer = 12;
    let (ids, rows) = engine.hidden_states("The cat chased the mouse.", layer).expect("hidden states");
    let reference = default_model().run(&ids);
    let d = default_model().n_embd;
    let worst = rows
        .iter()
        .zip(&reference.hidden[layer])
        .map(|(&a, &b)| (f64::from(a) - b).abs() / (1.0 + b.abs()))
        .fold(0.0f64, f64::max);
    eprintln!("hidden states after block {layer} vs float64: max relative |Δ| {worst:.2e} over {} values", rows.len());
    assert_eq!(rows.len(), ids.len() * d);
    assert!(worst < 1e-3, "{worst}");
}

#[test]
fn a_word_in_two_sentences_is_compared_after_every_block() {
    word_in_two_sentences_matches_float64("cpu", 1e-4);
}

/// On the GPU (lavapipe here) the page's map of words reads the residual stream back after every block;
/// its keys and values are stored in f16, which moves a cosine by up to ~1e-4 (3.5e-5 measured).
#[test]
fn a_word_in_two_sentences_is_compared_after_every_block_on_the_gpu_too() {
    word_in_two_sentences_matches_float64("gpu", 5e-4);
}

fn word_in_two_sentences_matches_float64(backend: &str, tolerance: f64) {
    use engine::backend::cpu::Precision;
    let engine = engine::generate::Engine::from_gguf(common::model_file(), Precision::Exact).expect("model");
    let (word, first, second) = ("bank", "She sat on the bank of the river.", "He put his money in the bank.");
    let value = common::glassbox_json(
        "neighbours",
        &["--exact", "--word", word, "--sentences", first, second, "--backend", backend],
    );
    assert_eq!(value["backend"], backend);
    let got: Vec<f64> = serde_json::from_value(value["cosines"].clone()).expect("cosines");
    let model = default_model();
    let pieces = pieces_of(word);
    // The word's rows in the float64 forward, averaged, after each block.
    let vectors = |text: &str| -> Vec<Vec<f64>> {
        let (ids, _) = engine.hidden_states(text, 0).expect("tokens");
        let at = ids.windows(pieces.len()).position(|w| w == pieces.as_slice()).expect("the word is in the sentence");
        let pass = model.run(&ids);
        (pass.hidden.iter())
            .map(|rows| {
                let mut v = vec![0.0f64; model.n_embd];
                for row in rows.chunks_exact(model.n_embd).skip(at).take(pieces.len()) {
                    for (x, r) in v.iter_mut().zip(row) {
                        *x += r / pieces.len() as f64;
                    }
                }
                v
            })
            .collect()
    };
    let (a, b) = (vectors(first), vectors(second));
    let want: Vec<f64> = a
        .iter()
        .zip(&b)
        .map(|(x, y)| {
            let dot: f64 = x.iter().zip(y).map(|(p, q)| p * q).sum();
            dot / (x.iter().map(|p| p * p).sum::<f64>().sqrt() * y.iter().map(|q| q * q).sum::<f64>().sqrt())
        })
        .collect();
    assert_eq!(got.len(), want.len(), "one cosine per block");
    let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0f64, f64::max);
    eprintln!("{backend}: «{word}» in two sentences, {} blocks: max |Δ cosine| vs float64 {worst:.2e}", got.len());
    assert!(worst < tolerance, "{got:?} vs {want:?}");
    assert!(want.iter().any(|&c| c < 0.9), "the two sentences move the word apart");
}
