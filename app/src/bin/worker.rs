//! Entry point of the engine's web worker.

#[cfg(target_arch = "wasm32")]
pub fn main() {
    use gloo_worker::Registrable;
    #[cfg(target_feature = "atomics")]
    app::kernels::start_threads(app::kernels::Threaded::Engine);
    app::worker::EngineWorker::registrar().register();
}

#[cfg(not(target_arch = "wasm32"))]
pub fn main() {
    eprintln!("the worker runs in a browser: build it with `trunk build` (see README.md)");
}
