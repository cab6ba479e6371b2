// `cargo xtask bench app`: the app in headless Chromium with the model already in this browser's cache.
// Prints medians of (1) page open → first answered token, (2) the UI's frame time while an answer is
// written, and the main thread's long tasks (> 50 ms) meanwhile, (3) decode speed with attention
// recording on and off, runs interleaved, (4) the autoencoder lab's training speed. Usage:
//   node app_bench.mjs <url> <runs> [lab]   (lab: the lab's training speed only)
import { launch, openPage, setSettings, waitForModel } from "../../tests/browser.mjs";

const [url, runsArg, only] = process.argv.slice(2);
const runs = Number(runsArg ?? 5);
const PROMPT = "Write a short story about a lighthouse keeper.";
const MAX_TOKENS = 96;
// The browser benchmark's server (the bare engine's page), when `cargo xtask bench app` started one.
const bare = process.env.GLASSBOX_BARE_URL;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (x, d = 1) => x.toFixed(d);
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

/** Opens the app once in `context` so that the model is in its cache, with greedy, fixed-length settings. */
async function firstVisit(context) {
  const first = await openPage(context, "", url);
  await waitForModel(first);
  await setSettings(first, { temperature: 0, "max-tokens": MAX_TOKENS });
  await first.close();
}

/** The bare engine's decode speed in a worker of its own (the browser benchmark's page), same prompt and length. */
async function bareSpeed(context, kernels) {
  const page = await context.newPage();
  await page.goto(new URL(`bench/glassbox.html?prompt=${encodeURIComponent(PROMPT)}&n=${MAX_TOKENS}&kernels=${kernels}`, bare).href);
  await page.waitForFunction(() => window.benchResult !== undefined, null, { timeout: 120_000 });
  const result = await page.evaluate(() => window.benchResult);
  if (result.error) throw new Error(`bare engine: ${result.error}`);
  await page.close();
  return result.ok.decode_tok_s;
}

/**
 * One answer in a fresh page: its tok/s note, the frames' intervals and the main thread's long tasks
 * meanwhile, and the time from opening the page to the first answered token. `allowed`: console errors
 * expected here.
 */
async function answer(context, trace, allowed = () => false) {
  const page = await openPage(context, "", url);
  // Every frame's interval while the page lives.
  await page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    const tick = (t) => {
      window.__frames.push(t - last);
      last = t;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    // Main-thread tasks over 50 ms (the Long Tasks API), with when they started.
    window.__long = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__long.push({ start: e.startTime, ms: e.duration });
    }).observe({ type: "longtask" });
  });
  await page.getByTestId("send").waitFor();
  await page.waitForFunction(() => !document.querySelector('[data-testid="send"]').disabled, null, { timeout: 60_000 });
  // Each answer in a conversation of its own, as the bare engine's: the page restores the last
  // conversation, and a question asked after it would decode over a longer context.
  const fresh = page.getByTestId("new-conversation");
  if (await fresh.isEnabled()) await fresh.click();
  const checkbox = page.getByTestId("trace");
  if ((await checkbox.isChecked()) !== trace) {
    await page.locator('[data-testid="settings"] summary').click();
    await checkbox.setChecked(trace);
  }
  await page.getByTestId("prompt").fill(PROMPT);
  await page.evaluate(() => {
    window.__framesFrom = window.__frames.length;
    window.__sentAt = performance.now();
  });
  await page.getByTestId("prompt").press("Enter");
  // performance.now() counts from the navigation's start.
  const t = await page.waitForFunction(() => document.querySelector(".chip.answer") && performance.now(), null, { timeout: 60_000 });
  const firstToken = await t.jsonValue();
  await page.getByTestId("chat-note").filter({ hasText: "tokens per second" }).waitFor({ timeout: 120_000 });
  const note = await page.getByTestId("chat-note").textContent();
  const speed = Number(note.match(/([\d.]+) tokens per second/)[1]);
  const frames = await page.evaluate(() => window.__frames.slice(window.__framesFrom));
  const longTasks = await page.evaluate(() => window.__long.filter((e) => e.start >= window.__sentAt).map((e) => e.ms));
  const tokens = await page.locator(".chip.answer").count();
  const cores = (await page.getByTestId("engine-backend").textContent()).match(/on (\d+) core/)?.[1] ?? "?";
  const errors = page.errors.filter((e) => !allowed(e));
  if (errors.length) throw new Error(`console errors: ${errors.join("; ")}`);
  await page.close();
  return { speed, frames, longTasks, firstToken, cores, tokens };
}

const context = await launch();
// The same page where the engine's build with threads cannot start (its module held back): one core.
const oneCore = await launch();
try {
  if (only !== "lab") {
    await oneCore.route("**/worker_threads_bg.wasm", (route) => route.fulfill({ status: 404, body: "held back by the benchmark" }));
    await firstVisit(context);
    await firstVisit(oneCore);

    const firstToken = [];
    const frames = [];
    const speed = { on: [], off: [], bare: [], oneCore: [], bareOne: [] };
    const longTasks = [];
    let [answers, cores] = [0, "?"];
    const lengths = [];
    for (let r = 0; r < runs; r++) {
      if (bare) {
        speed.bare.push(await bareSpeed(context, "threads"));
        speed.bareOne.push(await bareSpeed(context, "relaxed"));
      }
      for (const trace of [true, false]) {
        const a = await answer(context, trace);
        speed[trace ? "on" : "off"].push(a.speed);
        frames.push(...a.frames);
        longTasks.push(...a.longTasks);
        if (trace) firstToken.push(a.firstToken);
        cores = a.cores;
        lengths.push(a.tokens);
        answers += 1;
      }
      speed.oneCore.push((await answer(oneCore, false, (e) => e.includes("404"))).speed);
    }
    console.log(`runs: ${runs} (attention recording on and off, interleaved); model from this browser's cache; each answer in a new conversation (${lengths.join(", ")} tokens; the bare engine writes ${MAX_TOKENS})`);
    console.log(`page open → first answered token: median ${f(median(firstToken), 0)} ms (runs: ${firstToken.map((x) => f(x, 0)).join(", ")})`);
    console.log(`frame time while writing: median ${f(median(frames))} ms, p95 ${f(quantile(frames, 0.95))} ms, max ${f(Math.max(...frames))} ms over ${frames.length} frames`);
    console.log(
      `main-thread long tasks (> 50 ms) while answering: ${longTasks.length} over ${answers} answers` +
        (longTasks.length ? ` (longest ${f(Math.max(...longTasks), 0)} ms)` : ""),
    );
    const on = median(speed.on);
    const off = median(speed.off);
    console.log(`decode on ${cores} cores: ${f(on)} tok/s with attention recorded, ${f(off)} tok/s without: recording costs ${f((1 - on / off) * 100)} %`);
    if (bare) {
      const engine = median(speed.bare);
      console.log(`the bare engine (its build with threads) in a worker of its own, same browser, runs interleaved: ${f(engine)} tok/s; the page without recording = ${f(off / engine, 2)}× of it, with recording ${f(on / engine, 2)}×`);
      const one = median(speed.bareOne);
      const page = median(speed.oneCore);
      console.log(`on one core (the build with threads held back; the bare engine's relaxed SIMD build): page ${f(page)} tok/s without recording, bare engine ${f(one)} tok/s: ${f(page / one, 2)}×`);
    }
  }

  // The autoencoder lab: training speed in the browser (its own worker), faces with a 2-number code,
  // then digits with 8; read from the page's own report after a warm-up.
  const lab = await openPage(context, "#lab", url);
  const rate = async () => {
    await lab.waitForTimeout(6_000);
    const samples = [];
    for (let i = 0; i < 5; i++) {
      await lab.waitForTimeout(1_000);
      samples.push(Number(await lab.getByTestId("lab-status").getAttribute("data-steps-per-s")));
    }
    return median(samples);
  };
  await lab.getByTestId("lab").waitFor();
  const faces = await rate();
  await lab.getByTestId("lab-data").selectOption("digits");
  await lab.getByTestId("lab-latent").fill("8");
  await lab.getByTestId("lab-latent").dispatchEvent("change");
  const digits = await rate();
  const labCores = await lab.getByTestId("lab-status").getAttribute("data-cores");
  console.log(`lab (wasm, its own worker, on ${labCores} cores): ${f(faces, 0)} pair-steps/s on faces (code 2), ${f(digits, 0)} on digits (code 8); a pair-step is one Adam step of each model on a batch of 32`);
} finally {
  await context.close();
  await oneCore.close();
}
