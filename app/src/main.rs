//! Entry point of the page: mounts the Leptos app.

#[cfg(target_arch = "wasm32")]
fn main() {
    leptos::mount::mount_to_body(app::components::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the app runs in a browser: `cargo xtask serve` builds and serves it (see README.md)");
}
