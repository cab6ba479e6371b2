// A helper thread of the engine's CPU pool in the build with wasm threads (a classic worker): it
// instantiates the engine's module on the shared memory and runs the body it was given, the pool's idle
// loop, for good (engine/src/backend/cpu/web_threads.rs).
self.onmessage = async ({ data: [module, memory, body] }) => {
  const glue = await import("./pkg-threads/bench_wasm.js");
  await glue.default({ module_or_path: module, memory });
  glue.glassbox_cpu_thread(body);
};
