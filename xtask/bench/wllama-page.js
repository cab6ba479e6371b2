// ?prompt=<the rendered chat prompt>&n=128[&model=<a file under /models/>][&threads=N][&ids=1] — the same prompt (control tokens
// parsed), greedy, on one thread or N (wllama's multi-threaded build, which needs the page cross-origin isolated); llama-server's
// own timings. With `ids=1`, also the ids of the tokens it wrote (from the top log-probability of each, which costs it a softmax
// per token, so the benchmark asks for them in a run of their own, not in the timed ones) and checks them against the engine's.
import { Wllama } from "/wllama/esm/index.js";
const params = new URLSearchParams(location.search);
const withIds = params.get("ids") === "1";
window.benchResult = (async () => {
  try {
    const wllama = new Wllama({ default: "/wllama/esm/wasm/wllama.wasm" });
    await wllama.loadModelFromUrl(new URL(`/models/${params.get("model") ?? "SmolLM2-135M-Instruct.Q4_1.gguf"}`, location.href).href, { n_threads: Number(params.get("threads") ?? 1), n_ctx: 512 });
    const res = await wllama.createCompletion({ prompt: params.get("prompt"), n_predict: Number(params.get("n")), temperature: 0, ignore_eos: true, cache_prompt: false, ...(withIds ? { logprobs: 1 } : {}) });
    const ids = withIds ? (res.choices?.[0]?.logprobs?.content ?? []).map((c) => c.id) : undefined;
    return { ok: { prefill_tok_s: res.timings.prompt_per_second, decode_tok_s: res.timings.predicted_per_second, prompt_n: res.timings.prompt_n, predicted_n: res.timings.predicted_n, threads: wllama.getNumThreads(), multi_thread: wllama.isMultithread(), ids } };
  } catch (err) {
    return { error: String(err && err.stack ? err.stack : err) };
  }
})();
