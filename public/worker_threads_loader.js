// The engine worker's build with wasm threads (app/src/kernels.rs): `cargo xtask` writes its glue
// (worker_threads.js, whose global is `wasm_bindgen_threads`) and module beside this file. Where it
// cannot start (its files missing, a browser that refuses a shared memory, say), this worker runs the
// relaxed SIMD build instead (whose global is Trunk's `wasm_bindgen`), on one core, and the status
// panel says so.
function onOneCore(err) {
  console.warn("Glassbox: the engine's build with threads cannot start here; it runs on one core.", String(err));
  importScripts("./worker_relaxed.js");
  return wasm_bindgen({ module_or_path: "./worker_relaxed_bg.wasm" });
}

try {
  importScripts("./worker_threads.js");
  wasm_bindgen_threads({ module_or_path: "./worker_threads_bg.wasm" }).catch(onOneCore);
} catch (err) {
  onOneCore(err);
}
