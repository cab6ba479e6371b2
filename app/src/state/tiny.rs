//! The pre-training lab's tiny GPT as the next-word game's player: handing it the game, and the game's
//! traffic with the lab's worker (whose bridge the lab keeps in [`super::Teach::pretrain_bridge`]).

use leptos::prelude::*;

use super::teach::Pane;
use super::AppState;
use crate::game::{Game, Player};
use crate::pretrain::PretrainRequest;
use crate::route::Page;

/// The pre-training lab's model as the game sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TinyModel {
    /// Trained in the page so far: its steps.
    Trained(usize),
    /// Opened from a file (its training is not known).
    Saved,
}

/// Characters per continuation in *Three answers* when the tiny model writes (a token is a letter).
pub const ANSWER_CHARS: usize = 120;

impl AppState {
    /// Sends `request` to the pre-training worker (the tiny model plays only once the lab has one).
    pub(super) fn send_tiny(&self, request: PretrainRequest) {
        self.teach.pretrain_bridge.with_value(|bridge| {
            if let Some(bridge) = bridge {
                bridge.send(request);
            }
        });
    }

    /// Hands the game to `player`, starting over from its text.
    pub fn set_player(&self, player: Player) {
        if player == Player::Tiny && self.teach.tiny.get_untracked().is_none() {
            return;
        }
        let mut changed = false;
        self.teach.game.update(|g| changed = g.set_player(player));
        if changed {
            self.teach.thinking.set(false);
            self.predict(None);
        }
    }

    /// The lab's *Play the next-word game with it*: the tiny model plays from `text`, in the lesson's
    /// pane when the lab is open there, else on the game's page.
    pub fn play_with_tiny(&self, text: String) {
        let t = self.teach;
        t.game.update(|g| g.player = Player::Tiny);
        self.start_game(text);
        if t.page.get_untracked() == Page::Lesson {
            t.pane.set(Some(Pane::Game { sampling: false }));
        } else {
            t.page.set(Page::Game);
        }
    }

    /// The tiny model's *Three answers*, one per slot (dropped if the model plays again).
    pub fn on_tiny_answers(&self, texts: Vec<String>) {
        self.teach.game.update(|g| {
            if g.player == Player::Tiny {
                for (slot, text) in texts.iter().enumerate() {
                    g.extend_answer(slot, text, true);
                }
            }
        });
    }

    /// The lab has a new tiny model.
    pub fn on_tiny(&self, model: TinyModel) {
        self.teach.tiny.set(Some(model));
    }

    /// The lab's model has trained `steps` steps (a saved model's progress reports are not training).
    pub fn on_tiny_step(&self, steps: usize) {
        if self.teach.tiny.get_untracked() != Some(TinyModel::Saved) {
            self.teach.tiny.set(Some(TinyModel::Trained(steps)));
        }
    }

    /// Whether the game can be asked for a prediction by whoever plays.
    pub fn can_play(&self) -> bool {
        match self.teach.game.with(|g: &Game| g.player) {
            Player::Model => self.can_predict(),
            Player::Tiny => self.teach.tiny.get().is_some(),
        }
    }
}
