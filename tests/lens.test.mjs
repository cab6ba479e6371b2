// The logit lens in the page shows what `glassbox lens` computes: for every block and position, the
// likeliest next token and its probability. Both run the 8-bit path (wasm in the page, AVX2 natively),
// whose f32 sums round differently; an activation on a rounding boundary is quantized one step apart, and
// the early blocks' cells, read through the final norm, are sensitive to that: their probabilities were
// measured up to 6.7e-2 apart (with relaxed SIMD, which groups the byte products by fours, a cell's two
// likeliest moved 0.117 against each other). So: probabilities within 0.1, and the same guess wherever
// the CLI's two likeliest are more than twice that apart — closer, two probabilities each within the
// tolerance can swap (the exact path matches a float64 forward to 1.5e-4: engine/tests/native/lens.rs). Also the time a 64-token text takes in this browser, on the CPU, for the
// benchmark figures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { explained, launch, lensAgainst, lensCells, openPage, screenshot, waitForModel } from "./browser.mjs";

const CLI = process.env.GLASSBOX_CLI ?? new URL("../target/release/glassbox", import.meta.url).pathname;
const MODEL = process.env.GLASSBOX_MODEL;
const PROB_TOLERANCE = 0.1;
const CLEAR_MARGIN = 2 * PROB_TOLERANCE;


async function lensOf(page, text) {
  await page.getByTestId("game-text").fill(text);
  await page.getByTestId("game-start").click();
  await page.locator('[data-testid="game-chips"] .chip').first().waitFor({ timeout: 30_000 });
  const started = Date.now();
  await page.getByTestId("lens-game").click();
  await explained(page, "lens", () =>
    page.waitForFunction(() => document.querySelector('[data-testid="lens-status"]').dataset.done === "true", null, { timeout: 120_000 }),
  );
  return Date.now() - started;
}

/** Runs the lens on `text` in the page and checks it against `glassbox lens`; returns the CLI's answer. */
async function compared(page, text, lang) {
  await lensOf(page, text);
  const cli = JSON.parse(execFileSync(CLI, ["lens", "--model", MODEL, "--text", text, "--top", "2", "--json"]).toString().trim().split("\n").pop());
  const shown = await lensCells(page);
  assert.equal(shown.length, cli.layers.length * cli.ids.length, "one cell per block and position");
  const { worst, same, differ } = lensAgainst(shown, cli, CLEAR_MARGIN);
  assert.deepEqual(differ, [], `${lang}: the same guess wherever the CLI's is clear`);
  console.log(`# ${lang}: lens vs CLI: max |Δp| ${worst.toExponential(2)}; ${same} of ${shown.length} guesses compared (the rest near ties)`);
  assert.ok(worst <= PROB_TOLERANCE, `${lang}: max |Δp| ${worst}`);
  return cli;
}

test("the logit lens shows glassbox lens's guesses for every block and position, in French and English; a cell lists its five", async () => {
  const context = await launch();
  try {
    const page = await openPage(context, "#game");
    await waitForModel(page);
    // In French first, then in English (the page's words change; the model's guesses do not).
    await page.getByTestId("lang-fr").click();
    await compared(page, "La capitale de la France est", "fr");
    await page.getByTestId("lang-en").click();
    const text = "The capital of France is";
    const cli = await compared(page, text, "en");
    const last = cli.layers[cli.layers.length - 1][cli.ids.length - 1];
    assert.equal(last.text, " Paris", "the last block's guess is the model's own");

    // A click on a cell lists its five likeliest tokens.
    await page.locator(`[data-testid="lens-grid"] td[data-layer="${cli.layers.length - 1}"][data-pos="${cli.ids.length - 1}"]`).click();
    assert.equal(await page.locator('[data-testid="lens-cell"] li').count(), 5);
    await screenshot(page, "lens");

    // The benchmark's figure: a 64-token text (not asserted: timings belong to benchmarks).
    const long =
      "Once upon a time, in a small village by the sea, there lived an old fisherman who told stories to the children every evening. " +
      "His boat was blue, his hat was red, and his dog followed him everywhere he went. One day, a great storm came from the north and";
    const ms = await lensOf(page, long);
    const tokens = await page.locator('[data-testid="lens-grid"] thead th').count() - 1;
    console.log(`# lens over ${tokens} tokens × 30 blocks in this browser (CPU, one thread): ${(ms / 1000).toFixed(2)} s`);
    assert.deepEqual(page.errors, [], "console errors");
  } finally {
    await context.close();
  }
});
