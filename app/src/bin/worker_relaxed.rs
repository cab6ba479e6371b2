//! Entry point of the engine's web worker in its build with relaxed SIMD's kernels: the same worker
//! (`worker.rs`), which Trunk builds here with the `relaxed-simd` feature; the page loads it where the
//! browser validates relaxed SIMD.

#[path = "worker.rs"]
mod worker;

fn main() {
    worker::main();
}
