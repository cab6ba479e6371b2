"""llama.cpp's side of `cargo xtask bench`: the same prompt ids, greedy, a fixed number of tokens.

Prints one JSON line: prefill and decode speed (the first token comes out of the prefill, as in
`glassbox generate`), the ids, and the process's peak resident memory.
"""
import json
import resource
import sys
import time

from llama_cpp import Llama


def main():
    model, ids, n_tokens, threads = sys.argv[1], [int(i) for i in sys.argv[2].split(",")], int(sys.argv[3]), int(sys.argv[4])
    llm = Llama(model_path=model, n_ctx=512, n_threads=threads, n_threads_batch=threads, n_batch=512, verbose=False)
    started = time.perf_counter()
    out = []
    prefill_s = None
    for token in llm.generate(ids, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
        if prefill_s is None:
            prefill_s = time.perf_counter() - started
        out.append(token)
        if len(out) == n_tokens:
            break
    total_s = time.perf_counter() - started
    print(json.dumps({
        "prefill_tok_s": len(ids) / prefill_s,
        "decode_tok_s": (len(out) - 1) / (total_s - prefill_s),
        "ids": out,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
