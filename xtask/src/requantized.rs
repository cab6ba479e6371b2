//! The default model requantized by llama.cpp's own quantizer to the formats people download, and
//! llama.cpp's outputs on each file: the references of `engine/tests/native/requantized.rs` (issue #16),
//! and the files of `cargo xtask bench quants`.
//!
//! Everything is written once per machine into the cache, keyed by llama-cpp-python's version; a
//! reference is also keyed by the script that wrote it and the cases it read, so an edit of either
//! writes it again.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::bench::LLAMA_CPP_PYTHON;

/// The formats the tests open, in llama.cpp's names: every K-quant (the `_M` mixes, as most model pages
/// offer them, put Q6_K or a larger K-quant on some tensors) and the legacy block formats.
pub const TESTED: [&str; 9] = ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q4_0", "Q5_0", "Q5_1", "Q8_0"];

/// The default model requantized to `kind` (written once, kept in the cache).
pub fn requantized(root: &Path, python: &Path, source: &Path, kind: &str) -> Result<PathBuf> {
    let file = dir()?.join(format!("{}.{kind}.gguf", stem(source)?));
    if !file.is_file() {
        eprintln!("xtask: requantizing the default model to {kind} with llama.cpp");
        let partial = file.with_extension("part");
        // Its log (a line per tensor) is shown only when it fails.
        let out = Command::new(python)
            .arg(root.join("xtask").join("bench").join("requantize.py"))
            .arg(source)
            .arg(&partial)
            .arg(kind)
            .output()?;
        if !out.status.success() {
            let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            bail!("llama.cpp's quantizer failed on {kind}:\n{log}");
        }
        std::fs::rename(&partial, &file)?;
    }
    Ok(file)
}

fn dir() -> Result<PathBuf> {
    let dir = crate::cache_dir()?.join("models").join(format!("requantized-llama-cpp-python-{LLAMA_CPP_PYTHON}"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// "SmolLM2-135M-Instruct" of "SmolLM2-135M-Instruct.Q4_1.gguf".
fn stem(source: &Path) -> Result<&str> {
    let stem = source.file_stem().and_then(|s| s.to_str()).context("the model's name")?;
    Ok(stem.rsplit_once('.').map_or(stem, |(name, _)| name))
}

/// With llama-cpp-python's `python` ([`crate::bench::ensure_llama_cpp`]), writes every [`TESTED`] file and llama.cpp's reference on
/// it, and returns a manifest (`{"files":[{"kind","model","reference"}]}`) for the tests.
pub fn ensure(root: &Path, source: &Path, python: &Path) -> Result<PathBuf> {
    let script = root.join("xtask").join("reference").join("llama_cpp_reference.py");
    let cases = root.join("engine").join("tests").join("data").join("smollm2-135m-instruct-q4_1.reference.json");
    let mut hash = Sha256::new();
    hash.update(std::fs::read(&script).with_context(|| format!("reading {}", script.display()))?);
    hash.update(std::fs::read(&cases).with_context(|| format!("reading {}", cases.display()))?);
    let key: String = hash.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect();
    let mut files = Vec::new();
    for kind in TESTED {
        let model = requantized(root, python, source, kind)?;
        let reference = dir()?.join(format!("{}.{kind}.llama-cpp-{key}.json", stem(source)?));
        if !reference.is_file() {
            eprintln!("xtask: llama.cpp's greedy answers and teacher-forced logits on {kind}");
            let partial = reference.with_extension("part");
            let status = Command::new(python).arg(&script).arg(&model).arg(&cases).arg(&partial).status()?;
            if !status.success() {
                bail!("{} failed on {}", script.display(), model.display());
            }
            std::fs::rename(&partial, &reference)?;
        }
        files.push(serde_json::json!({ "kind": kind, "model": model, "reference": reference }));
    }
    let manifest = dir()?.join(format!("manifest-{key}.json"));
    std::fs::write(&manifest, serde_json::to_string_pretty(&serde_json::json!({ "files": files }))?)?;
    Ok(manifest)
}
