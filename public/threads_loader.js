// Starts a worker's build with wasm threads (app/src/kernels.rs). `cargo xtask` writes each such build's
// glue (`THREADS.js`, whose global is `wasm_bindgen_threads`) and module beside this file, and a loader of
// its own (`THREADS_loader.js`, the address the page gives the worker) that imports this file and calls
// `startOnEveryCore`. Where the build cannot start (its files missing, a browser that refuses a shared
// memory, say), the worker runs Trunk's build `FALLBACK` instead (whose global is `wasm_bindgen`), on one
// core, and the page says so.
function startOnEveryCore(threads, fallback) {
  const onOneCore = (err) => {
    console.warn(`Glassbox: the build with threads of ${fallback} cannot start here; it runs on one core.`, String(err));
    importScripts(`./${fallback}.js`);
    return wasm_bindgen({ module_or_path: `./${fallback}_bg.wasm` });
  };
  try {
    importScripts(`./${threads}.js`);
    wasm_bindgen_threads({ module_or_path: `./${threads}_bg.wasm` }).catch(onOneCore);
  } catch (err) {
    onOneCore(err);
  }
}
