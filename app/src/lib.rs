//! Glassbox's browser side. The UI thread (`main.rs`, `components/`) never runs the model: it sends typed
//! [`protocol::Request`]s to the web worker (`bin/worker.rs`, [`worker::EngineWorker`]), which owns the engine
//! and answers with [`protocol::Response`]s that feed Leptos signals.

pub mod components;
pub mod conversation;
pub mod doubt;
pub mod draw;
pub mod game;
pub mod i18n;
pub mod kernels;
pub mod lab;
pub mod lens;
pub mod lesson;
pub mod masked;
pub mod pause;
pub mod prefer;
pub mod preflight;
pub mod presence;
pub mod pretrain;
pub mod protocol;
pub mod route;
pub mod state;
pub mod store;
pub mod thoughts;
pub mod thoughts_store;
pub mod trainer_gpu;
pub mod words;
pub mod worker;

pub use kernels::{engine_worker_url, lab_worker_url, pretrain_worker_url};

/// Where the default model is served, same-origin, by `cargo xtask serve`.
pub const DEFAULT_MODEL_URL: &str = "./models/SmolLM2-135M-Instruct.Q4_1.gguf";

/// The default model's size and sha256 (as `cargo xtask model` verifies it): this browser's kept copy is
/// checked against them before use, and fetched again when it does not match.
pub const DEFAULT_MODEL_BYTES: u64 = 98_362_432;
/// See [`DEFAULT_MODEL_BYTES`].
pub const DEFAULT_MODEL_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

/// Whether `bytes` are the default model: the size first (cheap), then the sha256.
pub fn is_default_model(bytes: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    if bytes.len() as u64 != DEFAULT_MODEL_BYTES {
        return false;
    }
    let digest: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    digest == DEFAULT_MODEL_SHA256
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_models_checksum_is_the_one_xtask_verifies_and_it_recognises_the_file() {
        let xtask = include_str!("../../xtask/src/model.rs");
        assert!(xtask.contains(DEFAULT_MODEL_SHA256) && xtask.contains("98_362_432"), "one checksum for both");
        let path = std::env::var_os("GLASSBOX_MODEL").expect("GLASSBOX_MODEL: run the tests with `cargo xtask test`");
        let mut bytes = std::fs::read(path).expect("the default model");
        assert!(is_default_model(&bytes));
        bytes[1_000_000] ^= 1;
        assert!(!is_default_model(&bytes), "one bit changed");
        assert!(!is_default_model(&bytes[..bytes.len() - 1]), "cut short");
    }
}
