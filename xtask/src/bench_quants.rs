//! `cargo xtask bench quants`: the default model requantized by llama.cpp's own quantizer to the formats
//! most model pages offer (Q4_K_M, Q6_K, Q8_0), each file run by Glassbox and by llama.cpp natively (one
//! thread and every core, after checking that both wrote the same tokens up to a near-tie) and by
//! Glassbox's wasm engine and wllama in headless Chromium (one thread), interleaved. Prints each file's
//! tensor formats, medians and ratios, then a summary.
//!
//! The files start from the default Q4_1 file (the only one this machine has), so they measure speed,
//! not quality. SmolLM2-135M's rows are 576 wide, not a multiple of a K-quant's 256-value super-block:
//! llama.cpp writes those matrices in its fall-back format (Q5_0 in a Q4_K_M file), as it does for
//! anyone who quantizes this model, and the printed mix says so.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::bench::{
    browser, ensure_llama_cpp, json_of, median, native, report, report_fallback, report_multithreaded, Run, Web,
    LLAMA_CPP_PYTHON, N_TOKENS, OURS_WEB, WLLAMA,
};
use crate::model;
use crate::setup::{Need, Tools};

/// llama.cpp's names of the files this benchmark writes.
const KINDS: [&str; 3] = ["Q4_K_M", "Q6_K", "Q8_0"];

/// The file's tensor formats as `glassbox card` reads them: "Q5_0 166 tensors (53.7 MB), …".
fn formats(glassbox: &Path, file: &Path) -> Result<String> {
    let card = json_of(Command::new(glassbox).args(["card", "--model"]).arg(file))?;
    let formats = card["formats"].as_array().context("the card's formats")?;
    Ok(formats
        .iter()
        .map(|f| {
            let bytes = f["bytes"].as_f64().unwrap_or(0.0) / 1e6;
            format!("{} {} tensors ({bytes:.1} MB)", f["format"].as_str().unwrap_or("?"), f["tensors"])
        })
        .collect::<Vec<_>>()
        .join(", "))
}

pub fn run(root: &Path, runs: usize) -> Result<()> {
    let tools = Tools::ensure(Need::Everything)?;
    let source = model::ensure()?;
    let python = ensure_llama_cpp()?;
    let glassbox = crate::target_dir(root).join("release").join("glassbox");
    let mut summary = Vec::new();
    for kind in KINDS {
        let file = crate::requantized::requantized(root, &python, &source, kind)?;
        let mb = std::fs::metadata(&file)?.len() as f64 / 1e6;
        let result = native(root, &file, runs)?;
        println!("\n== {kind}: {} ({mb:.1} MB) — {}", file.display(), formats(&glassbox, &file)?);
        let decode = |r: &[Run]| median(r, |r| Some(r.decode_tok_s)).unwrap_or(0.0);
        let prefill = |r: &[Run]| median(r, |r| Some(r.prefill_tok_s)).unwrap_or(0.0);
        for (threads, ours, theirs) in &result.by_threads {
            report(
                &format!("{kind}, native CPU, {threads} thread(s) each, {N_TOKENS} greedy tokens"),
                "peak RSS (MB)",
                mb,
                ("glassbox (int8)", ours),
                (&format!("llama.cpp {LLAMA_CPP_PYTHON}"), theirs),
            );
            summary.push((
                kind,
                format!("native, {threads} thread(s)"),
                decode(ours),
                decode(theirs),
                prefill(ours),
                prefill(theirs),
            ));
        }
        println!("tokens, last run: {}", result.agreement);
        let Web { ours, ours_simd128, ours_threads, wllama: theirs, wllama_mt, agreement } =
            browser(root, &tools, &file, runs, &result.prompt_text)?;
        println!("tokens in Chromium, wllama against glassbox: {agreement}");
        report(
            &format!("{kind}, headless Chromium, CPU, 1 thread"),
            "wasm memory (MB)",
            mb,
            (OURS_WEB, &ours),
            (&format!("wllama {WLLAMA}"), &theirs),
        );
        report_fallback(&format!("{kind}, "), mb, &ours, &ours_simd128);
        summary.push((
            kind,
            "browser, 1 thread".to_owned(),
            decode(&ours),
            decode(&theirs),
            prefill(&ours),
            prefill(&theirs),
        ));
        report_multithreaded(&format!("{kind}, "), mb, &ours, &ours_threads, &wllama_mt);
        if !wllama_mt.is_empty() && !ours_threads.is_empty() {
            summary.push((
                kind,
                "browser, all cores".to_owned(),
                decode(&ours_threads),
                decode(&wllama_mt),
                prefill(&ours_threads),
                prefill(&wllama_mt),
            ));
        }
    }
    println!("\nSummary (medians of {runs} interleaved runs; ratio = Glassbox / llama.cpp natively, / wllama in the browser)");
    println!("{:<8} {:<20} {:>22} {:>22}", "file", "where", "decode tok/s (ratio)", "prefill tok/s (ratio)");
    for (kind, place, d_ours, d_theirs, p_ours, p_theirs) in summary {
        let cell = |a: f64, b: f64| format!("{a:.1} vs {b:.1} ({:.2}×)", a / b);
        println!("{kind:<8} {place:<20} {:>22} {:>22}", cell(d_ours, d_theirs), cell(p_ours, p_theirs));
    }
    Ok(())
}
