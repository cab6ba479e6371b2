//! Entry point of the engine's web worker in its build with relaxed SIMD's kernels: the same worker
//! (`worker.rs`), which Trunk builds here with the `relaxed-simd` feature; the page loads it where the
//! browser validates relaxed SIMD. `cargo xtask` builds it a second time with wasm threads (see
//! `app/src/kernels.rs`).

#[path = "worker.rs"]
mod worker;

fn main() {
    worker::main();
}
