// The masked-word game ranks the class's words (and the model's own) as `glassbox fill` does: the same
// words and proposals, each candidate's share within 3e-2 and its sentence's log-probability within 0.5
// nats, in the same order wherever the CLI's log-probabilities are more than 1 nat apart. Both sides run
// the 8-bit path, the page in wasm and the CLI natively: their f32 sums round differently, an activation
// on a rounding boundary is quantized one step apart, and over a sentence's ten tokens that moved a
// log-probability by up to 0.36 nats (a share by 0.013) when measured. (The exact path agrees with a
// float64 forward to 1.4e-3 nats: engine/tests/native/fill.rs.) A word can be added, and one click opens the
// best word's attention in the explorer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { explained, launch, openPage, screenshot, waitForModel } from "./browser.mjs";

const CLI = process.env.GLASSBOX_CLI ?? new URL("../target/release/glassbox", import.meta.url).pathname;
const MODEL = process.env.GLASSBOX_MODEL;
const PROB_TOLERANCE = 3e-2;
const LOGPROB_TOLERANCE = 0.5;
const CLEAR_GAP = 1;

const fill = (text, words) =>
  JSON.parse(execFileSync(CLI, ["fill", "--model", MODEL, "--text", text, "--candidates", words.join(","), "--propose", "3", "--json"]).toString().trim().split("\n").pop());

const shown = (page) =>
  page.locator('[data-testid="masked-bars"] [data-word]').evaluateAll((els) => els.map((e) => ({ word: e.dataset.word, prob: Number(e.dataset.prob), logprob: Number(e.dataset.logprob) })));

function assertSame(page, cli, label) {
  assert.deepEqual(page.map((c) => c.word).sort(), cli.candidates.map((c) => c.word).sort(), `${label}: the same words`);
  const at = (word) => page.findIndex((c) => c.word === word);
  let worst = [0, 0];
  cli.candidates.forEach((want, i) => {
    const got = page[at(want.word)];
    worst = [Math.max(worst[0], Math.abs(got.prob - want.prob)), Math.max(worst[1], Math.abs(got.logprob - want.logprob))];
    for (const later of cli.candidates.slice(i + 1).filter((l) => want.logprob - l.logprob > CLEAR_GAP)) {
      assert.ok(at(want.word) < at(later.word), `${label}: «${want.word}» before «${later.word}»`);
    }
  });
  assert.ok(worst[0] <= PROB_TOLERANCE && worst[1] <= LOGPROB_TOLERANCE, `${label}: max |Δp| ${worst[0]}, max |Δ log p| ${worst[1]}`);
  return worst;
}

for (const [lang, text, words, extra] of [
  ["fr", "Paris est la capitale de la ___.", ["France", "Italie", "Espagne", "lune"], "Suisse"],
  ["en", "It is raining, take your ___.", ["umbrella", "hat", "bike", "dog"], "coat"],
]) {
  test(`the masked-word game in ${lang === "fr" ? "French" : "English"} ranks words as glassbox fill does`, async () => {
    const context = await launch();
    try {
      const page = await openPage(context, `#masked?text=${encodeURIComponent(text)}&c=${words.map(encodeURIComponent).join(",")}`);
      await page.getByTestId(`lang-${lang}`).click();
      await waitForModel(page);
      const started = Date.now();
      await explained(page, `masked-${lang}`, () => page.locator('[data-testid="masked-bars"] [data-word]').first().waitFor({ timeout: 60_000 }));
      console.log(`# ${lang}: ${words.length} words and 3 of the model's ranked in ${Date.now() - started} ms after the model loaded`);
      const cli = fill(text, words);
      let [dp, dl] = assertSame(await shown(page), cli, "the class's words");
      console.log(`# ${lang}: best «${cli.candidates[0].word}» ${(cli.candidates[0].prob * 100).toFixed(1)} %; proposed ${JSON.stringify(cli.proposed)}; max |Δp| ${dp.toExponential(2)}, |Δ log p| ${dl.toExponential(2)}`);
      await screenshot(page, `masked-${lang}`);

      // The class adds a word and asks again.
      await page.getByTestId("masked-add-text").fill(extra);
      await page.getByTestId("masked-add").click();
      await page.locator(`[data-testid="masked-candidates"] [data-word="${extra}"]`).waitFor();
      await page.getByTestId("masked-ask").click();
      await page.locator(`[data-testid="masked-bars"] [data-word="${extra}"]`).waitFor({ timeout: 60_000 });
      assertSame(await shown(page), fill(text, [...words, extra]), "with the added word");

      // One click: the best word's attention, in the explorer.
      await page.getByTestId("masked-look").click();
      await page.getByTestId("head-view").and(page.locator("[data-row]")).waitFor({ timeout: 30_000 });
      assert.equal(await page.getByTestId("read-text").inputValue(), text.replace("___", cli.candidates[0].word));
      assert.deepEqual(page.errors, [], "console errors");
    } finally {
      await context.close();
    }
  });
}
