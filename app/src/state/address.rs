//! The screen's address: read at start and whenever its `#…` changes ([`crate::route::Route`]), written
//! back as the screen changes, so a link reproduces the screen; a link's chat questions are asked in
//! turn once the model is ready.

use engine::trace::HeadPick;
use leptos::prelude::*;

use super::{AppState, HeadView, ModelState};
use crate::lab::DataChoice;
use crate::lesson;
use crate::route::{ExplorerLink, LabLink, Page, Route, SamplingLink};

fn location_hash() -> String {
    web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default()
}

impl AppState {
    // ---- The address -------------------------------------------------------------------------------

    /// Reads the address now and whenever its `#…` changes, and keeps it in step with the screen.
    pub(super) fn follow_address(&self) {
        let state = *self;
        state.open_address();
        let listener = window_event_listener(leptos::ev::hashchange, move |_| state.open_address());
        // The page lives as long as the tab: the listener is never removed.
        std::mem::forget(listener);
        Effect::new(move |_| {
            let hash = state.route().to_hash();
            if hash != location_hash() {
                if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
                    let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&hash));
                }
            }
        });
    }

    /// Applies the address, or opens the default screen with a note saying why it could not be read.
    fn open_address(&self) {
        let hash = location_hash();
        match Route::parse(&hash) {
            Ok(route) => {
                if self.route().to_hash() != hash {
                    self.apply(route);
                }
            }
            Err(why) => {
                self.teach.link_note.set(Some(why));
                self.apply(Route::default());
            }
        }
    }

    /// The screen as a route (what the address shows).
    pub fn route(&self) -> Route {
        let t = self.teach;
        let page = t.page.get();
        let mut route = Route { page, ..Route::default() };
        match page {
            Page::Lesson => {
                route.step = lesson::steps(crate::i18n::Lang::Fr).get(t.step.get()).map(|s| s.id.to_owned())
            }
            Page::Chat => {
                route.questions = self.conversation.with(|c| {
                    c.messages
                        .iter()
                        .filter(|m| m.role == engine::chat::Role::User)
                        .map(|m| m.content.clone())
                        .collect()
                });
                let s = self.settings.get();
                route.sampling = SamplingLink {
                    temperature: Some(s.temperature),
                    top_k: Some(s.top_k),
                    top_p: Some(s.top_p),
                    seed: Some(s.seed),
                    max_tokens: Some(s.max_tokens),
                };
                let e = self.explorer;
                route.explorer = ExplorerLink {
                    layer: Some(e.layer.get()),
                    head: Some(match e.head.get() {
                        HeadPick::One(h) => Some(h),
                        HeadPick::Mean => None,
                    }),
                    position: e.selected.get(),
                    lines: Some(e.view.get() == HeadView::Lines),
                    hide_sink: Some(e.hide_sink.get()),
                };
            }
            Page::Game => {
                let (text, sampler) = t.game.with(|g| (g.text(), g.sampler.clone()));
                route.text = Some(text);
                route.sampling = SamplingLink {
                    temperature: Some(sampler.temperature),
                    top_k: Some(sampler.top_k),
                    top_p: Some(sampler.top_p),
                    seed: Some(sampler.seed),
                    max_tokens: None,
                };
            }
            Page::Masked => {
                let (text, candidates) = t.masked.with(|m| (m.text.clone(), m.candidates.clone()));
                route.text = Some(text);
                route.candidates = candidates;
            }
            Page::Words => route.candidates = t.words.with(|w| w.chosen.clone()),
            Page::Prefer => t.prefer.with(|p| {
                route.questions = (!p.question.is_empty()).then(|| p.question.clone()).into_iter().collect();
            }),
            Page::Doubt => t.doubt.with(|d| {
                route.questions = (!d.question.is_empty()).then(|| d.question.clone()).into_iter().collect();
                route.sampling = SamplingLink {
                    temperature: Some(d.temperature),
                    seed: Some(d.seed),
                    max_tokens: Some(d.max_tokens),
                    ..SamplingLink::default()
                };
            }),
            Page::Lab => {
                let setup = t.lab_setup.get();
                route.lab = LabLink {
                    digits: Some(setup.data == DataChoice::Digits),
                    latent: Some(setup.latent),
                    beta: Some(setup.beta),
                };
            }
            // The pre-training lab's run is not in the address: a link opens it on its default text.
            Page::Pretrain | Page::Thoughts => {}
        }
        route
    }

    /// Shows the screen `route` describes: its page, and what that page's part of the address says.
    pub fn apply(&self, route: Route) {
        let t = self.teach;
        t.page.set(route.page);
        let s = route.sampling;
        match route.page {
            Page::Lesson => {
                let step = route.step.as_deref().map_or(Some(0), lesson::find);
                if step.is_none() {
                    t.link_note.set(Some(format!("the lesson has no step «{}»", route.step.unwrap_or_default())));
                }
                let step = step.unwrap_or(0);
                if step != t.step.get_untracked() {
                    t.pane.set(None);
                }
                t.step.set(step);
            }
            Page::Game => {
                t.game.update(|g| {
                    let sampler = &mut g.sampler;
                    sampler.temperature = s.temperature.unwrap_or(sampler.temperature);
                    sampler.top_k = s.top_k.unwrap_or(sampler.top_k);
                    sampler.top_p = s.top_p.unwrap_or(sampler.top_p);
                    sampler.seed = s.seed.unwrap_or(sampler.seed);
                });
                if let Some(text) = route.text.filter(|text| t.game.with_untracked(|g| g.text() != *text)) {
                    self.start_game(text);
                }
            }
            Page::Masked => {
                let text = route.text.unwrap_or_default();
                let changed = t.masked.with_untracked(|m| m.text != text || m.candidates != route.candidates);
                if changed && !text.is_empty() {
                    let words: Vec<&str> = route.candidates.iter().map(String::as_str).collect();
                    t.masked.set(crate::masked::Masked::new(&text, &words));
                    self.ask_fill();
                }
            }
            Page::Words => {
                if !route.candidates.is_empty() && t.words.with_untracked(|w| w.chosen != route.candidates) {
                    let words: Vec<&str> = route.candidates.iter().map(String::as_str).collect();
                    t.words.set(crate::words::Words::new(&words));
                    self.ask_word_map();
                }
            }
            Page::Prefer => {
                if let Some(question) = route.questions.into_iter().next() {
                    t.prefer.update(|p| p.question = question);
                }
            }
            Page::Doubt => {
                t.doubt.update(|d| {
                    d.temperature = s.temperature.unwrap_or(d.temperature);
                    d.seed = s.seed.unwrap_or(d.seed);
                    d.max_tokens = s.max_tokens.unwrap_or(d.max_tokens).min(crate::doubt::MAX_TOKENS);
                });
                if let Some(question) = route.questions.into_iter().next() {
                    if t.doubt.with_untracked(|d| d.question != question || d.answers.is_empty()) {
                        self.ask_doubt(question);
                    }
                }
            }
            Page::Lab => {
                let l = route.lab;
                t.lab_setup.update(|setup| {
                    setup.data = match l.digits {
                        Some(true) => DataChoice::Digits,
                        Some(false) => DataChoice::Faces,
                        None => setup.data,
                    };
                    setup.latent = l.latent.unwrap_or(setup.latent);
                    setup.beta = l.beta.unwrap_or(setup.beta);
                });
            }
            Page::Pretrain | Page::Thoughts => {}
            Page::Chat => {
                self.settings.update(|settings| {
                    settings.temperature = s.temperature.unwrap_or(settings.temperature);
                    settings.top_k = s.top_k.unwrap_or(settings.top_k);
                    settings.top_p = s.top_p.unwrap_or(settings.top_p);
                    settings.seed = s.seed.unwrap_or(settings.seed);
                    settings.max_tokens = s.max_tokens.unwrap_or(settings.max_tokens);
                });
                let e = route.explorer;
                if let Some(layer) = e.layer {
                    let (n_layer, _) = self.explorer.shape.get_untracked();
                    self.explorer.layer.set(if n_layer > 0 { layer.min(n_layer - 1) } else { layer });
                }
                if let Some(head) = e.head {
                    self.explorer.head.set(head.map_or(HeadPick::Mean, HeadPick::One));
                }
                if e.position.is_some() {
                    self.explorer.selected.set(e.position);
                    self.focus.set(e.position);
                }
                if let Some(lines) = e.lines {
                    self.explorer.view.set(if lines { HeadView::Lines } else { HeadView::Matrix });
                }
                if let Some(hide) = e.hide_sink {
                    self.explorer.hide_sink.set(hide);
                }
                if !route.questions.is_empty() && route.questions != self.questions_untracked() {
                    t.fresh.set_value(true);
                    t.queued.set_value(route.questions);
                    self.ask_queued();
                }
            }
        }
    }

    /// The link of the screen as it is now (for *Share*).
    pub fn link(&self) -> String {
        let base = web_sys::window()
            .and_then(|w| w.location().href().ok())
            .map(|href| href.split('#').next().unwrap_or_default().to_owned())
            .unwrap_or_default();
        format!("{base}{}", self.route().to_hash())
    }

    // ---- Queued questions --------------------------------------------------------------------------

    /// Asks the next queued question when the model is ready, the kept conversations are read and no
    /// answer is being written; called again when an answer ends.
    pub(super) fn ask_queued(&self) {
        let t = self.teach;
        if !self.can_ask_untracked() || !self.restored.get_untracked() {
            return;
        }
        if t.fresh.get_value() {
            // A reloaded page finds its link's questions already asked in the conversation it reopened.
            if t.queued.with_value(|q| *q == self.questions_untracked()) {
                t.queued.set_value(Vec::new());
            }
            t.fresh.set_value(false);
            if t.queued.with_value(|q| !q.is_empty()) && self.conversation.with_untracked(|c| !c.messages.is_empty()) {
                self.new_conversation();
            }
        }
        let Some(question) = t.queued.try_update_value(|q| (!q.is_empty()).then(|| q.remove(0))).flatten() else {
            // No chat question waits: the hallucination lab's may.
            self.ask_pending_doubt();
            return;
        };
        self.ask(question);
    }

    /// The conversation's questions, in order.
    fn questions_untracked(&self) -> Vec<String> {
        self.conversation.with_untracked(|c| {
            c.messages.iter().filter(|m| m.role == engine::chat::Role::User).map(|m| m.content.clone()).collect()
        })
    }

    /// Whether a prediction can be asked for now (a model is loaded).
    pub fn can_predict(&self) -> bool {
        matches!(self.model.get(), ModelState::Ready { .. })
    }

    pub(super) fn can_ask_untracked(&self) -> bool {
        matches!(self.model.get_untracked(), ModelState::Ready { .. }) && !self.generating.get_untracked()
    }
}
