//! The CPU pool's threads in the browser, in a build with wasm threads (`+atomics`: the memory is a
//! `SharedArrayBuffer`, which the browser grants a cross-origin isolated page only).
//!
//! Each thread is a web worker running a small script of the host's (`script`): it receives this
//! module, its memory and the address of the thread's body, instantiates the module on that memory
//! (wasm-bindgen gives the new instance its own stack and thread-locals) and calls
//! [`glassbox_cpu_thread`], which runs the body: the pool's idle loop, for the life of the page.
//!
//! The script, for a `--target web` build whose glue is `glue.js`:
//! ```js
//! self.onmessage = async ({ data: [module, memory, body] }) => {
//!   const glue = await import("./glue.js");
//!   await glue.default({ module_or_path: module, memory });
//!   glue.glassbox_cpu_thread(body);
//! };
//! ```

use wasm_bindgen::prelude::*;

use super::pool::{self, Pool};

/// A thread's body, boxed twice so that its address fits in one number.
type Body = Box<dyn FnOnce() + Send>;

/// Runs the body at `body` (an address [`start_shared_pool`] posted): called once by each thread's
/// script after it instantiated the module on the shared memory.
///
/// For those scripts only: any other address, or a second call with one, is undefined behaviour
/// (exported functions cannot be `unsafe`).
#[doc(hidden)]
#[wasm_bindgen]
pub fn glassbox_cpu_thread(body: u32) {
    // SAFETY: `body` is the address of a `Box<Body>` that `start_worker` leaked for this call alone
    // (each address is posted to one worker, which calls this once).
    let body = unsafe { Box::from_raw(body as usize as *mut Body) };
    body();
}

/// Whether this page may share memory between workers (a cross-origin isolated page).
pub fn can_share_memory() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crossOriginIsolated")).is_ok_and(|v| v.is_truthy())
}

/// Starts the engine's shared pool with `threads` threads in all (this one and `threads - 1` web
/// workers running `script`), and returns how many it has: 1 where the page is not cross-origin
/// isolated, where a worker could not start, or where the shared pool already started.
pub fn start_shared_pool(threads: usize, script: &str) -> usize {
    if threads < 2 || !can_share_memory() {
        return pool::shared().threads();
    }
    // A panic aborts its thread here: the pool's caller must learn of it rather than wait for it.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        pool::note_panic();
        previous(info);
    }));
    let pool = Pool::started_by(threads, |_, body| start_worker(script, body).is_ok());
    // Where the shared pool already started, the new workers return from their loop as this one drops.
    let _ = pool::set_shared(pool);
    pool::shared().threads()
}

/// Starts one web worker running `script` and posts it what it needs to run `body`.
fn start_worker(script: &str, body: Body) -> Result<(), JsValue> {
    let options = web_sys::WorkerOptions::new();
    options.set_type(web_sys::WorkerType::Classic);
    let worker = web_sys::Worker::new_with_options(script, &options)?;
    let address = Box::into_raw(Box::new(body));
    let message =
        js_sys::Array::of3(&wasm_bindgen::module(), &wasm_bindgen::memory(), &JsValue::from(address as usize as u32));
    if let Err(e) = worker.post_message(&message) {
        // SAFETY: the message did not go, so no worker will take the body: reclaim it here.
        drop(unsafe { Box::from_raw(address) });
        worker.terminate();
        return Err(e);
    }
    Ok(())
}
