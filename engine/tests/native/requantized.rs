//! The default model requantized by llama.cpp's own quantizer to every format it writes that people
//! download (Q2_K to Q6_K with the `_M` mixes, Q4_0, Q5_0, Q5_1, Q8_0), each file against llama.cpp on
//! the same file and against a float64 forward over the same file's dequantized weights. `cargo xtask
//! test` writes the files and llama.cpp's outputs (`xtask/src/requantized.rs`, which builds
//! llama-cpp-python once) and names them in `GLASSBOX_REQUANTIZED`.
//!
//! SmolLM2-135M's rows are 576 wide, not a multiple of a K-quant's 256-value super-block: llama.cpp
//! writes those matrices in a fall-back format (Q5_0 in a Q4_K_M file, …) and the 1,536-wide
//! feed-forward output in the K-quant, so every file mixes formats, as real K-quant files do.
//!
//! Tolerances are the default model's (`model_reference.rs`): on the first chat case, the exact path
//! within 0.02 (max) of the float64 forward's logits for its top 5, the 8-bit path within mean 0.3 /
//! max 1.5 of them; on every case, the 8-bit path's top-1 equal to llama.cpp's wherever llama.cpp's
//! margin is at least `common::CONFIDENT_MARGIN`, and its greedy answer equal to llama.cpp's up to the
//! first position where that margin is smaller (a near-tie).

use std::path::PathBuf;

use serde::Deserialize;

use crate::common::{self, reference_forward::RefModel, TopK, CONFIDENT_MARGIN};
use engine::backend::cpu::Precision;
use engine::backend::gpu::Readback;
use engine::generate::Engine;
use engine::gguf::Gguf;
use engine::model::{FileBytes, LogitsFor, Model};

const EXACT_MAX: f32 = 0.02;
const INT8_MEAN: f32 = 0.3;
const INT8_MAX: f32 = 1.5;

/// llama.cpp's names of the formats `cargo xtask test` writes (`xtask/src/requantized.rs`).
const KINDS: [&str; 9] = ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q4_0", "Q5_0", "Q5_1", "Q8_0"];

#[derive(Deserialize)]
struct Manifest {
    files: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    kind: String,
    model: PathBuf,
    reference: PathBuf,
}

/// llama.cpp's outputs on one file (`xtask/reference/llama_cpp_reference.py`).
#[derive(Deserialize)]
struct LlamaCpp {
    chat: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    user: String,
    prompt_ids: Vec<u32>,
    greedy_ids: Vec<u32>,
    teacher_forced: Vec<TopK>,
}

fn entry(kind: &str) -> Entry {
    let path = std::env::var_os("GLASSBOX_REQUANTIZED").expect(
        "GLASSBOX_REQUANTIZED is not set: run the tests with `cargo xtask test`, or set it to the manifest \
         `cargo xtask requantized` prints (it requantizes the default model with llama.cpp and writes \
         llama.cpp's outputs on each file: xtask/src/requantized.rs)",
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path:?}: {e}"));
    let manifest: Manifest = serde_json::from_str(&text).expect("manifest JSON");
    let entry = manifest.files.into_iter().find(|e| e.kind == kind);
    entry.unwrap_or_else(|| panic!("{path:?} names no {kind} file"))
}

fn mean_max(errors: &[f32]) -> (f32, f32) {
    (errors.iter().sum::<f32>() / errors.len() as f32, errors.iter().copied().fold(0.0, f32::max))
}

/// Every position's logits on the CPU, one pass.
fn logits(model: &Model, ids: &[u32]) -> Vec<f32> {
    let mut cache = model.new_cache(ids.len());
    model.forward(&mut cache, ids, LogitsFor::All, false).expect("forward").logits
}

/// One file against llama.cpp and the float64 forward; the figures go to stderr.
fn matches_llama_cpp_and_float64(kind: &str) {
    let entry = entry(kind);
    let bytes = std::fs::read(&entry.model).unwrap_or_else(|e| panic!("reading {:?}: {e}", entry.model));
    let text = std::fs::read_to_string(&entry.reference).unwrap_or_else(|e| panic!("{:?}: {e}", entry.reference));
    let llama: LlamaCpp = serde_json::from_str(&text).expect("llama.cpp's JSON");
    assert_eq!(llama.chat.len(), common::reference().chat.len(), "{kind}: one llama.cpp answer per chat case");
    let gguf = Gguf::parse(&bytes).expect("parses");
    let file = FileBytes::new(bytes.clone());
    let engine = Engine::from_gguf(file.clone(), Precision::Int8).expect("loads (8-bit path)");
    let int8 = &engine.model;
    let n_vocab = int8.config.n_vocab;
    // Each case's 8-bit logits, teacher-forced over prompt + llama.cpp's greedy answer on this file.
    let ids_of = |case: &Case| -> Vec<u32> { case.prompt_ids.iter().chain(&case.greedy_ids).copied().collect() };
    let int8_logits: Vec<Vec<f32>> = llama.chat.iter().map(|case| logits(int8, &ids_of(case))).collect();

    // The first case against the float64 forward over this file's weights, teacher-forced over
    // llama.cpp's own greedy answer on it.
    let case = &llama.chat[0];
    let ids = ids_of(case);
    let (exact_rows, reference_rows) = {
        let reference = RefModel::load(&bytes);
        let last = reference.run(&ids).hidden.pop().expect("a block");
        let rows: Vec<Vec<f64>> = (case.prompt_ids.len() - 1..ids.len() - 1)
            .map(|p| reference.logits_of(&last[p * reference.n_embd..][..reference.n_embd]))
            .collect();
        let exact = Model::load(&gguf, &file, Precision::Exact).expect("loads (exact path)");
        (logits(&exact, &ids), rows)
    };
    let int8_rows = &int8_logits[0];
    let (mut exact_errors, mut int8_errors, mut llama_errors) = (Vec::new(), Vec::new(), Vec::new());
    for (i, want) in reference_rows.iter().enumerate() {
        let at = (case.prompt_ids.len() - 1 + i) * n_vocab;
        let (exact, int8) = (&exact_rows[at..][..n_vocab], &int8_rows[at..][..n_vocab]);
        let mut top: Vec<usize> = (0..n_vocab).collect();
        top.sort_by(|&a, &b| want[b].total_cmp(&want[a]));
        for &id in &top[..5] {
            exact_errors.push((exact[id] - want[id] as f32).abs());
            int8_errors.push((int8[id] - want[id] as f32).abs());
        }
        let theirs = &case.teacher_forced[i];
        for (&id, &logit) in theirs.top5_ids.iter().zip(&theirs.top5_logits) {
            llama_errors.push((logit - want[id as usize] as f32).abs());
        }
    }
    let ((exact_mean, exact_max), (int8_mean, int8_max), (llama_mean, llama_max)) =
        (mean_max(&exact_errors), mean_max(&int8_errors), mean_max(&llama_errors));
    eprintln!(
        "{kind}: against float64 over {} positions: exact path mean {exact_mean:.5} max {exact_max:.5}; \
         8-bit path mean {int8_mean:.3} max {int8_max:.3}; llama.cpp mean {llama_mean:.3} max {llama_max:.3}",
        reference_rows.len()
    );
    assert!(exact_max <= EXACT_MAX, "{kind}: exact path max |Δ| {exact_max} > {EXACT_MAX}");
    assert!(
        int8_mean <= INT8_MEAN && int8_max <= INT8_MAX,
        "{kind}: 8-bit path mean {int8_mean} (≤ {INT8_MEAN}), max {int8_max} (≤ {INT8_MAX})"
    );

    // Every case against llama.cpp: teacher-forced top-1 where llama.cpp is confident, then greedy.
    let mut against_llama = Vec::new();
    for (case, rows) in llama.chat.iter().zip(&int8_logits) {
        for (i, theirs) in case.teacher_forced.iter().enumerate() {
            let row = &rows[(case.prompt_ids.len() - 1 + i) * n_vocab..][..n_vocab];
            for (&id, &logit) in theirs.top5_ids.iter().zip(&theirs.top5_logits) {
                against_llama.push((row[id as usize] - logit).abs());
            }
            let ours = engine::trace::top_k(row, 1)[0].0;
            assert!(
                theirs.margin < CONFIDENT_MARGIN || ours == theirs.top5_ids[0],
                "{kind} {:?} position {i}: our top token {ours}, llama.cpp's {} (its margin {})",
                case.user,
                theirs.top5_ids[0],
                theirs.margin
            );
        }
        let margin = |at: usize| [case.teacher_forced[at].margin];
        common::assert_greedy_prefix(
            &engine,
            &format!("{kind} {:?}", case.user),
            &case.prompt_ids,
            &case.greedy_ids,
            margin,
        );
    }
    let (mean, max) = mean_max(&against_llama);
    eprintln!("{kind}: 8-bit path against llama.cpp on its top 5, every case: mean {mean:.3} max {max:.3}");
}

#[test]
fn q2_k_file_from_llama_cpps_quantizer_matches_llama_cpp_and_float64() {
    matches_llama_cpp_and_float64("Q2_K");
}

#[test]
fn q3_k_m_file_from_llama_cpps_quantizer_matches_llama_cpp_and_float64() {
    matches_llama_cpp_and_float64("Q3_K_M");
}

#[test]
fn q4_k_m_file_from_llama_cpps_quantizer_matches_llama_cpp_and_float64() {
    matches_llama_cpp_and_float64("Q4_K_M");
}

#[test]
fn q5_k_m_file_from_llama_cpps_quantizer_matches_llama_cpp_and_float64() {
    matches_llama_cpp_and_float64("Q5_K_M");
}

#[test]
fn q6_k_file_from_llama_cpps_quantizer_matches_llama_cpp_and_float64() {
    matches_llama_cpp_and_float64("Q6_K");
}

#[test]
fn q4_0_file_from_llama_cpps_quantizer_matches_llama_cpp_and_float64() {
    matches_llama_cpp_and_float64("Q4_0");
}

#[test]
fn q5_0_file_from_llama_cpps_quantizer_matches_llama_cpp_and_float64() {
    matches_llama_cpp_and_float64("Q5_0");
}

#[test]
fn q5_1_file_from_llama_cpps_quantizer_matches_llama_cpp_and_float64() {
    matches_llama_cpp_and_float64("Q5_1");
}

#[test]
fn q8_0_file_from_llama_cpps_quantizer_matches_llama_cpp_and_float64() {
    matches_llama_cpp_and_float64("Q8_0");
}

#[test]
fn every_file_the_xtask_writes_is_tested_here() {
    let path = std::env::var_os("GLASSBOX_REQUANTIZED").expect("GLASSBOX_REQUANTIZED (see `entry`)");
    let manifest: Manifest = serde_json::from_str(&std::fs::read_to_string(path).expect("manifest")).expect("JSON");
    for entry in &manifest.files {
        assert!(KINDS.contains(&entry.kind.as_str()), "{} is written but not tested", entry.kind);
    }
    for kind in KINDS {
        entry(kind);
    }
}

/// Every K-quant file on the GPU (lavapipe here): the logits at every position of the first case's
/// prompt's first 16 tokens against the CPU's exact path on the same file, within the limit the default
/// model's GPU test derives (`common::gpu_vs_exact_limit`: the GPU keeps keys and values in f16).
#[test]
fn k_quant_files_from_llama_cpps_quantizer_run_on_the_gpu_as_on_the_cpu() {
    let ids = &common::reference().chat[0].prompt_ids[..16];
    for kind in ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K"] {
        let bytes = std::fs::read(entry(kind).model).expect("the file");
        let gguf = Gguf::parse(&bytes).expect("parses");
        let file = FileBytes::new(bytes.clone());
        let exact = Model::load(&gguf, &file, Precision::Exact).expect("loads");
        let cpu = logits(&exact, ids);
        let (limit, f16_effect) = common::gpu_vs_exact_limit(&exact, ids, &cpu);
        let mut engine = Engine::from_gguf(file, Precision::Exact).expect("engine");
        pollster::block_on(engine.use_gpu()).expect("no GPU adapter: install Mesa's Vulkan drivers");
        let (mut session, note) = engine.session(ids.len());
        assert!(session.is_gpu() && note.is_none(), "{kind}: expected a GPU session: {note:?}");
        let pass = pollster::block_on(session.forward(ids, LogitsFor::All, false, Readback::Logits)).expect("forward");
        let max = pass.logits.iter().zip(&cpu).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        eprintln!(
            "{kind}: GPU against the CPU's exact path over {} positions: max |Δ| {max:.4} (limit {limit:.4}: an f16 \
             cache moves the CPU's by {f16_effect:.4})",
            ids.len()
        );
        assert!(max <= limit, "{kind}: max |Δ| {max} > {limit}");
    }
}
