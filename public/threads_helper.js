// A helper thread of a worker's CPU pool (engine/src/backend/cpu/web_threads.rs). `cargo xtask` writes,
// for each build with threads, `THREADS_helper.js`, which imports that build's glue (defining
// `wasm_bindgen_threads`) and then this file: it instantiates the same module on the worker's shared
// memory, then runs the body it was given (the pool's idle loop) for the life of the page.
self.onmessage = async ({ data: [module, memory, body] }) => {
  await wasm_bindgen_threads({ module_or_path: module, memory });
  wasm_bindgen_threads.glassbox_cpu_thread(body);
};
