//! Entry point of the pre-training lab's web worker.

#[cfg(target_arch = "wasm32")]
fn main() {
    use gloo_worker::Registrable;
    // `cargo xtask` builds it a second time with wasm threads (`app/src/kernels.rs`).
    #[cfg(target_feature = "atomics")]
    app::kernels::start_threads(app::kernels::Threaded::Pretrain);
    app::pretrain::PretrainWorker::registrar().register();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the pre-training worker runs in a browser: build it with `trunk build` (see README.md)");
}
