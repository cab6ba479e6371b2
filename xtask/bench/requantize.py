"""`cargo xtask bench quants`: writes the default model requantized to another of llama.cpp's formats with
llama.cpp's own quantizer (llama-cpp-python), for a side-by-side speed comparison on the same file.

Usage: requantize.py <source.gguf> <destination.gguf> <Q4_K_M|Q6_K|Q8_0|...>

The source is the default model's Q4_1 file, so the result measures speed, not quality: its weights went
through Q4_1 first.
"""
import ctypes
import sys

import llama_cpp


def main():
    source, destination, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{kind}")
    params.allow_requantize = True
    params.nthread = 0
    status = llama_cpp.llama_model_quantize(source.encode(), destination.encode(), ctypes.byref(params))
    if status != 0:
        sys.exit(f"llama_model_quantize returned {status}")


if __name__ == "__main__":
    main()
