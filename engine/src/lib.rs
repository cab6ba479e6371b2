//! Glassbox's transformer engine. No UI code lives here: the same crate compiles natively (tests, CLI,
//! benchmarks) and to `wasm32-unknown-unknown`, where the app's worker owns it.

pub mod backend;
pub mod chat;
pub mod embedding;
pub mod error;
pub mod fill;
pub mod generate;
pub mod gguf;
pub mod lens;
pub mod model;
pub mod predict;
pub mod quant;
pub mod reward;
pub mod sample;
pub mod session;
pub mod text_stream;
pub mod thoughts;
pub mod tokenizer;
pub mod trace;
pub mod train;

pub use backend::{probe_compute, ComputeBackend};
pub use error::{EngineError, Result};
