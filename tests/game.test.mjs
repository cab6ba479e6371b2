// The next-word game and the live sampling view show the engine's own numbers: the ten likeliest tokens,
// a guess's probability and rank, and the distribution three sampling settings draw from, each equal to
// `glassbox next` (the same exact path, natively) within 1e-3; a click continues the text, Undo goes
// back, a roll is reproducible by its seed, three answers are written side by side.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { explained, launch, openPage, screenshot, waitForModel } from "./browser.mjs";

const CLI = process.env.GLASSBOX_CLI ?? new URL("../target/release/glassbox", import.meta.url).pathname;
const MODEL = process.env.GLASSBOX_MODEL;
// Both sides run the f32 path (wasm simd128 in the page, AVX2 natively); their sums round differently.
const PROB_TOLERANCE = 1e-3;

const cli = (args) => JSON.parse(execFileSync(CLI, ["next", "--model", MODEL, "--json", ...args]).toString().trim().split("\n").pop());

const bars = (page, testid) =>
  page.locator(`[data-testid="${testid}"] [data-id]`).evaluateAll((els) => els.map((e) => ({ id: Number(e.dataset.id), prob: Number(e.dataset.prob) })));

/** Sets a range input and fires its input event, as a drag would. */
async function slide(page, testid, value) {
  await page.getByTestId(testid).evaluate((el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }, value);
}

function assertSameBars(page, cliTop, label) {
  assert.equal(page.length, cliTop.length, `${label}: as many bars`);
  let worst = 0;
  page.forEach((bar, i) => {
    assert.equal(bar.id, cliTop[i].id, `${label}: bar ${i} is the CLI's token`);
    worst = Math.max(worst, Math.abs(bar.prob - cliTop[i].prob));
  });
  assert.ok(worst <= PROB_TOLERANCE, `${label}: max |Δp| ${worst}`);
  return worst;
}

for (const [lang, text, guess] of [
  ["fr", "Un, deux, trois, quatre,", "cinq"],
  ["en", "Once upon a time, there was a little", "dragon"],
]) {
  test(`the game in ${lang === "fr" ? "French" : "English"} shows glassbox next's top ten, a guess's probability and rank, and the sampled distribution`, async () => {
    const context = await launch();
    try {
      const page = await openPage(context, "#game");
      await page.getByTestId(`lang-${lang}`).click();
      await waitForModel(page);
      await page.getByTestId("game-text").fill(text);
      await page.getByTestId("game-start").click();
      await page.locator('[data-testid="game-chips"] .chip').first().waitFor({ timeout: 30_000 });
      assert.equal(await page.getByTestId("game-bars").isVisible(), false, "the distribution is hidden until revealed");

      await page.getByTestId("game-guess").fill(guess);
      await page.getByTestId("game-reveal").click();
      await explained(page, `game-${lang}`, () => page.getByTestId("guess-result").waitFor({ state: "visible", timeout: 30_000 }));
      const reference = cli(["--text", text, "--top", "10", "--guess", guess]);
      const worst = assertSameBars(await bars(page, "game-bars"), reference.top, "top ten");
      const result = page.getByTestId("guess-result");
      assert.equal(Number(await result.getAttribute("data-rank")), reference.guess.rank, "the guess's rank");
      const prob = Number(await result.getAttribute("data-prob"));
      assert.ok(Math.abs(prob - reference.guess.prob) <= PROB_TOLERANCE, `guess p ${prob} vs ${reference.guess.prob}`);
      console.log(`# ${lang}: top ten max |Δp| ${worst.toExponential(2)}; «${guess}» p ${prob.toExponential(3)} (CLI ${reference.guess.prob.toExponential(3)}), rank ${reference.guess.rank}, ${reference.guess.pieces.length} pieces`);
      if (reference.guess.pieces.length > 1) assert.match(await result.textContent(), lang === "fr" ? /produit/ : /product/);
      await screenshot(page, `game-${lang}`);

      // The sampling view: three settings, each against the CLI's reshaped distribution.
      await page.locator('[data-testid="sampling"] summary').click();
      for (const [t, k, p] of [[0.7, 0, 1], [1.5, 20, 1], [1, 50, 0.8]]) {
        await slide(page, "sampling-temperature", t);
        await slide(page, "sampling-top-k", k);
        await slide(page, "sampling-top-p", p);
        const sampled = cli(["--text", text, "--top", "10", "--temperature", String(t), "--top-k", String(k), "--top-p", String(p)]).sampled;
        await page.waitForFunction((kept) => document.querySelector('[data-testid="sampled-kept"]').dataset.kept === String(kept), sampled.kept, { timeout: 5_000 });
        const d = assertSameBars(await bars(page, "sampled-bars"), sampled.top, `T ${t}, top-k ${k}, top-p ${p}`);
        console.log(`# ${lang}: T ${t}, top-k ${k}, top-p ${p}: ${sampled.kept} kept, max |Δp| ${d.toExponential(2)}`);
      }
      // Temperature 0: a single bar.
      await slide(page, "sampling-temperature", 0);
      assert.deepEqual((await bars(page, "sampled-bars")).map((b) => b.prob > 0), [true, ...Array(9).fill(false)]);
      // Back to the model's own distribution (a fresh page's settings) for the reproducible roll below.
      await slide(page, "sampling-temperature", 1);
      await slide(page, "sampling-top-k", 0);
      await slide(page, "sampling-top-p", 1);
      await screenshot(page, `game-${lang}-sampling`);

      // A click on a bar continues with that token; Undo goes back.
      const chips = page.locator('[data-testid="game-chips"] .chip');
      const before = await chips.count();
      const second = reference.top[1];
      await page.locator(`[data-testid="game-bars"] [data-id="${second.id}"]`).click();
      await page.locator(`[data-testid="game-chips"] .chip.added[data-id="${second.id}"]`).waitFor();
      assert.equal(await chips.count(), before + 1);
      await page.getByTestId("game-undo").click();
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="game-chips"] .chip').length === n, before);

      // Roll draws with the shown seed: the same seed draws the same token in a fresh page.
      await page.waitForFunction(() => !document.querySelector('[data-testid="roll"]').disabled);
      await page.getByTestId("roll").click();
      await page.getByTestId("rolled").and(page.locator("[data-seed]")).waitFor();
      const rolled = await page.locator('[data-testid="game-chips"] .chip.added').last().getAttribute("data-id");
      assert.equal(await page.getByTestId("rolled").getAttribute("data-seed"), "1");
      const again = await openPage(context, "#game");
      await waitForModel(again);
      await again.getByTestId("game-text").fill(text);
      await again.getByTestId("game-start").click();
      await again.locator('[data-testid="sampling"] summary').click();
      await again.waitForFunction(() => !document.querySelector('[data-testid="roll"]').disabled, null, { timeout: 30_000 });
      await again.getByTestId("roll").click();
      await again.locator('[data-testid="game-chips"] .chip.added').first().waitFor();
      assert.equal(await again.locator('[data-testid="game-chips"] .chip.added').last().getAttribute("data-id"), rolled, "seed 1 draws the same token");
      await again.close();

      // Auto plays on by itself, one drawn token after another, until stopped.
      await page.getByTestId("game-auto").click();
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="game-chips"] .chip').length >= n + 2, await chips.count(), { timeout: 30_000 });
      await page.getByTestId("game-auto").click();
      while ((await chips.count()) > before + 1) {
        await page.waitForFunction(() => !document.querySelector('[data-testid="game-undo"]').disabled);
        const n = await chips.count();
        await page.getByTestId("game-undo").click();
        await page.waitForFunction((n) => document.querySelectorAll('[data-testid="game-chips"] .chip').length < n, n);
      }

      // Three answers, side by side, each with its seed.
      await page.getByTestId("three-answers").click();
      await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="answers"] .answer')].filter((a) => a.classList.contains("done")).length === 3, null, { timeout: 120_000 });
      const answers = await page.locator('[data-testid="answers"] .answer strong').allTextContents();
      assert.equal(answers.length, 3);
      assert.ok(new Set(answers).size > 1, `three seeds, not three identical answers: ${JSON.stringify(answers)}`);
      await screenshot(page, `game-${lang}-answers`);
      assert.deepEqual(page.errors, [], "console errors");
    } finally {
      await context.close();
    }
  });
}
