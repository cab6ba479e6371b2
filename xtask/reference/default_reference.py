"""Regenerates the default model's reference (`engine/tests/data/smollm2-135m-instruct-q4_1.reference.json`):
llama.cpp's outputs, and a float64 forward written here, on the default model. `cargo xtask reference`
runs it with the Python of the llama-cpp-python that `cargo xtask test` builds and compares what it
writes with the copy the tests read.

Usage: default_reference.py <model.gguf> <old reference.json> <out.json>

From <old reference.json> it takes only the inputs: the chat cases' user messages and how many tokens
to answer, and the texts to tokenize. For each chat case:
- `prompt`, `prompt_ids`: the model's ChatML prompt with its default system message, tokenized by
  llama.cpp (special tokens parsed, no BOS: the template starts with `<|im_start|>`);
- `greedy_ids`, `greedy_text`: llama.cpp's greedy answer, each token the argmax of one batch over the
  prompt and the answer so far;
- `teacher_forced`: llama.cpp's logits over prompt + answer in one batch, at every answer position the
  five best ids and logits and the margin between the first two (f32 logits, flash attention off);
- `exact_teacher_forced`: the same from the float64 forward below over the file's dequantized weights
  (no 8-bit activations, no f16 cache): the engine's exact path is held to it.
`tokenize`: each text's ids from llama.cpp's tokenizer (no BOS, special tokens not parsed).

The float64 forward is this file's own reading of the GGUF format and of the llama architecture
(RMS norm, RoPE on adjacent pairs, grouped-query attention, SwiGLU), independent of the engine's code.
"""
import hashlib
import json
import struct
import sys

import numpy as np
from llama_cpp import Llama

SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def chat_prompt(user):
    return (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
            "<|im_start|>assistant\n")


# --- A GGUF reader and the dequantizers this file needs ---------------------------------------------

SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def scalar(self, fmt):
        (value,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return value

    def string(self):
        n = self.scalar("<Q")
        text = self.data[self.at:self.at + n].decode("utf-8", errors="replace")
        self.at += n
        return text

    def value(self, ty):
        if ty in SCALARS:
            return self.scalar(SCALARS[ty])
        if ty == 8:
            return self.string()
        if ty == 9:
            item, n = self.scalar("<I"), self.scalar("<Q")
            return [self.value(item) for _ in range(n)]
        raise ValueError(f"unknown GGUF value type {ty}")


def read_gguf(path):
    data = open(path, "rb").read()
    r = Reader(data)
    if data[:4] != b"GGUF":
        raise ValueError("not a GGUF file")
    r.at = 4
    _version, n_tensors, n_kv = r.scalar("<I"), r.scalar("<Q"), r.scalar("<Q")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.scalar("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.scalar("<Q") for _ in range(r.scalar("<I"))]
        infos.append((name, dims, r.scalar("<I"), r.scalar("<Q")))
    align = meta.get("general.alignment", 32)
    start = (r.at + align - 1) // align * align
    tensors = {name: dequantize(data, start + offset, ty, dims) for name, dims, ty, offset in infos}
    return meta, tensors


def f16(raw):
    return np.frombuffer(raw, dtype="<f2").astype(np.float64)


def dequantize(data, at, ty, dims):
    n = int(np.prod(dims))
    shape = list(reversed(dims))  # GGUF's first dimension is the row
    if ty == 0:  # F32
        return np.frombuffer(data, "<f4", n, at).astype(np.float64).reshape(shape)
    if ty == 1:  # F16
        return np.frombuffer(data, "<f2", n, at).astype(np.float64).reshape(shape)
    sizes = {2: 18, 3: 20, 8: 34}  # Q4_0, Q4_1, Q8_0: bytes per block of 32
    if ty not in sizes:
        raise ValueError(f"tensor type {ty} is not read by this script")
    blocks = np.frombuffer(data, np.uint8, n // 32 * sizes[ty], at).reshape(-1, sizes[ty])
    d = f16(blocks[:, 0:2].tobytes())[:, None]
    if ty == 8:
        q = blocks[:, 2:].view(np.int8).astype(np.float64)
        values = d * q
    else:
        body = blocks[:, 2:] if ty == 2 else blocks[:, 4:]
        q = np.concatenate([body & 0x0F, body >> 4], axis=1).astype(np.float64)  # values 0..15, then 16..31
        values = d * (q - 8) if ty == 2 else d * q + f16(blocks[:, 2:4].tobytes())[:, None]
    return values.reshape(shape)


# --- A float64 llama forward ------------------------------------------------------------------------


def rms_norm(x, gain, eps):
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps) * gain


def rope(x, positions, base):
    # x: (n, heads, head_dim); rotates adjacent pairs (x[2i], x[2i+1]) by position · base^(-2i/head_dim).
    hd = x.shape[-1]
    freqs = base ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    angles = positions[:, None] * freqs[None, :]
    cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = a * sin + b * cos
    return out


def forward(meta, t, ids):
    arch = meta["general.architecture"]
    n_layer = meta[f"{arch}.block_count"]
    n_head = meta[f"{arch}.attention.head_count"]
    n_kv = meta[f"{arch}.attention.head_count_kv"]
    eps = meta[f"{arch}.attention.layer_norm_rms_epsilon"]
    base = meta.get(f"{arch}.rope.freq_base", 10000.0)
    n = len(ids)
    x = t["token_embd.weight"][ids]
    hd = x.shape[1] // n_head
    positions = np.arange(n, dtype=np.float64)
    causal = np.triu(np.full((n, n), -np.inf), k=1)
    for layer in range(n_layer):
        w = lambda name: t[f"blk.{layer}.{name}.weight"]
        h = rms_norm(x, w("attn_norm"), eps)
        q = rope((h @ w("attn_q").T).reshape(n, n_head, hd), positions, base)
        k = rope((h @ w("attn_k").T).reshape(n, n_kv, hd), positions, base)
        v = (h @ w("attn_v").T).reshape(n, n_kv, hd)
        out = np.empty((n, n_head, hd))
        for head in range(n_head):
            kv = head // (n_head // n_kv)
            scores = q[:, head] @ k[:, kv].T / np.sqrt(hd) + causal
            p = np.exp(scores - scores.max(axis=1, keepdims=True))
            out[:, head] = (p / p.sum(axis=1, keepdims=True)) @ v[:, kv]
        x = x + out.reshape(n, -1) @ w("attn_output").T
        h = rms_norm(x, w("ffn_norm"), eps)
        gate, up = h @ w("ffn_gate").T, h @ w("ffn_up").T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ w("ffn_down").T
    head = t.get("output.weight", t["token_embd.weight"])
    return rms_norm(x, t["output_norm.weight"], eps) @ head.T


def top5(row, digits):
    """The five best ids and logits (rounded to `digits` decimals, as the shared reference keeps them:
    4 for llama.cpp's f32 logits, 5 for the float64 forward's) and the gap between the first two."""
    ids = np.argsort(-row, kind="stable")[:5]
    logits = [float(row[i]) for i in ids]
    return {"top5_ids": [int(i) for i in ids], "top5_logits": [round(v, digits) for v in logits],
            "margin": round(logits[0] - logits[1], digits)}


def main():
    model, old, out = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(old) as f:
        inputs = json.load(f)
    llm = Llama(model_path=model, n_ctx=512, n_batch=512, n_threads=1, n_threads_batch=1,
                logits_all=True, flash_attn=False, verbose=False)
    meta, tensors = read_gguf(model)
    eos = llm.token_eos()
    chat = []
    for case in inputs["chat"]:
        prompt = chat_prompt(case["user"])
        prompt_ids = llm.tokenize(prompt.encode(), add_bos=False, special=True)
        # Each greedy token is the argmax of one batch over the prompt and the tokens so far, as the
        # teacher-forced pass below reads them: llama.cpp's one-token steps through its cache round
        # differently (at a near-tie they can pick the other token, and the answer would no longer be
        # what the teacher-forced logits say).
        greedy = []
        while len(greedy) < len(case["greedy_ids"]):
            llm.reset()
            llm.eval(prompt_ids + greedy)
            token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            greedy.append(token)
            if token == eos:
                break
        llm.reset()
        llm.eval(prompt_ids + greedy)
        rows = llm.scores[len(prompt_ids) - 1:len(prompt_ids) - 1 + len(greedy)]
        exact = forward(meta, tensors, prompt_ids + greedy)[len(prompt_ids) - 1:-1]
        chat.append({
            "user": case["user"], "prompt": prompt, "prompt_ids": prompt_ids, "greedy_ids": greedy,
            "greedy_text": llm.detokenize(greedy).decode("utf-8", errors="replace"),
            "teacher_forced": [top5(np.asarray(r, dtype=np.float32), 4) for r in rows],
            "exact_teacher_forced": [top5(r, 5) for r in exact],
        })
    tokenize = [{"text": c["text"], "ids": llm.tokenize(c["text"].encode(), add_bos=False, special=False)}
                for c in inputs["tokenize"]]
    with open(model, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    result = {
        "model_sha256": sha,
        "generator": inputs["generator"],
        "chat": chat,
        "tokenize": tokenize,
        "exact_generator": inputs["exact_generator"],
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
