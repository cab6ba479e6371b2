//! The page's sentences built from figures (speeds, download progress, a model's size, an attention
//! weight, where the engine runs), in English and French.

use serde::{Deserialize, Serialize};

use super::Lang;

impl Lang {
    /// "12.3 tokens per second, on this device", and how many of the prompt's tokens the cache kept
    /// from the last turn, when it kept some.
    pub fn speed(self, tok_per_s: f32, prompt: usize, reused: usize) -> String {
        let n = self.num(tok_per_s as f64, 1);
        let speed = match self {
            Self::En => format!("{n} tokens per second, on this device"),
            Self::Fr => format!("{n} tokens par seconde, sur cet appareil"),
        };
        if reused == 0 {
            return speed;
        }
        match self {
            Self::En => {
                format!("{speed}; {reused} of the {prompt} tokens read were still in memory from the last turn")
            }
            Self::Fr => {
                format!("{speed} ; {reused} des {prompt} tokens lus étaient encore en mémoire depuis le tour précédent")
            }
        }
    }

    /// Download progress: "34 / 98 MB (35 %), 12.5 MB/s".
    pub fn progress(self, loaded: u64, total: u64, rate_mb_s: Option<f64>) -> String {
        let mb = |b: u64| self.num(b as f64 / 1e6, 0);
        let unit = if self == Self::Fr { "Mo" } else { "MB" };
        let rate = rate_mb_s.map(|r| format!(", {} {unit}/s", self.num(r, 1))).unwrap_or_default();
        let loading = self.t().loading;
        if total > 0 {
            let percent = self.num(loaded as f64 * 100.0 / total as f64, 0);
            format!("{loading} {} / {} {unit} ({percent} %){rate}", mb(loaded), mb(total))
        } else {
            format!("{loading} {} {unit}{rate}", mb(loaded))
        }
    }

    /// "name, 98.4 MB, loaded on this device" (and where it came from).
    pub fn model_ready(self, name: &str, bytes: u64, from_cache: bool) -> String {
        let size = self.num(bytes as f64 / 1e6, 1);
        match (self, from_cache) {
            (Self::En, false) => format!("{name}, {size} MB, loaded on this device"),
            (Self::En, true) => {
                format!("{name}, {size} MB, loaded on this device (from this browser's copy: works offline)")
            }
            (Self::Fr, false) => format!("{name}, {size} Mo, chargé sur cet appareil"),
            (Self::Fr, true) => format!(
                "{name}, {size} Mo, chargé sur cet appareil (copie gardée par ce navigateur : marche hors ligne)"
            ),
        }
    }

    /// The tooltip of one attention weight.
    pub fn weight_tip(self, query: &str, q: usize, key: &str, k: usize, w: f32) -> String {
        let w = self.num(w as f64, 4);
        match self {
            Self::En => format!("token {q} «{query}» looks at token {k} «{key}»: weight {w}"),
            Self::Fr => format!("le token {q} « {query} » regarde le token {k} « {key} » : poids {w}"),
        }
    }

    /// "Layer 3, head 5" or "Layer 3, mean of heads".
    pub fn head_name(self, layer: usize, head: Option<usize>) -> String {
        let t = self.t();
        match head {
            Some(h) => format!("{} {layer}, {} {h}", t.layer, t.head.to_lowercase()),
            None => format!("{} {layer}, {}", t.layer, t.mean_of_heads.to_lowercase()),
        }
    }

    /// "Step 41 of 57: «the»".
    pub fn step_name(self, at: usize, last: usize, token: &str) -> String {
        match self {
            Self::En => format!("Token {at} of {last}: «{token}»"),
            Self::Fr => format!("Token {at} sur {last} : « {token} »"),
        }
    }

    /// "token #1234".
    pub fn token_id(self, id: u32) -> String {
        match self {
            Self::En => format!("token #{id}"),
            Self::Fr => format!("token n° {id}"),
        }
    }

    /// "probability 0.82" as a percentage.
    pub fn percent(self, p: f32) -> String {
        let digits = if p >= 0.1 { 0 } else { 1 };
        format!("{} %", self.num(p as f64 * 100.0, digits))
    }
}

/// Where the engine runs, as the worker found it (its words are chosen by the page's language).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Placement {
    /// On this WebGPU adapter.
    Gpu(String),
    /// On the CPU, for this reason, with these kernels, on these cores.
    Cpu(CpuReason, WasmSimd, Cores),
}

/// The engine worker's CPU kernels: the app ships two builds of it and loads the one the browser runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum WasmSimd {
    /// simd128's widened byte products (every current browser).
    Simd128,
    /// Relaxed SIMD's byte dot product, where the browser has it.
    Relaxed,
}

impl WasmSimd {
    /// The kernels this build of the app was compiled with.
    pub const BUILT: Self = if cfg!(feature = "relaxed-simd") { Self::Relaxed } else { Self::Simd128 };
}

/// The cores the CPU engine's products are split over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cores {
    /// Its build with wasm threads, on this many (web workers sharing its memory).
    Many(usize),
    /// One, for this reason.
    One(OneCore),
}

/// Why the CPU engine runs on one core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OneCore {
    /// The browser reports one.
    OnlyOne,
    /// The page is not cross-origin isolated, so its workers cannot share memory.
    NotIsolated,
    /// The build with threads uses relaxed SIMD, which this browser lacks.
    NoRelaxedSimd,
    /// The build with threads waits with `Atomics.waitAsync`, which this browser lacks.
    NoWaitAsync,
    /// The build with threads did not start (or this copy of the app has none).
    ThreadsFailed,
}

/// Why the engine runs on the CPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CpuReason {
    /// The browser offers no WebGPU adapter.
    NoGpu,
    /// The adapter is a software one, slower than the SIMD CPU engine.
    SoftwareGpu,
    /// The GPU could not take the model (the engine's message).
    GpuRefused(String),
}

impl Placement {
    /// In words.
    pub fn describe(&self, lang: Lang) -> String {
        let t = lang.t();
        match self {
            Self::Gpu(adapter) => format!("{adapter} ({})", t.gpu_kernels),
            Self::Cpu(why, simd, cores) => {
                let kernels = match simd {
                    WasmSimd::Simd128 => t.cpu_engine,
                    WasmSimd::Relaxed => t.cpu_engine_relaxed,
                };
                let cores = match cores {
                    Cores::Many(n) => t.on_cores.replace("{n}", &n.to_string()),
                    Cores::One(why) => {
                        let why = match why {
                            OneCore::OnlyOne => t.one_core_only,
                            OneCore::NotIsolated => t.one_core_not_isolated,
                            OneCore::NoRelaxedSimd => t.one_core_no_relaxed,
                            OneCore::NoWaitAsync => t.one_core_no_wait_async,
                            OneCore::ThreadsFailed => t.one_core_failed,
                        };
                        format!("{}{}{why}", t.on_one_core, lang.colon())
                    }
                };
                let engine = format!("{kernels}, {cores}");
                match why {
                    CpuReason::NoGpu => engine.to_owned(),
                    CpuReason::SoftwareGpu => format!("{engine}{}{}", lang.semicolon(), t.software_gpu),
                    CpuReason::GpuRefused(why) => format!("{engine}{}{why}", lang.semicolon()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_placement_names_its_cores_and_why_only_one() {
        let many = Placement::Cpu(CpuReason::NoGpu, WasmSimd::Relaxed, Cores::Many(4));
        assert_eq!(many.describe(Lang::En), "CPU (WebAssembly relaxed SIMD, 8-bit activations), on 4 cores");
        assert_eq!(
            many.describe(Lang::Fr),
            "processeur (WebAssembly relaxed SIMD, activations sur 8 bits), sur 4 cœurs"
        );
        let one = Placement::Cpu(CpuReason::NoGpu, WasmSimd::Simd128, Cores::One(OneCore::NotIsolated));
        assert!(
            one.describe(Lang::En).contains(", on 1 core: the page is not cross-origin isolated, so"),
            "{}",
            one.describe(Lang::En)
        );
        assert!(one.describe(Lang::Fr).contains("sur 1 cœur\u{a0}: "), "{}", one.describe(Lang::Fr));
    }

    #[test]
    fn french_numbers_use_a_decimal_comma() {
        assert_eq!(Lang::Fr.speed(33.66, 40, 0), "33,7 tokens par seconde, sur cet appareil");
        assert_eq!(
            Lang::En.speed(12.0, 66, 48),
            "12.0 tokens per second, on this device; 48 of the 66 tokens read were still in memory from the last turn"
        );
        assert_eq!(Lang::En.progress(34_000_000, 98_000_000, Some(12.0)), "loading… 34 / 98 MB (35 %), 12.0 MB/s");
    }
}
