//! `cargo xtask bench labs`: how long the teaching labs make a class wait, on the CPU: the logit lens over
//! a text of about 64 tokens and the masked-word game with ten candidates (and the model's own three),
//! natively and in the page, medians of `runs`, against the one-second target.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::bench::{cargo, json_of};
use crate::setup::{self, Tools};
use crate::{model, serve};

/// About 64 tokens for the default model's tokenizer.
const LENS_TEXT: &str = "Once upon a time, in a small village by the sea, there lived an old fisherman who told stories \
     to the children every evening. His boat was blue, his hat was red, and his dog followed him everywhere he went. One \
     day, a great storm came from the north and";
/// The masked-word game's sentence and ten candidates.
const SENTENCE: &str = "The ___ chased the mouse across the kitchen.";
const WORDS: &str = "cat,dog,boy,girl,king,farmer,owl,snake,baker,fox";
/// The page's masked-word game adds the model's own words: the CLI is asked for as many.
const PROPOSED: &str = "3";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn run(root: &Path, runs: usize) -> Result<()> {
    let tools = Tools::ensure(setup::Need::Everything)?;
    let model = model::ensure()?;
    cargo(&["build", "--release", "-q", "-p", "engine", "--bin", "glassbox"])?;
    let cli = crate::target_dir(root).join("release").join("glassbox");
    let model_arg = model.to_str().context("model path")?;
    let (mut lens, mut fill) = (Vec::new(), Vec::new());
    let mut tokens = 0;
    for _ in 0..runs {
        let v = json_of(Command::new(&cli).args(["lens", "--model", model_arg, "--text", LENS_TEXT, "--json"]))?;
        tokens = v["ids"].as_array().map_or(0, Vec::len);
        lens.push(v["ms"].as_f64().context("lens ms")?);
        let v = json_of(Command::new(&cli).args([
            "fill",
            "--model",
            model_arg,
            "--text",
            SENTENCE,
            "--candidates",
            WORDS,
            "--propose",
            PROPOSED,
            "--json",
        ]))?;
        fill.push(v["ms"].as_f64().context("fill ms")?);
    }
    setup::trunk_build(&tools)?;
    let server = serve::start(&[("/", &root.join("dist"))], &model, 0, serve::Listen::Local)?;
    eprintln!("xtask: the page runs the lens and the masked-word game {runs} times each");
    let out = Command::new("node")
        .arg(root.join("xtask").join("bench").join("labs_bench.mjs"))
        .args([&server.url, &runs.to_string(), LENS_TEXT, SENTENCE, WORDS])
        .output()
        .context("running node")?;
    if !out.status.success() {
        bail!("the labs benchmark failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let page: Value = serde_json::from_str(stdout.lines().last().context("no output from the page")?)
        .context("the page's figures")?;
    let ms = |key: &str| -> Vec<f64> {
        page[key].as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default()
    };
    let (page_lens, page_fill) = (median(ms("lens_ms")), median(ms("fill_ms")));
    let (native_lens, native_fill) = (median(lens), median(fill));
    let on_gpu = page["lens_on_gpu"].as_bool().unwrap_or(false);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let page_threads = page["threads"].as_str().unwrap_or("?");
    println!(
        "\nTeaching labs, the default model on the CPU (natively on {cores} threads; the page: {page_threads}); medians of {runs} runs"
    );
    println!("{:<48} {:>10} {:>10} {:>12} {:>8}", "", "native", "page", "page/native", "≤ 1 s");
    // A figure the CLI has no twin of (the page's first lens row) leaves the native columns empty.
    let line = |what: String, native: Option<f64>, page: f64| {
        let (native, ratio) = match native {
            Some(n) => (format!("{n:.0} ms"), format!("{:.2}×", page / n)),
            None => ("—".to_owned(), String::new()),
        };
        println!("{what:<48} {native:>11} {page:>7.0} ms {ratio:>12} {:>8}", if page <= 1000.0 { "yes" } else { "no" });
    };
    line(format!("logit lens, {tokens} tokens × every block"), Some(native_lens), page_lens);
    // The page draws the lens block by block: how long the class waits to see its first row.
    line("logit lens, its first block's row shown".to_owned(), None, median(ms("lens_first_row_ms")));
    line(format!("masked word, 10 words + the model's {PROPOSED}"), Some(native_fill), page_fill);
    if on_gpu {
        println!("(the page's lens ran on a GPU: this browser found a WebGPU adapter)");
    }
    Ok(())
}
