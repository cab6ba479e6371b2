//! `cargo xtask bench`: Glassbox's CPU engine against its peers on the same model file, the same chat
//! prompt and 128 greedy tokens, runs interleaved so both see the same machine: natively against
//! llama.cpp (llama-cpp-python) on one thread and on every core, each with the same threads, after
//! checking that both wrote the same tokens (up to a near-tie); in headless Chromium against wllama
//! (llama.cpp in wasm) on one thread. Prints medians and ratios.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::setup::{self, Need, Tools};
use crate::{model, serve};

pub(crate) const LLAMA_CPP_PYTHON: &str = "0.3.36";
pub(crate) const WLLAMA: &str = "3.13.0";
const PROMPT: &str = "Explain in two sentences what an attention head does.";
pub(crate) const N_TOKENS: usize = 128;

/// One run's figures.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Run {
    pub(crate) prefill_tok_s: f64,
    pub(crate) decode_tok_s: f64,
    memory_mb: Option<f64>,
}

impl Run {
    fn from_json(v: &Value, memory_key: &str) -> Result<Self> {
        let number = |key: &str| v[key].as_f64().with_context(|| format!("no {key} in {v}"));
        Ok(Self {
            prefill_tok_s: number("prefill_tok_s")?,
            decode_tok_s: number("decode_tok_s")?,
            memory_mb: v[memory_key].as_f64().map(|b| b / 1e6),
        })
    }
}

pub(crate) fn median(runs: &[Run], f: impl Fn(&Run) -> Option<f64>) -> Option<f64> {
    let mut v: Vec<f64> = runs.iter().filter_map(f).collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Prints one table of medians and the ratios of `ours` to `theirs`.
pub(crate) fn report(
    title: &str,
    memory: &str,
    model_mb: f64,
    (our_name, ours): (&str, &[Run]),
    (their_name, theirs): (&str, &[Run]),
) {
    println!("\n{title}; medians of {} interleaved runs", ours.len());
    println!("{:<30} {:>13} {:>14} {:>20}", "engine", "decode tok/s", "prefill tok/s", memory);
    for (name, runs) in [(our_name, ours), (their_name, theirs)] {
        let mem = median(runs, |r| r.memory_mb).map_or("n/a".to_owned(), |m| format!("{m:.1}"));
        let decode = median(runs, |r| Some(r.decode_tok_s)).unwrap_or(0.0);
        let prefill = median(runs, |r| Some(r.prefill_tok_s)).unwrap_or(0.0);
        println!("{name:<30} {decode:>13.1} {prefill:>14.1} {mem:>20}");
    }
    let ratio = |f: fn(&Run) -> f64| {
        median(ours, |r| Some(f(r))).unwrap_or(0.0) / median(theirs, |r| Some(f(r))).unwrap_or(1.0)
    };
    print!(
        "ratio {our_name} / {their_name}: decode {:.2}×, prefill {:.2}×",
        ratio(|r| r.decode_tok_s),
        ratio(|r| r.prefill_tok_s)
    );
    match median(ours, |r| r.memory_mb) {
        Some(m) => println!("; {our_name} memory = {:.2}× the model file ({model_mb:.1} MB)", m / model_mb),
        None => println!(),
    }
}

/// `cargo xtask bench gpu`: the engine on the GPU adapter wgpu finds (lavapipe on a machine without a
/// GPU) beside the CPU backend (8-bit and exact), interleaved, same prompt and length; prints medians,
/// ratios and what one decoded token costs on the GPU (dispatches, submits, readbacks, bytes back).
pub fn run_gpu(root: &Path, runs: usize) -> Result<()> {
    let model = model::ensure()?;
    eprintln!("xtask: building glassbox (release)");
    cargo(&["build", "--release", "-q", "-p", "engine", "--bin", "glassbox"])?;
    let glassbox = crate::target_dir(root).join("release").join("glassbox");
    let runtime_dir = std::env::temp_dir().join("glassbox-xdg");
    std::fs::create_dir_all(&runtime_dir)?;
    // The app's sampling settings and its five alternatives per token.
    const APP: [&str; 8] = ["--temperature", "0.3", "--top-k", "40", "--top-p", "0.9", "--alternatives", "5"];
    let configs: [(&str, Vec<&str>); 6] = [
        ("gpu", vec!["--backend", "gpu"]),
        ("cpu int8", vec!["--backend", "cpu"]),
        ("cpu exact", vec!["--backend", "cpu", "--exact"]),
        ("gpu overlapped", vec!["--backend", "gpu", "--overlap"]),
        ("gpu app", [&["--backend", "gpu"][..], &APP].concat()),
        ("gpu app, logits", [&["--backend", "gpu"][..], &APP[..7], &["65"]].concat()),
    ];
    let mut results: Vec<(Vec<Run>, Vec<Value>)> = vec![(Vec::new(), Vec::new()); configs.len()];
    let n = N_TOKENS.to_string();
    for i in 0..runs {
        for ((name, flags), (runs_of, jsons)) in configs.iter().zip(results.iter_mut()) {
            eprintln!("xtask: run {}/{runs}: {name}", i + 1);
            let out = json_of(
                Command::new(&glassbox)
                    .args(["generate", "--model"])
                    .arg(&model)
                    .args(["--prompt", PROMPT, "--chat", "--max-tokens", &n, "--ignore-eos", "--json"])
                    .args(flags)
                    .env("XDG_RUNTIME_DIR", &runtime_dir),
            )?;
            runs_of.push(Run::from_json(&out, "peak_rss_bytes")?);
            jsons.push(out);
        }
    }
    let adapter = results[0].1.last().and_then(|v| v["backend"].as_str()).unwrap_or("?").to_owned();
    println!(
        "\nglassbox on {adapter} vs the CPU backend; {N_TOKENS} greedy tokens, medians of {runs} interleaved runs"
    );
    println!("{:<16} {:>13} {:>14}", "backend", "decode tok/s", "prefill tok/s");
    for ((name, _), (r, _)) in configs.iter().zip(&results) {
        let decode = median(r, |r| Some(r.decode_tok_s)).unwrap_or(0.0);
        let prefill = median(r, |r| Some(r.prefill_tok_s)).unwrap_or(0.0);
        println!("{name:<16} {decode:>13.1} {prefill:>14.1}");
    }
    let ratio = |a: usize, b: usize, f: fn(&Run) -> f64| {
        median(&results[a].0, |r| Some(f(r))).unwrap_or(0.0) / median(&results[b].0, |r| Some(f(r))).unwrap_or(1.0)
    };
    println!(
        "ratio gpu / cpu int8: decode {:.2}×, prefill {:.2}×; gpu / cpu exact: decode {:.2}×, prefill {:.2}×",
        ratio(0, 1, |r| r.decode_tok_s),
        ratio(0, 1, |r| r.prefill_tok_s),
        ratio(0, 2, |r| r.decode_tok_s),
        ratio(0, 2, |r| r.prefill_tok_s)
    );
    println!(
        "decode, next pass submitted before the token is back vs waiting for it: {:.2}×; app settings, \
         picked on the GPU vs the logits read back and sampled on the CPU: {:.2}×",
        ratio(3, 0, |r| r.decode_tok_s),
        ratio(4, 5, |r| r.decode_tok_s)
    );
    for (i, (name, _)) in configs.iter().enumerate().filter(|(_, (name, _))| name.starts_with("gpu")) {
        let Some(last) = results[i].1.last() else { continue };
        let per = &last["per_decode_token"];
        let n_layer = last["n_layer"].as_f64().unwrap_or(f64::NAN);
        println!(
            "per decoded token, {name}: {} dispatches ({:.1} per layer), {} submits, {} readbacks, {} bytes back; GPU memory {:.1} MB",
            per["dispatches"],
            per["dispatches"].as_f64().unwrap_or(0.0) / n_layer,
            per["submits"],
            per["readbacks"],
            per["readback_bytes"],
            last["gpu_memory_bytes"].as_f64().unwrap_or(0.0) / 1e6
        );
    }
    Ok(())
}

/// Runs the native and the browser benchmark.
pub fn run(root: &Path, runs: usize) -> Result<()> {
    let tools = Tools::ensure(Need::Everything)?;
    let model = model::ensure()?;
    let model_mb = std::fs::metadata(&model)?.len() as f64 / 1e6;
    let Native { by_threads, prompt_ids, prompt_text, agreement } = native(root, &model, runs)?;
    for (threads, ours, theirs) in &by_threads {
        let title = format!(
            "native CPU, {threads} thread(s) each, {N_TOKENS} greedy tokens after the chat prompt ({} ids)",
            prompt_ids.len()
        );
        report(
            &title,
            "peak RSS (MB)",
            model_mb,
            ("glassbox (int8)", ours),
            (&format!("llama.cpp {LLAMA_CPP_PYTHON}"), theirs),
        );
    }
    println!("tokens, last run: {agreement}");
    let Web { ours: ours_web, ours_simd128, ours_threads, wllama: theirs_web, wllama_mt, agreement } =
        browser(root, &tools, &model, runs, &prompt_text)?;
    println!("tokens in Chromium, wllama against glassbox: {agreement}");
    report(
        "headless Chromium, CPU, 1 thread, same prompt and length",
        "wasm memory (MB)",
        model_mb,
        (OURS_WEB, &ours_web),
        (&format!("wllama {WLLAMA}"), &theirs_web),
    );
    report_fallback("", model_mb, &ours_web, &ours_simd128);
    report_multithreaded("", model_mb, &ours_web, &ours_threads, &wllama_mt);
    Ok(())
}

/// `cargo xtask bench web`: the browser half of `cargo xtask bench` alone (no llama.cpp to build): the
/// engine's two wasm builds and wllama, in headless Chromium, interleaved.
pub fn run_web(root: &Path, runs: usize) -> Result<()> {
    let tools = Tools::ensure(Need::Everything)?;
    let model = model::ensure()?;
    let model_mb = std::fs::metadata(&model)?.len() as f64 / 1e6;
    cargo(&["build", "--release", "-q", "-p", "engine", "--bin", "glassbox"])?;
    let glassbox = crate::target_dir(root).join("release").join("glassbox");
    // The chat prompt as text, for wllama (our pages build it themselves).
    let out = json_of(Command::new(&glassbox).args(["generate", "--model"]).arg(&model).args([
        "--prompt",
        PROMPT,
        "--chat",
        "--max-tokens",
        "1",
        "--json",
    ]))?;
    let prompt_text = out["prompt_text"].as_str().context("prompt_text")?.to_owned();
    let Web { ours, ours_simd128, ours_threads, wllama, wllama_mt, agreement } =
        browser(root, &tools, &model, runs, &prompt_text)?;
    println!("tokens in Chromium, wllama against glassbox: {agreement}");
    report(
        "headless Chromium, CPU, 1 thread, same prompt and length",
        "wasm memory (MB)",
        model_mb,
        (OURS_WEB, &ours),
        (&format!("wllama {WLLAMA}"), &wllama),
    );
    report_fallback("", model_mb, &ours, &ours_simd128);
    report_multithreaded("", model_mb, &ours, &ours_threads, &wllama_mt);
    Ok(())
}

/// The engine in the browser as the app loads it where relaxed SIMD is there (Chromium has it).
pub(crate) const OURS_WEB: &str = "glassbox (int8, relaxed SIMD)";

/// The engine with relaxed SIMD against its simd128 build (what a browser without relaxed SIMD loads).
pub(crate) fn report_fallback(title: &str, model_mb: f64, relaxed: &[Run], simd128: &[Run]) {
    report(
        &format!("{title}headless Chromium, CPU, 1 thread: the engine's two wasm builds"),
        "wasm memory (MB)",
        model_mb,
        (OURS_WEB, relaxed),
        ("glassbox (int8, simd128 only)", simd128),
    );
}

/// On every core (when there is more than one): the engine's build with wasm threads against its
/// one-thread build, then against wllama's multi-threaded build; `title` goes before the tables' own.
pub(crate) fn report_multithreaded(title: &str, model_mb: f64, ours_one: &[Run], ours: &[Run], wllama_mt: &[Run]) {
    if ours.is_empty() || wllama_mt.is_empty() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let ours_name = format!("glassbox (relaxed SIMD), {cores} threads");
    report(
        &format!("{title}headless Chromium, CPU: the engine with wasm threads on {cores} cores and on 1"),
        "wasm memory (MB)",
        model_mb,
        (&ours_name, ours),
        (OURS_WEB, ours_one),
    );
    report(
        &format!("{title}headless Chromium, CPU: glassbox and wllama on {cores} threads each"),
        "wasm memory (MB)",
        model_mb,
        (&ours_name, ours),
        (&format!("wllama {WLLAMA}, {cores} threads"), wllama_mt),
    );
}

pub(crate) fn cargo(args: &[&str]) -> Result<()> {
    let status = Command::new("cargo").args(args).status()?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}

/// Our CLI against llama-cpp-python, interleaved.
/// The native half's runs (per thread count: ours, theirs), and the prompt as our CLI built it.
pub(crate) struct Native {
    pub(crate) by_threads: Vec<(usize, Vec<Run>, Vec<Run>)>,
    pub(crate) prompt_ids: Vec<u64>,
    pub(crate) prompt_text: String,
    pub(crate) agreement: String,
}

/// Two engines' greedy tokens may part at a near-tie (8-bit activations round differently): a gap
/// between the two best logits below this, where glassbox's exact path scores the tokens they share.
const NEAR_TIE: f64 = 0.5;

/// Where `ours` and `theirs` part, and whether that is at a near-tie of the model's own logits (the
/// exact path's top two after the prompt and the tokens they share): a description, or an error when
/// they part where the model is not in two minds (the ratios would compare different work).
fn same_tokens(
    glassbox: &Path,
    model: &Path,
    prompt: &[u64],
    ours: &[u64],
    (their_name, theirs): (&str, &[u64]),
) -> Result<String> {
    let Some(at) = ours.iter().zip(theirs).position(|(a, b)| a != b) else {
        return Ok(format!("both wrote the same {} tokens", ours.len().min(theirs.len())));
    };
    let ids: Vec<String> = prompt.iter().chain(&ours[..at]).map(u64::to_string).collect();
    let out = json_of(Command::new(glassbox).args(["score", "--model"]).arg(model).args([
        "--ids",
        &ids.join(","),
        "--top",
        "2",
        "--exact",
        "--json",
    ]))?;
    let last = out.as_array().and_then(|rows| rows.last()).context("score printed no rows")?;
    let logits: Vec<f64> = serde_json::from_value(last["logits"].clone())?;
    let gap = logits.first().zip(logits.get(1)).map_or(f64::INFINITY, |(a, b)| a - b);
    if gap >= NEAR_TIE {
        bail!("glassbox and {their_name} part at token {at} ({} vs {}) where the top two logits are {gap:.2} apart: not a near-tie", ours[at], theirs[at]);
    }
    Ok(format!("the same first {at} tokens, then a near-tie (top two logits {gap:.3} apart)"))
}

pub(crate) fn native(root: &Path, model: &Path, runs: usize) -> Result<Native> {
    eprintln!("xtask: building glassbox (release)");
    cargo(&["build", "--release", "-q", "-p", "engine", "--bin", "glassbox"])?;
    let glassbox = crate::target_dir(root).join("release").join("glassbox");
    let python = ensure_llama_cpp()?;
    let script = root.join("xtask").join("bench").join("llama_cpp_bench.py");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut by_threads: Vec<(usize, Vec<Run>, Vec<Run>)> =
        [1, cores].into_iter().take(if cores > 1 { 2 } else { 1 }).map(|t| (t, Vec::new(), Vec::new())).collect();
    let (mut prompt_ids, mut prompt_text, mut agreement) = (Vec::new(), String::new(), String::new());
    for i in 0..runs {
        for (threads, ours, theirs) in &mut by_threads {
            eprintln!("xtask: native run {}/{runs}, {threads} thread(s)", i + 1);
            let (n, t) = (N_TOKENS.to_string(), threads.to_string());
            let out = json_of(Command::new(&glassbox).args(["generate", "--model"]).arg(model).args([
                "--prompt",
                PROMPT,
                "--chat",
                "--max-tokens",
                &n,
                "--ignore-eos",
                "--json",
                "--threads",
                &t,
            ]))?;
            prompt_text = out["prompt_text"].as_str().context("prompt_text")?.to_owned();
            prompt_ids = out["prompt_ids"].as_array().context("prompt_ids")?.iter().filter_map(Value::as_u64).collect();
            let our_ids: Vec<u64> = out["ids"].as_array().context("ids")?.iter().filter_map(Value::as_u64).collect();
            ours.push(Run::from_json(&out, "peak_rss_bytes")?);
            let ids = prompt_ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
            let out = json_of(Command::new(&python).arg(&script).arg(model).args([&ids, &n, &t]))?;
            let their_ids: Vec<u64> = out["ids"].as_array().context("ids")?.iter().filter_map(Value::as_u64).collect();
            theirs.push(Run::from_json(&out, "peak_rss_bytes")?);
            agreement = same_tokens(&glassbox, model, &prompt_ids, &our_ids, ("llama.cpp", &their_ids))?;
        }
    }
    Ok(Native { by_threads, prompt_ids, prompt_text, agreement })
}

/// The browser benchmark's pages served with `model`: the bare wasm engine (`bench/glassbox.html`, the
/// engine in a module worker and nothing else) and wllama (`bench/wllama.html`).
pub(crate) fn bench_pages(root: &Path, tools: &Tools, model: &Path) -> Result<serve::Running> {
    eprintln!("xtask: building the wasm engine for the browser benchmark (simd128; relaxed SIMD; and with threads)");
    let target = crate::target_dir(root);
    let pkg = target.join("bench-pkg");
    let pkg_relaxed = target.join("bench-pkg-relaxed");
    for (dir, features) in [(&pkg, None), (&pkg_relaxed, Some("relaxed-simd"))] {
        let mut args = vec!["build", "--release", "-q", "--target", "wasm32-unknown-unknown", "-p", "bench-wasm"];
        args.extend(features.iter().flat_map(|f| ["--features", *f]));
        cargo(&args)?;
        bindgen(tools, &target.join("wasm32-unknown-unknown").join("release").join("bench_wasm.wasm"), dir)?;
    }
    let threads_target = target.join("wasm-threads");
    let wasm = setup::build_threaded_wasm(&threads_target, &["-p", "bench-wasm", "--features", "relaxed-simd"])?;
    let pkg_threads = target.join("bench-pkg-threads");
    bindgen(tools, &wasm.join("bench_wasm.wasm"), &pkg_threads)?;
    let wllama_bin = setup::npm_tool(&crate::cache_dir()?.join("tools"), "@wllama/wllama", WLLAMA, "")?;
    let wllama = wllama_bin.parent().context("node_modules")?.join("@wllama").join("wllama");
    let pages = root.join("xtask").join("bench");
    serve::start_with_policy(
        &[
            ("/bench/pkg/", &pkg),
            ("/bench/pkg-relaxed/", &pkg_relaxed),
            ("/bench/pkg-threads/", &pkg_threads),
            ("/bench/", &pages),
            ("/wllama/", &wllama),
        ],
        model,
        0,
        serve::Listen::Local,
        serve::bench_policy(),
    )
}

/// `wasm-bindgen --target web` of `wasm` into `dir`.
fn bindgen(tools: &Tools, wasm: &Path, dir: &Path) -> Result<()> {
    let status = setup::bindgen_command(tools, wasm, dir, &["--target", "web"])?.status()?;
    if !status.success() {
        bail!("wasm-bindgen failed");
    }
    Ok(())
}

/// The browser half's runs: our wasm engine's builds, wllama on one thread, and both on every core
/// (none on a one-core machine).
pub(crate) struct Web {
    /// With relaxed SIMD (what the app loads where the browser has it).
    pub(crate) ours: Vec<Run>,
    /// The simd128 build (the app's fallback).
    pub(crate) ours_simd128: Vec<Run>,
    /// With relaxed SIMD and wasm threads, on every core (none on a one-core machine).
    pub(crate) ours_threads: Vec<Run>,
    pub(crate) wllama: Vec<Run>,
    pub(crate) wllama_mt: Vec<Run>,
    /// Whether wllama wrote the engine's tokens (one thread; every core).
    pub(crate) agreement: String,
}

/// Our engine in wasm (a module worker) against wllama, both in headless Chromium, interleaved.
pub(crate) fn browser(root: &Path, tools: &Tools, model: &Path, runs: usize, prompt_text: &str) -> Result<Web> {
    let server = bench_pages(root, tools, model)?;
    let pages = root.join("xtask").join("bench");
    let out = json_of(Command::new("node").arg(pages.join("browser_bench.mjs")).args([
        &server.url,
        PROMPT,
        prompt_text,
        &N_TOKENS.to_string(),
        &runs.to_string(),
        &model.file_name().context("the model's file name")?.to_string_lossy(),
    ]))?;
    // Before any ratio: wllama read as many prompt tokens and wrote the engine's tokens, up to a near-tie
    // (its run with ids on one thread and on every core, against the engine's last run on each).
    let ids = |v: &Value, key: &str| -> Result<Vec<u64>> {
        Ok(v[key].as_array().with_context(|| format!("no {key} in a run"))?.iter().filter_map(Value::as_u64).collect())
    };
    let last_of = |key: &str| out[key].as_array().and_then(|runs| runs.last().cloned());
    let glassbox_cli = crate::target_dir(root).join("release").join("glassbox");
    let mut agreement = Vec::new();
    for (ours_key, theirs_key) in [("glassbox", "wllama_ids"), ("glassbox_threads", "wllama_mt_ids")] {
        let (Some(ours), Some(theirs)) = (last_of(ours_key), out.get(theirs_key).cloned()) else { continue };
        let prompt = ids(&ours, "prompt_ids")?;
        if theirs["prompt_n"].as_u64() != Some(prompt.len() as u64) {
            bail!("wllama read {} prompt tokens where glassbox read {}", theirs["prompt_n"], prompt.len());
        }
        let their_ids = ids(&theirs, "ids").context("wllama returned no token ids")?;
        if their_ids.len() != ids(&ours, "ids")?.len() {
            bail!("wllama wrote {} tokens where glassbox wrote {}", their_ids.len(), ids(&ours, "ids")?.len());
        }
        agreement.push(format!(
            "{}: {}",
            if theirs_key == "wllama_ids" { "one thread" } else { "every core" },
            same_tokens(&glassbox_cli, model, &prompt, &ids(&ours, "ids")?, ("wllama", &their_ids))?
        ));
    }
    if agreement.is_empty() {
        bail!("no run of wllama returned its tokens");
    }
    let parse = |key: &str, memory: &str| -> Result<Vec<Run>> {
        out[key]
            .as_array()
            .with_context(|| format!("no {key} runs"))?
            .iter()
            .map(|v| Run::from_json(v, memory))
            .collect()
    };
    Ok(Web {
        ours: parse("glassbox", "wasm_memory_bytes")?,
        ours_simd128: parse("glassbox_simd128", "wasm_memory_bytes")?,
        ours_threads: parse("glassbox_threads", "wasm_memory_bytes")?,
        wllama: parse("wllama", "wasm_memory_bytes")?,
        wllama_mt: parse("wllama_mt", "wasm_memory_bytes")?,
        agreement: agreement.join("; "),
    })
}

/// `cargo xtask bench app`: the release app in headless Chromium, model in the browser's cache: page
/// open → first answered token, frame time while writing, decode with and without attention recording;
/// then the autoencoder lab's training speed in the browser and natively.
pub fn run_app(root: &Path, runs: usize) -> Result<()> {
    let tools = Tools::ensure(Need::Everything)?;
    let model = model::ensure()?;
    setup::trunk_build(&tools)?;
    let dist = root.join("dist");
    let server = serve::start(&[("/", &dist)], &model, 0, serve::Listen::Local)?;
    let bare = bench_pages(root, &tools, &model)?;
    let status = Command::new("node")
        .arg(root.join("xtask").join("bench").join("app_bench.mjs"))
        .args([&server.url, &runs.to_string()])
        .env("GLASSBOX_MODEL", &model)
        .env("GLASSBOX_BARE_URL", &bare.url)
        .status()
        .context("running node")?;
    if !status.success() {
        bail!("the app benchmark failed");
    }
    eprintln!("xtask: the lab's training natively, one thread");
    let status = Command::new("cargo")
        .args(["run", "--release", "-q", "-p", "engine", "--example", "lab_bench"])
        .status()
        .context("running the native lab benchmark")?;
    if !status.success() {
        bail!("the native lab benchmark failed");
    }
    Ok(())
}

/// The two model sizes the pre-training benchmark compares: `(layers, width, heads, context)`.
const PRETRAIN_SIZES: [(usize, usize, usize, usize); 2] = [(1, 32, 1, 64), (2, 64, 2, 64)];

/// `cargo xtask bench pretrain`: the pre-training lab's tiny GPT, two sizes, on the sonnets: characters
/// trained per second natively on the CPU (median of `runs` runs of 100 steps, one thread) and on the GPU
/// (`--backend gpu`, lavapipe here: median of `runs` runs of 20 steps), in the page (median of its
/// reports over `seconds`) on the CPU and, with `page_gpu`, on WebGPU (`?gpu`); the page's speed over
/// the native CPU's, and the held-out loss the page reached after 60 s and at the end, beside
/// `glassbox pretrain`'s after the same number of steps.
pub fn run_pretrain(root: &Path, runs: usize, seconds: u64, page_gpu: bool) -> Result<()> {
    let tools = Tools::ensure(Need::Everything)?;
    let model = model::ensure()?;
    cargo(&["build", "--release", "-q", "-p", "engine", "--bin", "glassbox"])?;
    let cli = crate::target_dir(root).join("release").join("glassbox");
    setup::trunk_build(&tools)?;
    let dist = root.join("dist");
    let server = serve::start(&[("/", &dist)], &model, 0, serve::Listen::Local)?;
    let size_args: Vec<String> = PRETRAIN_SIZES.iter().map(|(l, w, h, c)| format!("{l},{w},{h},{c}")).collect();
    let page_runs = |gpu: bool| -> Result<Vec<Value>> {
        eprintln!("xtask: the page trains each size for {seconds} s{}", if gpu { " on WebGPU" } else { "" });
        let out = Command::new("node")
            .arg(root.join("xtask").join("bench").join("pretrain_bench.mjs"))
            .args([&server.url, &seconds.to_string()])
            .args(gpu.then_some("--gpu"))
            .args(&size_args)
            .output()
            .context("running node")?;
        if !out.status.success() {
            bail!("the pre-training benchmark failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
    };
    let pages = page_runs(false)?;
    let gpu_pages = if page_gpu { page_runs(true)? } else { Vec::new() };
    println!(
        "\nPre-training lab, the sonnets; native: median of {runs} runs (CPU 100 steps, one thread; GPU 20 steps, lavapipe here); page: median of its reports over {seconds} s"
    );
    println!(
        "{:<18} {:>8} {:>11} {:>11} {:>10} {:>10} {:>7} {:>22} {:>22} {:>8}",
        "size (L,W,H,ctx)",
        "params",
        "native CPU",
        "native GPU",
        "page CPU",
        "page GPU",
        "ratio",
        "page held-out @60 s",
        "page held-out @end",
        "letters"
    );
    for (i, (size, page)) in size_args.iter().zip(&pages).enumerate() {
        let [l, w, h, c] = [0, 1, 2, 3].map(|i| size.split(',').nth(i).unwrap_or("1").to_owned());
        let args = |steps: usize, backend: &str| {
            let steps = steps.to_string();
            [
                "--threads",
                "1",
                "pretrain",
                "--layers",
                &l,
                "--width",
                &w,
                "--heads",
                &h,
                "--context",
                &c,
                "--steps",
                &steps,
                "--backend",
                backend,
                "--json",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
        };
        let median = |steps: usize, backend: &str| -> Result<f64> {
            let mut speeds = Vec::new();
            for _ in 0..runs {
                let v = json_of(Command::new(&cli).args(args(steps, backend)).env("WGPU_BACKEND", "vulkan"))?;
                speeds.push(v["tokens_per_s"].as_f64().unwrap_or(0.0));
            }
            speeds.sort_by(f64::total_cmp);
            Ok(speeds[speeds.len() / 2])
        };
        let (native, native_gpu) = (median(100, "cpu")?, median(20, "gpu")?);
        let page_speed = page["chars_per_s"].as_f64().unwrap_or(0.0);
        let gpu_speed =
            gpu_pages.get(i).map_or("-".to_owned(), |p| format!("{:.0}", p["chars_per_s"].as_f64().unwrap_or(0.0)));
        let held = |page: &Value, key: &str| -> Result<String> {
            let step = page[key]["step"].as_u64().unwrap_or(0) as usize;
            let shown = page[key]["held_out"].as_f64().unwrap_or(f64::NAN);
            // The CLI after the same steps (the page measures every 25: the last multiple).
            let v = json_of(Command::new(&cli).args(args(step - step % 25, "cpu")))?;
            let cli_loss = v["val_loss"].as_array().and_then(|a| a.last()).and_then(Value::as_f64).unwrap_or(f64::NAN);
            Ok(format!("{shown:.3} ({step} st; CLI {cli_loss:.3})"))
        };
        println!(
            "{size:<18} {:>8} {native:>11.0} {native_gpu:>11.0} {page_speed:>10.0} {gpu_speed:>10} {:>6.2}× {:>22} {:>22} {:>8.3}",
            page["parameters"],
            page_speed / native,
            held(page, "at60")?,
            held(page, "end")?,
            page["unigram"].as_f64().unwrap_or(f64::NAN)
        );
        if let Some(p) = gpu_pages.get(i) {
            println!("{:<18} on WebGPU: held-out @60 s {}, @end {}", "", held(p, "at60")?, held(p, "end")?);
        }
    }
    Ok(())
}

/// A virtualenv with llama-cpp-python built for this CPU (from PyPI's source package; minutes, once).
/// Built without Intel AMX: on a CPU that lists AMX where the system does not grant it (this kind of
/// virtual machine), llama.cpp's AMX path crashes at the first token; its AVX-512 and VNNI paths stay.
/// The build uses every instruction this CPU has, so its folder is named after the CPU's features (a
/// cache carried to another CPU builds again instead of crashing), and pip keeps no wheel of it.
pub(crate) fn ensure_llama_cpp() -> Result<PathBuf> {
    let name = format!("llama-cpp-python-{LLAMA_CPP_PYTHON}-noamx-{}", cpu_key());
    let venv = crate::cache_dir()?.join("tools").join(name);
    let python = venv.join("bin").join("python");
    let ok = Command::new(&python).args(["-c", "import llama_cpp"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("xtask: building llama-cpp-python {LLAMA_CPP_PYTHON} into {} (once; minutes)", venv.display());
        let status = Command::new("python3").args(["-m", "venv"]).arg(&venv).status()?;
        if !status.success() {
            bail!("python3 -m venv failed (apt-get install python3-venv)");
        }
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-cache-dir",
                &format!("llama-cpp-python=={LLAMA_CPP_PYTHON}"),
            ])
            .env("CMAKE_ARGS", LLAMA_CPP_CMAKE_ARGS)
            .status()?;
        if !status.success() {
            bail!("pip install llama-cpp-python failed (it needs cmake and a C++ compiler)");
        }
    }
    Ok(python)
}

/// The first 12 hex digits of a sha256 over the CPU's feature list (`flags` in `/proc/cpuinfo`,
/// `Features` on Arm); "unknown" where there is none.
fn cpu_key() -> String {
    use sha2::{Digest, Sha256};
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let features = info.lines().find(|l| l.starts_with("flags") || l.starts_with("Features"));
    match features {
        Some(line) => Sha256::digest(line.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect(),
        None => "unknown".to_owned(),
    }
}

#[cfg(target_arch = "x86_64")]
const LLAMA_CPP_CMAKE_ARGS: &str = "-DGGML_NATIVE=ON \
     -DCMAKE_C_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' \
     -DCMAKE_CXX_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16'";
#[cfg(not(target_arch = "x86_64"))]
const LLAMA_CPP_CMAKE_ARGS: &str = "-DGGML_NATIVE=ON";

/// The JSON value on the last line of a command's stdout.
pub(crate) fn json_of(cmd: &mut Command) -> Result<Value> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().context("no output")?).context("parsing the last line as JSON")
}
