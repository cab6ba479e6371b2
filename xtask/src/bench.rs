//! `cargo xtask bench`: our CPU engine against llama.cpp (llama-cpp-python, same file, same chat prompt,
//! 128 greedy tokens, one thread), runs interleaved so both see the same machine; medians and ratios.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::model;

const LLAMA_CPP_PYTHON: &str = "0.3.36";
const PROMPT: &str = "Explain in two sentences what an attention head does.";
const N_TOKENS: usize = 128;

/// One run's figures.
#[derive(Debug, Clone, Copy)]
struct Run {
    prefill_tok_s: f64,
    decode_tok_s: f64,
    peak_rss_mb: f64,
}

/// Runs the benchmark and prints a table.
pub fn run(root: &Path, runs: usize) -> Result<()> {
    let model = model::ensure()?;
    let model_mb = std::fs::metadata(&model)?.len() as f64 / 1e6;
    eprintln!("xtask: building glassbox (release)");
    let status = Command::new("cargo").args(["build", "--release", "-q", "-p", "engine", "--bin", "glassbox"]).status()?;
    if !status.success() {
        bail!("cargo build failed");
    }
    let glassbox = target_dir(root).join("release").join("glassbox");
    let python = ensure_llama_cpp()?;
    let script = root.join("xtask").join("bench").join("llama_cpp_bench.py");

    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut prompt_ids = String::new();
    for i in 0..runs {
        eprintln!("xtask: run {}/{runs}", i + 1);
        let out = json_of(Command::new(&glassbox).args(["generate", "--model"]).arg(&model).args([
            "--prompt",
            PROMPT,
            "--chat",
            "--max-tokens",
            &N_TOKENS.to_string(),
            "--ignore-eos",
            "--json",
        ]))?;
        prompt_ids = field_ids(&out, "prompt_ids")?;
        ours.push(run_of(&out)?);
        let out = json_of(Command::new(&python).arg(&script).arg(&model).args([&prompt_ids, &N_TOKENS.to_string(), "1"]))?;
        theirs.push(run_of(&out)?);
    }

    let median = |runs: &[Run], f: fn(&Run) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("\nnative CPU, 1 thread, {N_TOKENS} greedy tokens after the chat prompt ({} ids); medians of {runs} interleaved runs", prompt_ids.split(',').count());
    println!("{:<28} {:>14} {:>14} {:>16}", "engine", "decode tok/s", "prefill tok/s", "peak RSS (MB)");
    for (name, r) in [("glassbox (int8, AVX2)", &ours), (&*format!("llama.cpp {LLAMA_CPP_PYTHON}"), &theirs)] {
        println!(
            "{:<28} {:>14.1} {:>14.1} {:>16.1}",
            name,
            median(r, |r| r.decode_tok_s),
            median(r, |r| r.prefill_tok_s),
            median(r, |r| r.peak_rss_mb)
        );
    }
    println!(
        "ratios glassbox / llama.cpp: decode {:.2}×, prefill {:.2}×; glassbox peak RSS = {:.2}× the model file ({model_mb:.1} MB)",
        median(&ours, |r| r.decode_tok_s) / median(&theirs, |r| r.decode_tok_s),
        median(&ours, |r| r.prefill_tok_s) / median(&theirs, |r| r.prefill_tok_s),
        median(&ours, |r| r.peak_rss_mb) / model_mb,
    );
    Ok(())
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"))
}

/// A virtualenv with llama-cpp-python built for this CPU (from PyPI's source package; minutes, once).
fn ensure_llama_cpp() -> Result<PathBuf> {
    let venv = crate::cache_dir()?.join("tools").join(format!("llama-cpp-python-{LLAMA_CPP_PYTHON}"));
    let python = venv.join("bin").join("python");
    let ok = Command::new(&python).args(["-c", "import llama_cpp"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("xtask: building llama-cpp-python {LLAMA_CPP_PYTHON} into {} (once; minutes)", venv.display());
        let status = Command::new("python3").args(["-m", "venv"]).arg(&venv).status()?;
        if !status.success() {
            bail!("python3 -m venv failed (apt-get install python3-venv)");
        }
        let status = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", &format!("llama-cpp-python=={LLAMA_CPP_PYTHON}")])
            .env("CMAKE_ARGS", "-DGGML_NATIVE=ON")
            .status()?;
        if !status.success() {
            bail!("pip install llama-cpp-python failed (it needs cmake and a C++ compiler)");
        }
    }
    Ok(python)
}

/// The JSON object on the last line of a command's stdout.
fn json_of(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout.lines().last().map(str::to_owned).context("no output")
}

/// A number field of a flat JSON object (no JSON crate needed for our own two producers).
fn number(json: &str, key: &str) -> Result<f64> {
    let at = json.find(&format!("\"{key}\"")).with_context(|| format!("no {key} in {json}"))? + key.len() + 2;
    let rest = json[at..].trim_start_matches([':', ' ']);
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().with_context(|| format!("{key} is not a number in {json}"))
}

/// An id array field, as "1,2,3".
fn field_ids(json: &str, key: &str) -> Result<String> {
    let at = json.find(&format!("\"{key}\"")).with_context(|| format!("no {key}"))?;
    let open = at + json[at..].find('[').context("no array")? + 1;
    let close = open + json[open..].find(']').context("no array end")?;
    Ok(json[open..close].replace(' ', ""))
}

fn run_of(json: &str) -> Result<Run> {
    Ok(Run {
        prefill_tok_s: number(json, "prefill_tok_s")?,
        decode_tok_s: number(json, "decode_tok_s")?,
        peak_rss_mb: number(json, "peak_rss_bytes")? / 1e6,
    })
}
