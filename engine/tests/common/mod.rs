//! Shared test fixtures: the default model (path from `GLASSBOX_MODEL`, which `cargo xtask test` sets
//! after verifying the file) and llama.cpp's reference outputs in `shared/reference/`.
#![allow(dead_code)]

pub mod synthetic;

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Deserialize;

/// The reference file's content (DESIGN.md §4).
#[derive(Debug, Deserialize)]
pub struct Reference {
    pub chat: Vec<ChatCase>,
    pub tokenize: Vec<TokenizeCase>,
}

#[derive(Debug, Deserialize)]
pub struct ChatCase {
    pub user: String,
    pub prompt: String,
    pub prompt_ids: Vec<u32>,
    pub greedy_ids: Vec<u32>,
    pub teacher_forced: Vec<TopK>,
    pub exact_teacher_forced: Vec<TopK>,
}

#[derive(Debug, Deserialize)]
pub struct TopK {
    pub top5_ids: Vec<u32>,
    pub top5_logits: Vec<f32>,
    pub margin: f32,
}

#[derive(Debug, Deserialize)]
pub struct TokenizeCase {
    pub text: String,
    pub ids: Vec<u32>,
}

pub fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/reference/smollm2-135m-instruct-q4_1.reference.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        serde_json::from_str(&text).expect("reference JSON")
    })
}

/// The default model's bytes. Fails loudly (never skips) when the model is not there.
pub fn model_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = std::env::var_os("GLASSBOX_MODEL")
            .expect("GLASSBOX_MODEL is not set: run the tests with `cargo xtask test`, or set it to the model's path (`cargo xtask model` prints it)");
        std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path:?}: {e}"))
    })
}

/// The default model as the engine's shared file bytes (no copy).
pub fn model_file() -> engine::model::FileBytes {
    engine::model::FileBytes::new(model_bytes())
}
