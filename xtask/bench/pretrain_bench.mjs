// `cargo xtask bench pretrain`: the pre-training lab in headless Chromium, for each model size given:
// characters trained per second (median of the page's reports) and the held-out loss after 60 s and after
// the whole run. Prints one JSON line per size. With `--gpu`, the page trains on WebGPU (`?gpu`: any
// adapter, headless Chromium's SwiftShader too). Usage:
//   node pretrain_bench.mjs <url> <seconds> [--gpu] <layers,width,heads,context> [...]
import { launch, openPage } from "../../tests/browser.mjs";

const [url, secondsArg, ...rest] = process.argv.slice(2);
const gpu = rest.includes("--gpu");
const sizes = rest.filter((a) => a !== "--gpu");
const seconds = Number(secondsArg ?? 300);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

const context = await launch();
try {
  for (const size of sizes) {
    const [layers, width, heads, ctx] = size.split(",");
    const page = await openPage(context, gpu ? "?gpu#pretrain" : "#pretrain", url);
    await page.getByTestId("lang-en").click();
    for (const [id, value] of [["layers", layers], ["width", width], ["heads", heads], ["context", ctx]]) {
      await page.getByTestId(`pretrain-${id}`).selectOption(value);
    }
    const status = page.getByTestId("pretrain-status");
    await page.waitForFunction(() => document.querySelector('[data-testid="pretrain-status"]')?.dataset.run, null, { timeout: 120_000 });
    const oldRun = await status.getAttribute("data-run");
    await page.getByTestId("pretrain-start").click();
    await page.waitForFunction((old) => document.querySelector('[data-testid="pretrain-status"]').dataset.run !== old, oldRun, { timeout: 30_000 });
    const started = Date.now();
    const speeds = [];
    let at60 = null;
    while (Date.now() - started < seconds * 1000) {
      await page.waitForTimeout(1000);
      const speed = Number(await status.getAttribute("data-speed"));
      if (speed > 0) speeds.push(speed);
      if (at60 === null && Date.now() - started >= 60_000) {
        at60 = { step: Number(await status.getAttribute("data-step")), held_out: Number(await status.getAttribute("data-held-out")) };
      }
    }
    const end = { step: Number(await status.getAttribute("data-step")), held_out: Number(await status.getAttribute("data-held-out")) };
    const parameters = Number(await page.getByTestId("pretrain-model").getAttribute("data-parameters"));
    const unigram = Number(await status.getAttribute("data-unigram"));
    const onGpu = (await status.getAttribute("data-on-gpu")) === "true";
    if (gpu && !onGpu) throw new Error(`size ${size}: the page did not train on WebGPU`);
    console.log(JSON.stringify({ size, parameters, unigram, chars_per_s: median(speeds), at60, end, seconds, on_gpu: onGpu }));
    await page.close();
  }
} finally {
  await context.close();
}
