import init, { run } from "./pkg/bench_wasm.js";

self.onmessage = async (event) => {
  const { url, prompt, n } = event.data;
  try {
    await init();
    self.postMessage({ ok: JSON.parse(await run(url, prompt, n)) });
  } catch (err) {
    self.postMessage({ error: String(err) });
  }
};
