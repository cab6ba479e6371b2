//! The page's state: signals fed by the engine worker's responses, the one bridge that talks to it, and
//! what is kept on this device between visits (browser storage of this origin only).

use engine::sample::SamplerConfig;
use engine::trace::{HeadMatrix, HeadPick, Thumbnails};
use engine::ComputeBackend;
use gloo_worker::{Spawnable, WorkerBridge};
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::conversation::{Conversation, Exchange, TokenInfo};
use crate::i18n::{Lang, Placement};
use crate::protocol::{ChatSettings, Request, Response};
use crate::store::{self, StoredConversation};
use crate::worker::EngineWorker;
use crate::{DEFAULT_MODEL_URL, WORKER_LOADER_URL};

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
    },
    /// No model could be loaded; the message says why.
    Failed(String),
}

/// A download in progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Bytes so far.
    pub loaded: u64,
    /// Announced size (0: unknown).
    pub total: u64,
    /// When it started (ms since the epoch), for the rate.
    pub started_ms: f64,
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

/// Which drawing of the selected head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadView {
    /// Query × key matrix.
    Matrix,
    /// Two token columns joined by lines.
    Lines,
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

/// What was last asked of the worker for the explorer, and whether a reply is awaited: one request
/// of each kind in flight at most, so a fast stream of tokens never queues up stale views.
#[derive(Debug, Default)]
struct ViewRequests {
    grid_sent: Option<(usize, bool)>,
    grid_in_flight: bool,
    head_sent: Option<(usize, usize, HeadPick, bool)>,
    head_in_flight: bool,
    /// When views were last asked for while an answer is being written (ms since the epoch).
    sent_while_writing_ms: f64,
    /// A later `sync_views` is already scheduled.
    deferred: bool,
}

/// While an answer is being written, the explorer follows it at most this often: views cost the worker
/// time between tokens, and a few pictures a second are plenty to watch.
const VIEW_INTERVAL_WHILE_WRITING_MS: f64 = 500.0;

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
    /// The token selected in the token view.
    pub focus: RwSignal<Option<usize>>,
    /// Whether an answer is being written.
    pub generating: RwSignal<bool>,
    /// The last error or notice, for the user.
    pub notice: RwSignal<Option<String>>,
    /// Decode speed of the last answer.
    pub speed: RwSignal<Option<f32>>,
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
    requests: StoredValue<ViewRequests>,
    blob_url: StoredValue<Option<String>>,
    bridge: StoredValue<Option<WorkerBridge<EngineWorker>>, LocalStorage>,
}

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
        let state = Self {
            prefs,
            lang,
            settings: RwSignal::new(load_saved(SETTINGS_KEY).unwrap_or_default()),
            compute: RwSignal::new(None),
            model: RwSignal::new(ModelState::Loading),
            progress: RwSignal::new(None),
            load_error: RwSignal::new(None),
            conversation: RwSignal::new(Conversation::default()),
            exchange: RwSignal::new(Exchange::default()),
            current_id: RwSignal::new(js_sys::Date::now()),
            library: RwSignal::new(Vec::new()),
            restored: RwSignal::new(false),
            db: StoredValue::new_local(None),
            focus: RwSignal::new(None),
            generating: RwSignal::new(false),
            notice: RwSignal::new(None),
            speed: RwSignal::new(None),
            attempt: RwSignal::new(0),
            explorer,
            requests: StoredValue::new(ViewRequests::default()),
            blob_url: StoredValue::new(None),
            bridge: StoredValue::new_local(None),
        };
        let bridge = EngineWorker::spawner()
            .callback(move |response| state.on_response(response))
            .with_loader(true)
            .as_module(false)
            .spawn(WORKER_LOADER_URL);
        state.bridge.set_value(Some(bridge));
        state.send(Request::ProbeCompute);
        state.load_default_model();

        // Kept on this device: preferences and settings at once; the conversation in IndexedDB after every
        // change (every token included, so a tab closed mid-answer keeps what was shown).
        Effect::new(move |_| save(PREFS_KEY, &prefs.get()));
        Effect::new(move |_| save(SETTINGS_KEY, &state.settings.get()));
        wasm_bindgen_futures::spawn_local(async move { state.restore().await });
        Effect::new(move |_| {
            let (conversation, exchange) = (state.conversation.get(), state.exchange.get());
            if !state.restored.get() || conversation.messages.is_empty() {
                return;
            }
            let record = StoredConversation {
                id: state.current_id.get_untracked(),
                updated: js_sys::Date::now(),
                conversation,
                exchange,
            };
            state.library.update(|l| match l.iter_mut().find(|r| r.id == record.id) {
                Some(kept) => *kept = record.clone(),
                None => l.insert(0, record.clone()),
            });
            if let Some(db) = state.db.get_value() {
                wasm_bindgen_futures::spawn_local(async move {
                    if let Err(why) = store::put(&db, &record).await {
                        state.notice.set(Some(why));
                    }
                });
            }
        });
        // The explorer asks the worker for what it shows whenever a choice or the answer changes.
        Effect::new(move |_| {
            state.exchange.track();
            state.explorer.selected.track();
            state.explorer.layer.track();
            state.explorer.head.track();
            state.explorer.preview.track();
            state.explorer.hide_sink.track();
            state.sync_views();
        });
        state
    }

    fn send(&self, request: Request) {
        self.bridge.with_value(|b| {
            if let Some(bridge) = b {
                bridge.send(request);
            }
        });
    }

    fn on_response(&self, response: Response) {
        match response {
            Response::Compute(backend) => self.compute.set(Some(backend)),
            Response::ModelProgress { loaded, total } => self.progress.update(|p| match p {
                Some(p) => (p.loaded, p.total) = (loaded, total),
                None => *p = Some(Progress { loaded, total, started_ms: js_sys::Date::now() }),
            }),
            Response::ModelReady { name, n_layer, n_head, bytes, backend, from_cache } => {
                self.progress.set(None);
                self.load_error.set(None);
                self.revoke_blob();
                self.explorer.shape.set((n_layer, n_head));
                self.explorer.layer.update(|l| *l = (*l).min(n_layer.saturating_sub(1)));
                if matches!(self.explorer.head.get_untracked(), HeadPick::One(h) if h >= n_head) {
                    self.explorer.head.set(HeadPick::One(0));
                }
                self.explorer.preview.set(None);
                self.requests.update_value(|r| *r = ViewRequests::default());
                self.model.set(ModelState::Ready { name, bytes, placement: backend, from_cache });
            }
            Response::ModelFailed(message) => {
                self.progress.set(None);
                self.revoke_blob();
                if matches!(self.model.get_untracked(), ModelState::Loading) {
                    self.model.set(ModelState::Failed(message.clone()));
                }
                self.load_error.set(Some(message));
            }
            Response::Notice(message) => self.notice.set(Some(message)),
            Response::Prompt(pieces) => self.exchange.set(Exchange {
                prompt_len: pieces.len(),
                tokens: pieces.into_iter().map(|piece| TokenInfo { piece, prob: None, top: Vec::new() }).collect(),
                traced: self.settings.get_untracked().trace,
            }),
            Response::Token { piece, text, prob, top } => {
                let token = TokenInfo { piece, prob: Some(prob), top };
                self.conversation.update(|c| c.append(&text, token.clone()));
                self.exchange.update(|e| e.tokens.push(token));
            }
            Response::Done { tok_per_s, .. } => {
                self.generating.set(false);
                self.speed.set(Some(tok_per_s));
                self.conversation.update(Conversation::drop_empty_answers);
                self.sync_views();
            }
            Response::AttentionGrid(thumbs) => {
                self.requests.update_value(|r| r.grid_in_flight = false);
                self.explorer.grid.set(thumbs);
                self.sync_views();
            }
            Response::AttentionHead(matrix) => {
                self.requests.update_value(|r| r.head_in_flight = false);
                self.explorer.matrix.set(matrix);
                self.sync_views();
            }
            Response::Error(message) => {
                self.generating.set(false);
                self.conversation.update(Conversation::drop_empty_answers);
                self.notice.set(Some(message));
            }
        }
    }

    /// The position the explorer shows: the selected token, or the newest one read.
    pub fn upto(&self) -> Option<usize> {
        let last = self.exchange.with(|e| if e.traced { e.last_read() } else { None })?;
        Some(self.explorer.selected.get().map_or(last, |s| s.min(last)))
    }

    /// The head the big view shows: the one hovered in the grid, else the chosen one.
    pub fn shown_head(&self) -> (usize, HeadPick) {
        match self.explorer.preview.get() {
            Some((layer, head)) => (layer, HeadPick::One(head)),
            None => (self.explorer.layer.get(), self.explorer.head.get()),
        }
    }

    /// Asks the worker for the explorer's views that are out of date, one request of each kind at a time.
    fn sync_views(&self) {
        let Some(upto) = self.exchange.with_untracked(|e| if e.traced { e.last_read() } else { None }) else {
            return;
        };
        let upto = self.explorer.selected.get_untracked().map_or(upto, |s| s.min(upto));
        let hide = self.explorer.hide_sink.get_untracked();
        let (layer, head) = match self.explorer.preview.get_untracked() {
            Some((l, h)) => (l, HeadPick::One(h)),
            None => (self.explorer.layer.get_untracked(), self.explorer.head.get_untracked()),
        };
        let now = js_sys::Date::now();
        let writing = self.generating.get_untracked();
        let mut wait_ms = None;
        self.requests.update_value(|r| {
            let since = now - r.sent_while_writing_ms;
            if writing && since < VIEW_INTERVAL_WHILE_WRITING_MS {
                if !r.deferred {
                    r.deferred = true;
                    wait_ms = Some(VIEW_INTERVAL_WHILE_WRITING_MS - since);
                }
            } else if writing {
                r.sent_while_writing_ms = now;
            }
        });
        if let Some(ms) = wait_ms {
            let state = *self;
            set_timeout(
                move || {
                    state.requests.update_value(|r| r.deferred = false);
                    state.sync_views();
                },
                std::time::Duration::from_millis(ms.max(1.0) as u64),
            );
        }
        if wait_ms.is_some() || self.requests.with_value(|r| r.deferred) {
            return;
        }
        let mut to_send = Vec::new();
        self.requests.update_value(|r| {
            if !r.grid_in_flight && r.grid_sent != Some((upto, hide)) {
                r.grid_in_flight = true;
                r.grid_sent = Some((upto, hide));
                to_send.push(Request::AttentionGrid { upto, hide_sink: hide });
            }
            if !r.head_in_flight && r.head_sent != Some((upto, layer, head, hide)) {
                r.head_in_flight = true;
                r.head_sent = Some((upto, layer, head, hide));
                to_send.push(Request::AttentionHead { upto, layer, head, hide_sink: hide });
            }
        });
        for request in to_send {
            self.send(request);
        }
    }

    fn start_answer(&self) {
        self.notice.set(None);
        self.speed.set(None);
        self.focus.set(None);
        self.explorer.selected.set(None);
        self.requests.update_value(|r| *r = ViewRequests::default());
        self.explorer.grid.set(None);
        self.explorer.matrix.set(None);
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

    /// Reads the kept conversations and reopens the most recent one.
    async fn restore(&self) {
        match store::open().await {
            Ok(db) => {
                let records = store::all(&db).await.unwrap_or_else(|why| {
                    self.notice.set(Some(why));
                    Vec::new()
                });
                self.db.set_value(Some(db));
                if let Some(latest) =
                    records.first().filter(|_| self.conversation.with_untracked(|c| c.messages.is_empty()))
                {
                    self.open_record(latest.clone());
                }
                self.library.set(records);
            }
            Err(why) => self.notice.set(Some(format!("{why}; this conversation will not be kept"))),
        }
        self.restored.set(true);
    }

    fn open_record(&self, record: StoredConversation) {
        self.current_id.set(record.id);
        self.conversation.set(record.conversation);
        // The worker holds the attention of the answer written last in this tab only: a reopened
        // conversation shows its tokens, and its attention again once it answers.
        self.exchange.set(Exchange { traced: false, ..record.exchange });
        self.requests.update_value(|r| *r = ViewRequests::default());
        self.speed.set(None);
        self.notice.set(None);
        self.focus.set(None);
        self.explorer.selected.set(None);
        self.explorer.grid.set(None);
        self.explorer.matrix.set(None);
    }

    /// The kept conversations for the list: id and title, most recent first.
    pub fn titles(&self) -> Vec<(f64, String)> {
        self.library.with(|l| l.iter().map(|r| (r.id, r.title())).collect())
    }

    /// Starts a new, empty conversation; the current one stays in the list.
    pub fn new_conversation(&self) {
        if !self.generating.get_untracked() {
            self.open_record(StoredConversation { id: js_sys::Date::now(), ..StoredConversation::default() });
        }
    }

    /// Reopens a kept conversation.
    pub fn switch_to(&self, id: f64) {
        if self.generating.get_untracked() || id == self.current_id.get_untracked() {
            return;
        }
        if let Some(record) = self.library.with_untracked(|l| l.iter().find(|r| r.id == id).cloned()) {
            self.open_record(record);
        }
    }

    /// Forgets the current conversation (here and in this device's storage) and opens the next one.
    pub fn delete_conversation(&self) {
        if self.generating.get_untracked() {
            return;
        }
        let id = self.current_id.get_untracked();
        self.library.update(|l| l.retain(|r| r.id != id));
        if let Some(db) = self.db.get_value() {
            let state = *self;
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(why) = store::delete(&db, id).await {
                    state.notice.set(Some(why));
                }
            });
        }
        match self.library.with_untracked(|l| l.first().cloned()) {
            Some(next) => self.open_record(next),
            None => self.open_record(StoredConversation { id: js_sys::Date::now(), ..StoredConversation::default() }),
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
        self.progress.set(Some(Progress { loaded: 0, total: file.size() as u64, started_ms: js_sys::Date::now() }));
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

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn load_saved<T: DeserializeOwned>(key: &str) -> Option<T> {
    serde_json::from_str(&storage()?.get_item(key).ok()??).ok()
}

fn save<T: Serialize>(key: &str, value: &T) {
    if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(value)) {
        // A full storage only means this is not kept; the page goes on.
        let _ = storage.set_item(key, &json);
    }
}
