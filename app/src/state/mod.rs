//! The page's state: signals fed by the engine worker's responses, and the chat's actions. The one
//! bridge that talks to the worker is in `bridge.rs`, what is kept on this device between visits in
//! `persist.rs`, the teaching views (lesson, game, readings) in `teach.rs`, the screen's address in
//! `address.rs`, what the worker's answers change in `responses.rs`.

mod address;
mod bridge;
mod doubt;
mod library;
mod persist;
mod prefer;
mod prefs;
mod responses;
mod stream;
mod teach;
mod throttle;
mod tiny;
mod views;

use prefs::load_saved;
pub use prefs::{ModelState, Prefs, Progress, Settings, Theme};
pub use teach::{Pane, Teach};
pub use tiny::TinyModel;
use views::ViewRequests;

use engine::trace::{HeadMatrix, HeadPick, Thumbnails};
use engine::ComputeBackend;
use gloo_worker::WorkerBridge;
use leptos::prelude::*;

use crate::conversation::{Conversation, Exchange, TokenInfo};
use crate::i18n::Lang;
use crate::protocol::{Request, Response};
use crate::store::StoredConversation;
use crate::worker::EngineWorker;
use crate::DEFAULT_MODEL_URL;

/// Which drawing of the selected head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadView {
    /// Query × key matrix.
    Matrix,
    /// Two token columns joined by lines.
    Lines,
}

/// How the last answer went: its decode speed, and how many of its prompt's tokens the last answer's
/// cache already held.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed {
    /// Tokens per second while it was written.
    pub tok_per_s: f32,
    /// Tokens of its prompt.
    pub prompt: usize,
    /// Of those, kept from the last turn (not run again).
    pub reused: usize,
}

/// The attention explorer's choices and the views the worker sent for them.
#[derive(Debug, Clone, Copy)]
pub struct Explorer {
    /// Layers and heads of the loaded model.
    pub shape: RwSignal<(usize, usize)>,
    /// The selected token (`None`: follow the newest one read).
    pub selected: RwSignal<Option<usize>>,
    /// Layer shown.
    pub layer: RwSignal<usize>,
    /// Head shown (or the mean).
    pub head: RwSignal<HeadPick>,
    /// A head previewed by hovering the grid.
    pub preview: RwSignal<Option<(usize, usize)>>,
    /// Hide the first token and renormalise.
    pub hide_sink: RwSignal<bool>,
    /// Matrix or lines.
    pub view: RwSignal<HeadView>,
    /// Every head's thumbnail.
    pub grid: RwSignal<Option<Thumbnails>>,
    /// The selected (or previewed) head.
    pub matrix: RwSignal<Option<HeadMatrix>>,
}

/// Everything the components read; `Copy`, so any closure can hold it.
#[derive(Debug, Clone, Copy)]
pub struct AppState {
    /// How the page looks.
    pub prefs: RwSignal<Prefs>,
    /// The page's language (the preference, or the browser's).
    pub lang: Memo<Lang>,
    /// The settings panel.
    pub settings: RwSignal<Settings>,
    /// The compute backend the worker found.
    pub compute: RwSignal<Option<ComputeBackend>>,
    /// The model.
    pub model: RwSignal<ModelState>,
    /// A model download in progress.
    pub progress: RwSignal<Option<Progress>>,
    /// Why the last model file could not be loaded.
    pub load_error: RwSignal<Option<String>>,
    /// The conversation.
    pub conversation: RwSignal<Conversation>,
    /// Tokens of the latest answer, prompt included.
    pub exchange: RwSignal<Exchange>,
    /// What the token view and the explorer show: a text read for the explorer, else the latest answer.
    pub shown: Memo<Exchange>,
    /// The lesson, the game, the address.
    pub teach: Teach,
    /// The token selected in the token view.
    pub focus: RwSignal<Option<usize>>,
    /// Whether an answer is being written.
    pub generating: RwSignal<bool>,
    /// The engine worker has not said a word since it was started [`ENGINE_SILENCE_MS`] ago: the page
    /// offers to start it again (a slow network can be the reason, so it never does so by itself).
    pub engine_silent: RwSignal<bool>,
    /// The last error or notice, for the user.
    pub notice: RwSignal<Option<String>>,
    /// Decode speed of the last answer, and how much of its prompt the cache held.
    pub speed: RwSignal<Option<Speed>>,
    /// How many times the current answer was regenerated (moves the seed).
    attempt: RwSignal<u64>,
    /// The attention explorer.
    pub explorer: Explorer,
    /// Which kept conversation is open.
    pub current_id: RwSignal<f64>,
    /// Every kept conversation, most recent first.
    library: RwSignal<Vec<StoredConversation>>,
    /// The kept conversations have been read (until then nothing is written over them).
    restored: RwSignal<bool>,
    db: StoredValue<Option<web_sys::IdbDatabase>, LocalStorage>,
    /// When the conversation is next written to IndexedDB.
    autosave: StoredValue<throttle::Throttle>,
    /// The streamed tokens not shown yet (text, token), and when they are shown (`stream.rs`).
    streamed: StoredValue<Vec<(String, TokenInfo)>>,
    tokens_pace: StoredValue<throttle::Throttle>,
    requests: StoredValue<ViewRequests>,
    blob_url: StoredValue<Option<String>>,
    bridge: StoredValue<Option<WorkerBridge<EngineWorker>>, LocalStorage>,
    /// Counts the engine workers started, so a watch set for an older one stays silent.
    compute_tick: RwSignal<u32>,
}

/// How long the engine worker may stay silent after it starts before the page says so: it answers
/// within a second or two once its 3 MB of code have arrived.
const ENGINE_SILENCE_MS: u32 = 20_000;

const PREFS_KEY: &str = "glassbox.prefs.v1";
const SETTINGS_KEY: &str = "glassbox.settings.v1";

impl AppState {
    /// Spawns the engine worker, asks it for the compute backend and the default model.
    pub fn start() -> Self {
        let prefs = RwSignal::new(load_saved::<Prefs>(PREFS_KEY).unwrap_or_default());
        let browser_lang = web_sys::window().and_then(|w| w.navigator().language()).map(|l| Lang::from_tag(&l));
        let lang = Memo::new(move |_| prefs.get().lang.or(browser_lang).unwrap_or(Lang::En));
        let explorer = Explorer {
            shape: RwSignal::new((0, 0)),
            selected: RwSignal::new(None),
            layer: RwSignal::new(0),
            head: RwSignal::new(HeadPick::One(0)),
            preview: RwSignal::new(None),
            hide_sink: RwSignal::new(false),
            view: RwSignal::new(HeadView::Matrix),
            grid: RwSignal::new(None),
            matrix: RwSignal::new(None),
        };
        let exchange = RwSignal::new(Exchange::default());
        let teach = Teach::new();
        let shown = Memo::new(move |_| teach.reading.get().unwrap_or_else(|| exchange.get()));
        let state = Self {
            exchange,
            shown,
            teach,
            prefs,
            lang,
            settings: RwSignal::new(load_saved(SETTINGS_KEY).unwrap_or_default()),
            compute: RwSignal::new(None),
            model: RwSignal::new(ModelState::Loading),
            progress: RwSignal::new(None),
            load_error: RwSignal::new(None),
            conversation: RwSignal::new(Conversation::default()),
            current_id: RwSignal::new(js_sys::Date::now()),
            library: RwSignal::new(Vec::new()),
            restored: RwSignal::new(false),
            db: StoredValue::new_local(None),
            autosave: StoredValue::new(throttle::Throttle::every(throttle::AUTOSAVE_MS)),
            streamed: StoredValue::new(Vec::new()),
            tokens_pace: StoredValue::new(throttle::Throttle::every(throttle::TOKENS_MS)),
            focus: RwSignal::new(None),
            generating: RwSignal::new(false),
            notice: RwSignal::new(None),
            engine_silent: RwSignal::new(false),
            speed: RwSignal::new(None),
            attempt: RwSignal::new(0),
            explorer,
            requests: StoredValue::new(ViewRequests::default()),
            blob_url: StoredValue::new(None),
            bridge: StoredValue::new_local(None),
            compute_tick: RwSignal::new(0),
        };
        state.spawn_engine();
        state.keep_votes();
        state.follow_address();

        state.keep_on_device();
        // The explorer asks the worker for what it shows whenever a choice or the answer changes.
        Effect::new(move |_| {
            // Read, not only tracked: a memo computes (and follows its sources) only when read.
            state.shown.with(|_| ());
            state.explorer.selected.track();
            state.explorer.layer.track();
            state.explorer.head.track();
            state.explorer.preview.track();
            state.explorer.hide_sink.track();
            state.sync_views();
        });
        state
    }

    fn start_answer(&self) {
        self.notice.set(None);
        self.speed.set(None);
        self.reset_views();
        self.teach.reading.set(None);
        let messages = self.conversation.with_untracked(|c| c.for_engine(&self.settings.get_untracked().system_prompt));
        self.generating.set(true);
        let settings = self.settings.get_untracked().for_worker(self.attempt.get_untracked());
        self.send(Request::Chat { messages, settings });
    }

    /// Whether a new answer can be asked for now.
    pub fn can_ask(&self) -> bool {
        matches!(self.model.get(), ModelState::Ready { .. }) && !self.generating.get()
    }

    /// Adds the user's message and asks for the answer.
    pub fn ask(&self, text: String) {
        if text.trim().is_empty() || !self.can_ask() {
            return;
        }
        self.attempt.set(0);
        self.conversation.update(|c| c.ask(text));
        self.start_answer();
    }

    /// Replaces the question at `index` and answers it again.
    pub fn edit(&self, index: usize, text: String) {
        if text.trim().is_empty() || !self.can_ask() {
            return;
        }
        let mut edited = false;
        self.conversation.update(|c| edited = c.edit(index, text));
        if edited {
            self.attempt.set(0);
            self.start_answer();
        }
    }

    /// Writes the last answer again, with the next seed.
    pub fn regenerate(&self) {
        if !self.can_ask() {
            return;
        }
        let mut emptied = false;
        self.conversation.update(|c| emptied = c.regenerate());
        if emptied {
            self.attempt.update(|a| *a += 1);
            self.start_answer();
        }
    }

    /// Stops the answer being written.
    pub fn stop(&self) {
        if self.generating.get_untracked() {
            self.send(Request::Stop);
        }
    }

    /// Loads the default model (from this browser's copy when there is one).
    pub fn load_default_model(&self) {
        let name = DEFAULT_MODEL_URL.rsplit('/').next().unwrap_or(DEFAULT_MODEL_URL).to_owned();
        self.progress.set(None);
        self.send(Request::LoadModel {
            url: DEFAULT_MODEL_URL.to_owned(),
            name,
            cache: true,
            force_gpu: crate::force_gpu(),
        });
    }

    /// Loads a GGUF file the user opened or dropped; the current model stays until it is ready.
    pub fn load_file(&self, file: &web_sys::File) {
        if self.generating.get_untracked() || self.progress.get_untracked().is_some() {
            return;
        }
        if file.size() as u64 > crate::MAX_MODEL_BYTES {
            self.load_error.set(Some(crate::too_large(file.size() as u64)));
            return;
        }
        let Ok(url) = web_sys::Url::create_object_url_with_blob(file) else {
            self.load_error.set(Some("the browser could not read this file".into()));
            return;
        };
        self.revoke_blob();
        self.blob_url.set_value(Some(url.clone()));
        self.load_error.set(None);
        let started_ms = js_sys::Date::now();
        self.progress.set(Some(Progress { loaded: 0, total: file.size() as u64, started_ms, estimate: None }));
        self.send(Request::LoadModel { url, name: file.name(), cache: false, force_gpu: crate::force_gpu() });
    }

    fn revoke_blob(&self) {
        if let Some(url) = self.blob_url.try_update_value(Option::take).flatten() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
    }

    /// Whether the message at `index` is the last one.
    pub fn is_last(&self, index: usize) -> bool {
        self.conversation.with(|c| index + 1 == c.messages.len())
    }
}
