// The release build mounts, reports its compute backend, finds the default model, logs no error and
// sends no request outside its own origin.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { ask, CORES, explained, launch, openPage, screenshot, setSettings, waitForModel } from "./browser.mjs";

const CLI = process.env.GLASSBOX_CLI ?? new URL("../target/release/glassbox", import.meta.url).pathname;
const MODEL = process.env.GLASSBOX_MODEL;
/** What the status panel says of the cores the engine runs on here (the page is cross-origin isolated). */
const CORES_SHOWN = CORES > 1 ? `on ${CORES} cores` : "on 1 core: the browser reports no other";

test("the page mounts, names its compute backend and finds the model, without console errors", async () => {
  const context = await launch();
  try {
    const page = await openPage(context);
    await page.locator("h1.brand").waitFor({ timeout: 30_000 });

    const compute = page.getByTestId("compute-backend");
    await explained(page, "home", () => compute.filter({ hasNotText: "looking for a GPU" }).waitFor({ timeout: 60_000 }));
    const computeText = (await compute.textContent()).trim();
    // Headless Chromium offers WebGPU through SwiftShader only; either answer must be explicit.
    assert.match(computeText, /^(WebGPU: .+|CPU)$/, `compute backend label: ${computeText}`);
    // The engine on the CPU with relaxed SIMD's kernels (Chromium has them) on every core (up to 8: this
    // page is cross-origin isolated), said in the status panel.
    await page.getByTestId("engine-backend").filter({ hasText: `CPU (WebAssembly relaxed SIMD, 8-bit activations), ${CORES_SHOWN}` }).waitFor({ timeout: 90_000 });

    const model = page.getByTestId("model-status");
    await waitForModel(page);
    assert.match((await model.textContent()).trim(), /^SmolLM2-135M-Instruct\.Q4_1\.gguf, 98\.4 MB, loaded on this device/);

    // The model card shows what `glassbox card` reads from the same file's header.
    const card = JSON.parse(execFileSync(CLI, ["card", "--model", MODEL], { encoding: "utf8" }));
    const shown = page.getByTestId("model-card");
    await shown.locator("summary").click();
    assert.equal(Number(await shown.getAttribute("data-parameters")), card.parameters);
    const cardText = await shown.textContent();
    for (const f of card.formats) assert.ok(cardText.includes(`${f.format} ×${f.tensors}`), `${f.format} in: ${cardText}`);
    assert.match(cardText, new RegExp(`${card.layers} blocks, width ${card.embedding}, ${card.heads[0]} attention heads`));
    assert.match(cardText, /Chat templateyes \(from the file\)/);

    const file = await screenshot(page, "home");
    console.log(`# compute backend: ${computeText}; screenshot: ${file}`);
    assert.deepEqual(page.errors, [], "console errors");
    assert.deepEqual(page.foreignRequests, [], "requests that left the page's origin");
  } finally {
    await context.close();
  }
});


test("a greedy chat answer streams in, starts like the engine CLI's, Stop ends it; conversations survive a reload, switch and delete", async () => {
  const reference = JSON.parse(readFileSync(new URL("../engine/tests/data/smollm2-135m-instruct-q4_1.reference.json", import.meta.url)));
  const chatCase = reference.chat[0];
  // The page (wasm simd128) and the CLI (native AVX2) run the same 8-bit path, but a different f32
  // rounding can move an activation across a quantization step, so like llama.cpp they may part at a
  // near-tie: compare up to the first position where either reference margin is < 0.5 (as the engine's
  // own greedy test does), then ask for a long streamed answer anyway.
  const agreeable = chatCase.exact_teacher_forced.findIndex((p, i) => p.margin < 0.5 || chatCase.teacher_forced[i].margin < 0.5);
  const cli = JSON.parse(
    execFileSync(CLI, ["generate", "--model", MODEL, "--prompt", chatCase.user, "--chat", "--max-tokens", String(agreeable), "--json"])
      .toString()
      .trim()
      .split("\n")
      .pop(),
  );
  const expected = cli.pieces.slice(0, agreeable).join("");
  assert.ok(agreeable >= 5 && chatCase.greedy_text.startsWith(expected), `CLI prefix ${JSON.stringify(expected)} is llama.cpp's`);
  const context = await launch();
  try {
    const page = await openPage(context);
    await waitForModel(page);
    await setSettings(page, { temperature: 0 });
    await page.getByTestId("prompt").fill(chatCase.user);
    await page.getByTestId("prompt").press("Enter");
    const answer = page.locator(".message.assistant p").last();
    await page.waitForFunction((n) => {
      const all = document.querySelectorAll(".message.assistant p");
      return all.length > 0 && all[all.length - 1].textContent.length >= n;
    }, 100, { timeout: 60_000 });
    assert.ok((await answer.textContent()).startsWith(expected), `answer: ${await answer.textContent()}`);
    await page.getByTestId("stop").click();
    await page.getByTestId("chat-note").filter({ hasText: "tokens per second" }).waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId("send").isDisabled(), false, "Send is enabled again once the answer ended");
    assert.equal(await page.getByTestId("stop").isDisabled(), true, "Stop is disabled once the answer ended");
    assert.equal(await page.locator(".message.user").count(), 1);
    await screenshot(page, "chat");

    // Reload: the conversation is still there, word for word (kept in this browser's IndexedDB only).
    const before = await page.locator(".message p").allTextContents();
    await page.reload();
    await page.locator(".message.assistant").first().waitFor({ timeout: 30_000 });
    assert.deepEqual(await page.locator(".message p").allTextContents(), before);
    await waitForModel(page);

    // A second conversation; both are kept; switching back shows the first one again.
    await page.getByTestId("new-conversation").click();
    assert.equal(await page.locator(".message").count(), 0, "a new conversation starts empty");
    await setSettings(page, { "max-tokens": 8 });
    await page.getByTestId("prompt").fill("Say hello.");
    await page.getByTestId("prompt").press("Enter");
    await page.getByTestId("chat-note").filter({ hasText: "tokens per second" }).waitFor({ timeout: 60_000 });
    const list = page.getByTestId("conversations");
    assert.equal(await list.locator("option").count(), 2);
    const firstId = await list.locator("option", { hasText: chatCase.user.slice(0, 20) }).getAttribute("value");
    await list.selectOption(firstId);
    assert.deepEqual(await page.locator(".message p").allTextContents(), before, "the first conversation is back");

    // Delete forgets it, here and after a reload; the other one stays.
    await page.getByTestId("delete-conversation").click();
    assert.equal(await list.locator("option").count(), 1);
    assert.match(await page.locator(".message.user p").first().textContent(), /Say hello/);
    await page.reload();
    await waitForModel(page);
    await page.locator(".message.user").first().waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId("conversations").locator("option").count(), 1, "it stays forgotten");
    assert.match(await page.locator(".message.user p").first().textContent(), /Say hello/);
    assert.deepEqual(page.errors, [], "console errors");
    assert.deepEqual(page.foreignRequests, [], "requests that left the page's origin");
  } finally {
    await context.close();
  }
});

/** Asks a short greedy question; the page's answer starts as the CLI's (its first four pieces). */
async function answersAsTheCli(page) {
  const prompt = "Name three colours.";
  const cli = JSON.parse(execFileSync(CLI, ["generate", "--model", MODEL, "--prompt", prompt, "--chat", "--max-tokens", "6", "--json"]).toString().trim().split("\n").pop());
  await setSettings(page, { temperature: 0, "max-tokens": 6 });
  await ask(page, prompt);
  const shown = await page.locator(".message.assistant p").last().textContent();
  assert.ok(shown.startsWith(cli.pieces.slice(0, 4).join("").trimEnd()), `page ${JSON.stringify(shown)} vs CLI ${JSON.stringify(cli.pieces.join(""))}`);
}

test("a browser without relaxed SIMD gets the engine's simd128 build, which answers as the CLI does", async () => {
  const context = await launch();
  try {
    // This browser's WebAssembly refuses every module that holds relaxed SIMD's byte dot product
    // (0xfd 0x113), as a browser without relaxed SIMD does.
    await context.addInitScript(() => {
      const validate = WebAssembly.validate;
      WebAssembly.validate = (bytes, ...rest) => {
        const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer ?? bytes);
        for (let i = 0; i + 2 < b.length; i++) if (b[i] === 0xfd && b[i + 1] === 0x93 && b[i + 2] === 0x02) return false;
        return validate(bytes, ...rest);
      };
    });
    const page = await openPage(context);
    await waitForModel(page);
    // The worker names the kernels it was built with.
    // (It has no build with threads: threads come with relaxed SIMD.)
    const shown1 = CORES > 1 ? "on 1 core: the engine's build with threads needs relaxed SIMD" : CORES_SHOWN;
    await page.getByTestId("engine-backend").filter({ hasText: `CPU (WebAssembly SIMD, 8-bit activations), ${shown1}` }).waitFor({ timeout: 30_000 });
    await answersAsTheCli(page);
    assert.deepEqual(page.errors, [], "console errors");
  } finally {
    await context.close();
  }
});

test("where the engine's build with threads cannot start, the worker runs the relaxed SIMD build on one core, says so and answers as the CLI does", { skip: CORES < 2 && "one core: the page never loads the build with threads" }, async () => {
  const context = await launch();
  try {
    // The build's module cannot be fetched, as where a browser refuses it.
    await context.route("**/worker_threads_bg.wasm", (route) => route.fulfill({ status: 404, body: "held back by the test" }));
    const page = await openPage(context);
    await waitForModel(page);
    await page.getByTestId("engine-backend").filter({ hasText: "CPU (WebAssembly relaxed SIMD, 8-bit activations), on 1 core: the engine's build with threads did not start here" }).waitFor({ timeout: 30_000 });
    await answersAsTheCli(page);
    // The fallback is announced in the worker's console as a warning; the 404 itself is the only error.
    assert.deepEqual(page.errors.filter((e) => !e.includes("404")), [], "console errors");
  } finally {
    await context.close();
  }
});

test("edit and resend, regenerate, export, and a tab closed mid-answer keeps what was shown", async () => {
  const context = await launch();
  try {
    let page = await openPage(context);
    await waitForModel(page);
    await setSettings(page, { temperature: 0, "max-tokens": 16 });
    await ask(page, "What is the capital of France?");
    const answer = () => page.locator(".message.assistant p").last().textContent();
    const first = await answer();

    // Regenerate writes the last answer again (greedy: the same words), from the cache the first answer
    // left: every token of the question but the last is still there (the engine's conversation test
    // holds a continued cache to a whole prefill, bit for bit).
    const reused = async () => Number(await page.getByTestId("chat-note").getAttribute("data-reused"));
    assert.equal(await reused(), 0, "nothing was kept before the first answer");
    await page.getByTestId("regenerate").click();
    await page.getByTestId("chat-note").filter({ hasText: "tokens per second" }).waitFor({ timeout: 60_000 });
    assert.equal(await answer(), first);
    assert.equal(await page.locator(".message").count(), 2);
    const regenerated = await reused();
    assert.ok(regenerated > 10, `the question's tokens were kept: ${regenerated}`);
    assert.match(await page.getByTestId("chat-note").textContent(), new RegExp(`${regenerated} of the \\d+ tokens read were still in memory`));

    // Edit the question and send it again: a new answer replaces the old one.
    await page.getByTestId("edit").click();
    await page.getByTestId("edit-text").fill("What is the capital of Italy?");
    await page.getByTestId("resend").click();
    await page.getByTestId("chat-note").filter({ hasText: "tokens per second" }).waitFor({ timeout: 60_000 });
    assert.equal(await page.locator(".message").count(), 2);
    assert.match(await page.locator(".message.user p").textContent(), /Italy/);
    assert.notEqual(await answer(), first, "a new answer to the edited question");
    const edited = await reused();
    assert.ok(edited > 0 && edited < regenerated, `kept up to the edit only: ${edited} (regenerate: ${regenerated})`);

    // Exports: Markdown and JSON files with the conversation in them.
    const [md] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-md").click()]);
    const markdown = readFileSync(await md.path(), "utf8");
    assert.match(markdown, /\*\*You:\*\* What is the capital of Italy\?/);
    const [js] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-json").click()]);
    const exported = JSON.parse(readFileSync(await js.path(), "utf8"));
    assert.equal(exported.messages.length, 2);
    assert.ok(exported.messages[1].tokens.length > 0, "answers carry their tokens");
    // The attention view as SVG.
    const [svg] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-svg").click()]);
    assert.match(readFileSync(await svg.path(), "utf8"), /^<svg[\s\S]*<\/svg>\s*$/);

    // Close the tab in the middle of a long answer: what was shown is there when the page is opened again.
    await setSettings(page, { "max-tokens": 200 });
    await page.getByTestId("prompt").fill("Tell me a long story about a cat.");
    await page.getByTestId("prompt").press("Enter");
    await page.waitForFunction(() => (document.querySelectorAll(".message.assistant p")[1]?.textContent.length ?? 0) > 80, null, { timeout: 60_000 });
    const shown = await page.locator(".message.assistant p").last().textContent();
    assert.deepEqual(page.errors, [], "console errors");
    await page.close();
    page = await openPage(context);
    await page.locator(".message.assistant").nth(1).waitFor({ timeout: 30_000 });
    const kept = await page.locator(".message.assistant p").last().textContent();
    // A streaming answer is written to IndexedDB at most every half second and when the tab hides or
    // closes (so more may be kept than was read here, as the answer went on until the tab closed). The
    // write started as the tab closes normally lands; if the browser dropped it, the last half second
    // of tokens would be missing: about 15 tokens here, so at most 80 characters.
    const keptAll = kept.startsWith(shown) || (shown.startsWith(kept) && kept.length >= shown.length - 80);
    assert.ok(keptAll, `kept ${JSON.stringify(kept)}, shown ${JSON.stringify(shown)}`);
    // The conversation drawn in English follows the page into French, speakers' names included.
    await page.getByTestId("lang-fr").click();
    assert.deepEqual(await page.locator(".message .who").allTextContents(), ["Vous", "Modèle", "Vous", "Modèle"]);
    await page.getByTestId("lang-en").click();
    assert.deepEqual(page.errors, [], "console errors");
  } finally {
    await context.close();
  }
});

test("an engine worker that never answers gets a note after 20 s, and starting it again loads the model", async () => {
  const context = await launch();
  try {
    // The first engine worker gets a loader that never loads the engine; the next one the real loader.
    // (Chromium has relaxed SIMD and this page is cross-origin isolated: the page loads the build with
    // threads of the engine worker, or on one core the relaxed SIMD one.)
    let held = 0;
    await context.route((url) => /\/worker_(threads|relaxed)_loader\.js$/.test(url.pathname), (route) => {
      if (held++ === 0) return route.fulfill({ status: 200, contentType: "text/javascript", body: "// held back by the test\n" });
      return route.continue();
    });
    const page = await openPage(context, "");
    await page.getByTestId("engine-silent").waitFor({ state: "visible", timeout: 40_000 });
    assert.equal(await page.evaluate(() => document.querySelector(".page").dataset.model), "loading");
    await screenshot(page, "engine-silent");
    await page.getByTestId("engine-restart").click();
    await waitForModel(page);
    assert.ok(await page.getByTestId("engine-silent").isHidden(), "the note is gone");
    // The first worker, the service worker's copy for offline use, the second worker.
    assert.ok(held >= 2, `a second worker was started (${held} loader requests)`);
    assert.deepEqual(page.errors, [], "console errors");
  } finally {
    await context.close();
  }
});
