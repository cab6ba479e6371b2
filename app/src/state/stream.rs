//! A streamed answer's tokens on their way to the screen: the first at once, then the ones that came
//! meanwhile together, at most every [`TOKENS_MS`](super::throttle::TOKENS_MS) (`throttle.rs` says why).
//! Any other answer of the worker shows the tokens still waiting first, so the page sees the worker's
//! order.

use leptos::prelude::*;

use super::throttle::When;
use super::AppState;
use crate::conversation::TokenInfo;

impl AppState {
    /// A streamed token: shown now with those waiting, or when the timer set for them fires.
    pub(super) fn on_token(&self, text: String, token: TokenInfo) {
        self.streamed.update_value(|s| s.push((text, token)));
        let mut when = When::Queued;
        self.tokens_pace.update_value(|p| when = p.changed(js_sys::Date::now(), true));
        match when {
            When::Now => {
                self.show_streamed();
            }
            When::After(ms) => {
                let state = *self;
                set_timeout(move || _ = state.show_streamed(), std::time::Duration::from_millis(ms.ceil() as u64));
            }
            When::Queued => {}
        }
    }

    /// Shows the streamed tokens that wait, if any (the answer and its chips); says whether there were.
    pub(super) fn show_streamed(&self) -> bool {
        let mut tokens = Vec::new();
        self.streamed.update_value(|s| tokens = std::mem::take(s));
        if tokens.is_empty() {
            return false;
        }
        self.tokens_pace.update_value(|p| p.acted(js_sys::Date::now()));
        self.conversation.update(|c| tokens.iter().for_each(|(text, token)| c.append(text, token.clone())));
        self.exchange.update(|e| e.tokens.extend(tokens.into_iter().map(|(_, token)| token)));
        true
    }
}
