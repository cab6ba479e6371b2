// Launches Debian's Chromium with the flags that expose WebGPU (SwiftShader) headless, and collects the
// console errors of every page, so each test can assert there were none.
import { chromium } from "playwright-core";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BASE_URL = process.env.GLASSBOX_URL ?? "http://127.0.0.1:8080/";
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

/** A fresh browser profile each time: no state leaks between tests. */
export async function launch() {
  const userDataDir = mkdtempSync(join(tmpdir(), "glassbox-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  return context;
}

/**
 * Opens `path` and records console errors and uncaught exceptions into `page.errors`, and every request
 * that leaves the app's origin into `page.foreignRequests` (there must be none: nothing leaves the machine).
 */
export async function openPage(context, path = "") {
  const page = await context.newPage();
  page.errors = [];
  page.foreignRequests = [];
  const origin = new URL(BASE_URL).origin;
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith("blob:") && !url.startsWith("data:")) page.foreignRequests.push(url);
  });
  page.on("console", (msg) => {
    if (msg.type() === "error") page.errors.push(msg.text());
  });
  page.on("pageerror", (err) => page.errors.push(String(err)));
  await page.goto(new URL(path, BASE_URL).href);
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
