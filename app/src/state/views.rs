//! The attention explorer's traffic with the worker: which views are out of date, one request of each
//! kind in flight at most, and a slower pace while an answer is being written.

use engine::trace::HeadPick;
use leptos::prelude::*;

use super::AppState;
use crate::protocol::Request;

/// What was last asked of the worker for the explorer, and whether a reply is awaited: one request
/// of each kind in flight at most, so a fast stream of tokens never queues up stale views.
#[derive(Debug, Default)]
pub(super) struct ViewRequests {
    grid_sent: Option<(usize, bool)>,
    pub(super) grid_in_flight: bool,
    head_sent: Option<(usize, usize, HeadPick, bool)>,
    pub(super) head_in_flight: bool,
    /// When views were last asked for while an answer is being written (ms since the epoch).
    sent_while_writing_ms: f64,
    /// A later `sync_views` is already scheduled.
    deferred: bool,
}

/// While an answer is being written, the explorer follows it at most this often: views cost the worker
/// time between tokens, and a few pictures a second are plenty to watch.
const VIEW_INTERVAL_WHILE_WRITING_MS: f64 = 500.0;

impl AppState {
    /// The position the explorer shows: the selected token, or the newest one read.
    pub fn upto(&self) -> Option<usize> {
        let last = self.shown.with(|e| if e.traced { e.last_read() } else { None })?;
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
    pub(super) fn sync_views(&self) {
        let Some(upto) = self.shown.with_untracked(|e| if e.traced { e.last_read() } else { None }) else {
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

    /// Forgets the explorer's views (a new answer or reading is coming).
    pub(super) fn reset_views(&self) {
        self.focus.set(None);
        self.explorer.selected.set(None);
        self.requests.update_value(|r| *r = ViewRequests::default());
        self.explorer.grid.set(None);
        self.explorer.matrix.set(None);
    }
}
