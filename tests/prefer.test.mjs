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
// probability differs by up to 0.1 between them), through a linear score over 576 standardised features
// (rewards of about ±2 here; measured 3.5e-2 apart).
const REWARD_TOLERANCE = 0.1;
const VOTES = 8;

const answersReady = (page, n) =>
  page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="prefer-answers"] .answer[data-ready="true"]').length === n && document.querySelector('[data-testid="prefer-answers"]').dataset.writing === "false",
    n,
    { timeout: 120_000 },
  );

test("the preference game fits a reward model to the class's votes, as glassbox reward does, and keeps the votes", async () => {
  const context = await launch();
  try {
    const page = await openPage(context, "#prefer");
    await page.getByTestId("lang-en").click();
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
    await screenshot(page, "prefer");

    // The exported votes, given to the CLI.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("prefer-export").click()]);
    const file = join(mkdtempSync(join(tmpdir(), "glassbox-votes-")), "votes.json");
    await download.saveAs(file);
    const cli = JSON.parse(execFileSync(CLI, ["reward", "--model", MODEL, "--votes", file, "--json"]).toString().trim().split("\n").pop());
    assert.equal(cli.votes, VOTES);
    assert.deepEqual([cli.fitted_on, cli.held_out], [6, 2], "three votes in four fitted, every fourth held out");
    assert.equal(train, cli.train_accuracy, "the same accuracy on the votes it learned from");
    assert.equal(held, cli.held_out_accuracy, "the same accuracy on the held-out votes");
    const worst = Math.max(...rewards.map((r, i) => Math.abs(r - cli.scores[i])));
    assert.ok(worst <= REWARD_TOLERANCE, `rewards: page ${rewards} vs CLI ${cli.scores}: max |Δ| ${worst}`);
    console.log(`# ${VOTES} votes for the shorter answer: right on ${train * 6}/6 learned, ${held * 2}/2 held out; best of 3 rewards ${rewards.map((r) => r.toFixed(2)).join(", ")}; page vs CLI max |Δ| ${worst.toExponential(2)}`);

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
