//! `cargo xtask test`: every test, in the order that fails fastest, then one summary line.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::setup::{self, Need, Tools};
use crate::{model, serve};

/// How long each fuzz target runs in `cargo xtask test`.
const FUZZ_SECONDS: u32 = 30;

/// Passed and failed counts, summed over every runner.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    passed: u64,
    failed: u64,
}

impl Tally {
    /// Reads one line of cargo test's or node's (TAP) output and counts what it reports.
    fn read_line(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix("test result: ") {
            // "ok. 12 passed; 0 failed; 1 ignored; ..."
            for part in rest.split(';') {
                let words: Vec<&str> = part.split_whitespace().collect();
                match words.as_slice() {
                    [.., n, "passed"] => self.passed += n.parse::<u64>().unwrap_or(0),
                    [n, "failed"] => self.failed += n.parse::<u64>().unwrap_or(0),
                    _ => {}
                }
            }
        } else if let Some(n) = line.strip_prefix("# pass ") {
            self.passed += n.trim().parse::<u64>().unwrap_or(0);
        } else if let Some(n) = line.strip_prefix("# fail ") {
            self.failed += n.trim().parse::<u64>().unwrap_or(0);
        }
    }
}

/// Runs `cmd`, echoing its stdout while counting test results; an exit failure is a failure even when
/// no line said so (a build error, a crash).
fn run_counted(tally: &mut Tally, step: &str, cmd: &mut Command) -> Result<bool> {
    eprintln!("xtask: {step}");
    let started = std::time::Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).spawn().with_context(|| format!("starting {step}"))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut seen = Tally::default();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        seen.read_line(&line);
    }
    let status = child.wait()?;
    eprintln!("xtask: {step}: {:.0} s", started.elapsed().as_secs_f64());
    tally.passed += seen.passed;
    tally.failed += seen.failed;
    if !status.success() && seen.failed == 0 {
        tally.failed += 1;
        eprintln!("xtask: {step} failed without a test failure ({status}): counted as one failure");
    }
    Ok(status.success())
}

/// Sets up the machine, then runs native, wasm and end-to-end tests.
pub fn run_all(root: &Path) -> Result<()> {
    let tools = Tools::ensure(Need::Everything)?;
    let model = model::ensure()?;
    let vocabs = crate::vocabs::ensure()?;
    // llama-cpp-python (built once per machine): the default model requantized by llama.cpp to every
    // format it writes, with llama.cpp's outputs on each; the architecture tests run it on models they build.
    let llama_cpp_python = crate::bench::ensure_llama_cpp()?;
    let requantized = crate::requantized::ensure(root, &model, &llama_cpp_python)?;
    // Files the native tests build in code for the end-to-end tests (a K-quant model with a real tokenizer).
    let fixtures = crate::target_dir(root).join("glassbox-fixtures");
    let path = tools.path()?;
    let mut tally = Tally::default();
    // wgpu's Vulkan loader wants a runtime dir; CI's environment may not have one.
    let runtime_dir = crate::cache_dir()?.join("xdg-runtime");
    std::fs::create_dir_all(&runtime_dir)?;
    std::fs::set_permissions(&runtime_dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR").unwrap_or(runtime_dir.into_os_string());

    let lint_ok = run_counted(&mut tally, "rustfmt --check", Command::new("cargo").args(["fmt", "--all", "--check"]))?
        && run_counted(
            &mut tally,
            "clippy (native crates, then the app for wasm), warnings denied",
            Command::new("cargo").args([
                "clippy",
                "-q",
                "--workspace",
                "--exclude",
                "app",
                "--all-targets",
                "--release",
                "--",
                "-D",
                "warnings",
            ]),
        )?
        && run_counted(
            &mut tally,
            "clippy (app, wasm32)",
            Command::new("cargo").args([
                "clippy",
                "-q",
                "-p",
                "app",
                "--target",
                "wasm32-unknown-unknown",
                // With the relaxed SIMD kernels (the plain ones are compiled beside them).
                "--features",
                "relaxed-simd",
                "--",
                "-D",
                "warnings",
            ]),
        )?;

    let native_ok = run_counted(
        &mut tally,
        "native tests (GPU kernels on Mesa's lavapipe)",
        Command::new("cargo")
            // Every test binary runs even when one fails, so the summary counts them all. Unit tests of
            // every crate's library, of the two binaries that have tests (the CLI, xtask), and the
            // engine's one native integration binary (`engine/tests/native/`). The app's five binaries
            // (the page and its workers) have no tests of their own and are built for wasm by Trunk; the
            // example (a benchmark) is left to clippy, which checks that it builds.
            .args(["test", "--workspace", "--exclude", "bench-wasm", "--release", "--no-fail-fast"])
            .args(["--lib", "--bin", "glassbox", "--bin", "xtask", "--test", "native"])
            .env("WGPU_BACKEND", "vulkan")
            .env("XDG_RUNTIME_DIR", &runtime_dir)
            .env("GLASSBOX_MODEL", &model)
            .env("GLASSBOX_VOCABS", &vocabs)
            .env("GLASSBOX_REQUANTIZED", &requantized)
            .env("GLASSBOX_LLAMA_CPP_PYTHON", &llama_cpp_python)
            .env("GLASSBOX_FIXTURES", &fixtures),
    )?;

    // A short run of each fuzz target (crashes and hangs found in the GGUF reader, the tokenizer or a
    // chat template fail the run).
    let mut fuzz_ok = true;
    for (_, ok) in crate::fuzz::run_all(root, &path, &vocabs, FUZZ_SECONDS)? {
        if ok {
            tally.passed += 1;
        } else {
            tally.failed += 1;
            fuzz_ok = false;
        }
    }

    let wasm_ok = run_counted(
        &mut tally,
        "wasm tests in headless Chromium (wasm-bindgen-test)",
        Command::new("cargo")
            // With the relaxed SIMD kernels, so that both wasm builds' kernels are held to the scalar ones.
            .args(["test", "-p", "engine", "--target", "wasm32-unknown-unknown", "--no-fail-fast"])
            .args(["--features", "relaxed-simd"])
            .args(wasm_test_targets(root)?)
            .env("PATH", &path)
            .env("CHROMEDRIVER", "/usr/bin/chromedriver")
            .env("WASM_BINDGEN_TEST_TIMEOUT", "300"),
    )?;

    setup::trunk_build(&tools)?;
    let dist = root.join("dist");
    let server = serve::start(&[("/", &dist)], &model, 0, serve::Listen::Local)?;
    // The same app on every interface, reached by this machine's network address as a class's device
    // would (a plain-http origin that is not 127.0.0.1: no service worker, no Cache API there).
    let lan = serve::start(&[("/", &dist)], &model, 0, serve::Listen::Lan)?;
    let lan_url = serve::lan_url(&lan.url).unwrap_or_default();
    // `cargo xtask dist`'s folder, which the end-to-end tests serve with a plain static server.
    let dist_folder = crate::target_dir(root).join("glassbox-dist-check");
    crate::dist::write(&dist, &model, &dist_folder)?;
    // The engine in a page is one wasm thread, so two files' browsers share this machine's cores without
    // slowing each other much: the files run two at a time, except those marked `@alone`, which measure
    // what a number of seconds achieves with every core or with little margin, and run one by one after
    // the others.
    let (alone, paired): (Vec<_>, Vec<_>) = e2e_test_files(root)?.into_iter().partition(|file| runs_alone(file));
    let mut e2e_ok = true;
    for (files, concurrency) in [(paired, "2"), (alone, "1")] {
        e2e_ok &= run_counted(
            &mut tally,
            &format!("end-to-end tests in headless Chromium against {}, {concurrency} at a time", server.url),
            Command::new("node")
                .args(["--test", "--test-reporter=tap", &format!("--test-concurrency={concurrency}")])
                .args(files)
                .env("GLASSBOX_URL", &server.url)
                .env("GLASSBOX_LAN_URL", &lan_url)
                .env("GLASSBOX_DIST_FOLDER", &dist_folder)
                .env("GLASSBOX_MODEL", &model)
                .env("GLASSBOX_FIXTURES", &fixtures)
                .env("GLASSBOX_CLI", crate::target_dir(root).join("release").join("glassbox"))
                .env("GLASSBOX_ARTIFACTS", root.join("tests").join("artifacts")),
        )?;
    }

    println!("glassbox: {} passed, {} failed", tally.passed, tally.failed);
    if !(lint_ok && native_ok && fuzz_ok && wasm_ok && e2e_ok) || tally.failed > 0 {
        bail!("some tests failed");
    }
    Ok(())
}

/// `--test <name>` for each `engine/tests/*_wasm.rs`: only those run in the browser, so only they are
/// built for wasm.
fn wasm_test_targets(root: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("engine").join("tests"))?
        .filter_map(|entry| {
            entry.ok()?.file_name().to_str()?.strip_suffix("_wasm.rs").map(|stem| format!("{stem}_wasm"))
        })
        .collect();
    names.sort();
    if names.is_empty() {
        bail!("no wasm tests found in engine/tests/*_wasm.rs");
    }
    Ok(names.into_iter().flat_map(|name| ["--test".to_owned(), name]).collect())
}

/// Whether an end-to-end file asks to run with no other beside it: a line of its own starting
/// `// @alone:` (then the reason), for files whose checks time something with every core or little margin.
fn runs_alone(file: &Path) -> bool {
    std::fs::read_to_string(file).is_ok_and(|text| text.lines().any(|line| line.starts_with("// @alone:")))
}

/// `tests/*.test.mjs`, sorted: Node 20 has no glob of its own for `--test`.
fn e2e_test_files(root: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut files: Vec<_> = std::fs::read_dir(root.join("tests"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".test.mjs")))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no end-to-end tests found in tests/");
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn tally_reads_cargo_and_tap_summaries() {
        let mut tally = Tally::default();
        tally.read_line("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out");
        tally.read_line("test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out");
        tally.read_line("# pass 4");
        tally.read_line("# fail 1");
        tally.read_line("ok 1 - page mounts");
        assert_eq!((tally.passed, tally.failed), (19, 3));
    }
}
