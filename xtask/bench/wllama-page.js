// ?prompt=<the rendered chat prompt>&n=128[&model=<a file under /models/>][&threads=N] — the same prompt (control tokens
// parsed), greedy, on one thread or N (wllama's multi-threaded build, which needs the page cross-origin isolated); llama-server's
// own timings.
import { Wllama } from "/wllama/esm/index.js";
const params = new URLSearchParams(location.search);
window.benchResult = (async () => {
  try {
    const wllama = new Wllama({ default: "/wllama/esm/wasm/wllama.wasm" });
    await wllama.loadModelFromUrl(new URL(`/models/${params.get("model") ?? "SmolLM2-135M-Instruct.Q4_1.gguf"}`, location.href).href, { n_threads: Number(params.get("threads") ?? 1), n_ctx: 512 });
    const res = await wllama.createCompletion({ prompt: params.get("prompt"), n_predict: Number(params.get("n")), temperature: 0, ignore_eos: true, cache_prompt: false });
    return { ok: { prefill_tok_s: res.timings.prompt_per_second, decode_tok_s: res.timings.predicted_per_second, prompt_n: res.timings.prompt_n, predicted_n: res.timings.predicted_n, threads: wllama.getNumThreads(), multi_thread: wllama.isMultithread() } };
  } catch (err) {
    return { error: String(err && err.stack ? err.stack : err) };
  }
})();
