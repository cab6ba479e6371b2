//! The conversations kept on this device: read at start (the latest reopened), switched between, started
//! anew and deleted; IndexedDB holds them (`store.rs`), this keeps the page's signals in step.

use leptos::prelude::*;

use super::{AppState, ViewRequests};
use crate::conversation::Exchange;
use crate::store::{self, StoredConversation};

impl AppState {
    /// Reads the kept conversations and reopens the most recent one.
    pub(super) async fn restore(&self) {
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
        self.ask_queued();
    }

    pub(super) fn open_record(&self, record: StoredConversation) {
        self.current_id.set(record.id);
        self.conversation.set(record.conversation);
        // The worker holds the attention of the answer written last in this tab only: a reopened
        // conversation shows its tokens, and its attention again once it answers.
        self.exchange.set(Exchange { traced: false, ..record.exchange });
        self.teach.reading.set(None);
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
}
