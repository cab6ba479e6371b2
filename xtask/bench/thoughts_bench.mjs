// `cargo xtask bench thoughts`: the Thoughts view in headless Chromium. The page reads the built-in text
// once (tokens read per second), then trains a sparse autoencoder for each expansion given, <seconds>
// each: vectors per second (median of the page's reports) and the held-out share lost at the end. Prints
// one JSON line per expansion. Usage:
//   node thoughts_bench.mjs <url> <seconds> <expansion> [...]
import { launch, openPage, waitForModel } from "../../tests/browser.mjs";

const [url, secondsArg, ...expansions] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 60);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

const context = await launch();
try {
  const page = await openPage(context, "#thoughts", url);
  await page.getByTestId("lang-en").click();
  await waitForModel(page);
  const collectStarted = Date.now();
  await page.getByTestId("thoughts-collect").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="thoughts-collected"]')?.dataset.done === "true", null, { timeout: 300_000 });
  const collectSeconds = (Date.now() - collectStarted) / 1000;
  const vectors = Number(await page.getByTestId("thoughts-collected").getAttribute("data-vectors"));
  const status = page.getByTestId("thoughts-status");
  for (const expansion of expansions) {
    await page.getByTestId("thoughts-expansion").selectOption(expansion);
    await page.getByTestId("thoughts-train").click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="thoughts-status"]')?.dataset.step) < 50 && document.querySelector('[data-testid="thoughts-status"]')?.dataset.speed, null, { timeout: 30_000 });
    const started = Date.now();
    const speeds = [];
    while (Date.now() - started < seconds * 1000) {
      await page.waitForTimeout(1000);
      const speed = Number(await status.getAttribute("data-speed"));
      if (speed > 0) speeds.push(speed);
    }
    // The held-out share is measured every 3 s on 96 vectors.
    await page.waitForTimeout(3500);
    const heldOut = Number(await status.getAttribute("data-held-out"));
    const step = Number(await status.getAttribute("data-step"));
    await page.getByTestId("thoughts-run").click();
    console.log(JSON.stringify({ expansion: Number(expansion), vectors, collect_seconds: collectSeconds, vectors_per_s: median(speeds), held_out_fvu: heldOut, step, seconds }));
  }
} finally {
  await context.close();
}
