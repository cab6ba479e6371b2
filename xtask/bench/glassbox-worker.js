// ?pkg=pkg (simd128), pkg-relaxed (relaxed SIMD) or pkg-threads (relaxed SIMD and wasm threads, whose
// helpers run ./glassbox-thread.js): which build of the engine to run.
const pkg = ["pkg-relaxed", "pkg-threads"].find((p) => p === new URL(self.location.href).searchParams.get("pkg")) ?? "pkg";

self.onmessage = async (event) => {
  const { url, prompt, n } = event.data;
  try {
    const glue = await import(`./${pkg}/bench_wasm.js`);
    await glue.default();
    if (glue.start_threads) {
      glue.start_threads(navigator.hardwareConcurrency, new URL("./glassbox-thread.js", self.location.href).href);
    }
    self.postMessage({ ok: JSON.parse(await glue.run(url, prompt, n)) });
  } catch (err) {
    self.postMessage({ error: String(err) });
  }
};
