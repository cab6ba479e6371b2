//! Every native integration test of the engine, in one test binary: each file below was its own binary,
//! and linking twenty release binaries against wgpu, naga and tokenizers took most of CI's build time.
//! The wasm tests (`../*_wasm.rs`) stay apart: they run in a browser. Tests of every module run side by
//! side on the test harness's threads, so a fixture shared between them (the default model, a GPU
//! engine) is built once per run.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../common/mod.rs"]
mod common;

mod architectures;
mod autoencoder;
mod chat_templates;
mod cli;
mod conversation;
mod embedding;
mod fill;
mod generate;
mod gguf;
mod gpu;
mod k_quants;
mod lens;
mod model_reference;
mod predict;
mod pretrain;
mod probe;
mod quant;
mod requantized;
mod reward;
mod sae;
mod tokenizer_reference;
mod tokenizer_vocabs;
