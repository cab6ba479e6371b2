//! Entry point of the autoencoder lab's web worker.

#[cfg(target_arch = "wasm32")]
fn main() {
    use gloo_worker::Registrable;
    app::lab::LabWorker::registrar().register();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the lab worker runs in a browser: build it with `trunk build` (see README.md)");
}
