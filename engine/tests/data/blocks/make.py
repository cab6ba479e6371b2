"""Writes the block-format fixtures of `engine/tests/blocks.rs`: for each ggml block type, random blocks
(random bytes, with every f16 constant set to a finite value of either sign) and the values llama.cpp's
own Python package (`gguf`, from PyPI: a NumPy port of ggml's reference dequantizers) reads from them.

    python3 -m venv /tmp/gg && /tmp/gg/bin/pip install gguf==0.19.0
    /tmp/gg/bin/python engine/tests/data/blocks/make.py

Each `<type>.bin` holds the blocks; `<type>.f32` the values, little-endian f32.
"""

import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

# Where each block's f16 constants sit (byte offsets).
HALVES = {
    T.Q4_0: [0],
    T.Q4_1: [0, 2],
    T.Q5_0: [0],
    T.Q5_1: [0, 2],
    T.Q8_0: [0],
    T.Q2_K: [80, 82],
    T.Q3_K: [108],
    T.Q4_K: [0, 2],
    T.Q5_K: [0, 2],
    T.Q6_K: [208],
}

rng = np.random.default_rng(20261130)
here = os.path.dirname(os.path.abspath(__file__))
for ty, halves in HALVES.items():
    values_per_block, bytes_per_block = GGML_QUANT_SIZES[ty]
    n_blocks = 4096 // values_per_block
    blocks = rng.integers(0, 256, size=(n_blocks, bytes_per_block), dtype=np.uint8)
    for at in halves:
        magnitude = rng.uniform(1e-3, 0.1, size=n_blocks) * rng.choice([-1.0, 1.0], size=n_blocks)
        blocks[:, at : at + 2] = magnitude.astype(np.float16).view(np.uint8).reshape(n_blocks, 2)
    values = dequantize(blocks.reshape(-1), ty).astype("<f4")
    assert values.size == n_blocks * values_per_block
    blocks.tofile(os.path.join(here, f"{ty.name.lower()}.bin"))
    values.tofile(os.path.join(here, f"{ty.name.lower()}.f32"))
    print(ty.name, n_blocks, "blocks")
