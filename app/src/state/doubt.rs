//! The hallucination lab's worker traffic: one question asked three times, the tokens as they come.

use engine::sample::SamplerConfig;
use leptos::prelude::*;

use super::{AppState, ModelState};
use crate::protocol::{DoubtToken, Request};

impl AppState {
    /// Asks `question` three times with three seeds (now, or once the model is ready and no answer is
    /// being written).
    pub fn ask_doubt(&self, question: String) {
        let doubt = self.teach.doubt;
        if question.trim().is_empty() {
            return;
        }
        doubt.update(|d| {
            d.question = question;
            d.pending = true;
        });
        self.ask_pending_doubt();
    }

    /// Asks the lab's waiting question if the engine is free.
    pub(super) fn ask_pending_doubt(&self) {
        let doubt = self.teach.doubt;
        if !doubt.with_untracked(|d| d.pending) || !self.can_ask_untracked() {
            return;
        }
        let (question, seeds, temperature, max_tokens) =
            doubt.with_untracked(|d| (d.question.clone(), d.seeds(), d.temperature, d.max_tokens));
        doubt.update(|d| {
            d.pending = false;
            d.start(&question, &seeds);
        });
        self.notice.set(None);
        self.generating.set(true);
        // As `glassbox generate --temperature T --seed S` samples: no top-k or top-p cut.
        let sampler = SamplerConfig { temperature, top_k: 0, top_p: 1.0, ..SamplerConfig::default() };
        self.send(Request::Doubt { question, seeds, sampler, max_tokens });
    }

    pub(super) fn on_doubt_token(&self, slot: usize, token: Option<DoubtToken>, done: bool) {
        self.teach.doubt.update(|d| d.extend(slot, token, done));
    }

    pub(super) fn on_doubt_done(&self) {
        self.teach.doubt.update(|d| d.finish());
        self.generating.set(false);
        self.ask_queued();
    }

    /// Whether the lab can ask now.
    pub fn can_doubt(&self) -> bool {
        matches!(self.model.get(), ModelState::Ready { .. }) && !self.generating.get()
    }
}
