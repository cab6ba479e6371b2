//! `cargo xtask bench thoughts`: the sparse autoencoder of the Thoughts view, natively and in the page.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::bench::{cargo, json_of};
use crate::setup::{self, Need, Tools};
use crate::{model, serve};

/// Expansions compared (features per number of the model's width).
const EXPANSIONS: [usize; 2] = [4, 16];
/// A text the autoencoder never read, for the squeeze.
const HELD_OUT: &str =
    "The old fisherman walked down to the harbour at dawn. His boat was small and blue, and the sea \
                        was calm. He thought about his daughter, who lived in the city now.";

/// Steps of the native GPU training (lavapipe, a software Vulkan, is slow: this keeps it to minutes).
const GPU_STEPS: &str = "100";

/// Natively: for each expansion, `glassbox sae train` (600 steps: vectors per second, held-out share
/// lost) and `sae train --gpu` (on the adapter wgpu finds through Vulkan: lavapipe without a GPU),
/// `sae squeeze` on a text it never read (KL against the mean and zero floors), and `sae speed`
/// (decoding as it is and squeezed, in turns); in the page (CPU): reading the built-in text, then
/// `seconds` of training per expansion (vectors per second, held-out share lost).
pub fn run(root: &Path, runs: usize, seconds: u64) -> Result<()> {
    let tools = Tools::ensure(Need::Everything)?;
    let model = model::ensure()?;
    cargo(&["build", "--release", "-q", "-p", "engine", "--bin", "glassbox"])?;
    let cli = crate::target_dir(root).join("release").join("glassbox");
    let model_arg = model.to_str().context("model path")?.to_owned();
    let sae = |args: &[&str]| json_of(Command::new(&cli).args(["sae", "--model", &model_arg, "--json"]).args(args));
    let sae_gpu = |args: &[&str]| {
        json_of(
            Command::new(&cli)
                .args(["sae", "--model", &model_arg, "--json"])
                .args(args)
                .env("WGPU_BACKEND", "vulkan")
                .env("XDG_RUNTIME_DIR", std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into())),
        )
    };
    let mut native = Vec::new();
    for e in EXPANSIONS {
        let file = std::env::temp_dir().join(format!("glassbox-bench-{e}.sae"));
        let path = file.to_str().context("temp path")?;
        let width = (576 * e).to_string();
        let trained = sae(&["train", "--width", &width, "--steps", "600", "--out", path])?;
        let on_gpu = sae_gpu(&["train", "--gpu", "--width", &width, "--steps", GPU_STEPS])?;
        let squeezed = sae(&["squeeze", "--sae", path, "--text", HELD_OUT])?;
        let runs = runs.to_string();
        let speed = sae(&["speed", "--sae", path, "--text", HELD_OUT, "--tokens", "64", "--runs", &runs])?;
        native.push((e, trained, on_gpu, squeezed, speed));
    }
    setup::trunk_build(&tools)?;
    let server = serve::start(&[("/", &root.join("dist"))], &model, 0, serve::Listen::Local)?;
    eprintln!("xtask: the page reads the built-in text, then trains each size for {seconds} s");
    let out = Command::new("node")
        .arg(root.join("xtask").join("bench").join("thoughts_bench.mjs"))
        .args([&server.url, &seconds.to_string()])
        .args(EXPANSIONS.map(|e| e.to_string()))
        .output()
        .context("running node")?;
    if !out.status.success() {
        bail!("the Thoughts benchmark failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let pages: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "\nThoughts: a top-k (k = 32) sparse autoencoder after block 10 of the default model, on the built-in text"
    );
    if let Some(p) = pages.first() {
        println!(
            "reading the text in the page: {:.0} vectors in {:.0} s; natively: {:.0} tokens/s",
            f(p, "vectors"),
            f(p, "collect_seconds"),
            f(&native[0].1, "collect_tokens_per_s")
        );
    }
    println!(
        "{:<10} {:>13} {:>13} {:>13} {:>7} {:>16} {:>16} {:>24} {:>22}",
        "features",
        "native vec/s",
        "lavapipe",
        "page vec/s",
        "ratio",
        "native held-out",
        "page held-out",
        "KL squeeze / mean / zero",
        "decode tok/s plain→sq."
    );
    for ((e, trained, on_gpu, squeezed, speed), page) in native.iter().zip(&pages) {
        let (nv, gv, pv) = (f(trained, "vectors_per_s"), f(on_gpu, "vectors_per_s"), f(page, "vectors_per_s"));
        println!(
            "{:<10} {nv:>13.0} {gv:>13.0} {pv:>13.0} {:>6.2}× {:>16} {:>16} {:>24} {:>22}",
            format!("{}× ({})", e, 576 * e),
            pv / nv,
            format!("{:.3} (600 st)", f(trained, "val_fvu")),
            format!("{:.3} ({} st)", f(page, "held_out_fvu"), page["step"]),
            format!(
                "{:.3} / {:.2} / {:.2}",
                f(squeezed, "mean_kl"),
                f(squeezed, "mean_kl_mean"),
                f(squeezed, "mean_kl_zero")
            ),
            format!(
                "{:.1}→{:.1} ({:+.0}%)",
                f(speed, "plain_tok_per_s"),
                f(speed, "squeezed_tok_per_s"),
                (f(speed, "ratio") - 1.0) * 100.0
            ),
        );
    }
    println!(
        "(lavapipe: `sae train --gpu`, {GPU_STEPS} steps, the same kernels a hardware GPU runs in the page; ratio: page ÷ native CPU)"
    );
    Ok(())
}
