// The chat on the browser's WebGPU (`?gpu`: headless Chromium offers SwiftShader, a software adapter
// the app otherwise leaves unused): the engine's WGSL kernels in the page's worker answer as the same
// kernels do natively (the CLI on lavapipe), the GPU picks each token and sends back its five
// alternatives, the explorer draws the attention the GPU recorded, and the logit lens, the next-word game,
// a word in two sentences and the masked-word game come from the GPU.
// @alone: SwiftShader and lavapipe use every core, and the GPU trainer runs for 30 s.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { ask, launch, lensAgainst, lensCells, openPage, screenshot, setSettings, shownRow, waitForModel, waitForView } from "./browser.mjs";

const CLI = process.env.GLASSBOX_CLI ?? new URL("../target/release/glassbox", import.meta.url).pathname;
const MODEL = process.env.GLASSBOX_MODEL;
const QUESTION = "Explain in two sentences what an attention head does.";
const TOKENS = 10;
// The CLI on the GPU natively: Mesa's lavapipe through Vulkan.
// The lens on two GPUs (exact f32 both; f16 keys and values): a cell's probability within 1e-3, the same
// guess wherever the CLI's two likeliest are further apart than 1e-2.
const LENS_TOLERANCE = 1e-3;
const LENS_MARGIN = 1e-2;
// A sentence's log-probability on two GPUs, in nats (about ten tokens' log-softmax summed).
const FILL_TOLERANCE = 5e-3;
const env = { ...process.env, WGPU_BACKEND: "vulkan", XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? "/tmp" };

test("on WebGPU (?gpu), a greedy answer equals the CLI's on the GPU, with alternatives and attention from the GPU", async () => {
  const cli = JSON.parse(
    execFileSync(CLI, ["generate", "--model", MODEL, "--prompt", QUESTION, "--chat", "--max-tokens", String(TOKENS), "--backend", "gpu", "--json"], { env })
      .toString()
      .trim()
      .split("\n")
      .pop(),
  );
  assert.match(cli.backend, /^Vulkan: /, `the CLI ran on the GPU: ${cli.backend}`);
  const expected = cli.pieces.join("");
  const context = await launch();
  try {
    const page = await openPage(context, "?gpu");
    await waitForModel(page, 180_000);
    const compute = (await page.getByTestId("engine-backend").textContent()).trim();
    assert.match(compute, /WebGPU/, `the model runs on WebGPU: ${compute}`);
    await setSettings(page, { temperature: 0, "max-tokens": TOKENS });
    await ask(page, QUESTION, 180_000);
    const answer = (await page.locator(".message.assistant p").last().textContent()).trim();
    assert.equal(answer, expected.trim(), "the page's WebGPU answer is the CLI's GPU answer");

    // The alternatives of an answer token came from the GPU's top-k kernel: five, best first, and
    // greedy took the first.
    const chips = page.locator('[data-testid="chips"] .chip.answer');
    assert.equal(await chips.count(), cli.ids.length);
    await chips.nth(1).click();
    const alternatives = page.getByTestId("token-details").locator(".alternatives li");
    await alternatives.first().waitFor({ timeout: 10_000 });
    assert.equal(await alternatives.count(), 5);
    assert.ok((await alternatives.first().getAttribute("class"))?.includes("chosen"), "greedy took the most likely");

    // The explorer shows the attention the GPU recorded: layer 7, head 4 at the last token read equals
    // the CLI's on the GPU for the same ids (both f16 keys; SwiftShader and lavapipe round their sums
    // differently, and 16-bit storage adds ≤ 7.7e-6: the same 5e-3 as the explorer's test).
    const ids = await page.locator('[data-testid="chips"] .chip').evaluateAll((cs) => cs.map((c) => Number(c.dataset.id)));
    const upto = ids.length - 2;
    await page.getByTestId("layer").selectOption("7");
    await page.getByTestId("head").selectOption("4");
    await page.getByTestId("follow").click();
    await waitForView(page, 7, 4, upto);
    const row = await shownRow(page);
    const score = JSON.parse(
      execFileSync(CLI, ["score", "--model", MODEL, "--ids", ids.slice(0, upto + 1).join(","), "--attention", "7,4", "--top", "1", "--backend", "gpu", "--json"], { env }).toString(),
    );
    assert.equal(row.length, score.attention.length);
    const worst = Math.max(...row.map((w, k) => Math.abs(w - score.attention[k])));
    console.log(`# WebGPU heatmap vs the CLI on lavapipe: max |Δ| ${worst.toExponential(2)}`);
    assert.ok(worst <= 5e-3, `max |Δ| ${worst}`);
    await screenshot(page, "webgpu-chat");

    // The logit lens runs on the GPU too: every block's cells in one pass. Both sides are exact f32 with
    // f16 keys and values; SwiftShader and lavapipe sum in different orders.
    // Four tokens: each costs the output head once per block on a software GPU (the page lens took 87 s for
    // seven on SwiftShader here).
    const text = "Le ciel est";
    await page.evaluate(() => { location.hash = "#game"; });
    await page.getByTestId("game-text").fill(text);
    await page.getByTestId("game-start").click();
    await page.locator('[data-testid="game-chips"] .chip').first().waitFor({ timeout: 60_000 });
    await page.getByTestId("lens-game").click();
    await page.waitForFunction(() => document.querySelector('[data-testid="lens-status"]').dataset.done === "true", null, { timeout: 120_000 });
    assert.equal(await page.getByTestId("lens-status").getAttribute("data-on-gpu"), "true", "the lens ran on the GPU");
    const lens = JSON.parse(execFileSync(CLI, ["lens", "--model", MODEL, "--text", text, "--top", "2", "--backend", "gpu", "--json"], { env }).toString());
    assert.equal(lens.backend, "gpu");
    const shown = await lensCells(page);
    assert.equal(shown.length, lens.layers.length * lens.ids.length, "one cell per block and position");
    const { worst: worstLens, same, differ } = lensAgainst(shown, lens, LENS_MARGIN);
    assert.deepEqual(differ, [], "the same guess wherever the CLI's is clear");
    console.log(`# WebGPU lens vs the CLI's on lavapipe: max |Δp| ${worstLens.toExponential(2)}; ${same} of ${shown.length} guesses compared`);
    assert.ok(worstLens <= LENS_TOLERANCE, `max |Δp| ${worstLens}`);
    assert.ok(same > shown.length / 2, "most guesses are compared");
    await screenshot(page, "webgpu-lens");

    // The next-word game's distribution comes from the GPU too, as `glassbox next --backend gpu` gives it.
    assert.equal(await page.getByTestId("game-bars").getAttribute("data-on-gpu"), "true", "the game's prediction ran on the GPU");
    const shownNext = await page.locator('[data-testid="game-bars"] [data-id]').evaluateAll((els) => els.map((e) => ({ id: Number(e.dataset.id), prob: Number(e.dataset.prob) })));
    const next = JSON.parse(execFileSync(CLI, ["next", "--model", MODEL, "--text", text, "--top", String(shownNext.length), "--backend", "gpu", "--json"], { env }).toString());
    assert.equal(next.backend, "gpu");
    const worstNext = Math.max(...shownNext.map((b) => Math.abs(b.prob - (next.top.find((t) => t.id === b.id)?.prob ?? 0))));
    console.log(`# WebGPU next-word game vs the CLI on lavapipe: ${shownNext.length} tokens, max |Δp| ${worstNext.toExponential(2)}`);
    assert.ok(worstNext <= LENS_TOLERANCE, `max |Δp| ${worstNext}`);

    // A word in two sentences, block by block: the residual stream read back from the GPU.
    await page.evaluate(() => { location.hash = "#words"; });
    await page.getByTestId("in-context").click();
    await page.getByTestId("context-note").and(page.locator("[data-cosines]")).waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId("context-note").getAttribute("data-on-gpu"), "true", "the residual streams came from the GPU");
    const cosines = (await page.getByTestId("context-note").getAttribute("data-cosines")).split(",").map(Number);
    const [cword, first, second] = await Promise.all(["context-word", "context-first", "context-second"].map((id) => page.getByTestId(id).inputValue()));
    const inContext = JSON.parse(execFileSync(CLI, ["neighbours", "--model", MODEL, "--word", cword, "--sentences", first, second, "--backend", "gpu", "--json"], { env }).toString());
    assert.equal(inContext.backend, "gpu");
    const worstContext = Math.max(...cosines.map((c, i) => Math.abs(c - inContext.cosines[i])));
    console.log(`# WebGPU «${cword}» in two sentences vs the CLI on lavapipe: ${cosines.length} blocks, max |Δ cosine| ${worstContext.toExponential(2)}`);
    // The page shows four decimals.
    assert.ok(worstContext <= 1e-3, `max |Δ cosine| ${worstContext}`);

    // The masked-word game scores its sentences on the GPU too: each word's log-probability equals the
    // CLI's on lavapipe for the same word.
    await page.evaluate(() => { location.hash = "#masked"; });
    await page.getByTestId("masked-text").fill("Il pleut, prends ton ___.");
    await page.getByTestId("masked-add-text").fill("parapluie, chien");
    await page.getByTestId("masked-add").click();
    await page.getByTestId("masked-ask").click();
    await page.locator('[data-testid="masked-bars"] [data-word="parapluie"]').waitFor({ timeout: 120_000 });
    assert.equal(await page.getByTestId("masked-bars").getAttribute("data-on-gpu"), "true", "the game's sentences were scored on the GPU");
    const bars = await page.locator('[data-testid="masked-bars"] [data-word]').evaluateAll((els) => els.map((e) => ({ word: e.dataset.word, logprob: Number(e.dataset.logprob) })));
    const filled = JSON.parse(
      execFileSync(CLI, ["fill", "--model", MODEL, "--text", "Il pleut, prends ton ___.", "--candidates", bars.map((b) => b.word).join(","), "--backend", "gpu", "--json"], { env }).toString(),
    );
    assert.equal(filled.backend, "gpu");
    const worstFill = Math.max(...bars.map((b) => Math.abs(b.logprob - filled.candidates.find((c) => c.word === b.word).logprob)));
    console.log(`# WebGPU masked-word game vs the CLI on lavapipe: ${bars.length} words, max |Δ log p| ${worstFill.toExponential(2)}`);
    assert.ok(worstFill <= FILL_TOLERANCE, `max |Δ log p| ${worstFill}`);
    assert.deepEqual(page.errors, [], "console errors");
    assert.deepEqual(page.foreignRequests, [], "requests that left the page's origin");
  } finally {
    await context.close();
  }
});

test("on WebGPU (?gpu), the Thoughts view trains its sparse autoencoder on the GPU, and the file it saves squeezes an answer as a trained one does in the CLI", async () => {
  const context = await launch();
  try {
    const page = await openPage(context, "?gpu#thoughts");
    await page.getByTestId("lang-en").click();
    await waitForModel(page, 180_000);
    await page.getByTestId("thoughts-collect").click();
    await page.waitForFunction(() => document.querySelector('[data-testid="thoughts-collected"]')?.dataset.done === "true", null, { timeout: 240_000 });
    await page.getByTestId("thoughts-expansion").selectOption("2");
    await page.getByTestId("thoughts-train").click();
    await page.waitForFunction(() => document.querySelector('[data-testid="thoughts-status"]')?.dataset.heldOut, null, { timeout: 60_000 });
    assert.equal(await page.getByTestId("thoughts-status").getAttribute("data-on-gpu"), "true", "it trains on the GPU");
    assert.match(await page.getByTestId("thoughts-status").textContent(), /on the GPU/);
    const firstHeldOut = Number(await page.getByTestId("thoughts-status").getAttribute("data-held-out"));
    await page.waitForTimeout(30_000);
    await page.getByTestId("thoughts-run").click();
    await page.waitForFunction(() => document.querySelector('[data-testid="thoughts-run"]')?.textContent.includes("Resume"), null, { timeout: 20_000 });
    const status = page.getByTestId("thoughts-status");
    const [heldOut, steps, speed] = [Number(await status.getAttribute("data-held-out")), Number(await status.getAttribute("data-step")), await status.getAttribute("data-speed")];
    console.log(`# 30 s on the page's WebGPU (SwiftShader), 1,152 features: ${steps} steps, held-out share lost ${firstHeldOut.toFixed(3)} → ${heldOut.toFixed(3)}`);
    assert.ok(steps > 0 && heldOut < firstHeldOut, `the held-out curve falls: ${firstHeldOut} → ${heldOut} in ${steps} steps (${speed} vectors/s)`);

    // The weights the GPU trained, saved by the page, squeeze a text in the CLI far better than the mean.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("thoughts-save").click()]);
    const saved = join(tmpdir(), `glassbox-thoughts-gpu-${process.pid}.sae`);
    await download.saveAs(saved);
    const text = "Once upon a time, by the sea, there lived an old fisherman and his wife.";
    const squeeze = JSON.parse(execFileSync(CLI, ["sae", "--model", MODEL, "squeeze", "--sae", saved, "--text", text]).toString());
    const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
    console.log(`# its file in the CLI: mean KL squeezed ${mean(squeeze.kl).toFixed(3)}, mean thought ${mean(squeeze.kl_mean).toFixed(3)}`);
    assert.ok(mean(squeeze.kl) < 0.5 * mean(squeeze.kl_mean), "the GPU-trained autoencoder keeps what the model needs");
    assert.deepEqual(page.errors, [], "console errors");
  } finally {
    await context.close();
  }
});

// The tiny GPT's training step as WGSL kernels: on the page's WebGPU (SwiftShader) it follows
// `glassbox pretrain --backend gpu` (the same kernels on lavapipe, the same batches): held-out losses at
// steps 0, 25 and 50 within 1e-4 (measured 7e-7; two software GPUs round exp and their sums alike here).
test("on WebGPU (?gpu), the tiny GPT trains with the GPU's kernels as glassbox pretrain --backend gpu does", async () => {
  const sizes = { layers: "1", width: "32", heads: "2", context: "32" };
  const cli = JSON.parse(
    execFileSync(CLI, ["pretrain", "--corpus", "en", "--steps", "50", "--backend", "gpu", "--json", ...Object.entries(sizes).flatMap(([k, v]) => [`--${k}`, v])], { env })
      .toString()
      .trim()
      .split("\n")
      .pop(),
  );
  assert.equal(cli.backend, "gpu");
  const context = await launch();
  try {
    const page = await openPage(context, "?gpu#pretrain");
    await page.getByTestId("lang-en").click();
    await page.getByTestId("pretrain-status").waitFor();
    for (const [k, v] of Object.entries(sizes)) await page.getByTestId(`pretrain-${k}`).selectOption(v);
    await page.getByTestId("pretrain-start").click();
    await page.waitForFunction(
      (n) => {
        const s = document.querySelector('[data-testid="pretrain-status"]');
        return s?.dataset.onGpu === "true" && Number(s.dataset.step) >= 51 && Number(document.querySelector('[data-testid="pretrain-model"]')?.dataset.parameters) === n;
      },
      cli.parameters,
      { timeout: 180_000 },
    );
    const status = page.getByTestId("pretrain-status");
    assert.match(await status.textContent(), /on WebGPU \(/, "the status says where it trains");
    const shown = JSON.parse((await page.getByTestId("pretrain-curves").getAttribute("data-held-out")) || "[]").slice(0, 3);
    assert.deepEqual(shown.map((p) => p[0]), cli.val_steps, "held-out losses at steps 0, 25, 50");
    const worst = Math.max(...shown.map((p, i) => Math.abs(p[1] - cli.val_loss[i])));
    console.log(`# tiny GPT on the page's WebGPU vs glassbox pretrain --backend gpu (${cli.adapter}): held-out at 0/25/50 max |Δ| ${worst.toExponential(1)}; ${await status.getAttribute("data-speed")} characters/s`);
    assert.ok(worst <= 1e-4, `held-out losses: page ${shown.map((p) => p[1])} vs CLI ${cli.val_loss}`);
    await screenshot(page, "pretrain-webgpu");
    assert.deepEqual(page.errors, [], "console errors");
  } finally {
    await context.close();
  }
});
