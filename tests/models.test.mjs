// Models of other families opened in the page, files the native test `k_quants.rs` writes into
// GLASSBOX_FIXTURES with random weights: K-quants mixed per tensor as in a Q4_K_M file with Llama 2's
// SentencePiece tokenizer and a chat template; and a Qwen3 model (normalised query and key heads, heads
// wider than n_embd / n_head) with Qwen's BPE tokenizer and ChatML template; and a Gemma 3 model with a
// SentencePiece tokenizer and Gemma's template, whose layer 0 attends to a sliding window of 5 positions.
// Each shows, while it loads, the memory it will need, then a card with what the CLI reads; each
// answers, and the attention explorer shows its weights as the CLI computes them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { ask, launch, openPage, screenshot, setSettings, shownRow, waitForModel, waitForView } from "./browser.mjs";

const CLI = process.env.GLASSBOX_CLI ?? new URL("../target/release/glassbox", import.meta.url).pathname;
const FIXTURES = process.env.GLASSBOX_FIXTURES;
// The page (wasm simd128) and the CLI (AVX2) run the same 8-bit path; their sums may round apart, as for
// the default model (explorer.test.mjs), so the same bound (measured here: 0).
const WEIGHT_TOLERANCE = 5e-3;

const CASES = [
  { file: "k_quant_spm.gguf", what: "a K-quant file with a SentencePiece tokenizer", arch: "llama", card: /llama \/ default, 32000 tokens/, first: 1, layer: 1, shot: "k-quant-spm" },
  { file: "qwen3_bpe.gguf", what: "a Qwen3 file with Qwen's tokenizer", arch: "qwen3", card: /gpt2 \/ qwen2, 151936 tokens/, first: 151644, layer: 1, shot: "qwen3-bpe" },
  // Layer 0 of this Gemma model slides: the row shows weight on the last 5 positions only.
  { file: "gemma3_spm.gguf", what: "a Gemma 3 file with a sliding window", arch: "gemma3", card: /llama \/ default, 32000 tokens/, first: 1, layer: 0, window: 5, shot: "gemma3-spm" },
];

for (const c of CASES) test(`${c.what} opens, shows its card, answers and shows its attention`, async () => {
  assert.ok(FIXTURES, "GLASSBOX_FIXTURES: the folder the native tests write the files into (cargo xtask test sets it)");
  const model = join(FIXTURES, c.file);
  const context = await launch();
  try {
    const page = await openPage(context);
    await waitForModel(page);
    // Every estimate the page shows while the file loads (it goes once the model is in).
    await page.evaluate(() => {
      window.estimatesShown = [];
      const note = () => {
        const shown = document.querySelector('[data-testid="model-estimate"]')?.textContent.trim();
        if (shown && !window.estimatesShown.includes(shown)) window.estimatesShown.push(shown);
      };
      new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByTestId("open-gguf").setInputFiles(model);
    await page.getByTestId("model-status").filter({ hasText: new RegExp(`^${c.file.replace(".", "\\.")}, .* loaded on this device`) }).waitFor({ timeout: 60_000 });

    const card = JSON.parse(execFileSync(CLI, ["card", "--model", model], { encoding: "utf8" }));
    const shown = page.getByTestId("model-card");
    await shown.locator("summary").click();
    const cardText = await shown.textContent();
    for (const f of card.formats) assert.ok(cardText.includes(`${f.format} ×${f.tensors}`), `${f.format} in: ${cardText}`);
    assert.match(cardText, c.card);
    assert.ok(cardText.includes(c.arch), `${c.arch} in: ${cardText}`);

    // Before the weights were read, the page said from the header what the file needs: the file itself
    // (its size on disk) and the key/value cache of a conversation of 4,096 tokens (or the whole context
    // if shorter), at the CLI's bytes per position.
    assert.equal(card.file_bytes, statSync(model).size, "the card's file size is the file's");
    const positions = Math.min(card.context ?? 4096, 4096);
    const mb = ((card.file_bytes + card.kv_bytes_per_position * positions) / 1e6).toFixed(0);
    const estimates = await page.evaluate(() => window.estimatesShown);
    const said = `It needs about ${mb} MB here, with a conversation of ${positions.toLocaleString("en-US")} tokens.`;
    assert.ok(estimates.some((e) => e.includes(said) && e.includes(c.arch)), `${JSON.stringify(said)} in ${JSON.stringify(estimates)}`);
    console.log(`# ${c.file}: estimated before loading: ${estimates.join(" | ")}`);

    await setSettings(page, { temperature: 0, "max-tokens": 8 });
    await ask(page, "Bonjour, ça va ?");
    // Random weights may answer blanks only (the Gemma model writes eight line breaks): still an answer.
    const answer = await page.locator(".message.assistant p").last().textContent();
    assert.ok(answer.length > 0, "an answer");
    const chips = page.locator('[data-testid="chips"] .chip');
    const ids = await chips.evaluateAll((cs) => cs.map((c) => Number(c.dataset.id)));
    assert.equal(ids[0], c.first, "the prompt starts with Llama 2's BOS, or Qwen's <|im_start|>");
    assert.notEqual(ids[1], ids[0], "one BOS, even where the template writes one too (Gemma's)");

    await page.getByTestId("layer").selectOption(String(c.layer));
    await page.getByTestId("head").selectOption("3");
    const upto = ids.length - 2;
    await page.getByTestId("step").fill(String(upto));
    await waitForView(page, c.layer, 3, upto);
    const row = await shownRow(page);
    const cli = JSON.parse(
      execFileSync(CLI, ["score", "--model", model, "--ids", ids.slice(0, upto + 1).join(","), "--attention", `${c.layer},3`, "--top", "1", "--json"]).toString(),
    );
    assert.equal(row.length, upto + 1);
    const worst = Math.max(...row.map((w, k) => Math.abs(w - cli.attention[k])));
    console.log(`# ${c.file}: answer ${JSON.stringify(answer)}; layer ${c.layer} head 3 at token ${upto}: max |page − CLI| ${worst.toExponential(1)}`);
    if (c.window) {
      assert.ok(upto >= c.window, "the prompt runs past the window");
      assert.ok(row.slice(0, upto + 1 - c.window).every((w) => w === 0), "nothing before the window");
      assert.ok(row.slice(upto + 1 - c.window).every((w) => w > 0), "weight inside the window");
    }
    assert.ok(worst <= WEIGHT_TOLERANCE, `attention weights ${worst} apart`);
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-3, "a row of weights sums to 1");
    await screenshot(page, c.shot);
    assert.deepEqual(page.errors, [], "console errors");
  } finally {
    await context.close();
  }
});
