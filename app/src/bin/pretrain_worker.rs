//! Entry point of the pre-training lab's web worker.

#[cfg(target_arch = "wasm32")]
fn main() {
    use gloo_worker::Registrable;
    app::pretrain::PretrainWorker::registrar().register();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the pre-training worker runs in a browser: build it with `trunk build` (see README.md)");
}
