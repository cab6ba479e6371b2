// ?prompt=...&n=128[&model=<a file under /models/>] — runs the engine in a module worker (like the app) and exposes the result.
const params = new URLSearchParams(location.search);
const worker = new Worker("./glassbox-worker.js", { type: "module" });
window.benchResult = new Promise((resolve) => (worker.onmessage = (e) => resolve(e.data)));
worker.postMessage({ url: `/models/${params.get("model") ?? "SmolLM2-135M-Instruct.Q4_1.gguf"}`, prompt: params.get("prompt"), n: Number(params.get("n")) });
