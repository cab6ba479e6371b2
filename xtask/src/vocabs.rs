//! Real tokenizers and chat templates to test against: llama.cpp's vocab-only GGUF files
//! (`models/ggml-vocab-*.gguf`, MIT), each with its test inputs (`.inp`) and the ids Hugging Face's
//! tokenizer gives them (`.out`), and model families' chat templates (`models/templates/*.jinja`), as the
//! source package of `llama-cpp-python` on PyPI vendors them. The archive is fetched from PyPI's file
//! host, checked against its sha256, and only those files are kept (templates in `templates/`).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

const VERSION: &str = "0.3.36";
const URL: &str = "https://files.pythonhosted.org/packages/ec/e9/e7de2b0463ea3ffbf0ede6cb21b58c1258a8f6521aae45ca773a59fe7cf3/llama_cpp_python-0.3.36.tar.gz";
const SHA256: &str = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e";
/// The families whose tokenizers the tests check.
const VOCABS: [&str; 9] =
    ["gpt-2", "starcoder", "refact", "llama-bpe", "qwen2", "qwen35", "llama-spm", "phi-3", "gemma-4"];
/// The chat templates the tests render.
const TEMPLATES: [&str; 9] = [
    "meta-llama-Llama-3.2-3B-Instruct",
    "Qwen-Qwen2.5-7B-Instruct",
    "Qwen-Qwen3-0.6B",
    "HuggingFaceTB-SmolLM3-3B",
    "microsoft-Phi-3.5-mini-instruct",
    "mistralai-Mistral-Nemo-Instruct-2407",
    "google-gemma-2-2b-it",
    "google-gemma-4-31B-it",
    "Qwen3.5-4B",
];

/// The folder holding `ggml-vocab-<name>.gguf{,.inp,.out}` for every name of [`VOCABS`], fetched once.
pub fn ensure() -> Result<PathBuf> {
    let dir = crate::cache_dir()?.join("vocabs").join(format!("llama-cpp-python-{VERSION}-5"));
    let complete = dir.join("complete");
    if complete.exists() {
        return Ok(dir);
    }
    std::fs::create_dir_all(dir.join("templates")).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!("xtask: fetching llama.cpp's test tokenizers from PyPI (llama-cpp-python {VERSION} source, 77 MB)");
    // Python's standard library fetches (through the machine's proxy settings), checks and extracts.
    let script = r#"
import hashlib, io, os, sys, tarfile, urllib.request
url, sha, dest, names, templates = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(","), sys.argv[5].split(",")
data = urllib.request.urlopen(url, timeout=600).read()
digest = hashlib.sha256(data).hexdigest()
if digest != sha:
    sys.exit(f"sha256 {digest}, expected {sha}")
wanted = {f"models/ggml-vocab-{n}.gguf{ext}" for n in names for ext in ("", ".inp", ".out")}
wanted |= {f"models/templates/{t}.jinja" for t in templates}
with tarfile.open(fileobj=io.BytesIO(data)) as tar:
    for member in tar.getmembers():
        inside = member.name.split("/vendor/llama.cpp/", 1)[-1]
        if inside in wanted:
            with open(os.path.join(dest, inside.removeprefix("models/")), "wb") as out:
                out.write(tar.extractfile(member).read())
            wanted.discard(inside)
if wanted:
    sys.exit(f"missing from the archive: {sorted(wanted)}")
"#;
    let status = Command::new("python3")
        .args(["-c", script, URL, SHA256])
        .arg(&dir)
        .arg(VOCABS.join(","))
        .arg(TEMPLATES.join(","))
        .status()
        .context("running python3")?;
    if !status.success() {
        bail!("could not fetch llama.cpp's test tokenizers from PyPI");
    }
    std::fs::write(&complete, VERSION)?;
    Ok(dir)
}
