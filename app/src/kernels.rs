//! Which build of each worker this browser runs, and on how many cores.
//!
//! The app ships the engine worker three times, each the same code: simd128's kernels (every current
//! browser), relaxed SIMD's byte dot product (where the browser validates it), and relaxed SIMD with
//! wasm threads (its products split over web workers that share its memory: only a cross-origin
//! isolated page may share memory). The two labs' workers (the autoencoder's and the tiny GPT's
//! trainers) come twice: without threads, and with them where the engine's threads would run.
//! `cargo xtask` builds the threaded ones after Trunk (they need Rust's standard library compiled
//! again with atomics, which Trunk cannot ask for).

use crate::i18n::{Cores, OneCore};

/// Where the worker's loader script is served (Trunk's `data-loader-shim`, with `filehash = false`).
pub const WORKER_LOADER_URL: &str = "./worker_loader.js";

/// The same worker built with relaxed SIMD's kernels.
pub const WORKER_RELAXED_LOADER_URL: &str = "./worker_relaxed_loader.js";

/// The autoencoder lab's worker, as Trunk builds it.
pub const LAB_WORKER_LOADER_URL: &str = "./lab_worker_loader.js";

/// The pre-training lab's worker, as Trunk builds it.
pub const PRETRAIN_WORKER_LOADER_URL: &str = "./pretrain_worker_loader.js";

/// A worker that `cargo xtask` also builds with wasm threads, after Trunk: its products split over web
/// workers that share its memory. Its loader `NAME_loader.js` starts that build through
/// `public/threads_loader.js` (its glue's global is `wasm_bindgen_threads`, so that the loader can still
/// import Trunk's build, whose global is `wasm_bindgen`, if it fails); each helper thread runs
/// `NAME_helper.js`, which imports its glue and `public/threads_helper.js` (`xtask/src/setup.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threaded {
    /// The engine (its relaxed SIMD build, with threads: `worker_threads.js`).
    Engine,
    /// The autoencoder lab (`lab_worker_threads.js`).
    Lab,
    /// The pre-training lab (`pretrain_worker_threads.js`).
    Pretrain,
}

impl Threaded {
    /// The loader of its build with threads.
    pub const fn loader_url(self) -> &'static str {
        match self {
            Threaded::Engine => "./worker_threads_loader.js",
            Threaded::Lab => "./lab_worker_threads_loader.js",
            Threaded::Pretrain => "./pretrain_worker_threads_loader.js",
        }
    }

    /// The script its helper threads run.
    pub const fn helper_url(self) -> &'static str {
        match self {
            Threaded::Engine => "./worker_threads_helper.js",
            Threaded::Lab => "./lab_worker_threads_helper.js",
            Threaded::Pretrain => "./pretrain_worker_threads_helper.js",
        }
    }
}

/// The loader of the engine worker's build with threads.
pub const WORKER_THREADS_LOADER_URL: &str = Threaded::Engine.loader_url();

/// The most threads the engine splits a product over: past this, one token's products are too small
/// to share further, and each thread is one more instance of the engine's module to compile.
pub const MAX_THREADS: usize = 8;

/// A module of one function that runs `i32x4.relaxed_dot_i8x16_i7x16_add_s` on three zero vectors: a
/// browser that validates it runs the worker's relaxed SIMD build.
const RELAXED_SIMD_PROBE: [u8; 82] = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // types: () -> v128
    0x03, 0x02, 0x01, 0x00, // one function of type 0
    0x0a, 0x3d, 0x01, 0x3b, 0x00, // code: one body of 59 bytes, no locals
    0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
    0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
    0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
    0xfd, 0x93, 0x02, // i32x4.relaxed_dot_i8x16_i7x16_add_s (0xfd 0x113)
    0x0b, // end
];

/// What decides the worker's build, as the browser says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Browser {
    /// It validates relaxed SIMD.
    pub relaxed_simd: bool,
    /// It has `Atomics.waitAsync`, which the build with threads awaits its futures with (without it,
    /// wasm-bindgen's stand-in starts a worker from a `blob:` URL per wait, which this page's policy
    /// forbids).
    pub wait_async: bool,
    /// The page is cross-origin isolated (`crossOriginIsolated`): its workers may share memory.
    pub isolated: bool,
    /// `navigator.hardwareConcurrency`.
    pub cores: usize,
}

impl Browser {
    /// This browser, from the page or from a worker.
    pub fn here() -> Browser {
        let global = js_sys::global();
        let get = |target: &wasm_bindgen::JsValue, key: &str| js_sys::Reflect::get(target, &key.into()).ok();
        let probe = js_sys::Uint8Array::from(&RELAXED_SIMD_PROBE[..]);
        Browser {
            relaxed_simd: js_sys::WebAssembly::validate(&probe.into()).unwrap_or(false),
            wait_async: get(&global, "Atomics").and_then(|a| get(&a, "waitAsync")).is_some_and(|f| f.is_function()),
            isolated: get(&global, "crossOriginIsolated").is_some_and(|v| v.is_truthy()),
            cores: get(&global, "navigator")
                .and_then(|n| get(&n, "hardwareConcurrency"))
                .and_then(|n| n.as_f64())
                .map_or(1, |n| (n as usize).max(1)),
        }
    }

    /// The threads the build with threads would run on here, or why it is not for this browser.
    pub fn threads(&self) -> Result<usize, OneCore> {
        if self.cores < 2 {
            Err(OneCore::OnlyOne)
        } else if !self.isolated {
            Err(OneCore::NotIsolated)
        } else if !self.relaxed_simd {
            Err(OneCore::NoRelaxedSimd)
        } else if !self.wait_async {
            Err(OneCore::NoWaitAsync)
        } else {
            Ok(self.cores.min(MAX_THREADS))
        }
    }

    /// The loader of the engine worker's build for this browser.
    pub fn worker_url(&self) -> &'static str {
        match (self.threads(), self.relaxed_simd) {
            (Ok(_), _) => WORKER_THREADS_LOADER_URL,
            (Err(_), true) => WORKER_RELAXED_LOADER_URL,
            (Err(_), false) => WORKER_LOADER_URL,
        }
    }

    /// The loader of a lab's worker for this browser: its build with threads where the engine's would
    /// run (it has relaxed SIMD's instructions too), else Trunk's.
    pub fn lab_worker_url(&self, lab: Threaded) -> &'static str {
        match (self.threads(), lab) {
            (Ok(_), lab) => lab.loader_url(),
            (Err(_), Threaded::Pretrain) => PRETRAIN_WORKER_LOADER_URL,
            (Err(_), Threaded::Lab | Threaded::Engine) => LAB_WORKER_LOADER_URL,
        }
    }

    /// The cores a worker of a build without threads runs on: one, and why.
    pub fn one_core(&self) -> Cores {
        // Where the build with threads was for this browser, this worker is its fallback.
        Cores::One(self.threads().err().unwrap_or(OneCore::ThreadsFailed))
    }
}

/// The engine worker this browser runs.
pub fn engine_worker_url() -> &'static str {
    Browser::here().worker_url()
}

/// The autoencoder lab's worker this browser runs.
pub fn lab_worker_url() -> &'static str {
    Browser::here().lab_worker_url(Threaded::Lab)
}

/// The pre-training lab's worker this browser runs.
pub fn pretrain_worker_url() -> &'static str {
    Browser::here().lab_worker_url(Threaded::Pretrain)
}

/// In a build with wasm threads: starts the CPU pool's helper threads where this browser allows them
/// (called once, before the worker takes requests).
#[cfg(target_feature = "atomics")]
pub fn start_threads(build: Threaded) {
    if let Ok(threads) = Browser::here().threads() {
        engine::backend::cpu::web_threads::start_shared_pool(threads, build.helper_url());
    }
}

/// The CPU threads this worker's products are shared by: the pool's that started, in a build with
/// threads (1 in the others).
pub fn cpu_threads() -> usize {
    engine::backend::cpu::running_threads()
}

/// The cores this worker's CPU work runs on: how many of the pool's threads started, in a build with
/// threads (a helper whose script failed is not counted); else one, and why.
pub fn worker_cores(relaxed_simd: bool) -> Cores {
    let threads = cpu_threads();
    if threads > 1 {
        return Cores::Many(threads);
    }
    Browser { relaxed_simd, ..Browser::here() }.one_core()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relaxed_simd_probe_is_one_well_formed_function() {
        let p = &RELAXED_SIMD_PROBE;
        assert_eq!(&p[..8], b"\0asm\x01\0\0\0");
        // The code section's size and its one body's size count exactly the bytes that follow them.
        assert_eq!((p[19], p[20] as usize, p[21]), (0x0a, p.len() - 21, 1));
        assert_eq!(p[22] as usize, p.len() - 23);
        assert_eq!(&p[p.len() - 4..], [0xfd, 0x93, 0x02, 0x0b], "the relaxed dot product (0xfd 0x113), then end");
    }

    #[test]
    fn threads_need_two_cores_isolation_relaxed_simd_and_wait_async_and_stop_at_eight() {
        let all = Browser { relaxed_simd: true, wait_async: true, isolated: true, cores: 4 };
        assert_eq!((all.threads(), all.worker_url()), (Ok(4), WORKER_THREADS_LOADER_URL));
        assert_eq!(Browser { cores: 32, ..all }.threads(), Ok(MAX_THREADS));
        let one = Browser { cores: 1, ..all };
        assert_eq!((one.threads(), one.worker_url()), (Err(OneCore::OnlyOne), WORKER_RELAXED_LOADER_URL));
        let open = Browser { isolated: false, ..all };
        assert_eq!((open.one_core(), open.worker_url()), (Cores::One(OneCore::NotIsolated), WORKER_RELAXED_LOADER_URL));
        let old = Browser { relaxed_simd: false, ..all };
        assert_eq!((old.one_core(), old.worker_url()), (Cores::One(OneCore::NoRelaxedSimd), WORKER_LOADER_URL));
        let firefox = Browser { wait_async: false, ..all };
        assert_eq!(
            (firefox.one_core(), firefox.worker_url()),
            (Cores::One(OneCore::NoWaitAsync), WORKER_RELAXED_LOADER_URL)
        );
        assert_eq!(all.one_core(), Cores::One(OneCore::ThreadsFailed), "the threaded build's fallback says so");
    }

    #[test]
    fn the_labs_take_their_threaded_builds_where_the_engine_takes_its() {
        let all = Browser { relaxed_simd: true, wait_async: true, isolated: true, cores: 4 };
        assert_eq!(all.lab_worker_url(Threaded::Lab), "./lab_worker_threads_loader.js");
        assert_eq!(all.lab_worker_url(Threaded::Pretrain), "./pretrain_worker_threads_loader.js");
        for one in
            [Browser { isolated: false, ..all }, Browser { cores: 1, ..all }, Browser { relaxed_simd: false, ..all }]
        {
            assert_eq!(one.lab_worker_url(Threaded::Lab), LAB_WORKER_LOADER_URL, "{one:?}");
            assert_eq!(one.lab_worker_url(Threaded::Pretrain), PRETRAIN_WORKER_LOADER_URL, "{one:?}");
        }
        // Each helper loads the glue its loader does.
        for build in [Threaded::Engine, Threaded::Lab, Threaded::Pretrain] {
            let glue = build.helper_url().strip_suffix("_helper.js").unwrap_or_default();
            assert_eq!(build.loader_url(), format!("{glue}_loader.js"), "{build:?}");
        }
    }
}
