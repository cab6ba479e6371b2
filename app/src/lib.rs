//! Glassbox's browser side. The UI thread (`main.rs`, `components/`) never runs the model: it sends typed
//! [`protocol::Request`]s to the web worker (`bin/worker.rs`, [`worker::EngineWorker`]), which owns the engine
//! and answers with [`protocol::Response`]s that feed Leptos signals.

pub mod components;
pub mod conversation;
pub mod doubt;
pub mod draw;
pub mod game;
pub mod i18n;
pub mod lab;
pub mod lens;
pub mod lesson;
pub mod masked;
pub mod prefer;
pub mod pretrain;
pub mod protocol;
pub mod route;
pub mod state;
pub mod store;
pub mod words;
pub mod worker;

/// Where the worker's loader script is served (Trunk's `data-loader-shim`, with `filehash = false`).
pub const WORKER_LOADER_URL: &str = "./worker_loader.js";

/// Where the lab worker's loader script is served.
pub const LAB_WORKER_LOADER_URL: &str = "./lab_worker_loader.js";

/// Where the pre-training lab's worker's loader script is served.
pub const PRETRAIN_WORKER_LOADER_URL: &str = "./pretrain_worker_loader.js";

/// Where the default model is served, same-origin, by `cargo xtask serve`.
pub const DEFAULT_MODEL_URL: &str = "./models/SmolLM2-135M-Instruct.Q4_1.gguf";

/// Cells per side of each head's thumbnail in the explorer's grid.
pub const THUMBNAIL_SIDE: usize = 24;

/// The largest model file the browser engine takes: wasm32 addresses 4 GiB in all, and the file, its
/// tokenizer and the session must fit together.
pub const MAX_MODEL_BYTES: u64 = 2_000_000_000;

/// `?gpu` in the address: run on WebGPU even on a software adapter (normally only a hardware GPU is
/// used, as the CPU engine is faster than a software one); for demonstrations and tests.
pub fn force_gpu() -> bool {
    web_sys::window().and_then(|w| w.location().search().ok()).is_some_and(|q| q.contains("gpu"))
}

/// The message for a file over [`MAX_MODEL_BYTES`].
pub fn too_large(bytes: u64) -> String {
    format!(
        "this file is {:.1} GB; the browser engine holds at most {:.1} GB",
        bytes as f64 / 1e9,
        MAX_MODEL_BYTES as f64 / 1e9
    )
}
