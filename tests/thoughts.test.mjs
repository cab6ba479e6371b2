// The Thoughts view end to end, in French: the page reads the built-in text at a layer, trains a sparse
// autoencoder for 30 s (the curves fall), writes as it is / squeezed / with the mean (the squeeze moves
// the next word far less than the mean), reads the answer's tokens through the autoencoder exactly as
// `glassbox sae read` does with the file the page saves, shows a feature's card, steers with it, opens
// its own file again, and refuses a foreign file with a French sentence.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { explained, launch, openPage, screenshot, waitForModel } from "./browser.mjs";

const CLI = process.env.GLASSBOX_CLI ?? new URL("../target/release/glassbox", import.meta.url).pathname;
const MODEL = process.env.GLASSBOX_MODEL;
// Both sides read the hidden states on the 8-bit path over 11 blocks, in different summation orders (native
// AVX2 here, wasm SIMD there; the words test measures 2e-3 to 4e-3 on cosines for the same reason). The
// per-token share lost, 0.1 to 0.5, agrees to about 1e-3 (the median over the ~10 tokens compared: measured 5e-4 to 2.6e-3 in
// eight trainings, the last on the clean-clone CI; the bound is about twice the largest); where a feature sits at the k-th
// place, the two paths can keep different ones, which moves that token's share by up to about 1e-2
// (the largest gap measured 4.5e-3 to 1.2e-2 over seven trainings).
const ERROR_TOLERANCE = 2e-2;
const MEDIAN_TOLERANCE = 5e-3;

const attr = async (page, id, name) => page.getByTestId(id).getAttribute(name);

test("the page trains a sparse autoencoder on the model's thoughts, squeezes an answer through it and reads it as the CLI does", async () => {
  const context = await launch();
  try {
    const page = await openPage(context, "#thoughts");
    await page.getByTestId("lang-fr").click();
    await waitForModel(page);
    await explained(page, "thoughts", async () => {
      await page.getByTestId("thoughts-collect").click();
      // Reading pauses while the view is away (the chat needs the processor) and goes on when it is back.
      const read = () => attr(page, "thoughts-collected", "data-vectors").then(Number);
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="thoughts-collected"]')?.dataset.vectors) > 0, null, { timeout: 60_000 });
      await page.evaluate(() => { location.hash = "#chat"; });
      await page.waitForTimeout(1_000);
      const away = await read();
      await page.waitForTimeout(2_000);
      assert.equal(await read(), away, "nothing is read while the view is away");
      await page.evaluate(() => { location.hash = "#thoughts"; });
      await page.waitForFunction((away) => Number(document.querySelector('[data-testid="thoughts-collected"]')?.dataset.vectors) > away, away, { timeout: 30_000 });
      await page.waitForFunction(() => document.querySelector('[data-testid="thoughts-collected"]')?.dataset.done === "true", null, { timeout: 180_000 });
      const vectors = Number(await attr(page, "thoughts-collected", "data-vectors"));
      assert.ok(vectors > 3000, `hidden states kept: ${vectors}`);

      await page.getByTestId("thoughts-train").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="thoughts-status"]')?.dataset.heldOut, null, { timeout: 30_000 });
      const firstHeldOut = Number(await attr(page, "thoughts-status", "data-held-out"));
      await page.waitForTimeout(30_000);
      // Paused, so that the file saved below is the autoencoder that reads the answer.
      await page.getByTestId("thoughts-run").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="thoughts-run"]')?.textContent.includes("Reprendre"), null, { timeout: 10_000 });
      const heldOut = Number(await attr(page, "thoughts-status", "data-held-out"));
      const steps = Number(await attr(page, "thoughts-status", "data-step"));
      console.log(`# 30 s of training: ${steps} steps, held-out share lost ${firstHeldOut.toFixed(3)} → ${heldOut.toFixed(3)}`);
      // Alone 344 steps reach 0.43; beside another file's browser 182 to 281 steps, 0.45 to 0.49.
      assert.ok(heldOut < firstHeldOut && heldOut < 0.6, `the held-out curve falls: ${firstHeldOut} → ${heldOut}`);
      assert.ok((await page.locator('[data-testid="thoughts-curves"] polyline.held').getAttribute("points")).split(" ").length >= 5);
      // Paused by the student, it stays paused when the view leaves and comes back.
      await page.evaluate(() => { location.hash = "#chat"; });
      await page.waitForTimeout(500);
      await page.evaluate(() => { location.hash = "#thoughts"; });
      await page.waitForTimeout(2_000);
      assert.equal(Number(await attr(page, "thoughts-status", "data-step")), steps, "no step taken after the return");
      assert.match(await page.getByTestId("thoughts-run").textContent(), /Reprendre/);

      const prompt = "Il était une fois, au bord de la mer,";
      await page.getByTestId("thoughts-prompt").fill(prompt);
      await page.getByTestId("thoughts-write").click();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="thoughts-reading"] .read-token').length > 0, null, { timeout: 120_000 });
      const kl = async (i) => Number(await page.getByTestId(`thoughts-answer-${i}`).getAttribute("data-kl"));
      const [plain, squeezed, mean] = [await kl(0), await kl(1), await kl(2)];
      console.log(`# mean KL per token: as it is ${plain}, squeezed ${squeezed.toFixed(3)}, mean thought ${mean.toFixed(3)}`);
      assert.equal(plain, 0, "the model as it is does not move from itself");
      assert.ok(squeezed < 0.5 * mean, "the squeeze moves the next word far less than the floor");

      // The page's reading of the beginning's tokens = `glassbox sae read` with the file the page saves.
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("thoughts-save").click()]);
      const saved = join(tmpdir(), `glassbox-thoughts-${process.pid}.sae`);
      await download.saveAs(saved);
      const cli = JSON.parse(execFileSync(CLI, ["sae", "--model", MODEL, "read", "--sae", saved, "--text", prompt, "--top", "3"]).toString());
      const pageErrors = (await page.locator('[data-testid="thoughts-reading"] .read-token').evaluateAll((els) => els.map((e) => Number(e.dataset.error))));
      const compared = cli.tokens.length - 1; // the last token of the beginning may merge with the answer's first
      const gaps = cli.tokens.slice(0, compared).map((t, i) => Math.abs(pageErrors[i] - t.error)).sort((a, b) => a - b);
      const [worst, median] = [gaps[gaps.length - 1], gaps[Math.floor(gaps.length / 2)]];
      console.log(`# reading of ${compared} tokens, page vs CLI: |Δ error| median ${median.toExponential(1)}, max ${worst.toExponential(1)}`);
      assert.ok(compared >= 8 && worst < ERROR_TOLERANCE && median < MEDIAN_TOLERANCE, `median ${median}, max ${worst}`);

      // A feature's card, then writing with it added.
      await page.locator('[data-testid="thoughts-reading"] button.feature').first().click();
      await page.getByTestId("thoughts-card").locator("li").first().waitFor({ timeout: 30_000 });
      await page.getByTestId("thoughts-steer").click();
      await page.getByTestId("thoughts-answer-3").waitFor({ timeout: 120_000 });
      await page.waitForFunction(() => !document.querySelector('[data-testid="thoughts-write"]').disabled, null, { timeout: 120_000 });
      await screenshot(page, "thoughts-fr");

      // Kept in this browser, it is offered again and opens.
      await page.getByTestId("thoughts-keep").click();
      await page.getByTestId("thoughts-open-kept").waitFor({ state: "visible", timeout: 30_000 });
      assert.match(await page.getByTestId("thoughts-open-kept").textContent(), /Ouvrir celui gardé le .* \(21 Mo\)/);
      await page.getByTestId("thoughts-open-kept").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="thoughts-ready"]')?.textContent.includes("fichier"), null, { timeout: 30_000 });

      // The saved file opens again; a foreign file is refused in French, and the autoencoder stays.
      await page.getByTestId("thoughts-open").setInputFiles(saved);
      await page.waitForFunction(() => document.querySelector('[data-testid="thoughts-ready"]')?.textContent.includes("fichier"), null, { timeout: 30_000 });
      const foreign = join(tmpdir(), `glassbox-foreign-${process.pid}.sae`);
      writeFileSync(foreign, "GGUF not an autoencoder");
      await page.getByTestId("thoughts-open").setInputFiles(foreign);
      await page.getByTestId("thoughts-refused").waitFor({ state: "visible", timeout: 10_000 });
      assert.match(await page.getByTestId("thoughts-refused").textContent(), /n’est pas un autoencodeur de Glassbox/);
      assert.match(await page.getByTestId("thoughts-ready").textContent(), /4\D?608 caractéristiques/);

      // What the chat writes joins the collection too.
      const before = Number(await attr(page, "thoughts-collected", "data-vectors")) + Number(await attr(page, "thoughts-collected", "data-held-out"));
      await page.getByTestId("tab-chat").click();
      await page.getByTestId("prompt").fill("Bonjour !");
      await page.getByTestId("prompt").press("Enter");
      await page.waitForFunction(() => document.querySelectorAll(".message.assistant p").length > 0, null, { timeout: 60_000 });
      await page.waitForFunction(() => !document.querySelector('[data-testid="send"]').disabled, null, { timeout: 120_000 });
      await page.getByTestId("tab-thoughts").click();
      await page.waitForFunction((n) => {
        const c = document.querySelector('[data-testid="thoughts-collected"]').dataset;
        return Number(c.vectors) + Number(c.heldOut) > n;
      }, before, { timeout: 30_000 });
      assert.deepEqual(page.errors, []);
    });
  } finally {
    await context.close();
  }
});
