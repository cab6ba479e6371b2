// The engine worker's build with wasm threads (app/src/kernels.rs): `cargo xtask` writes its glue
// (worker_threads.js) and module beside this file. It is chosen only once its module has compiled and
// this browser has granted a shared memory; otherwise this worker runs the relaxed SIMD build, on one
// core, and the status panel says so. (Each build's glue declares the same global, so only one of
// them may ever be imported here.)
async function threadedModule() {
  const response = await fetch("./worker_threads_bg.wasm");
  if (!response.ok) throw new Error(`HTTP ${response.status} for worker_threads_bg.wasm`);
  const module = await WebAssembly.compile(await response.arrayBuffer());
  new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  return module;
}

threadedModule().then(
  (module) => {
    importScripts("./worker_threads.js");
    return wasm_bindgen({ module_or_path: module });
  },
  (err) => {
    console.warn("Glassbox: the engine's build with threads cannot start here; it runs on one core.", String(err));
    importScripts("./worker_relaxed.js");
    return wasm_bindgen({ module_or_path: "./worker_relaxed_bg.wasm" });
  },
);
