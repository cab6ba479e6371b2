// The map of words shows what `glassbox neighbours` computes: a word's nearest tokens over the whole
// vocabulary by cosine (the same tokens, cosines within 1e-4: both sides dequantize the same rows), an
// analogy's answer, right or wrong; the class's words on the map; a word compared in two sentences
// after each of the 30 blocks (against `glassbox neighbours --sentences`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { explained, launch, openPage, screenshot, waitForModel } from "./browser.mjs";

const CLI = process.env.GLASSBOX_CLI ?? new URL("../target/release/glassbox", import.meta.url).pathname;
const MODEL = process.env.GLASSBOX_MODEL;
const COSINE_TOLERANCE = 1e-4;
// Both sides run 8-bit activations over 30 blocks, in different summation orders (native AVX2 here, wasm
// SIMD there): measured 2e-3 to 4e-3 apart, where 8-bit and exact activations are 8e-3 apart; the curve
// itself falls by 0.2 to 0.5.
const CONTEXT_TOLERANCE = 1e-2;

const neighbours = (args) =>
  JSON.parse(execFileSync(CLI, ["neighbours", "--model", MODEL, "--top", "10", "--json", ...args]).toString().trim().split("\n").pop());

async function shownNearest(page, query) {
  await page.getByTestId("nearest-query").filter({ hasText: query }).waitFor({ timeout: 30_000 });
  return page.locator('[data-testid="nearest-list"] li').evaluateAll((lis) => lis.map((li) => ({ id: Number(li.dataset.id), cosine: Number(li.dataset.cosine) })));
}

function assertSame(shown, cli, label) {
  assert.deepEqual(shown.map((s) => s.id), cli.neighbours.map((n) => n.id), `${label}: the same tokens`);
  const worst = Math.max(...shown.map((s, i) => Math.abs(s.cosine - cli.neighbours[i].cosine)));
  assert.ok(worst <= COSINE_TOLERANCE, `${label}: max |Δ cosine| ${worst}`);
  return worst;
}

for (const [lang, words, word, analogy] of [
  ["fr", ["souris", "lion", "violet"], "souris", ["roi", "homme", "femme"]],
  ["en", ["mouse", "lion", "purple"], "mouse", ["king", "man", "woman"]],
]) {
  test(`the map of words in ${lang === "fr" ? "French" : "English"} shows glassbox neighbours's tokens and places the class's words`, async () => {
    const context = await launch();
    try {
      const page = await openPage(context, `#words?c=${words.map(encodeURIComponent).join(",")}`);
      await page.getByTestId(`lang-${lang}`).click();
      await waitForModel(page);
      await explained(page, `words-${lang}`, () => page.locator('[data-testid="word-map"] g.chosen').first().waitFor({ timeout: 30_000 }));
      const placed = await page.locator('[data-testid="word-map"] g.chosen').evaluateAll((gs) => gs.map((g) => g.dataset.word));
      assert.deepEqual(placed.sort(), [...words].sort(), "the class's words are on the map");
      assert.ok((await page.locator('[data-testid="word-map"] g:not(.chosen)').count()) >= 20, "with the reference words");

      await page.getByTestId("nearest-word").fill(word);
      await page.getByTestId("nearest").click();
      const d1 = assertSame(await shownNearest(page, word), neighbours(["--word", word]), word);

      for (const [testid, value] of [["analogy-a", analogy[0]], ["analogy-b", analogy[1]], ["analogy-c", analogy[2]]]) {
        await page.getByTestId(testid).fill(value);
      }
      await page.getByTestId("analogy").click();
      const cli = neighbours(["--word", analogy[0], "--minus", analogy[1], "--plus", analogy[2]]);
      const d2 = assertSame(await shownNearest(page, `${analogy[0]} − ${analogy[1]} + ${analogy[2]}`), cli, "analogy");
      console.log(`# ${lang}: «${word}» max |Δ cosine| ${d1.toExponential(2)}; ${analogy[0]} − ${analogy[1]} + ${analogy[2]} → ${cli.neighbours.slice(0, 3).map((n) => n.text).join(", ")} (|Δ| ${d2.toExponential(2)})`);

      // The same word in two sentences, compared after each block.
      await page.getByTestId("in-context").click();
      await page.getByTestId("context-note").and(page.locator("[data-cosines]")).waitFor({ timeout: 30_000 });
      const cosines = (await page.getByTestId("context-note").getAttribute("data-cosines")).split(",").map(Number);
      assert.equal(cosines.length, 30, "one cosine per block");
      assert.ok(cosines.every((c) => c >= -1 && c <= 1));
      assert.ok(Math.min(...cosines) < cosines[0], "the sentences pull the word's two vectors apart");
      const [cword, first, second] = await Promise.all(["context-word", "context-first", "context-second"].map((id) => page.getByTestId(id).inputValue()));
      const want = JSON.parse(execFileSync(CLI, ["neighbours", "--model", MODEL, "--json", "--word", cword, "--sentences", first, second]).toString().trim().split("\n").pop()).cosines;
      const worstContext = Math.max(...cosines.map((c, i) => Math.abs(c - want[i])));
      assert.ok(worstContext <= CONTEXT_TOLERANCE, `in context: max |Δ cosine| against glassbox neighbours --sentences ${worstContext}`);
      console.log(`# ${lang}: in context, cosine after block 0 ${cosines[0].toFixed(3)}, lowest ${Math.min(...cosines).toFixed(3)}; page vs CLI max |Δ| ${worstContext.toExponential(2)}`);
      await screenshot(page, `words-${lang}`);
      assert.deepEqual(page.errors, [], "console errors");
    } finally {
      await context.close();
    }
  });
}
