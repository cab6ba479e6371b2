// The preference game: the class votes (here, always for the shorter answer), a reward model is fitted
// in the page after every vote, best-of-n ranks new answers by it; the exported votes given to
// `glassbox reward` give the same accuracies and the same rewards. The votes survive a reload.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { explained, launch, openPage, screenshot, waitForModel } from "./browser.mjs";

const CLI = process.env.GLASSBOX_CLI ?? new URL("../target/release/glassbox", import.meta.url).pathname;
const MODEL = process.env.GLASSBOX_MODEL;
// Features from 8-bit activations natively and in wasm (their rounding spreads over 30 blocks: a token's
// probability differs by up to 0.1 between them), through a linear score over 576 standardised features:
// rewards of ±2 to ±4 measured up to 7.8e-2 apart. So within 5 % of the largest reward (at least 0.1).
const REWARD_TOLERANCE = 0.05;
// Votes per language: the fit is the same arithmetic in either, so the English round is shorter.
const ROUNDS = { fr: 6, en: 4 };

const answersReady = (page, n) =>
  page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="prefer-answers"] .answer[data-ready="true"]').length === n && document.querySelector('[data-testid="prefer-answers"]').dataset.writing === "false",
    n,
    { timeout: 120_000 },
  );

for (const lang of ["fr", "en"]) {
  test(`the preference game in ${lang === "fr" ? "French" : "English"} fits a reward model to the class's votes, as glassbox reward does, and keeps the votes`, async () => {
    const VOTES = ROUNDS[lang];
    const context = await launch();
    try {
      const page = await openPage(context, "#prefer");
      await page.getByTestId(`lang-${lang}`).click();
      await waitForModel(page);
      await page.getByTestId("prefer-question").fill("Give me one tip to sleep better.");
      for (let round = 0; round < VOTES; round++) {
        await page.getByTestId("prefer-write").click();
        await explained(page, "prefer", () => answersReady(page, 2));
        const lengths = await page.locator('[data-testid="prefer-answers"] .answer').evaluateAll((as) => as.map((a) => Number(a.dataset.length)));
        await page.getByTestId("prefer-vote").nth(lengths[0] <= lengths[1] ? 0 : 1).click();
        await page.waitForFunction((n) => document.querySelector('[data-testid="prefer-stats"]').dataset.votes === String(n), round + 1);
      }
      const stats = page.getByTestId("prefer-stats");
      const [train, held] = [Number(await stats.getAttribute("data-train")), Number(await stats.getAttribute("data-held"))];

      // Best of three, ranked by the reward model.
      await page.getByTestId("prefer-n").selectOption("3");
      await page.getByTestId("prefer-best").click();
      await answersReady(page, 3);
      const rewards = await page.locator('[data-testid="prefer-answers"] .answer').evaluateAll((as) => as.map((a) => Number(a.dataset.reward)));
      const best = await page.locator('[data-testid="prefer-answers"] .answer').evaluateAll((as) => as.findIndex((a) => a.classList.contains("best")));
      assert.equal(best, rewards.indexOf(Math.max(...rewards)), "the best answer is the one with the highest reward");
      await screenshot(page, `prefer-${lang}`);

      // The exported votes, given to the CLI.
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("prefer-export").click()]);
      const file = join(mkdtempSync(join(tmpdir(), "glassbox-votes-")), "votes.json");
      await download.saveAs(file);
      const cli = JSON.parse(execFileSync(CLI, ["reward", "--model", MODEL, "--votes", file, "--json"]).toString().trim().split("\n").pop());
      assert.equal(cli.votes, VOTES);
      const held_out = Math.floor(VOTES / 4);
      assert.deepEqual([cli.fitted_on, cli.held_out], [VOTES - held_out, held_out], "three votes in four fitted, every fourth held out");
      const worst = Math.max(...rewards.map((r, i) => Math.abs(r - cli.scores[i])));
      const tolerance = Math.max(0.1, REWARD_TOLERANCE * Math.max(...cli.scores.map(Math.abs)));
      // The page's accuracies are the CLI's, but for votes the CLI scores within the tolerance of a tie.
      for (const [shown, heldOut, label] of [[train, false, "learned"], [held, true, "held out"]]) {
        const margins = cli.margins.filter((_, i) => (i % 4 === 3) === heldOut);
        const sure = margins.filter((m) => m > tolerance).length;
        const unsure = margins.filter((m) => Math.abs(m) <= tolerance).length;
        const right = Math.round(shown * margins.length);
        assert.ok(right >= sure && right <= sure + unsure, `${label}: the page gets ${right} of ${margins.length} right; the CLI ${sure} for sure, ${unsure} near a tie`);
      }
      assert.ok(worst <= tolerance, `rewards: page ${rewards} vs CLI ${cli.scores}: max |Δ| ${worst}`);
      console.log(`# ${lang}: ${VOTES} votes for the shorter answer: right on ${train * (VOTES - held_out)}/${VOTES - held_out} learned, ${held * held_out}/${held_out} held out; best of 3 rewards ${rewards.map((r) => r.toFixed(2)).join(", ")}; page vs CLI max |Δ| ${worst.toExponential(2)}`);

      // The votes are kept on this device; Forget forgets them.
      await page.reload();
      await page.getByTestId("prefer-stats").and(page.locator(`[data-votes="${VOTES}"]`)).waitFor({ timeout: 30_000 });
      await page.getByTestId("prefer-forget").click();
      await page.getByTestId("prefer-stats").and(page.locator('[data-votes="0"]')).waitFor();
      assert.deepEqual(page.errors, [], "console errors");
    } finally {
      await context.close();
    }
  });
}
