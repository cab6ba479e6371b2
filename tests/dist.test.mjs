// A class's ways in: `cargo xtask dist`'s folder served by a plain static server (no special headers, as
// any web host or a USB stick served by `python3 -m http.server` would; from the second visit the service
// worker makes the page cross-origin isolated, and the engine runs on every core), and the app reached through this
// machine's network address, as `cargo xtask serve --lan` serves it to a class's devices: a plain-http
// origin that is not 127.0.0.1, so no service worker and no Cache API — the model still loads and answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { cpus } from "node:os";
import { extname, join, normalize } from "node:path";
import { ask, explained, launch, openPage, screenshot, setSettings, waitForModel } from "./browser.mjs";

/** The plainest static server: files and a content type, nothing else. */
async function plainStaticServer(root) {
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css", ".svg": "image/svg+xml" };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = join(root, normalize(path === "/" ? "/index.html" : path));
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream", "Content-Length": statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

/** Loads the model at `url`, asks a short greedy question and returns the page. */
async function answers(context, url, name) {
  const page = await openPage(context, "", url);
  await explained(page, name, () => waitForModel(page));
  await setSettings(page, { temperature: 0, "max-tokens": 8 });
  await ask(page, "What is the capital of France?");
  const answer = await page.locator(".message.assistant p").last().textContent();
  assert.ok(answer.trim().length > 0, "an answer");
  return page;
}

test("cargo xtask dist's folder runs from a plain static server: the app, the model, the lesson", async () => {
  const folder = process.env.GLASSBOX_DIST_FOLDER;
  assert.ok(folder && existsSync(join(folder, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")), `a dist folder with the model: ${folder}`);
  for (const file of ["index.html", "app_bg.wasm", "worker_bg.wasm", "worker_threads_bg.wasm", "lab_worker_threads_bg.wasm", "pretrain_worker_threads_bg.wasm", "threads_loader.js", "threads_helper.js", "worker_threads_loader.js", "lab_worker_threads_helper.js", "lab_worker_bg.wasm", "pretrain_worker_bg.wasm", "sw.js", "_headers", ".htaccess", "README.txt"]) {
    assert.ok(existsSync(join(folder, file)), `${file} is in the folder`);
  }
  // The service worker keeps this build's files in a cache named after them.
  assert.match(readFileSync(join(folder, "sw.js"), "utf8"), /const SHELL = "glassbox-shell-[0-9a-f]{12}";/);
  const server = await plainStaticServer(folder);
  const context = await launch();
  try {
    const page = await answers(context, server.url, "dist");
    const backend = page.getByTestId("engine-backend");
    if (cpus().length > 1) {
      // No isolation headers from this server: the first visit runs the engine on one core and says why.
      assert.match(await backend.textContent(), /on 1 core: the page is not cross-origin isolated/);
      // From the next visit, the service worker adds them: the engine shares its memory with its threads.
      await page.evaluate(() => navigator.serviceWorker.ready);
      await page.reload();
      await waitForModel(page);
      assert.equal(await page.evaluate(() => crossOriginIsolated), true, "isolated by the service worker");
      await backend.filter({ hasText: `on ${Math.min(cpus().length, 8)} cores` }).waitFor({ timeout: 30_000 });
    }
    await page.goto(new URL("#lesson/g1", server.url).href);
    await page.getByTestId("lesson-action").click();
    await page.locator('[data-testid="game-chips"] .chip').first().waitFor({ timeout: 30_000 });
    assert.deepEqual(page.errors, [], "console errors");
    assert.deepEqual(page.foreignRequests, [], "requests that left the page's origin");
  } finally {
    await context.close();
    await server.close();
  }
});

test("reached by this machine's network address (serve --lan), the app loads the model and answers without a secure context", async () => {
  const url = process.env.GLASSBOX_LAN_URL;
  assert.ok(url && !url.includes("127.0.0.1"), `this machine has a network address (GLASSBOX_LAN_URL=${url})`);
  const context = await launch();
  try {
    const page = await answers(context, url, "lan");
    assert.equal(await page.evaluate(() => window.isSecureContext), false, "a plain-http LAN origin is not a secure context");
    assert.match(await page.getByTestId("model-status").textContent(), /loaded on this device/);
    await screenshot(page, "lan");
    assert.deepEqual(page.errors, [], "console errors");
    assert.deepEqual(page.foreignRequests, [], "requests that left the page's origin");
  } finally {
    await context.close();
  }
});
