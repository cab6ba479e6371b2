// `cargo xtask bench labs`: how long the teaching labs make a class wait, in headless Chromium on the CPU:
// the logit lens over a text of about 64 tokens (every block × every position, from the click to the
// first block's row and to the last cell) and the masked-word game with ten candidate words and the
// model's own three (from the click to the bars). Prints one JSON line with every run's milliseconds. Usage:
//   node labs_bench.mjs <url> <runs> <lens text> <masked sentence> <comma-separated words>
import { launch, openPage, waitForModel } from "../../tests/browser.mjs";

const [url, runsArg, lensText, sentence, words] = process.argv.slice(2);
const runs = Number(runsArg ?? 5);

const context = await launch();
try {
  const page = await openPage(context, "#game", url);
  await page.getByTestId("lang-en").click();
  await waitForModel(page);
  await page.getByTestId("game-text").fill(lensText);
  await page.getByTestId("game-start").click();
  await page.locator('[data-testid="game-chips"] .chip').first().waitFor({ timeout: 60_000 });
  const lens = [];
  const firstRow = [];
  let tokens = 0;
  let onGpu = false;
  for (let i = 0; i < runs; i++) {
    const started = Date.now();
    await page.getByTestId("lens-game").click();
    // The rows arrive block by block: the first shown while the lens is still busy (a new run clears
    // the grid when it starts).
    await page.waitForFunction(
      () => document.querySelector('[data-testid="lens-status"]')?.dataset.done === "false" && document.querySelectorAll('[data-testid="lens-grid"] tbody tr').length >= 1,
      null,
      { timeout: 300_000, polling: 10 },
    );
    firstRow.push(Date.now() - started);
    await page.waitForFunction(() => document.querySelector('[data-testid="lens-status"]')?.dataset.done === "true", null, { timeout: 300_000 });
    lens.push(Date.now() - started);
    tokens = (await page.locator('[data-testid="lens-grid"] thead th').count()) - 1;
    onGpu = (await page.getByTestId("lens-status").getAttribute("data-on-gpu")) === "true";
    // Back to the game, so the next click starts the lens again.
    await page.getByTestId("game-start").click();
    await page.locator('[data-testid="game-chips"] .chip').first().waitFor({ timeout: 60_000 });
  }
  await page.close();

  const masked = await openPage(context, `#masked?text=${encodeURIComponent(sentence)}&c=${words}`, url);
  await waitForModel(masked);
  const bars = masked.locator('[data-testid="masked-bars"] [data-word]');
  await bars.first().waitFor({ timeout: 120_000 });
  await masked.waitForFunction(() => !document.querySelector('[data-testid="masked-ask"]').disabled, null, { timeout: 120_000 });
  const fill = [];
  const ask = masked.getByTestId("masked-ask");
  for (let i = 0; i < runs; i++) {
    // The button is disabled while the worker ranks the words (the page redraws the bars in place).
    const started = Date.now();
    await ask.click();
    await masked.waitForFunction(() => document.querySelector('[data-testid="masked-ask"]').disabled, null, { timeout: 10_000 });
    await masked.waitForFunction(() => !document.querySelector('[data-testid="masked-ask"]').disabled, null, { timeout: 120_000 });
    fill.push(Date.now() - started);
  }
  const ranked = await bars.count();
  // "on 2 cores", or "on 1 core" and why, as the status panel says.
  const threads = (await masked.getByTestId("engine-backend").textContent()).match(/on \d+ cores?[^;]*/)?.[0] ?? "?";
  console.log(JSON.stringify({ threads, lens_ms: lens, lens_first_row_ms: firstRow, lens_tokens: tokens, lens_on_gpu: onGpu, fill_ms: fill, fill_words: ranked }));
} finally {
  await context.close();
}
