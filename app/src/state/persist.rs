//! What the page keeps on this device (browser storage of this origin only): preferences and settings
//! at once; the conversation in IndexedDB at once between answers, at most every half second while one
//! streams, and when the tab hides or closes (`throttle.rs`), so a tab closed mid-answer keeps what was
//! shown.

use leptos::prelude::*;

use super::prefs::save;
use super::{throttle, AppState, PREFS_KEY, SETTINGS_KEY};
use crate::store::{self, StoredConversation};

impl AppState {
    /// Restores the last conversation, then keeps preferences, settings and the conversation saved.
    pub(super) fn keep_on_device(self) {
        let state = self;
        Effect::new(move |_| save(PREFS_KEY, &state.prefs.get()));
        Effect::new(move |_| save(SETTINGS_KEY, &state.settings.get()));
        wasm_bindgen_futures::spawn_local(async move { state.restore().await });
        Effect::new(move |_| {
            state.conversation.track();
            state.exchange.track();
            let streaming = state.generating.get();
            if !state.restored.get() {
                return;
            }
            let mut write = throttle::When::Queued;
            state.autosave.update_value(|a| write = a.changed(js_sys::Date::now(), streaming));
            match write {
                throttle::When::Now => state.write_conversation(),
                throttle::When::After(ms) => wasm_bindgen_futures::spawn_local(async move {
                    gloo_timers::future::TimeoutFuture::new(ms.ceil() as u32).await;
                    // Unless a write since (the answer ended, the tab hid) took what it was for.
                    if state.autosave.with_value(|a| a.pending()) {
                        state.write_conversation();
                    }
                }),
                throttle::When::Queued => {}
            }
        });
        let flush = move || {
            let shown = state.show_streamed();
            if shown || state.autosave.with_value(|a| a.pending()) {
                state.write_conversation();
            }
        };
        // The page lives as long as the tab: these listeners are never removed.
        std::mem::forget(window_event_listener(leptos::ev::pagehide, move |_| flush()));
        std::mem::forget(window_event_listener(leptos::ev::visibilitychange, move |_| flush()));
    }

    /// Writes the conversation as it is now to this device's library and IndexedDB.
    pub(super) fn write_conversation(self) {
        let now = js_sys::Date::now();
        self.autosave.update_value(|a| a.acted(now));
        let (conversation, exchange) = (self.conversation.get_untracked(), self.exchange.get_untracked());
        if conversation.messages.is_empty() {
            return;
        }
        let record = StoredConversation { id: self.current_id.get_untracked(), updated: now, conversation, exchange };
        self.library.update(|l| match l.iter_mut().find(|r| r.id == record.id) {
            Some(kept) => *kept = record.clone(),
            None => l.insert(0, record.clone()),
        });
        if let Some(db) = self.db.get_value() {
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(why) = store::put(&db, &record).await {
                    self.notice.set(Some(why));
                }
            });
        }
    }
}
