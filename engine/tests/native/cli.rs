//! The `glassbox` binary: JSON on its last line, one clear line and a non-zero exit on bad input.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::process::{Command, Output};

fn glassbox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glassbox")).args(args).output().expect("run glassbox")
}

fn model_path() -> String {
    common::model_bytes(); // fails loudly when the model is missing
    std::env::var("GLASSBOX_MODEL").expect("GLASSBOX_MODEL")
}

fn last_json_line(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().expect("a line")).expect("JSON")
}

#[test]
fn tokenize_prints_llama_cpp_ids_as_json() {
    let model = model_path();
    for case in common::reference().tokenize.iter().filter(|c| !c.text.is_empty()) {
        let value = last_json_line(&glassbox(&["tokenize", "--model", &model, "--text", &case.text, "--json"]));
        assert_eq!(value["ids"], serde_json::json!(case.ids), "{:?}", case.text);
    }
}

#[test]
fn generate_chat_json_has_llama_cpps_prompt_ids_and_speeds() {
    let model = model_path();
    let case = &common::reference().chat[0];
    let value = last_json_line(&glassbox(&[
        "generate",
        "--model",
        &model,
        "--prompt",
        &case.user,
        "--chat",
        "--max-tokens",
        "4",
        "--json",
    ]));
    assert_eq!(value["prompt_ids"], serde_json::json!(case.prompt_ids));
    assert_eq!(value["ids"], serde_json::json!(case.greedy_ids[..4]));
    assert!(value["text"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(value["prefill_tok_s"].as_f64().is_some_and(|v| v > 0.0));
    assert!(value["decode_tok_s"].as_f64().is_some_and(|v| v > 0.0));
}

#[test]
fn score_gives_top_k_logits_per_position_best_first() {
    let model = model_path();
    let case = &common::reference().chat[1];
    let ids: Vec<String> = case.prompt_ids.iter().chain(&case.greedy_ids[..3]).map(u32::to_string).collect();
    let value = last_json_line(&glassbox(&[
        "score",
        "--model",
        &model,
        "--ids",
        &ids.join(","),
        "--top",
        "5",
        "--exact",
        "--json",
    ]));
    let rows = value.as_array().expect("array");
    assert_eq!(rows.len(), ids.len());
    for (i, exact) in case.exact_teacher_forced[..3].iter().enumerate() {
        let row = &rows[case.prompt_ids.len() - 1 + i];
        assert_eq!(row["ids"], serde_json::json!(exact.top5_ids));
        let logits: Vec<f64> = serde_json::from_value(row["logits"].clone()).expect("logits");
        assert!(logits.windows(2).all(|w| w[0] >= w[1]));
        for (ours, want) in logits.iter().zip(&exact.top5_logits) {
            assert!((ours - *want as f64).abs() < 0.02, "{ours} vs {want}");
        }
    }
}

#[test]
fn score_attention_reports_the_last_tokens_row_as_the_engine_traces_it() {
    use engine::backend::cpu::Precision;
    use engine::model::LogitsFor;
    let model = model_path();
    let ids = &common::reference().chat[0].prompt_ids;
    let csv: Vec<String> = ids.iter().map(u32::to_string).collect();
    let value = last_json_line(&glassbox(&[
        "score",
        "--model",
        &model,
        "--ids",
        &csv.join(","),
        "--attention",
        "3,2",
        "--exact",
        "--json",
    ]));
    let cli: Vec<f32> = serde_json::from_value(value["attention"].clone()).expect("attention");
    assert_eq!(value["positions"].as_array().map(Vec::len), Some(ids.len()));

    let engine = engine::generate::Engine::from_gguf(common::model_file(), Precision::Exact).expect("model");
    let mut cache = engine.model.new_cache(ids.len());
    let out = engine.model.forward(&mut cache, ids, LogitsFor::Last, true).expect("forward");
    let trace = out.attention.expect("trace");
    let row = trace.row(3, 2, trace.n_query - 1);
    assert_eq!(cli.len(), row.len());
    // The CLI prints the engine's f32 values through JSON: equal to f32 precision.
    for (k, (a, b)) in cli.iter().zip(row).enumerate() {
        assert!((a - b).abs() <= 1e-6, "key {k}: {a} vs {b}");
    }
    assert_one_line_failure(
        &glassbox(&["score", "--model", &model, "--ids", "1,2", "--attention", "30,0"]),
        "--attention needs a layer < 30",
    );
}

fn assert_one_line_failure(out: &Output, needle: &str) {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(needle), "{stderr:?} should mention {needle:?}");
}

#[test]
fn bad_input_gets_one_clear_line_and_a_failure_exit() {
    let model = model_path();
    assert_one_line_failure(
        &glassbox(&["generate", "--model", "/no/such/model.gguf", "--prompt", "hi"]),
        "cannot read model file",
    );
    let foreign = std::env::temp_dir().join("glassbox-cli-foreign.gguf");
    std::fs::write(&foreign, b"<html>not a model</html>").expect("write");
    assert_one_line_failure(
        &glassbox(&["generate", "--model", foreign.to_str().expect("utf8"), "--prompt", "hi"]),
        "not a GGUF file",
    );
    assert_one_line_failure(&glassbox(&["generate", "--model", &model, "--prompt", ""]), "prompt is empty");
    assert_one_line_failure(
        &glassbox(&["generate", "--model", &model, "--prompt", "hi", "--threads", "0"]),
        "--threads",
    );
}

/// `--threads` splits the products over that many threads; the numbers do not depend on it: `score`'s
/// top logits at every position and `generate`'s greedy text on one and on two threads are the same,
/// digit for digit.
#[test]
fn one_thread_and_two_score_and_generate_the_same() {
    let model = model_path();
    let case = &common::reference().chat[1];
    let ids: Vec<String> = case.prompt_ids.iter().map(u32::to_string).collect();
    let on = |threads: &str| {
        let score = glassbox(&[
            "score",
            "--model",
            &model,
            "--ids",
            &ids.join(","),
            "--top",
            "5",
            "--json",
            "--threads",
            threads,
        ]);
        let text = glassbox(&[
            "generate",
            "--model",
            &model,
            "--prompt",
            "La souris",
            "--max-tokens",
            "24",
            "--json",
            "--threads",
            threads,
        ]);
        (last_json_line(&score), last_json_line(&text)["text"].clone())
    };
    let (one, two) = (on("1"), on("2"));
    assert_eq!(one.0, two.0, "score's logits");
    assert_eq!(one.1, two.1, "greedy text");
    assert!(one.1.as_str().is_some_and(|t| !t.is_empty()));
}

#[test]
fn backend_gpu_generates_and_scores_like_the_reference_with_one_submit_per_token() {
    let model = model_path();
    let case = &common::reference().chat[0];
    let args = ["--model", &model, "--backend", "gpu"];
    let run = |extra: &[&str]| {
        let mut all = vec!["generate"];
        all.extend(args);
        all.extend(["--prompt", &case.user, "--chat", "--max-tokens", "6", "--json"]);
        all.extend(extra);
        last_json_line(&glassbox(&all))
    };
    let value = run(&[]);
    assert_eq!(value["ids"], serde_json::json!(case.greedy_ids[..6]));
    assert!(value["backend"].as_str().is_some_and(|b| b != "CPU"), "{}", value["backend"]);
    assert_eq!(value["per_decode_token"]["submits"], 1.0);
    assert_eq!(value["per_decode_token"]["readbacks"], 1.0);
    assert_eq!(run(&["--exact"])["ids"], value["ids"], "--exact changes nothing on the GPU");

    let ids: Vec<String> = case.prompt_ids.iter().map(u32::to_string).collect();
    let mut all = vec!["score"];
    all.extend(args);
    let joined = ids.join(",");
    all.extend(["--ids", &joined, "--top", "1", "--json"]);
    let rows = last_json_line(&glassbox(&all));
    let last = &rows.as_array().expect("rows")[ids.len() - 1];
    assert_eq!(last["ids"][0], case.greedy_ids[0], "the last prompt position predicts the first answer token");
}
