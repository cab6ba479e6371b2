// Drives the two browser benchmark pages in headless Chromium (Debian's, flags as in the tests) and
// prints one JSON line: { glassbox: [...runs], glassbox_simd128: [...runs], wllama: [...runs], wllama_mt: [...runs] },
// runs interleaved; `glassbox` is the engine with relaxed SIMD (what the app loads in a browser that has it),
// `glassbox_simd128` its fallback build, `wllama_mt` wllama on every core (empty on one core).
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
    const result = await page.evaluate(() => window.benchResult);
    if (result.error) throw new Error(`${path}: ${result.error}`);
    return result.ok;
  } finally {
    await context.close();
  }
}

const cores = os.cpus().length;
const out = { glassbox: [], glassbox_simd128: [], wllama: [], wllama_mt: [] };
for (let i = 0; i < Number(runs); i++) {
  console.error(`browser run ${i + 1}/${runs}`);
  out.glassbox.push(await once(`bench/glassbox.html?prompt=${encodeURIComponent(prompt)}&n=${n}${file}&kernels=relaxed`));
  out.glassbox_simd128.push(await once(`bench/glassbox.html?prompt=${encodeURIComponent(prompt)}&n=${n}${file}`));
  out.wllama.push(await once(`bench/wllama.html?prompt=${encodeURIComponent(promptText)}&n=${n}${file}`));
  if (cores > 1) {
    const run = await once(`bench/wllama.html?prompt=${encodeURIComponent(promptText)}&n=${n}${file}&threads=${cores}`);
    if (!run.multi_thread) throw new Error(`wllama ran on one thread where ${cores} were asked for (is the page cross-origin isolated?)`);
    out.wllama_mt.push(run);
  }
}
console.log(JSON.stringify(out));
