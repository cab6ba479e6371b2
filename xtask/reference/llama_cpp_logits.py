"""llama.cpp's logits on a small GGUF file built by a test, in f32 throughout, for the engine's tests of
each architecture (`engine/tests/native/architectures.rs`, which runs this with the Python of the
llama-cpp-python that `cargo xtask test` builds, named in `GLASSBOX_LLAMA_CPP_PYTHON`).

Usage: llama_cpp_logits.py <model.gguf> <ids, comma-separated> <greedy token count>

Prints one JSON object: `logits`, every position's whole logit row teacher-forced over <ids> in one batch;
`greedy`, llama.cpp's greedy continuation of <ids>, one token at a time through its KV cache, and
`greedy_margins`, the gap between the two best logits at each of its steps. The file's weights are f32
and the KV cache is asked for in f32 (`type_k`/`type_v` 0), flash attention off: no 8-bit or 16-bit
rounding anywhere, so what differs from the engine's exact path is the order of sums.
"""
import json
import sys

import numpy as np
from llama_cpp import Llama


def main():
    model, ids, n_greedy = sys.argv[1], [int(i) for i in sys.argv[2].split(",")], int(sys.argv[3])
    llm = Llama(model_path=model, n_ctx=256, n_batch=256, n_threads=1, n_threads_batch=1, logits_all=True,
                flash_attn=False, type_k=0, type_v=0, verbose=False)
    llm.eval(ids)
    logits = [[float(x) for x in llm.scores[p]] for p in range(len(ids))]
    greedy, margins = [], []
    for _ in range(n_greedy):
        row = np.asarray(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        order = np.argsort(-row, kind="stable")
        greedy.append(int(order[0]))
        margins.append(float(row[order[0]] - row[order[1]]))
        llm.eval([int(order[0])])
    json.dump({"logits": logits, "greedy": greedy, "greedy_margins": margins}, sys.stdout)


if __name__ == "__main__":
    main()
