//! What the page keeps between visits in this browser's local storage (preferences and settings), and
//! the plain types of its state: where the model stands, a download's progress.

use engine::sample::SamplerConfig;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::i18n::{Lang, Placement};
use crate::protocol::ChatSettings;

/// Where the model stands.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelState {
    /// No model yet; the first one is on its way.
    Loading,
    /// Loaded.
    Ready {
        /// File name.
        name: String,
        /// File size.
        bytes: u64,
        /// Where it runs.
        placement: Placement,
        /// Read from this browser's copy.
        from_cache: bool,
        /// What the file holds.
        card: Box<engine::model::ModelCard>,
    },
    /// No model could be loaded; the message says why.
    Failed(String),
}

/// A download in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Bytes so far.
    pub loaded: u64,
    /// Announced size (0: unknown).
    pub total: u64,
    /// When it started (ms since the epoch), for the rate.
    pub started_ms: f64,
    /// What the file holds and the memory it needs, once its header has been read.
    pub estimate: Option<crate::preflight::Estimate>,
}

/// Colours of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Theme {
    /// Follow the system.
    Auto,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// How the page looks; kept on this device.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prefs {
    /// Language (`None`: the browser's).
    pub lang: Option<Lang>,
    /// Colours.
    pub theme: Theme,
    /// Large text for a projector.
    pub projector: bool,
}

impl Default for Prefs {
    fn default() -> Self {
        Self { lang: None, theme: Theme::Auto, projector: false }
    }
}

/// The settings panel; kept on this device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Read before the conversation (empty: the model template's default).
    pub system_prompt: String,
    /// 0: greedy.
    pub temperature: f32,
    /// 0: no limit.
    pub top_k: usize,
    /// 1: no limit.
    pub top_p: f32,
    /// Most tokens per answer.
    pub max_tokens: usize,
    /// Seed of the first attempt at an answer.
    pub seed: u64,
    /// Record attention for the explorer.
    pub trace: bool,
}

impl Default for Settings {
    /// A little randomness reads more naturally than greedy decoding, which loops on small models;
    /// a fixed seed keeps answers reproducible in class.
    fn default() -> Self {
        Self {
            system_prompt: String::new(),
            temperature: 0.3,
            top_k: 40,
            top_p: 0.9,
            max_tokens: 256,
            seed: 42,
            trace: true,
        }
    }
}

impl Settings {
    /// What the worker needs, for the `attempt`-th try at this answer (0 first).
    pub fn for_worker(&self, attempt: u64) -> ChatSettings {
        ChatSettings {
            max_tokens: self.max_tokens.max(1),
            sampler: SamplerConfig {
                temperature: self.temperature.max(0.0),
                top_k: self.top_k,
                top_p: self.top_p.clamp(0.0, 1.0),
                seed: self.seed.wrapping_add(attempt),
                ..SamplerConfig::default()
            },
            trace: self.trace,
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub(super) fn load_saved<T: DeserializeOwned>(key: &str) -> Option<T> {
    serde_json::from_str(&storage()?.get_item(key).ok()??).ok()
}

pub(super) fn save<T: Serialize>(key: &str, value: &T) {
    if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(value)) {
        // A full storage only means this is not kept; the page goes on.
        let _ = storage.set_item(key, &json);
    }
}
