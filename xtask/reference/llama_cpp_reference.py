"""llama.cpp's outputs on one GGUF file, for the engine's tests on the default model requantized to
other formats (`engine/tests/native/requantized.rs`; `cargo xtask test` runs this once per file).

Usage: llama_cpp_reference.py <model.gguf> <reference.json> <out.json>

For each chat case of <reference.json> (the default model's reference: its prompts' token ids and how
many tokens llama.cpp answered there), on <model.gguf>: llama.cpp's greedy continuation of the prompt
(as many tokens, or up to and including the end-of-sequence token), then the logits teacher-forced over
prompt + that continuation in one batch: at every continuation position the five best ids and logits,
and the margin between the first two. f32 logits, flash attention off, as the shared reference.
"""
import json
import os
import sys

import numpy as np
from llama_cpp import Llama


def top5(row):
    ids = np.argsort(-row, kind="stable")[:5]
    logits = [float(row[i]) for i in ids]
    return {"top5_ids": [int(i) for i in ids], "top5_logits": logits, "margin": logits[0] - logits[1]}


def main():
    model, reference, out = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(reference) as f:
        cases = json.load(f)["chat"]
    # One thread: a fraction of a second per file, and no OpenMP threads spinning against whatever else
    # runs (with two threads beside a build, each token took seconds).
    llm = Llama(model_path=model, n_ctx=512, n_batch=512, n_threads=1, n_threads_batch=1,
                logits_all=True, flash_attn=False, verbose=False)
    eos = llm.token_eos()
    result = []
    for case in cases:
        prompt = case["prompt_ids"]
        llm.reset()
        llm.eval(prompt)
        greedy = []
        while len(greedy) < len(case["greedy_ids"]):
            token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            greedy.append(token)
            if token == eos:
                break
            llm.eval([token])
        llm.reset()
        llm.eval(prompt + greedy)
        rows = llm.scores[len(prompt) - 1:len(prompt) - 1 + len(greedy)]
        result.append({"user": case["user"], "prompt_ids": prompt, "greedy_ids": greedy,
                       "teacher_forced": [top5(np.asarray(r, dtype=np.float32)) for r in rows]})
    with open(out, "w") as f:
        json.dump({"model": os.path.basename(model), "chat": result}, f)


if __name__ == "__main__":
    main()
