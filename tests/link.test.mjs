// One link carries the whole screen: *Share* shows the page's address and a QR code; opened in a fresh
// browser profile, a chat link with a seed writes the same answer, a game link shows the same text,
// settings and distribution, a lab link the same setup; a broken or foreign link opens the start page
// with a one-line note, never a blank page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { explained, launch, openPage, screenshot, waitForModel } from "./browser.mjs";

/** Opens `hash` in a fresh browser profile, waits for the model, runs `look` and closes the profile. */
async function inFreshProfile(hash, look) {
  const context = await launch();
  try {
    const page = await openPage(context, hash);
    await waitForModel(page);
    return await look(page);
  } finally {
    await context.close();
  }
}

const answerOf = async (page) => {
  await explained(page, "link-chat", () =>
    page.getByTestId("chat-note").filter({ hasText: /tokens (per|par) seconde?/ }).waitFor({ timeout: 120_000 }),
  );
  return page.locator(".message.assistant p").last().textContent();
};

test("a chat link with a seed writes the same answer in two fresh browser profiles, and Share gives it back", async () => {
  const hash = "#chat?q=" + encodeURIComponent("Write a short poem about the sea.") + "&t=0.9&k=40&p=0.95&seed=7&max=40&layer=5&head=2";
  const first = await inFreshProfile(hash, async (page) => {
    const answer = await answerOf(page);
    assert.equal(await page.locator(".message.user p").textContent(), "Write a short poem about the sea.");
    assert.equal(await page.getByTestId("layer").inputValue(), "5");
    assert.equal(await page.getByTestId("head").inputValue(), "2");
    // Share: the same screen as a link, and as a QR code drawn in the page.
    await page.getByTestId("share").click();
    const link = await page.getByTestId("share-link").inputValue();
    assert.ok(link.includes("seed=7") && link.includes("t=0.9") && link.includes("q=Write%20a%20short"), link);
    assert.ok(await page.locator('[data-testid="share-qr"] svg').isVisible(), "a QR code");
    await screenshot(page, "share");
    return { answer, link };
  });
  const second = await inFreshProfile(new URL(first.link).hash, answerOf);
  assert.ok(first.answer.length > 20, `an answer: ${first.answer}`);
  assert.equal(second, first.answer, "same link, same seed: the same answer");
  console.log(`# the same ${first.answer.length}-character answer in two fresh profiles`);
});

test("a game link shows the same text, sampling settings and distribution; a lab link the same setup", async () => {
  const setUp = "#game?text=" + encodeURIComponent("The capital of France is") + "&t=0.5&k=12&p=0.9&seed=3";
  const shared = await inFreshProfile(setUp, async (page) => {
    await page.locator('[data-testid="game-chips"] .chip').first().waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="sampling"] summary').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="sampled-bars"] [data-id]').length === 10);
    await page.getByTestId("share").click();
    return {
      link: await page.getByTestId("share-link").inputValue(),
      kept: await page.getByTestId("sampled-kept").getAttribute("data-kept"),
      bars: await page.locator('[data-testid="sampled-bars"] [data-id]').evaluateAll((els) => els.map((e) => [e.dataset.id, e.dataset.prob])),
    };
  });
  assert.ok(shared.link.includes("#game?text=The%20capital"), shared.link);
  await inFreshProfile(new URL(shared.link).hash, async (page) => {
    assert.equal(await page.getByTestId("game-text").inputValue(), "The capital of France is");
    assert.equal(await page.getByTestId("sampling-temperature").inputValue(), "0.5");
    assert.equal(await page.getByTestId("sampling-top-k").inputValue(), "12");
    assert.equal(await page.getByTestId("sampling-seed").inputValue(), "3");
    await page.locator('[data-testid="sampling"] summary').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="sampled-bars"] [data-id]').length === 10, null, { timeout: 30_000 });
    assert.equal(await page.getByTestId("sampled-kept").getAttribute("data-kept"), shared.kept);
    const bars = await page.locator('[data-testid="sampled-bars"] [data-id]').evaluateAll((els) => els.map((e) => [e.dataset.id, e.dataset.prob]));
    assert.deepEqual(bars, shared.bars, "the same distribution, bar for bar");
  });
  await inFreshProfile("#lab?data=digits&code=3&beta=2", async (page) => {
    await page.getByTestId("lab").waitFor();
    assert.equal(await page.getByTestId("lab-data").inputValue(), "digits");
    assert.equal(await page.getByTestId("lab-latent").inputValue(), "3");
    assert.equal(await page.getByTestId("lab-beta").inputValue(), "2");
  });
});

test("a broken or foreign link opens the start page with a one-line note", async () => {
  const context = await launch();
  try {
    for (const [hash, why] of [
      ["#access_token=abc123&state=xyz", "unknown page"],
      ["#chat?t=hot", "t=hot"],
      ["#lesson/zz", "zz"],
    ]) {
      const page = await openPage(context, hash);
      const note = page.getByTestId("link-note");
      await note.waitFor({ timeout: 30_000 });
      assert.match(await note.textContent(), new RegExp(why));
      assert.equal((await note.textContent()).trim().split("\n").length, 1, "one line");
      assert.ok(await page.locator("h1.brand").isVisible(), "the page is there, not blank");
      assert.deepEqual(page.errors, [], `console errors for ${hash}`);
      await page.close();
    }
  } finally {
    await context.close();
  }
});
