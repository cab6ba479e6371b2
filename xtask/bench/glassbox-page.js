// ?prompt=...&n=128[&model=<a file under /models/>][&kernels=relaxed|threads] — runs the engine in a module worker (like the
// app) and exposes the result; `kernels=relaxed`: the build with relaxed SIMD's byte dot product;
// `kernels=threads`: that build with wasm threads, on every core.
const params = new URLSearchParams(location.search);
const pkg = { relaxed: "pkg-relaxed", threads: "pkg-threads" }[params.get("kernels")] ?? "pkg";
const worker = new Worker(`./glassbox-worker.js?pkg=${pkg}`, { type: "module" });
window.benchResult = new Promise((resolve) => (worker.onmessage = (e) => resolve(e.data)));
worker.postMessage({ url: `/models/${params.get("model") ?? "SmolLM2-135M-Instruct.Q4_1.gguf"}`, prompt: params.get("prompt"), n: Number(params.get("n")) });
