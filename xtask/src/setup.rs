//! Installs what the build and the tests need, each at a pinned version, into `<cache>/tools`. A tool that
//! is present at the right version is never installed again. Only the package registries are used:
//! crates.io (`cargo install`), npm, Debian's apt, PyPI.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

const TRUNK_VERSION: &str = "0.21.14";
const CARGO_FUZZ_VERSION: &str = "0.13.1";
const BINARYEN_VERSION: &str = "132";
/// Debian packages and a file each of them installs.
const APT_PACKAGES: [(&str, &str); 3] = [
    ("chromium", "/usr/bin/chromium"),
    ("chromium-driver", "/usr/bin/chromedriver"),
    ("mesa-vulkan-drivers", "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"),
];

/// How much to set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Enough to build and serve the app.
    Build,
    /// Also Chromium, its driver, lavapipe, Playwright and cargo-fuzz, for the tests.
    Everything,
}

/// The installed tools, found through [`Tools::path`].
#[derive(Debug)]
pub struct Tools {
    bin_dirs: Vec<PathBuf>,
}

impl Tools {
    /// Installs whatever is missing for `need` and returns the tools' locations.
    pub fn ensure(need: Need) -> Result<Self> {
        let tools_dir = crate::cache_dir()?.join("tools");
        std::fs::create_dir_all(&tools_dir)?;
        ensure_wasm_target()?;
        let bindgen_version = cargo_lock_version("wasm-bindgen")?;
        check_trunk_toml(&bindgen_version)?;
        let trunk = cargo_install(&tools_dir, "trunk", TRUNK_VERSION, "trunk", true)?;
        let bindgen = cargo_install(&tools_dir, "wasm-bindgen-cli", &bindgen_version, "wasm-bindgen", false)?;
        let binaryen = npm_tool(&tools_dir, "binaryen", BINARYEN_VERSION, "wasm-opt")?;
        let mut bin_dirs = vec![trunk, bindgen, binaryen];
        if need == Need::Everything {
            ensure_apt_packages()?;
            ensure_playwright()?;
            bin_dirs.push(cargo_install(&tools_dir, "cargo-fuzz", CARGO_FUZZ_VERSION, "cargo-fuzz", true)?);
        }
        Ok(Self { bin_dirs })
    }

    /// `PATH` with the pinned tools first (ahead of, say, Debian's older wasm-opt).
    pub fn path(&self) -> Result<OsString> {
        let current = std::env::var_os("PATH").unwrap_or_default();
        let dirs = self.bin_dirs.iter().cloned().chain(std::env::split_paths(&current));
        std::env::join_paths(dirs).context("building PATH")
    }
}

/// `trunk build --release`: the app and its worker into `dist/`.
pub fn trunk_build(tools: &Tools) -> Result<()> {
    eprintln!("xtask: trunk build --release");
    let status = Command::new("trunk")
        .args(["build", "--release"])
        .env("PATH", tools.path()?)
        .status()
        .context("running trunk")?;
    if !status.success() {
        bail!("trunk build failed");
    }
    threaded_workers(tools, Path::new("dist"))?;
    stamp_service_worker(Path::new("dist"))
}

/// The workers `cargo xtask` builds a second time with wasm threads, after Trunk (`app/src/kernels.rs`):
/// `(bin, the name of its glue and module in dist, the name of Trunk's build it falls back to)`.
const THREADED_WORKERS: [(&str, &str, &str); 3] = [
    ("worker_relaxed", "worker_threads", "worker_relaxed"),
    ("lab_worker", "lab_worker_threads", "lab_worker"),
    ("pretrain_worker", "pretrain_worker_threads", "pretrain_worker"),
];

/// The workers' builds with wasm threads (`app/src/kernels.rs`), beside Trunk's builds in `dist`: for
/// each, `NAME.js` (wasm-bindgen's glue, `no-modules` as Trunk writes workers, its global
/// `wasm_bindgen_threads`), `NAME_bg.wasm` (optimised as Trunk optimises the others), and two scripts of
/// a line: `NAME_loader.js`, the worker's, which starts it through `threads_loader.js` (from `public/`),
/// and `NAME_helper.js`, each helper thread's, which imports its glue and `threads_helper.js`. (A plain
/// address for each, not one script told its build by a query or fragment: a worker's script so named
/// did not load from the service worker's copy offline.) The engine's is its relaxed SIMD build; the
/// `relaxed-simd` feature changes nothing in the labs', which the page loads only where it loads the
/// engine's.
fn threaded_workers(tools: &Tools, dist: &Path) -> Result<()> {
    let target = crate::target_dir(Path::new(".")).join("wasm-threads");
    let mut args = vec!["-p", "app", "--features", "relaxed-simd"];
    for (bin, _, _) in THREADED_WORKERS {
        args.extend(["--bin", bin]);
    }
    let built = build_threaded_wasm(&target, &args)?;
    for (bin, name, fallback) in THREADED_WORKERS {
        // Its own global, so that its loader can still import Trunk's build if it fails to start.
        run(&mut bindgen_command(
            tools,
            &built.join(format!("{bin}.wasm")),
            dist,
            &["--target", "no-modules", "--no-modules-global", "wasm_bindgen_threads", "--out-name", name],
        )?)?;
        let wasm = dist.join(format!("{name}_bg.wasm"));
        run(Command::new("wasm-opt").arg("-O3").arg(&wasm).arg("-o").arg(&wasm).env("PATH", tools.path()?))?;
        let (loader, helper) = thread_scripts(name, fallback);
        std::fs::write(dist.join(format!("{name}_loader.js")), loader)?;
        std::fs::write(dist.join(format!("{name}_helper.js")), helper)?;
    }
    Ok(())
}

/// The loader and the helper script of the build with threads `name`, which falls back to `fallback`.
fn thread_scripts(name: &str, fallback: &str) -> (String, String) {
    let loader = format!(
        "// Written by cargo xtask: the worker {name} on every core, else {fallback} on one.\n\
         importScripts(\"./threads_loader.js\");\nstartOnEveryCore(\"{name}\", \"{fallback}\");\n"
    );
    let helper = format!(
        "// Written by cargo xtask: a helper thread of {name}.\n\
         importScripts(\"./{name}.js\", \"./threads_helper.js\");\n"
    );
    (loader, helper)
}

/// `wasm-bindgen ARGS --no-typescript --out-dir OUT WASM`, the pinned wasm-bindgen-cli on its path.
pub fn bindgen_command(tools: &Tools, wasm: &Path, out: &Path, args: &[&str]) -> Result<Command> {
    let mut command = Command::new("wasm-bindgen");
    command.args(args).args(["--no-typescript", "--out-dir"]).arg(out).arg(wasm).env("PATH", tools.path()?);
    Ok(command)
}

/// What `public/sw.js` names its cache before a build is stamped in.
const UNSTAMPED_SHELL: &str = "glassbox-shell-dev";

/// Names the service worker's cache after the build: the first 12 hex digits of a sha256 over every
/// other file's name and bytes in `dist`, so each build keeps its files in a cache of its own.
pub fn stamp_service_worker(dist: &Path) -> Result<()> {
    use sha2::{Digest, Sha256};
    let sw = dist.join("sw.js");
    let text = std::fs::read_to_string(&sw).with_context(|| format!("reading {}", sw.display()))?;
    let mut names: Vec<PathBuf> = std::fs::read_dir(dist)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "sw.js"))
        .collect();
    names.sort();
    let mut hash = Sha256::new();
    for path in &names {
        hash.update(path.file_name().unwrap_or_default().as_encoded_bytes());
        hash.update(std::fs::read(path)?);
    }
    let digest: String = hash.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect();
    if !text.contains(UNSTAMPED_SHELL) {
        bail!("{} does not name its cache {UNSTAMPED_SHELL}", sw.display());
    }
    std::fs::write(&sw, text.replace(UNSTAMPED_SHELL, &format!("glassbox-shell-{digest}")))?;
    Ok(())
}

fn ensure_wasm_target() -> Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

/// The flags of a wasm build with threads: atomics (and the SIMD the other builds have), and a memory
/// shared between the threads' instances: imported (each instance gets the same one), growing to
/// 4 GiB as an unshared one does (a shared memory must say its maximum), with the thread-local
/// storage's symbols exported for wasm-bindgen to set each thread's up.
const THREADED_RUSTFLAGS: &str = "-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128 \
     -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296 \
     -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
     -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base";

/// Builds `args` (a package and its features) for wasm with threads, in release, into `target_dir`
/// (its own: the flags differ from every other build's), and returns the folder of the `.wasm` files.
///
/// Rust's standard library ships compiled without atomics, so this build compiles it again from
/// source (`-Z build-std`, rustup's `rust-src` component, installed here if missing). `-Z` flags are
/// unstable: `RUSTC_BOOTSTRAP=1` lets this pinned stable toolchain take them, for this build alone.
pub fn build_threaded_wasm(target_dir: &Path, args: &[&str]) -> Result<PathBuf> {
    let installed = output(Command::new("rustup").args(["component", "list", "--installed"]))?;
    if !installed.lines().any(|l| l.trim().starts_with("rust-src")) {
        run(Command::new("rustup").args(["component", "add", "rust-src"]))?;
    }
    eprintln!("xtask: building {} for wasm with threads", args.join(" "));
    run(Command::new("cargo")
        .args(["build", "--release", "-q", "--target", "wasm32-unknown-unknown", "-Z", "build-std=std,panic_abort"])
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTFLAGS", THREADED_RUSTFLAGS))?;
    Ok(target_dir.join("wasm32-unknown-unknown").join("release"))
}

/// The version of `package` that Cargo.lock resolved.
pub fn cargo_lock_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string("Cargo.lock").context("reading Cargo.lock")?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&needle).with_context(|| format!("{package} is not in Cargo.lock"))? + needle.len();
    let end = lock[start..].find('"').context("malformed Cargo.lock")?;
    Ok(lock[start..start + end].to_owned())
}

/// Trunk refuses a tool whose version differs from `[tools]`, so a stale pin must fail here, clearly.
fn check_trunk_toml(bindgen_version: &str) -> Result<()> {
    let trunk_toml = std::fs::read_to_string("Trunk.toml").context("reading Trunk.toml")?;
    let pins_bindgen = format!("wasm_bindgen = \"{bindgen_version}\"");
    let pins_opt = format!("wasm_opt = \"version_{BINARYEN_VERSION}\"");
    if !trunk_toml.contains(&pins_bindgen) || !trunk_toml.contains(&pins_opt) {
        bail!("Trunk.toml's [tools] must say {pins_bindgen} and {pins_opt} (Cargo.lock and xtask's pins)");
    }
    Ok(())
}

/// `cargo install` into `<tools>/<crate>-<version>`; returns its `bin/` directory.
fn cargo_install(tools: &Path, krate: &str, version: &str, binary: &str, locked: bool) -> Result<PathBuf> {
    let root = tools.join(format!("{krate}-{version}"));
    let bin = root.join("bin");
    if bin.join(binary).exists() {
        return Ok(bin);
    }
    eprintln!("xtask: installing {krate} {version} (once per machine; this takes minutes)");
    let mut cmd = Command::new("cargo");
    cmd.args(["install", krate, "--version", version, "--root"]).arg(&root);
    if locked {
        cmd.arg("--locked");
    }
    // A shared target dir would keep gigabytes of tool builds around; cargo install cleans its own.
    cmd.env_remove("CARGO_TARGET_DIR");
    run(&mut cmd)?;
    Ok(bin)
}

/// `npm install <package>@<version>` into `<tools>/<package>-<version>`; returns its `.bin/` directory.
/// `binary` names the executable whose presence means "installed" (empty: the package itself).
pub fn npm_tool(tools: &Path, package: &str, version: &str, binary: &str) -> Result<PathBuf> {
    let prefix = tools.join(format!("{}-{version}", package.trim_start_matches('@').replace('/', "-")));
    let bin = prefix.join("node_modules").join(".bin");
    let installed = if binary.is_empty() {
        prefix.join("node_modules").join(package).join("package.json")
    } else {
        bin.join(binary)
    };
    if installed.exists() {
        return Ok(bin);
    }
    eprintln!("xtask: installing {package}@{version} from npm");
    std::fs::create_dir_all(&prefix)?;
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg(format!("{package}@{version}")))
    .context("npm is needed (Node.js 20 or newer)")?;
    Ok(bin)
}

/// Chromium, ChromeDriver and Mesa's Vulkan drivers (lavapipe) from apt, when running as root on Debian.
fn ensure_apt_packages() -> Result<()> {
    let missing: Vec<&str> =
        APT_PACKAGES.iter().filter(|(_, file)| !Path::new(file).exists()).map(|(package, _)| *package).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let is_root = output(Command::new("id").arg("-u")).map(|uid| uid.trim() == "0").unwrap_or(false);
    if !is_root || !Path::new("/usr/bin/apt-get").exists() {
        bail!("please install these packages, then run this command again: {}", missing.join(" "));
    }
    eprintln!("xtask: apt-get install {}", missing.join(" "));
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get").args(["install", "-y", "-qq"]).args(&missing).env("DEBIAN_FRONTEND", "noninteractive"))
}

/// playwright-core (never a browser download: the tests drive Debian's Chromium) into `tests/node_modules`.
fn ensure_playwright() -> Result<()> {
    let manifest =
        |path: &str| -> Option<serde_json::Value> { serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok() };
    let wanted = manifest("tests/package.json")
        .and_then(|m| m["devDependencies"]["playwright-core"].as_str().map(str::to_owned))
        .context("tests/package.json pins no playwright-core")?;
    let installed = manifest("tests/node_modules/playwright-core/package.json")
        .and_then(|m| m["version"].as_str().map(str::to_owned));
    if installed.as_deref() != Some(wanted.as_str()) {
        eprintln!("xtask: npm ci in tests/ (playwright-core {wanted})");
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--prefix", "tests"]))?;
    }
    Ok(())
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_build_names_the_service_worker_cache_after_its_files() {
        let dir = std::env::temp_dir().join(format!("glassbox-stamp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let stamp = |app: &str| {
            std::fs::write(dir.join("sw.js"), format!("const SHELL = \"{UNSTAMPED_SHELL}\";")).unwrap();
            std::fs::write(dir.join("app.js"), app).unwrap();
            stamp_service_worker(&dir).unwrap();
            std::fs::read_to_string(dir.join("sw.js")).unwrap()
        };
        let (a, again, b) = (stamp("one build"), stamp("one build"), stamp("another build"));
        assert!(a.starts_with("const SHELL = \"glassbox-shell-") && !a.contains("dev"), "{a}");
        assert_eq!(a, again, "the same files, the same name");
        assert_ne!(a, b, "other files, another name");
        assert!(stamp_service_worker(&dir).is_err(), "a stamped file is not stamped twice");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_service_worker_keeps_every_file_of_the_builds_with_threads() {
        // Offline, a worker whose script the service worker did not keep cannot start.
        let sw = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/sw.js")).unwrap();
        for (_, name, fallback) in THREADED_WORKERS {
            for file in [
                format!("{name}.js"),
                format!("{name}_bg.wasm"),
                format!("{name}_loader.js"),
                format!("{name}_helper.js"),
            ] {
                assert!(sw.contains(&format!("\"./{file}\"")), "public/sw.js does not keep {file}");
            }
            assert!(sw.contains(&format!("\"./{fallback}_bg.wasm\"")), "public/sw.js does not keep {fallback}");
        }
        let (loader, helper) = thread_scripts("lab_worker_threads", "lab_worker");
        assert!(
            loader.contains(
                "importScripts(\"./threads_loader.js\");\nstartOnEveryCore(\"lab_worker_threads\", \"lab_worker\");"
            ),
            "{loader}"
        );
        assert!(helper.contains("importScripts(\"./lab_worker_threads.js\", \"./threads_helper.js\");"), "{helper}");
    }
}
