// ?pkg=pkg (simd128) or pkg-relaxed (relaxed SIMD): which build of the engine to run.
const pkg = new URL(self.location.href).searchParams.get("pkg") === "pkg-relaxed" ? "pkg-relaxed" : "pkg";

self.onmessage = async (event) => {
  const { url, prompt, n } = event.data;
  try {
    const { default: init, run } = await import(`./${pkg}/bench_wasm.js`);
    await init();
    self.postMessage({ ok: JSON.parse(await run(url, prompt, n)) });
  } catch (err) {
    self.postMessage({ error: String(err) });
  }
};
