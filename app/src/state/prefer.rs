//! The preference game's worker traffic and its votes, kept on this device (local storage).

use engine::sample::SamplerConfig;
use leptos::prelude::*;

use super::prefs::{load_saved, save};
use super::{AppState, ModelState};
use crate::prefer::{Ballot, Round, Written};
use crate::protocol::Request;

const VOTES_KEY: &str = "glassbox.votes.v1";

impl AppState {
    /// Reads the votes kept on this device and keeps them there from now on.
    pub(super) fn keep_votes(&self) {
        let prefer = self.teach.prefer;
        if let Some(ballots) = load_saved::<Vec<Ballot>>(VOTES_KEY) {
            prefer.update(|p| {
                p.ballots = ballots;
                p.refit();
            });
        }
        Effect::new(move |_| prefer.with(|p| save(VOTES_KEY, &p.ballots)));
    }

    /// Writes `n` answers to `question` (two for a vote, more for best-of-n).
    pub fn ask_prefer(&self, question: String, round: Round, n: usize) {
        if question.trim().is_empty() || !self.can_ask_untracked() {
            return;
        }
        let prefer = self.teach.prefer;
        let mut seeds = Vec::new();
        prefer.update(|p| seeds = p.start(&question, round, n));
        let (temperature, max_tokens) = prefer.with_untracked(|p| (p.temperature, p.max_tokens));
        self.generating.set(true);
        self.notice.set(None);
        let sampler = SamplerConfig { temperature, top_k: 0, top_p: 1.0, ..SamplerConfig::default() };
        self.send(Request::Prefer { question, seeds, sampler, max_tokens });
    }

    pub(super) fn on_preferred(&self, slot: usize, answer: Written) {
        self.teach.prefer.update(|p| p.accept(slot, answer));
    }

    pub(super) fn on_prefer_done(&self) {
        self.teach.prefer.update(|p| p.done());
        self.generating.set(false);
        self.ask_queued();
    }

    /// Whether the game can write answers now.
    pub fn can_prefer(&self) -> bool {
        matches!(self.model.get(), ModelState::Ready { .. }) && !self.generating.get()
    }
}
