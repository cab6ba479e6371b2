// Launches Debian's Chromium with the flags that expose WebGPU (SwiftShader) headless, and collects the
// console errors of every page, so each test can assert there were none.
import { chromium } from "playwright-core";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";

export const BASE_URL = process.env.GLASSBOX_URL ?? "http://127.0.0.1:8080/";
/** The threads the workers' CPU pools run on here (a cross-origin isolated page: every core, at most 8). */
export const CORES = Math.min(cpus().length, 8);
export const ARTIFACTS = process.env.GLASSBOX_ARTIFACTS ?? new URL("./artifacts/", import.meta.url).pathname;

const CHROMIUM_FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--enable-unsafe-swiftshader",
  "--enable-webgpu-developer-features",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/**
 * A fresh browser profile each time: no state leaks between tests. Closing the context deletes the
 * profile (each keeps a copy of the 98 MB model in its Cache API: forty of them fill a disk).
 */
export async function launch() {
  const userDataDir = mkdtempSync(join(tmpdir(), "glassbox-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  const close = context.close.bind(context);
  context.close = async (...args) => {
    try {
      await close(...args);
    } finally {
      rmSync(userDataDir, { recursive: true, force: true });
    }
  };
  return context;
}

/**
 * Opens `path` and records console errors and uncaught exceptions into `page.errors`, and every request
 * that leaves the app's origin into `page.foreignRequests` (there must be none: nothing leaves the machine).
 */
export async function openPage(context, path = "", base = BASE_URL) {
  const page = await context.newPage();
  page.errors = [];
  page.foreignRequests = [];
  // Every console line, kept to explain a failure.
  page.log = [];
  page.on("console", (msg) => page.log.push(`${msg.type()}: ${msg.text()}`));
  page.on("worker", (worker) => worker.on("console", (msg) => page.log.push(`worker ${msg.type()}: ${msg.text()}`)));
  const origin = new URL(base).origin;
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith("blob:") && !url.startsWith("data:")) page.foreignRequests.push(url);
  });
  page.on("console", (msg) => {
    if (msg.type() === "error") page.errors.push(msg.text());
  });
  page.on("pageerror", (err) => page.errors.push(String(err)));
  await page.goto(new URL(path, base).href);
  return page;
}

/** Runs `step`; if it throws, prints the page's console and saves a screenshot before passing it on. */
export async function explained(page, name, step) {
  try {
    return await step();
  } catch (err) {
    console.log(`# console of the page:\n${page.log.map((l) => `#   ${l}`).join("\n")}`);
    const fetched = await page.evaluate(() => performance.getEntriesByType("resource").map((e) => `${e.name} ${Math.round(e.duration)} ms`)).catch(() => []);
    console.log(`# what the page fetched:\n${fetched.map((l) => `#   ${l}`).join("\n")}`);
    await screenshot(page, `${name}-failed`).catch(() => {});
    throw err;
  }
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Waits until the default model is loaded (from the network or this browser's copy), whatever the view. */
export async function waitForModel(page, timeout = 90_000) {
  await explained(page, "model", async () => {
    const ready = page.waitForFunction(() => document.querySelector(".page")?.dataset.model === "ready", null, { timeout });
    // An engine worker that never answers gets a note and a button (the app's own way out); as a user
    // would, press it once, and say so.
    const silent = page.getByTestId("engine-silent").waitFor({ state: "visible", timeout }).then(
      async () => {
        console.log("# the engine worker did not answer for 20 s: started again with the page's button");
        await page.getByTestId("engine-restart").click();
      },
      () => {},
    );
    await Promise.race([ready, silent.then(() => ready)]);
  });
}

/** Sets the answer settings through the settings panel (the page keeps them on this device). */
export async function setSettings(page, values) {
  const panel = page.getByTestId("settings");
  if (!(await panel.evaluate((d) => d.open))) await panel.locator("summary").click();
  for (const [id, value] of Object.entries(values)) {
    const input = page.getByTestId(id);
    await input.fill(String(value));
    await input.dispatchEvent("change");
  }
}

/** Sends `text` and waits for the answer to end (the speed note appears). */
export async function ask(page, text, timeout = 120_000) {
  await page.getByTestId("prompt").fill(text);
  await page.getByTestId("prompt").press("Enter");
  await page.getByTestId("chat-note").filter({ hasText: /tokens (per|par) seconde?/ }).waitFor({ timeout });
}

/** Screenshot of one element. */
export async function screenshotOf(locator, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await locator.screenshot({ path: file });
  return file;
}

/**
 * Serves `dist/` and the model on a port of its own, with the headers the real server sends (the
 * Content-Security-Policy is read from index.html), so a test can cut the network for real by closing it.
 */
export async function serveOwn() {
  const { createServer } = await import("node:http");
  const { createReadStream, readFileSync, statSync } = await import("node:fs");
  const { basename, extname, normalize } = await import("node:path");
  const dist = process.env.GLASSBOX_DIST ?? new URL("../dist/", import.meta.url).pathname;
  const model = process.env.GLASSBOX_MODEL;
  const csp = readFileSync(join(dist, "index.html"), "utf8").match(/http-equiv="Content-Security-Policy"\s+content="([^"]+)"/)[1];
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css", ".svg": "image/svg+xml", ".webmanifest": "application/manifest+json" };
  const sockets = new Set();
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = path.startsWith("/models/") && basename(path) === basename(model) ? model : join(dist, normalize(path === "/" ? "/index.html" : path));
    if (!file.startsWith(dist) && file !== model) file = null;
    let size;
    try {
      size = statSync(file).size;
    } catch {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, {
      "Content-Type": types[extname(file)] ?? "application/octet-stream",
      "Content-Length": size,
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Content-Security-Policy": csp,
      "Cache-Control": "no-cache",
    });
    createReadStream(file).pipe(res);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    /** Cuts the network: the server stops and every open connection is dropped. */
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        for (const s of sockets) s.destroy();
      }),
  };
}

/** The logit lens's cells as the page shows them: block, position, the guess's id and probability. */
export const lensCells = (page) =>
  page.locator('[data-testid="lens-grid"] td').evaluateAll((tds) => tds.map((td) => ({ layer: Number(td.dataset.layer), pos: Number(td.dataset.pos), id: Number(td.dataset.id), prob: Number(td.dataset.prob) })));

/**
 * Shown lens cells against a `glassbox lens --top 2 --json` answer: the largest probability gap, how many
 * guesses were compared (where the CLI's two likeliest are more than `margin` apart) and the cells among
 * those whose guess differs.
 */
export function lensAgainst(shown, cli, margin) {
  let worst = 0;
  let same = 0;
  const differ = [];
  for (const cell of shown) {
    const want = cli.layers[cell.layer][cell.pos];
    worst = Math.max(worst, Math.abs(cell.prob - want.prob));
    if (want.top[0].prob - want.top[1].prob > margin) {
      if (cell.id === want.id) same += 1;
      else differ.push(`block ${cell.layer}, position ${cell.pos}: ${cell.id} vs ${want.id}`);
    }
  }
  return { worst, same, differ };
}

/** The weights of the row the attention explorer's head view shows. */
export const shownRow = async (page) => (await page.getByTestId("head-view").getAttribute("data-row")).split(",").map(Number);

/** Waits until the head view shows layer `layer`, head `head` up to token `upto`. */
export async function waitForView(page, layer, head, upto, hideSink = false) {
  await page.waitForFunction(
    ([layer, head, upto, hideSink]) => {
      const f = document.querySelector('[data-testid="head-view"]');
      return (
        f &&
        f.dataset.layer === String(layer) &&
        f.dataset.head === String(head) &&
        f.dataset.upto === String(upto) &&
        f.dataset.hideSink === String(hideSink) &&
        f.dataset.row
      );
    },
    [layer, head, upto, hideSink],
    { timeout: 30_000 },
  );
}

/// A GGUF file (version 3) built in the test: string metadata and f32 tensors, data aligned to 32 bytes.
export function ggufFile(metadata, tensors) {
  const parts = [];
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
  const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
  const str = (s) => { const b = Buffer.from(s, "utf8"); u64(b.length); parts.push(b); };
  parts.push(Buffer.from("GGUF", "ascii"));
  u32(3);
  u64(tensors.length);
  u64(Object.keys(metadata).length);
  // Strings, and numbers as u32.
  for (const [key, value] of Object.entries(metadata)) {
    str(key);
    if (typeof value === "number") { u32(4); u32(value); } else { u32(8); str(value); }
  }
  let offset = 0;
  for (const t of tensors) {
    str(t.name);
    u32(t.dims.length);
    t.dims.forEach(u64);
    u32(0); // F32
    u64(offset);
    offset += Math.ceil((t.values.length * 4) / 32) * 32;
  }
  const header = Buffer.concat(parts);
  const data = Buffer.alloc(Math.ceil(header.length / 32) * 32 - header.length + offset);
  let at = data.length - offset;
  for (const t of tensors) {
    t.values.forEach((v, i) => data.writeFloatLE(v, at + 4 * i));
    at += Math.ceil((t.values.length * 4) / 32) * 32;
  }
  return Buffer.concat([header, data]);
}
