// The release build mounts, reports its compute backend, finds the default model, logs no error and
// sends no request outside its own origin.
import { test } from "node:test";
import assert from "node:assert/strict";
import { launch, openPage, screenshot } from "./browser.mjs";

test("the page mounts, names its compute backend and finds the model, without console errors", async () => {
  const context = await launch();
  try {
    const page = await openPage(context);
    await page.locator("h1.brand").waitFor({ timeout: 30_000 });

    const compute = page.getByTestId("compute-backend");
    await compute.filter({ hasNotText: "looking for a GPU" }).waitFor({ timeout: 60_000 });
    const computeText = (await compute.textContent()).trim();
    // Headless Chromium offers WebGPU through SwiftShader only; either answer must be explicit.
    assert.match(computeText, /^(WebGPU: .+|CPU)$/, `compute backend label: ${computeText}`);

    const model = page.getByTestId("model-status");
    await model.filter({ hasNotText: "checking" }).waitFor({ timeout: 30_000 });
    assert.match((await model.textContent()).trim(), /98\.4 MB, served locally/);

    const file = await screenshot(page, "home");
    console.log(`# compute backend: ${computeText}; screenshot: ${file}`);
    assert.deepEqual(page.errors, [], "console errors");
    assert.deepEqual(page.foreignRequests, [], "requests that left the page's origin");
  } finally {
    await context.close();
  }
});
