// Offline and private: after one visit the app and the model load and answer with the network cut; a
// corrupt GGUF gives a clear message and the model loaded before still answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ask, ggufFile, launch, openPage, screenshot, serveOwn, setSettings, waitForModel } from "./browser.mjs";

test("with the network cut after one visit, the app and the model load from this browser and answer", async () => {
  // A server of its own, so the network can really be cut (closing it) while the browser stays open.
  const server = await serveOwn();
  const context = await launch();
  try {
    const page = await openPage(context, "", server.url);
    await waitForModel(page);
    assert.doesNotMatch(await page.getByTestId("model-status").textContent(), /browser's copy/, "first visit: from the network");
    // The service worker has kept the app's files (the engine worker kept the model before saying "loaded").
    await page.evaluate(() => navigator.serviceWorker.ready);

    await server.close();
    const reached = await page.evaluate(async () => {
      try {
        return (await fetch(`./not-kept-${Date.now()}.txt`, { cache: "no-store" })).ok || "answered";
      } catch {
        return false;
      }
    });
    assert.equal(reached, false, "the page can still reach a server: the network is not cut");
    page.errors.length = 0; // the probe's own failed request

    await page.reload();
    await page.locator("h1.brand").waitFor({ timeout: 30_000 });
    await waitForModel(page);
    assert.match(await page.getByTestId("model-status").textContent(), /from this browser's copy: works offline/);
    await setSettings(page, { temperature: 0, "max-tokens": 12 });
    await ask(page, "Say hello.");
    const answer = await page.locator(".message.assistant p").last().textContent();
    assert.ok(answer.trim().length > 0, "an answer was written offline");
    await screenshot(page, "offline");
    assert.deepEqual(page.errors, [], "console errors");
    assert.deepEqual(page.foreignRequests, [], "requests that left the page's origin");
  } finally {
    await context.close();
    await server.close();
  }
});

test("a kept copy of the model that no longer matches its sha256 is dropped and the model fetched again", async () => {
  const context = await launch();
  try {
    const page = await openPage(context, "");
    await waitForModel(page);
    // Cut this browser's copy short, as a full disk or an interrupted write could.
    const kept = await page.evaluate(async () => {
      const cache = await caches.open("glassbox-models-v1");
      const keys = await cache.keys();
      const url = keys.find((k) => k.url.includes("/models/"))?.url;
      const full = await (await cache.match(url)).arrayBuffer();
      await cache.put(url, new Response(full.slice(0, full.byteLength - 4096)));
      return { url, bytes: full.byteLength };
    });
    assert.ok(kept.url && kept.bytes > 90e6, "the model was kept after the first visit");
    const fetched = [];
    page.on("request", (r) => r.url().includes("/models/") && fetched.push(r.url()));
    await page.reload();
    await waitForModel(page);
    assert.ok(fetched.length >= 1, "the model was fetched again from the server");
    assert.doesNotMatch(await page.getByTestId("model-status").textContent(), /browser's copy/, "not the damaged copy");
    assert.ok(page.log.some((l) => l.includes("does not match its sha256")), "the worker said why");
    const restored = await page.evaluate(async (url) => (await (await (await caches.open("glassbox-models-v1")).match(url)).arrayBuffer()).byteLength, kept.url);
    assert.equal(restored, kept.bytes, "the whole file is kept again");
    await ask(page, "Hi");
    console.log(`# a copy cut 4,096 bytes short was dropped; the model (${kept.bytes} bytes) fetched and kept again`);
  } finally {
    await context.close();
  }
});

// The next message in the load-error line after `before`: a new file clears the line while it loads,
// so an empty line is not yet the answer.
async function nextLoadError(page, before) {
  await page.waitForFunction((b) => {
    const shown = document.querySelector('[data-testid="load-error"]').textContent;
    return shown !== b && shown.trim() !== "";
  }, before);
}

test("a corrupt GGUF gets a clear message and the model loaded before still answers", async () => {
  const context = await launch();
  try {
    const page = await openPage(context);
    await waitForModel(page);
    // A GGUF header claiming a billion tensors, then nothing.
    const header = Buffer.alloc(24);
    header.write("GGUF", 0, "ascii");
    header.writeUInt32LE(3, 4);
    header.writeBigUInt64LE(1_000_000_000n, 8);
    header.writeBigUInt64LE(0n, 16);
    await page.getByTestId("open-gguf").setInputFiles({ name: "broken.gguf", mimeType: "application/octet-stream", buffer: header });
    const error = page.getByTestId("load-error");
    await error.waitFor({ timeout: 30_000 });
    const message = await error.textContent();
    assert.match(message, /Could not load this file: this file cannot be used: .+ \(the model loaded before is still there\)/);
    console.log(`# message: ${message}`);
    assert.match(await page.getByTestId("model-status").textContent(), /^SmolLM2-135M-Instruct\.Q4_1\.gguf/);

    // Something that is not a GGUF at all.
    await page.getByTestId("open-gguf").setInputFiles({ name: "notes.gguf", mimeType: "text/plain", buffer: Buffer.from("just some text") });
    await nextLoadError(page, message);
    assert.match(await error.textContent(), /Could not load this file/);

    // Dropped on the page rather than picked: the same path.
    const shownBefore = await error.textContent();
    await page.evaluate(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array([0x47, 0x47, 0x55, 0x46, 9, 0, 0, 0])], "dropped.gguf"));
      document.querySelector(".page").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    });
    await nextLoadError(page, shownBefore);
    assert.match(await error.textContent(), /Could not load this file: this file cannot be used: .*version/i);

    // A well-formed file of an architecture the engine does not run: the message names it and what the
    // file holds, read from its header.
    const foreign = ggufFile({ "general.architecture": "gemma4" }, [{ name: "token_embd.weight", dims: [4, 3], values: Array(12).fill(0.5) }]);
    const before = await error.textContent();
    await page.getByTestId("open-gguf").setInputFiles({ name: "gemma.gguf", mimeType: "application/octet-stream", buffer: foreign });
    await nextLoadError(page, before);
    assert.match(await error.textContent(), /unsupported architecture "gemma4".*\(it holds a gemma4 model of 12 parameters in F32 ×1 \(100 %\)\)/);

    // A file whose header asks for more memory than the browser engine holds (160 blocks: the cache of a
    // conversation of 4,096 tokens alone is 5.4 GB): refused from its header, with the figures.
    const huge = ggufFile(
      {
        "general.architecture": "llama",
        "llama.block_count": 160,
        "llama.embedding_length": 4096,
        "llama.attention.head_count": 32,
        "llama.attention.head_count_kv": 8,
        "llama.context_length": 32768,
      },
      [{ name: "token_embd.weight", dims: [4, 3], values: Array(12).fill(0.5) }],
    );
    const beforeHuge = await error.textContent();
    await page.getByTestId("open-gguf").setInputFiles({ name: "huge.gguf", mimeType: "application/octet-stream", buffer: huge });
    await nextLoadError(page, beforeHuge);
    assert.match(await error.textContent(), /this model needs about 5\.4 GB here \(0\.0 GB for the file and 5\.4 GB for a conversation of 4096 tokens\), more than the 3\.0 GB the browser engine can hold/);
    console.log(`# refused from its header: ${await error.textContent()}`);

    await setSettings(page, { temperature: 0, "max-tokens": 12 });
    await ask(page, "Say hello.");
    assert.ok((await page.locator(".message.assistant p").last().textContent()).trim().length > 0, "the previous model answers");
    await screenshot(page, "corrupt-gguf");
    assert.deepEqual(page.errors, [], "console errors");
    assert.deepEqual(page.foreignRequests, [], "requests that left the page's origin");
  } finally {
    await context.close();
  }
});
