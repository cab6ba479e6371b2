// Drives the two browser benchmark pages in headless Chromium (Debian's, flags as in the tests) and
// prints one JSON line: { glassbox: [...runs], glassbox_simd128: [...runs], glassbox_threads: [...runs], wllama: [...runs],
// wllama_mt: [...runs] }, runs interleaved; `glassbox` is the engine with relaxed SIMD on one thread,
// `glassbox_simd128` its fallback build, `glassbox_threads` the relaxed SIMD build with wasm threads on every
// core, `wllama_mt` wllama on every core (both empty on one core); `wllama_ids` and `wllama_mt_ids` one more run each
// that also returns the ids of wllama's tokens.
import os from "node:os";
import { launch } from "../../tests/browser.mjs";

const [base, prompt, promptText, n, runs, model] = process.argv.slice(2);
const file = `&model=${encodeURIComponent(model ?? "SmolLM2-135M-Instruct.Q4_1.gguf")}`;

async function once(path) {
  const context = await launch();
  try {
    const page = await context.newPage();
    page.on("console", (msg) => { if (msg.type() === "error") console.error(`[${path}] ${msg.text()}`); });
    await page.goto(new URL(path, base).href);
    // The page's module script sets `benchResult` once it has run.
    await page.waitForFunction(() => window.benchResult !== undefined, null, { timeout: 60_000 });
    // A worker that stops answering (say, a thread that never starts) fails the run instead of hanging it.
    const result = await page.evaluate(() =>
      Promise.race([window.benchResult, new Promise((resolve) => setTimeout(() => resolve({ error: "no answer in 300 s" }), 300_000))]),
    );
    if (result.error) throw new Error(`${path}: ${result.error}`);
    return result.ok;
  } finally {
    await context.close();
  }
}

const cores = os.cpus().length;
const out = { glassbox: [], glassbox_simd128: [], glassbox_threads: [], wllama: [], wllama_mt: [] };
for (let i = 0; i < Number(runs); i++) {
  console.error(`browser run ${i + 1}/${runs}`);
  out.glassbox.push(await once(`bench/glassbox.html?prompt=${encodeURIComponent(prompt)}&n=${n}${file}&kernels=relaxed`));
  out.glassbox_simd128.push(await once(`bench/glassbox.html?prompt=${encodeURIComponent(prompt)}&n=${n}${file}`));
  out.wllama.push(await once(`bench/wllama.html?prompt=${encodeURIComponent(promptText)}&n=${n}${file}`));
  if (cores > 1) {
    const ours = await once(`bench/glassbox.html?prompt=${encodeURIComponent(prompt)}&n=${n}${file}&kernels=threads`);
    if (ours.threads !== cores) throw new Error(`glassbox ran on ${ours.threads} threads where ${cores} were asked for`);
    // Every value is computed by the same code however a product is split: the same tokens, exactly.
    if (JSON.stringify(ours.ids) !== JSON.stringify(out.glassbox.at(-1).ids)) throw new Error("glassbox wrote other tokens on every core than on one");
    out.glassbox_threads.push(ours);
    const run = await once(`bench/wllama.html?prompt=${encodeURIComponent(promptText)}&n=${n}${file}&threads=${cores}`);
    if (!run.multi_thread) throw new Error(`wllama ran on one thread where ${cores} were asked for (is the page cross-origin isolated?)`);
    out.wllama_mt.push(run);
  }
}
// The tokens wllama wrote, in a run of their own on one thread and on every core (asking for them costs it a
// softmax per token): the benchmark checks them against the engine's before it prints a ratio.
const check = `bench/wllama.html?prompt=${encodeURIComponent(promptText)}&n=${n}${file}&ids=1`;
out.wllama_ids = await once(check);
if (cores > 1) out.wllama_mt_ids = await once(`${check}&threads=${cores}`);
console.log(JSON.stringify(out));
