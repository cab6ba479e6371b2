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

/// Where the worker's loader script is served (Trunk's `data-loader-shim`, with `filehash = false`).
pub const WORKER_LOADER_URL: &str = "./worker_loader.js";

/// The same worker built with relaxed SIMD's kernels.
pub const WORKER_RELAXED_LOADER_URL: &str = "./worker_relaxed_loader.js";

/// A module of one function that runs `i32x4.relaxed_dot_i8x16_i7x16_add_s` on three zero vectors: a
/// browser that validates it runs the worker's relaxed SIMD build.
const RELAXED_SIMD_PROBE: [u8; 82] = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // types: () -> v128
    0x03, 0x02, 0x01, 0x00, // one function of type 0
    0x0a, 0x3d, 0x01, 0x3b, 0x00, // code: one body of 59 bytes, no locals
    0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
    0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
    0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
    0xfd, 0x93, 0x02, // i32x4.relaxed_dot_i8x16_i7x16_add_s (0xfd 0x113)
    0x0b, // end
];

/// The engine worker this browser runs: the relaxed SIMD build where the browser validates relaxed SIMD,
/// else the simd128 one.
pub fn engine_worker_url() -> &'static str {
    let probe = js_sys::Uint8Array::from(&RELAXED_SIMD_PROBE[..]);
    if js_sys::WebAssembly::validate(&probe.into()).unwrap_or(false) {
        WORKER_RELAXED_LOADER_URL
    } else {
        WORKER_LOADER_URL
    }
}

/// Where the lab worker's loader script is served.
pub const LAB_WORKER_LOADER_URL: &str = "./lab_worker_loader.js";

/// Where the pre-training lab's worker's loader script is served.
pub const PRETRAIN_WORKER_LOADER_URL: &str = "./pretrain_worker_loader.js";

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
    fn the_relaxed_simd_probe_is_one_well_formed_function() {
        let p = &RELAXED_SIMD_PROBE;
        assert_eq!(&p[..8], b"\0asm\x01\0\0\0");
        // The code section's size and its one body's size count exactly the bytes that follow them.
        assert_eq!((p[19], p[20] as usize, p[21]), (0x0a, p.len() - 21, 1));
        assert_eq!(p[22] as usize, p.len() - 23);
        assert_eq!(&p[p.len() - 4..], [0xfd, 0x93, 0x02, 0x0b], "the relaxed dot product (0xfd 0x113), then end");
    }

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
