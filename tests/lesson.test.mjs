// The lesson, walked step by step in French (with the network cut after one visit) then English: every step has its own address, the ← → keys
// move through it, the teacher's notes stay closed until opened, and every step's button opens its view
// with its prepared input. A screenshot of every step in each language lands in tests/artifacts/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { explained, launch, openPage, screenshot, serveOwn, waitForModel } from "./browser.mjs";

const visible = (page, testid) => page.getByTestId(testid).isVisible();

/** Checks that the view the step's button opened shows its prepared input; returns a short description. */
async function checkView(page, action) {
  const kind = await action.getAttribute("data-kind");
  const input = await action.getAttribute("data-input");
  switch (kind) {
    case "game":
    case "sampling": {
      assert.ok(await visible(page, "game"), "the game is shown");
      assert.equal(await page.getByTestId("game-text").inputValue(), input);
      await page.locator('[data-testid="game-chips"] .chip').first().waitFor({ timeout: 30_000 });
      if (kind === "sampling") {
        assert.ok(await page.getByTestId("sampling").evaluate((d) => d.open), "the sampling view is open");
        // Three continuations, one per seed, are written side by side.
        await page.waitForFunction(() => document.querySelectorAll('[data-testid="answers"] .answer.done').length === 3, null, { timeout: 120_000 });
      }
      return `${kind}: ${await page.locator('[data-testid="game-chips"] .chip').count()} tokens`;
    }
    case "read": {
      assert.ok(await visible(page, "attention"), "the explorer is shown");
      // The reading box shows the sentence once the model has read it.
      await page.waitForFunction((input) => document.querySelector('[data-testid="read-text"]').value === input, input, { timeout: 30_000 });
      const [layer, head, focus] = await Promise.all(["data-layer", "data-head", "data-focus"].map((a) => action.getAttribute(a)));
      const chips = page.locator('[data-testid="chips"] .chip');
      await chips.first().waitFor({ timeout: 30_000 });
      const texts = await chips.evaluateAll((cs) => cs.map((c) => c.textContent.replaceAll("·", " ")));
      const upto = focus === "" ? texts.length - 1 : texts.indexOf(focus);
      assert.ok(upto > 0, `the focus token ${JSON.stringify(focus)} is among ${JSON.stringify(texts)}`);
      await page.waitForFunction(
        ([layer, head, upto]) => {
          const f = document.querySelector('[data-testid="head-view"]');
          return f && f.dataset.layer === layer && f.dataset.head === head && f.dataset.upto === String(upto) && f.dataset.row;
        },
        [layer, head, upto],
        { timeout: 30_000 },
      );
      const row = (await page.getByTestId("head-view").getAttribute("data-row")).split(",").map(Number);
      const best = row.indexOf(Math.max(...row));
      return `read: layer ${layer}, head ${head} at «${texts[upto]}» looks most at «${texts[best]}» (${row[best].toFixed(2)})`;
    }
    case "ask": {
      assert.ok(await visible(page, "messages"), "the chat is shown");
      await page.locator(".message.user p", { hasText: input }).waitFor({ timeout: 60_000 });
      // The template the model reads is in the token view (grey), and the answer starts.
      await page.locator('[data-testid="chips"] .chip.answer').nth(3).waitFor({ timeout: 60_000 });
      const prompt = await page.locator('[data-testid="chips"] .chip.prompt').allTextContents();
      assert.ok(prompt.join("").includes("<|im_start|>"), "the chat template's markers are shown");
      // The whole answer, as the class would read it.
      await page.waitForFunction(() => !document.querySelector('[data-testid="send"]').disabled, null, { timeout: 120_000 });
      const answer = await page.locator(".message.assistant p").last().textContent();
      return `ask: ${prompt.length} prompt tokens, answer ${JSON.stringify(answer.slice(0, 120))}…`;
    }
    case "lab": {
      assert.ok(await visible(page, "lab"), "the lab is shown");
      const digits = (await action.getAttribute("data-digits")) === "true";
      assert.equal(await page.getByTestId("lab-data").inputValue(), digits ? "digits" : "faces");
      assert.equal(await page.getByTestId("lab-latent").inputValue(), await action.getAttribute("data-latent"));
      // A new setup starts training over: wait until the models have learned enough to show.
      const side = digits ? 8 : 32;
      await page.waitForFunction((side) => document.querySelector('[data-testid="lab-strip-in"]').width === side, side, { timeout: 30_000 });
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="lab-status"]').dataset.step) >= 300, null, { timeout: 120_000 });
      if ((await action.getAttribute("data-generate")) === "true") {
        await page.waitForFunction(() => document.querySelector('[data-testid="lab-samples-vae"]').width > 0, null, { timeout: 60_000 });
      }
      return `lab: ${digits ? "digits" : "faces"}, code ${await action.getAttribute("data-latent")}, ${await page.getByTestId("lab-status").textContent()}`;
    }
    case "lens": {
      assert.ok(await visible(page, "lens"), "the lens is shown");
      assert.equal(await page.getByTestId("game-text").inputValue(), input);
      await page.waitForFunction(() => document.querySelector('[data-testid="lens-status"]').dataset.done === "true", null, { timeout: 60_000 });
      const last = page.locator('[data-testid="lens-grid"] tbody tr').last().locator("td").last();
      return `lens: ${await page.locator('[data-testid="lens-grid"] tbody tr').count()} blocks, the last one's guess «${await last.textContent()}»`;
    }
    case "fill": {
      assert.ok(await visible(page, "masked"), "the masked-word game is shown");
      await page.waitForFunction((input) => document.querySelector('[data-testid="masked-text"]').value === input, input, { timeout: 10_000 });
      await page.locator('[data-testid="masked-bars"] [data-word]').first().waitFor({ timeout: 60_000 });
      const words = await page.locator('[data-testid="masked-bars"] [data-word]').evaluateAll((els) => els.map((e) => e.dataset.word));
      return `fill: ${words.join(", ")}`;
    }
    case "words": {
      assert.ok(await visible(page, "words"), "the map of words is shown");
      await page.locator('[data-testid="word-map"] g.chosen').first().waitFor({ timeout: 30_000 });
      await page.locator('[data-testid="nearest-list"] li').first().waitFor({ timeout: 30_000 });
      const chosen = await page.locator('[data-testid="word-map"] g.chosen').evaluateAll((gs) => gs.map((g) => g.dataset.word));
      const near = await page.locator('[data-testid="nearest-list"] code').allTextContents();
      return `words: ${chosen.join(", ")} on the map; near the first: ${near.slice(0, 5).join(" ")}`;
    }
    case "doubt": {
      assert.ok(await visible(page, "doubt"), "the hallucination lab is shown");
      assert.equal(await page.getByTestId("doubt-question").inputValue(), input);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="doubt-answers"] .answer[data-done="true"]').length === 3, null, { timeout: 120_000 });
      const differ = await page.locator('[data-testid="doubt-answers"] .differ').count();
      return `doubt: 3 answers, ${differ} names or numbers not in every answer`;
    }
    case "prefer": {
      assert.ok(await visible(page, "prefer"), "the preference game is shown");
      assert.equal(await page.getByTestId("prefer-question").inputValue(), input);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="prefer-answers"] .answer[data-ready="true"]').length === 2 && document.querySelector('[data-testid="prefer-answers"]').dataset.writing === "false", null, { timeout: 120_000 });
      const lengths = await page.locator('[data-testid="prefer-answers"] .answer').evaluateAll((as) => as.map((a) => a.dataset.length));
      return `prefer: two answers of ${lengths.join(" and ")} characters to vote on`;
    }
    case "pretrain": {
      assert.ok(await visible(page, "pretrain"), "the pre-training lab is shown");
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="pretrain-status"]')?.dataset.step) >= 1, null, { timeout: 60_000 });
      return `pretrain: ${await page.getByTestId("pretrain-text").inputValue()}, ${await page.getByTestId("pretrain-status").textContent()}`;
    }
    case "thoughts": {
      assert.ok(await visible(page, "thoughts"), "the Thoughts view is shown");
      // It reads the built-in text (a minute here), then trains: thoughts.test.mjs follows it through.
      // Here, the reading has started after block 10 (a third of the way up); it pauses when the lesson
      // goes on.
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="thoughts-collected"]')?.dataset.vectors) > 0, null, { timeout: 60_000 });
      assert.equal(await page.getByTestId("thoughts-layer").inputValue(), "10");
      return `thoughts: ${await page.getByTestId("thoughts-collected").textContent()}`;
    }
    case "scale":
      assert.ok(await visible(page, "scale"), "the scale view is shown");
      assert.equal(await page.locator('[data-testid="scale"] .log-bars li').count(), 8);
      return "scale: 8 bars";
    case "privacy": {
      assert.ok(await visible(page, "privacy"), "the requests log is shown");
      const summary = page.getByTestId("requests-summary");
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="requests-summary"]').dataset.total) > 5, null, { timeout: 10_000 });
      assert.equal(await summary.getAttribute("data-elsewhere"), "0", "no request left the page's origin");
      return `privacy: ${await summary.textContent()}`;
    }
    default:
      throw new Error(`unknown action kind ${kind}`);
  }
}

for (const lang of ["fr", "en"]) {
  // The French class runs with the network cut after one visit, as a school's might be.
  const offline = lang === "fr";
  test(`the lesson in ${lang === "fr" ? "French, with the network cut after one visit" : "English"}: every step has its address and opens its view with its input`, async () => {
    const server = offline ? await serveOwn() : null;
    const context = await launch();
    try {
      const page = await openPage(context, "#lesson/t1", server?.url);
      await page.getByTestId(`lang-${lang}`).click();
      await waitForModel(page);
      if (offline) {
        // The service worker is active once it has kept the app's files; the model is kept before "ready".
        await page.evaluate(() => navigator.serviceWorker.ready);
        await server.close();
        await page.reload();
        await waitForModel(page);
        assert.match(await page.getByTestId("model-status").textContent(), /copie gardée par ce navigateur/, "the model came from this browser's copy");
      }
      const ids = [];
      for (let i = 0; ; i++) {
        const card = page.getByTestId("lesson");
        const id = await card.getAttribute("data-step");
        ids.push(id);
        assert.ok(page.url().endsWith(`#lesson/${id}`), `step ${id} has its own address (${page.url()})`);
        assert.ok((await page.getByTestId("lesson-title").textContent()).length > 5);
        assert.equal(await page.getByTestId("lesson-notes").evaluate((d) => d.open), false, "the teacher's notes start closed");
        const action = page.getByTestId("lesson-action");
        const started = Date.now();
        await action.click();
        const seen = await explained(page, `lesson-${lang}-${id}`, () => checkView(page, action));
        console.log(`# ${lang} ${id} (${((Date.now() - started) / 1000).toFixed(1)} s): ${seen}`);
        await screenshot(page, `lesson-${lang}-${id}`);
        const next = page.getByTestId("lesson-next");
        if ((await next.getAttribute("aria-disabled")) === "true") break;
        // Half the steps by the → key, half by the button.
        if (i % 2 === 0) {
          await page.locator("body").click({ position: { x: 5, y: 5 } });
          await page.keyboard.press("ArrowRight");
        } else {
          await next.click();
        }
        await page.waitForFunction((prev) => document.querySelector('[data-testid="lesson"]').dataset.step !== prev, id);
      }
      assert.equal(ids.length, 18);
      assert.deepEqual(ids.slice(0, 3), ["t1", "t2", "t3"]);
      // ← goes back; an address opens its step directly.
      await page.keyboard.press("ArrowLeft");
      await page.waitForFunction(() => location.hash === "#lesson/c4");
      await page.goto(new URL("#lesson/p1", page.url()).href);
      await page.getByTestId("lesson").and(page.locator('[data-step="p1"]')).waitFor();
      assert.deepEqual(page.errors, [], "console errors");
      assert.deepEqual(page.foreignRequests, [], "requests that left the page's origin");
    } finally {
      await context.close();
      await server?.close();
    }
  });
}

test("the lesson in projector mode keeps its card and opened view readable", async () => {
  const context = await launch();
  try {
    const page = await openPage(context, "#lesson/t3");
    await page.getByTestId("lang-fr").click();
    await page.getByTestId("projector").click();
    await waitForModel(page);
    await page.getByTestId("lesson-action").click();
    await page.getByTestId("head-view").and(page.locator("[data-row]")).waitFor({ timeout: 30_000 });
    const size = await page.evaluate(() => getComputedStyle(document.documentElement).fontSize);
    assert.equal(size, "24px");
    await screenshot(page, "lesson-fr-projector");
  } finally {
    await context.close();
  }
});
