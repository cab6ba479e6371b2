//! The page's state: signals fed by the engine worker's responses, and the one bridge that talks to it.

use engine::chat::{Message, Role};
use engine::ComputeBackend;
use gloo_worker::{Spawnable, WorkerBridge};
use leptos::prelude::*;

use crate::protocol::{Request, Response};
use crate::worker::EngineWorker;
use crate::{DEFAULT_MODEL_URL, WORKER_LOADER_URL};

/// Where the model stands.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelState {
    /// Downloading: bytes so far and announced total (0 if unknown).
    Loading {
        /// Received.
        loaded: u64,
        /// Announced.
        total: u64,
    },
    /// Loaded.
    Ready {
        /// File name.
        name: String,
        /// File size.
        bytes: u64,
        /// Where it runs.
        backend: String,
    },
    /// Could not be loaded; the message says why.
    Failed(String),
}

/// Everything the components read; `Copy`, so any closure can hold it.
#[derive(Debug, Clone, Copy)]
pub struct AppState {
    /// The compute backend the worker found.
    pub compute: RwSignal<Option<ComputeBackend>>,
    /// The model.
    pub model: RwSignal<ModelState>,
    /// The conversation.
    pub messages: RwSignal<Vec<Message>>,
    /// Whether an answer is being written.
    pub generating: RwSignal<bool>,
    /// The last error, for the user.
    pub error: RwSignal<Option<String>>,
    /// Decode speed of the last answer.
    pub speed: RwSignal<Option<f32>>,
    bridge: StoredValue<WorkerBridge<EngineWorker>, LocalStorage>,
}

impl AppState {
    /// Spawns the engine worker, asks it for the compute backend and the default model.
    pub fn start() -> Self {
        let compute = RwSignal::new(None);
        let model = RwSignal::new(ModelState::Loading { loaded: 0, total: 0 });
        let messages = RwSignal::new(saved_conversation());
        let generating = RwSignal::new(false);
        let error = RwSignal::new(None);
        let speed = RwSignal::new(None);
        let bridge = EngineWorker::spawner()
            .callback(move |response| match response {
                Response::Compute(backend) => compute.set(Some(backend)),
                Response::ModelProgress { loaded, total } => model.set(ModelState::Loading { loaded, total }),
                Response::ModelReady { name, bytes, backend, .. } => {
                    model.set(ModelState::Ready { name, bytes, backend })
                }
                Response::Notice(message) => error.set(Some(message)),
                Response::Token { text, .. } => messages.update(|m| match m.last_mut() {
                    Some(last) if last.role == Role::Assistant => last.content.push_str(&text),
                    _ => m.push(Message::assistant(text)),
                }),
                Response::Done { tok_per_s, .. } => {
                    generating.set(false);
                    speed.set(Some(tok_per_s));
                }
                Response::Error(message) => {
                    generating.set(false);
                    if matches!(model.get_untracked(), ModelState::Loading { .. }) {
                        model.set(ModelState::Failed(message.clone()));
                    }
                    error.set(Some(message));
                }
            })
            .with_loader(true)
            .as_module(false)
            .spawn(WORKER_LOADER_URL);
        bridge.send(Request::ProbeCompute);
        bridge.send(Request::LoadModel { url: DEFAULT_MODEL_URL.to_owned() });
        // The conversation is kept on this device only, and saved whenever no answer is being written.
        Effect::new(move |_| {
            if !generating.get() {
                save_conversation(&messages.get());
            }
        });
        Self { compute, model, messages, generating, error, speed, bridge: StoredValue::new_local(bridge) }
    }

    /// Forgets the conversation (here and in this device's storage).
    pub fn clear(&self) {
        if !self.generating.get_untracked() {
            self.messages.set(Vec::new());
            self.speed.set(None);
        }
    }

    /// Adds the user's message and asks for the answer.
    pub fn ask(&self, text: String) {
        if text.trim().is_empty() || self.generating.get_untracked() {
            return;
        }
        self.error.set(None);
        self.messages.update(|m| {
            m.push(Message::user(text));
            m.push(Message::assistant(String::new()));
        });
        let history: Vec<Message> = self
            .messages
            .get_untracked()
            .into_iter()
            .filter(|m| !(m.role == Role::Assistant && m.content.is_empty()))
            .collect();
        self.generating.set(true);
        self.bridge.with_value(|b| b.send(Request::Chat { messages: history, max_tokens: 256 }));
    }

    /// Stops the answer being written.
    pub fn stop(&self) {
        self.bridge.with_value(|b| b.send(Request::Stop));
    }
}

/// Where the conversation is kept: the browser's local storage for this origin, nowhere else.
const CONVERSATION_KEY: &str = "glassbox.conversation.v1";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The conversation saved by an earlier visit (empty if none, or if it cannot be read).
fn saved_conversation() -> Vec<Message> {
    storage()
        .and_then(|s| s.get_item(CONVERSATION_KEY).ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

fn save_conversation(messages: &[Message]) {
    let kept: Vec<&Message> = messages.iter().filter(|m| !m.content.is_empty()).collect();
    if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(&kept)) {
        // A full storage only means the conversation is not kept; the page goes on.
        let _ = storage.set_item(CONVERSATION_KEY, &json);
    }
}
