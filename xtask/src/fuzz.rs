//! The fuzz step of `cargo xtask test`: each target of `engine/fuzz/` (arbitrary bytes as a GGUF file;
//! arbitrary text through a tokenizer and a chat template) run for a few seconds under libFuzzer with
//! AddressSanitizer, through `cargo fuzz` (a nightly feature, enabled on the pinned stable toolchain with
//! `RUSTC_BOOTSTRAP=1`). Its build and its corpus live in the machine's cache, so each run starts where
//! the last one stopped; the GGUF target is seeded with the head of each real vocab file.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

/// The targets in `engine/fuzz/fuzz_targets/`.
const TARGETS: [&str; 2] = ["gguf", "tokenizer"];
/// The longest input tried, in bytes: a GGUF header with its metadata and a few tensors' descriptions.
const MAX_LEN: usize = 1 << 16;

/// Runs every target for `seconds`; returns each target's name and whether it found nothing.
pub fn run_all(root: &Path, path: &std::ffi::OsStr, vocabs: &Path, seconds: u32) -> Result<Vec<(&'static str, bool)>> {
    let cache = crate::cache_dir()?;
    let target_dir = cache.join("fuzz-target");
    std::fs::create_dir_all(&target_dir)?;
    let mut results = Vec::new();
    let mut dict = std::ffi::OsString::from("-dict=");
    dict.push(root.join("engine").join("fuzz").join("gguf.dict"));
    for target in TARGETS {
        let corpus = cache.join("fuzz-corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        if target == "gguf" {
            seed_with_vocab_heads(vocabs, &corpus)?;
        }
        let log = target_dir.join(format!("fuzz-{target}.log"));
        eprintln!("xtask: fuzzing {target} for {seconds} s (cargo fuzz, AddressSanitizer)");
        let status = Command::new("cargo")
            .current_dir(root.join("engine"))
            .args(["fuzz", "run", target, "--target-dir"])
            .arg(&target_dir)
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-max_len={MAX_LEN}"))
            .args(if target == "gguf" { vec![dict.clone()] } else { vec![] })
            .env("RUSTC_BOOTSTRAP", "1")
            .env("PATH", path)
            .env_remove("CARGO_TARGET_DIR")
            .stdout(std::fs::File::create(&log)?)
            .stderr(std::fs::File::options().append(true).open(&log)?)
            .status()
            .context("running cargo fuzz")?;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        if status.success() {
            // libFuzzer's last line: "Done N runs in S second(s)".
            println!("fuzz {target}: {}", lines.last().copied().unwrap_or("done"));
        } else {
            println!("fuzz {target} FAILED ({status}); the end of {}:", log.display());
            for line in &lines[lines.len().saturating_sub(60)..] {
                println!("  {line}");
            }
        }
        results.push((target, status.success()));
    }
    Ok(results)
}

/// The first [`MAX_LEN`] bytes of each `ggml-vocab-*.gguf`: real headers and metadata to mutate.
fn seed_with_vocab_heads(vocabs: &Path, corpus: &Path) -> Result<()> {
    for entry in std::fs::read_dir(vocabs)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if !name.ends_with(".gguf") {
            continue;
        }
        let seed = corpus.join(format!("seed-{name}"));
        if !seed.exists() {
            let bytes = std::fs::read(&path)?;
            std::fs::write(&seed, &bytes[..bytes.len().min(MAX_LEN)])?;
        }
    }
    Ok(())
}
