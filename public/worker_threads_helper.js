// A helper thread of the engine's CPU pool, started by the engine worker's build with wasm threads
// (engine/src/backend/cpu/web_threads.rs): it instantiates the same module on the worker's shared
// memory, then runs the body it was given (the pool's idle loop) for the life of the page.
importScripts("./worker_threads.js"); // defines wasm_bindgen_threads
self.onmessage = async ({ data: [module, memory, body] }) => {
  await wasm_bindgen_threads({ module_or_path: module, memory });
  wasm_bindgen_threads.glassbox_cpu_thread(body);
};
